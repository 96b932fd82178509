"""Results and policies for the rule tests: payloads built with ``make_result`` and put
through ``normalise``, policies from a few lines of ``rules:``, and ways to find a check."""

from __future__ import annotations

import datetime
import textwrap
from typing import Any

from gate.policy.model import Policy
from gate.results.model import Result
from gate.results.normalise import normalise
from gate.rules.checks import Check
from gate.rules.evaluate import Verdict, evaluate
from tests.conftest import make_result, make_run, policy_from

Payload = dict[str, Any]


ScenarioSpec = tuple[int, int | None, str, bool]  # run id, scenario id, scenario name, success


def rules_policy(rules: str) -> Policy:
    body = textwrap.indent(textwrap.dedent(rules).strip(), "  ")
    return policy_from(f"version: 1\nrules:\n{body}\n")


def result(runs: list[Payload], **overrides: Any) -> Result:
    return normalise(make_result(runs, **overrides))


def judge(
    rules: str,
    current: Result,
    baseline: Result | None = None,
    today: datetime.date | None = None,
) -> Verdict:
    return evaluate(rules_policy(rules), current, baseline=baseline, today=today)


def the_check(verdict: Verdict, check_id: str) -> Check:
    found = [check for check in verdict.checks if check.key == check_id]
    assert len(found) == 1, [check.key for check in verdict.checks]
    return found[0]


def rule_checks(verdict: Verdict) -> list[Check]:
    """Every check but the always-on result status."""
    return [check for check in verdict.checks if check.key != "result.status"]


def passing(successful: int, total: int) -> Result:
    """``total`` runs of which the first ``successful`` passed."""
    return result([make_run(i, success=i <= successful) for i in range(1, total + 1)])


def rated(success_rate: float) -> Result:
    """One passing run, with the result's own success rate as given."""
    return result([make_run(1)], success_rate=success_rate)


def scenarios(*runs: ScenarioSpec) -> Result:
    return result(
        [
            make_run(run_id, scenario=scenario_id, scenario_name=name, success=ok)
            for run_id, scenario_id, name, ok in runs
        ]
    )


def with_metrics(*per_run: list[Payload], **overrides: Any) -> Result:
    """One run per list of metric payloads, ids 1, 2, ..."""
    return result(
        [make_run(i, evaluation={"metrics": metrics}) for i, metrics in enumerate(per_run, 1)],
        **overrides,
    )


def numeric(score: float | None, name: str = "Latency", kind: str = "numeric") -> Payload:
    return {"id": 10, "name": name, "type": kind, "score": score}


def latency(*scores: float) -> Result:
    """One run per Latency score; no score gives one run without the metric."""
    return with_metrics(*[[numeric(score)] for score in scores]) if scores else with_metrics([])


def finding(
    category: str,
    priority: str = "critical",
    category_id: int | None = None,
    wrongly_marked: bool = False,
) -> Payload:
    item: Payload = {"category": category, "priority": priority, "wrongly_marked": wrongly_marked}
    if category_id is not None:
        item["category_id"] = category_id
    return item


def findings(*per_run: list[Payload]) -> Result:
    """One run per list of findings; no list gives one run with no findings."""
    lists = per_run or ([],)
    return result([make_run(i, critical_categories=items) for i, items in enumerate(lists, 1)])


def blind() -> Result:
    """A result whose only run carries no critical_categories at all."""
    return result([make_run(1, critical_categories=None)])


def sentiment(value: Any, key: str = "value") -> Payload:
    return {"name": "Sentiment", "eval_type": "enum", key: value}


def v2(passed: bool) -> Payload:
    return greeting(eval_type="binary", passed=passed)


def greeting(**fields: Any) -> Payload:
    return {"id": 3, "name": "Greeting", **fields}


BRACKETS = scenarios((1, 1, "Booking [EN]", True))


NO_NEW_FAILURES = "scenarios: {no_new_failures: true}"
