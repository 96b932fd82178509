"""The GitHub Action's steps, run the way a runner runs them; the install step timed cold and warm.

A runner evaluates a step's ``${{ }}`` expressions, writes its ``run:`` script to a file and
runs ``bash --noprofile --norc -eo pipefail FILE`` with the step's ``env:`` on top of the job's
environment and ``GITHUB_OUTPUT`` pointing at a fresh file. ``run_step`` does exactly that for
any step of action.yml; the tests use it too, so the bench and the tests run the same thing.

Cold is a fresh hosted runner: empty tool cache, empty pip and uv caches, so uv and every
wheel come from PyPI. Warm is the next job on the same self-hosted runner: the tool cache and
the caches are kept, ``runner.temp`` is new. The target (issue 12): 3 s cold, 1 s warm.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.targets import Section, Target

ROOT = Path(__file__).resolve().parent.parent
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# What a job's environment must not leak into a measured step.
_DROPPED = ("GITHUB_", "RUNNER_", "INPUT_", "UV_", "VIRTUAL_ENV", "PYTHONPATH", "CONDA_PREFIX")


def action_steps(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """action.yml's composite steps by id."""
    action = yaml.safe_load((root / "action.yml").read_text(encoding="utf-8"))
    return {step["id"]: step for step in action["runs"]["steps"] if "id" in step}


def base_python() -> str:
    """The interpreter this virtualenv was made from: what setup-python's python-path names."""
    base = getattr(sys, "_base_executable", "") or sys.executable
    if Path(base).resolve() != Path(sys.executable).resolve() or sys.prefix == sys.base_prefix:
        return base
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(Path(sys.base_prefix) / "bin" / version)


@dataclass
class Runner:
    """The directories one job on a runner sees, under ``home``."""

    home: Path
    tool_cache: Path
    caches: Path | None  # pip's and uv's caches; None: this machine's own
    job: int = 0

    @classmethod
    def fresh(cls, home: Path) -> Runner:
        runner = cls(home=home, tool_cache=home / "toolcache", caches=home / "caches")
        runner.tool_cache.mkdir(parents=True)
        return runner

    def next_job(self) -> Path:
        """A new, empty ``runner.temp``, as every job gets."""
        self.job += 1
        temp = self.home / f"temp-{self.job}"
        temp.mkdir()
        return temp

    def seed_uv(self, uv: Path, version: str) -> None:
        """Put a uv binary where the install step keeps it, as a previous job would have."""
        folder = self.tool_cache / "cekura-gate-uv" / version / "X64" / "bin"
        folder.mkdir(parents=True)
        shutil.copy2(uv, folder / uv.name)


@dataclass
class StepResult:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    seconds: float


def job_environment(runner: Runner, temp: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(_DROPPED)}
    env.update(
        GITHUB_ACTIONS="true",
        RUNNER_ARCH="X64",
        RUNNER_OS="Linux",
        RUNNER_TEMP=str(temp),
        RUNNER_TOOL_CACHE=str(runner.tool_cache),
    )
    if runner.caches is not None:
        env.update(PIP_CACHE_DIR=str(runner.caches / "pip"), UV_CACHE_DIR=str(runner.caches / "uv"))
    return env


def run_step(
    step: Mapping[str, Any],
    context: Mapping[str, str],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float = 300,
) -> StepResult:
    """Run one ``run:`` step as the runner does; ``context`` maps each expression to its value."""

    def evaluate(match: re.Match[str]) -> str:
        if match[1] not in context:
            raise KeyError(f"the emulated runner does not know {match[1]!r}")
        return context[match[1]]

    temp = Path(env["RUNNER_TEMP"])
    script = temp / f"step-{step['id']}.sh"
    script.write_text(EXPRESSION.sub(evaluate, step["run"]), encoding="utf-8")
    output = temp / f"output-{step['id']}"
    output.write_text("", encoding="utf-8")
    full_env = dict(env)
    full_env.update({key: EXPRESSION.sub(evaluate, str(v)) for key, v in step["env"].items()})
    full_env["GITHUB_OUTPUT"] = str(output)
    started = time.perf_counter()
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - started
    outputs = parse_outputs(output.read_text(encoding="utf-8"))
    return StepResult(proc.returncode, proc.stdout, proc.stderr, outputs, seconds)


def parse_outputs(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the runner reads it: ``name=value`` or ``name<<DELIMITER`` lines."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, equals, value = line.partition("=")
        if "<<" in line and (not equals or "<<" in name):
            name, _, delimiter = line.partition("<<")
            value = "\n".join(iter(lambda: next(lines), delimiter))
        outputs[name] = value
    return outputs


def install(runner: Runner, action_dir: Path = ROOT, python: str | None = None) -> StepResult:
    """One job's install step on ``runner``, with the Action checked out at ``action_dir``."""
    temp = runner.next_job()
    # The step reads its paths from the runner's variables; its one expression is Python's.
    context = {"steps.python.outputs.python-path": python or base_python()}
    workspace = temp / "workspace"
    workspace.mkdir()
    step = action_steps(action_dir)["install"]
    env = job_environment(runner, temp) | {"GITHUB_ACTION_PATH": str(action_dir)}
    return run_step(step, context, env, cwd=workspace)


def _checked(result: StepResult) -> float:
    if result.code != 0 or "python" not in result.outputs:
        raise SystemExit(f"bench: the install step failed ({result.code}):\n{result.stderr}")
    return result.seconds


def locked_uv() -> tuple[Path, str]:
    """The uv this environment was installed with (from the lock) and its version."""
    scripts = Path(sysconfig.get_path("scripts"))
    uv = next(path for path in (scripts / "uv", scripts / "uv.exe") if path.is_file())
    return uv, importlib.metadata.version("uv")


def measure(folder: Path, cold_runs: int, warm_runs: int) -> tuple[list[float], list[float]]:
    """Seconds of the install step on ``cold_runs`` fresh runners, then ``warm_runs`` more
    jobs on the first. With no cold run, that runner's tool cache is seeded with the locked uv
    and the caches are this machine's own, so nothing is downloaded."""
    cold: list[float] = []
    if cold_runs == 0:
        runner = Runner.fresh(folder / "runner-warm")
        runner.seed_uv(*locked_uv())
        runner.caches = None
    for index in range(cold_runs):
        fresh = Runner.fresh(folder / f"runner-{index}")
        cold.append(_checked(install(fresh)))
        if index == 0:
            runner = fresh
    warm = [_checked(install(runner)) for _ in range(warm_runs)]
    return cold, warm


def venv_floor(folder: Path, repeats: int) -> float:
    """``python -m venv`` alone: what any pip-based install pays before installing anything."""
    times = []
    for index in range(repeats):
        started = time.perf_counter()
        subprocess.run([base_python(), "-m", "venv", str(folder / f"venv-{index}")], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def section(folder: Path, quick: bool) -> Section:
    cold_runs, warm_runs = (0, 3) if quick else (3, 5)
    cold, warm = measure(folder, cold_runs, warm_runs)
    floor = venv_floor(folder, 1 if quick else 3)
    cold_cell = (
        f"{statistics.median(cold):.2f} s (min {min(cold):.2f}, max {max(cold):.2f})"
        if cold
        else "not measured in --quick (it downloads from PyPI)"
    )
    targets = [Target("Action install, warm", statistics.median(warm), 1.0, "s", quick_limit=3.0)]
    if cold:
        targets.insert(0, Target("Action install, cold", statistics.median(cold), 3.0, "s"))
    lines = [
        "## GitHub Action install",
        "",
        "action.yml's install step run as a runner runs it (bash, its `env:`, a fresh "
        "`runner.temp`). Cold: new runner, empty tool cache and pip/uv caches (uv and the "
        "wheels come from PyPI). Warm: the next job on the same runner. "
        "Target: at most 3 s cold, 1 s warm.",
        "",
        "| cold | warm | `python -m venv` alone (floor of a pip-based install) |",
        "| --- | --- | --- |",
        f"| {cold_cell} | {statistics.median(warm):.2f} s | {floor:.2f} s |",
    ]
    return Section(lines, targets)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as temp:
        print("\n".join(section(Path(temp), quick="--quick" in sys.argv).lines))
