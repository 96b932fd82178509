"""The supply chain: the lock and the files made from it, the release path, the audits of the
workflows, the image's build, and the Action's install step run the way a runner runs it.

Everything here is offline except the two cold install tests (a fresh runner, and one whose
tool cache cannot be written), which download what a fresh hosted runner downloads, from the
package index: the one network this project's machines have, which ``.ci/run`` needs anyway to
install the suite. They need pip in the base interpreter, as setup-python's Python has.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import gate
from bench import action_install
from tests.conftest import ROOT

BIN = Path(sys.executable).parent
VERSION = gate.__version__
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
EXAMPLE_WORKFLOW = ROOT / "examples" / "github-workflow.yml"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]  # names the released version
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
AUDITED = [ROOT / "action.yml", *WORKFLOWS, EXAMPLE_WORKFLOW]


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


locks = load_script("locks")
release = load_script("release")


def run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def requirements(path: Path) -> list[tuple[Requirement, list[str]]]:
    """(requirement, hashes) for each entry of a hash-pinned requirements file."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        spec, *options = re.split(r"\s+--", line.strip())
        hashes = [option.removeprefix("hash=") for option in options if option.startswith("hash=")]
        entries.append((Requirement(spec), hashes))
    return entries


# --------------------------------------------------------------------------- 1. the lock


def test_requirement_files_agree_with_the_lock():
    proc = run(sys.executable, ROOT / "scripts" / "locks.py", "--check")
    assert proc.returncode == 0, proc.stderr


def test_a_stale_requirement_file_is_caught(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "runtime.txt"
    stale.write_text(locks.RUNTIME.read_text(encoding="utf-8").replace("==", "==0", 1))
    monkeypatch.setattr(locks, "RUNTIME", stale)
    monkeypatch.setattr(locks, "UV_PIN", tmp_path / "uv.txt")
    monkeypatch.setattr(locks, "UV_WHEELS", tmp_path / "uv-wheels.txt")
    assert locks.main(["--check"]) == 1
    assert "runtime.txt, uv.txt, uv-wheels.txt disagree with uv.lock" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["runtime.txt", "uv.txt", "uv-wheels.txt"])
def test_every_requirement_is_exact_and_hashed(name):
    entries = requirements(ROOT / "requirements" / name)
    assert entries
    for requirement, hashes in entries:
        exact = requirement.url is not None or str(requirement.specifier).startswith("==")
        assert exact and hashes, requirement
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", digest) for digest in hashes)


def test_the_runtime_lock_is_what_pyproject_asks_for():
    names = {requirement.name for requirement, _ in requirements(locks.RUNTIME)}
    assert {"httpx", "pyyaml", "tenacity"} <= names
    assert not names & {"pytest", "respx", "mypy", "ruff", "uv"}  # no test or dev tool


def test_uv_is_pinned_at_the_locked_version_everywhere():
    locked = importlib.metadata.version("uv")  # this environment was synced from uv.lock
    [(by_version, _)] = requirements(locks.UV_PIN)
    assert str(by_version.specifier) == f"=={locked}"
    wheels = requirements(locks.UV_WHEELS)
    assert len(wheels) == len(locks.PLATFORMS)
    assert all(f"/uv-{locked}-" in str(requirement.url) for requirement, _ in wheels)


def test_each_runner_platform_gets_exactly_one_uv_wheel():
    platforms = [
        {"sys_platform": system, "platform_machine": machine}
        for system, machine in [
            ("linux", "x86_64"),
            ("linux", "aarch64"),
            ("darwin", "x86_64"),
            ("darwin", "arm64"),
            ("win32", "AMD64"),
            ("win32", "ARM64"),
        ]
    ]
    wheels = requirements(locks.UV_WHEELS)
    for platform in platforms:
        chosen = [r for r, _ in wheels if r.marker is not None and r.marker.evaluate(platform)]
        assert len(chosen) == 1, platform


@pytest.mark.skipif(
    bool(os.environ.get("GATE_TEST_UNLOCKED_RUNTIME")),
    reason="make test-latest / test-lowest move the runtime off the lock on purpose",
)
def test_this_environment_holds_exactly_what_the_lock_names():
    proc = run(
        BIN / "uv",
        "export",
        "--frozen",
        "--all-groups",
        "--no-emit-project",
        "--no-hashes",
        "--no-header",
        "--no-annotate",
        "--no-config",
    )
    assert proc.returncode == 0, proc.stderr
    locked = {}
    for line in proc.stdout.splitlines():
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            locked[canonicalize_name(requirement.name)] = str(requirement.specifier)[2:]
    present = installed(sys.executable)
    present.pop("cekura-gate", None)  # the project itself, installed editable by uv sync
    assert present == locked  # nothing missing, nothing extra (no pip from ensurepip)


def test_the_lock_is_current_for_pyproject_and_every_supported_python():
    proc = run(BIN / "uv", "lock", "--check", "--offline", "--no-config")
    assert proc.returncode == 0, proc.stderr
    lock = (ROOT / "uv.lock").read_text(encoding="utf-8")
    assert re.search(r'^requires-python = ">=3.10"$', lock, re.M)


def test_find_python_names_a_missing_version_in_one_line():
    proc = run("sh", ROOT / "scripts" / "find-python", "3.99")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("find-python: no Python 3.99") and proc.stderr.count("\n") == 1


def test_find_python_finds_the_running_version():
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    proc = run("sh", ROOT / "scripts" / "find-python", version)
    assert proc.returncode == 0, proc.stderr
    found = run(proc.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])")
    assert found.stdout.strip() == str(sys.version_info[:2])


@pytest.mark.parametrize(
    "target",
    [
        ["test-latest"],
        ["test-lowest"],
        ["lock"],
        ["test-pythons", f"PYTHONS={sys.version_info.major}.{sys.version_info.minor}"],
    ],
    ids=lambda target: target[0],
)
def test_make_targets_exist(target):
    proc = run("make", "-n", *target)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- 2. releasing


def test_every_file_states_the_package_version():
    assert release.check(f"v{VERSION}") == VERSION


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("v9.9.9", "disagrees with the files: pyproject.toml says"),
        ("0.2.0", "is not vMAJOR.MINOR.PATCH"),
        ("vnext", "is not vMAJOR.MINOR.PATCH"),
    ],
)
def test_a_tag_that_disagrees_is_refused_in_one_line(tag, problem):
    proc = run(sys.executable, ROOT / "scripts" / "release.py", "check", tag)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert problem in proc.stderr and proc.stderr.count("\n") == 1


def test_release_notes_are_the_versions_changelog_section():
    notes = release.notes(VERSION)
    assert notes.strip() and "## [" not in notes
    assert "### Added" in notes and "]: https://" not in notes
    with pytest.raises(release.ReleaseError, match=r"no section for 9\.9\.9"):
        release.notes("9.9.9")


@pytest.mark.parametrize(("tag", "major"), [("v0.2.0", "v0"), ("v1.4.2", "v1"), ("v10.0.0", "v10")])
def test_a_release_moves_its_major_tag(tag, major):
    assert release.major(tag) == major


@pytest.mark.parametrize("tag", ["v1.0.0rc1", "v2.0.0-beta.1", "v0", "v01.2.3"])
def test_only_final_semver_tags_are_releases(tag):
    # A pre-release would get no image tags (metadata-action wants semver) and a PyPI version
    # that differs from the tag, so the release path refuses it up front.
    with pytest.raises(release.ReleaseError, match=r"is not vMAJOR\.MINOR\.PATCH"):
        release.check(tag)


def test_the_release_workflow_starts_only_for_release_tags():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    [pattern] = workflow[True]["push"]["tags"]  # YAML 1.1 reads the key `on` as True
    # GitHub's filter: + repeats the previous character class; v0 (the tag it moves) must not match.
    regex = re.compile(pattern.replace(".", r"\."))
    assert regex.fullmatch("v0.2.0") and regex.fullmatch("v12.30.4")
    assert not regex.fullmatch("v0") and not regex.fullmatch("v1.0.0rc1")


def test_changelog_keeps_an_unreleased_section_and_dated_releases():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text
    assert re.search(rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.M)


def test_docs_and_examples_name_only_the_released_version():
    texts = {
        path: path.read_text(encoding="utf-8")
        for path in [*DOCS, EXAMPLE_WORKFLOW, ROOT / "examples" / "gitlab-ci.yml"]
    }
    major = release.major(f"v{VERSION}")
    for path, text in texts.items():
        for image in re.findall(r"ghcr\.io/cekura-gate/cekura-gate:([\w.-]+)", text):
            assert image == VERSION, path
        for component in re.findall(r"/cekura-gate/gate@([\w.<>-]+)", text):
            assert component == VERSION, path
        for ref in re.findall(r"cekura-gate/cekura-gate@([\w.]+)", text):
            assert ref == major, path


def test_sdist_and_wheel_build_offline_and_pass_twine(tmp_path):
    built = run(BIN / "uv", "build", "--no-config", "--offline", "--out-dir", tmp_path)
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("*.whl")
    [sdist] = tmp_path.glob("*.tar.gz")
    assert wheel.name == f"cekura_gate-{VERSION}-py3-none-any.whl"
    checked = run(BIN / "twine", "check", "--strict", wheel, sdist)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {"gate/policy/policy.schema.json", "gate/py.typed", "gate/reporters/junit.py"}
    assert shipped <= set(names)
    assert not [name for name in names if name.startswith(("tests/", "bench/", "scripts/"))]
    info = f"cekura_gate-{VERSION}.dist-info"
    assert f"{info}/licenses/LICENSE" in names
    entry_points = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    assert "cekura-gate = gate.cli.entry:main" in entry_points


# --------------------------------------------------------------------------- 3. workflows


def uses_lines(path: Path) -> list[str]:
    return re.findall(r"^\s*(?:-\s+)?uses:\s*(.+?)\s*$", path.read_text(encoding="utf-8"), re.M)


@pytest.mark.parametrize("path", AUDITED, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_action_is_pinned_by_sha_with_its_version(path):
    for uses in uses_lines(path):
        if uses.startswith("./") or (path == EXAMPLE_WORKFLOW and "cekura-gate/" in uses):
            continue
        assert SHA_PIN.match(uses), f"{path.name}: {uses}"


@pytest.mark.parametrize("path", [EXAMPLE_WORKFLOW, *WORKFLOWS], ids=lambda path: path.name)
def test_workflows_grant_least_permissions_per_job_and_keep_no_credentials(path):
    workflow: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["permissions"] == {}, "nothing at the top level; each job asks for its own"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, name
        assert "write-all" not in str(job["permissions"]), name
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    config = ROOT / ".github" / "zizmor.yml"
    return run(BIN / "zizmor", "--offline", "--config", config, "--format", "json", *paths)


def test_zizmor_finds_nothing_in_the_action_and_the_workflows():
    proc = zizmor(*AUDITED)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == []


def test_zizmor_is_not_vacuous(tmp_path):
    workflow = tmp_path / "wf.yml"
    workflow.write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    permissions: {}\n    steps:\n      - uses: actions/checkout@v4\n",
        encoding="utf-8",
    )
    proc = zizmor(workflow)
    found = {finding["ident"] for finding in json.loads(proc.stdout)}
    assert proc.returncode != 0 and {"unpinned-uses", "artipacked"} <= found


# --------------------------------------------------------------------------- 4. the image


def docker_context(folder: Path) -> Path:
    """The build context .dockerignore lets through (it allow-lists with ``!`` lines)."""
    rules = [
        line
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert rules[0] == "*", "the context starts empty and allow-lists what the image needs"
    for rule in rules:
        if not rule.startswith("!"):
            continue
        source = ROOT / rule[1:].rstrip("/")
        target = folder / rule[1:].rstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    return folder


def test_the_build_context_holds_every_copied_file_and_builds_the_wheel(tmp_path):
    context = docker_context(tmp_path / "context")
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M)
    for sources in copies:
        for source in sources.split():
            assert (context / source).exists(), f"{source} is not in the build context"
    built = run(
        BIN / "uv",
        "build",
        "--no-config",
        "--offline",
        "--wheel",
        "--out-dir",
        tmp_path / "dist",
        context,
    )
    assert built.returncode == 0, built.stderr
    assert [path.name for path in (tmp_path / "dist").glob("*.whl")] == [
        f"cekura_gate-{VERSION}-py3-none-any.whl"
    ]


def test_the_image_installs_only_hash_checked_wheels_from_the_lock():
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    installs = re.findall(r"pip install ([^&\n]+)", text)
    from_lock = [args for args in installs if " -r " in args]
    assert {args.split(" -r ")[1].split()[0] for args in from_lock} == {
        "/src/requirements/uv.txt",
        "/tmp/runtime.txt",
    }
    for args in from_lock:
        assert "--require-hashes" in args and "--only-binary :all:" in args
    labels = " ".join(re.findall(r"^LABEL (.+)$", text, re.M))
    for key in ("source", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


# --------------------------------------------------------------------------- 5. the Action


def action_copy(folder: Path) -> Path:
    """The files a runner checks out for the Action (the parts the install step reads)."""
    for name in ("action.yml", "requirements", "gate"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    return folder


def snapshot(folder: Path) -> dict[str, tuple[int, float]]:
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime)
        for path in sorted(folder.rglob("*"))
    }


def installed(python: str) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))"
    )
    proc = run(python, "-I", "-c", code)
    assert proc.returncode == 0, proc.stderr
    versions: dict[str, str] = json.loads(proc.stdout)
    return {str(canonicalize_name(name)): v for name, v in versions.items()}


def expected_runtime() -> dict[str, str]:
    return {
        str(canonicalize_name(requirement.name)): str(requirement.specifier).removeprefix("==")
        for requirement, _ in requirements(locks.RUNTIME)
        if requirement.marker is None or requirement.marker.evaluate()
    }


@pytest.fixture(scope="module")
def warm_install(tmp_path_factory):
    """The install step on a runner whose tool cache already holds the locked uv."""
    home = tmp_path_factory.mktemp("runner")
    action = action_copy(home / "action")
    before = snapshot(action)
    runner = action_install.Runner.fresh(home / "runner")
    runner.seed_uv(*action_install.locked_uv())
    runner.caches = None
    result = action_install.install(runner, action_dir=action)
    return result, action, before


def test_install_step_installs_exactly_the_locked_runtime(warm_install):
    result, _, _ = warm_install
    assert result.code == 0, result.stderr
    assert installed(result.outputs["python"]) == expected_runtime()
    assert f"cekura-gate {VERSION}" in result.stdout
    assert result.stdout.startswith("::group::Install cekura-gate\n")


def test_install_step_writes_nothing_into_the_action_directory(warm_install):
    result, action, before = warm_install
    assert result.code == 0, result.stderr
    assert snapshot(action) == before


def test_the_installed_gate_runs_the_gate_step(warm_install, tmp_path):
    result, action, _ = warm_install
    step = action_install.action_steps(action)["gate"]
    inputs = {
        f"inputs.{name}": str(spec.get("default", ""))
        for name, spec in yaml.safe_load((action / "action.yml").read_text())["inputs"].items()
    }
    inputs |= {
        "inputs.policy": str(ROOT / "examples" / "gate.yaml"),
        "inputs.result-file": str(ROOT / "examples" / "results" / "result_completed_mixed.json"),
        "inputs.fail-on": "never",
        "steps.install.outputs.python": result.outputs["python"],
    }
    runner = action_install.Runner.fresh(tmp_path / "runner")
    temp = runner.next_job()
    env = action_install.job_environment(runner, temp) | {"GITHUB_STEP_SUMMARY": str(temp / "s")}
    gated = action_install.run_step(step, inputs, env, cwd=temp)
    assert gated.code == 0, gated.stderr
    assert gated.outputs["verdict"] == "fail"
    assert (temp / "cekura-gate" / "junit.xml").is_file()


def test_a_second_job_reuses_the_cached_uv(tmp_path):
    runner = action_install.Runner.fresh(tmp_path / "runner")
    runner.seed_uv(*action_install.locked_uv())
    runner.caches = None
    # A Python without pip proves the second job never reaches for it.
    bare = tmp_path / "bare"
    subprocess.run([action_install.base_python(), "-m", "venv", "--without-pip", bare], check=True)
    result = action_install.install(runner, python=str(bare / "bin" / "python"))
    assert result.code == 0, result.stderr


@pytest.fixture
def base_pip() -> None:
    """The cold path runs setup-python's pip; a base Python without pip cannot stand in."""
    probe = run(action_install.base_python(), "-m", "pip", "--version")
    if probe.returncode != 0:
        pytest.skip("the base interpreter has no pip (setup-python's always has)")


@pytest.mark.usefixtures("base_pip")
def test_a_cold_install_step_takes_uv_and_wheels_from_pypi(tmp_path):
    runner = action_install.Runner.fresh(tmp_path / "runner")
    result = action_install.install(runner)
    assert result.code == 0, result.stderr
    cached = list((runner.tool_cache / "cekura-gate-uv").glob("*/X64/bin/uv"))
    assert [path.parts[-4] for path in cached] == [importlib.metadata.version("uv")]
    assert installed(result.outputs["python"]) == expected_runtime()


@pytest.mark.usefixtures("base_pip")
def test_an_unwritable_tool_cache_falls_back_to_runner_temp(tmp_path):
    runner = action_install.Runner.fresh(tmp_path / "runner")
    shutil.rmtree(runner.tool_cache)
    runner.tool_cache.write_text("not a directory", encoding="utf-8")
    result = action_install.install(runner)
    assert result.code == 0, result.stderr
    temp = Path(result.outputs["python"]).parents[2]  # <runner.temp>/cekura-gate-venv/bin/python
    assert (temp / "cekura-gate-uv" / "bin" / "uv").is_file()
    assert not list(temp.glob("cekura-gate-uv.partial-*"))  # the staging copy was published
    assert installed(result.outputs["python"]) == expected_runtime()
