"""The starter policy ``cekura-gate init`` writes when it is given no result: one rule of
every family, each line explained, valid as written (a test loads it and runs ``validate``
on it). Waiting and ``run:`` are shown commented out: they need values only the user has.
"""

from __future__ import annotations

# The waiting settings, commented out, as the starter and a drafted policy both show them.
WAIT_COMMENTED = """\
# Live mode (`check --result-id`, `run`) waits for the result; uncomment to change it.
# wait:
#   timeout: 45m            # give up (exit 3) after this long
#   poll_interval: 10s      # first pause between polls
#   max_poll_interval: 120s # pauses grow up to this
"""

STARTER_TEMPLATE = (
    """\
# cekura-gate policy: what a Cekura result must meet before the agent ships.
# Written by `cekura-gate init` as a starting point: each value below is an example;
# set it to what you release on. Every key: docs/policy.md. To start from a real
# result instead: cekura-gate init --force --from-result-file RESULT.json
# Check this file with: cekura-gate validate{policy_option}
version: 1                  # the policy format; always 1

"""
    + WAIT_COMMENTED
    + """
# What `cekura-gate run` starts (docs/run.md); uncomment and fill in to use `run`.
# run:
#   agent_id: 123           # your agent's id in Cekura
#   scenario_ids: [1, 2]    # or tags: [smoke], or folder_path with project_id
#   frequency: 1            # runs per scenario; every run is a billed call

rules:
  success_rate:             # the share of runs that passed, in percent (0-100)
    min: 90                 # fail below 90 %

  expected_outcomes:        # runs whose expected outcome was fully met (score 100)
    min_met_percent: 90     # at least 90 % of the expected outcomes met

  runs:
    min_total: 1            # no runs is never a pass
    max_failed: 0           # failed = total - successful; errored runs count as failed

  infrastructure:           # calls that never connected or hit a provider error; the
    max_percent: 10         # rules above leave them out; more than 10 % fails (exit 4)

  critical_categories:      # findings on runs, counted by priority across all runs
    max:
      critical: 0           # no critical finding (findings reported as "high" count too)
      non-critical: 3       # at most 3 others ("medium" and "low" count too)

  metrics:                  # numeric metrics, by name as the result spells it, or by id
    - name: Latency         # rename to a numeric metric your results report
      p50: {max: 1800}      # its median at most 1,800 ms (Cekura reports latency in ms)

  scenarios:                # per scenario, judged on its own runs
    - match: "*"            # every scenario (a name, a glob with * or ?, or an id)
      min_passes: 1         # each passes at least once
"""
)


def starter_policy(policy_path: str | None = None) -> str:
    """The starter policy; its ``validate`` hint names ``policy_path`` (``None``: the
    default path, which needs no ``--policy``)."""
    return STARTER_TEMPLATE.replace("{policy_option}", policy_option(policy_path))


def policy_option(policy_path: str | None) -> str:
    """`` --policy PATH`` as a comment shows it; empty for the default path (``None``)."""
    return "" if policy_path is None else f" --policy {shell_word(policy_path)}"


def comment_text(text: str, limit: int = 100) -> str:
    """``text`` as it may stand in a YAML comment: one line (anything unprintable, line
    separators included, becomes a space), at most ``limit`` characters."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text[: limit * 4]).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def shell_word(text: str) -> str:
    """``text`` as one shell word in a comment: quoted when it needs to be (never a line
    break: ``comment_text`` first)."""
    import shlex  # only when a comment names a path

    return shlex.quote(comment_text(text, 200))
