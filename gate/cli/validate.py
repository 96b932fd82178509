"""``cekura-gate validate``: check a policy file, its baseline file, and (with
``--against`` or ``--result-id``) that every name it uses exists in a real result."""

from __future__ import annotations

from gate.cli.connect import fetch_payload
from gate.cli.inputs import (
    baseline_from_file,
    load_policy,
    load_result,
    policy_baseline_file,
    require_finished,
)
from gate.cli.output import log_text, say
from gate.cli.settings import Environment, ValidateSettings
from gate.errors import ExitCode, UsageError
from gate.policy.model import Policy
from gate.results.normalise import normalise
from gate.rules.checks import plural


def validate(settings: ValidateSettings, env: Environment) -> int:
    if settings.runs_file is not None and settings.against is None:
        raise UsageError(
            "--runs-file goes with --against, not --result-id"
            if settings.result_id is not None
            else "--runs-file needs --against"
        )
    policy = load_policy(settings.policy)
    print(f"{settings.policy}: valid policy (rules: {', '.join(_rule_names(policy))})")
    _validate_baseline(settings.policy, policy)
    if settings.against is None and settings.result_id is None:
        return ExitCode.PASSED
    return _validate_against(settings, env, policy)


def _rule_names(policy: Policy) -> list[str]:
    rules = policy.rules
    named = [
        name
        for name in (
            "success_rate",
            "expected_outcomes",
            "runs",
            "infrastructure",
            "critical_categories",
        )
        if getattr(rules, name) is not None
    ]
    if rules.metrics:
        named.append(f"metrics ({len(rules.metrics)})")
    if rules.scenarios:
        named.append("scenarios")
    return named


def _validate_baseline(source: str, policy: Policy) -> None:
    """A policy's baseline file must be usable now, not first on the release branch."""
    file = policy_baseline_file(policy)
    if file is not None:
        baseline = baseline_from_file(file)
        runs = plural(len(baseline.result.runs), "run")
        print(f"{source}: baseline {file}: result {baseline.result.id}, completed, {runs}")
        return
    needed = policy.rules.baseline_rules()
    if needed and policy.baseline is None:
        print(
            f"{source}: note: {', '.join(needed)} compare with a baseline: set "
            "'baseline:' in the policy, or pass --baseline-file or --baseline-result-id "
            "to check and run"
        )


def _validate_against(settings: ValidateSettings, env: Environment, policy: Policy) -> int:
    from gate.rules.lint import lint, summary

    if settings.result_id is not None:
        payload = fetch_payload(settings.api, env, settings.result_id, findings=True, emit=say)
        result = normalise(payload)
    else:
        assert settings.against is not None
        result = load_result(settings.against, settings.runs_file)
        require_finished(result)  # an unfinished result lacks most names
    issues = lint(policy, result)
    for issue in issues:
        where = f"{issue.path}: " if issue.path else ""
        prefix = "" if issue.blocking else "note: "
        print(f"{settings.policy}: {prefix}{where}{log_text(issue.message)}")
    print(f"{settings.policy}: {summary(issues, f'result {result.id}')}")
    return ExitCode.GATE_FAILED if any(issue.blocking for issue in issues) else ExitCode.PASSED
