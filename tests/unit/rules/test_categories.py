"""Critical-category rules (gate.rules.categories) over what a result defines."""

from __future__ import annotations

from gate.results.normalise import normalise
from gate.rules.checks import Outcome
from tests.conftest import make_result, make_run
from tests.unit.rules.builders import finding, judge, the_check


def test_ignore_names_a_critical_category_the_result_defines():
    payload = make_result(
        [make_run(1, critical_categories=[finding("Agent quoted the wrong price", category_id=7)])],
        critical_categories=[{"id": 7, "name": "Pricing"}],
    )
    verdict = judge(
        "critical_categories: {max: {critical: 0}, ignore: [pricing]}", normalise(payload)
    )
    assert the_check(verdict, "critical_categories.max.critical").outcome is Outcome.PASS
