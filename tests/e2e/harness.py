"""The one end-to-end harness: how a test runs the gate and what it runs it against.

* ``clean_env``: this machine's environment without anything that would change what the gate
  does (CI detection, Cekura settings, colour switches, ``make`` variables); ``gate_env`` adds
  what every gate run gets (no colour, the checkout on ``PYTHONPATH``, a small CA file,
  optionally the key).
* ``run_gate``: ``gate.cli.main.main(argv)`` in this process, with the environment, working
  directory and standard streams replaced for the call and everything restored afterwards;
  it returns what a process would have left (exit code, stdout, stderr), byte for byte.
* ``spawn`` / ``finish`` / ``run_process``: the real ``python -m gate`` process, for what only
  a process shows: signals, the exit status of the interpreter, start-up, pipes and FIFOs.
* ``parse_dotenv``: the dotenv report read back.
* ``FakeClock``: monotonic time that moves only when ``sleep`` is called.

The fake Cekura server itself is ``tests.fake_cekura.FakeCekura`` (the ``fake`` fixture in
tests/conftest.py starts one per test on 127.0.0.1).

Tiers: a test that starts a real process or waits for a second or more is marked
``@pytest.mark.slow``; ``make test-fast`` runs the rest (``pytest -m "not slow"``), ``make
test`` runs everything.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import certifi
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

# What a CI runner, a developer's shell or ``make`` may set and the gate (or the Action's
# scripts) would read: none of it may leak into a test's run.
DROPPED_PREFIXES = ("CEKURA_", "GITHUB_", "GITLAB_", "CI_", "RUNNER_", "ACTIONS_", "INPUT_", "MAKE")
# Proxies too: the gate honours them, and the fake server is on 127.0.0.1 (a test that
# wants a proxy sets one).
PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
DROPPED_NAMES = frozenset(
    {"CI", "MFLAGS", "RESULT_ID", "POLICY", "PYTHONIOENCODING"}
    | {"NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS"}
    | {name for upper in PROXY_NAMES for name in (upper, upper.lower())}
)
DEFAULT_LIMIT_S = 60.0


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything CI-, Cekura-, colour- or make-specific."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(DROPPED_PREFIXES) and name not in DROPPED_NAMES
    }
    env.update(extra)
    return env


@functools.cache
def small_ca_file() -> str:
    """A CA file holding one certificate of certifi's bundle.

    Every gate run builds an httpx client, and with it an SSL context that loads the CA bundle:
    about 40 ms of CPU, half of a typical in-process run. The fake server speaks plain HTTP on
    127.0.0.1, so no test needs the bundle; one certificate keeps the context valid and cheap.
    """
    bundle = Path(certifi.where()).read_text(encoding="ascii")
    end = "-----END CERTIFICATE-----"
    first = bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end) + len(end)]
    path = Path(tempfile.gettempdir()) / f"cekura-gate-tests-one-ca-{os.getuid()}.pem"
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    partial.write_text(first + "\n", encoding="ascii")
    partial.replace(path)  # atomic: another test session may be reading it
    return str(path)


def gate_env(key: str | None = None, **extra: str) -> dict[str, str]:
    """``clean_env`` plus what every gate run gets: no colour, this checkout, the key if any,
    and a one-certificate CA file (``small_ca_file``)."""
    env = clean_env(NO_COLOR="1", PYTHONPATH=str(ROOT), SSL_CERT_FILE=small_ca_file())
    if key is not None:
        env["CEKURA_API_KEY"] = key
    env.update(extra)
    return env


@dataclass
class Completed:
    """What a finished gate left: its exit code and its output, decoded as UTF-8."""

    returncode: int
    stdout: str
    stderr: str
    elapsed: float = 0.0

    @property
    def code(self) -> int:
        return self.returncode


# --------------------------------------------------------------------------- in-process


class _Hung(BaseException):
    """Raised in the main thread when a gate run outlives its limit (BaseException, so that
    no ``except Exception`` in the gate swallows it)."""


def _std_stream(buffer: io.BytesIO, *, errors: str, line_buffering: bool) -> io.TextIOWrapper:
    # As CPython builds sys.stdout/sys.stderr for a pipe on POSIX: UTF-8, "\n" written as is.
    return io.TextIOWrapper(
        buffer, encoding="utf-8", errors=errors, newline="\n", line_buffering=line_buffering
    )


def _stdin_from(data: str | bytes | None) -> io.TextIOWrapper:
    """A real pipe holding ``data`` (the gate reads stdin through its file descriptor)."""
    read_fd, write_fd = os.pipe()
    payload = data.encode("utf-8") if isinstance(data, str) else (data or b"")

    def feed() -> None:
        # The gate may stop reading early (a bad document): as for a shell pipeline, fine.
        with contextlib.suppress(BrokenPipeError), open(write_fd, "wb") as writer:
            writer.write(payload)

    threading.Thread(target=feed, daemon=True).start()
    return open(read_fd, encoding="utf-8", newline="\n")  # run_gate closes it


@contextmanager
def _replaced_environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _working_directory(cwd: Path) -> Iterator[None]:
    saved = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved)


@contextmanager
def _signal_handlers_kept() -> Iterator[None]:
    """The gate installs handlers (SIGTERM while it works); whatever it leaves is undone."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


@contextmanager
def _deadline(limit: float) -> Iterator[None]:
    """Raise ``_Hung`` in this (the main) thread if the block outlives ``limit`` seconds."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _Hung

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _call_main(argv: Sequence[str]) -> int:
    """``main(argv)`` ended the way the interpreter ends ``python -m gate``."""
    from gate.cli.main import main

    try:
        return main(list(argv))
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except _Hung:
        raise
    except BaseException:  # an uncaught error: a traceback on stderr and exit status 1
        traceback.print_exc()
        return 1


def run_gate(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path = ROOT,
    stdin: str | bytes | None = None,
    limit: float = DEFAULT_LIMIT_S,
) -> Completed:
    """Run the gate in this process as ``python -m gate *argv`` would run, and capture it.

    ``os.environ`` is exactly ``env`` and the working directory is ``cwd`` for the call;
    stdout and stderr are fresh UTF-8 streams (no tty, as for a pipe) and stdin is a pipe
    holding ``stdin`` (empty if None). Environment, directory, streams and signal handlers are
    restored afterwards. A run still going after ``limit`` seconds fails the test.
    """
    out_buffer, err_buffer = io.BytesIO(), io.BytesIO()
    stdout = _std_stream(out_buffer, errors="strict", line_buffering=False)
    stderr = _std_stream(err_buffer, errors="backslashreplace", line_buffering=True)
    streams = (sys.stdin, sys.stdout, sys.stderr)
    started = time.monotonic()
    with _replaced_environment(env), _working_directory(cwd), _signal_handlers_kept():
        sys.stdin, sys.stdout, sys.stderr = _stdin_from(stdin), stdout, stderr
        try:
            with _deadline(limit):
                code = _call_main(argv)
        except _Hung:
            code = -1
        finally:
            sys.stdin.close()
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            sys.stdin, sys.stdout, sys.stderr = streams
    completed = Completed(
        code,
        out_buffer.getvalue().decode("utf-8", errors="replace"),
        err_buffer.getvalue().decode("utf-8", errors="replace"),
        time.monotonic() - started,
    )
    if code == -1:
        pytest.fail(f"the gate was still running after {limit:.1f}s; stderr:\n{completed.stderr}")
    return completed


# --------------------------------------------------------------------------- real process


@dataclass
class Started:
    """A running ``python -m gate`` process and when it started."""

    proc: subprocess.Popen[str]
    started: float


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path = ROOT,
    command: Sequence[str] | None = None,
    **popen: object,
) -> Started:
    """Start ``python -m gate *argv`` (or ``command *argv``) with its output on pipes."""
    program = [sys.executable, "-m", "gate"] if command is None else list(command)
    options: dict[str, object] = {
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "encoding": "utf-8",
        "errors": "replace",
    }
    options.update(popen)
    proc = subprocess.Popen([*program, *argv], cwd=cwd, env=dict(env), **options)  # type: ignore[call-overload]
    return Started(proc, time.monotonic())


def finish(started: Started, *, limit: float = DEFAULT_LIMIT_S) -> Completed:
    """Wait for the process, killing it (and failing the test) if it outlives ``limit``."""
    try:
        stdout, stderr = started.proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        started.proc.kill()
        stdout, stderr = started.proc.communicate()
        pytest.fail(f"the gate was still running after {limit:.1f}s (a hang); stderr:\n{stderr}")
    elapsed = time.monotonic() - started.started
    return Completed(started.proc.returncode, stdout or "", stderr or "", elapsed)


def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path = ROOT,
    limit: float = DEFAULT_LIMIT_S,
) -> Completed:
    """The real ``python -m gate *argv``, run to its end."""
    return finish(spawn(argv, env=env, cwd=cwd), limit=limit)


# --------------------------------------------------------------------------- reports


def parse_dotenv(text: str) -> dict[str, str]:
    """The dotenv report (``--dotenv``) as a mapping."""
    return dict(line.split("=", 1) for line in text.splitlines())


# --------------------------------------------------------------------------- time


class FakeClock:
    """A monotonic clock that only moves when ``sleep`` is called; records every pause."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds
