from gate.results.normalise import normalise
from gate.rules.evaluate import VerdictStatus, evaluate
from tests.conftest import make_result, policy_from, run_cli


def test_factory_result_passes_a_simple_policy():
    policy = policy_from("version: 1\nrules:\n  success_rate: {min: 90}\n")
    verdict = evaluate(policy, normalise(make_result()))
    assert verdict.status is VerdictStatus.PASS


def test_cli_version():
    result = run_cli("--version")
    assert result.code == 0
    assert result.stdout.startswith("cekura-gate ")
