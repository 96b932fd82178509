"""Critical-category rules: caps on findings per priority, and no category new since the
baseline. Both priority vocabularies count each other's findings (critical = high;
non-critical = medium or low); a finding with a missing or unknown priority counts against
every cap, and runs whose findings are unknown fail the rule (an infrastructure-failed run
without findings has none to know). Pure: no I/O."""

from __future__ import annotations

from gate import dataclasses
from gate.dataclasses import dataclass
from gate.policy.model import CriticalCategoriesRule
from gate.results.model import Finding, Result
from gate.rules.checks import NO_BASELINE, Check, make_check, plural, short

# Which reported priorities each policy key counts. The two vocabularies map onto
# each other (critical = high; non-critical = medium or low), so a policy in either
# vocabulary counts findings reported in the other.
PRIORITY_COUNTED_BY = {
    "critical": frozenset({"critical", "high"}),
    "high": frozenset({"high", "critical"}),
    "non-critical": frozenset({"non-critical", "medium", "low"}),
    "medium": frozenset({"medium", "non-critical"}),
    "low": frozenset({"low"}),
}
KNOWN_PRIORITIES = frozenset({"critical", "non-critical", "high", "medium", "low", "not_a_bug"})
NOT_A_FINDING = "not_a_bug"


CategoryKey = tuple[str, object]  # ("id", 3295) or ("text", "rude tone")
Counted = tuple[int, str, str, CategoryKey]  # run id, priority, category, category key


def _counted_findings(rule: CriticalCategoriesRule, result: Result) -> list[Counted]:
    """(run id, priority, category, category key) of every finding the rule counts.

    ``ignore`` names a priority, a finding's text, or a critical category the result defines
    (its findings carry the definition's ``category_id`` and a text written per run)."""
    ignored = {item.strip().lower() for item in rule.ignore}
    ignored_ids = {
        category_id
        for category_id, name in result.categories
        if category_id is not None and name.strip().lower() in ignored
    }
    counted: list[Counted] = []
    for run in result.runs:
        for finding in run.findings:
            if not is_finding(finding):
                continue
            if finding.priority in ignored or finding.category.strip().lower() in ignored:
                continue
            if finding.category_id is not None and finding.category_id in ignored_ids:
                continue
            key = (
                ("id", finding.category_id)
                if finding.category_id is not None
                else ("text", finding.category.strip().lower())
            )
            counted.append((run.id, finding.priority, finding.category, key))
    return counted


def is_finding(finding: Finding) -> bool:
    """Whether a finding counts at all: not marked wrong, not Cekura's "not a bug"."""
    return not finding.wrongly_marked and finding.priority != NOT_A_FINDING


def counts_against(cap: str, priority: str) -> bool:
    """Whether a finding of ``priority`` counts against the ``cap`` priority's limit (an
    unknown priority counts against every cap)."""
    return priority in PRIORITY_COUNTED_BY[cap] or priority not in KNOWN_PRIORITIES


RESULT_DETAILS_HINT = "give the runs-bulk details with --runs-file"
BASELINE_DETAILS_HINT = (
    "save the baseline with its run details: cekura-gate baseline save --result-file "
    "RESULT --runs-file RUNS"
)


def _unknown_findings(result: Result, hint: str = RESULT_DETAILS_HINT) -> str | None:
    """Why some runs' findings cannot be counted, or ``None`` when every run's can.

    An infrastructure-failed run without findings is not unknown: a call that never
    connected has none, and Cekura sends it none (docs/policy.md, "Infrastructure
    failures")."""
    blind = [run.id for run in result.runs if not run.findings_known and not run.infrastructure]
    if blind:
        shown = ", ".join(str(run_id) for run_id in blind[:5])
        more = f" and {len(blind) - 5} more" if len(blind) > 5 else ""
        subject = f"run {shown} carries" if len(blind) == 1 else f"runs {shown}{more} carry"
        return f"{subject} no critical_categories, so the findings are unknown ({hint})"
    if len(result.runs) < result.run_total:
        return (
            f"the result lists {len(result.runs)} of its {result.run_total} runs, so "
            "the findings of the others are unknown"
        )
    return None


def check_critical_categories(
    rule: CriticalCategoriesRule,
    result: Result,
    baseline: Result | None = None,
) -> list[Check]:
    findings = _counted_findings(rule, result)
    blind = _unknown_findings(result)
    checks = []
    for cap, limit in rule.max:
        hits = [item for item in findings if counts_against(cap, item[1])]
        unknown = sorted({item[1] or "(none)" for item in hits if item[1] not in KNOWN_PRIORITIES})
        note = f" (includes findings with unknown priority {', '.join(unknown)})" if unknown else ""
        worst = sorted({short(item[2]) for item in hits})[:3]
        reason = f"{plural(len(hits), cap + ' finding')}, more than {limit}{note}: " + "; ".join(
            worst
        )
        checks.append(
            make_check(
                f"critical_categories.max.{cap}",
                f"Critical categories: {cap}",
                rule.level,
                f"<= {limit}",
                str(len(hits)) if blind is None else f"{len(hits)} + unknown",
                len(hits) <= limit and blind is None,
                reason if len(hits) > limit or blind is None else blind,
                sorted({item[0] for item in hits}),
            )
        )
    if rule.no_new_categories:
        before = _BaselineFindings.of(rule, baseline)  # read once for every priority
        for cap in rule.no_new_categories:
            checks.append(_check_new_categories(rule, cap, findings, blind, before))
    return checks


@dataclass(frozen=True, slots=True)
class _BaselineFindings:
    """The findings the rule counts on the baseline, and why they are unknown if they are."""

    findings: list[Counted]
    problem: str | None
    given: bool  # whether there is a baseline at all

    @classmethod
    def of(cls, rule: CriticalCategoriesRule, baseline: Result | None) -> _BaselineFindings:
        if baseline is None:
            return cls([], NO_BASELINE, False)
        blind = _unknown_findings(baseline, BASELINE_DETAILS_HINT)
        problem = f"the baseline's findings are unknown: {blind}" if blind else None
        return cls(_counted_findings(rule, baseline), problem, True)


def _check_new_categories(
    rule: CriticalCategoriesRule,
    cap: str,
    findings: list[Counted],
    blind: str | None,
    baseline: _BaselineFindings,
) -> Check:
    hits = [item for item in findings if counts_against(cap, item[1])]
    before = [item for item in baseline.findings if counts_against(cap, item[1])]
    base_problem = baseline.problem
    seen = _CategoriesBefore.of(before)
    new = [item for item in hits if not seen.has(item)]
    first_text = {item[3]: short(item[2]) for item in reversed(new)}
    categories = sorted(first_text.values(), key=str.lower)
    reason = (
        f"{_categories(len(categories), cap)} the baseline did not have: "
        + "; ".join(categories[:5])
        + (f" and {len(categories) - 5} more" if len(categories) > 5 else "")
    )
    problem = blind or base_problem
    if problem is not None:
        reason = f"{problem}; {reason}" if new else problem
    check = make_check(
        f"critical_categories.no_new_categories.{cap}",
        f"Critical categories: new {cap}",
        rule.level,
        "none new vs baseline",
        str(len(categories)) if problem is None else f"{len(categories)} + unknown",
        not new and problem is None,
        reason,
        sorted({item[0] for item in new}),
    )
    if not baseline.given:
        return check
    return dataclasses.replace(
        check,
        baseline=_categories(len({item[3] for item in before})),
        delta=f"+{len(categories)} new",
    )


@dataclass(frozen=True, slots=True)
class _CategoriesBefore:
    """The baseline's categories under one cap, for telling which are new.

    Categories compare by id where both sides have one (the text is written anew per run),
    and by text where either lacks it (legacy findings, older baselines)."""

    ids: frozenset[CategoryKey]
    texts: frozenset[str]
    texts_without_id: frozenset[str]

    @classmethod
    def of(cls, findings: list[Counted]) -> _CategoriesBefore:
        texts = {item[2].strip().lower() for item in findings}
        no_id = {item[2].strip().lower() for item in findings if item[3][0] != "id"}
        ids = {item[3] for item in findings if item[3][0] == "id"}
        return cls(frozenset(ids), frozenset(texts), frozenset(no_id))

    def has(self, finding: Counted) -> bool:
        text = finding[2].strip().lower()
        if finding[3][0] == "id":
            return finding[3] in self.ids or text in self.texts_without_id
        return text in self.texts


def _categories(count: int, priority: str = "") -> str:
    """``1 critical category``, ``2 categories``."""
    word = "category" if count == 1 else "categories"
    return f"{count} {priority + ' ' if priority else ''}{word}"
