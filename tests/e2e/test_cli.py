"""End-to-end tests of the command line: ``cekura-gate`` on files in tmp_path, exit codes, the
one-line error on stderr, and the reports written for every outcome. The ``make demo`` test
compares its reports with tests/golden/fail.* (see test_reporters.py for UPDATE_GOLDEN=1).

Most cases run the gate in this process (``run_cli``, tests/e2e/harness.py ``run_gate``). A real
``python -m gate`` process runs where only a process shows the behaviour: start-up, a stdout
encoding set by PYTHONIOENCODING, an address-space limit, a terminal, a FIFO and SIGINT."""

from __future__ import annotations

import errno
import json
import os
import pty
import resource
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml

from tests.conftest import EXAMPLES, PAYLOADS, ROOT, CliRun, make_result, make_run, run_cli
from tests.e2e.harness import Started, clean_env, gate_env, run_process, spawn
from tests.golden import assert_golden, status_of

REPORTS = ("junit.xml", "summary.md", "verdict.json")
PASS_POLICY = (
    "version: 1\nrules:\n  success_rate: {min: 90}\n  runs: {min_total: 1, max_failed: 0}\n"
)
WARN_POLICY = "version: 1\nrules:\n  success_rate: {min: 90, level: warn}\n  runs: {min_total: 1}\n"


def report_flags(out: Path) -> list[str]:
    junit, summary, verdict = (str(out / name) for name in REPORTS)
    return ["--junit", junit, "--summary", summary, "--json", verdict]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def setup_result(tmp_path: Path, policy: str = PASS_POLICY, failing: int = 0) -> list[str]:
    """A policy and a result in tmp_path; returns the check arguments that name them."""
    runs = [make_run(1)] + [make_run(i, success=False) for i in range(2, failing + 2)]
    write(tmp_path / "gate.yaml", policy)
    write(tmp_path / "result.json", json.dumps(make_result(runs)))
    return ["--policy", str(tmp_path / "gate.yaml"), "--result-file", str(tmp_path / "result.json")]


def assert_sane_output(run: CliRun) -> None:
    assert "Traceback" not in run.stderr + run.stdout
    assert "\x1b" not in run.stderr + run.stdout


def assert_one_error_line(run: CliRun, fragment: str) -> None:
    assert_sane_output(run)
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("cekura-gate: error: ")
    assert fragment in lines[0]


def junit_cases(path: Path) -> list[Any]:
    return [case for suite in JUnitXml.fromfile(str(path)) for case in suite]


def json_report(out: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    return document


def assert_error_junit(path: Path, fragment: str) -> None:
    cases = junit_cases(path)
    assert len(cases) == 1
    kind, message = status_of(cases[0])
    assert kind == "error" and fragment in message


def assert_no_verdict_reports(out: Path, fragment: str) -> None:
    assert_error_junit(out / "junit.xml", fragment)
    document = json_report(out)
    assert document["verdict"] == "error" and fragment in document["error"]
    assert (
        (out / "summary.md")
        .read_text(encoding="utf-8")
        .startswith("## :no_entry: Cekura gate: no verdict")
    )


# --------------------------------------------------------------------------- verdicts


def test_pass_exits_0_and_writes_every_report(tmp_path):
    out = tmp_path / "out"
    run = run_cli("check", *setup_result(tmp_path), *report_flags(out))
    assert (run.code, run.stderr) == (0, "")
    assert run.stdout.startswith("cekura-gate: PASSED result 500")
    assert_sane_output(run)
    assert sorted(os.listdir(out)) == sorted(REPORTS)  # atomic writes leave no temp files
    assert json_report(out)["verdict"] == "pass"
    assert all(status_of(case)[0] == "passed" for case in junit_cases(out / "junit.xml"))


@pytest.mark.parametrize(("flags", "code"), [([], 0), (["--warn-exit-code", "5"], 5)])
def test_pass_with_warnings_exits_0_or_the_warn_exit_code(tmp_path, flags, code):
    out = tmp_path / "out"
    args = setup_result(tmp_path, WARN_POLICY, failing=1)
    run = run_cli("check", *args, *flags, *report_flags(out))
    assert (run.code, run.stderr) == (code, "")
    assert "PASSED WITH WARNINGS" in run.stdout
    assert json_report(out)["verdict"] == "warn"
    assert [status_of(case)[0] for case in junit_cases(out / "junit.xml")].count("failure") == 0


def test_fail_exits_1(tmp_path):
    out = tmp_path / "out"
    args = setup_result(tmp_path, failing=2)
    run = run_cli("check", *args, "--warn-exit-code", "5", *report_flags(out))
    assert (run.code, run.stderr) == (1, "")  # the warn exit code never hides a failure
    assert run.stdout.startswith("cekura-gate: FAILED result 500")
    assert_sane_output(run)
    assert json_report(out)["verdict"] == "fail"


def test_reports_in_missing_directories_are_created(tmp_path):
    paths = [tmp_path / "a" / "junit.xml", tmp_path / "b" / "c" / "s.md", tmp_path / "d/e/f/v.json"]
    flags = [
        item
        for flag, path in zip(("--junit", "--summary", "--json"), paths, strict=True)
        for item in (flag, str(path))
    ]
    run = run_cli("check", *setup_result(tmp_path), *flags)
    assert run.code == 0
    assert all(path.is_file() and path.stat().st_size > 0 for path in paths)


@pytest.mark.parametrize("policy_exists", [True, False])
def test_policy_defaults_to_gate_yaml_in_the_working_directory(tmp_path, policy_exists):
    setup_result(tmp_path)
    if not policy_exists:
        (tmp_path / "gate.yaml").unlink()
    run = run_cli("check", "--result-file", "result.json", "--json", "v.json", cwd=tmp_path)
    report = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert report["policy"] == "gate.yaml"
    if policy_exists:
        assert (run.code, report["verdict"]) == (0, "pass")
    else:
        assert run.code == 2
        assert_one_error_line(run, "gate.yaml: no such file; write one with `cekura-gate init`")


def _result_without_findings(tmp_path: Path) -> Path:
    payload = json.loads((PAYLOADS / "result_completed_mixed.json").read_text(encoding="utf-8"))
    for run in payload["runs"].values():
        run["critical_categories"] = []
    return write(tmp_path / "result.json", json.dumps(payload))


@pytest.mark.parametrize(("merge", "code", "found"), [(False, 0, "0"), (True, 1, "1")])
def test_runs_file_merges_critical_categories(tmp_path, merge, code, found):
    write(
        tmp_path / "gate.yaml", "version: 1\nrules:\n  critical_categories: {max: {critical: 0}}\n"
    )
    args = [
        "check",
        "--policy",
        "gate.yaml",
        "--result-file",
        str(_result_without_findings(tmp_path)),
    ]
    if merge:
        args += ["--runs-file", str(PAYLOADS / "runs_bulk.json")]
    run = run_cli(*args, "--json", "v.json", cwd=tmp_path)
    assert run.code == code
    report = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    [check] = [c for c in report["checks"] if c["key"] == "critical_categories.max.critical"]
    assert check["actual"] == found


# --------------------------------------------------------------------------- make demo


def demo_arguments() -> list[str]:
    """The cekura-gate arguments of the Makefile's `demo` recipe (its first command)."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith("demo:")))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip().removesuffix("\\"))
    command = " ".join(recipe).lstrip("@").split(";", 1)[0]
    program, *arguments = shlex.split(command)
    assert program == "$(BIN)/cekura-gate"
    return arguments


def test_make_demo_writes_the_golden_reports(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    run = run_cli(*demo_arguments(), cwd=tmp_path)
    assert run.code == 1  # the Makefile accepts <= 1 and says the bundled result fails
    assert_sane_output(run)
    for name, golden in (
        ("junit.xml", "fail.xml"),
        ("summary.md", "fail.md"),
        ("verdict.json", "fail.json"),
    ):
        assert_golden(golden, (tmp_path / "out" / name).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- exit 2

USAGE_CASES = [
    # (id, arguments after `check`, fragment of the error, whether all three reports are written)
    ("invalid-policy", ["--policy", "{tmp}/bad.yaml"], "unsupported version 2", True),
    ("policy-typo", ["--policy", "{tmp}/typo.yaml"], "did you mean 'success_rate'?", True),
    ("missing-policy", ["--policy", "{tmp}/nope.yaml"], "no such file; write one with", True),
    ("warn-exit-code-3", ["--warn-exit-code", "3"], "3 is not allowed", False),
    ("warn-exit-code-4", ["--warn-exit-code", "4"], "4 is not allowed", False),
    ("warn-exit-code-130", ["--warn-exit-code", "130"], "130 is not allowed", False),
    ("warn-exit-code-256", ["--warn-exit-code", "256"], "256 is not allowed", False),
    ("warn-exit-code-word", ["--warn-exit-code", "soft"], "expected a whole number", False),
    ("unknown-option", ["--frobnicate"], "unrecognized arguments: --frobnicate", False),
]


@pytest.mark.parametrize(
    ("arguments", "fragment", "all_reports"),
    [pytest.param(*case[1:], id=case[0]) for case in USAGE_CASES],
)
def test_usage_error_exits_2_with_an_error_junit(tmp_path, arguments, fragment, all_reports):
    base = setup_result(tmp_path)
    write(tmp_path / "bad.yaml", "version: 2\nrules: {success_rate: {min: 90}}\n")
    write(tmp_path / "typo.yaml", "version: 1\nrules: {sucess_rate: {min: 90}}\n")
    out = tmp_path / "new" / "dir"
    extra = [arg.format(tmp=tmp_path) for arg in arguments]
    run = run_cli("check", *base, *extra, *report_flags(out))
    assert run.code == 2
    assert_one_error_line(run, fragment)
    assert_error_junit(out / "junit.xml", fragment)
    if all_reports:
        assert_no_verdict_reports(out, fragment)


def test_missing_result_flag_exits_2_with_an_error_junit(tmp_path):
    run = run_cli("check", "--junit", str(tmp_path / "junit.xml"))
    assert run.code == 2
    assert_one_error_line(run, "one of the arguments --result-id --result-file is required")
    assert_error_junit(tmp_path / "junit.xml", "--result-id --result-file is required")


def test_flag_error_still_writes_summary_and_json(tmp_path):
    out = tmp_path / "out"
    run = run_cli("check", *setup_result(tmp_path), "--warn-exit-code", "3", *report_flags(out))
    assert run.code == 2
    assert_no_verdict_reports(out, "3 is not allowed")


def test_report_path_that_is_a_directory_gives_one_error_line(tmp_path):
    out = tmp_path / "out"
    flags = ["--junit", str(out / "junit.xml"), "--summary", str(tmp_path)]
    run = run_cli("check", *setup_result(tmp_path), *flags)
    assert run.code == 2
    assert_error_junit(out / "junit.xml", "is a directory")
    assert_one_error_line(run, "is a directory")


def test_no_command_exits_2_with_usage():
    run = run_cli()
    assert run.code == 2
    assert run.stderr.startswith("usage: cekura-gate")
    assert_sane_output(run)


# --------------------------------------------------------------------------- exit 3

RUNNING = (PAYLOADS / "result_running.json").read_bytes()
OTHER_RESULT_RUNS = json.dumps([{"id": 273, "result_id": 999}])
NO_VERDICT_CASES = [
    # (id, result file bytes or None for missing, runs file or None, fragment of the error)
    ("missing", None, None, "result.json: cannot read the result: No such file"),
    ("not-json", b"hello", None, "result.json: the result is not valid JSON: line 1, column 1"),
    ("truncated", b'{"id": 167, "status": "compl', None, "the result is not valid JSON"),
    ("empty", b"", None, "the result is not valid JSON"),
    ("not-utf8", b"\xff\xfe{}", None, "the result is not UTF-8 text"),
    ("json-list", b"[]", None, "expected a JSON object, got a list"),
    ("api-error", b'{"detail": "Not found."}', None, "the payload is an API error: Not found."),
    ("running", RUNNING, None, "result 167 is not finished (status 'running')"),
    ("runs-of-other-result", RUNNING, OTHER_RESULT_RUNS, "belongs to result 999, not result 167"),
    ("runs-file-not-json", RUNNING, "{", "runs.json: the runs file is not valid JSON"),
]


@pytest.mark.parametrize(
    ("result", "runs", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in NO_VERDICT_CASES],
)
def test_unusable_result_exits_3_and_replaces_every_report(tmp_path, result, runs, fragment):
    args = [
        "check",
        "--policy",
        str(EXAMPLES / "gate.yaml"),
        "--result-file",
        str(tmp_path / "result.json"),
    ]
    if result is not None:
        write(tmp_path / "result.json", result)
    if runs is not None:
        args += ["--runs-file", str(write(tmp_path / "runs.json", runs))]
    out = tmp_path / "out"
    for name in REPORTS:
        write(out / name, "stale report from an earlier job")
    run = run_cli(*args, *report_flags(out))
    assert run.code == 3
    assert_one_error_line(run, fragment)
    assert_no_verdict_reports(out, fragment)


def test_result_error_names_the_file_when_a_runs_file_is_given(tmp_path):
    result = write(tmp_path / "result.json", "[]")
    runs = str(PAYLOADS / "runs_bulk.json")
    run = run_cli(
        "check",
        "--policy",
        str(EXAMPLES / "gate.yaml"),
        "--result-file",
        str(result),
        "--runs-file",
        runs,
    )
    assert run.code == 3
    assert_one_error_line(run, f"{result}: not a Cekura result")


# --------------------------------------------------------------------------- robustness


@pytest.mark.slow
def test_non_utf8_stdout_still_gives_the_verdict(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    env = gate_env(PYTHONIOENCODING="cp1252")  # read at start-up: a real process
    run = run_process(demo_arguments(), env=env, cwd=tmp_path)
    assert run.code == 1, run.stderr  # Windows runners pipe stdout in the ANSI code page
    assert json_report(tmp_path / "out")["verdict"] == "fail"


def test_lone_surrogate_escape_in_result_still_gives_the_verdict(tmp_path):
    text = (PAYLOADS / "result_completed_mixed.json").read_text(encoding="utf-8")
    text = text.replace('"Greeting and triage"', '"Greeting \\ud83c and triage"')
    result = write(tmp_path / "result.json", text)
    out = tmp_path / "out"
    run = run_cli(
        "check",
        "--policy",
        str(EXAMPLES / "gate.yaml"),
        "--result-file",
        str(result),
        *report_flags(out),
    )
    assert run.code == 1, run.stderr
    assert json_report(out)["verdict"] == "fail"


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.slow
def test_gate_works_under_a_one_gib_address_space_limit(tmp_path):
    args = [
        "check",
        "--policy",
        str(EXAMPLES / "gate.yaml"),
        "--result-file",
        str(EXAMPLES / "results" / "result_completed_mixed.json"),
    ]
    proc = spawn(args, env=_env(), preexec_fn=_limit_address_space).proc
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr


# --------------------------------------------------------------------------- terminal, signals


def _env(**extra: str) -> dict[str, str]:
    return clean_env(PYTHONPATH=str(ROOT), **extra)  # NO_COLOR only where a test sets it


def _run_on_a_tty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    primary, secondary = pty.openpty()
    proc = spawn(args, env=env, stdout=secondary, stderr=subprocess.DEVNULL).proc
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8")


@pytest.mark.parametrize(
    ("variables", "coloured"),
    [
        ({}, False),  # a pipe
        ({"GITHUB_ACTIONS": "true"}, True),  # CI logs render ANSI colours
        ({"GITLAB_CI": "true"}, True),
        ({"FORCE_COLOR": "1"}, True),
        ({"GITHUB_ACTIONS": "true", "NO_COLOR": "1"}, False),
    ],
)
def test_terminal_colour_in_ci_logs_and_when_forced(variables, coloured):
    args = ["check", "--policy", str(EXAMPLES / "gate.yaml")]
    args += ["--result-file", str(EXAMPLES / "results" / "result_completed_mixed.json")]
    run = run_cli(*args, env={"NO_COLOR": ""} | variables)  # the harness sets NO_COLOR=1
    assert run.code == 1
    verdict_lines = [line for line in run.stdout.splitlines() if "FAIL" in line]
    assert verdict_lines and any("\x1b[" in line for line in verdict_lines) is coloured


@pytest.mark.slow
@pytest.mark.parametrize(("no_color", "coloured"), [(None, True), ("1", False)])
def test_terminal_colour_only_on_a_tty_without_no_color(no_color, coloured):
    env = _env() if no_color is None else _env(NO_COLOR=no_color)
    args = [
        "check",
        "--policy",
        str(EXAMPLES / "gate.yaml"),
        "--result-file",
        str(EXAMPLES / "results" / "result_completed_mixed.json"),
    ]
    code, output = _run_on_a_tty(args, env)
    assert code == 1
    assert ("\x1b[" in output) is coloured
    assert "FAILED" in output


def _gate_reading_a_fifo(folder: Path, reports: list[str]) -> tuple[subprocess.Popen[str], int]:
    """``check`` started on a FIFO result, and the FIFO's write end once the gate reads it."""
    fifo = folder / "result.json"
    os.mkfifo(fifo)
    args = ["check", "--policy", str(EXAMPLES / "gate.yaml"), "--result-file", str(fifo)]
    started: Started = spawn([*args, *reports], env=_env(NO_COLOR="1"))
    return started.proc, _open_when_read(fifo, started.proc)


@pytest.mark.slow
def test_sigint_exits_130_and_writes_every_report(tmp_path):
    # The gate blocks reading the FIFO, so the signal lands inside `check`.
    out = tmp_path / "out"
    proc, writer = _gate_reading_a_fifo(tmp_path, report_flags(out))
    try:
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        os.close(writer)
        if proc.poll() is None:  # hung: do not leave a process behind for later tests
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert_one_error_line(CliRun(proc.returncode, stdout, stderr), "interrupted")
    assert_no_verdict_reports(out, "the gate was interrupted")


@pytest.mark.slow
def test_a_result_from_a_slow_fifo_is_read_whole(tmp_path):
    """A pipe that pauses longer than the gate's wait slice still gives the whole result."""
    text = json.dumps(make_result([make_run(1), make_run(2)])).encode("utf-8")
    proc, writer = _gate_reading_a_fifo(tmp_path, ["--json", str(tmp_path / "v.json")])
    try:
        os.set_blocking(writer, True)
        os.write(writer, text[:100])
        time.sleep(0.6)  # longer than two of the gate's 250 ms waits
        os.write(writer, text[100:])
    finally:
        os.close(writer)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode in (0, 1), stderr
    document = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert document["verdict"] in ("pass", "warn", "fail") and document["result"]["id"] == 500


def _open_when_read(fifo: Path, proc: subprocess.Popen[str]) -> int:
    """Open the FIFO for writing once the gate has opened it for reading."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:  # ENXIO: no reader yet
            if exc.errno != errno.ENXIO or proc.poll() is not None or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


# --------------------------------------------------------------------------- other commands


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], "usage: cekura-gate"),
        (["check", "--help"], "--warn-exit-code N"),
        (["--version"], "cekura-gate 0."),
        (["schema"], '"$schema"'),
        (["validate", "--policy", str(EXAMPLES / "gate.yaml")], "valid policy"),
    ],
)
def test_informational_commands_exit_0(args, expected):
    run = run_cli(*args)
    assert (run.code, run.stderr) == (0, "")
    assert expected in run.stdout
    assert_sane_output(run)


def test_the_real_process_starts_and_exits_with_main_s_code():
    """``python -m gate`` (gate/__main__.py) as a process: the one start-up check in the fast
    tier; everything else here runs ``main`` in process."""
    run = run_process(["--version"], env=gate_env())
    assert run.code == 0, run.stderr
    assert run.stdout.startswith("cekura-gate ")
    assert run_process(["check", "--bogus"], env=gate_env()).code == 2


def test_schema_command_prints_json():
    assert json.loads(run_cli("schema").stdout)["type"] == "object"


def test_validate_rejects_an_invalid_policy_with_one_line(tmp_path):
    write(tmp_path / "gate.yaml", "version: 1\nrules: {}\n")
    run = run_cli("validate", cwd=tmp_path)
    assert run.code == 2
    assert_one_error_line(run, "gate.yaml: rules: no rules given")


# --------------------------------------------------------------------------- review fixes


EXAMPLE_RESULT = str(EXAMPLES / "results" / "result_completed_mixed.json")
WARN_POLICY = "version: 1\nrules:\n  success_rate: {min: 90, level: warn}\n"


def test_two_reports_on_the_same_path_are_a_usage_error(tmp_path):
    same = str(tmp_path / "report.xml")
    run = run_cli(
        "check",
        "--policy",
        str(EXAMPLES / "gate.yaml"),
        "--result-file",
        EXAMPLE_RESULT,
        "--junit",
        same,
        "--json",
        same,
    )
    assert run.code == 2
    assert_one_error_line(run, "--junit and --json name the same file")


def test_fail_on_warning_explains_the_exit_code(tmp_path):
    policy = write(tmp_path / "gate.yaml", WARN_POLICY)
    run = run_cli(
        "check", "--policy", str(policy), "--result-file", EXAMPLE_RESULT, "--fail-on", "warning"
    )
    assert run.code == 1
    assert "exiting 1: warnings fail the gate (--fail-on warning)" in run.stderr


def test_warn_exit_code_with_fail_on_warning_is_a_usage_error_with_reports(tmp_path):
    policy = write(tmp_path / "gate.yaml", WARN_POLICY)
    junit = tmp_path / "out" / "junit.xml"
    run = run_cli(
        "check",
        "--policy",
        str(policy),
        "--result-file",
        EXAMPLE_RESULT,
        "--fail-on",
        "warning",
        "--warn-exit-code",
        "10",
        "--junit",
        str(junit),
    )
    assert run.code == 2
    assert_one_error_line(run, "--warn-exit-code only applies with --fail-on error")
    assert junit.exists()


def test_a_runs_bulk_file_given_as_the_result_says_so(tmp_path):
    run = run_cli(
        "check",
        "--policy",
        str(EXAMPLES / "gate.yaml"),
        "--result-file",
        str(EXAMPLES / "results" / "runs_bulk.json"),
    )
    assert run.code == 3
    assert_one_error_line(run, "this looks like a runs-bulk response: pass it with --runs-file")


def test_unfinished_result_keeps_its_url_in_the_reports(tmp_path):
    out = tmp_path / "out"
    run = run_cli(
        "check",
        "--policy",
        str(EXAMPLES / "gate.yaml"),
        "--result-file",
        str(EXAMPLES / "results" / "result_running.json"),
        "--json",
        str(out / "v.json"),
    )
    assert run.code == 3
    assert "wait for it with: cekura-gate check --result-id 167" in run.stderr
    document = json.loads((out / "v.json").read_text(encoding="utf-8"))
    assert document["result"]["url"] == "https://dashboard.cekura.ai/results/167"
