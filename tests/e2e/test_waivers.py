"""End-to-end tests of waivers: a rule's ``level``/``until``/``reason`` judged on ``--as-of``
(before, on and after its date), the day the reports say the waivers were judged on, and the golden
reports of a release gate with a baseline file and two waivers. How the gate is run and
checked: tests/e2e/gating.py.

One known bug is kept as a strict xfail: ``--as-of`` accepts ISO week and basic dates.

The golden reports in tests/golden/release-gate/ come from tests/data/release-gate/ (a policy
with a baseline file and two waivers), judged with a fixed ``--as-of``. After an intended
change::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/e2e/test_waivers.py -k golden
    git diff tests/golden/release-gate
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import without_findings
from tests.e2e.gating import (
    FAST_WAIT,
    KEY,
    RELEASE_GATE,
    RESULT_FILE,
    RESULT_ID,
    bulk,
    example,
    gate,
    policy_file,
)
from tests.golden import GOLDEN, assert_golden


@pytest.fixture
def api_key() -> str:
    return KEY


GOLDEN_DIR = "release-gate"


# --------------------------------------------------------------------------- waivers

WAIVER_RULES = """\
  success_rate: {min: 90, level: warn, until: 2026-06-30, reason: flaky telephony provider}
  expected_outcomes: {max_unmet: 0, level: warn, reason: outcome prompts being rewritten}
  runs: {min_total: 2}
"""


@pytest.mark.parametrize(
    ("as_of", "code", "state", "days_left", "md_state", "text"),
    [
        pytest.param(
            "2026-06-29",
            0,
            "active",
            1,
            "active, 1 day left",
            "waived until 2026-06-30 (1 day left)",
            id="before",
        ),
        pytest.param(
            "2026-06-30",
            0,
            "active",
            0,
            ":warning: last day",
            "waived until 2026-06-30 (last day)",
            id="on",
        ),
        pytest.param(
            "2026-07-01",
            1,
            "expired",
            None,
            ":x: expired: enforced as an error",
            "waiver expired on 2026-06-30, so this is an error again",
            id="after",
        ),
    ],
)
def test_waiver_as_of_before_on_and_after_its_date(
    tmp_path, as_of, code, state, days_left, md_state, text
):
    policy = policy_file(tmp_path, WAIVER_RULES)
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-file", str(RESULT_FILE)),
        *("--as-of", as_of),
    )
    assert outcome.code == code, outcome.stdout
    reason = "flaky telephony provider"
    dated, undated = outcome.doc()["waivers"]
    assert dated == {
        "rule": "rules.success_rate",
        "level": "warn",
        "until": "2026-06-30",
        "reason": reason,
        "state": state,
        "days_left": days_left,
    }
    assert (undated["until"], undated["state"]) == (None, "active")  # no date: never expires

    check = outcome.check("success_rate.min")
    assert check["outcome"] == ("warn" if code == 0 else "fail")
    assert check["waiver"] == f"{text}: {reason}"
    assert f"({text}: {reason})" in check["reason"]
    assert outcome.check("expected_outcomes.max_unmet")["outcome"] == "warn"

    markdown = outcome.markdown()
    assert f"### Waivers (as of {as_of}): 2" in markdown
    assert f"| rules.success_rate | warn | 2026-06-30 | {md_state} | {reason} |" in markdown
    assert "| rules.expected_outcomes | warn | – | no end date |" in markdown
    kind, _, junit_text = outcome.junit()["Success rate"]
    assert kind == ("skipped" if code == 0 else "failure") and text in junit_text
    assert outcome.junit_properties()["waiver rules.success_rate"] == f"{text}: {reason}"
    env = outcome.dotenv()
    expired = 1 if state == "expired" else 0
    assert (env["GATE_ACTIVE_WAIVERS"], env["GATE_EXPIRED_WAIVERS"]) == (
        str(2 - expired),
        str(expired),
    )
    assert ("EXPIRED  rules.success_rate" in outcome.stdout) == (state == "expired")


def test_waiver_on_a_scenario_rule_expires_too(tmp_path):
    rules = (
        "  scenarios:\n    - {match: Greeting*, min_passes: 1, level: warn, "
        "until: 2026-03-31, reason: triage prompt rewrite}\n"
    )
    policy = policy_file(tmp_path, rules)
    args = ("check", "--policy", str(policy), "--result-file", str(RESULT_FILE))
    active = gate(tmp_path / "a", *args, "--as-of", "2026-03-31")
    expired = gate(tmp_path / "e", *args, "--as-of", "2026-04-01")
    assert (active.code, expired.code) == (0, 1)
    check_id = "scenarios[0].min_passes[Greeting and triage]"
    assert (active.check(check_id)["outcome"], expired.check(check_id)["outcome"]) == (
        "warn",
        "fail",
    )
    assert [w["rule"] for w in expired.doc()["waivers"]] == ["rules.scenarios[0]"]


# --------------------------------------------------------------------------- golden


def test_golden_reports_for_a_verdict_with_a_baseline_and_waivers(tmp_path):
    shutil.copytree(RELEASE_GATE, tmp_path / "release")
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", "release/gate.yaml", "--result-file", str(RESULT_FILE)),
        *("--as-of", "2026-06-30"),
        cwd=tmp_path,
    )
    assert outcome.code == 1, outcome.stdout
    document = outcome.doc()
    assert document["baseline"]["source"] == os.path.join("release", "baselines", "nightly.json")
    assert [w["state"] for w in document["waivers"]] == ["expired", "active"]
    outcomes = {check["key"]: check["outcome"] for check in document["checks"]}
    assert outcomes == {
        "result.status": "pass",
        "success_rate.min": "pass",
        "success_rate.max_drop": "fail",
        "critical_categories.no_new_categories.critical": "fail",
        "metrics[0].p50": "pass",
        "metrics[0].p50.max_increase_percent": "pass",
        "metrics[1].mean.max_decrease_percent": "warn",
        "metrics[2].enum": "pass",
        "scenarios[0].required": "pass",
        "scenarios[0].min_passes[Customer Support Call (Agent Inbound = True)]": "pass",
        "scenarios.no_new_failures": "fail",
    }
    if os.environ.get("UPDATE_GOLDEN") == "1":
        (GOLDEN / GOLDEN_DIR).mkdir(parents=True, exist_ok=True)
    for report, ext in (("summary.md", "md"), ("verdict.json", "json"), ("junit.xml", "xml")):
        assert_golden(f"{GOLDEN_DIR}/verdict.{ext}", outcome.report(report))


def test_as_of_takes_only_year_month_day(tmp_path):
    policy = policy_file(tmp_path, "  runs: {min_total: 1}\n")
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-file", str(RESULT_FILE)),
        *("--as-of", "2026-W27-2"),
    )
    assert outcome.code == 2


def test_reports_say_which_day_the_waivers_were_judged_on(tmp_path):
    policy = policy_file(
        tmp_path, "  success_rate: {min: 90, level: warn, until: 2026-12-31, reason: later}\n"
    )
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-file", str(RESULT_FILE)),
        *("--as-of", "2026-12-01"),
    )
    assert outcome.code == 0
    assert outcome.doc()["waivers_as_of"] == "2026-12-01"
    assert outcome.junit_properties()["waivers_as_of"] == "2026-12-01"
    assert "### Waivers (as of 2026-12-01): 1" in outcome.markdown()
    assert "Waivers (as of 2026-12-01):" in outcome.stdout


def test_live_fetches_findings_for_a_rule_whose_off_waiver_has_expired(tmp_path, fake):
    fake.add_result(RESULT_ID, [without_findings(example())])
    fake.add_runs([dict(run, result_id=RESULT_ID) for run in bulk()])
    rules = (
        "  runs: {min_total: 1}\n"
        "  critical_categories: {max: {critical: 5}, level: off, until: 2020-01-01}\n"
    )
    policy = policy_file(tmp_path, rules, head=FAST_WAIT)
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-id", str(RESULT_ID)),
        *("--api-url", fake.url),
        key=KEY,
    )
    assert outcome.code == 0, outcome.stderr  # enforced again, and the findings are known
    assert outcome.check("critical_categories.max.critical")["actual"] == "1"
