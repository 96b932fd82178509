"""The pull-request comment's body (gate/reporters/comment.py): its marker, what it shows
(its head the Markdown summary's; never the share link), no mention, reference or quick
action from the result's text, and the 65,536-character cap with its deterministic
"… and N more" lines."""

from __future__ import annotations

import datetime
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.policy.model import Level
from gate.reporters import comment, markdown
from gate.reporters.comment import MAX_COMMENT_CHARS, marker, render, size
from gate.results.normalise import normalise
from gate.rules.checks import Check, Outcome, WaiverState
from gate.rules.evaluate import BaselineInfo, NoVerdict, Verdict, VerdictStatus
from tests.conftest import make_result, make_run

URL = "https://dashboard.cekura.ai/results/167"
MARK = marker("gate.yaml")


def check(number: int, outcome: Outcome = Outcome.FAIL, **fields: str) -> Check:
    values = {
        "title": f"Rule {number}",
        "expected": ">= 90%",
        "actual": "50%",
        "reason": f"rule {number} is off",
    }
    values.update(fields)
    return Check(f"rule.{number}", outcome=outcome, **values)  # type: ignore[arg-type]


def waiver(path: str, days_left: int | None, *, expired: bool = False) -> WaiverState:
    until = None if days_left is None else datetime.date(2027, 1, 1)
    return WaiverState(path, until, "known issue", Level.WARN, expired, days_left)


def verdict(*checks: Check, **fields: object) -> Verdict:
    return Verdict(VerdictStatus.FAIL, "gate.yaml", checks=checks, result_url=URL, **fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the marker


@pytest.mark.parametrize("path", ["gate.yaml", "./gate.yaml", "ci/../gate.yaml"])
def test_the_marker_is_the_same_for_one_policy_however_it_is_spelled(path):
    assert marker(path) == "<!-- cekura-gate:comment policy=gate.yaml -->"


def test_different_policies_get_different_markers():
    assert marker("gates/voice.yaml") != marker("gates/text.yaml")


def test_no_policy_path_can_end_the_html_comment_early():
    mark = marker("evil --> <script>\n.yaml")
    assert mark.endswith(" -->") and mark.count("-->") == 1 and "\n" not in mark


def test_a_very_long_policy_path_becomes_a_hash():
    mark = marker("p/" * 500 + "gate.yaml")
    assert re.fullmatch(r"<!-- cekura-gate:comment policy=sha256-[0-9a-f]{64} -->", mark)


# --------------------------------------------------------------------------- what it shows


def test_the_first_line_is_the_marker_then_the_verdict():
    body = render(verdict(check(1)), mark=MARK, commit="abc1234")
    lines = body.splitlines()
    assert lines[0] == MARK
    assert lines[1] == "## :x: Cekura gate failed"
    assert "`abc1234`" in body


def test_failures_and_warnings_show_rule_expected_actual_and_reason():
    passed = check(3, Outcome.PASS, title="Quiet rule")
    body = render(verdict(check(1), check(2, Outcome.WARN, reason="close call"), passed), mark=MARK)
    assert "### What failed or warned: 2" in body
    assert "| :x: fail | Rule 1 | \\>= 90% | 50% | rule 1 is off |" in body
    assert "| :warning: warn | Rule 2 | \\>= 90% | 50% | close call |" in body
    assert "Quiet rule" not in body


def test_a_pass_has_no_table_of_failures_but_keeps_the_link():
    body = render(
        Verdict(VerdictStatus.PASS, "gate.yaml", checks=(check(1, Outcome.PASS),), result_url=URL),
        mark=MARK,
    )
    assert "## :white_check_mark: Cekura gate passed" in body
    assert "What failed" not in body
    assert f"[View the result in the Cekura dashboard]({URL})" in body


def test_baseline_deltas_are_shown_when_rules_compare_with_a_baseline():
    relative = check(1, baseline="95%", delta="-45 pts")
    info = BaselineInfo(100, "last release", "baseline.json", 95.0, 20)
    body = render(verdict(relative, check(2)), mark=MARK)
    assert "Compared with the baseline" not in render(verdict(check(2)), mark=MARK)
    body = render(verdict(relative, check(2), baseline=info), mark=MARK)
    assert "### Compared with the baseline (`baseline.json`)" in body
    assert "| Rule 1 | 95% | 50% | -45 pts | :x: fail |" in body


def test_waivers_ending_within_14_days_or_expired_are_shown_and_no_others():
    waivers = (
        waiver("rules.soon", 3),
        waiver("rules.last", 0),
        waiver("rules.gone", None, expired=False),
        waiver("rules.later", 30),
        waiver("rules.expired", 0, expired=True),
    )
    body = render(verdict(check(1), waivers=waivers), mark=MARK)
    assert "rules.soon" in body and "rules.last" in body and "rules.expired" in body
    assert "rules.later" not in body and "rules.gone" not in body
    assert ":x: expired: enforced as an error" in body


def test_no_verdict_posts_the_error():
    body = render(NoVerdict("the API answered 503 | <b>", "gate.yaml", 167, URL), mark=MARK)
    assert body.splitlines()[0] == MARK
    assert "## :no_entry: Cekura gate: no verdict" in body
    assert "**No verdict could be reached:** the API answered 503 \\| \\<b\\>" in body
    assert URL in body


def test_cells_stay_in_their_column():
    body = render(verdict(check(1, title="a | b\nc")), mark=MARK)
    assert "| a \\| b c |" in body


# --------------------------------------------------------------------------- the cap


def huge_verdict(count: int = 10_000) -> Verdict:
    """Thousands of failing rules with long texts, deltas and waivers: megabytes uncapped."""
    checks = tuple(
        check(number, reason="x" * 600, title=f"Rule {number} {'é' * 250}", baseline="1", delta="2")
        for number in range(count)
    )
    waivers = tuple(waiver(f"rules.w{number}", 1) for number in range(count))
    info = BaselineInfo(100, "", "result 100", 95.0, 20)
    return verdict(*checks, baseline=info, waivers=waivers)


def test_a_huge_verdict_fits_githubs_limit_with_more_lines():
    body = render(huge_verdict(), mark=MARK)
    assert size(body) <= MAX_COMMENT_CHARS
    assert body.splitlines()[0] == MARK
    assert body.rstrip().endswith("edits this comment on every run.</sub>")
    assert URL in body
    shown = len(re.findall(r"^\| :x: fail \| Rule \d+ ", body, re.M))
    [hidden] = re.findall(r"^… and (\d+) more rules", body, re.M)
    assert shown > 10 and shown + int(hidden) == 10_000
    # The rows kept are the first ones, in order.
    assert re.findall(r"^\| :x: fail \| Rule (\d+) ", body, re.M) == [str(n) for n in range(shown)]
    assert re.search(r"^… and \d+ more comparisons", body, re.M)
    assert re.search(r"^… and \d+ more waivers", body, re.M)


def test_the_cut_is_the_same_on_every_run():
    assert render(huge_verdict(), mark=MARK) == render(huge_verdict(), mark=MARK)


def test_characters_outside_the_bmp_count_twice():
    assert size("a😀") == 3
    body = render(verdict(*(check(n, reason="😀" * 400) for n in range(2000))), mark=MARK)
    assert size(body) <= MAX_COMMENT_CHARS
    assert len(body) < size(body)


@pytest.mark.parametrize("limit", [3000, 5000, 20_000])
def test_any_limit_is_kept(limit):
    body = render(huge_verdict(300), mark=MARK, limit=limit)
    assert size(body) <= limit
    assert body.startswith(MARK)


def test_rows_are_cut_only_when_they_do_not_fit():
    rows = [check(n) for n in range(3)]
    full = render(verdict(*rows), mark=MARK, limit=100_000)
    roomy = render(verdict(*rows), mark=MARK, limit=size(full) + comment.MORE_LINE_ROOM)
    assert roomy == full and "more rule" not in full
    # 30 characters short of room for the last row (about 50) and its reserved more line.
    tight = render(verdict(*rows), mark=MARK, limit=size(full) + comment.MORE_LINE_ROOM - 30)
    assert "… and 1 more rule (see the job's reports)" in tight
    assert "| Rule 1 |" in tight and "| Rule 2 |" not in tight


# --------------------------------------------------------------------------- nobody reached

# Result text that, posted as it is, would notify people or add "mentioned this" events.
REACHING = (
    "@octocat @acme/reviewers @all #123 acme/bot#12 GH-26 !12 &7 @_under "
    "https://github.com/acme/bot/issues/1 www.github.com/acme/bot/pull/2"
)
REFERENCE = re.compile(
    r"[@#!&]\\?\w|\bGH-\d|://|\bwww\.", re.IGNORECASE
)  # what either forge would link, cell escapes allowed


def reaching_verdict(text: str) -> Verdict:
    """Every field of the verdict that reaches the comment, holding ``text``."""
    result = normalise(make_result([make_run(1)], name=text, status=text))
    flagged = check(1, title=text, expected=text, actual=text, reason=text)
    compared = check(2, title=text, baseline=text, delta=text)
    info = BaselineInfo(100, text, text, 95.0, 20)
    waivers = (WaiverState(text, datetime.date(2027, 1, 1), text, Level.WARN, True, 0),)
    return Verdict(
        VerdictStatus.FAIL,
        text,
        checks=(flagged, compared),
        result=result,
        baseline=info,
        waivers=waivers,
        notes=(text,),
    )


def texts_of(body: str) -> str:
    """The body without its own links (the dashboard's URL is ours)."""
    return re.sub(r"\]\(https://[^)]*\)", "]()", body)


def test_no_mention_or_reference_from_the_result_reaches_the_comment():
    body = render(reaching_verdict(REACHING), mark=MARK, commit="@octocat")
    assert "octocat" in body and "acme/reviewers" in body  # still there to read
    assert not REFERENCE.search(texts_of(body)), REFERENCE.findall(texts_of(body))
    no_verdict = render(NoVerdict(REACHING, REACHING, 167, URL), mark=MARK)
    assert not REFERENCE.search(texts_of(no_verdict))


def test_the_mentions_read_the_same_once_the_zero_width_spaces_are_out():
    body = render(verdict(check(1, reason="ping @octocat about #123")), mark=MARK)
    assert "ping @octocat about #123" in body.replace(comment.ZERO_WIDTH_SPACE, "")


def test_the_step_summary_keeps_the_text_as_it_is():
    summary = markdown.render(verdict(check(1, reason="ping @octocat about #123")))
    assert "ping @octocat about #123" in summary


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from("/ \n\r\t\u2028\x85|`*_@#abc!"), max_size=40))
def test_no_line_of_the_body_can_start_with_a_slash(text):
    """GitLab runs a note's quick actions (``/close``, ``/merge``) even from the API."""
    for record in (reaching_verdict(text), NoVerdict(text, text, 167, URL)):
        body = render(record, mark=MARK, commit=text)
        assert not [line for line in body.splitlines() if line.lstrip().startswith("/")]


def test_the_share_link_is_never_in_the_comment():
    """Anyone holding it reads the transcripts; a comment is mailed out and keeps its edits."""
    share = "https://dashboard.cekura.ai/share/secret-token-123"
    body = render(verdict(check(1), share_url=share), mark=MARK)
    assert "secret-token-123" not in body and "Shareable" not in body
    assert share in markdown.render(verdict(check(1), share_url=share))  # the summary keeps it


def test_the_head_is_the_summarys():
    """One helper renders both: the comment's head is the summary's, quietened."""
    for record in (verdict(check(1)), NoVerdict("the API answered 503", "gate.yaml", 167, URL)):
        head = len(markdown.head(record))
        summary, body = markdown.render(record).splitlines(), render(record, mark=MARK).splitlines()
        assert head >= 4 and body[1 : head + 1] == summary[:head]
