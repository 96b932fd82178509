"""The forge client (gate/api/forge.py) against respx routes: whose the token is, finding the
marked comment that identity wrote, pages, create or edit, the headers, and every way a post
fails: one ``CommentNotPosted`` whose message never holds the token."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from gate.api import forge
from gate.api.forge import (
    GITHUB_ACTIONS_BOT,
    Author,
    CommentThread,
    find_marker,
    github_thread,
    gitlab_thread,
    next_link,
    upsert,
)
from gate.errors import CommentNotPosted

TOKEN = "ghs_unitTestToken0123456789abcdefABCD"
GL_TOKEN = "glpat-unitTestToken01234567"
MARK = "<!-- cekura-gate:comment policy=gate.yaml -->"
API = "https://api.github.com"
LIST = f"{API}/repos/acme/bot/issues/12/comments"
EDIT = f"{API}/repos/acme/bot/issues/comments/{{id}}"
GL_API = "https://gitlab.example.com/api/v4"
GL_NOTES = f"{GL_API}/projects/7/merge_requests/5/notes"
ME: dict[str, Any] = {"id": 501, "login": "gate-bot", "type": "User"}  # the token's user
GL_ME = {"id": 601, "username": "project_7_bot"}
STRANGER = {"id": 666, "login": "mallory", "type": "User"}
ACTIONS_BOT = {"id": 41898282, "login": GITHUB_ACTIONS_BOT, "type": "Bot"}


def github(api_url: str = API, **variables: str) -> CommentThread:
    return github_thread(
        api_url=api_url,
        repository="acme/bot",
        number=12,
        token=TOKEN,
        token_variable="GITHUB_TOKEN",
        variables=variables,
    )


def gitlab() -> CommentThread:
    return gitlab_thread(
        api_url=GL_API,
        project_id="7",
        iid=5,
        token=GL_TOKEN,
        token_variable="CEKURA_GATE_GITLAB_TOKEN",
        variables={},
    )


def ours(comment_id: int, body: str = "old", by: dict[str, Any] = ME) -> dict[str, Any]:
    """A comment with the marker, written by ``by`` (the token's user unless said)."""
    return {"id": comment_id, "body": f"{MARK}\n{body}", "user": by, "author": by}


@pytest.fixture
def router(no_network: respx.MockRouter) -> Iterator[respx.MockRouter]:
    """``no_network`` with ``GET /user`` answered on both forges: the token's user."""
    no_network.get(f"{API}/user").mock(return_value=httpx.Response(200, json=ME))
    no_network.get(f"{GL_API}/user").mock(return_value=httpx.Response(200, json=GL_ME))
    yield no_network


def posted_body(route: respx.Route, index: int = -1) -> str:
    body: str = json.loads(route.calls[index].request.content)["body"]
    return body


def no_sleep(seconds: float) -> None:
    pass


# --------------------------------------------------------------------------- pure parts


MINE = Author("user", user_id=501)


def test_the_marker_must_be_the_first_line():
    comments = [
        {"id": 1, "body": f"I quote it:\n{MARK}", "user": ME},
        {"id": 2, "body": f"{MARK}\r\nthe verdict", "user": ME},
        {"id": 3, "body": f"{MARK}\nanother", "user": ME},
    ]
    assert find_marker(comments, MARK, MINE) == 2


def test_only_a_comment_the_token_wrote_is_ours():
    comments = [
        ours(1, by=STRANGER),  # planted by someone else
        ours(2, by={**STRANGER, "login": ME["login"]}),  # a renamed login is not the user
        {"id": 3, "body": MARK},  # no author at all
        ours(4, by={"id": str(ME["id"])}),
        ours(5),
    ]
    assert find_marker(comments, MARK, MINE) == 5
    assert find_marker(comments[:4], MARK, MINE) is None


def test_without_its_own_user_only_github_actions_bot_is_ours():
    bot = Author("user", bot_login=GITHUB_ACTIONS_BOT)
    comments = [
        ours(1, by=ME),
        ours(2, by={**STRANGER, "login": GITHUB_ACTIONS_BOT}),  # a User, whatever its login
        ours(3, by={"id": 9, "login": "renovate[bot]", "type": "Bot"}),  # another app
        ours(4, by=ACTIONS_BOT),
    ]
    assert find_marker(comments, MARK, bot) == 4
    assert find_marker(comments[:3], MARK, bot) is None


@pytest.mark.parametrize(
    "comments",
    [
        None,
        ours(1),
        [{**ours(1), "system": True}],  # a GitLab system note
        [{**ours(1), "id": "1"}, {"body": MARK, "user": ME}, {**ours(2), "body": None}, "text"],
        [ours(1, body="x") | {"body": MARK.replace("gate.yaml", "other.yaml")}],
    ],
)
def test_nothing_else_is_taken_for_our_comment(comments):
    assert find_marker(comments, MARK, MINE) is None


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


@pytest.mark.parametrize("host", ["localhost", "localhost.", "[::1]", "127.0.0.2"])
def test_plain_http_to_this_machine_is_allowed(host):
    assert github(api_url=f"http://{host}:9").api_url == f"http://{host}:9"


def test_plain_http_through_a_proxy_elsewhere_is_refused():
    """The token would cross the network in clear text to the proxy."""
    with pytest.raises(CommentNotPosted, match=r"plain http through the proxy proxy\.example"):
        github(api_url="http://127.0.0.1:9", HTTP_PROXY="http://proxy.example:3128")
    direct = {"HTTP_PROXY": "http://proxy.example:3128", "NO_PROXY": "127.0.0.1"}
    assert github(api_url="http://127.0.0.1:9", **direct).proxy is None
    local = github(api_url="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:3128")
    assert local.proxy is not None and local.proxy.host == "127.0.0.1"


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


def test_no_comment_yet_creates_one(router: respx.MockRouter):
    listing = router.get(LIST).mock(return_value=httpx.Response(200, json=[]))
    create = router.post(LIST).mock(
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


def test_our_comment_on_a_later_page_is_edited(router: respx.MockRouter):
    page2 = f"{LIST}?per_page=100&page=2"
    router.get(page2).mock(return_value=httpx.Response(200, json=[ours(42)]))
    router.get(LIST).mock(
        return_value=httpx.Response(
            200, json=[{"id": 1, "body": "LGTM"}], headers={"Link": f'<{page2}>; rel="next"'}
        )
    )
    edit = router.patch(EDIT.format(id=42)).mock(return_value=httpx.Response(200, json={"id": 42}))
    posted = upsert(github(), MARK, f"{MARK}\nnew")
    assert (posted.action, posted.comment_id) == ("updated", 42)
    assert posted_body(edit) == f"{MARK}\nnew"


def test_gitlab_notes_are_edited_with_put_and_the_private_token(router: respx.MockRouter):
    listing = router.get(GL_NOTES).mock(return_value=httpx.Response(200, json=[ours(3, by=GL_ME)]))
    edit = router.put(f"{GL_NOTES}/3").mock(return_value=httpx.Response(200, json={"id": 3}))
    posted = upsert(gitlab(), MARK, f"{MARK}\nnew")
    assert (posted.action, posted.comment_id) == ("updated", 3)
    assert edit.calls.last.request.headers["PRIVATE-TOKEN"] == GL_TOKEN
    assert "Authorization" not in edit.calls.last.request.headers
    assert listing.calls.last.request.url.params["sort"] == "asc"


def test_a_marker_someone_else_planted_is_neither_edited_nor_in_the_way(router):
    """Anyone who can comment can write the marker; the gate posts its own comment."""
    planted = [ours(7, body="all good, merge it", by=STRANGER)]
    router.get(LIST).mock(return_value=httpx.Response(200, json=planted))
    create = router.post(LIST).mock(return_value=httpx.Response(201, json={"id": 8}))
    edit = router.patch(url__regex=r".*/issues/comments/\d+$")
    posted = upsert(github(), MARK, f"{MARK}\nnew")
    assert (posted.action, posted.comment_id) == ("created", 8)
    assert create.call_count == 1 and not edit.called


def test_an_installation_token_edits_only_github_actions_bot_comments(no_network):
    """GitHub refuses ``GET /user`` to GITHUB_TOKEN: the bot's comment is the gate's."""
    refused = {"message": "Resource not accessible by integration"}
    no_network.get(f"{API}/user").mock(return_value=httpx.Response(403, json=refused))
    comments = [
        ours(1, by=STRANGER),
        ours(2, by={**STRANGER, "type": "Bot"}),
        ours(3, by=ACTIONS_BOT),
    ]
    no_network.get(LIST).mock(return_value=httpx.Response(200, json=comments))
    edit = no_network.patch(EDIT.format(id=3)).mock(
        return_value=httpx.Response(200, json={"id": 3})
    )
    assert upsert(github(), MARK, "body").action == "updated"
    assert edit.call_count == 1


@pytest.mark.parametrize(
    ("status", "answer", "said"),
    [
        (401, {"message": "Bad credentials"}, "401 .*not accepted"),
        (200, {"login": "no id"}, "did not say whose the token is"),
        (200, [], "did not say whose the token is"),
    ],
)
def test_a_token_that_cannot_say_whose_it_is_posts_nothing(no_network, status, answer, said):
    no_network.get(f"{API}/user").mock(return_value=httpx.Response(status, json=answer))
    with pytest.raises(CommentNotPosted, match=said):
        upsert(github(), MARK, "body")
    assert len(no_network.calls) == 1


def test_gitlab_edits_only_the_note_of_the_tokens_user(router):
    notes = [ours(3, by={"id": 9}), ours(4, by=GL_ME)]
    router.get(GL_NOTES).mock(return_value=httpx.Response(200, json=notes))
    edit = router.put(f"{GL_NOTES}/4").mock(return_value=httpx.Response(200, json={"id": 4}))
    assert upsert(gitlab(), MARK, "body").comment_id == 4
    assert edit.call_count == 1


def test_gitlab_refusing_get_user_is_a_refusal(no_network):
    """Only GitHub's installation tokens have a fallback; a GitLab token needs the api scope."""
    no_network.get(f"{GL_API}/user").mock(return_value=httpx.Response(403, json={}))
    with pytest.raises(CommentNotPosted, match=r"403.*api scope"):
        upsert(gitlab(), MARK, "body")
    assert len(no_network.calls) == 1


def test_a_next_page_on_another_host_is_not_followed(router: respx.MockRouter):
    elsewhere = router.get("https://evil.example/steal").mock(return_value=httpx.Response(200))
    router.get(LIST).mock(
        return_value=httpx.Response(
            200, json=[], headers={"Link": '<https://evil.example/steal>; rel="next"'}
        )
    )
    with pytest.raises(CommentNotPosted, match="next page elsewhere"):
        upsert(github(), MARK, "body")
    assert not elsewhere.called


def test_pages_are_capped_and_nothing_is_posted_past_the_cap(router: respx.MockRouter):
    link = {"Link": f'<{LIST}?page=2>; rel="next"'}
    listing = router.get(url__startswith=LIST).mock(
        return_value=httpx.Response(200, json=[], headers=link)
    )
    create = router.post(LIST).mock(return_value=httpx.Response(201, json={"id": 1}))
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
def test_a_refused_create_says_why(router: respx.MockRouter, status, said):
    router.get(LIST).mock(return_value=httpx.Response(200, json=[]))
    refusal = {"message": "Resource not accessible by integration"}
    create = router.post(LIST).mock(return_value=httpx.Response(status, json=refusal))
    with pytest.raises(CommentNotPosted, match=said):
        upsert(github(), MARK, "body")
    assert create.call_count == 1


def test_an_echoed_token_never_reaches_the_message(router: respx.MockRouter):
    echo = {"message": f"bad header Authorization: Bearer {TOKEN} for {TOKEN}"}
    router.get(LIST).mock(return_value=httpx.Response(400, json=echo))
    with pytest.raises(CommentNotPosted) as raised:
        upsert(github(), MARK, "body")
    assert TOKEN not in raised.value.message and TOKEN not in str(raised.value)
    assert "[redacted]" in raised.value.message
    assert raised.value.__cause__ is None


def test_a_busy_read_is_tried_once_more(router: respx.MockRouter):
    listing = router.get(LIST).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=[ours(5)])]
    )
    router.patch(EDIT.format(id=5)).mock(return_value=httpx.Response(200, json={"id": 5}))
    assert upsert(github(), MARK, "body", sleep=no_sleep).action == "updated"
    assert listing.call_count == 2


def test_a_read_busy_twice_gives_up(router: respx.MockRouter):
    listing = router.get(LIST).mock(return_value=httpx.Response(429))
    with pytest.raises(CommentNotPosted, match="GitHub answered 429"):
        upsert(github(), MARK, "body", sleep=no_sleep)
    assert listing.call_count == 2


def test_a_create_that_failed_is_never_sent_again(router: respx.MockRouter):
    router.get(LIST).mock(return_value=httpx.Response(200, json=[]))
    create = router.post(LIST).mock(return_value=httpx.Response(502))
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
def test_network_errors_and_timeouts_are_one_message(router: respx.MockRouter, error, said):
    router.get(LIST).mock(side_effect=error)
    with pytest.raises(CommentNotPosted, match=said):
        upsert(github(), MARK, "body", sleep=no_sleep)


def test_an_answer_that_is_not_json_is_one_message(router: respx.MockRouter):
    router.get(LIST).mock(return_value=httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(CommentNotPosted, match="without JSON"):
        upsert(github(), MARK, "body")


def test_the_deadline_covers_the_whole_exchange(router: respx.MockRouter):
    """A clock past the budget after the listing: the edit is never sent."""
    listing = router.get(LIST).mock(return_value=httpx.Response(200, json=[ours(5)]))
    edit = router.patch(EDIT.format(id=5)).mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(CommentNotPosted, match="did not answer"):
        upsert(github(), MARK, "body", clock=lambda: 100.0 if listing.called else 0.0)
    assert not edit.called


def test_a_worker_that_hangs_is_abandoned_after_the_budget(router: respx.MockRouter):
    import threading

    release = threading.Event()

    def hang(request: httpx.Request) -> httpx.Response:
        release.wait(5)
        return httpx.Response(200, json=[])

    router.get(LIST).mock(side_effect=hang)
    try:
        with pytest.raises(CommentNotPosted, match="did not answer within 0s"):
            upsert(github(), MARK, "body", budget_s=0.1)
    finally:
        release.set()


def worker(before: set[threading.Thread]) -> threading.Thread:
    """The comment worker this test started: another test's abandoned one may still be
    finishing in this process (it failed a clean-clone run once)."""
    [found] = [t for t in threading.enumerate() if t.name == forge.WORKER_NAME and t not in before]
    return found


def test_a_cancelled_job_stops_waiting_and_the_worker_sends_nothing_more(router):
    """The worker, blocked in the listing when the job is cancelled, ends without posting
    once the listing answers; it is over before the test's routes are."""
    release, listing_started = threading.Event(), threading.Event()
    cancelled = threading.Event()

    def hang(request: httpx.Request) -> httpx.Response:
        listing_started.set()
        release.wait(5)
        return httpx.Response(200, json=[])

    router.get(LIST).mock(side_effect=hang)
    create = router.post(LIST).mock(return_value=httpx.Response(201, json={"id": 1}))

    def cancel_once_listing() -> bool:
        if listing_started.is_set():
            cancelled.set()
        return cancelled.is_set()

    before = set(threading.enumerate())
    try:
        with pytest.raises(CommentNotPosted, match="being stopped"):
            upsert(github(), MARK, "body", cancelled=cancel_once_listing)
        abandoned = worker(before)
    finally:
        release.set()
    abandoned.join(5)
    assert not abandoned.is_alive()
    assert not create.called
