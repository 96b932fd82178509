"""What every rule produces: a ``Check`` (expected, actual, outcome, one-line reason),
the formatting its texts share, and how a waiver changes a rule's level and reason.
Pure: no I/O, no clock."""

from __future__ import annotations

import datetime
import enum
import fnmatch
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from gate import dataclasses, lazy
from gate.dataclasses import dataclass
from gate.policy.model import Level, Missing, Waiver, waiver_expired

if TYPE_CHECKING:
    import difflib
else:  # imported when first used: only a did-you-mean needs it
    difflib = lazy.module("difflib")


class Outcome(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Check:
    """The judgement of one bound of one rule.

    ``key`` says which bound of which rule, by its place in the policy (``metrics[0].p50``):
    it changes when rules move. ``test_id`` is the check's identity in every report, the
    same wherever the rule sits: the rule's ``test_id`` if it has one, else its title (see
    ``identify``). ``family`` groups checks by kind of rule; ``line`` is the rule's line in
    the policy file."""

    key: str
    title: str
    expected: str
    actual: str
    outcome: Outcome
    reason: str
    run_ids: tuple[int, ...] = ()
    baseline: str = ""  # the baseline's value, when the check compares with one
    delta: str = ""  # current minus baseline
    waiver: str = ""  # the rule's waiver, active or expired
    test_id: str = ""
    family: str = ""
    line: int | None = None
    # Failed (or warned) because of infrastructure, not the agent: the infrastructure rule,
    # a result that ended failed, runs that never connected (see gate.rules.evaluate).
    infrastructure: bool = False

    @property
    def identity(self) -> str:
        """The check's name in reports: its test id, else (before ``identify``) its title."""
        return self.test_id or self.title


@dataclass(frozen=True, slots=True)
class WaiverState:
    """A rule's waiver as of the verdict's date."""

    path: str
    until: datetime.date | None
    reason: str | None
    level: Level
    expired: bool
    days_left: int | None

    @property
    def text(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        if self.until is None:
            return f"{self.level.value} by policy{why}"
        if self.expired:
            return f"waiver expired on {self.until.isoformat()}, so this is an error again{why}"
        left = "last day" if self.days_left == 0 else plural(self.days_left or 0, "day") + " left"
        return f"waived until {self.until.isoformat()} ({left}){why}"


# --------------------------------------------------------------------------- formatting


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
    return text + unit


def short(text: str, limit: int = 200) -> str:
    """One line of at most ``limit`` characters: payload text can be huge."""
    flat = " ".join(text[: limit * 4].split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def plural(count: int, word: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def percent(part: int, whole: int) -> float:
    return 100.0 * (part / whole)  # divide first: 100 * a huge count would overflow


def judge(ok: bool, level: Level) -> Outcome:
    if ok:
        return Outcome.PASS
    return Outcome.FAIL if level is Level.ERROR else Outcome.WARN


def make_check(
    key: str,
    title: str,
    level: Level,
    expected: str,
    actual: str,
    ok: bool,
    reason: str,
    run_ids: Iterable[int] = (),
) -> Check:
    if level is Level.OFF:
        return Check(key, title, expected, actual, Outcome.SKIP, "rule is off in the policy", ())
    outcome = judge(ok, level)
    text = reason if not ok else f"{title}: {actual} meets {expected}"
    return Check(key, title, expected, actual, outcome, text, tuple(run_ids))


NO_BASELINE = "no baseline to compare with"


# --------------------------------------------------------------------------- names


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``; did you mean 'X'?`` for the closest of ``candidates`` (case-insensitive), or ''."""
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean '{by_lower[close[0]]}'?" if close else ""


def listing(names: Iterable[str], limit: int = 10) -> str:
    """``'a', 'b' and 3 more``: names sorted, shortened and quoted; ``none`` for none."""
    unique = sorted({short(name, 60) for name in names}, key=str.lower)
    shown = ", ".join(f"'{name}'" for name in unique[:limit])
    return (shown + (f" and {len(unique) - limit} more" if len(unique) > limit else "")) or "none"


def glob_hint(pattern: str, names: list[str]) -> str:
    """A did-you-mean for a glob: its words before the first wildcard, against as many
    words of each name ('Greting *' -> 'Greeting *', which matches 'Greeting and triage')."""
    head = re.split(r"[*?]", pattern, maxsplit=1)[0]
    words = head.split()
    if len(head.strip()) < 3:
        return ""
    scored = []
    for name in names:
        prefix = " ".join(name.split()[: len(words)])
        ratio = difflib.SequenceMatcher(None, head.strip().lower(), prefix.lower()).ratio()
        scored.append((ratio, prefix, name))
    ratio, prefix, best = max(scored, default=(0.0, "", ""))
    if ratio < 0.75:
        return ""
    suggestion = prefix + head[len(head.rstrip()) :] + pattern[len(head) :]
    if not fnmatch.fnmatchcase(best.lower(), suggestion.lower().replace("[", "[[]")):
        return ""
    return f"; did you mean '{suggestion}' (it matches '{best}')?"


def missing(check: Check, rule_missing: Missing, reason: str) -> Check:
    """The check of a rule whose metric or scenario the result does not have: it fails
    whatever the rule's level (a misspelt name must not pass as a warning), unless the rule
    says ``missing: warn`` or ``missing: ignore``. A rule that is off stays skipped."""
    if check.outcome is Outcome.SKIP:
        return check
    if rule_missing is Missing.IGNORE:
        return dataclasses.replace(
            check, outcome=Outcome.SKIP, reason=f"{reason} (missing: ignore)", run_ids=()
        )
    outcome = Outcome.WARN if rule_missing is Missing.WARN else Outcome.FAIL
    return dataclasses.replace(check, outcome=outcome, reason=reason)


def signed(value: float, unit: str = "") -> str:
    """A delta with its sign: ``+2.5 pp``, ``-4%``, ``±0``."""
    if value == 0:
        return "\u00b10" + unit
    return ("+" if value > 0 else "-") + fmt(abs(value), unit)


def compared(check: Check, current: float | None, base: float | None, unit: str) -> Check:
    """The check with the baseline's value and the delta filled in, when both are known."""
    if base is None:
        return check
    delta = signed(current - base, unit) if current is not None else ""
    shown_unit = "%" if unit == " pp" else unit
    return dataclasses.replace(check, baseline=fmt(base, shown_unit), delta=delta)


def drop_check(
    key: str,
    title: str,
    level: Level,
    *,
    limit: float,
    values: tuple[float | None, float | None],
    has_baseline: bool,
    actual: str,
    subject: str,
    unknown_now: str,
    unknown_before: str,
    run_ids: Iterable[int] = (),
) -> Check:
    """A percentage that may fall at most ``limit`` points below the baseline's (success
    rate, a metric's pass rate); ``values`` is (now, on the baseline)."""
    value, base = values
    drop = base - value if value is not None and base is not None else None
    if value is None:
        reason = unknown_now
    elif not has_baseline:
        reason = NO_BASELINE
    elif base is None:
        reason = unknown_before
    else:
        reason = (
            f"{subject} is {fmt(drop, ' pp')} below the baseline's {fmt(base, '%')}, "
            f"more than {fmt(limit, ' pp')}"
        )
    check = make_check(
        key,
        title,
        level,
        f"drop <= {fmt(limit, ' pp')}",
        actual,
        drop is not None and drop <= limit + 1e-9,  # a float drop of exactly the limit passes
        reason,
        run_ids,
    )
    return compared(check, value, base, " pp")


# --------------------------------------------------------------------------- waivers


_R = TypeVar("_R")


def waiver_state(waiver: Waiver, level: Level, today: datetime.date | None) -> WaiverState:
    """A waiver as of ``today``; without a date every dated waiver counts as expired."""
    if waiver.until is None:
        return WaiverState(waiver.path, None, waiver.reason, level, False, None)
    expired = waiver_expired(waiver, today)
    days_left = (waiver.until - today).days if today is not None else None
    return WaiverState(waiver.path, waiver.until, waiver.reason, level, expired, days_left)


def effective_rule(rule: _R, today: datetime.date | None) -> tuple[_R, str, bool]:
    """The rule with its level as of ``today``, the waiver's note, and whether it expired."""
    waiver: Waiver | None = getattr(rule, "waiver", None)
    level: Level = rule.level  # type: ignore[attr-defined]
    if waiver is None or level is Level.ERROR:
        return rule, "", False
    state = waiver_state(waiver, level, today)
    if state.expired:
        return dataclasses.replace(rule, level=Level.ERROR), state.text, True  # type: ignore[type-var]
    return rule, state.text, False


def annotated(checks: list[Check], note: str, expired: bool) -> list[Check]:
    if not note:
        return checks
    annotated = []
    for check in checks:
        reason = check.reason
        if check.outcome is Outcome.WARN or (expired and check.outcome is Outcome.FAIL):
            reason = f"{reason} ({note})"
        annotated.append(dataclasses.replace(check, reason=reason, waiver=note))
    return annotated


def unknown(check: Check, level: Level, reason: str) -> Check:
    """The check failed at the rule's level, because the data it needs is incomplete."""
    if check.outcome is Outcome.SKIP:
        return check
    return dataclasses.replace(
        check, outcome=judge(False, level), reason=reason, actual=f"{check.actual} (partial)"
    )


def unknown_all(checks: list[Check], level: Level, reason: str | None) -> list[Check]:
    return checks if reason is None else [unknown(check, level, reason) for check in checks]


# --------------------------------------------------------------------------- identities


def of_rule(
    checks: Iterable[Check], family: str, rule: object, subject: str | None = None
) -> list[Check]:
    """The checks of one rule, with the rule's family, line and test id.

    A rule with ``test_id: X`` names its checks ``X`` followed by what each check's title
    says after the rule's ``subject`` (``Latency p50 vs baseline`` with ``test_id:
    latency`` and subject ``Latency`` is ``latency p50 vs baseline``); a title that does not
    start with the subject gives ``X`` alone. Without a test id the title is the name.
    """
    test_id: str | None = getattr(rule, "test_id", None)
    line: int | None = getattr(rule, "line", None)
    named = []
    for check in checks:
        name = check.title
        if test_id is not None:
            rest = (
                check.title[len(subject) :] if subject and check.title.startswith(subject) else ""
            )
            name = test_id + rest
        named.append(dataclasses.replace(check, test_id=name, family=family, line=line))
    return named


def identify(checks: Iterable[Check]) -> tuple[Check, ...]:
    """Every check with a unique test id: where two would share one (two rules on the same
    metric, say), the later ones get `` (2)``, `` (3)`` in policy order, on their title too,
    so that no two rows of a table read the same. Give such rules a ``test_id`` to name
    them yourself."""
    checks = tuple(checks)
    seen: dict[str, int] = {}
    taken = {check.identity for check in checks}
    unique = []
    for check in checks:
        name = check.identity
        count = seen.get(name, 0) + 1
        seen[name] = count
        if count == 1:
            unique.append(
                check if name == check.test_id else dataclasses.replace(check, test_id=name)
            )
            continue
        suffix = count
        while f"{name} ({suffix})" in taken:
            suffix += 1
        taken.add(f"{name} ({suffix})")
        title = f"{check.title} ({suffix})"
        unique.append(dataclasses.replace(check, test_id=f"{name} ({suffix})", title=title))
    return tuple(unique)
