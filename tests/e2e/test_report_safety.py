"""End-to-end tests of what the gate writes, whatever the paths, the signals and the streams.

* No report is ever written over a file the command reads (policy, result, runs file,
  baseline file from the flag or named by the policy), nor over another report or the
  GitHub files the gate appends to, however the path is spelled: the command is refused
  (exit 2, one line) and nothing at all is written, also when the command line is broken.
* Devices, FIFOs and ``/dev/stdout`` are written in place, never replaced.
* A SIGINT or SIGTERM after the verdict line ends with 130 or 143 and every report complete.
* A stdout or stderr that is closed, broken or full changes nothing but what it shows.

Paths and devices run in this process (``run_cli``); signals and broken streams need the real
process (``spawn``) and are slow.
"""

from __future__ import annotations

import ast
import json
import os
import select
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml

from tests.conftest import EXAMPLES, ROOT, CliRun, make_result, make_run, run_cli
from tests.e2e.harness import finish, gate_env, run_gate, spawn

POLICY = "version: 1\nrules:\n  success_rate: {min: 80}\n  runs: {min_total: 1}\n"
NAMED_BASELINE = "named-baseline.json"
EXAMPLE_RESULT = EXAMPLES / "results" / "result_completed_mixed.json"
REPORT_FLAGS = ("--junit", "--summary", "--json", "--dotenv")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _result(runs: int = 2, failed: int = 0) -> str:
    entries = [make_run(i, success=i > failed) for i in range(1, runs + 1)]
    return json.dumps(make_result(entries))


def _files(tmp_path: Path) -> dict[str, bytes]:
    """Every file under tmp_path (symlinks as their target's path) and its bytes."""
    found = {}
    for path in sorted(tmp_path.rglob("*")):
        key = str(path.relative_to(tmp_path))
        if path.is_symlink():
            found[key] = os.readlink(path).encode()
        elif path.is_file():
            found[key] = path.read_bytes()
    return found


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    """A policy naming a baseline file, a result, a runs file and a baseline, in tmp_path."""
    _write(tmp_path / "gate.yaml", f"{POLICY}baseline:\n  file: {NAMED_BASELINE}\n")
    _write(tmp_path / "result.json", _result())
    _write(tmp_path / "runs.json", json.dumps({"results": []}))
    _write(tmp_path / "base.json", _result())
    _write(tmp_path / NAMED_BASELINE, _result())
    return tmp_path


CHECK = [
    "check",
    "--policy",
    "gate.yaml",
    "--result-file",
    "result.json",
    "--runs-file",
    "runs.json",
    "--baseline-file",
    "base.json",
]
INPUTS = {  # each input the check reads -> what the refusal names it by
    "gate.yaml": "--policy",
    "result.json": "--result-file",
    "runs.json": "--runs-file",
    "base.json": "--baseline-file",
    NAMED_BASELINE: "the policy's baseline file",
}


def _spell(folder: Path, name: str, spelling: str) -> str:
    """Another way to name ``folder/name``, seen from ``folder``."""
    if spelling == "plain":
        return name
    if spelling == "dot":
        return f"./{name}"
    if spelling == "dotdot":
        return f"../{folder.name}/{name}"
    if spelling == "absolute":
        return str(folder / name)
    other = folder / f"{spelling}-{name}"
    if spelling == "symlink":
        other.symlink_to(name)
    else:
        os.link(folder / name, other)
    return other.name


SPELLINGS = ("plain", "dot", "dotdot", "absolute", "symlink", "hardlink")
CASES = [
    pytest.param(name, spelling, REPORT_FLAGS[index % 4], id=f"{name}-{spelling}")
    for index, (name, spelling) in enumerate(
        (name, spelling) for name in INPUTS for spelling in SPELLINGS
    )
]


def _assert_refused(run: CliRun, before: dict[str, bytes], after: dict[str, bytes], *names: str):
    assert run.code == 2, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cekura-gate: error: "), run.stderr
    assert all(name in lines[0] for name in names), lines[0]
    assert "nothing was written" in lines[0]
    assert after == before  # every input intact, and no report anywhere
    assert "Traceback" not in run.stderr + run.stdout


# --------------------------------------------------------------------------- inputs


@pytest.mark.parametrize(("name", "spelling", "flag"), CASES)
def test_a_report_over_an_input_is_refused_and_nothing_is_written(scene, name, spelling, flag):
    path = _spell(scene, name, spelling)
    others = [arg for other in REPORT_FLAGS if other != flag for arg in (other, f"out/{other}")]
    before = _files(scene)
    run = run_cli(*CHECK, *others, flag, path, cwd=scene)
    _assert_refused(run, before, _files(scene), flag, path, INPUTS[name])


@pytest.mark.parametrize(("name", "spelling", "flag"), CASES[::3])
def test_a_usage_error_never_writes_its_reports_over_an_input(scene, name, spelling, flag):
    path = _spell(scene, name, spelling)
    before = _files(scene)
    other = "--summary" if flag == "--junit" else "--junit"
    run = run_cli(*CHECK, f"{flag}={path}", other, "out/r", "--bogus-flag", cwd=scene)
    assert run.code == 2
    assert "--bogus-flag" in run.stderr and path in run.stderr
    assert _files(scene) == before


def test_a_usage_error_with_abbreviated_flags_still_spares_the_inputs(scene):
    before = _files(scene)
    run = run_cli("check", "--pol", "result.json", "--junit", "result.json", "--bogus", cwd=scene)
    assert run.code == 2
    assert _files(scene) == before


@pytest.mark.parametrize(
    ("read", "written"),
    [
        pytest.param("result.json", "result.json", id="input-through-a-descriptor"),
        pytest.param("gate.yaml", "report-over-descriptor", id="report-through-a-descriptor"),
    ],
)
def test_a_descriptor_path_open_on_an_input_is_compared_by_the_file(scene, read, written):
    """``--result-file /dev/stdin < result.json`` and ``--json /dev/fd/3 3<gate.yaml``: a
    descriptor path open on a regular file is that file, on either side of the check."""
    descriptor = os.open(scene / read, os.O_RDONLY)
    try:
        through = f"/proc/self/fd/{descriptor}"
        before = _files(scene)
        if written == "result.json":  # the input read through the descriptor
            argv = ["check", "--policy", "gate.yaml", "--result-file", through]
            run = run_cli(*argv, "--json", "result.json", cwd=scene)
        else:  # the report written through it
            run = run_cli(*CHECK, "--json", through, cwd=scene)
        _assert_refused(run, before, _files(scene), "--json")
    finally:
        os.close(descriptor)


def test_two_reports_to_one_descriptor_are_both_written(tmp_path):
    """Reports appended to one stream destroy nothing: not refused as one file."""
    log = tmp_path / "log.txt"
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        through = f"/proc/self/fd/{descriptor}"
        argv = ["--result-file", str(EXAMPLE_RESULT), "--summary", through, "--dotenv", through]
        run = run_cli("check", "--policy", str(EXAMPLES / "gate.yaml"), *argv)
    finally:
        os.close(descriptor)
    assert run.code in (0, 1), run.stderr
    written = log.read_text("utf-8")
    assert "## " in written and "GATE_TOTAL_RUNS=2" in written  # the summary, then the dotenv


def test_a_usage_error_with_an_abbreviated_policy_spares_the_baseline_it_names(scene):
    (scene / "gate.yaml").rename(scene / "release.yaml")  # not the default policy's name
    before = _files(scene)
    argv = ["check", "--pol", "release.yaml", "--json", NAMED_BASELINE, "--bogus"]
    run = run_cli(*argv, cwd=scene)
    assert run.code == 2
    assert NAMED_BASELINE in run.stderr
    assert _files(scene) == before


def test_a_policy_read_from_a_pipe_still_spares_the_baseline_it_names(scene):
    """``--policy <(cat gate.yaml)``: the policy cannot be read ahead, so its baseline file is
    known only once it is loaded, which is still before anything is written."""
    read, write = os.pipe()
    os.write(write, (scene / "gate.yaml").read_bytes())
    os.close(write)
    try:
        before = _files(scene)
        argv = ["check", "--policy", f"/proc/self/fd/{read}", "--result-file", "result.json"]
        run = run_cli(*argv, "--json", NAMED_BASELINE, cwd=scene)
    finally:
        os.close(read)
    _assert_refused(run, before, _files(scene), "--json", "the policy's baseline file")


def test_a_report_over_the_policy_of_a_run_is_refused(scene):
    before = _files(scene)
    run = run_cli("run", "--policy", "gate.yaml", "--summary", "./gate.yaml", cwd=scene)
    _assert_refused(run, before, _files(scene), "--summary", "--policy")


@pytest.mark.parametrize(
    ("flags", "names"),
    [
        pytest.param(["--junit", "r.xml", "--json", "./r.xml"], ["--junit", "--json"], id="dot"),
        pytest.param(["--summary", "s.md", "--dotenv", "link"], ["--summary", "--dotenv"], id="ln"),
    ],
)
def test_two_reports_on_one_file_are_refused_and_nothing_is_written(scene, flags, names):
    (scene / "link").symlink_to("s.md")
    before = _files(scene)
    run = run_cli(*CHECK[:5], *flags, cwd=scene)
    _assert_refused(run, before, _files(scene), *names)


@pytest.mark.parametrize(
    ("variable", "flag"), [("GITHUB_STEP_SUMMARY", "--summary"), ("GITHUB_OUTPUT", "--dotenv")]
)
def test_a_report_over_a_file_github_appends_to_is_refused(scene, variable, flag):
    appended = _write(scene / "step-file", "earlier step output\n")
    env = {"GITHUB_ACTIONS": "true", variable: str(appended)}
    before = _files(scene)
    run = run_cli(*CHECK[:5], flag, "./step-file", cwd=scene, env=env)
    _assert_refused(run, before, _files(scene), flag, variable)


@pytest.mark.parametrize("variable", ["GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"])
@pytest.mark.parametrize("name", ["gate.yaml", "runs.json", NAMED_BASELINE])
def test_a_file_github_appends_to_is_never_an_input(scene, variable, name):
    env = {"GITHUB_ACTIONS": "true", variable: str(scene / name)}
    before = _files(scene)
    run = run_cli(*CHECK, cwd=scene, env=env)
    _assert_refused(run, before, _files(scene), variable, INPUTS[name])


@pytest.mark.parametrize(("name", "spelling"), [("result.json", "dot"), ("runs.json", "hardlink")])
def test_baseline_save_never_overwrites_its_input(scene, name, spelling):
    path = _spell(scene, name, spelling)
    before = _files(scene)
    flags = ["--result-file", "result.json", "--runs-file", "runs.json", "-o", path]
    run = run_cli("baseline", "save", *flags, cwd=scene)
    _assert_refused(run, before, _files(scene), "--output", path)


# --------------------------------------------------------------------------- special files


# As root, a gate that replaced special files would replace the machine's /dev/null or
# /dev/stdout: root runs use a device node and a link of their own, on the same code path.
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def _a_null_device(folder: Path) -> Path:
    """``/dev/null``, or as root a null device of this test's own."""
    if not ROOT_USER:
        return Path(os.devnull)
    node = folder / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return node


def _dev_stdout(folder: Path) -> str:
    """``/dev/stdout``, or as root a link of this test's own to it."""
    if not ROOT_USER:
        return "/dev/stdout"
    (folder / "stdout").symlink_to("/dev/stdout")
    return str(folder / "stdout")


def test_a_device_as_report_path_is_written_into_never_replaced(scene):
    device = _a_null_device(scene)
    flags = ["--junit", str(device), "--summary", str(device), "--json", str(device)]
    run = run_cli(*CHECK[:5], *flags, cwd=scene)
    assert run.code == 0, run.stderr
    assert stat.S_ISCHR(os.stat(device).st_mode)
    assert not [name for name in os.listdir(device.parent) if name.startswith(".null")]


def _open_reader(fifo: Path) -> int:
    os.mkfifo(fifo)
    return os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)


def _drain(reader: int) -> bytes:
    """Everything written to the FIFO, once a writer has come (until then a read is EOF)."""
    waiter = select.poll()
    waiter.register(reader, select.POLLIN)
    assert waiter.poll(60_000), "no one wrote to the FIFO"
    os.set_blocking(reader, True)
    chunks = []
    while chunk := os.read(reader, 1 << 20):
        chunks.append(chunk)
    os.close(reader)
    return b"".join(chunks)


def test_a_fifo_with_a_reader_receives_the_report(scene):
    reader = _open_reader(scene / "pipe")
    run = run_cli(*CHECK[:5], "--json", "pipe", cwd=scene)
    assert run.code == 0, run.stderr
    assert json.loads(_drain(reader))["verdict"] == "pass"
    assert stat.S_ISFIFO(os.stat(scene / "pipe").st_mode)


@pytest.mark.slow  # the gate gives a reader two seconds to come
def test_a_fifo_no_one_reads_is_a_report_not_written_without_a_hang(scene):
    os.mkfifo(scene / "pipe")
    run = run_gate(
        [*CHECK[:5], "--json", "pipe", "--junit", "j.xml"], env=gate_env(), cwd=scene, limit=10
    )
    assert run.code == 3
    assert "pipe: cannot write the json report" in run.stderr
    assert stat.S_ISFIFO(os.stat(scene / "pipe").st_mode)
    assert JUnitXml.fromfile(str(scene / "j.xml"))


# --------------------------------------------------------------------------- real processes


def _gate(folder: Path, *argv: str) -> subprocess.Popen[str]:
    return spawn(["check", *argv], env=gate_env(), cwd=folder).proc


@pytest.mark.slow
def test_summary_to_dev_stdout_prints_it_after_the_verdict(scene):
    argv = [*CHECK[:5], "--summary", _dev_stdout(scene)]
    done = finish(spawn(argv, env=gate_env(), cwd=scene))
    assert done.code == 0, done.stderr
    assert done.stdout.startswith("cekura-gate: PASSED")
    assert "## :white_check_mark: Cekura gate" in done.stdout


@pytest.mark.slow
def test_summary_to_dev_stdout_redirected_to_a_file_is_appended(scene):
    log = _write(scene / "log.txt", "before\n")
    argv = [*CHECK[:5], "--summary", _dev_stdout(scene)]
    with open(log, "a", encoding="utf-8") as stream:
        started = spawn(argv, env=gate_env(), cwd=scene, stdout=stream)
        done = finish(started)
    assert done.code == 0, done.stderr
    text = log.read_text(encoding="utf-8")
    assert text.startswith("before\ncekura-gate: PASSED") and "## :white_check_mark:" in text


ALL_REPORTS = ["--junit", "j.xml", "--summary", "s.md", "--json", "v.json", "--dotenv", "d.env"]


def _assert_every_report(folder: Path, verdict: str, junit: Path | None = None) -> None:
    assert json.loads((folder / "v.json").read_text(encoding="utf-8"))["verdict"] == verdict
    assert list(JUnitXml.fromfile(str(junit or folder / "j.xml")))
    assert (folder / "s.md").read_text(encoding="utf-8").startswith("## ")
    assert f"GATE_VERDICT={verdict}" in (folder / "d.env").read_text(encoding="utf-8")


SIGNALS = [
    pytest.param([signal.SIGINT], 130, id="sigint"),
    pytest.param([signal.SIGTERM], 143, id="sigterm"),
    pytest.param([signal.SIGINT, signal.SIGINT], 130, id="double-ctrl-c"),
    pytest.param([signal.SIGINT, signal.SIGTERM], 130, id="sigint-then-sigterm"),
]


@pytest.mark.slow
def test_the_signals_are_held_before_any_of_the_gate_is_imported():
    """Both entry points (the ``cekura-gate`` script, ``gate.cli.entry:main``, and
    ``python -m gate``) hold SIGINT and SIGTERM before importing the gate, so a signal in
    the first milliseconds still ends with reports and the documented exit code. (Only a
    bare ``--version`` is answered before that: it has no reports.)"""
    gate_dir = Path(__file__).parents[2] / "gate"
    main_module = ast.parse((gate_dir / "__main__.py").read_text("utf-8"))
    entry_module = ast.parse((gate_dir / "cli" / "entry.py").read_text("utf-8"))
    assert _imported(main_module) == ["gate.cli.entry"]
    assert _imported(entry_module) == ["sys", "gate"]  # the version; the rest in main()
    entry_main = next(
        node
        for node in entry_module.body
        if isinstance(node, ast.FunctionDef) and node.name == "main"
    )
    imports = [node for node in ast.walk(entry_main) if isinstance(node, ast.ImportFrom)]
    assert [node.module for node in imports] == ["gate.cli.signals", "gate.cli.main"]
    probe = (
        "import signal, sys\n"
        "seen = []\n"
        "real = signal.signal\n"
        "def spy(signum, handler):\n"
        "    seen.append(sorted(m for m in sys.modules if m.split('.')[0] == 'gate'))\n"
        "    return real(signum, handler)\n"
        "signal.signal = spy\n"
        "import gate.cli.signals\n"
        "gate.cli.signals.hold_early()\n"
        "print(seen[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout.strip() == str(["gate", "gate.cli", "gate.cli.signals"])


def _imported(module: ast.Module) -> list[str]:
    """The modules a module imports at its top level."""
    names = []
    for node in module.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


@pytest.mark.slow
@pytest.mark.parametrize(("signals", "code"), SIGNALS)
def test_a_signal_after_the_verdict_line_leaves_every_report_complete(tmp_path, signals, code):
    # The JUnit report goes to a FIFO this test reads only after signalling: the gate cannot
    # have finished its reports before the signals land, whatever the machine's speed.
    _write(tmp_path / "gate.yaml", POLICY)
    _write(tmp_path / "result.json", _result(runs=3000, failed=30))
    reader = _open_reader(tmp_path / "junit.fifo")
    reports = [*ALL_REPORTS[2:], "--junit", "junit.fifo"]
    proc = _gate(tmp_path, "--policy", "gate.yaml", "--result-file", "result.json", *reports)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("cekura-gate: PASSED")
        for signum in signals:
            proc.send_signal(signum)
        junit = _drain(reader)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and "every report was finished first" in lines[0], stderr
    _write(tmp_path / "j.xml", junit.decode("utf-8"))
    _assert_every_report(tmp_path, "pass")


@pytest.mark.slow
def test_sigterm_while_30000_runs_are_reported_leaves_every_report(tmp_path):
    _write(tmp_path / "gate.yaml", POLICY)
    _write(tmp_path / "result.json", _result(runs=30000, failed=3000))
    proc = _gate(tmp_path, "--policy", "gate.yaml", "--result-file", "result.json", *ALL_REPORTS)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("cekura-gate: PASSED")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    _assert_every_report(tmp_path, "pass")


def _sh(redirect: str) -> list[str]:
    return ["sh", "-c", f'exec "$@" {redirect}', "sh", sys.executable, "-m", "gate"]


STREAMS = ["broken-pipe", "stdout-closed", "both-closed", "stdout-full"]


@pytest.mark.slow
@pytest.mark.parametrize(("failed", "code", "verdict"), [(0, 0, "pass"), (1, 1, "fail")])
@pytest.mark.parametrize("how", STREAMS)
def test_a_broken_output_stream_changes_neither_exit_code_nor_reports(
    tmp_path, failed, code, verdict, how
):
    if how == "stdout-full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    _write(tmp_path / "gate.yaml", "version: 1\nrules:\n  runs: {min_total: 1, max_failed: 0}\n")
    _write(tmp_path / "result.json", _result(runs=3, failed=failed))
    argv = ["check", "--policy", "gate.yaml", "--result-file", "result.json", *ALL_REPORTS]
    closing = {"stdout-closed": ">&-", "both-closed": ">&- 2>&-"}
    command = _sh(closing[how]) if how in closing else None
    with open("/dev/full" if how == "stdout-full" else os.devnull, "w") as full:
        stdout = full if how == "stdout-full" else subprocess.PIPE
        started = spawn(argv, env=gate_env(), cwd=tmp_path, command=command, stdout=stdout)
        if how == "broken-pipe":
            assert started.proc.stdout is not None
            started.proc.stdout.close()  # the reader goes away before the gate prints anything
            started.proc.stdout = None
        done = finish(started)
    assert done.code == code, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    _assert_every_report(tmp_path, verdict)


@pytest.mark.slow
@pytest.mark.parametrize("how", STREAMS)
@pytest.mark.parametrize("entry", ["module", "script"])
def test_version_on_a_broken_output_stream_exits_0_quietly(tmp_path, how, entry):
    """``--version`` alone is answered before the streams are guarded (it imports nothing);
    a closed, broken or full stdout still changes nothing: exit 0, nothing on stderr."""
    if how == "stdout-full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    program = (
        [sys.executable, "-m", "gate"]
        if entry == "module"
        else [sys.executable, "-c", "import sys; from gate.cli.entry import main; sys.exit(main())"]
    )
    closing = {"stdout-closed": ">&-", "both-closed": ">&- 2>&-"}
    command = (
        ["sh", "-c", f'exec "$@" {closing[how]}', "sh", *program] if how in closing else program
    )
    with open("/dev/full" if how == "stdout-full" else os.devnull, "w") as full:
        stdout = full if how == "stdout-full" else subprocess.PIPE
        started = spawn(["--version"], env=gate_env(), cwd=tmp_path, command=command, stdout=stdout)
        if how == "broken-pipe":
            assert started.proc.stdout is not None
            started.proc.stdout.close()
            started.proc.stdout = None
        done = finish(started)
    assert (done.code, done.stderr) == (0, "")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["broken-pipe", "stdout-full"])
def test_a_report_on_a_broken_stdout_is_stdout_failing_not_a_lost_report(how):
    """``--summary /dev/stdout | head -1``: when the reader leaves between the verdict line
    and the report, writing the report on the gate's own stdout fails. That is stdout
    failing, which never changes the verdict, not a report lost (a pass would become 3)."""
    if how == "stdout-full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    probe = (
        "import os\n"
        "from gate.cli.output import write_atomic\n"
        + (
            "read, write = os.pipe(); os.close(read); os.dup2(write, 1)\n"
            if how == "broken-pipe"
            else "os.dup2(os.open('/dev/full', os.O_WRONLY), 1)\n"
        )
        + "write_atomic('/proc/self/fd/1', 'summary' * 10000)\n"
        "os.write(2, b'written')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert done.returncode == 0 and done.stderr == "written", done.stderr
