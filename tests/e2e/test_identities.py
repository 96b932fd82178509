"""Test identities end to end: the regression example gated twice, once as shipped and once
with every list and every rule family in reverse order, gives the same testcases (name,
classname, outcome, message) and the same JSON ids; a ``test_id`` names its rule in JUnit,
JSON, annotations and dotenv; annotations and testcases point at the rule's line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from tests.conftest import EXAMPLES
from tests.e2e.harness import gate_env, run_gate

RESULT = EXAMPLES / "results" / "result_completed_mixed.json"
RUNS = EXAMPLES / "results" / "runs_bulk.json"


def reversed_policy(text: str) -> str:
    """The same rules, with every rule family, metric and scenario rule in reverse order."""
    data = yaml.safe_load(text)
    rules = dict(reversed(list(data["rules"].items())))
    rules["metrics"] = list(reversed(rules["metrics"]))
    rules["scenarios"]["each"] = list(reversed(rules["scenarios"]["each"]))
    return yaml.safe_dump({**data, "rules": rules}, sort_keys=False, allow_unicode=True)


def gate_in(workdir: Path, policy_text: str, *extra: str) -> tuple[int, Path]:
    """``check`` the example result with ``policy_text`` as workdir/ci/gate.yaml."""
    (workdir / "ci").mkdir(parents=True)
    (workdir / "ci" / "gate.yaml").write_text(policy_text, encoding="utf-8")
    shutil.copy(EXAMPLES / "baseline.json", workdir / "ci" / "baseline.json")
    reports = ["--junit", "out/junit.xml", "--json", "out/verdict.json", "--dotenv", "out/gate.env"]
    argv = ["check", "--policy", "ci/gate.yaml", "--result-file", str(RESULT)]
    argv += ["--runs-file", str(RUNS), "--as-of", "2027-01-25", *reports, *extra]
    done = run_gate(argv, env=gate_env(GITHUB_WORKSPACE=str(workdir)), cwd=workdir)
    assert not done.stderr.count("Traceback"), done.stderr
    return done.code, workdir / "out"


def junit_cases(out: Path) -> list[dict[str, Any]]:
    root = etree.parse(str(out / "junit.xml")).getroot()
    found = []
    for case in root.iter("testcase"):
        kind, message = status_of_element(case)
        found.append({**case.attrib, "kind": kind, "message": message})
    return found


def status_of_element(case: Any) -> tuple[str, str]:
    for kind in ("failure", "error", "skipped"):
        element = case.find(kind)
        if element is not None:
            return kind, element.get("message", "")
    return "passed", ""


def without_place(cases: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return sorted(
        (case["name"], case["classname"], case["kind"], case["message"]) for case in cases
    )


def test_moving_every_rule_renames_no_test(tmp_path):
    shipped = (EXAMPLES / "regression.yaml").read_text(encoding="utf-8")
    code, first = gate_in(tmp_path / "shipped", shipped)
    moved_code, moved = gate_in(tmp_path / "moved", reversed_policy(shipped))
    assert (code, moved_code) == (0, 0)
    before, after = junit_cases(first), junit_cases(moved)
    assert without_place(before) == without_place(after)
    assert len({case["name"] for case in before}) == len(before)  # unique names
    assert {case["line"] for case in before if "line" in case} != {
        case["line"] for case in after if "line" in case
    }  # the rules did move
    ids = [json.loads((out / "verdict.json").read_text())["checks"] for out in (first, moved)]
    assert sorted((c["id"], c["outcome"]) for c in ids[0]) == sorted(
        (c["id"], c["outcome"]) for c in ids[1]
    )
    assert {c["id"] for c in ids[0]} == {case["name"] for case in before if "file" in case} | {
        "Result status"
    }


POLICY = """\
version: 1
rules:
  success_rate:
    min: 90
    test_id: success-rate-floor
  metrics:
    - name: Latency
      test_id: latency
      p50: {max: 1800}
"""


def test_a_test_id_names_the_rule_in_every_report(tmp_path):
    code, out = gate_in(tmp_path, POLICY, "--github")
    assert code == 1
    cases = {case["name"]: case for case in junit_cases(out)}
    assert cases["success-rate-floor"]["classname"] == "cekura-gate.success_rate"
    assert (cases["success-rate-floor"]["file"], cases["success-rate-floor"]["line"]) == (
        "ci/gate.yaml",
        "3",
    )
    assert (cases["latency p50"]["line"], cases["latency p50"]["kind"]) == ("7", "failure")
    checks = json.loads((out / "verdict.json").read_text())["checks"]
    assert [(c["id"], c["key"], c["line"]) for c in checks] == [
        ("Result status", "result.status", None),
        ("success-rate-floor", "success_rate.min", 3),
        ("latency p50", "metrics[0].p50", 7),
    ]
    dotenv = (out / "gate.env").read_text()
    assert 'GATE_FAILED_TESTS=["success-rate-floor","latency p50"]\n' in dotenv
    assert "GATE_WARNED_TESTS=[]\n" in dotenv


def test_annotations_point_at_the_rule_s_line_in_the_repository(tmp_path):
    workdir = tmp_path / "repo"
    (workdir / "ci").mkdir(parents=True)
    (workdir / "ci" / "gate.yaml").write_text(POLICY, encoding="utf-8")
    argv = ["check", "--policy", "ci/gate.yaml", "--result-file", str(RESULT), "--github"]
    env = gate_env(GITHUB_WORKSPACE=str(workdir))
    done = run_gate(argv, env=env, cwd=workdir)
    annotations = re.findall(r"^::error (title=[^:]*?,file=[^:]*?)::", done.stdout, re.M)
    assert annotations[:2] == [
        "title=Cekura gate%3A success-rate-floor,file=ci/gate.yaml,line=3",
        "title=Cekura gate%3A latency p50,file=ci/gate.yaml,line=7",
    ]


def test_without_a_ci_workspace_the_path_is_relative_to_the_git_checkout(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "deploy" / "ci").mkdir(parents=True)
    (tmp_path / "deploy" / "ci" / "gate.yaml").write_text(POLICY, encoding="utf-8")
    argv = ["check", "--policy", "ci/gate.yaml", "--result-file", str(RESULT)]
    argv += ["--junit", "junit.xml"]
    done = run_gate(argv, env=gate_env(), cwd=tmp_path / "deploy")
    assert done.code == 1
    files = {case.get("file") for case in cases_in(tmp_path / "deploy" / "junit.xml")}
    assert files == {None, "deploy/ci/gate.yaml"}


def cases_in(path: Path) -> list[Any]:
    return list(etree.parse(str(path)).getroot().iter("testcase"))
