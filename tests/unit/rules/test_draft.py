"""A policy drafted from a result (gate.rules.draft) and the starter policy
(gate.policy.starter): valid as written, passed by the result it came from, failed by that
result with one more failed run or one metric's p50 20 % worse; each value explained, and
what the result cannot support left out with a reason."""

from __future__ import annotations

import copy
import decimal
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.policy.load import parse_policy
from gate.policy.model import MetricRule, Policy
from gate.policy.starter import comment_text, starter_policy
from gate.policy.units import DEFAULT_MARGIN_PERCENT
from gate.policy.yamlload import load_yaml
from gate.results.model import MetricKind, Result
from gate.results.normalise import normalise
from gate.rules.draft import (
    HIGHER_IS_BETTER_WORDS,
    LOWER_IS_BETTER_WORDS,
    Direction,
    draft_policy,
    metric_direction,
    metric_subjects,
    metric_unit,
    yaml_text,
)
from gate.rules.evaluate import Verdict, VerdictStatus, evaluate
from gate.rules.lint import lint
from tests.conftest import ROOT, make_result, make_run
from tests.variants import (
    Case,
    Payload,
    cases,
    finished,
    latency,
    legacy_priorities,
    many_runs,
    one_more_failed_run,
    some_infrastructure,
    worse_metric,
)

SCHEMA = json.loads((ROOT / "gate" / "policy" / "policy.schema.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CASES = list(cases())
RULE_FAMILIES = (
    "success_rate",
    "expected_outcomes",
    "runs",
    "infrastructure",
    "critical_categories",
    "metrics",
    "scenarios",
)


def drafted(payload: Payload, margin: float = DEFAULT_MARGIN_PERCENT) -> tuple[Result, Policy]:
    result = normalise(payload)
    text = draft_policy(result, margin).text
    return result, parse_policy(text, source="gate.yaml")


def failed_keys(verdict: Verdict) -> set[str]:
    return {check.key for check in verdict.failed_checks}


def draft_text(payload: Payload, margin: float = DEFAULT_MARGIN_PERCENT) -> str:
    return draft_policy(normalise(payload), margin).text


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_draft_is_valid_and_passed_by_the_result_it_came_from(case: Case):
    text = draft_text(case.payload)
    assert list(VALIDATOR.iter_errors(load_yaml(text))) == []
    result, policy = drafted(case.payload)
    verdict = evaluate(policy, result)
    if result.status.value == "completed":
        assert verdict.status is VerdictStatus.PASS, failed_keys(verdict)
    else:  # failed, timeout: no run connected, so check fails the result itself and nothing
        # was judged: an infrastructure failure, never the agent's by a rule set from it
        if result.runs:
            assert "result.status" in failed_keys(verdict)
            assert verdict.failure == "infrastructure", failed_keys(verdict)
        else:  # no run listed: nothing tells why it ended so
            assert failed_keys(verdict) == {"result.status"}
    assert [issue.message for issue in lint(policy, result) if issue.blocking] == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_one_more_failed_run_fails_the_draft(case: Case):
    _, policy = drafted(case.payload)
    verdict = evaluate(policy, normalise(case.worse(one_more_failed_run)))
    assert verdict.status is VerdictStatus.FAIL
    assert "runs.max_failed" in failed_keys(verdict)


def bounded_metrics() -> list[tuple[Case, int, MetricRule]]:
    found = []
    for case in CASES:
        _, policy = drafted(case.payload)
        found += [(case, index, rule) for index, rule in enumerate(policy.rules.metrics)]
    return found


METRIC_CASES = bounded_metrics()


def test_the_cases_bound_metrics_of_every_direction():
    p50s = [rule.p50 for _, _, rule in METRIC_CASES if rule.p50 is not None]
    assert len(p50s) == len(METRIC_CASES) > 20
    assert {(p50.min is not None, p50.max is not None) for p50 in p50s} == {
        (True, False),
        (False, True),
        (True, True),
    }


@pytest.mark.parametrize(
    ("case", "index", "rule"),
    METRIC_CASES,
    ids=[f"{case.name}/{rule.label}" for case, _, rule in METRIC_CASES],
)
def test_a_metric_20_percent_worse_fails_the_draft(case: Case, index: int, rule: MetricRule):
    assert rule.p50 is not None
    factor = 1.2 if rule.p50.max is not None else 0.8  # slower, or a lower rating
    worse = case.worse(lambda base: worse_metric(base, rule.name or "", rule.id, factor))
    _, policy = drafted(case.payload)
    verdict = evaluate(policy, normalise(worse))
    assert f"metrics[{index}].p50" in failed_keys(verdict)


def test_one_more_finding_of_a_priority_fails_the_draft():
    base = finished("completed-mixed")
    _, policy = drafted(base)
    worse = copy.deepcopy(base)
    worse["runs"]["274"]["critical_categories"] = [
        {"category_id": 1, "category": "Rude", "priority": "non-critical"}
    ]
    verdict = evaluate(policy, normalise(worse))
    assert failed_keys(verdict) == {"critical_categories.max.non-critical"}


def test_a_scenario_that_passes_less_often_fails_the_draft():
    base = finished("completed-mixed")
    _, policy = drafted(base)
    worse = copy.deepcopy(base)
    worse["runs"]["274"]["success"] = False
    verdict = evaluate(policy, normalise(worse))
    assert any(key.startswith("scenarios[0].min_passes") for key in failed_keys(verdict))


@given(
    st.lists(
        st.tuples(st.booleans(), st.floats(min_value=1, max_value=1e6, allow_nan=False)),
        min_size=1,
        max_size=40,
    ),
    st.floats(min_value=0, max_value=15),
)
def test_any_factory_result_round_trips(runs: list[tuple[bool, float]], margin: float):
    base = make_result(
        [
            make_run(number, success=ok, evaluation={"metrics": [latency(score)]})
            for number, (ok, score) in enumerate(runs, 1)
        ]
    )
    result, policy = drafted(base, margin)
    assert failed_keys(evaluate(policy, result)) == set()
    worse = evaluate(policy, normalise(one_more_failed_run(base)))
    assert "runs.max_failed" in failed_keys(worse)
    slower = evaluate(policy, normalise(worse_metric(base, "Latency", 33, 1.2)))
    assert "metrics[0].p50" in failed_keys(slower)


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("observed", "margin", "key", "written"),
    [
        (2358.02, 10, "max", "2594"),  # four significant digits, whole from 1,000
        (76.5, 10, "min", "68.85"),
        (2.1, 10, "max", "2.31"),
        (0.465, 12.5, "max", "0.5232"),  # 0.523125, rounded up
        (0.465, 12.5, "min", "0.4068"),  # 0.406875, rounded down
        (1000.0, 0, "max", "1000"),
        (1234.56, 0, "max", "1235"),  # outward, never tighter than observed
        (1234.56, 0, "min", "1234"),
        (0.0, 10, "max", "0"),
        (-50.0, 10, "max", "-45"),  # towards worse, whatever the sign
        (1e300, 10, "max", "11" + "0" * 299),  # a huge value keeps its leading digits
    ],
)
def test_bounds_are_rounded_outward_to_four_significant_digits(observed, margin, key, written):
    payload = make_result(
        [
            make_run(
                1, evaluation={"metrics": [latency(observed) if key == "max" else rating(observed)]}
            )
        ]
    )
    text = draft_text(payload, margin)
    assert f"p50: {{{key}: {written}}}" in text
    result, policy = drafted(payload, margin)
    assert failed_keys(evaluate(policy, result)) == set()


def rating(score: float) -> dict[str, Any]:
    return {"id": 50, "name": "Empathy", "type": "continuous_qualitative", "score": score}


@pytest.mark.parametrize(
    ("rate", "written"),
    [(100.0, "90"), (50.0, "45"), (1.0, '"0.9%"'), (66.66666666666667, "60"), (0.0, "0")],
)
def test_success_rate_is_a_percent_the_policy_reads_as_meant(rate, written):
    # a failed run: a rate of 1 then reads as 1 %, not as the fraction 1 of a passed run
    payload = make_result([make_run(1, success=rate > 50)], success_rate=rate)
    assert f"    min: {written}\n" in draft_text(payload)
    result, policy = drafted(payload)
    assert "success_rate.min" not in failed_keys(evaluate(policy, result))


def test_a_bound_of_zero_says_it_checks_nothing():
    # Its one run failed; an empty failed_infrastructure_runs says it was the agent's
    text = draft_text({**finished("failed-infra"), "failed_infrastructure_runs": []})
    assert text.count("  # The bound is 0, so it checks nothing yet") == 2  # rate, outcomes


def test_rules_are_drafted_from_the_runs_that_connected_and_infrastructure_is_capped():
    base = some_infrastructure()
    result, policy = drafted(base)
    rules = policy.rules
    assert rules.infrastructure is not None and rules.infrastructure.max == 2
    assert rules.success_rate is not None and rules.success_rate.min == 45  # 2 of 4, less 10 %
    assert rules.runs is not None and (rules.runs.min_total, rules.runs.max_failed) == (6, 2)
    assert evaluate(policy, result).status is VerdictStatus.PASS
    # one more call that never connected: the infrastructure rule alone fails (exit 4)
    worse = one_more_failed_run(base)
    worse["failed_infrastructure_runs"] = [5, 6, 7]
    verdict = evaluate(policy, normalise(worse))
    assert failed_keys(verdict) == {"infrastructure.max"}
    assert verdict.failure == "infrastructure"


def test_a_result_without_infrastructure_failures_caps_them_at_zero():
    _, policy = drafted(many_runs())
    assert policy.rules.infrastructure is not None
    assert policy.rules.infrastructure.max == 0


# --------------------------------------------------------------------------- metrics


@pytest.mark.parametrize(
    ("name", "kinds", "direction"),
    [
        ("Latency", {MetricKind.NUMERIC}, Direction.LOWER_IS_BETTER),
        ("Average Ringing Duration", {MetricKind.NUMERIC}, Direction.LOWER_IS_BETTER),
        ("Time to First Word", {MetricKind.NUMERIC}, Direction.LOWER_IS_BETTER),
        ("silence-duration", {MetricKind.NUMERIC}, Direction.LOWER_IS_BETTER),
        ("Interruptions", {MetricKind.NUMERIC}, Direction.LOWER_IS_BETTER),
        ("CSAT", {MetricKind.NUMERIC}, Direction.HIGHER_IS_BETTER),
        ("Instruction Adherence Score", {MetricKind.NUMERIC}, Direction.HIGHER_IS_BETTER),
        ("Pronunciation Analysis", {MetricKind.QUALITATIVE}, Direction.HIGHER_IS_BETTER),
        ("Voice Tone", {MetricKind.QUALITATIVE}, Direction.HIGHER_IS_BETTER),  # a rating
        ("Timeliness", {MetricKind.NUMERIC}, Direction.UNKNOWN),  # whole words only
        ("Talk Ratio", {MetricKind.NUMERIC}, Direction.UNKNOWN),
        ("Response Time Score", {MetricKind.NUMERIC}, Direction.UNKNOWN),  # both lists
        ("Wait Time", {MetricKind.QUALITATIVE}, Direction.LOWER_IS_BETTER),  # name wins
    ],
)
def test_a_metrics_direction_comes_from_its_name_then_its_kind(name, kinds, direction):
    assert metric_direction(name, kinds)[0] is direction


def test_the_direction_words_are_the_documented_ones():
    documented = (ROOT / "docs" / "init.md").read_text("utf-8").replace("(s)", "").lower()
    for word in sorted(LOWER_IS_BETTER_WORDS | HIGHER_IS_BETTER_WORDS):
        stem = word.removesuffix("s").removesuffix("ion")
        assert stem in documented, word


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("Latency", "milliseconds"),
        ("Agent latency (p50)", "milliseconds"),
        ("Average Ringing Duration", "seconds"),
        ("Talk Ratio", None),
        ("Call Duration", None),
    ],
)
def test_units_are_stated_only_where_known(name, unit):
    found = metric_unit(name)
    assert (found[0] if found else None) == unit


def test_the_draft_explains_each_metric_bound():
    text = draft_text(finished("completed-mixed"))
    assert (
        "    # Latency, in milliseconds: observed p50 2,358.02 ms "
        "(overall_evaluation.numeric_metrics);\n"
        "    # 'latency' in its name: lower is better, so max = observed + 10 %.\n"
        "    - name: Latency\n      id: 33\n      p50: {max: 2594}\n"
    ) in text
    assert "    # Pronunciation Analysis, unit not stated by the result:" in text
    assert "  #   Call Pickup (id 2): binary, no p50 (a pass_percent rule can gate it)" in text
    assert "  #   Customer Sentiment (id 41): enum, no p50 (an enum rule can gate it)" in text


def test_a_summary_entry_without_an_id_joins_the_metric_of_that_name():
    subjects = metric_subjects(normalise(finished("completed-mixed")))
    latencies = [subject for subject in subjects if subject.name == "Latency"]
    assert [(subject.id, subject.name) for subject in latencies] == [(33, "Latency")]


def test_two_metrics_of_one_name_are_bounded_by_id():
    runs = [
        make_run(1, evaluation={"metrics": [latency(100.0, 33), latency(900.0, 34)]}),
        make_run(2, evaluation={"metrics": [latency(120.0, 33), latency(1100.0, 34)]}),
    ]
    _, policy = drafted(make_result(runs))
    bounds = [(rule.id, rule.p50.max if rule.p50 else None) for rule in policy.rules.metrics]
    assert bounds == [(33, 121), (34, 1100)]


# --------------------------------------------------------------------------- findings


def test_findings_are_capped_in_the_vocabulary_the_result_uses():
    modern = parse_policy(draft_text(finished("completed-mixed")), source="gate.yaml")
    assert modern.rules.critical_categories is not None
    assert modern.rules.critical_categories.max == (("critical", 1), ("non-critical", 1))
    legacy_text = draft_text(legacy_priorities(finished("completed-mixed")))
    legacy = parse_policy(legacy_text, source="gate.yaml")
    assert legacy.rules.critical_categories is not None
    assert legacy.rules.critical_categories.max == (("high", 1), ("medium", 1), ("low", 0))


def test_a_finding_of_an_unknown_priority_counts_against_every_cap():
    payload = finished("completed-mixed")
    payload["runs"]["274"]["critical_categories"] = [
        {"category_id": 5, "category": "Odd", "priority": "urgent"}
    ]
    text = draft_text(payload)
    assert "priority the gate does not know (urgent): they count against every cap" in text
    policy = parse_policy(text, source="gate.yaml")
    assert policy.rules.critical_categories is not None
    assert policy.rules.critical_categories.max == (("critical", 2), ("non-critical", 2))


# --------------------------------------------------------------------------- left out


def test_without_findings_on_the_runs_the_caps_are_left_out_with_how_to_get_them():
    payload = finished("completed-mixed")
    for run in payload["runs"].values():
        run.pop("critical_categories")
    draft = draft_policy(normalise(payload))
    assert "critical_categories" not in draft.rules
    assert "  # critical_categories: left out: the result's runs do not all carry" in draft.text
    assert "with --runs-file (the runs-bulk response) or" in draft.text


def test_a_result_listing_some_of_its_runs_sets_nothing_from_the_runs():
    payload = finished("completed-mixed")
    payload["total_runs_count"] = 5
    payload["overall_evaluation"] = None
    draft = draft_policy(normalise(payload))
    assert draft.rules == ("success_rate", "expected_outcomes", "runs")
    assert "  # scenarios: left out: result 167 lists 2 of its 5 runs" in draft.text
    assert "its p50 would come from runs the result does not all list" in draft.text
    assert "    max_failed: 4  " in draft.text  # the unlisted runs count as failed, as in check


def test_a_scenario_no_rule_can_select_alone_is_named_not_guessed():
    runs = [
        make_run(1, scenario=5, scenario_name="Book", success=True),
        make_run(2, scenario=None, scenario_name="book", success=False),
    ]
    draft = draft_policy(normalise(make_result(runs)))
    assert "    - match: 5\n      min_passes: 1\n" in draft.text
    assert "  # Not selectable (no id, and a name another scenario of the result has" in draft.text
    result, policy = drafted(make_result(runs))
    assert failed_keys(evaluate(policy, result)) == set()


@pytest.mark.parametrize(
    ("fixture", "note"),
    [
        ("failed-infra", "result 77 ended 'failed': check fails a result that ends failed"),
        ("timeout-outbound", "result 168 ended 'timeout'"),
    ],
)
def test_a_result_that_ended_badly_gets_a_note(fixture, note):
    draft = draft_policy(normalise(finished(fixture)))
    assert [n for n in draft.notes if note in n]
    assert f"\n# Note: {note.split(':')[0]}:" in draft.text


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    "text",
    [
        "Latency",
        "Customer Support Call (Agent Inbound = True)",
        'Refund: "full" # fast',
        "true",
        "No",
        "12",
        "1:30",
        "  padded",
        "*",
        "- dash",
        "Ünïcode – naïve",
        "line\u2028separator",
        "nel\x85line",
        "tab\there",
        "back\\slash",
        "emoji \U0001f600",
        "bom\ufeff",
    ],
)
def test_yaml_text_reads_back_as_exactly_the_text(text):
    assert load_yaml(f"key: {yaml_text(text)}\n") == {"key": text}


def test_comment_text_is_one_printable_line():
    assert comment_text("a\nb\u2028c\x85d\te") == "a b c d e"
    assert comment_text("x" * 300, 10) == "x" * 9 + "\u2026"


def test_the_header_says_where_the_policy_came_from_and_how_to_check_it():
    draft = draft_policy(normalise(finished("completed-mixed")), 12.5, "ci/gate policy.yaml")
    assert draft.text.startswith(
        "# cekura-gate policy drafted by `cekura-gate init` from result 167\n"
        '# "Nightly Sales.Inbound regression", agent "Customer Support Agent": '
        "status completed, 2 runs.\n"
        "# Each bound is what that result measured: rates and metric p50s loosened by a 12.5 %\n"
    )
    assert (
        "cekura-gate validate --policy 'ci/gate policy.yaml' --against RESULT.json\n" in draft.text
    )
    assert "#   scenario_ids: [1, 2]  # the scenarios result 167 ran\n" in draft.text


def test_every_line_of_a_draft_is_short_enough_to_read():
    for case in CASES:
        lines = draft_text(case.payload).splitlines()
        long = [line for line in lines if len(line) > 110 and not line.lstrip().startswith("-")]
        assert long == [], case.name


# --------------------------------------------------------------------------- starter


def test_the_starter_is_valid_covers_every_family_and_explains_every_line():
    text = starter_policy()
    policy = parse_policy(text, source="gate.yaml")
    assert [name for name in RULE_FAMILIES if getattr(policy.rules, name)] == list(RULE_FAMILIES)
    assert list(VALIDATOR.iter_errors(load_yaml(text))) == []
    assert policy.run is None and "# wait:" in text and "# run:" in text
    bare = [
        line
        for line in text.splitlines()
        if line.strip() and "#" not in line and not line.strip().endswith(":")
    ]
    assert bare == [], "every value has a comment"


@pytest.mark.parametrize(
    ("path", "hint"),
    [
        (None, "# Check this file with: cekura-gate validate\n"),
        ("ci/gate.yaml", "# Check this file with: cekura-gate validate --policy ci/gate.yaml\n"),
        ("my gate.yaml", "cekura-gate validate --policy 'my gate.yaml'\n"),
    ],
)
def test_the_starter_names_the_path_it_is_written_to(path, hint):
    assert hint in starter_policy(path)


def test_the_margin_default_is_the_documented_one():
    assert DEFAULT_MARGIN_PERCENT == 10.0
    assert "--margin PCT` (default 10," in (ROOT / "docs" / "init.md").read_text("utf-8")


def test_rounding_never_leaves_the_decimal_context_of_the_caller():
    before = decimal.getcontext().prec
    draft_text(make_result([make_run(1, evaluation={"metrics": [latency(1e300)]})]))
    assert decimal.getcontext().prec == before
