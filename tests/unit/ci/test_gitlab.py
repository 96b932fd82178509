"""The GitLab adapter (gate.ci.gitlab), given its variables: when it is on, the job's label,
and the collapsed log section's lines."""

from __future__ import annotations

import pytest

from gate.ci.gitlab import GitLab, detect


@pytest.mark.parametrize(
    ("env", "force", "label"),
    [
        pytest.param({"GITLAB_CI": "true"}, None, None, id="in-a-job"),
        pytest.param(
            {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "12", "CI_COMMIT_SHORT_SHA": "abc1234"},
            None,
            "MR !12, abc1234",
            id="merge-request",
        ),
        pytest.param({"CI_COMMIT_SHORT_SHA": "abc1234"}, True, "abc1234", id="forced-on"),
    ],
)
def test_detect_in_a_job_or_forced_on(env, force, label):
    assert detect(env, force=force) == GitLab(label=label)


@pytest.mark.parametrize(
    ("env", "force"),
    [
        pytest.param({}, None, id="not-a-job"),
        pytest.param({"GITLAB_CI": "1"}, None, id="only-true-counts"),
        pytest.param({"GITLAB_CI": "true"}, False, id="forced-off"),
    ],
)
def test_detect_off(env, force):
    assert detect(env, force=force) is None


def test_section_lines_fold_the_wait_under_a_slug_and_the_time_given():
    gitlab = GitLab()
    start = gitlab.section_start("Waiting for result 7", "waiting…", now=1700000000.9)
    end = gitlab.section_end("Waiting for result 7", now=1700000060.2)
    assert start == (
        "\x1b[0Ksection_start:1700000000:waiting_for_result_7[collapsed=true]\r\x1b[0Kwaiting…"
    )
    assert end == "\x1b[0Ksection_end:1700000060:waiting_for_result_7\r\x1b[0K"
