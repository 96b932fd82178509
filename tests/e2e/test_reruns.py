"""End-to-end tests of reruns within a call budget (``cekura-gate run`` with ``run.rerun`` or
the rerun flags), against the fake Cekura server over a real socket, its trigger POSTs
scripted per round (``FakeCekura.script_triggers``: which scenarios' runs pass, fail or
fail for infrastructure).

What is checked: each rerun round triggers exactly the scenarios it should (the POST bodies),
never more calls than ``max_calls`` in all (the first result's included), one POST per round
(counted), a round whose POST may have reached the server is not sent again and the gate
judges what it has, saying so; the verdict judges k-of-n over every attempt and the success
rate over the latest attempt of each run slot; the reports list every result id, the reruns
and why, and the calls spent. ``--dry-run`` calls nothing, not even without a key. Every
outcome goes through ``tests.e2e.test_run_command``'s checks (no traceback, no key anywhere).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.e2e.test_run_command import (
    FAST_WAIT,
    KEY,
    VOICE,
    Outcome,
    gate,
    signal_when,
    spawn_run,
)
from tests.fake_cekura import FakeCekura, Fault, Round

FIRST = 167  # the fake's first result id; round k's result is 167 + k
RUN = "run:\n  agent_id: 12\n  scenario_ids: [101, 202, 303]\n  name: release check\n"


@pytest.fixture
def api_key() -> str:
    return KEY


# Infrastructure failures fail the gate (without the rule they only warn): what stays
# infrastructure-failed after the reruns is an infrastructure failure, exit 4.
STRICT_RULES = "  success_rate: {min: 100}\n  infrastructure: {max: 0}\n"


def rerun_policy(rerun: str, rules: str = "  success_rate: {min: 100}\n", run: str = RUN) -> str:
    return f"version: 1\n{FAST_WAIT}rules:\n{rules}{run}  rerun: {rerun}\n"


def triggers(fake: FakeCekura) -> list[dict[str, Any]]:
    """The body of every trigger POST, in order."""
    return [request.json() for request in fake.posts() if request.path == VOICE]


def reruns_of(outcome: Outcome) -> dict[str, Any]:
    reruns: dict[str, Any] = outcome.verdict()["reruns"]
    return reruns


# --------------------------------------------------------------------------- the rounds


def test_infrastructure_failures_are_rerun_once_and_the_union_passes(tmp_path, fake):
    fake.script_triggers(
        [Round({101: ["infra"], 202: ["pass"], 303: ["infra"]}), Round({101: ["pass"]})]
    )
    outcome = gate(
        tmp_path, fake.url, policy_text=rerun_policy("{infrastructure: 1, max_calls: 6}")
    )
    assert outcome.code == 0, outcome.stdout + outcome.stderr
    first, second = triggers(fake)
    assert first["scenarios"] == [101, 202, 303]
    assert second == {
        "agent_id": 12,
        "scenarios": [101, 303],  # only the infrastructure-failed ones
        "frequency": 1,
        "name": "release check (rerun 1)",
    }
    reruns = reruns_of(outcome)
    assert reruns["result_ids"] == [FIRST, FIRST + 1]
    assert (reruns["calls"], reruns["max_calls"]) == (5, 6)
    assert [(r["run_id"], r["slot"], r["reason"]) for r in reruns["runs"]] == [
        (1004, 1001, "infrastructure"),
        (1005, 1003, "infrastructure"),
    ]
    assert outcome.verdict()["counts"]["success_rate"] == 100
    assert outcome.dotenv()["GATE_RESULT_IDS"] == "167,168"
    assert outcome.dotenv()["GATE_CALLS"] == "5"
    junit = outcome.file("out/junit.xml")
    assert '<property name="result_ids" value="167,168"' in junit
    assert '<property name="calls" value="5"' in junit
    summary = outcome.file("out/summary.md")
    assert "### Reruns: 2 results, 5 calls of at most 6" in summary
    assert "| 1 | 168 | infrastructure | 101, 303 x1 | 2 | completed |" in summary
    assert "rerun round 1" in outcome.log()
    assert "Reruns: 2 results, 5 calls of at most 6 (results 167, 168)" in outcome.stdout
    assert "run 1004 reran run 1001 [Scenario 101] (infrastructure): passed" in outcome.stdout


def test_github_outputs_name_every_result_and_the_calls(tmp_path, fake):
    fake.script_triggers([Round({202: ["infra"]}), Round({})])
    policy = rerun_policy("{infrastructure: 1, max_calls: 4}")
    outcome = gate(tmp_path, fake.url, policy_text=policy, github=True)
    assert outcome.code == 0, outcome.stdout
    assert outcome.output("result-id") == str(FIRST)  # the headline result stays the first
    assert (outcome.output("result-ids"), outcome.output("calls")) == ("167,168", "4")
    assert "### Reruns: 2 results, 4 calls of at most 4" in outcome.file("step_summary.md")


def test_without_reruns_the_reports_have_no_rerun_fields(tmp_path, fake):
    fake.script_triggers([Round({})])
    policy = f"version: 1\n{FAST_WAIT}rules:\n  success_rate: {{min: 100}}\n{RUN}"
    outcome = gate(tmp_path, fake.url, policy_text=policy, github=True)
    assert outcome.code == 0, outcome.stdout
    assert "reruns" not in outcome.verdict()
    assert "GATE_RESULT_IDS" not in outcome.dotenv()
    assert (outcome.output("result-ids"), outcome.output("calls")) == ("167", "")
    assert "Reruns" not in outcome.stdout + outcome.file("out/summary.md")


def test_failed_then_passed_meets_one_of_two_and_success_rate_counts_the_latest(tmp_path, fake):
    fake.script_triggers([Round({101: ["fail"]}), Round({101: ["pass"]})])
    rules = (
        "  success_rate: {min: 100}\n"
        '  scenarios:\n    - {match: "Scenario 101", min_passes: 1, frequency: 2}\n'
    )
    policy = rerun_policy("{failed: 1, max_calls: 10}", rules)
    outcome = gate(tmp_path, fake.url, policy_text=policy)
    assert outcome.code == 0, outcome.stdout
    checks = {check["key"]: check for check in outcome.verdict()["checks"]}
    assert checks["success_rate.min"]["actual"] == "100%"
    assert checks["scenarios[0].min_passes[Scenario 101]"]["actual"] == "1 of 2"
    assert [body["scenarios"] for body in triggers(fake)] == [[101, 202, 303], [101]]


def test_failed_runs_are_not_rerun_unless_asked(tmp_path, fake):
    fake.script_triggers([Round({101: ["fail"], 202: ["infra"]}), Round({})])
    outcome = gate(
        tmp_path, fake.url, policy_text=rerun_policy("{infrastructure: 1, max_calls: 9}")
    )
    assert [body["scenarios"] for body in triggers(fake)] == [[101, 202, 303], [202]]
    assert outcome.code == 1  # 101 failed and stays failed
    assert reruns_of(outcome)["runs"][0]["reason"] == "infrastructure"


def test_rounds_go_on_while_allowed_and_stop_at_the_cap_on_rounds(tmp_path, fake):
    fake.script_triggers(
        [Round({101: ["infra"]}), Round({101: ["infra"]}), Round({101: ["infra"]}), Round({})]
    )
    outcome = gate(
        tmp_path,
        fake.url,
        policy_text=rerun_policy("{infrastructure: 2, max_calls: 20}", STRICT_RULES),
    )
    assert [body["scenarios"] for body in triggers(fake)] == [[101, 202, 303], [101], [101]]
    assert outcome.code == 4
    assert reruns_of(outcome)["result_ids"] == [167, 168, 169]


# --------------------------------------------------------------------------- the budget


def test_a_round_over_the_budget_is_trimmed_and_the_reports_say_so(tmp_path, fake):
    # Frequency 2: the first result is 6 calls; 101 and 303 each failed twice (infra first:
    # 303). max_calls 8 leaves 2 calls: only 303 is rerun, at frequency 2.
    fake.script_triggers([Round({101: ["fail"], 303: ["infra"]}), Round({}), Round({})])
    run = RUN + "  frequency: 2\n"
    policy = rerun_policy("{infrastructure: 1, failed: 1, max_calls: 8}", run=run)
    outcome = gate(tmp_path, fake.url, policy_text=policy)
    bodies = triggers(fake)
    assert len(bodies) == 2, bodies  # the budget allows no third round
    assert (bodies[1]["scenarios"], bodies[1]["frequency"]) == ([303], 2)
    reruns = reruns_of(outcome)
    assert reruns["calls"] == 8 and reruns["calls"] <= reruns["max_calls"]
    note = (
        "rerun round 1 trimmed to fit the 2 calls left under max_calls: reruns scenario 303 "
        "(2 calls), leaves out scenario 101"
    )
    assert note in reruns["notes"]
    assert note.replace("_", "\\_") in outcome.file("out/summary.md")  # Markdown-escaped
    assert outcome.code == 1  # 101 still failed


@pytest.mark.parametrize("max_calls", [3, 4, 5, 6, 7])
def test_the_calls_never_exceed_max_calls(tmp_path, fake, max_calls):
    fake.script_triggers([Round({101: ["infra"], 202: ["fail"], 303: ["infra"]})] * 5)
    policy = rerun_policy(f"{{infrastructure: 2, failed: 2, max_calls: {max_calls}}}")
    outcome = gate(tmp_path, fake.url, policy_text=policy)
    made = sum(len(body["scenarios"]) * body.get("frequency", 1) for body in triggers(fake))
    assert made <= max_calls
    assert reruns_of(outcome)["calls"] == made


def test_a_first_run_over_max_calls_is_refused_before_any_request(tmp_path, fake):
    fake.script_triggers([Round({})])
    outcome = gate(
        tmp_path,
        fake.url,
        "--max-calls",
        "2",
        policy_text=rerun_policy("{failed: 1, max_calls: 9}"),
    )
    assert outcome.code == 2
    assert "would start 3 calls, more than --max-calls" in outcome.stderr
    assert fake.requests == []


def test_reruns_without_a_cap_are_a_usage_error(tmp_path, fake):
    outcome = gate(
        tmp_path,
        fake.url,
        "--rerun-infrastructure",
        "1",
        policy_text=f"version: 1\n{FAST_WAIT}rules:\n  success_rate: {{min: 90}}\n{RUN}",
    )
    assert outcome.code == 2
    assert "reruns need --max-calls" in outcome.stderr
    assert fake.requests == []


def test_flags_override_the_policy(tmp_path, fake):
    fake.script_triggers([Round({101: ["fail"]}), Round({})])
    policy = rerun_policy("{infrastructure: 1, max_calls: 3}")
    outcome = gate(
        tmp_path, fake.url, "--rerun-failed", "1", "--max-calls", "4", policy_text=policy
    )
    assert outcome.code == 0, outcome.stdout
    assert [body["scenarios"] for body in triggers(fake)] == [[101, 202, 303], [101]]
    assert reruns_of(outcome)["max_calls"] == 4


# --------------------------------------------------------------------------- no double-billing


def test_a_round_whose_post_may_have_arrived_is_not_retried(tmp_path, fake):
    fake.script_triggers([Round({101: ["infra"]}), Fault(drop_connection=True), Round({})])
    outcome = gate(
        tmp_path,
        fake.url,
        policy_text=rerun_policy("{infrastructure: 2, max_calls: 9}", STRICT_RULES),
    )
    bodies = triggers(fake)
    assert len(bodies) == 2, bodies  # the first, and round 1 once: never again
    assert outcome.code == 4  # 101's only attempt was infrastructure-failed
    reruns = reruns_of(outcome)
    assert reruns["result_ids"] == [FIRST]
    [note] = [note for note in reruns["notes"] if note.startswith("rerun round 1")]
    assert "may have started" in note and "release check (rerun 1)" in note
    assert reruns["calls"] == 4  # the lost round counts as spent
    assert reruns["rounds"][1]["result_id"] is None


def test_a_round_whose_post_times_out_is_not_retried(tmp_path, fake, monkeypatch):
    from gate.api import client as gate_client

    # Every trigger gets this timeout, the first one too: 0.3 s was shorter than a busy
    # machine takes to answer it (the full suite failed with no round started at all).
    monkeypatch.setattr(gate_client, "TRIGGER_READ_TIMEOUT_S", 2.0)
    fake.script_triggers([Round({202: ["fail"]}), Fault(status=201, delay_s=5), Round({})])
    outcome = gate(tmp_path, fake.url, policy_text=rerun_policy("{failed: 3, max_calls: 9}"))
    assert len(triggers(fake)) == 2
    assert outcome.code == 1
    assert "the gate judges the results it has" in outcome.file("out/summary.md")


def test_one_post_per_round(tmp_path, fake):
    fake.script_triggers(
        [Round({101: ["infra"], 202: ["fail"]}), Round({101: ["fail"]}), Round({})]
    )
    policy = rerun_policy("{infrastructure: 1, failed: 1, max_calls: 20}")
    outcome = gate(tmp_path, fake.url, policy_text=policy)
    reruns = reruns_of(outcome)
    assert len(triggers(fake)) == len(reruns["rounds"]) == 3
    assert [body["scenarios"] for body in triggers(fake)][1:] == [[101, 202], [101]]
    assert outcome.code == 0


def test_a_rerun_result_that_never_finishes_is_stopped_and_the_gate_judges_what_it_has(
    tmp_path, fake
):
    fake.script_triggers([Round({101: ["infra"]}), Round({}, running_polls=10_000)])
    policy = rerun_policy("{infrastructure: 1, max_calls: 6}", STRICT_RULES)
    outcome = gate(tmp_path, fake.url, "--timeout", "1s", policy_text=policy)
    assert outcome.code == 4  # judged on the first result: 101 never connected
    assert len(triggers(fake)) == 2
    assert len(fake.requests_to("/test_framework/v1/results/168/end_calls/")) == 1
    reruns = reruns_of(outcome)
    assert reruns["rounds"][1]["result_id"] == FIRST + 1
    assert any("rerun result 168 (round 1) could not be judged" in n for n in reruns["notes"])


def test_a_run_selected_by_tags_is_rerun_by_scenario_id(tmp_path, fake):
    fake.script_triggers([Round({101: ["pass"], 202: ["fail"]}), Round({202: ["pass"]})])
    run = "run:\n  agent_id: 12\n  tags: [smoke]\n  name: release check\n"
    outcome = gate(
        tmp_path, fake.url, policy_text=rerun_policy("{failed: 1, max_calls: 3}", run=run)
    )
    assert outcome.code == 0, outcome.stdout
    first, second = triggers(fake)
    assert first["tags"] == ["smoke"]
    assert "tags" not in second and second["scenarios"] == [202]


def test_sigterm_during_a_rerun_round_ends_its_calls(tmp_path, fake):
    fake.script_triggers([Round({101: ["infra"]}), Round({}, running_polls=10_000)])
    started = spawn_run(
        tmp_path, fake.url, policy_text=rerun_policy("{infrastructure: 1, max_calls: 6}")
    )
    outcome = signal_when(
        started, fake, signal.SIGTERM, requests=2, path=f"/test_framework/v2/results/{FIRST + 1}/"
    )
    assert outcome.code == 143
    assert len(fake.requests_to(f"/test_framework/v1/results/{FIRST + 1}/end_calls/")) == 1
    assert len(triggers(fake)) == 2
    assert outcome.verdict()["verdict"] == "error"


# --------------------------------------------------------------------------- --dry-run


def test_dry_run_calls_nothing_even_without_a_key(tmp_path, fake):
    policy_path = tmp_path / "gate.yaml"
    policy_path.write_text(
        rerun_policy("{infrastructure: 1, max_calls: 12}", run=RUN + "  frequency: 2\n"),
        encoding="utf-8",
    )
    result = run_cli("run", "--policy", str(policy_path), "--api-url", fake.url, "--dry-run")
    assert result.code == 0, result.stderr
    assert fake.requests == []
    assert "estimated calls: 6 (3 scenarios x frequency 2 x 1)" in result.stdout
    assert "max_calls: 12 in all, the first result's included: 6 calls left for reruns" in (
        result.stdout
    )
    assert not Path(tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (("--rerun-failed", "-1"), "expected a number of at least 0, got -1"),
        (("--rerun-infrastructure", "two"), "expected a whole number, got 'two'"),
        (("--max-calls", "0"), "expected a number of at least 1, got 0"),
        (("--dry-run", "--result-id", "5"), "--result-id starts nothing"),
    ],
)
def test_bad_rerun_flags_are_usage_errors_before_any_request(tmp_path, fake, flags, fragment):
    policy_path = tmp_path / "gate.yaml"
    policy_path.write_text(rerun_policy("{failed: 1, max_calls: 9}"), encoding="utf-8")
    result = run_cli("run", "--policy", str(policy_path), "--api-url", fake.url, *flags)
    assert result.code == 2
    assert fragment in result.stderr
    assert fake.requests == []
