"""End-to-end tests of regression gates: relative rules (``max_drop``, ``no_new_categories``,
``max_increase_percent``, ...) judged against a baseline given as a file (flag or policy), or as a
result fetched by id; ``baseline save`` (from a file or the API) and its round trip; the flags
that choose a baseline. How the gate is run and checked: tests/e2e/gating.py.

Variants of the example result ("worse", "better") are built here from copies.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gate.results.merge import merge_run_details
from tests.conftest import run_cli, without_findings
from tests.e2e.gating import (
    BULK_FILE,
    ERROR_PREFIX,
    FAST_WAIT,
    KEY,
    RESULT_FILE,
    RESULT_ID,
    RESULTS,
    Outcome,
    assert_no_key,
    assert_no_verdict,
    bulk,
    example,
    gate,
    metric,
    policy_file,
    write_json,
    write_text,
)
from tests.e2e.harness import gate_env, run_gate
from tests.fake_cekura import FakeCekura, Fault


@pytest.fixture
def api_key() -> str:
    return KEY


BASE_ID = 150
BASE_PATH = f"/test_framework/v2/results/{BASE_ID}/"
BULK_PATH = "/test_framework/v2/runs/bulk/"
TRANSCRIPT_TEXT = ("Hello, how can I help you today?", "Main Agent:", "Testing Agent:")


def recount(payload: dict[str, Any]) -> dict[str, Any]:
    """Counters that agree with the runs, as the API would report them."""
    runs = list(payload["runs"].values())
    passed = sum(1 for run in runs if run["success"] is True)
    payload["success_rate"] = 100.0 * passed / len(runs)
    payload["overall_evaluation"]["success_rate"] = payload["success_rate"]
    payload["success_runs_count"] = passed
    payload["failed_runs_count"] = len(runs) - passed
    payload["met_expected_outcome_count"] = sum(
        1 for run in runs if run["expected_outcome"]["score"] >= 100
    )
    return payload


def fail_run(run_id: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The run (and so its scenario) fails its expected outcome."""

    def change(payload: dict[str, Any]) -> dict[str, Any]:
        run = payload["runs"][str(run_id)]
        run["success"], run["expected_outcome"]["score"] = False, 0
        return recount(payload)

    return change


def scale_latency(factor: float) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Every Latency figure (run scores, run and summary percentiles) times ``factor``."""

    def change(payload: dict[str, Any]) -> dict[str, Any]:
        for run in payload["runs"].values():
            item = metric(run, "Latency")
            item["score"] *= factor
            item["extra"]["percentiles"]["p50"] *= factor
        summary = payload["overall_evaluation"]["metric_summary"]["33"]
        summary["score"] *= factor
        summary["p50"] *= factor
        for entry in payload["overall_evaluation"]["numeric_metrics"]:
            entry["value"] *= factor
            entry["percentiles"]["p50"] *= factor
        return payload

    return change


def scale_metric(name: str, factor: float) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(payload: dict[str, Any]) -> dict[str, Any]:
        for run in payload["runs"].values():
            metric(run, name)["score"] *= factor
        return payload

    return change


def fail_metric(run_id: int, name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(payload: dict[str, Any]) -> dict[str, Any]:
        metric(payload["runs"][str(run_id)], name)["passed"] = False
        return payload

    return change


def add_finding(
    run_id: int, category_id: int, category: str, priority: str = "critical"
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(payload: dict[str, Any]) -> dict[str, Any]:
        finding = {
            "category_id": category_id,
            "category": category,
            "deviation": 1.0,
            "wrongly_marked": False,
            "feedback": "",
            "priority": priority,
        }
        payload["runs"][str(run_id)]["critical_categories"].append(finding)
        return payload

    return change


def without_extra_metrics(payload: dict[str, Any]) -> dict[str, Any]:
    """No summary of 'Average Ringing Duration' (it has no run-level scores either)."""
    payload["overall_evaluation"]["extra_metrics"] = []
    return payload


HUNG_UP = add_finding(274, 4001, "Agent hung up on the caller")


def variant(*changes: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    payload = example()
    for change in changes:
        payload = change(copy.deepcopy(payload))
    return payload


def worse() -> dict[str, Any]:
    """Result 167 after a regression in every way a relative rule looks at."""
    return variant(
        fail_run(274),
        scale_latency(1.5),
        scale_metric("Pronunciation Analysis", 0.6),
        fail_metric(273, "Call Pickup"),
        HUNG_UP,
    )


def assert_compared(outcome: Outcome, check_id: str) -> dict[str, Any]:
    """The check shows baseline, current and delta in the JSON, Markdown and JUnit reports."""
    check = outcome.check(check_id)
    assert check["baseline"] and check["actual"] and check["delta"], check
    assert "| Baseline |" in outcome.markdown() and "| Delta |" in outcome.markdown()
    row = outcome.md_row(check["title"])
    assert row[2:5] == [check["baseline"], check["actual"], check["delta"]], row
    kind, _, text = outcome.junit()[check["id"]]
    assert f"baseline {check['baseline']}, delta {check['delta']}" in text, text
    assert kind == {"pass": "passed", "fail": "failure", "warn": "skipped"}[check["outcome"]]
    return check


def serve_baseline(fake: FakeCekura, payload: dict[str, Any] | None = None) -> None:
    """Result 150 on the fake, without findings: they come from runs-bulk."""
    served = without_findings(example() if payload is None else payload)
    served["id"] = BASE_ID
    fake.add_result(BASE_ID, [served])
    fake.add_runs([dict(run, result_id=BASE_ID) for run in bulk()])


# --------------------------------------------------------------------------- baseline by file


RELATIVE_RULES = [
    pytest.param(
        "  success_rate: {max_drop: 10}\n",
        "success_rate.max_drop",
        fail_run(274),
        id="success_rate.max_drop",
    ),
    pytest.param(
        "  metrics:\n    - {name: Latency, p50: {max_increase_percent: 20}}\n",
        "metrics[0].p50.max_increase_percent",
        scale_latency(1.5),
        id="p50.max_increase_percent",
    ),
    pytest.param(
        "  metrics:\n    - {name: Pronunciation Analysis, mean: {max_decrease_percent: 10}}\n",
        "metrics[0].mean.max_decrease_percent",
        scale_metric("Pronunciation Analysis", 0.6),
        id="mean.max_decrease_percent",
    ),
    pytest.param(
        "  metrics:\n    - {name: Call Pickup, pass_percent: {max_drop: 0}}\n",
        "metrics[0].pass_percent.max_drop",
        fail_metric(273, "Call Pickup"),
        id="pass_percent.max_drop",
    ),
    pytest.param(
        "  scenarios: {no_new_failures: true}\n",
        "scenarios.no_new_failures",
        fail_run(274),
        id="no_new_failures",
    ),
    pytest.param(
        "  critical_categories: {no_new_categories: [critical]}\n",
        "critical_categories.no_new_categories.critical",
        HUNG_UP,
        id="no_new_categories",
    ),
]


@pytest.mark.parametrize(("rules", "check_id", "regress"), RELATIVE_RULES)
def test_regression_against_a_baseline_file_fails_and_the_improvement_passes(
    tmp_path, rules, check_id, regress
):
    policy = policy_file(tmp_path, rules)
    good = write_json(tmp_path / "good.json", example())
    bad = write_json(tmp_path / "bad.json", variant(regress))
    judge = ("check", "--policy", str(policy))

    regression = gate(
        tmp_path / "r", *judge, "--result-file", str(bad), "--baseline-file", str(good)
    )
    assert regression.code == 1, regression.stdout
    check = assert_compared(regression, check_id)
    assert check["outcome"] == "fail"
    assert check["reason"] in regression.markdown()
    assert regression.doc()["baseline"]["source"] == str(good)

    improvement = gate(
        tmp_path / "i", *judge, "--result-file", str(good), "--baseline-file", str(bad)
    )
    assert improvement.code == 0, improvement.stdout
    assert improvement.doc()["verdict"] == "pass"
    assert assert_compared(improvement, check_id)["outcome"] == "pass"


def test_regression_reports_show_the_numbers(tmp_path):
    """The deltas are computed right, not just present: 50% -> 0%, Latency +50%."""
    rules = (
        "  success_rate: {max_drop: 10}\n"
        "  metrics:\n    - {name: Latency, p50: {max_increase_percent: 20}}\n"
    )
    policy = policy_file(tmp_path, rules)
    good = write_json(tmp_path / "good.json", example())
    bad = write_json(tmp_path / "bad.json", variant(fail_run(274), scale_latency(1.5)))
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-file", str(bad)),
        *("--baseline-file", str(good)),
    )
    assert outcome.code == 1
    rate = outcome.check("success_rate.max_drop")
    assert (rate["baseline"], rate["actual"], rate["delta"]) == ("50%", "0%", "-50 pp")
    latency = outcome.check("metrics[0].p50.max_increase_percent")
    assert (latency["baseline"], latency["actual"]) == ("2358.02", "3537.03")
    assert latency["delta"] == "+1179.01 (+50%)"
    assert "+50%" in latency["reason"] and "at most 20% increase" in latency["reason"]
    assert outcome.dotenv()["CEKURA_BASELINE_RESULT_ID"] == str(RESULT_ID)
    assert f"Baseline: `{good}`" in outcome.markdown()


def test_policy_baseline_file_is_relative_to_the_policy_not_the_working_directory(tmp_path):
    ci = tmp_path / "ci"
    policy_file(
        ci, "  success_rate: {max_drop: 0}\n", head="baseline: {file: baselines/nightly.json}\n"
    )
    write_json(ci / "baselines" / "nightly.json", example())
    # A decoy where a path relative to the working directory would point: it would fail.
    write_json(tmp_path / "baselines" / "nightly.json", variant(HUNG_UP) | {"success_rate": 100})
    current = write_json(tmp_path / "current.json", example())
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", "ci/gate.yaml", "--result-file", str(current)),
        cwd=tmp_path,
    )
    assert outcome.code == 0, outcome.stderr
    assert outcome.doc()["baseline"]["source"] == os.path.join("ci", "baselines", "nightly.json")
    assert "comparing with the baseline ci/baselines/nightly.json (2 runs)" in outcome.stderr
    assert outcome.check("success_rate.max_drop")["baseline"] == "50%"


def test_policy_baseline_file_falls_back_to_the_working_directory_when_not_beside_it(tmp_path):
    policy_file(
        tmp_path / "ci",
        "  success_rate: {max_drop: 0}\n",
        head="baseline: {file: baselines/nightly.json}\n",
    )
    write_json(tmp_path / "baselines" / "nightly.json", example())  # only here
    current = write_json(tmp_path / "current.json", example())
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", "ci/gate.yaml", "--result-file", str(current)),
        cwd=tmp_path,
    )
    assert outcome.code == 0, outcome.stderr
    assert outcome.doc()["baseline"]["source"] == os.path.join("baselines", "nightly.json")


def test_baseline_file_flag_overrides_the_policy_and_is_relative_to_the_working_directory(
    tmp_path, fake
):
    ci = tmp_path / "ci"
    # The policy names a baseline on the API; the flag wins, so the API is never asked.
    policy = policy_file(
        ci, "  success_rate: {max_drop: 10}\n", head=f"{FAST_WAIT}baseline: {{result_id: 9}}\n"
    )
    write_json(tmp_path / "mine.json", example())
    current = write_json(tmp_path / "current.json", variant(fail_run(274)))
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-file", str(current)),
        *("--baseline-file", "mine.json", "--api-url", fake.url),
        cwd=tmp_path,
    )
    assert outcome.code == 1
    assert outcome.doc()["baseline"]["source"] == "mine.json"
    assert outcome.check("success_rate.max_drop")["delta"] == "-50 pp"
    assert fake.requests == []


def test_policy_baseline_file_missing_names_the_resolved_path(tmp_path):
    policy = policy_file(
        tmp_path / "ci", "  success_rate: {max_drop: 5}\n", head="baseline: {file: nope.json}\n"
    )
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-file", str(RESULT_FILE)),
    )
    assert_no_verdict(outcome, str(tmp_path / "ci" / "nope.json"))


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "a-directory").mkdir()
    return tmp_path / "a-directory"


def _running(tmp_path: Path) -> Path:
    return Path(shutil.copy(RESULTS / "result_running.json", tmp_path / "running.json"))


BAD_BASELINE_FILES = [
    pytest.param(lambda tmp: tmp / "missing.json", "cannot read the file", id="missing"),
    pytest.param(_directory, "cannot read the file", id="unreadable"),
    pytest.param(
        lambda tmp: write_text(tmp / "b.json", '{"id": 1, "status": "comp'),
        "not valid JSON",
        id="truncated-json",
    ),
    pytest.param(lambda tmp: BULK_FILE, "not a Cekura result", id="runs-bulk-list"),
    pytest.param(_running, "is not finished", id="running"),
    pytest.param(lambda tmp: RESULTS / "result_failed_infra.json", "'failed'", id="failed"),
]


@pytest.mark.parametrize(("make", "fragment"), BAD_BASELINE_FILES)
def test_unusable_baseline_file_exits_3_and_every_report_says_why(tmp_path, make, fragment):
    policy = policy_file(tmp_path, "  success_rate: {max_drop: 5}\n  runs: {min_total: 1}\n")
    baseline = make(tmp_path)
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-file", str(RESULT_FILE)),
        *("--baseline-file", str(baseline)),
    )
    assert_no_verdict(outcome, fragment)
    assert f"baseline {baseline}" in outcome.error_lines()[0]
    assert len(outcome.stderr.splitlines()) == 1, outcome.stderr


@pytest.mark.parametrize("command", ["check", "run"])
def test_relative_rules_without_a_baseline_exit_3_before_anything_else(tmp_path, fake, command):
    rules = (
        "  success_rate: {min: 10, max_drop: 5}\n"
        "  metrics:\n    - {name: Latency, p50: {max: 5000, max_increase_percent: 10}}\n"
        "  critical_categories: {no_new_categories: [critical], max: {critical: 5}}\n"
    )
    head = f"{FAST_WAIT}run: {{agent_id: 12, scenario_ids: [101]}}\n"
    policy = policy_file(tmp_path, rules, head=head)
    source = ["--result-file", str(RESULT_FILE)] if command == "check" else []
    outcome = gate(
        tmp_path / "out",
        *(command, "--policy", str(policy), *source, "--api-url", fake.url),
        key=KEY,
    )
    assert_no_verdict(outcome, "no baseline given")
    line = outcome.error_lines()[0]
    for path in (
        "rules.success_rate.max_drop",
        "rules.metrics[0].p50",
        "rules.critical_categories.no_new_categories",
    ):
        assert path in line
    assert "--baseline-file" in line and "--baseline-result-id" in line
    assert fake.requests == []  # nothing started (and billed), nothing fetched


def test_relative_rule_that_is_off_needs_no_baseline(tmp_path):
    rules = '  runs: {min_total: 1}\n  success_rate: {max_drop: 5, level: "off"}\n'
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy_file(tmp_path, rules))),
        *("--result-file", str(RESULT_FILE)),
    )
    assert outcome.code == 0, outcome.stderr
    assert outcome.check("success_rate.max_drop")["outcome"] == "skip"
    assert outcome.doc()["baseline"] is None


@pytest.mark.parametrize(
    ("baseline", "rules", "check_id", "fragment"),
    [
        pytest.param(
            without_findings(example()),
            "  critical_categories: {no_new_categories: [critical]}\n",
            "critical_categories.no_new_categories.critical",
            "the baseline's findings are unknown",
            id="baseline-findings-unknown",
        ),
        pytest.param(
            variant(without_extra_metrics),
            "  metrics:\n    - {name: Average Ringing Duration, p50: {max_increase_percent: 10}}\n",
            "metrics[0].p50.max_increase_percent",
            "has no p50 in the baseline to compare with",
            id="metric-missing-from-the-baseline",
        ),
    ],
)
def test_what_cannot_be_compared_never_passes(tmp_path, baseline, rules, check_id, fragment):
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy_file(tmp_path, rules))),
        *("--result-file", str(RESULT_FILE)),
        *("--baseline-file", str(write_json(tmp_path / "base.json", baseline))),
    )
    assert outcome.code == 1, outcome.stdout
    check = outcome.check(check_id)
    assert check["outcome"] == "fail"
    assert fragment in check["reason"]


# --------------------------------------------------------------------------- baseline by result id

API_POLICY_RULES = (
    "  success_rate: {max_drop: 10}\n  critical_categories: {no_new_categories: [critical]}\n"
)


@pytest.mark.parametrize(
    ("current", "code", "categories_outcome"),
    [
        pytest.param(example(), 0, "pass", id="same-as-baseline"),
        pytest.param(variant(HUNG_UP), 1, "fail", id="new-critical-category"),
        pytest.param(variant(fail_run(274)), 1, "pass", id="success-rate-drop"),
    ],
)
def test_policy_baseline_result_id_fetches_findings_from_runs_bulk(
    tmp_path, fake, current, code, categories_outcome
):
    serve_baseline(fake)
    head = f"{FAST_WAIT}baseline: {{result_id: {BASE_ID}}}\n"
    policy = policy_file(tmp_path, API_POLICY_RULES, head=head)
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy)),
        *("--result-file", str(write_json(tmp_path / "current.json", current))),
        *("--api-url", fake.url, "--verbose"),
        key=KEY,
    )
    assert outcome.code == code, outcome.stderr
    assert [(r.path, r.query.get("run_ids")) for r in fake.requests] == [
        (BASE_PATH, None),
        (BULK_PATH, ["273,274"]),
    ]
    assert not fake.unauthorised_requests()
    assert outcome.doc()["baseline"] == {
        "id": BASE_ID,
        "name": "Nightly Sales.Inbound regression",
        "source": f"result {BASE_ID}",
        "success_rate": 50.0,
        "total_runs": 2,
    }
    assert outcome.dotenv()["CEKURA_BASELINE_RESULT_ID"] == str(BASE_ID)
    assert outcome.junit_properties()["baseline_source"] == f"result {BASE_ID}"
    categories = assert_compared(outcome, "critical_categories.no_new_categories.critical")
    assert categories["baseline"] == "1 category"  # 3295, found only through runs-bulk
    assert categories["outcome"] == categories_outcome
    assert assert_compared(outcome, "success_rate.max_drop")["baseline"] == "50%"


def _not_found(fake: FakeCekura) -> None:
    fake.add_result(RESULT_ID, [example()])  # another result exists; 150 does not


def _always_500(fake: FakeCekura) -> None:
    serve_baseline(fake)
    fake.fail_next(BASE_PATH, Fault(status=500), times=50)


def _still_running(fake: FakeCekura) -> None:
    running = json.loads((RESULTS / "result_running.json").read_text(encoding="utf-8"))
    fake.add_result(BASE_ID, [running | {"id": BASE_ID}])


def _failed(fake: FakeCekura) -> None:
    failed = json.loads((RESULTS / "result_failed_infra.json").read_text(encoding="utf-8"))
    fake.add_result(BASE_ID, [failed | {"id": BASE_ID}])


def _bulk_always_500(fake: FakeCekura) -> None:
    serve_baseline(fake)
    fake.fail_next(BULK_PATH, Fault(status=500), times=50)


def _echoes_the_key(fake: FakeCekura) -> None:
    fake.fail_next(BASE_PATH, Fault(status=400, echo_headers=True))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        pytest.param(_not_found, "not found", id="404"),
        pytest.param(_always_500, "failed after 7 attempts: HTTP 500", id="500-always"),
        pytest.param(_still_running, "not finished", id="still-running"),
        pytest.param(_failed, "baseline result 150", id="ended-failed"),
        pytest.param(_bulk_always_500, "HTTP 500", id="runs-bulk-500-always"),
        pytest.param(_echoes_the_key, "HTTP 400", id="400-echoing-the-key"),
    ],
)
def test_baseline_result_id_the_api_cannot_give_exits_3(tmp_path, fake, setup, fragment):
    setup(fake)
    policy = policy_file(tmp_path, API_POLICY_RULES, head=FAST_WAIT)
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-file", str(RESULT_FILE)),
        *("--baseline-result-id", str(BASE_ID), "--api-url", fake.url),
        key=KEY,
    )
    assert_no_verdict(outcome, fragment)
    assert outcome.error_lines()[0].startswith(f"{ERROR_PREFIX}baseline result {BASE_ID}")
    assert not fake.unauthorised_requests()


def test_run_reattached_compares_with_a_baseline_file_and_judges_waivers(tmp_path, fake):
    fake.add_result(RESULT_ID, [variant(fail_run(274))])
    rules = (
        "  success_rate: {max_drop: 10, level: warn, until: 2026-06-30, reason: new carrier}\n"
        "  runs: {min_total: 2}\n"
    )
    policy = policy_file(tmp_path, rules, head=FAST_WAIT)
    base = write_json(tmp_path / "base.json", example())
    args = ["run", "--policy", str(policy), "--result-id", str(RESULT_ID)]
    args += ["--baseline-file", str(base), "--api-url", fake.url]
    before = gate(tmp_path / "before", *args, "--as-of", "2026-06-30", key=KEY)
    after = gate(tmp_path / "after", *args, "--as-of", "2026-07-01", key=KEY)
    assert (before.code, after.code) == (0, 1)
    assert assert_compared(before, "success_rate.max_drop")["outcome"] == "warn"
    assert assert_compared(after, "success_rate.max_drop")["outcome"] == "fail"
    assert [w["state"] for w in (before.doc()["waivers"] + after.doc()["waivers"])] == [
        "active",
        "expired",
    ]
    assert fake.posts() == []  # re-attaching starts nothing


# --------------------------------------------------------------------------- baseline save


ROUND_TRIP_RULES = """\
  success_rate: {max_drop: 10}
  critical_categories: {no_new_categories: [critical, non-critical]}
  scenarios: {no_new_failures: true}
  metrics:
    - {name: Latency, p50: {max_increase_percent: 20}}
    - {name: Pronunciation Analysis, mean: {max_decrease_percent: 10}}
    - {name: Customer Sentiment, enum: {value: unsatisfied, max_percent: 100}}
    - {name: workflow-adherence-check, pass_percent: {max_drop: 0}}
"""


def assert_no_transcripts(text: str) -> None:
    assert '"transcript' not in text
    for fragment in TRANSCRIPT_TEXT:
        assert fragment not in text
    for run in bulk():  # nothing else free-text from the runs either
        assert run["expected_outcome_prompt"] not in text
        assert run["scenario_instructions"] not in text


def comparable(outcome: Outcome) -> tuple[Any, ...]:
    """The verdict, minus where the baseline came from."""
    document = outcome.doc()
    baseline = {key: value for key, value in document["baseline"].items() if key != "source"}
    return outcome.code, document["verdict"], document["checks"], baseline


@pytest.mark.parametrize(
    ("current", "code"),
    [pytest.param(worse(), 1, id="regressed"), pytest.param(example(), 0, id="unchanged")],
)
def test_saved_baseline_gives_the_verdict_the_original_result_gives(tmp_path, current, code):
    saved = run_cli(
        *("baseline", "save", "--result-file", str(RESULT_FILE), "--runs-file", str(BULK_FILE)),
        cwd=tmp_path,
    )
    assert saved.code == 0, saved.stderr
    assert saved.stdout.startswith("baseline.json: baseline of result 167 (2 runs, ")
    text = (tmp_path / "baseline.json").read_text(encoding="utf-8")
    assert_no_transcripts(text)
    document = json.loads(text)
    assert document["cekura_gate_baseline"]["result_id"] == RESULT_ID
    original = write_json(tmp_path / "original.json", merge_run_details(example(), bulk()))
    assert len(text) < original.stat().st_size / 2

    policy = policy_file(tmp_path, ROUND_TRIP_RULES)
    current_file = write_json(tmp_path / "current.json", current)
    judge = ("check", "--policy", str(policy), "--result-file", str(current_file))
    with_saved = gate(tmp_path / "saved", *judge, "--baseline-file", "baseline.json", cwd=tmp_path)
    with_original = gate(tmp_path / "orig", *judge, "--baseline-file", str(original))
    assert with_saved.code == code
    assert comparable(with_saved) == comparable(with_original)
    assert with_saved.doc()["baseline"]["source"] == "baseline.json"


def test_baseline_save_from_the_api_keeps_findings_and_drops_transcripts(tmp_path, fake):
    fake.add_result(RESULT_ID, [without_findings(example())])
    fake.add_runs(bulk())
    target = tmp_path / "out" / "baselines" / "nightly.json"
    saved = run_cli(
        *("baseline", "save", "--result-id", str(RESULT_ID), "--output", str(target)),
        *("--api-url", fake.url),
        env={"CEKURA_API_KEY": KEY},
    )
    assert saved.code == 0, saved.stderr
    assert saved.stdout.startswith(f"{target}: baseline of result 167 (2 runs, ")
    assert [request.path for request in fake.requests] == [
        f"/test_framework/v2/results/{RESULT_ID}/",
        BULK_PATH,
    ]
    text = target.read_text(encoding="utf-8")
    assert_no_transcripts(text)
    runs = json.loads(text)["runs"]
    assert [f["category_id"] for f in runs["273"]["critical_categories"]] == [3295, 3284, 2950]
    assert_no_key(Outcome(saved.code, saved.stdout, saved.stderr, tmp_path), tmp_path)

    # Read back: the same result judged against it shows no new category and no drop.
    policy = policy_file(tmp_path, API_POLICY_RULES)
    outcome = gate(
        tmp_path / "check",
        *("check", "--policy", str(policy), "--result-file", str(RESULT_FILE)),
        *("--baseline-file", str(target)),
    )
    assert outcome.code == 0, outcome.stdout
    assert outcome.check("critical_categories.no_new_categories.critical")["delta"] == "+0 new"


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("result_running.json", "running"),
        ("result_failed_infra.json", "failed"),
        ("result_timeout_outbound.json", "timeout"),
    ],
)
def test_baseline_save_refuses_a_result_that_did_not_complete(tmp_path, name, status):
    saved = run_cli(
        *("baseline", "save", "--result-file", str(RESULTS / name)),
        *("--output", str(tmp_path / "b.json")),
    )
    assert saved.code == 3
    assert saved.stdout == ""
    [line] = saved.stderr.splitlines()
    assert line.startswith(ERROR_PREFIX) and f"'{status}'" in line
    assert not (tmp_path / "b.json").exists()


def test_baseline_save_from_the_api_refuses_a_running_result(tmp_path, fake):
    _still_running(fake)
    saved = run_cli(
        *("baseline", "save", "--result-id", str(BASE_ID), "--output", str(tmp_path / "b.json")),
        *("--api-url", fake.url),
        env={"CEKURA_API_KEY": KEY},
    )
    assert saved.code == 3
    [line] = saved.stderr.splitlines()
    assert line.startswith(ERROR_PREFIX) and "not finished" in line
    assert not (tmp_path / "b.json").exists()


def test_baseline_save_gives_up_within_its_timeout(tmp_path, fake):
    """--timeout bounds the fetch (it once did not: a failing API was retried for a minute)."""
    fake.fail_next(f"/test_framework/v2/results/{RESULT_ID}/", Fault(status=503), times=50)
    command = ["baseline", "save", "--result-id", str(RESULT_ID)]
    command += ["--timeout", "1s", "--api-url", fake.url, "--output", str(tmp_path / "b.json")]
    env = gate_env(KEY)
    proc = run_gate(command, env=env, limit=6)  # still retrying 6 s later fails the test
    assert proc.returncode == 3
    [line] = proc.stderr.splitlines()[-1:]
    assert line.startswith(ERROR_PREFIX) and "HTTP 503" in line, proc.stderr
    assert KEY not in proc.stdout + proc.stderr
    assert not (tmp_path / "b.json").exists()


# --------------------------------------------------------------------------- usage errors

USAGE = [
    pytest.param(("check", "--as-of", "2026-13-01"), "argument --as-of", id="as-of-month-13"),
    pytest.param(("run", "--result-id", "7", "--as-of", "30/06/2026"), "--as-of", id="run-as-of"),
    pytest.param(
        ("check", "--baseline-file", "b.json", "--baseline-result-id", "5"),
        "not allowed with argument",
        id="both-baseline-flags",
    ),
    pytest.param(
        ("check", "--baseline-result-id", "0"), "argument --baseline-result-id", id="id-zero"
    ),
    pytest.param(("baseline", "save"), "--result-file", id="save-without-source"),
    pytest.param(
        ("baseline", "save", "--result-file", "r.json", "--result-id", "3"),
        "not allowed with argument",
        id="save-with-both-sources",
    ),
    pytest.param(("baseline",), "required", id="baseline-without-action"),
    pytest.param(
        ("validate", "--against", "r.json", "--result-id", "3"),
        "not allowed with argument",
        id="validate-with-both-sources",
    ),
]


@pytest.mark.parametrize(("args", "fragment"), USAGE)
def test_bad_flags_exit_2_with_one_line(tmp_path, args, fragment):
    gating = args[0] in ("check", "run")
    extra = ("--result-file", str(RESULT_FILE)) if args[0] == "check" else ()
    out = tmp_path / "out"
    if gating:
        policy = policy_file(tmp_path, "  runs: {min_total: 1}\n")
        outcome = gate(out, *args, *extra, "--policy", str(policy))
    else:
        run = run_cli(*args)
        outcome = Outcome(run.code, run.stdout, run.stderr, out)
    assert outcome.code == 2
    assert "Traceback" not in outcome.stderr
    [line] = outcome.stderr.splitlines()
    assert line.startswith(ERROR_PREFIX) and fragment in line, line
    if gating:
        assert_no_verdict(outcome, fragment, code=2)


def test_baseline_category_count_is_spelled_right(tmp_path):
    """'2 categories', not '2 categorys' (as it once was)."""
    baseline = variant(HUNG_UP)  # critical categories 3295 and 4001
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy_file(tmp_path, API_POLICY_RULES))),
        *("--result-file", str(RESULT_FILE)),
        *("--baseline-file", str(write_json(tmp_path / "b.json", baseline))),
    )
    assert outcome.code == 0
    check = outcome.check("critical_categories.no_new_categories.critical")
    assert check["baseline"] == "2 categories"


def test_baseline_save_refuses_a_result_that_lists_fewer_runs_than_it_counts(tmp_path):
    partial = example()
    partial["runs"] = {}  # e.g. a summary fetched with ql={-runs}
    source = write_json(tmp_path / "partial.json", partial)
    saved = run_cli(
        *("baseline", "save", "--result-file", str(source)),
        *("--output", str(tmp_path / "b.json")),
    )
    assert saved.code == 3
    [line] = saved.stderr.splitlines()
    assert "lists no runs" in line and "--runs-file" in line
    assert not (tmp_path / "b.json").exists()


def test_a_baseline_that_is_the_result_itself_is_noted(tmp_path):
    policy = policy_file(tmp_path, "  success_rate: {max_drop: 5}\n")
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-file", str(RESULT_FILE)),
        *("--baseline-file", str(RESULT_FILE)),
    )
    assert outcome.code == 0
    note = "the baseline is result 167 itself"
    assert any(note in item for item in outcome.doc()["notes"])
    assert note in outcome.stdout


def test_baseline_save_refuses_a_result_without_runs(tmp_path):
    empty = {"id": 5, "status": "completed", "success_rate": 40}
    source = write_json(tmp_path / "empty.json", empty)
    saved = run_cli(
        *("baseline", "save", "--result-file", str(source), "--output", str(tmp_path / "b.json"))
    )
    assert saved.code == 3 and "lists no runs" in saved.stderr
    assert not (tmp_path / "b.json").exists()
