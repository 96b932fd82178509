"""Per-metric rules computed from runs (gate.rules.metrics): binary pass percent, mean score, p50
from runs, enum share.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.policy.model import MetricRule
from gate.results.model import MetricKind, MetricValue
from gate.rules.checks import Outcome
from gate.rules.metrics import RunMetrics, Taken
from tests.conftest import make_run
from tests.unit.rules.builders import (
    Payload,
    greeting,
    judge,
    numeric,
    result,
    sentiment,
    the_check,
    v2,
    with_metrics,
)


def legacy(score: float) -> Payload:
    return greeting(type="binary_workflow_adherence", score=score)


def hundred(score: float) -> Payload:
    return greeting(type="binary_qualitative", score=score)


@pytest.mark.parametrize(
    ("rule", "runs", "outcome", "actual", "run_ids"),
    [
        pytest.param(
            "{name: greeting, pass_percent: {min: 50}}", with_metrics([v2(True)], [v2(False)]),
            Outcome.PASS, "50% (1 of 2 runs)", (2,),
            id="v2-passed-flag",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 50}}",
            with_metrics([legacy(5)], [legacy(0)], [legacy(0)]),
            Outcome.FAIL, "33.33% (1 of 3 runs)", (2, 3),
            id="legacy-score-5-or-0",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 50}}", with_metrics([hundred(100)], [hundred(0)]),
            Outcome.PASS, "50% (1 of 2 runs)", (2,),
            id="score-100-or-0",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 50}}",
            with_metrics(
                [greeting(eval_type="binary", score_normalized=0, score=5)],
                [greeting(eval_type="binary", score_normalized=1, score=0)],
                [greeting(eval_type="binary", score_normalized=0.0, score=100)],
            ),
            Outcome.FAIL, "33.33% (1 of 3 runs)", (1, 3),
            id="score-normalized-decides-over-score",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 50}}",
            with_metrics([greeting(passed=True)], [greeting(passed="false")]),
            Outcome.PASS, "50% (1 of 2 runs)", (2,),
            id="untyped-metric-with-passed-is-binary",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 100}}",
            with_metrics([v2(True)], [], [numeric(5)], [legacy(5)]),
            Outcome.PASS, "100% (2 of 2 runs)", (),
            id="runs-without-the-metric-are-ignored",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 75}}",
            with_metrics([v2(True)], [legacy(5)], [hundred(100)], [v2(False)]),
            Outcome.PASS, "75% (3 of 4 runs)", (4,),
            id="mixed-encodings-exactly-at-the-limit",
        ),
        pytest.param(
            "{id: 3, pass_percent: {min: 51}}", with_metrics([v2(True)], [legacy(0)]),
            Outcome.FAIL, "50% (1 of 2 runs)", (2,),
            id="matched-by-id",
        ),
        pytest.param(
            "{name: latency, pass_percent: {min: 0}}", with_metrics([numeric(900)]),
            Outcome.FAIL, "not found", (),
            id="numeric-metric-has-no-pass-percent",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 0}}", with_metrics([]),
            Outcome.FAIL, "not found", (),
            id="metric-absent-fails-closed",
        ),
    ],
)  # fmt: skip
def test_pass_percent(rule, runs, outcome, actual, run_ids):
    check = the_check(judge(f"metrics: [{rule}]", runs), "metrics[0].pass_percent")
    assert (check.outcome, check.actual, check.run_ids) == (outcome, actual, run_ids)


@pytest.mark.parametrize(
    ("runs", "reason"),
    [
        pytest.param(
            with_metrics([numeric(900, name="Greeting")]),
            "metric 'greeting' is numeric in this result, so it has no binary pass/fail",
            id="numeric",
        ),
        pytest.param(
            with_metrics([greeting(eval_type="enum", value="yes")]),
            "metric 'greeting' is enum in this result, so it has no binary pass/fail",
            id="enum",
        ),
        pytest.param(
            with_metrics([numeric(1)]),
            "metric 'greeting' is not in this result (metrics present: 'Latency')",
            id="absent",
        ),
    ],
)
def test_pass_percent_on_a_metric_that_is_not_binary_names_its_kind(runs, reason):
    check = the_check(
        judge("metrics: [{name: greeting, pass_percent: {min: 0}}]", runs),
        "metrics[0].pass_percent",
    )
    assert check.outcome is Outcome.FAIL
    assert check.reason == reason


@pytest.mark.parametrize(
    ("current", "baseline", "outcome", "base_shown", "delta"),
    [
        pytest.param(
            with_metrics([v2(True)], [v2(True)], [v2(True)], [v2(False)]),
            with_metrics([v2(True)], [legacy(5)]),
            Outcome.PASS, "100%", "-25 pp",
            id="drop-exactly-at-the-limit",
        ),
        pytest.param(
            with_metrics([v2(True)], [v2(False)]),
            with_metrics([v2(True)], [legacy(5)]),
            Outcome.FAIL, "100%", "-50 pp",
            id="drop-over-the-limit",
        ),
        pytest.param(
            with_metrics([v2(True)]),
            with_metrics([numeric(3, name="Greeting")]),
            Outcome.FAIL, "", "",
            id="baseline-without-binary-results",
        ),
    ],
)  # fmt: skip
def test_pass_percent_max_drop(current, baseline, outcome, base_shown, delta):
    check = the_check(
        judge("metrics: [{name: Greeting, pass_percent: {max_drop: 25}}]", current, baseline),
        "metrics[0].pass_percent.max_drop",
    )
    assert check.outcome is outcome
    assert (check.baseline, check.delta) == (base_shown, delta)


def empathy(score: float | None, kind: str | None = "continuous_qualitative") -> Payload:
    metric: Payload = {"name": "Empathy", "score": score}
    if kind is not None:
        metric["type"] = kind
    return metric


@pytest.mark.parametrize(
    ("runs", "outcome", "actual"),
    [
        pytest.param(
            with_metrics([empathy(80)], [empathy(90)]), Outcome.PASS, "85", id="qualitative",
        ),
        pytest.param(
            with_metrics([empathy(80, "numeric")], [empathy(95, "numeric")]), Outcome.PASS, "87.5",
            id="numeric-at-the-upper-bound",
        ),
        pytest.param(
            with_metrics([empathy(85, "rating")], [empathy(86, None)]), Outcome.PASS, "85.5",
            id="rating-and-untyped-scores",
        ),
        pytest.param(
            with_metrics([empathy(80)], [], [empathy(None)], [empathy(90)]), Outcome.PASS, "85",
            id="runs-without-a-score-are-ignored",
        ),
        pytest.param(
            with_metrics([empathy(70)], [empathy(89)]), Outcome.FAIL, "79.5", id="below-min",
        ),
        pytest.param(
            with_metrics([empathy(100)], [empathy(92)]), Outcome.FAIL, "96", id="above-max",
        ),
        pytest.param(
            with_metrics(
                [{"name": "Empathy", "eval_type": "binary", "passed": True, "score": 100}],
                [{"name": "Empathy", "eval_type": "enum", "value": "warm", "score": 90}],
            ),
            Outcome.FAIL, "not found",
            id="binary-and-enum-scores-are-not-averaged",
        ),
    ],
)  # fmt: skip
def test_mean_score(runs, outcome, actual):
    check = the_check(
        judge("metrics: [{name: empathy, mean: {min: 80, max: 87.5}}]", runs), "metrics[0].mean"
    )
    assert (check.outcome, check.actual) == (outcome, actual)


MOODS = with_metrics(
    [sentiment("frustrated")],
    [sentiment("Calm", "enum")],
    [sentiment("calm")],
    [sentiment(" FRUSTRATED ", "enum")],
    [],
)


@pytest.mark.parametrize(
    ("share", "runs", "outcome", "actual", "run_ids"),
    [
        pytest.param(
            "{value: Frustrated, max_percent: 50}", MOODS, Outcome.PASS, "50% (2 of 4 runs)",
            (1, 4),
            id="max-percent-exactly-at-the-limit-value-or-enum-key-any-case",
        ),
        pytest.param(
            "{value: frustrated, max_percent: 49}", MOODS, Outcome.FAIL, "50% (2 of 4 runs)",
            (1, 4),
            id="max-percent-over",
        ),
        pytest.param(
            "{value: CALM, min_percent: 50}", MOODS, Outcome.PASS, "50% (2 of 4 runs)", (),
            id="min-percent-exactly-at-the-limit",
        ),
        pytest.param(
            "{value: calm, min_percent: 51}", MOODS, Outcome.FAIL, "50% (2 of 4 runs)", (),
            id="min-percent-under",
        ),
        pytest.param(
            "{value: angry, max_percent: 0}", MOODS, Outcome.PASS, "0% (0 of 4 runs)", (),
            id="value-never-seen-is-zero-percent",
        ),
        pytest.param(
            "{value: calm, min_percent: 100}",
            with_metrics([{**sentiment("calm"), "enum": ["calm", "frustrated"]}]),
            Outcome.PASS, "100% (1 of 1 run)", (),
            id="value-wins-over-an-options-list-under-enum",
        ),
        pytest.param(
            "{value: calm, max_percent: 100}",
            with_metrics([{"name": "Sentiment", "eval_type": "enum"}]),
            Outcome.FAIL, "not found", (),
            id="no-enum-values-fails-closed",
        ),
        pytest.param(
            "{value: calm, max_percent: 100}", with_metrics([numeric(3, name="Sentiment")]),
            Outcome.FAIL, "not found", (),
            id="numeric-metric-fails-closed",
        ),
    ],
)  # fmt: skip
def test_enum_share(share, runs, outcome, actual, run_ids):
    check = the_check(
        judge(f"metrics: [{{name: sentiment, enum: {share}}}]", runs), "metrics[0].enum"
    )
    assert (check.outcome, check.actual, check.run_ids) == (outcome, actual, run_ids)


def test_enum_share_shows_the_baselines_share():
    check = the_check(
        judge(
            "metrics: [{name: sentiment, enum: {value: frustrated, max_percent: 50}}]",
            MOODS,
            with_metrics([sentiment("calm")], [sentiment("Frustrated")]),
        ),
        "metrics[0].enum",
    )
    assert (check.baseline, check.delta) == ("50%", "\u00b10 pp")


def test_a_rule_with_name_and_id_never_pools_two_metrics():
    current = with_metrics(
        [{"id": 1, "name": "Empathy", "type": "continuous_qualitative", "score": 70}],
        [{"id": 33, "name": "Latency", "type": "numeric", "score": 2000}],
    )
    check = the_check(
        judge("metrics: [{name: Empathy, id: 33, mean: {min: 80}}]", current), "metrics[0].mean"
    )
    assert check.actual == "2000"  # id 33 only, not the mean of both metrics


# --------------------------------------------------------------------------- one pass


def takes(rule: MetricRule, metric: MetricValue) -> bool:
    """By id when both have one, else by name, case-insensitive (the documented rule)."""
    if rule.id is not None and metric.id is not None:
        return metric.id == rule.id
    return rule.name is not None and metric.name.strip().lower() == rule.name.lower()


RULES = st.lists(
    st.builds(
        MetricRule,
        st.none() | st.sampled_from(["latency", "Pickup", "LATENCY"]),
        st.none() | st.sampled_from([1, 2]),
    ).filter(lambda rule: rule.name is not None or rule.id is not None),
    min_size=1,
    max_size=4,
)
METRIC = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Latency", " latency", "pickup", "Other"]),
        "type": st.sampled_from(["numeric", "binary", "enum", "continuous_qualitative", "x"]),
        "score": st.none() | st.integers(0, 5),
    },
    optional={"id": st.sampled_from([1, 2, 3])},
)


@settings(max_examples=300, deadline=None)
@given(RULES, st.lists(st.lists(METRIC, max_size=4), max_size=4))
def test_one_pass_takes_what_each_rule_matches(rules, metrics):
    # One pass over the runs' metrics, with lookups by id and name, for every rule at once:
    # the same metrics as comparing each rule with each metric.
    current = result([make_run(i, evaluation={"metrics": run}) for i, run in enumerate(metrics, 1)])
    gathered = RunMetrics(rules, current)
    for position, rule in enumerate(rules):
        firsts, scores = [], []
        kinds: set[MetricKind] = set()
        for run in current.runs:
            taken = [metric for metric in run.metrics if takes(rule, metric)]
            firsts += [(run.id, taken[0])] if taken else []
            kinds.update(metric.kind for metric in taken)
            scores += [
                metric.score
                for metric in taken
                if metric.score is not None
                and metric.kind not in (MetricKind.BINARY, MetricKind.ENUM)
            ]
        expected = Taken(tuple(firsts), tuple(scores), frozenset(kinds))
        assert gathered.taken(position) == expected
