"""``cekura-gate check``: judge a result from a file, or wait for it on the API.

``judge`` returns the verdict; ``gate.cli.main`` prints it, writes the reports and turns
it (or whatever stops the gate) into the exit code.
"""

from __future__ import annotations

from gate.cli.gating import (
    collector_paused,
    gate_policy,
    load_baseline,
    verdict_of,
    wait_for,
    wait_settings,
)
from gate.cli.inputs import load_result
from gate.cli.session import Known, Session, knowing
from gate.cli.settings import CheckSettings
from gate.policy.model import Policy
from gate.rules.evaluate import Verdict


def judge(settings: CheckSettings, session: Session, preloaded: Policy | None = None) -> Verdict:
    policy = gate_policy(settings.gate, session, preloaded)
    if settings.result_id is None:
        assert settings.result_file is not None  # the parser requires one of the two
        with collector_paused():
            result = load_result(settings.result_file, settings.runs_file)
            with knowing(Known(result.id)):  # for the reports, should the baseline fail
                baseline = load_baseline(session, policy, None)
                return verdict_of(session, policy, result, baseline)
    # The result id goes into the reports, should the baseline or the API key fail first.
    wait = wait_settings(policy, settings.gate.api)
    with knowing(Known(settings.result_id)), session.client(wait) as client:
        # The baseline first: no point waiting half an hour for a result that cannot be judged.
        baseline = load_baseline(session, policy, client)
        url = session.dashboard_url(settings.result_id, None)
        with knowing(Known(settings.result_id, url)):
            result = wait_for(session, client, settings.result_id, policy)
            return verdict_of(session, policy, result, baseline)
