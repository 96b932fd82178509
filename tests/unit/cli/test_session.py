"""Where the policy sits in the repository (``repository_path``), for annotations and the
JUnit ``file`` attribute: the CI's checkout, else the git checkout above it, else the
working directory; nothing for a policy outside it."""

from __future__ import annotations

import pytest

from gate.cli.session import repository_path
from gate.cli.settings import Environment


@pytest.mark.parametrize(
    ("variables", "git_at", "policy", "expected"),
    [
        ({"GITHUB_WORKSPACE": "{tmp}/repo"}, None, "ci/gate.yaml", "ci/gate.yaml"),
        ({"CI_PROJECT_DIR": "{tmp}/repo"}, None, "./ci/../ci/gate.yaml", "ci/gate.yaml"),
        ({"GITHUB_WORKSPACE": "{tmp}/repo/ci"}, None, "ci/gate.yaml", "gate.yaml"),
        ({"GITHUB_WORKSPACE": "{tmp}/elsewhere"}, None, "ci/gate.yaml", None),
        ({}, "repo", "ci/gate.yaml", "ci/gate.yaml"),
        ({}, None, "ci/gate.yaml", "ci/gate.yaml"),  # no checkout: the working directory
        ({}, None, "../outside.yaml", None),
        # actions/checkout with path: repo puts the repository in a folder of the workspace
        ({"GITHUB_WORKSPACE": "{tmp}"}, "repo", "ci/gate.yaml", "ci/gate.yaml"),
        # a .git above the workspace is not the workspace's repository
        ({"GITHUB_WORKSPACE": "{tmp}/repo"}, ".", "ci/gate.yaml", "ci/gate.yaml"),
    ],
)
def test_repository_path(tmp_path, variables, git_at, policy, expected):
    (tmp_path / "repo" / "ci").mkdir(parents=True)
    if git_at:
        (tmp_path / git_at / ".git").mkdir()
    env = Environment.snapshot(
        {name: value.format(tmp=tmp_path) for name, value in variables.items()}
    )
    assert repository_path(policy, env, str(tmp_path / "repo")) == expected
