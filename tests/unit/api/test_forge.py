"""The forge client (gate/api/forge.py) against respx routes: finding the marked comment,
pages, create or edit, the headers, and every way a post fails: one ``CommentNotPosted``
whose message never holds the token."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from gate.api import forge
from gate.api.forge import Thread, find_marker, github_thread, gitlab_thread, next_link, upsert
from gate.errors import CommentNotPosted

TOKEN = "ghs_unitTestToken0123456789abcdefABCD"
GL_TOKEN = "glpat-unitTestToken01234567"
MARK = "<!-- cekura-gate:comment policy=gate.yaml -->"
API = "https://api.github.com"
LIST = f"{API}/repos/acme/bot/issues/12/comments"
EDIT = f"{API}/repos/acme/bot/issues/comments/{{id}}"
GL_API = "https://gitlab.example.com/api/v4"
GL_NOTES = f"{GL_API}/projects/7/merge_requests/5/notes"


def github(**variables: str) -> Thread:
    return github_thread(
        api_url=API,
        repository="acme/bot",
        number=12,
        token=TOKEN,
        token_variable="GITHUB_TOKEN",
        variables=variables,
    )


def gitlab() -> Thread:
    return gitlab_thread(
        api_url=GL_API,
        project_id="7",
        iid=5,
        token=GL_TOKEN,
        token_variable="CEKURA_GATE_GITLAB_TOKEN",
        variables={},
    )


def ours(comment_id: int, body: str = "old") -> dict[str, Any]:
    return {"id": comment_id, "body": f"{MARK}\n{body}"}


def posted_body(route: respx.Route, index: int = -1) -> str:
    body: str = json.loads(route.calls[index].request.content)["body"]
    return body


def no_sleep(seconds: float) -> None:
    pass


# --------------------------------------------------------------------------- pure parts


def test_the_marker_must_be_the_first_line():
    comments = [
        {"id": 1, "body": f"I quote it:\n{MARK}"},
        {"id": 2, "body": f"{MARK}\r\nthe verdict"},
        {"id": 3, "body": f"{MARK}\nanother"},
    ]
    assert find_marker(comments, MARK) == 2


@pytest.mark.parametrize(
    "comments",
    [
        None,
        {"id": 1, "body": MARK},
        [{"id": 1, "body": MARK, "system": True}],  # a GitLab system note
        [{"id": "1", "body": MARK}, {"body": MARK}, {"id": 2, "body": None}, "text"],
        [{"id": 1, "body": MARK.replace("gate.yaml", "other.yaml")}],
    ],
)
def test_nothing_else_is_taken_for_our_comment(comments):
    assert find_marker(comments, MARK) is None


@pytest.mark.parametrize(
    ("header", "url"),
    [
        (
            '<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"',
            "https://a/x?page=2",
        ),
        (
            '<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel="next"',
            "https://a/x?page=3",
        ),
        ("<https://a/x?page=2>; rel=next", "https://a/x?page=2"),
        ('<https://a/x?page=1>; rel="first"', None),
        ("", None),
    ],
)
def test_the_next_link_is_read_from_the_link_header(header, url):
    assert next_link(header) == url


def test_the_thread_hides_its_token_from_repr():
    thread = github()
    assert TOKEN not in repr(thread)
    assert thread.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("token", "said"),
    [("", "no token: GITHUB_TOKEN is not set"), ("short", "does not hold a usable token")],
)
def test_a_missing_or_unusable_token_is_refused_before_any_request(token, said):
    with pytest.raises(CommentNotPosted, match=said):
        github_thread(
            api_url=API,
            repository="acme/bot",
            number=1,
            token=token,
            token_variable="GITHUB_TOKEN",
            variables={},
        )


@pytest.mark.parametrize("url", ["http://api.github.example", "ftp://x", "not a url"])
def test_the_token_goes_only_over_https_or_to_this_machine(url):
    with pytest.raises(CommentNotPosted):
        github_thread(
            api_url=url,
            repository="acme/bot",
            number=1,
            token=TOKEN,
            token_variable="GITHUB_TOKEN",
            variables={},
        )
    local = github_thread(
        api_url="http://127.0.0.1:9/",
        repository="acme/bot",
        number=1,
        token=TOKEN,
        token_variable="GITHUB_TOKEN",
        variables={},
    )
    assert local.api_url == "http://127.0.0.1:9"


def test_a_repository_that_is_not_owner_slash_name_is_refused():
    with pytest.raises(CommentNotPosted, match="owner/name"):
        github_thread(
            api_url=API,
            repository="acme/bot/../x",
            number=1,
            token=TOKEN,
            token_variable="GITHUB_TOKEN",
            variables={},
        )


# --------------------------------------------------------------------------- create or edit


def test_no_comment_yet_creates_one(no_network: respx.MockRouter):
    listing = no_network.get(LIST).mock(return_value=httpx.Response(200, json=[]))
    create = no_network.post(LIST).mock(
        return_value=httpx.Response(201, json={"id": 9, "html_url": "https://github.com/c/9"})
    )
    posted = upsert(github(), MARK, f"{MARK}\nnew")
    assert (posted.action, posted.comment_id, posted.url) == (
        "created",
        9,
        "https://github.com/c/9",
    )
    assert listing.calls.last.request.url.params["per_page"] == "100"
    assert posted_body(create) == f"{MARK}\nnew"
    headers = create.calls.last.request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["X-GitHub-Api-Version"] and headers["User-Agent"].startswith("cekura-gate/")


def test_our_comment_on_a_later_page_is_edited(no_network: respx.MockRouter):
    page2 = f"{LIST}?per_page=100&page=2"
    no_network.get(page2).mock(return_value=httpx.Response(200, json=[ours(42)]))
    no_network.get(LIST).mock(
        return_value=httpx.Response(
            200, json=[{"id": 1, "body": "LGTM"}], headers={"Link": f'<{page2}>; rel="next"'}
        )
    )
    edit = no_network.patch(EDIT.format(id=42)).mock(
        return_value=httpx.Response(200, json={"id": 42})
    )
    posted = upsert(github(), MARK, f"{MARK}\nnew")
    assert (posted.action, posted.comment_id) == ("updated", 42)
    assert posted_body(edit) == f"{MARK}\nnew"


def test_gitlab_notes_are_edited_with_put_and_the_private_token(no_network: respx.MockRouter):
    listing = no_network.get(GL_NOTES).mock(return_value=httpx.Response(200, json=[ours(3)]))
    edit = no_network.put(f"{GL_NOTES}/3").mock(return_value=httpx.Response(200, json={"id": 3}))
    posted = upsert(gitlab(), MARK, f"{MARK}\nnew")
    assert (posted.action, posted.comment_id) == ("updated", 3)
    assert edit.calls.last.request.headers["PRIVATE-TOKEN"] == GL_TOKEN
    assert "Authorization" not in edit.calls.last.request.headers
    assert listing.calls.last.request.url.params["sort"] == "asc"


def test_a_next_page_on_another_host_is_not_followed(no_network: respx.MockRouter):
    elsewhere = no_network.get("https://evil.example/steal").mock(return_value=httpx.Response(200))
    no_network.get(LIST).mock(
        return_value=httpx.Response(
            200, json=[], headers={"Link": '<https://evil.example/steal>; rel="next"'}
        )
    )
    with pytest.raises(CommentNotPosted, match="next page elsewhere"):
        upsert(github(), MARK, "body")
    assert not elsewhere.called


def test_pages_are_capped_and_nothing_is_posted_past_the_cap(no_network: respx.MockRouter):
    link = {"Link": f'<{LIST}?page=2>; rel="next"'}
    listing = no_network.get(url__startswith=LIST).mock(
        return_value=httpx.Response(200, json=[], headers=link)
    )
    create = no_network.post(LIST).mock(return_value=httpx.Response(201, json={"id": 1}))
    with pytest.raises(CommentNotPosted, match="more than 2000 comments"):
        upsert(github(), MARK, "body")
    assert listing.call_count == forge.MAX_PAGES
    assert not create.called


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (401, "401 .*not accepted"),
        (403, "403 \\(Resource not accessible by integration\\).*fork.*pull-requests: write"),
        (404, "404 .*pull request #12 was not found"),
        (422, "422 \\(Resource not accessible by integration\\)$"),
    ],
)
def test_a_refused_create_says_why(no_network: respx.MockRouter, status, said):
    no_network.get(LIST).mock(return_value=httpx.Response(200, json=[]))
    refusal = {"message": "Resource not accessible by integration"}
    create = no_network.post(LIST).mock(return_value=httpx.Response(status, json=refusal))
    with pytest.raises(CommentNotPosted, match=said):
        upsert(github(), MARK, "body")
    assert create.call_count == 1


def test_an_echoed_token_never_reaches_the_message(no_network: respx.MockRouter):
    echo = {"message": f"bad header Authorization: Bearer {TOKEN} for {TOKEN}"}
    no_network.get(LIST).mock(return_value=httpx.Response(400, json=echo))
    with pytest.raises(CommentNotPosted) as raised:
        upsert(github(), MARK, "body")
    assert TOKEN not in raised.value.message and TOKEN not in str(raised.value)
    assert "[redacted]" in raised.value.message
    assert raised.value.__cause__ is None


def test_a_busy_read_is_tried_once_more(no_network: respx.MockRouter):
    listing = no_network.get(LIST).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=[ours(5)])]
    )
    no_network.patch(EDIT.format(id=5)).mock(return_value=httpx.Response(200, json={"id": 5}))
    assert upsert(github(), MARK, "body", sleep=no_sleep).action == "updated"
    assert listing.call_count == 2


def test_a_read_busy_twice_gives_up(no_network: respx.MockRouter):
    listing = no_network.get(LIST).mock(return_value=httpx.Response(429))
    with pytest.raises(CommentNotPosted, match="GitHub answered 429"):
        upsert(github(), MARK, "body", sleep=no_sleep)
    assert listing.call_count == 2


def test_a_create_that_failed_is_never_sent_again(no_network: respx.MockRouter):
    no_network.get(LIST).mock(return_value=httpx.Response(200, json=[]))
    create = no_network.post(LIST).mock(return_value=httpx.Response(502))
    with pytest.raises(CommentNotPosted, match="502"):
        upsert(github(), MARK, "body", sleep=no_sleep)
    assert create.call_count == 1


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (httpx.ConnectError("refused"), "cannot reach GitHub at api.github.com"),
        (httpx.ReadTimeout("slow"), "did not answer in time"),
    ],
)
def test_network_errors_and_timeouts_are_one_message(no_network: respx.MockRouter, error, said):
    no_network.get(LIST).mock(side_effect=error)
    with pytest.raises(CommentNotPosted, match=said):
        upsert(github(), MARK, "body", sleep=no_sleep)


def test_an_answer_that_is_not_json_is_one_message(no_network: respx.MockRouter):
    no_network.get(LIST).mock(return_value=httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(CommentNotPosted, match="without JSON"):
        upsert(github(), MARK, "body")


def test_the_deadline_covers_the_whole_exchange(no_network: respx.MockRouter):
    """A clock past the budget after the listing: the edit is never sent."""
    listing = no_network.get(LIST).mock(return_value=httpx.Response(200, json=[ours(5)]))
    edit = no_network.patch(EDIT.format(id=5)).mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(CommentNotPosted, match="did not answer"):
        upsert(github(), MARK, "body", clock=lambda: 100.0 if listing.called else 0.0)
    assert not edit.called


def test_a_worker_that_hangs_is_abandoned_after_the_budget(no_network: respx.MockRouter):
    import threading

    release = threading.Event()

    def hang(request: httpx.Request) -> httpx.Response:
        release.wait(5)
        return httpx.Response(200, json=[])

    no_network.get(LIST).mock(side_effect=hang)
    try:
        with pytest.raises(CommentNotPosted, match="did not answer within 0s"):
            upsert(github(), MARK, "body", budget_s=0.1)
    finally:
        release.set()


def test_a_cancelled_job_stops_waiting(no_network: respx.MockRouter):
    import threading

    release = threading.Event()

    def hang(request: httpx.Request) -> httpx.Response:
        release.wait(5)
        return httpx.Response(200, json=[])

    no_network.get(LIST).mock(side_effect=hang)
    try:
        with pytest.raises(CommentNotPosted, match="being stopped"):
            upsert(github(), MARK, "body", cancelled=lambda: True)
    finally:
        release.set()
