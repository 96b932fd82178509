"""Unit tests of ``cekura-gate run`` below the process: the policy's ``run:`` section (loader
and JSON Schema), the trigger request built from it (``gate/trigger.py``), the CI label added
to the run's name, and the client's POSTs (``post_once``, ``start_run``, ``end_calls``,
``create_share_link``) against respx routes with a recorded, never real, sleep.

The POST rule under test: a trigger is retried only when it provably never left this machine
(connection refused, connect timeout); after anything that may have reached the server (a read
timeout, a dropped connection, 408, 5xx, an unreadable 2xx) it raises ``OutcomeUnknown`` at
once, because every Cekura run is billed.

Case files live in ``tests/data/run``: ``valid/`` (the loader and the schema accept them) and
``invalid/`` (both reject them; each starts with ``# error: <the exact loader message>`` and may
add ``# loader-xfail: <reason>`` for a known defect in the loader's message). The end-to-end
tests (the real process against the fake server) are in ``test_run_e2e.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import respx

from gate.api.client import (
    END_CALLS_READ_TIMEOUT_S,
    TRIGGER_READ_TIMEOUT_S,
    ApiSettings,
    CekuraClient,
    build_http,
    resolve_settings,
)
from gate.api.trigger import TRIGGER_PATHS, labelled, trigger_request, with_overrides
from gate.ci import github, gitlab
from gate.cli.main import main
from gate.cli.schema import schema_text
from gate.errors import ApiError, ApiRejected, ApiUnavailable, OutcomeUnknown, PolicyError
from gate.policy.model import RunSettings, selector_problem
from gate.policy.yamlload import load_yaml
from tests.conftest import DATA, policy_from
from tests.e2e.harness import FakeClock

KEY = "sk-run-SECRET-55aa"
BASE = "https://api.cekura.ai"
VOICE = "/test_framework/v1/scenarios/run_scenarios/"
TEXT = "/test_framework/v1/scenarios/run_scenarios_text/"
VOICE_URL = BASE + VOICE
END_CALLS_URL = f"{BASE}/test_framework/v1/results/167/end_calls/"
SHARE_URL = f"{BASE}/test_framework/v1/results/167/create_shareable_link_token/"
LINK = "https://dashboard.cekura.ai/share/abc123"
RUN_CASES = DATA / "run"
VALID = RUN_CASES / "valid"
INVALID = RUN_CASES / "invalid"
HEADER = re.compile(r"# (?P<key>[a-z-]+): (?P<value>.*)")
KNOWN_FAILURES = (AssertionError, pytest.fail.Exception)
VALIDATOR = jsonschema.Draft202012Validator(json.loads(schema_text()))
RULES = "version: 1\nrules:\n  success_rate: {min: 90}\n"
UNSENT_HINT = "nothing was sent"


# --------------------------------------------------------------------------- helpers


def headers(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a case file."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = HEADER.fullmatch(line)
        if match is None:
            break
        found[match["key"]] = match["value"]
    return found


def cases(folder: Path, *, loader: bool = True) -> list[Any]:
    """One ``pytest.param`` per case file; a ``loader-xfail`` becomes a strict xfail when the
    test checks the loader's message."""
    params = []
    for path in sorted(folder.glob("*.yaml")):
        reason = headers(path).get("loader-xfail")
        marks = (
            [pytest.mark.xfail(strict=True, reason=reason, raises=KNOWN_FAILURES)]
            if loader and reason
            else []
        )
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


def run_policy(body: str) -> RunSettings:
    """The ``RunSettings`` of a policy whose ``run:`` section is ``body`` (indented YAML)."""
    run = policy_from(RULES + "run:\n" + body).run
    assert run is not None
    return run


def schema_errors(text: str) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(load_yaml(text))]


def settings_for(api_url: str | None = None, **kwargs: Any) -> ApiSettings:
    return resolve_settings(api_url=api_url, api_key=KEY, key_source="the test", **kwargs)


def make_client(
    settings: ApiSettings | None = None, **kwargs: Any
) -> tuple[CekuraClient, FakeClock, list[str]]:
    """A client with a fake clock; the third item collects its retry messages."""
    settings = settings or settings_for()
    clock = FakeClock()
    retries: list[str] = []
    client = CekuraClient(
        build_http(settings),
        settings,
        sleep=clock.sleep,
        clock=clock,
        on_retry=retries.append,
        **kwargs,
    )
    return client, clock, retries


def created(result_id: object = 167) -> httpx.Response:
    return httpx.Response(201, json={"id": result_id, "status": "pending", "runs": []})


def sent_json(route: respx.Route, index: int = 0) -> Any:
    return json.loads(route.calls[index].request.content)


def read_timeout(route: respx.Route, index: int = 0) -> float:
    timeout: dict[str, float] = route.calls[index].request.extensions["timeout"]
    return timeout["read"]


# --------------------------------------------------------------------------- policy: run:


@pytest.mark.parametrize("folder", [VALID, INVALID], ids=lambda path: path.name)
def test_case_folder_is_discovered(folder):
    assert len(list(folder.glob("*.yaml"))) >= 5


@pytest.mark.parametrize("path", cases(VALID, loader=False))
def test_valid_run_section_matches_the_schema_and_the_loader(path):
    text = path.read_text(encoding="utf-8")
    assert schema_errors(text) == []
    run = policy_from(text).run
    assert run is not None and selector_problem(run) is None


@pytest.mark.parametrize("path", cases(INVALID, loader=False))
def test_invalid_run_section_is_rejected_by_the_schema(path):
    assert schema_errors(path.read_text(encoding="utf-8")) != []


@pytest.mark.parametrize("path", cases(INVALID))
def test_invalid_run_section_is_rejected_by_the_loader_naming_the_key(path):
    expected = headers(path)["error"]
    with pytest.raises(PolicyError) as caught:
        policy_from(path.read_text(encoding="utf-8"))
    assert caught.value.message == expected


@pytest.mark.parametrize("path", cases(INVALID, loader=False))
def test_invalid_case_states_a_message_naming_the_run_section(path):
    assert headers(path)["error"].startswith(("gate.yaml: run: ", "gate.yaml: run."))


def test_every_key_is_read_into_run_settings():
    run = policy_from((VALID / "every-key.yaml").read_text(encoding="utf-8")).run
    assert run == RunSettings(
        agent_id=12,
        scenario_ids=(101, 202),
        tags=("smoke",),
        folder_path=None,
        project_id=None,
        mode="voice",
        frequency=2,
        name="release check",
        personality_ids=(3, 7),
        test_profile_ids=(5,),
        concurrency_limit=4,
        personality_id=3,
        test_profile_id=5,
        number_mode="different_numbers",
        outbound_phone_number="+15550100",
        agent_number="+15550199",
        mock_tool_names=("lookup_order", "send_sms"),
        websocket_url="wss://agent.example/ws",
        websocket_headers=(("Authorization", "Bearer abc"),),
    )


def test_defaults_and_whitespace():
    run = run_policy("  folder_path: '  Sales.Inbound  '\n  project_id: 9\n  name: ' nightly '\n")
    assert (run.folder_path, run.name, run.mode) == ("Sales.Inbound", "nightly", "voice")
    assert run.mock_tool_names is None  # absent: the API mocks every tool
    assert (run.scenario_ids, run.tags, run.personality_ids) == ((), (), ())


def test_empty_mock_tool_names_is_kept_as_mock_none():
    assert run_policy("  scenario_ids: [1]\n  mock_tool_names: []\n").mock_tool_names == ()


def test_whole_number_floats_are_read_as_ids():
    run = run_policy("  agent_id: 12.0\n  scenario_ids: [101.0]\n")
    assert (run.agent_id, run.scenario_ids) == (12, (101,))
    assert isinstance(run.agent_id, int) and isinstance(run.scenario_ids[0], int)


def test_policy_without_run_section_has_no_run_settings():
    assert policy_from(RULES).run is None


@pytest.mark.parametrize(
    ("run", "problem"),
    [
        (RunSettings(), "no scenarios selected"),
        (RunSettings(agent_id=3, frequency=2), "no scenarios selected"),
        (RunSettings(folder_path="A.B"), "folder_path needs project_id"),
        (RunSettings(folder_path="A.B", project_id=1, tags=("x",)), "cannot be combined"),
        (RunSettings(folder_path="A.B", project_id=1, scenario_ids=(1,)), "cannot be combined"),
        (RunSettings(scenario_ids=(1,)), None),
        (RunSettings(tags=("x",)), None),
        (RunSettings(scenario_ids=(1,), tags=("x",)), None),
        (RunSettings(folder_path="A.B", project_id=1), None),
    ],
)
def test_selector_problem(run, problem):
    found = selector_problem(run)
    assert found == problem if problem is None else problem in (found or "")


# --------------------------------------------------------------------------- trigger request


@pytest.mark.parametrize(("mode", "path"), [("voice", VOICE), ("text", TEXT)])
def test_mode_picks_the_endpoint(mode, path):
    assert trigger_request(RunSettings(scenario_ids=(1,), mode=mode))[0] == path
    assert TRIGGER_PATHS[mode] == path


@pytest.mark.parametrize(
    ("run", "body"),
    [
        pytest.param(RunSettings(scenario_ids=(101, 202)), {"scenarios": [101, 202]}, id="ids"),
        pytest.param(RunSettings(tags=("smoke", "release")), {"tags": ["smoke", "release"]}),
        pytest.param(
            RunSettings(folder_path="Sales.Inbound", project_id=9),
            {"folder_path": "Sales.Inbound", "project_id": 9},
            id="folder",
        ),
        pytest.param(
            RunSettings(scenario_ids=(1,), mock_tool_names=()),
            {"scenarios": [1], "mock_tool_names": []},
            id="mock-none",
        ),
        pytest.param(
            RunSettings(scenario_ids=(1,), mock_tool_names=("a", "b")),
            {"scenarios": [1], "mock_tool_names": ["a", "b"]},
            id="mock-named",
        ),
        pytest.param(
            RunSettings(scenario_ids=(1,), websocket_headers=()),
            {"scenarios": [1]},
            id="empty-headers-omitted",
        ),
    ],
)
def test_body_holds_only_what_was_set(run, body):
    assert trigger_request(run)[1] == body


def test_body_of_every_field_uses_the_api_names():
    run = policy_from((VALID / "every-key.yaml").read_text(encoding="utf-8")).run
    assert run is not None
    path, body = trigger_request(run)
    assert path == VOICE
    assert body == {
        "agent_id": 12,
        "scenarios": [101, 202],
        "tags": ["smoke"],
        "frequency": 2,
        "name": "release check",
        "personality_ids": [3, 7],
        "test_profile_ids": [5],
        "concurrency_limit": 4,
        "personality_id": 3,
        "test_profile_id": 5,
        "mode": "different_numbers",  # number_mode is the API's own "mode"
        "outbound_phone_number": "+15550100",
        "agent_number": "+15550199",
        "mock_tool_names": ["lookup_order", "send_sms"],
        "websocket_url": "wss://agent.example/ws",
        "websocket_headers": {"Authorization": "Bearer abc"},
    }
    json.dumps(body)  # JSON-ready: lists and dicts, no tuples


def test_transport_mode_is_not_sent_as_the_api_mode():
    _, body = trigger_request(RunSettings(scenario_ids=(1,), mode="text"))
    assert "mode" not in body


def test_selector_override_replaces_every_policy_selector():
    policy = RunSettings(scenario_ids=(1,), tags=("smoke",), agent_id=3, frequency=2)
    run = with_overrides(policy, folder_path="A.B", project_id=7, tags=None)
    assert (run.scenario_ids, run.tags, run.folder_path, run.project_id) == ((), (), "A.B", 7)
    assert (run.agent_id, run.frequency) == (3, 2)  # the rest of the policy stays


def test_tags_override_drops_the_policy_folder():
    run = with_overrides(RunSettings(folder_path="A.B", project_id=7), tags=("nightly",))
    assert (run.tags, run.folder_path) == (("nightly",), None)


def test_non_selector_overrides_keep_the_policy_selectors():
    policy = RunSettings(tags=("smoke",), name="policy", mode="voice")
    run = with_overrides(policy, name="cli", mode="text", frequency=3, agent_id=None)
    assert run == RunSettings(tags=("smoke",), name="cli", mode="text", frequency=3)


def test_overrides_without_a_policy_section():
    assert with_overrides(None) == RunSettings()
    assert with_overrides(None, scenario_ids=(5, 6)).scenario_ids == (5, 6)


@pytest.mark.parametrize(
    ("name", "suffix", "label"),
    [
        (None, None, "cekura-gate"),
        ("release check", None, "release check"),
        (None, "PR #42, 0123abc", "cekura-gate (PR #42, 0123abc)"),
        ("release check", "MR !9, 1a2b3c4d", "release check (MR !9, 1a2b3c4d)"),
        ("nightly 0123abc", "0123abc", "nightly 0123abc"),  # not added twice
    ],
)
def test_labelled(name, suffix, label):
    assert labelled(name, suffix) == label


@pytest.mark.parametrize(
    ("env", "label"),
    [
        ({"GITHUB_SHA": "0123abcdef9876", "GITHUB_REF": "refs/pull/42/merge"}, "PR #42, 0123abc"),
        ({"GITHUB_SHA": "0123abcdef9876", "GITHUB_REF": "refs/heads/main"}, "0123abc"),
        ({}, None),
    ],
)
def test_github_label(env, label):
    found = github.detect(
        {"GITHUB_ACTIONS": "true", **env}, force=None, annotations_on=True, summary_on=True
    )
    assert found is not None and found.label == label


@pytest.mark.parametrize(
    ("env", "label"),
    [
        ({"CI_COMMIT_SHORT_SHA": "1a2b3c4d", "CI_MERGE_REQUEST_IID": "9"}, "MR !9, 1a2b3c4d"),
        ({"CI_COMMIT_SHORT_SHA": "1a2b3c4d"}, "1a2b3c4d"),
        ({}, None),
    ],
)
def test_gitlab_label(env, label):
    found = gitlab.detect({"GITLAB_CI": "true", **env}, force=None)
    assert found is not None and found.label == label


# --------------------------------------------------------------------------- post_once


def test_trigger_is_posted_once_as_json_with_the_key(no_network: respx.MockRouter) -> None:
    route = no_network.post(VOICE_URL).mock(return_value=created())
    client, clock, _ = make_client()
    assert client.start_run(VOICE, {"scenarios": [1], "name": "x"}) == 167
    assert route.call_count == 1
    request = route.calls[0].request
    assert sent_json(route) == {"scenarios": [1], "name": "x"}
    assert request.headers["X-CEKURA-API-KEY"] == KEY
    assert request.headers["Content-Type"] == "application/json"
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "refused",
    [
        pytest.param(httpx.ConnectError("refused"), id="connect-error"),
        pytest.param(httpx.ConnectTimeout("no answer to SYN"), id="connect-timeout"),
    ],
)
def test_connection_failure_before_sending_is_retried(
    no_network: respx.MockRouter, refused: Exception
) -> None:
    route = no_network.post(VOICE_URL).mock(side_effect=[refused, created(168)])
    client, clock, retries = make_client()
    assert client.start_run(VOICE, {"scenarios": [1]}) == 168
    assert route.call_count == 2
    assert sent_json(route, 0) == sent_json(route, 1) == {"scenarios": [1]}
    assert len(clock.sleeps) == 1 and clock.sleeps[0] > 0
    [retry] = retries
    assert retry.startswith(f"network error ({type(refused).__name__}); retrying in")
    assert "(attempt 2 of 7)" in retry


def test_connection_refused_every_time_gives_up_saying_nothing_was_sent(
    no_network: respx.MockRouter,
) -> None:
    route = no_network.post(VOICE_URL).mock(side_effect=httpx.ConnectError("refused"))
    client, clock, retries = make_client()
    with pytest.raises(ApiUnavailable) as caught:
        client.start_run(VOICE, {"scenarios": [1]})
    assert caught.value.message == (
        "starting the run: could not connect after 7 attempts (network error (ConnectError)); "
        "nothing was sent"
    )
    assert not isinstance(caught.value, OutcomeUnknown)
    assert route.call_count == 7
    assert len(clock.sleeps) == len(retries) == 6


@pytest.mark.parametrize(
    ("post", "budget"),
    [("trigger", TRIGGER_READ_TIMEOUT_S), ("end_calls", END_CALLS_READ_TIMEOUT_S)],
)
@pytest.mark.parametrize("connect_s", [0.0, 10.0], ids=["refused", "connect-timeout"])
def test_retries_of_a_connection_never_made_stay_within_the_posts_budget(
    no_network: respx.MockRouter, post: str, budget: float, connect_s: float
) -> None:
    """Backoff between attempts (up to 30 s each) must not stretch a 15 s end_calls, or the
    2-minute trigger, into minutes."""
    client, clock, _ = make_client()

    def unreachable(request: httpx.Request) -> httpx.Response:
        # A connect timeout uses up the time the request was given to connect.
        clock.now += min(connect_s, request.extensions["timeout"]["connect"])
        raise httpx.ConnectTimeout("no answer") if connect_s else httpx.ConnectError("refused")

    url = VOICE_URL if post == "trigger" else END_CALLS_URL
    no_network.post(url).mock(side_effect=unreachable)
    started = clock.now
    with pytest.raises(ApiUnavailable, match="nothing was sent"):
        if post == "trigger":
            client.start_run(VOICE, {"scenarios": [1]})
        else:
            client.end_calls(167)
    assert clock.now - started <= budget + 1.0  # a last attempt gets at least a second


AFTER_SENDING: list[Any] = [
    pytest.param(httpx.ReadTimeout("slow"), "ReadTimeout after the request was sent", id="read"),
    pytest.param(
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        "RemoteProtocolError after the request was sent",
        id="dropped",
    ),
    pytest.param(httpx.ReadError("reset"), "ReadError after the request was sent", id="reset"),
    pytest.param(httpx.WriteError("broken pipe"), "WriteError after the request was sent"),
    pytest.param(httpx.WriteTimeout("slow upload"), "WriteTimeout after the request was sent"),
    pytest.param(httpx.Response(500), "HTTP 500 from the API", id="500"),
    pytest.param(httpx.Response(502, text="<html>Bad Gateway</html>"), "HTTP 502", id="502"),
    pytest.param(httpx.Response(503), "HTTP 503 from the API", id="503"),
    pytest.param(httpx.Response(504), "HTTP 504 from the API", id="504"),
    pytest.param(httpx.Response(408), "HTTP 408 from the API", id="408"),
    pytest.param(
        httpx.Response(201, text='{"id": 16'), "HTTP 201 with a body that is not JSON", id="cut"
    ),
    pytest.param(
        httpx.Response(201, json={"result_id": 167}), "did not carry a result id", id="no-id"
    ),
    pytest.param(httpx.Response(201, json=[167]), "did not carry a result id", id="list"),
    pytest.param(httpx.Response(201, json={"id": True}), "did not carry a result id", id="bool"),
    pytest.param(httpx.Response(201, json={"id": "abc"}), "did not carry a result id", id="text"),
    pytest.param(httpx.Response(201, json={"id": None}), "did not carry a result id", id="null"),
    pytest.param(httpx.Response(204), "did not carry a result id", id="204-empty"),
]


@pytest.mark.parametrize(("failure", "message"), AFTER_SENDING)
def test_trigger_that_may_have_been_sent_is_never_retried(
    no_network: respx.MockRouter, failure: Any, message: str
) -> None:
    route = no_network.post(VOICE_URL).mock(side_effect=[failure, created(168)])
    client, clock, retries = make_client()
    with pytest.raises(OutcomeUnknown) as caught:
        client.start_run(VOICE, {"scenarios": [1]})
    assert caught.value.message.startswith("starting the run: ")
    assert message in caught.value.message
    assert route.call_count == 1  # a second POST could start (and bill) a second run
    assert clock.sleeps == [] and retries == []


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, 'starting the run: HTTP 400: {"scenarios":["Invalid pk \\"9\\"."]}'),
        (401, "the API key was rejected (HTTP 401)"),
        (403, "the API key was rejected (HTTP 403)"),
        (404, "starting the run: HTTP 404"),
        (429, "starting the run: HTTP 429"),
    ],
)
def test_trigger_refused_by_the_api_fails_at_once(
    no_network: respx.MockRouter, status: int, message: str
) -> None:
    # The body as the API sends it, bytes and all: httpx's own JSON encoder (json=) changed
    # its separators between releases, and what the gate quotes is the API's text.
    body = '{"scenarios":["Invalid pk \\"9\\"."]}' if status == 400 else '{"detail":"no"}'
    response = httpx.Response(status, text=body, headers={"Content-Type": "application/json"})
    route = no_network.post(VOICE_URL).mock(return_value=response)
    client, clock, _ = make_client()
    with pytest.raises(ApiRejected) as caught:
        client.start_run(VOICE, {"scenarios": [9]})
    assert caught.value.message.startswith(message)
    assert caught.value.status == status
    assert route.call_count == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    ("answer", "result_id"),
    [
        (created(167), 167),
        (httpx.Response(201, json={"id": "168"}), 168),  # a string id is still an id
        (httpx.Response(200, json={"id": 169, "agent": 3}), 169),  # any 2xx
    ],
)
def test_result_id_is_the_top_level_id(
    no_network: respx.MockRouter, answer: httpx.Response, result_id: int
) -> None:
    no_network.post(VOICE_URL).mock(return_value=answer)
    client, _, _ = make_client()
    assert client.start_run(VOICE, {"tags": ["smoke"]}) == result_id


def test_reference_trigger_response_gives_its_id(no_network: respx.MockRouter) -> None:
    example = json.loads((DATA / "payloads" / "trigger_run_scenarios_response.json").read_text())
    no_network.post(VOICE_URL).mock(return_value=httpx.Response(201, json=example))
    client, _, _ = make_client()
    assert client.start_run(VOICE, {"scenarios": [1]}) == example["id"]


def test_trigger_waits_longer_than_a_poll_for_the_answer(no_network: respx.MockRouter) -> None:
    route = no_network.post(VOICE_URL).mock(return_value=created())
    client, _, _ = make_client()
    client.start_run(VOICE, {"scenarios": [1]})
    assert read_timeout(route) == TRIGGER_READ_TIMEOUT_S


def test_legacy_host_triggers_on_the_external_path(no_network: respx.MockRouter) -> None:
    legacy = "https://new-prod.vocera.ai/test_framework/v1/scenarios-external/run_scenarios/"
    route = no_network.post(legacy).mock(return_value=created())
    client, _, _ = make_client(settings_for("https://new-prod.vocera.ai"))
    assert client.start_run(VOICE, {"scenarios": [1]}) == 167
    assert route.calls[0].request.headers["X-VOCERA-API-KEY"] == KEY


def test_key_echoed_in_a_refusal_is_redacted(no_network: respx.MockRouter) -> None:
    echo = httpx.Response(400, json={"detail": "bad", "headers": {"x-cekura-api-key": KEY}})
    no_network.post(VOICE_URL).mock(return_value=echo)
    client, _, _ = make_client()
    with pytest.raises(ApiRejected) as caught:
        client.start_run(VOICE, {"scenarios": [1]})
    assert KEY not in caught.value.message and "[redacted]" in caught.value.message


def test_key_echoed_in_the_trigger_answer_is_redacted(no_network: respx.MockRouter) -> None:
    answer = httpx.Response(201, json={"id": 167, "name": f"run by {KEY}"})
    no_network.post(VOICE_URL).mock(return_value=answer)
    client, _, _ = make_client()
    path = client.settings.trigger_path(VOICE)
    assert client.post_once(path, {}, what="x") == {"id": 167, "name": "run by [redacted]"}


# --------------------------------------------------------------------------- end_calls


@pytest.mark.parametrize("api_version", [1, 2])
def test_end_calls_posts_an_empty_body_to_the_v1_action(
    no_network: respx.MockRouter, api_version: int
) -> None:
    route = no_network.post(END_CALLS_URL).mock(return_value=httpx.Response(200))
    client, _, _ = make_client(settings_for(api_version=api_version))
    client.end_calls(167)
    assert route.call_count == 1
    assert sent_json(route) == {}


def test_end_calls_on_a_legacy_host(no_network: respx.MockRouter) -> None:
    url = "https://new-prod.vocera.ai/test_framework/v1/results-external/167/end_calls/"
    route = no_network.post(url).mock(return_value=httpx.Response(200, json={}))
    client, _, _ = make_client(settings_for("https://new-prod.vocera.ai"))
    client.end_calls(167)
    assert route.call_count == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(503), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")],
    ids=["503", "read-timeout", "dropped"],
)
def test_end_calls_that_may_have_arrived_is_sent_once(
    no_network: respx.MockRouter, failure: Any
) -> None:
    route = no_network.post(END_CALLS_URL).mock(side_effect=[failure, httpx.Response(200)])
    client, _, _ = make_client()
    with pytest.raises(OutcomeUnknown, match=r"^ending the calls: "):
        client.end_calls(167)
    assert route.call_count == 1


def test_end_calls_refused_connection_is_retried(no_network: respx.MockRouter) -> None:
    route = no_network.post(END_CALLS_URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200)]
    )
    client, _, _ = make_client()
    client.end_calls(167)
    assert route.call_count == 2


def test_end_calls_uses_its_own_short_read_timeout(no_network: respx.MockRouter) -> None:
    route = no_network.post(END_CALLS_URL).mock(return_value=httpx.Response(200))
    client, _, _ = make_client()
    client.end_calls(167)
    assert read_timeout(route) == END_CALLS_READ_TIMEOUT_S


# --------------------------------------------------------------------------- share links


def test_share_link_posts_the_expiry_and_returns_the_link(no_network: respx.MockRouter) -> None:
    answer = httpx.Response(200, json={"token": "abc123", "shareable_link": f"  {LINK}\n"})
    route = no_network.post(SHARE_URL).mock(return_value=answer)
    client, _, _ = make_client()
    assert client.create_share_link(167, "2026-11-29T10:00:00+00:00") == LINK
    assert sent_json(route) == {"expire_at": "2026-11-29T10:00:00+00:00"}


def test_reference_share_link_response(no_network: respx.MockRouter) -> None:
    example = json.loads((DATA / "payloads" / "shareable_link_response.json").read_text())
    no_network.post(SHARE_URL).mock(return_value=httpx.Response(200, json=example))
    client, _, _ = make_client()
    assert (
        client.create_share_link(167, "2026-11-29T10:00:00+00:00")
        == example["shareable_link"].strip()
    )


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"token": "abc123"}),
        httpx.Response(200, json={"token": "abc123", "shareable_link": "  "}),
        httpx.Response(200, json={"shareable_link": 5}),
        httpx.Response(200, json=[LINK]),
        httpx.Response(204),
    ],
    ids=["no-link", "blank-link", "number", "list", "empty"],
)
def test_share_link_answer_without_a_link_is_an_api_error(
    no_network: respx.MockRouter, answer: httpx.Response
) -> None:
    route = no_network.post(SHARE_URL).mock(return_value=answer)
    client, _, _ = make_client()
    with pytest.raises(ApiError, match="the response had no shareable_link"):
        client.create_share_link(167, "2026-11-29T10:00:00+00:00")
    assert route.call_count == 1


def test_share_link_server_error_is_not_retried(no_network: respx.MockRouter) -> None:
    route = no_network.post(SHARE_URL).mock(return_value=httpx.Response(500))
    client, _, _ = make_client()
    with pytest.raises(ApiError, match=r"^creating a share link: HTTP 500"):
        client.create_share_link(167, "2026-11-29T10:00:00+00:00")
    assert route.call_count == 1


# --------------------------------------------------------------------------- the CLI, in process


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CI detected, no API settings from the machine, a known key."""
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "CEKURA_API_URL", "CEKURA_DASHBOARD_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CEKURA_API_KEY", KEY)
    monkeypatch.setenv("NO_COLOR", "1")


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("cekura-gate: error: ")]


def squash(text: str) -> str:
    """Runs of whitespace as one space, as the error line prints a message (on one line)."""
    return " ".join(text.split())


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("path", cases(INVALID))
def test_validate_rejects_an_invalid_run_section_with_exit_2(path, capsys):
    assert main(["validate", "--policy", str(path)]) == 2
    captured = capsys.readouterr()
    expected = headers(path)["error"].replace("gate.yaml", str(path), 1)
    assert error_lines(captured.err) == [squash(f"cekura-gate: error: {expected}")]
    assert captured.out == ""


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("path", cases(INVALID))
def test_run_rejects_an_invalid_run_section_before_any_request(path, capsys, tmp_path):
    # The strict respx router fails the test on any request; none is routed.
    report = tmp_path / "verdict.json"
    code = main(["run", "--policy", str(path), "--api-url", BASE, "--json", str(report)])
    captured = capsys.readouterr()
    expected = headers(path)["error"].replace("gate.yaml", str(path), 1)
    assert code == 2
    assert error_lines(captured.err) == [squash(f"cekura-gate: error: {expected}")]
    document = json.loads(report.read_text(encoding="utf-8"))
    assert (document["verdict"], document["error"]) == ("error", expected)


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("policy", "flags", "message"),
    [
        pytest.param(
            RULES,
            [],
            "run: no scenarios selected; set scenario_ids, tags, or folder_path with project_id "
            "(in the policy's run: section, or with --scenario-ids, --tags or --folder-path)",
            id="no-section-no-flags",
        ),
        pytest.param(
            RULES, ["--folder-path", "Sales.Inbound"], "run: folder_path needs project_id", id="f"
        ),
        pytest.param(
            RULES + "run:\n  tags: [smoke]\n",
            ["--scenario-ids", ","],  # an empty list replaces the policy's selectors
            "run: no scenarios selected",
            id="empty-ids-flag",
        ),
    ],
)
def test_run_without_a_usable_selector_is_a_usage_error(
    policy: str, flags: list[str], message: str, capsys, tmp_path
) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(policy, encoding="utf-8")
    assert main(["run", "--policy", str(path), "--api-url", BASE, *flags]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith(f"cekura-gate: error: {message}")


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    "flags",
    [
        ["--scenario-ids", "1,0"],
        ["--scenario-ids", "1,x"],
        ["--agent-id", "-3"],
        ["--frequency", "0"],
        ["--mode", "sms"],
        ["--share-link-days", "0"],
        ["--tags", ","],
    ],
    ids=lambda flags: " ".join(flags),
)
def test_bad_run_flags_are_usage_errors(flags: list[str], capsys, tmp_path) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(RULES + "run:\n  scenario_ids: [1]\n", encoding="utf-8")
    assert main(["run", "--policy", str(path), "--api-url", BASE, *flags]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert flags[0] in line
