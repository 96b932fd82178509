"""Which pull request or merge request the comment goes to (gate/ci/review.py): the GitHub
event payload and the GitLab variables, and a ``CommentNotPosted`` for everything else."""

from __future__ import annotations

import json

import pytest

from gate.ci.review import github_thread, gitlab_thread, pull_request
from gate.errors import CommentNotPosted

TOKEN = "ghs_reviewTestToken0123456789abcdef"
GITHUB = {
    "GITHUB_REPOSITORY": "acme/bot",
    "GITHUB_TOKEN": TOKEN,
    "GITHUB_SHA": "feedfacecafe",
}
GITLAB = {
    "CI_MERGE_REQUEST_IID": "5",
    "CI_PROJECT_ID": "7",
    "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
    "CEKURA_GATE_GITLAB_TOKEN": "glpat-reviewTestToken0123",
    "CI_COMMIT_SHORT_SHA": "abc1234",
}


def test_a_pull_request_event_names_the_pull_request_and_its_head():
    event = {"number": 12, "pull_request": {"number": 12, "head": {"sha": "0123456789"}}}
    found = pull_request(json.dumps(event), "pull_request")
    assert (found.number, found.head_sha) == (12, "0123456789")


def test_a_comment_on_a_pull_request_names_it():
    event = {"issue": {"number": 8, "pull_request": {"url": "https://x"}}}
    assert pull_request(json.dumps(event), "issue_comment").number == 8


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (None, "GITHUB_EVENT_PATH is not set"),
        ("{not json", "does not hold JSON"),
        ("", "does not hold JSON"),
        ("[1, 2]", "an event without one"),
        ('{"ref": "refs/heads/main", "commits": []}', "a push event"),
        ('{"issue": {"number": 3}}', "a push event"),  # a plain issue, not a pull request
        ('{"pull_request": {"number": "12"}}', "a push event"),
        ('{"pull_request": {"number": true}}', "a push event"),
    ],
)
def test_anything_else_is_no_pull_request(text, said):
    with pytest.raises(CommentNotPosted, match=said):
        pull_request(text, "push" if text and text.startswith("{") else "")


def test_the_github_thread_uses_the_head_commit_and_the_default_api():
    event = json.dumps({"pull_request": {"number": 12, "head": {"sha": "0123456789"}}})
    thread, commit = github_thread(GITHUB, event, "GITHUB_TOKEN")
    assert thread.api_url == "https://api.github.com"
    assert thread.comments_path == "/repos/acme/bot/issues/12/comments"
    assert thread.what == "pull request #12" and commit == "0123456"


def test_another_token_variable_can_be_named():
    event = json.dumps({"pull_request": {"number": 1}})
    variables = {**GITHUB, "GITHUB_TOKEN": "", "GATE_TOKEN": TOKEN}
    with pytest.raises(CommentNotPosted, match="GITHUB_TOKEN is not set"):
        github_thread(variables, event, "GITHUB_TOKEN")
    thread, commit = github_thread(variables, event, "GATE_TOKEN")
    assert thread.token == TOKEN and commit == "feedfac"


def test_the_gitlab_thread_is_the_merge_requests_notes():
    thread, commit = gitlab_thread(GITLAB, "CEKURA_GATE_GITLAB_TOKEN")
    assert thread.comments_path == "/projects/7/merge_requests/5/notes"
    assert thread.edit_method == "PUT" and commit == "abc1234"


def test_a_forks_merge_request_belongs_to_its_target_project():
    variables = {**GITLAB, "CI_MERGE_REQUEST_PROJECT_ID": "99"}
    thread, _ = gitlab_thread(variables, "CEKURA_GATE_GITLAB_TOKEN")
    assert thread.comments_path == "/projects/99/merge_requests/5/notes"


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"CI_MERGE_REQUEST_IID": ""}, "not a merge request pipeline"),
        ({"CI_MERGE_REQUEST_IID": "5; rm"}, "is not a number"),
        ({"CI_API_V4_URL": ""}, "CI_API_V4_URL is not set"),
        ({"CEKURA_GATE_GITLAB_TOKEN": ""}, "no token: CEKURA_GATE_GITLAB_TOKEN is not set"),
    ],
)
def test_no_merge_request_or_no_token_is_said(changes, said):
    with pytest.raises(CommentNotPosted, match=said):
        gitlab_thread({**GITLAB, **changes}, "CEKURA_GATE_GITLAB_TOKEN")
