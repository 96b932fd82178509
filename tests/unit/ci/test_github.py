"""The GitHub adapter (gate.ci.github), given its variables: when it is on, the lines it asks
the command line to print and the text it asks it to append, with the secret never in them."""

from __future__ import annotations

import pytest

from gate.ci.github import GitHub, detect
from gate.rules.checks import Check, Outcome
from gate.rules.evaluate import NoVerdict, Verdict, VerdictStatus

SECRET = "sk-unit-FAKE-0123456789"
STEP = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_OUTPUT": "/runner/output",
    "GITHUB_STEP_SUMMARY": "/runner/summary",
    "GITHUB_WORKSPACE": "/repo",
}


def failing(message: str) -> Verdict:
    check = Check(
        key="success_rate",
        title="Success rate",
        outcome=Outcome.FAIL,
        expected=">= 90%",
        actual="50%",
        reason=message,
    )
    return Verdict(VerdictStatus.FAIL, "gate.yaml", checks=(check,))


@pytest.mark.parametrize(
    ("env", "label"),
    [
        pytest.param(STEP, None, id="push"),
        pytest.param(
            {**STEP, "GITHUB_REF": "refs/pull/12/merge", "GITHUB_SHA": "abc1234def"},
            "PR #12, abc1234",
            id="pull-request",
        ),
    ],
)
def test_detect_reads_the_step_s_files_and_label(env, label):
    github = detect(env, force=None, annotations_on=True, summary_on=False)
    assert github == GitHub("/runner/output", "/runner/summary", True, False, label)


@pytest.mark.parametrize(
    ("env", "force"),
    [
        pytest.param({}, None, id="not-a-step"),
        pytest.param({"GITHUB_ACTIONS": "1"}, None, id="only-true-counts"),
        pytest.param(STEP, False, id="forced-off"),
    ],
)
def test_detect_off(env, force):
    assert detect(env, force=force, annotations_on=True, summary_on=True) is None


def test_forced_on_outside_a_step_has_no_files_to_write():
    github = detect({}, force=True, annotations_on=True, summary_on=True)
    assert github is not None
    assert (github.output_path, github.summary_path) == (None, None)
    assert github.announcement(7, "https://dashboard.example/7") is None


@pytest.mark.parametrize("secret", ["", "   "])
def test_a_blank_secret_is_not_masked(secret):
    assert GitHub(None, None).mask_line(secret) is None


@pytest.mark.parametrize("secret", ["test", "pass", f"{SECRET[:6]}\n::error::{SECRET[6:]}"])
def test_a_value_that_cannot_be_a_key_is_never_sent_so_never_masked(secret):
    """Masking "test" would hide every "test" in the log; the key is refused before use."""
    assert GitHub(None, None).mask_line(secret) is None


def test_the_secret_is_masked_with_one_command():
    assert GitHub(None, None).mask_line(SECRET) == f"::add-mask::{SECRET}"


def test_group_title_cannot_end_the_line_early():
    opened, closed = GitHub(None, None).group_lines("wait\n::error::x")
    assert opened == "::group::wait%0A::error::x"
    assert closed == "::endgroup::"


def test_untrusted_lines_pair_up_with_a_fresh_token_each_time():
    github = GitHub(None, None)
    (first_on, first_off), (second_on, _) = github.untrusted_lines(), github.untrusted_lines()
    token = first_on.removeprefix("::stop-commands::")
    assert first_off == f"::{token}::" and len(token) == 32
    assert second_on != first_on


def test_publication_redacts_the_secret_from_annotations_summary_and_outputs(tmp_path):
    github = GitHub(str(tmp_path / "out"), str(tmp_path / "sum"))
    verdict = failing(f"the key {SECRET} leaked into a reason")
    published = github.publication(
        verdict,
        junit_path=None,
        policy_file="gate.yaml",
        secret=SECRET,
    )
    everything = "\n".join([*published.lines, *(append.text for append in published.appends)])
    assert SECRET not in everything
    assert [append.path for append in published.appends] == [
        github.summary_path,
        github.output_path,
    ]
    assert any(
        line.startswith("::error ") and "file=gate.yaml::" in line for line in published.lines
    )


@pytest.mark.parametrize("secret", ["verdict<<ghadelimiter_", "result-id<<ghadelimiter_"])
def test_a_key_that_is_also_publication_structure_never_breaks_it(tmp_path, secret):
    """The outputs and the summary are rendered from a verdict without the key, never cut
    afterwards: a key that is a piece of their form leaves the form (and the verdict) whole."""
    github = GitHub(str(tmp_path / "out"), str(tmp_path / "sum"))
    published = github.publication(
        failing(f"the key {secret} leaked into a reason"),
        junit_path=None,
        policy_file="gate.yaml",
        secret=secret,
    )
    summary, outputs = (append.text for append in published.appends)
    assert summary.startswith("## :x: Cekura gate failed")
    assert "the key \\[redacted\\] leaked" in summary and "| :x: fail |" in summary
    lines = outputs.splitlines()
    assert lines[lines.index(next(line for line in lines if line.startswith("verdict<<"))) + 1] == (
        "fail"
    )


def test_publication_with_annotations_and_summary_off_keeps_only_the_outputs(tmp_path):
    github = GitHub(str(tmp_path / "out"), str(tmp_path / "sum"), annotations=False, summary=False)
    published = github.publication(failing("below"), junit_path=None, policy_file="gate.yaml")
    assert published.lines == ()
    assert [append.path for append in published.appends] == [github.output_path]


def test_a_policy_outside_the_repository_is_annotated_without_a_file():
    published = GitHub(None, None).publication(
        NoVerdict("cannot read the policy", "gate.yaml"), junit_path=None, policy_file=None
    )
    assert published.lines and all("file=" not in line for line in published.lines)
    assert published.appends == ()


def test_rule_annotations_sit_on_the_rule_s_line_and_are_titled_by_its_test_id():
    located = Check(
        "metrics[0].p50",
        "Latency p50",
        "<= 2000",
        "2400",
        Outcome.FAIL,
        "too slow",
        test_id="latency",
        family="metrics",
        line=14,
    )
    unlocated = Check("result.status", "Result status", "x", "y", Outcome.WARN, "odd")
    verdict = Verdict(VerdictStatus.FAIL, "ci/gate.yaml", checks=(located, unlocated))
    published = GitHub(None, None).publication(verdict, junit_path=None, policy_file="ci/gate.yaml")
    assert published.lines == (
        "::error title=Cekura gate%3A latency,file=ci/gate.yaml,line=14::too slow",
        "::warning title=Cekura gate%3A Result status,file=ci/gate.yaml::odd",
    )
