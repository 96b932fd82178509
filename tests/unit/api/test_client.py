"""Unit tests of the HTTP client (gate/client.py) against respx routes: paths and headers,
connection-settings validation, the retry policy (with a recorded, never real, sleep),
fail-fast errors, key redaction, and runs-bulk chunking; and, against streaming responses,
the whole-response deadline, the size cap and content codings (bombs, corrupt bodies)."""

from __future__ import annotations

import email.utils
import gzip
import importlib.util
import itertools
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import respx

from gate import __version__
from gate.api.client import (
    BACKSTOP_S,
    END_CALLS_READ_TIMEOUT_S,
    GET_BUDGET_S,
    MAX_RETRY_AFTER_S,
    RUNS_MAX_IN_FLIGHT,
    TRIGGER_READ_TIMEOUT_S,
    ApiSettings,
    CekuraClient,
    build_http,
    parse_retry_after,
    resolve_settings,
)
from gate.api.proxy import proxy_for
from gate.errors import ApiError, ApiRejected, ApiUnavailable, OutcomeUnknown, UsageError
from tests.e2e.harness import FakeClock
from tests.fake_cekura import FakeCekura, compressed

KEY = "k3y-7f1c9a2b4d6e8f0a1b2c3d4e5f6a7b8c"
BASE = "https://api.cekura.ai"
RESULT_URL = f"{BASE}/test_framework/v2/results/42/"
BULK_URL = f"{BASE}/test_framework/v2/runs/bulk/"
KEY_ENV = "the CEKURA_API_KEY environment variable"
NOW = 1_800_000_000.0  # the injected wall clock


def settings_for(api_url: str | None = None, **kwargs: Any) -> ApiSettings:
    return resolve_settings(api_url=api_url, api_key=KEY, key_source=KEY_ENV, **kwargs)


def make_client(
    settings: ApiSettings | None = None, clock: FakeClock | None = None, **kwargs: Any
) -> tuple[CekuraClient, FakeClock]:
    settings = settings or settings_for()
    clock = clock or FakeClock()
    client = CekuraClient(
        build_http(settings),
        settings,
        sleep=clock.sleep,
        clock=clock,
        wall_clock=lambda: NOW,
        **kwargs,
    )
    return client, clock


def ok(payload: object = None) -> httpx.Response:
    return httpx.Response(
        200, json={"id": 42, "status": "completed"} if payload is None else payload
    )


# --------------------------------------------------------------------------- paths and headers


@pytest.mark.parametrize(
    ("api_url", "kwargs", "url", "header"),
    [
        (None, {}, RESULT_URL, "X-CEKURA-API-KEY"),
        ("https://api.cekura.ai/", {}, RESULT_URL, "X-CEKURA-API-KEY"),
        (" https://api.cekura.ai// ", {}, RESULT_URL, "X-CEKURA-API-KEY"),
        (None, {"api_version": 1}, f"{BASE}/test_framework/v1/results/42/", "X-CEKURA-API-KEY"),
        (
            "https://staging-api.cekura.ai",
            {},
            "https://staging-api.cekura.ai/test_framework/v2/results/42/",
            "X-CEKURA-API-KEY",
        ),
        (
            "https://new-prod.vocera.ai",
            {},
            "https://new-prod.vocera.ai/test_framework/v1/results-external/42/",
            "X-VOCERA-API-KEY",
        ),
        (None, {"auth_header": "X-Custom-Key"}, RESULT_URL, "X-Custom-Key"),
        (
            "https://new-prod.vocera.ai/",
            {"auth_header": "X-CEKURA-API-KEY"},
            "https://new-prod.vocera.ai/test_framework/v1/results-external/42/",
            "X-CEKURA-API-KEY",
        ),
    ],
)
def test_get_result_url_and_auth_header(
    no_network: respx.MockRouter, api_url: str | None, kwargs: dict[str, Any], url: str, header: str
) -> None:
    route = no_network.get(url).mock(return_value=ok())
    client, _ = make_client(settings_for(api_url, **kwargs))
    assert client.get_result(42) == {"id": 42, "status": "completed"}
    sent = route.calls.last.request
    assert str(sent.url) == url
    assert sent.headers[header] == KEY
    other_auth = {"x-cekura-api-key", "x-vocera-api-key", "x-custom-key"} - {header.lower()}
    assert not other_auth & {name.lower() for name in sent.headers}


def test_user_agent_names_the_gate_and_its_version(no_network: respx.MockRouter) -> None:
    route = no_network.get(RESULT_URL).mock(return_value=ok())
    make_client()[0].get_result(42)
    agent = route.calls.last.request.headers["User-Agent"]
    assert "cekura-gate" in agent
    assert __version__ in agent


@pytest.mark.parametrize(
    ("api_url", "api_version", "bulk_path"),
    [
        (None, None, "/test_framework/v2/runs/bulk/"),
        (None, 1, "/test_framework/v1/runs/bulk/"),
        ("https://new-prod.vocera.ai", None, "/test_framework/v1/runs-external/bulk/"),
    ],
)
def test_runs_bulk_path(api_url: str | None, api_version: int | None, bulk_path: str) -> None:
    settings = settings_for(api_url, api_version=api_version)
    assert settings.runs_bulk_path() == bulk_path
    assert settings.runs_bulk_path().endswith("/")


# --------------------------------------------------------------------------- resolve_settings


@pytest.mark.parametrize(
    "api_url",
    [
        "http://127.0.0.1:8080",
        "http://localhost:8080/",
        "http://LOCALHOST",
        "http://[::1]:9000",
        "https://api.cekura.ai",
    ],
)
def test_loopback_http_and_https_are_allowed(api_url: str) -> None:
    assert settings_for(api_url).base_url == api_url.rstrip("/")


@pytest.mark.parametrize(
    "api_url",
    [
        "http://api.cekura.ai",
        "http://10.0.0.5:8080",
        "http://127.0.0.1.nip.io",
        "http://localhost.example.com",
        "http://api.localhost:8080",  # many resolvers send *.localhost to DNS
    ],
)
def test_plain_http_to_a_remote_host_is_refused(api_url: str) -> None:
    with pytest.raises(UsageError, match="plain http") as caught:
        settings_for(api_url)
    assert "https" in str(caught.value)
    assert settings_for(api_url, allow_insecure_http=True).base_url == api_url


@pytest.mark.parametrize(
    "api_url", ["ftp://api.cekura.ai", "file:///etc/passwd", "api.cekura.ai", "https://"]
)
def test_non_http_urls_are_refused(api_url: str) -> None:
    with pytest.raises(UsageError, match="not an http"):
        settings_for(api_url, allow_insecure_http=True)


@pytest.mark.parametrize("api_key", [None, "", "   ", "\t\n"])
def test_missing_key_is_refused_naming_its_source(api_key: str | None) -> None:
    with pytest.raises(UsageError, match="CEKURA_API_KEY environment variable"):
        resolve_settings(api_url=None, api_key=api_key, key_source=KEY_ENV)


def test_key_is_not_in_repr() -> None:
    settings = settings_for()
    client, _ = make_client(settings)
    assert KEY not in repr(settings)
    assert KEY not in repr(client)


# --------------------------------------------------------------------------- retries


def html_page() -> httpx.Response:
    return httpx.Response(
        200, text="<html>maintenance</html>", headers={"Content-Type": "text/html"}
    )


TRANSIENT: list[Any] = [
    pytest.param(httpx.ConnectError("refused"), id="connect-error"),
    pytest.param(httpx.ReadTimeout("slow"), id="read-timeout"),
    pytest.param(httpx.Response(408), id="408"),
    pytest.param(httpx.Response(429), id="429"),
    pytest.param(httpx.Response(500), id="500"),
    pytest.param(httpx.Response(502, text="Bad Gateway"), id="502"),
    pytest.param(httpx.Response(503), id="503"),
    pytest.param(html_page(), id="200-html"),
    pytest.param(httpx.Response(200, text='{"id": 42, "stat'), id="200-truncated-json"),
]


@pytest.mark.parametrize("failure", TRANSIENT)
def test_transient_failure_is_retried(no_network: respx.MockRouter, failure: Any) -> None:
    route = no_network.get(RESULT_URL).mock(side_effect=[failure, ok()])
    client, clock = make_client()
    assert client.get_result(42)["status"] == "completed"
    assert route.call_count == 2
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] > 0


def test_pauses_grow_between_retries(no_network: respx.MockRouter) -> None:
    route = no_network.get(RESULT_URL).mock(side_effect=[httpx.Response(503)] * 5 + [ok()])
    client, clock = make_client()
    client.get_result(42)
    assert route.call_count == 6
    assert len(clock.sleeps) == 5
    assert all(later >= earlier for earlier, later in itertools.pairwise(clock.sleeps))
    assert clock.sleeps[-1] > 2 * clock.sleeps[0]


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        ("7", 7.0, 9.0),
        (email.utils.formatdate(NOW + 42, usegmt=True), 42.0, 44.0),
        ("86400", MAX_RETRY_AFTER_S, MAX_RETRY_AFTER_S),
        (
            email.utils.formatdate(NOW + 7 * 86400, usegmt=True),
            MAX_RETRY_AFTER_S,
            MAX_RETRY_AFTER_S,
        ),
    ],
    ids=["seconds", "http-date", "huge-seconds", "far-http-date"],
)
def test_retry_after_sets_the_pause(
    no_network: respx.MockRouter, retry_after: str, low: float, high: float
) -> None:
    busy = httpx.Response(429, headers={"Retry-After": retry_after})
    no_network.get(RESULT_URL).mock(side_effect=[busy, ok()])
    client, clock = make_client()
    client.get_result(42)
    assert len(clock.sleeps) == 1
    assert low <= clock.sleeps[0] <= high


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("100000", MAX_RETRY_AFTER_S),
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == (None if seconds is None else pytest.approx(seconds))


@pytest.mark.parametrize("max_attempts", [7, 3])
def test_gives_up_after_max_attempts(no_network: respx.MockRouter, max_attempts: int) -> None:
    route = no_network.get(RESULT_URL).mock(return_value=httpx.Response(503))
    client, clock = make_client(max_attempts=max_attempts)
    with pytest.raises(ApiUnavailable, match=f"after {max_attempts} attempts") as caught:
        client.get_result(42)
    assert caught.value.attempts == max_attempts
    assert route.call_count == max_attempts
    assert len(clock.sleeps) == max_attempts - 1


def test_default_attempt_budget_is_seven(no_network: respx.MockRouter) -> None:
    route = no_network.get(RESULT_URL).mock(side_effect=httpx.ConnectError("down"))
    client, _ = make_client()
    with pytest.raises(ApiUnavailable, match="7 attempts"):
        client.get_result(42)
    assert route.call_count == 7


def test_deadline_stops_retrying_before_a_pause_would_pass_it(
    no_network: respx.MockRouter,
) -> None:
    # Retry-After makes each pause max(backoff, 4 s); backoff is 1-2 s, then 2-3 s, then
    # 4-5 s: two 4 s pauses (t+8), and a third pause would end after t+10.
    busy = httpx.Response(503, headers={"Retry-After": "4"})
    route = no_network.get(RESULT_URL).mock(return_value=busy)
    client, clock = make_client()
    deadline = clock.now + 10
    with pytest.raises(ApiUnavailable, match="after 3 attempts"):
        client.get_result(42, deadline=deadline)
    assert clock.sleeps == [4.0, 4.0]
    assert route.call_count == 3
    assert clock.now <= deadline


def test_retry_after_beyond_the_deadline_gives_up_at_once(no_network: respx.MockRouter) -> None:
    busy = httpx.Response(429, headers={"Retry-After": "60"})
    route = no_network.get(RESULT_URL).mock(return_value=busy)
    client, clock = make_client()
    with pytest.raises(ApiUnavailable, match=r"after 1 attempt\b"):
        client.get_result(42, deadline=clock.now + 30)
    assert route.call_count == 1
    assert clock.sleeps == []


def test_sub_second_backoff_retries_cleanly(no_network: respx.MockRouter) -> None:
    # The CLI uses backoff_initial_s=min(1 s, poll_interval) for fast-polling policies.
    no_network.get(RESULT_URL).mock(side_effect=[httpx.Response(503), ok()])
    client, clock = make_client(backoff_initial_s=0.25)
    assert client.get_result(42)["status"] == "completed"
    assert 0 < clock.sleeps[0] <= 0.5


# --------------------------------------------------------------------------- fail fast


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "the API key was rejected"),
        (403, "the API key was rejected"),
        (404, "result 42 not found for this API key"),
        (400, "HTTP 400"),
        (405, "HTTP 405"),
        (409, "HTTP 409"),
        (410, "HTTP 410"),
        (422, "HTTP 422"),
    ],
)
def test_client_errors_fail_fast(no_network: respx.MockRouter, status: int, message: str) -> None:
    route = no_network.get(RESULT_URL).mock(
        return_value=httpx.Response(status, json={"detail": "x"})
    )
    client, clock = make_client()
    with pytest.raises(ApiRejected, match=message) as caught:
        client.get_result(42)
    assert caught.value.status == status
    assert route.call_count == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed(no_network: respx.MockRouter, status: int) -> None:
    elsewhere = "https://attacker.example/collect/"
    route = no_network.get(RESULT_URL).mock(
        return_value=httpx.Response(status, headers={"Location": elsewhere})
    )
    target = no_network.get(elsewhere).mock(return_value=ok())
    client, clock = make_client()
    with pytest.raises(ApiRejected, match=str(status)):
        client.get_result(42)
    assert route.call_count == 1
    assert not target.called
    assert clock.sleeps == []


# --------------------------------------------------------------------------- no key in messages


@pytest.mark.parametrize("status", [400, 401, 403, 404, 302, 422, 503])
def test_messages_never_contain_the_key(no_network: respx.MockRouter, status: int) -> None:
    echo = {"detail": f"invalid key {KEY}", "headers": {"X-CEKURA-API-KEY": KEY}}
    no_network.get(RESULT_URL).mock(return_value=httpx.Response(status, json=echo))
    lines: list[str] = []
    client, _ = make_client(max_attempts=2, on_retry=lines.append, log=lines.append)
    with pytest.raises(ApiError) as caught:
        client.get_result(42)
    assert lines
    assert all(KEY not in text for text in [str(caught.value), *lines])


def test_bad_request_body_is_shown_redacted(no_network: respx.MockRouter) -> None:
    no_network.get(RESULT_URL).mock(return_value=httpx.Response(400, text=f"bad key {KEY} given"))
    with pytest.raises(ApiRejected) as caught:
        make_client()[0].get_result(42)
    assert "bad key" in str(caught.value)
    assert KEY not in str(caught.value)


def test_no_part_of_the_key_leaks_when_the_body_is_cut(no_network: respx.MockRouter) -> None:
    body = "x" * 190 + KEY  # the key starts 10 characters before the 200-character cut
    no_network.get(RESULT_URL).mock(return_value=httpx.Response(400, text=body))
    with pytest.raises(ApiRejected) as caught:
        make_client()[0].get_result(42)
    assert KEY[:10] not in str(caught.value)


def test_a_key_echoed_with_json_escapes_is_redacted_in_every_value_and_mapping_key(
    no_network: respx.MockRouter,
) -> None:
    """JSON may escape any character (``\\u0033`` is ``3``): the parsed values are redacted,
    so the key is caught however the server wrote it, in a string, a key or a list."""
    escaped = KEY.replace("3", "\\u0033")
    assert escaped != KEY
    body = (
        '{"id": 42, "status": "completed", "name": "by @@", '
        '"meta": {"@@": [{"note": "x@@y"}, "@@"]}}'
    ).replace("@@", escaped)
    no_network.get(RESULT_URL).mock(return_value=httpx.Response(200, text=body))
    assert make_client()[0].get_result(42) == {
        "id": 42,
        "status": "completed",
        "name": "by [redacted]",
        "meta": {"[redacted]": [{"note": "x[redacted]y"}, "[redacted]"]},
    }


@pytest.mark.parametrize("key", ['"status":"completed"', '"status":"completed",'])
def test_a_key_that_is_also_json_structure_never_corrupts_a_payload(
    no_network: respx.MockRouter, key: str
) -> None:
    """Redacting the text would have cut the structure (and made the body unreadable)."""
    settings = resolve_settings(api_url=None, api_key=key, key_source=KEY_ENV)
    document = {"id": 42, "status": "completed", "name": f"echo {key}"}
    payload = json.dumps(document, separators=(",", ":"))
    assert key in payload  # the structure itself holds the key
    no_network.get(RESULT_URL).mock(return_value=httpx.Response(200, text=payload))
    result = make_client(settings)[0].get_result(42)
    assert result == {"id": 42, "status": "completed", "name": "echo [redacted]"}


# --------------------------------------------------------------------------- runs bulk


def bulk_responder(shape: Callable[[list[Any]], object] = lambda runs: runs) -> Any:
    """A runs-bulk endpoint: echoes one run per requested id, in ``shape``."""

    def respond(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["run_ids"].split(",")
        return httpx.Response(200, json=shape([{"id": int(run_id)} for run_id in ids]))

    return respond


def sent_id_lists(route: respx.Route) -> list[list[str]]:
    lists = []
    for call in route.calls:
        values = call.request.url.params.get_list("run_ids")
        assert len(values) == 1  # one plain comma-separated value, not repeated parameters
        lists.append(values[0].split(","))
    return lists


@pytest.mark.parametrize(
    ("count", "chunks"), [(1, [1]), (50, [50]), (51, [50, 1]), (120, [50, 50, 20])]
)
def test_get_runs_chunks_ids(no_network: respx.MockRouter, count: int, chunks: list[int]) -> None:
    route = no_network.get(BULK_URL).mock(side_effect=bulk_responder())
    client, _ = make_client()
    ids = list(range(1000, 1000 + count))
    runs = client.get_runs(ids, concurrency=1)
    assert [run["id"] for run in runs] == ids
    sent = sent_id_lists(route)
    assert [len(chunk) for chunk in sent] == chunks
    assert [int(run_id) for chunk in sent for run_id in chunk] == ids


def test_get_runs_concurrency_gives_the_same_runs(no_network: respx.MockRouter) -> None:
    route = no_network.get(BULK_URL).mock(side_effect=bulk_responder())
    client, _ = make_client()
    ids = list(range(7, 7 + 333))
    assert client.get_runs(ids, concurrency=8) == client.get_runs(ids, concurrency=1)
    assert [run["id"] for run in client.get_runs(ids, concurrency=8)] == ids
    assert all(len(chunk) <= 50 for chunk in sent_id_lists(route))


def test_get_runs_accepts_a_results_page(no_network: respx.MockRouter) -> None:
    no_network.get(BULK_URL).mock(side_effect=bulk_responder(lambda runs: {"results": runs}))
    assert make_client()[0].get_runs([3, 1, 2]) == [{"id": 3}, {"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    "body", ['{"detail": "nope"}', '{"results": null}', '"runs"', "42", "null"]
)
def test_get_runs_rejects_a_body_that_is_not_a_list(
    no_network: respx.MockRouter, body: str
) -> None:
    no_network.get(BULK_URL).mock(return_value=httpx.Response(200, text=body))
    with pytest.raises(ApiError, match="not a JSON array"):
        make_client()[0].get_runs([1, 2])


def test_get_runs_without_ids_sends_nothing(no_network: respx.MockRouter) -> None:
    route = no_network.get(BULK_URL).mock(side_effect=bulk_responder())
    assert make_client()[0].get_runs([]) == []
    assert not route.called


def test_get_runs_retries_a_failing_chunk(no_network: respx.MockRouter) -> None:
    good = httpx.Response(200, json=[{"id": 5}, {"id": 6}])
    route = no_network.get(BULK_URL).mock(side_effect=[httpx.Response(502), good])
    client, clock = make_client()
    assert client.get_runs([5, 6]) == [{"id": 5}, {"id": 6}]
    assert route.call_count == 2
    assert len(clock.sleeps) == 1


# --------------------------------------------------------------------------- checked up front


@pytest.mark.parametrize(
    ("api_key", "reason"),
    [
        pytest.param("test", "too short (4 characters)", id="a-word"),
        pytest.param("1", "too short (1 characters)", id="one-digit"),
        pytest.param("k3y-7f1c9a2b4d6", "too short (15 characters)", id="15-characters"),
        pytest.param(f"{KEY[:9]}é{KEY[9:]}", "not ASCII", id="non-ascii"),
        pytest.param(f"{KEY[:9]}\r\n{KEY[9:]}", "line break", id="cr-lf-inside"),
        pytest.param(f"{KEY[:9]}\t{KEY[9:]}", "tab", id="tab-inside"),
        pytest.param(f"{KEY[:9]} {KEY[9:]}", "space", id="space-inside"),
        pytest.param(f"{KEY[:9]}\x00{KEY[9:]}", "control character", id="nul-inside"),
    ],
)
def test_a_key_that_cannot_be_a_key_is_refused_without_showing_any_of_it(
    api_key: str, reason: str
) -> None:
    with pytest.raises(UsageError) as caught:
        resolve_settings(api_url=None, api_key=api_key, key_source=KEY_ENV)
    message = caught.value.message
    assert message.startswith(f"{KEY_ENV} does not hold an API key") and reason in message
    assert "at least 16 printable ASCII characters" in message
    assert caught.value.exit_code == 2
    assert not any(part in message for part in ("é", "\r", "\n", "\t", "\x00", KEY[:9], KEY[9:]))


@pytest.mark.parametrize(
    "api_key", ["k3y-7f1c9a2b4d6e", f"  {KEY}\n", "!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\"A"]
)
def test_a_key_of_16_or_more_printable_characters_is_accepted_once_stripped(api_key: str) -> None:
    settings = resolve_settings(api_url=None, api_key=api_key, key_source=KEY_ENV)
    assert settings.api_key == api_key.strip()


@pytest.mark.parametrize("header", ["X CEKURA KEY", "X-Key:", "X-Clé", "X-Key\r\nEvil: 1", ""])
def test_an_auth_header_that_is_not_a_header_name_is_refused(header: str) -> None:
    with pytest.raises(UsageError, match="--auth-header") as caught:
        settings_for(auth_header=header)
    assert KEY not in caught.value.message


@pytest.mark.parametrize(
    "api_url",
    ["https://api.cekura.ai:99999", "https://api.cekura.ai:port", "https://api cekura.ai"],
)
def test_an_api_url_httpx_cannot_use_is_refused_up_front(api_url: str) -> None:
    with pytest.raises(UsageError, match="API URL"):
        settings_for(api_url)


def test_an_api_url_is_never_shown_with_its_password() -> None:
    with pytest.raises(UsageError) as caught:
        settings_for("ftp://user:hunter2@api.cekura.ai")
    assert "hunter2" not in caught.value.message and "api.cekura.ai" in caught.value.message


PROXY = "http://proxy.example:3128"


@pytest.mark.parametrize(
    ("api_url", "variables", "host", "variable"),
    [
        pytest.param(None, {}, None, None, id="none"),
        pytest.param(None, {"HTTPS_PROXY": PROXY}, "proxy.example", "HTTPS_PROXY", id="https"),
        pytest.param(None, {"HTTP_PROXY": PROXY}, None, None, id="http-only-for-http-urls"),
        pytest.param(None, {"ALL_PROXY": PROXY}, "proxy.example", "ALL_PROXY", id="all"),
        pytest.param(
            None,
            {"ALL_PROXY": "http://all.example", "https_proxy": PROXY},
            "proxy.example",
            "https_proxy",
            id="the-scheme-before-all",
        ),
        pytest.param(
            None,
            {"HTTPS_PROXY": "http://upper.example", "https_proxy": PROXY},
            "proxy.example",
            "https_proxy",
            id="lowercase-wins",
        ),
        pytest.param(
            None, {"HTTPS_PROXY": PROXY, "https_proxy": ""}, None, None, id="empty-lowercase-unsets"
        ),
        pytest.param(
            None, {"HTTPS_PROXY": "proxy.example:3128"}, "proxy.example", "HTTPS_PROXY", id="bare"
        ),
        pytest.param(None, {"HTTPS_PROXY": PROXY, "NO_PROXY": "*"}, None, None, id="no-proxy-*"),
        pytest.param(
            None, {"HTTPS_PROXY": PROXY, "NO_PROXY": "api.cekura.ai"}, None, None, id="no-host"
        ),
        pytest.param(
            None, {"HTTPS_PROXY": PROXY, "no_proxy": "x.org, cekura.ai"}, None, None, id="domain"
        ),
        pytest.param(
            None, {"HTTPS_PROXY": PROXY, "NO_PROXY": ".cekura.ai"}, None, None, id="subdomains"
        ),
        pytest.param(
            None,
            {"HTTPS_PROXY": PROXY, "NO_PROXY": "notcekura.ai,api.cekura.ai.evil"},
            "proxy.example",
            "HTTPS_PROXY",
            id="no-proxy-elsewhere",
        ),
        pytest.param(
            "http://127.0.0.1:8080",
            {"HTTP_PROXY": PROXY, "NO_PROXY": "localhost,127.0.0.1"},
            None,
            None,
            id="no-proxy-loopback",
        ),
        pytest.param(
            "http://127.0.0.1:8080",
            {"HTTP_PROXY": "http://127.0.0.1:3128"},
            "127.0.0.1",
            "HTTP_PROXY",
            id="loopback-proxy-for-a-loopback-api",
        ),
        pytest.param(
            "https://10.1.2.3",
            {"HTTPS_PROXY": PROXY, "NO_PROXY": "10.0.0.0/8"},
            None,
            None,
            id="cidr",
        ),
        pytest.param(
            "https://[::1]:8443", {"HTTPS_PROXY": PROXY, "NO_PROXY": "::1"}, None, None, id="ipv6"
        ),
        pytest.param(
            "https://api.cekura.ai:8443",
            {"HTTPS_PROXY": PROXY, "NO_PROXY": "api.cekura.ai:443"},
            "proxy.example",
            "HTTPS_PROXY",
            id="no-proxy-other-port",
        ),
    ],
)
def test_the_proxy_is_resolved_once_from_the_given_variables(
    api_url: str | None, variables: dict[str, str], host: str | None, variable: str | None
) -> None:
    settings = settings_for(api_url, variables=variables)
    proxy = settings.proxy
    assert (proxy and proxy.host, proxy and proxy.variable) == (host, variable)


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({"HTTP_PROXY": "http://proxy.invalid:3128"}, id="http-proxy"),
        pytest.param({"ALL_PROXY": "proxy.invalid:1080"}, id="all-proxy"),
        pytest.param({"http_proxy": "https://proxy.invalid:3128"}, id="https-proxy-scheme"),
        pytest.param(
            {"HTTP_PROXY": "http://proxy.invalid:3128", "NO_PROXY": "127.0.0.2"},
            id="no-proxy-other",
        ),
    ],
)
def test_plain_http_to_this_machine_through_a_proxy_elsewhere_is_refused(
    variables: dict[str, str],
) -> None:
    with pytest.raises(UsageError) as caught:
        settings_for("http://127.0.0.1:8080", variables=variables)
    message = caught.value.message
    assert "proxy.invalid" in message and "--allow-insecure-http" in message
    assert next(iter(variables)) in message
    allowed = settings_for("http://127.0.0.1:8080", variables=variables, allow_insecure_http=True)
    assert allowed.proxy is not None and allowed.proxy.host == "proxy.invalid"


def test_https_through_an_http_proxy_is_fine() -> None:
    """The proxy only sees a CONNECT tunnel: the key travels inside TLS."""
    settings = settings_for(variables={"HTTPS_PROXY": "http://proxy.invalid:3128"})
    assert settings.proxy is not None and settings.proxy.host == "proxy.invalid"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        pytest.param(
            "ftp://user:hunter2@proxy.invalid:21", "scheme 'ftp' is not supported", id="ftp"
        ),
        pytest.param(
            "http://user:hunter2@proxy.invalid:99999", "not a usable proxy URL", id="port"
        ),
        pytest.param("http://user:hunter2@:3128", "names no host", id="no-host"),
        pytest.param("http://user:hunter2@proxy .invalid", "not a usable proxy URL", id="space"),
    ],
)
def test_an_unusable_proxy_is_refused_naming_the_variable_never_its_password(
    value: str, fragment: str
) -> None:
    with pytest.raises(UsageError) as caught:
        settings_for(variables={"HTTPS_PROXY": value})
    message = caught.value.message
    assert message.startswith("HTTPS_PROXY") and fragment in message, message
    assert "hunter2" not in message and "user" not in message


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_a_socks_proxy_needs_socksio_and_says_what_to_install(scheme: str) -> None:
    api = urlsplit(BASE)
    variables = {"ALL_PROXY": f"{scheme}://user:hunter2@proxy.invalid:1080"}
    with pytest.raises(UsageError) as caught:
        proxy_for(api, variables, socks_installed=lambda: False)
    message = caught.value.message
    assert message.startswith("ALL_PROXY") and "socksio" in message and "hunter2" not in message
    proxy = proxy_for(api, variables, socks_installed=lambda: True)
    assert proxy is not None and proxy.host == "proxy.invalid"
    assert "hunter2" not in repr(proxy)


@pytest.mark.skipif(importlib.util.find_spec("socksio") is not None, reason="socksio installed")
def test_a_socks_proxy_without_socksio_installed_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="socksio"):
        settings_for(variables={"HTTPS_PROXY": "socks5://proxy.invalid:1080"})


def test_the_client_ignores_proxies_httpx_would_read_from_the_process_environment(
    no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the variables given to resolve_settings count: a proxy set in os.environ that the
    gate did not read (an unusable one here) changes nothing."""
    monkeypatch.setenv("HTTPS_PROXY", "ftp://proxy.invalid:21")
    monkeypatch.setenv("ALL_PROXY", "socks5://proxy.invalid:1080")
    route = no_network.get(RESULT_URL).mock(return_value=ok())
    client, _ = make_client()
    assert client.get_result(42) == {"id": 42, "status": "completed"}
    assert route.called and not client.http.trust_env


@pytest.mark.parametrize("content", ["not a certificate", None], ids=["garbage", "missing"])
def test_certificates_that_cannot_be_loaded_are_a_usage_error_naming_the_variable(
    tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "certificates.pem"
    if content is not None:
        path.write_text(content, encoding="ascii")
    settings = settings_for(variables={"SSL_CERT_FILE": str(path)})
    with pytest.raises(UsageError, match=r"^SSL_CERT_FILE: cannot load the certificates"):
        build_http(settings)


# --------------------------------------------------------------------------- whole responses
# httpx.MockTransport, not respx (which reads every body before handing it over): these
# responses trickle, inflate, lie about their length or never end, as a socket's would.


class Trickle(httpx.SyncByteStream):
    """``data`` a piece at a time, ``every_s`` apart on the fake clock; records how much of
    it was asked for."""

    def __init__(self, data: bytes, clock: FakeClock, every_s: float = 0.5, piece: int = 1):
        self.data, self.clock, self.every_s, self.piece = data, clock, every_s, piece
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.piece):
            if self.every_s:
                self.clock.sleep(self.every_s)
            self.sent = start + self.piece
            yield self.data[start : start + self.piece]


class Untouchable(httpx.SyncByteStream):
    """A body that must not be read (a Content-Length over the cap is refused from the header)."""

    def __iter__(self) -> Iterator[bytes]:
        raise AssertionError("the body was read")


Handler = Callable[[httpx.Request, FakeClock], httpx.Response]


def streaming_client(
    answers: list[Handler], clock: FakeClock | None = None, **kwargs: Any
) -> tuple[CekuraClient, FakeClock, list[httpx.Request]]:
    """A client whose n-th request gets ``answers[n](request, clock)`` (the last repeats)."""
    clock = clock or FakeClock()
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1](request, clock)

    settings = settings_for()
    client = CekuraClient(
        build_http(settings, transport=httpx.MockTransport(handle)),
        settings,
        sleep=clock.sleep,
        clock=clock,
        wall_clock=lambda: NOW,
        **kwargs,
    )
    return client, clock, seen


RESULT_BODY = json.dumps({"id": 42, "status": "completed"}).encode()
BULK_BODY = json.dumps([{"id": 5}, {"id": 6}]).encode()


def trickling(body: bytes = RESULT_BODY, status: int = 200) -> Handler:
    return lambda request, clock: httpx.Response(status, stream=Trickle(body, clock))


def plain(body: bytes = RESULT_BODY, status: int = 200, **headers: str) -> Handler:
    return lambda request, clock: httpx.Response(
        status, headers=headers, stream=httpx.ByteStream(body)
    )


def coded(body: bytes, encoding: str, status: int = 200, piece: int = 0) -> Handler:
    """``body`` as ``Content-Encoding: encoding`` says, whole or ``piece`` bytes at a time."""

    def answer(request: httpx.Request, clock: FakeClock) -> httpx.Response:
        stream: httpx.SyncByteStream = httpx.ByteStream(body)
        if piece:
            stream = Trickle(body, clock, every_s=0.0, piece=piece)
        return httpx.Response(status, headers={"Content-Encoding": encoding}, stream=stream)

    return answer


def deflated(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    "fetch",
    [
        pytest.param(
            lambda client, deadline: client.get_result(42, deadline=deadline), id="result"
        ),
        pytest.param(
            lambda client, deadline: client.get_runs([5, 6], deadline=deadline), id="runs-bulk"
        ),
        pytest.param(
            lambda client, deadline: client.get_runs(
                list(range(200)), concurrency=4, deadline=deadline
            ),
            id="runs-bulk-concurrent",
        ),
    ],
)
def test_a_body_that_trickles_ends_at_the_deadline(fetch: Any) -> None:
    # A byte every half second: no single read ever waits long, the whole never comes.
    client, clock, seen = streaming_client([trickling(BULK_BODY * 10)])
    deadline = clock.now + 5
    with pytest.raises(ApiUnavailable, match=r"after 1 attempt: the request timed out"):
        fetch(client, deadline)
    # Each stream overshoots by a byte or so (half a second each). The concurrent streams
    # share the fake clock, and how often each reads a byte between another's last check and
    # its own depends on how the threads interleave: the bound is loose (the whole body
    # would take over a minute).
    assert clock.now <= deadline + 5.0
    assert len(seen) <= 4  # one request per chunk at most: a timeout at the deadline is final


def test_a_trickling_get_is_cut_at_its_budget_and_retried() -> None:
    client, clock, seen = streaming_client([trickling(RESULT_BODY * 1000), plain()])
    assert client.get_result(42)["status"] == "completed"  # no deadline: the budget still holds
    assert len(seen) == 2
    trickled = 0.5 * clock.sleeps.count(0.5)  # the backoff pause is a second or more
    assert GET_BUDGET_S <= trickled <= GET_BUDGET_S + 0.5


@pytest.mark.parametrize("post", ["trigger", "end_calls"])
def test_a_post_answer_that_never_ends_is_an_unknown_outcome_sent_once(post: str) -> None:
    client, clock, seen = streaming_client([trickling(b'{"id": 167}' * 10_000, 201)])
    with pytest.raises(OutcomeUnknown, match=r"no complete response within .* after the request"):
        if post == "trigger":
            client.start_run("/test_framework/v1/scenarios/run_scenarios/", {"scenarios": [1]})
        else:
            client.end_calls(167)
    assert len(seen) == 1
    budget = TRIGGER_READ_TIMEOUT_S if post == "trigger" else END_CALLS_READ_TIMEOUT_S
    assert budget <= clock.now - 1000.0 <= budget + 0.5


def test_a_response_that_never_comes_is_given_up_by_the_caller() -> None:
    # Headers that trickle are read inside httpx, out of reach of any per-chunk check: the
    # caller stops waiting (on the real clock) and leaves the request behind.
    release = threading.Event()

    def never(request: httpx.Request, clock: FakeClock) -> httpx.Response:
        release.wait(10)
        return httpx.Response(200, json={"id": 167})

    client, _, seen = streaming_client([never], clock=FakeClock())
    started = time.monotonic()
    try:
        with pytest.raises(OutcomeUnknown, match="after the request was sent"):
            client.post_once("/x/", {}, what="testing", budget_s=0.05)
    finally:
        release.set()
    assert time.monotonic() - started < 0.05 + BACKSTOP_S + 0.4
    assert len(seen) == 1


LIMIT = 1 << 20  # a 1 MiB cap for these tests


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(coded(compressed(64), "gzip"), id="gzip-bomb"),
        pytest.param(coded(compressed(64, "deflate"), "deflate"), id="deflate-bomb"),
        pytest.param(coded(compressed(64), "gzip", piece=4096), id="gzip-bomb-in-pieces"),
        pytest.param(
            coded(gzip.compress(compressed(64)), "gzip, gzip"), id="gzip-bomb-in-a-gzip-bomb"
        ),
        pytest.param(plain(b" " * (LIMIT + 1)), id="plain-no-length"),
        pytest.param(
            lambda request, clock: httpx.Response(
                200, headers={"Content-Length": str(300 << 20)}, stream=Untouchable()
            ),
            id="content-length-over-the-cap",
        ),
    ],
)
def test_a_response_over_the_cap_is_refused_at_once(answer: Handler) -> None:
    client, clock, seen = streaming_client([answer], max_response_bytes=LIMIT)
    with pytest.raises(ApiError) as caught:
        client.get_result(42)
    assert caught.value.message == (
        "the response to GET /test_framework/v2/results/42/ is larger than 1 MiB "
        "(--max-response-size)"
    )
    assert not isinstance(caught.value, ApiUnavailable)  # not retried: it would be as large
    assert len(seen) == 1
    assert clock.sleeps == []


class CountingStream(httpx.SyncByteStream):
    """A body served in 64 KiB pieces, counting what the client has read of it."""

    def __init__(self, body: bytes) -> None:
        self.body, self.served = body, 0

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), 1 << 16):
            piece = self.body[start : start + (1 << 16)]
            self.served += len(piece)
            yield piece


def test_what_follows_the_end_of_a_stacked_coding_is_neither_read_nor_inflated() -> None:
    """gzip(gzip(result) + 256 MiB of zeros): the inner stream ends with the result; the
    outer layer must not go on inflating the zeros, which no size count would see."""
    zeros = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    outer = zeros.compress(gzip.compress(RESULT_BODY))
    for _ in range(256):
        outer += zeros.compress(bytes(1 << 20))
    outer += zeros.flush()
    stream = CountingStream(outer)

    def answer(request: httpx.Request, clock: FakeClock) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip, gzip"}, stream=stream)

    client, _, _ = streaming_client([answer], max_response_bytes=LIMIT)
    assert client.get_result(42)["status"] == "completed"
    assert stream.served <= 1 << 17  # the first piece or two, not the 256 KiB of zeros


def test_a_response_at_the_cap_is_read() -> None:
    body = RESULT_BODY[:-1] + b" " * (LIMIT - len(RESULT_BODY)) + b"}"
    client, _, _ = streaming_client([coded(gzip.compress(body), "gzip")], max_response_bytes=LIMIT)
    assert client.get_result(42)["status"] == "completed"


def test_a_post_answer_over_the_cap_is_an_unknown_outcome() -> None:
    client, _, seen = streaming_client(
        [coded(compressed(8), "gzip", 201)], max_response_bytes=LIMIT
    )
    with pytest.raises(OutcomeUnknown) as caught:
        client.start_run("/test_framework/v1/scenarios/run_scenarios/", {"scenarios": [1]})
    assert caught.value.message == (
        "starting the run: the response to POST /test_framework/v1/scenarios/run_scenarios/ "
        "is larger than 1 MiB (--max-response-size)"
    )
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (coded(RESULT_BODY, "gzip"), "HTTP 200 with a corrupt gzip body"),
        (coded(b"\x78\x9c garbage", "deflate"), "HTTP 200 with a corrupt deflate body"),
        (coded(gzip.compress(RESULT_BODY)[:-12], "gzip"), "a gzip body that ends early"),
        (coded(RESULT_BODY, "br"), "an encoding the gate does not accept (br)"),
        (coded(RESULT_BODY, "zstd"), "an encoding the gate does not accept (zstd)"),
    ],
    ids=["not-gzip", "bad-deflate", "cut-short", "br", "zstd"],
)
def test_a_corrupt_encoding_is_a_transport_fault_and_retried(answer: Handler, problem: str) -> None:
    retries: list[str] = []
    client, clock, seen = streaming_client([answer, plain()], on_retry=retries.append)
    assert client.get_result(42)["status"] == "completed"
    assert len(seen) == 2
    assert len(clock.sleeps) == 1
    [retry] = retries
    assert problem in retry


def test_a_corrupt_encoding_every_time_gives_up_after_the_attempts() -> None:
    client, _, seen = streaming_client([coded(RESULT_BODY, "gzip")])
    with pytest.raises(ApiUnavailable, match="after 7 attempts: HTTP 200 with a corrupt gzip"):
        client.get_result(42)
    assert len(seen) == 7


def test_a_corrupt_encoding_on_a_post_is_an_unknown_outcome() -> None:
    client, _, seen = streaming_client([coded(b'{"id": 167}', "gzip", 201)])
    with pytest.raises(OutcomeUnknown, match="corrupt gzip body after the request was sent"):
        client.start_run("/test_framework/v1/scenarios/run_scenarios/", {"scenarios": [1]})
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gzip.compress(RESULT_BODY), "gzip"),
        (gzip.compress(RESULT_BODY), "x-gzip"),
        (gzip.compress(RESULT_BODY), "GZIP"),
        (deflated(RESULT_BODY, 15), "deflate"),
        (deflated(RESULT_BODY, -15), "deflate"),  # raw deflate, as some servers send it
        (gzip.compress(deflated(RESULT_BODY, 15)), "deflate, gzip"),
        (RESULT_BODY, "identity"),
    ],
    ids=["gzip", "x-gzip", "upper", "deflate", "raw-deflate", "two", "identity"],
)
@pytest.mark.parametrize("piece", [0, 1], ids=["whole", "byte-by-byte"])
def test_encodings_are_undone(body: bytes, encoding: str, piece: int) -> None:
    client, _, seen = streaming_client([coded(body, encoding, piece=piece)])
    assert client.get_result(42) == {"id": 42, "status": "completed"}
    assert seen[0].headers["Accept-Encoding"] == "gzip, deflate"  # nothing we cannot bound


# --------------------------------------------------------------------------- runs-bulk throttling


def test_a_throttled_chunk_is_asked_again_while_the_others_go_on(
    no_network: respx.MockRouter,
) -> None:
    answers = bulk_responder()
    throttled = iter([True])

    def respond(request: httpx.Request) -> httpx.Response:
        if "1000" in request.url.params["run_ids"] and next(throttled, False):
            return httpx.Response(429)
        answer: httpx.Response = answers(request)
        return answer

    route = no_network.get(BULK_URL).mock(side_effect=respond)
    retries: list[str] = []
    client, clock = make_client(on_retry=retries.append)
    ids = list(range(1000, 1200))
    assert [run["id"] for run in client.get_runs(ids, concurrency=1)] == ids
    assert route.call_count == 5  # four chunks, the first twice
    first_ids = [chunk[0] for chunk in sent_id_lists(route)]
    assert first_ids[0] == "1000" and first_ids[1] != "1000"  # not retried in place
    assert len(retries) == 1 and "HTTP 429" in retries[0]
    # The fake clock stands still while the others are fetched: what is left of the pause
    # is slept, a fraction of the first 5xx pause (the smaller window relieves the server).
    [pause] = clock.sleeps
    assert pause < 0.25


def test_retry_after_on_a_throttled_chunk_is_honoured(no_network: respx.MockRouter) -> None:
    busy = httpx.Response(429, headers={"Retry-After": "7"})
    no_network.get(BULK_URL).mock(side_effect=[busy, httpx.Response(200, json=[{"id": 5}])])
    client, clock = make_client()
    assert client.get_runs([5]) == [{"id": 5}]
    assert clock.sleeps == [7.0]


def test_a_chunk_always_throttled_is_given_up_after_about_the_5xx_schedule(
    no_network: respx.MockRouter,
) -> None:
    route = no_network.get(BULK_URL).mock(return_value=httpx.Response(429))
    client, clock = make_client()
    with pytest.raises(ApiUnavailable, match=r"failed after \d+ attempts: HTTP 429"):
        client.get_runs([5])
    five_xx_schedule = 1 + 2 + 4 + 8 + 16 + 30
    assert five_xx_schedule <= sum(clock.sleeps) <= 2.5 * five_xx_schedule
    assert route.call_count >= 7


def test_a_throttled_chunk_is_not_asked_again_past_the_deadline(
    no_network: respx.MockRouter,
) -> None:
    busy = httpx.Response(429, headers={"Retry-After": "60"})
    route = no_network.get(BULK_URL).mock(return_value=busy)
    client, clock = make_client()
    with pytest.raises(ApiUnavailable, match="after 1 attempt: HTTP 429"):
        client.get_runs([5], deadline=clock.now + 30)
    assert route.call_count == 1


def socket_settings(fake: FakeCekura, api_key: str) -> ApiSettings:
    return resolve_settings(api_url=fake.url, api_key=api_key, key_source=KEY_ENV)


def test_no_more_runs_bulk_requests_in_flight_than_the_pool_holds(
    fake: FakeCekura, api_key: str
) -> None:
    fake.add_runs([{"id": run_id} for run_id in range(1, 2001)])
    fake.latency_s = 0.02
    settings = socket_settings(fake, api_key)
    with build_http(settings) as http:
        runs = CekuraClient(http, settings).get_runs(list(range(1, 2001)), concurrency=64)
    assert len(runs) == 2000
    assert fake.peak_in_flight <= RUNS_MAX_IN_FLIGHT


def test_a_server_limiting_the_number_in_flight_gets_every_run_fetched(
    fake: FakeCekura, api_key: str
) -> None:
    fake.add_runs([{"id": run_id} for run_id in range(1, 1001)])
    fake.latency_s = 0.01
    fake.runs_max_in_flight = 2
    fake.runs_throttle_rate = 0.2
    settings = socket_settings(fake, api_key)
    with build_http(settings) as http:
        client = CekuraClient(http, settings, backoff_initial_s=0.05)
        runs = client.get_runs(list(range(1, 1001)), concurrency=8)
    assert [run["id"] for run in runs] == list(range(1, 1001))
    assert fake.throttled > 0
    assert not fake.unauthorised_requests()
