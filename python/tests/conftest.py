"""Fixtures: the real C binaries (PROKIT_BUILD_DIR, default build/), run as
processes whose output lines are read by a thread and waited on with
deadlines."""
from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import List, Optional

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOURCE = os.path.dirname(HERE)
try:  # the package installed (pip install ./python), else the tree's
    import prokit
except ImportError:
    sys.path.insert(0, SOURCE)
    import prokit
if os.path.dirname(os.path.dirname(os.path.abspath(prokit.__file__))) == SOURCE:
    # the Python windows the tests start import it from the tree too
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (SOURCE, os.environ.get("PYTHONPATH")) if p)

BUILD = os.path.abspath(os.path.join(ROOT, os.environ.get("PROKIT_BUILD_DIR", "build")))
DEADLINE = 10.0  # seconds, for any one thing to happen


def binary(*parts: str) -> str:
    path = os.path.join(BUILD, *parts)
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} is not built (PROKIT_BUILD_DIR={BUILD})")
    return path


class Proc:
    """A process whose stdout lines are queued as they come."""

    def __init__(self, argv: List[str], env: Optional[dict] = None, stdin: bool = False) -> None:
        self.argv = argv
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.popen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                      env=full_env, text=True, bufsize=1)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.seen: List[str] = []
        self.used: set = set()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # type: ignore[arg-type]

    def expect(self, pattern: str, timeout: float = DEADLINE) -> re.Match:
        """The first line not matched before that matches PATTERN (a regex,
        matched at the start), waiting up to TIMEOUT s for it."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            for i, line in enumerate(self.seen):
                if i not in self.used:
                    m = regex.match(line)
                    if m:
                        self.used.add(i)
                        return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line matching {pattern!r} from {self.argv[0]} in {timeout} s; "
                                     f"seen: {self.seen[-30:]}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.lines.put(None)  # type: ignore[arg-type]
                raise AssertionError(f"{self.argv[0]} ended before {pattern!r}; seen: {self.seen[-30:]}")
            self.seen.append(line)

    def output(self) -> str:
        """Everything it printed, once it has ended."""
        self._reader.join(DEADLINE)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                self.lines.put(None)  # type: ignore[arg-type]
                break
            self.seen.append(line)
        return "\n".join(self.seen)

    def command(self, line: str, ok: bool = True) -> None:
        """Send a command line to a cpeer and wait for its OK (or ERR)."""
        assert self.popen.stdin is not None
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()
        verb = re.escape(line.split()[0])
        m = self.expect(rf"(OK|ERR) {verb}\b")
        if ok:
            assert m.group(1) == "OK", self.seen[-5:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def stop(self) -> int:
        """End it politely (quit on stdin, or SIGTERM), then for sure."""
        if self.popen.poll() is None:
            try:
                if self.popen.stdin is not None:
                    self.popen.stdin.write("quit\n")
                    self.popen.stdin.flush()
                else:
                    self.popen.terminate()
                self.popen.wait(timeout=5)
            except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
                self.kill()
        return self.popen.returncode


def pytest_report_header(config):
    return [f"prokit from {os.path.dirname(prokit.__file__)}", f"C binaries from {BUILD}"]


@pytest.fixture
def procs():
    """Start processes with procs(argv, env=..., stdin=...); all are ended after the test."""
    started: List[Proc] = []

    def start(argv: List[str], env: Optional[dict] = None, stdin: bool = False) -> Proc:
        p = Proc(argv, env, stdin)
        started.append(p)
        return p

    yield start
    for p in reversed(started):
        p.stop()


@pytest.fixture
def tmpdir_short():
    path = tempfile.mkdtemp(prefix="pk-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def endpoint(tmpdir_short):
    return f"ipc://{tmpdir_short}/main.sock"


@pytest.fixture
def cmain(procs, endpoint):
    """A C main (prokit-test-cpeer) on a fresh ipc endpoint."""
    p = procs([binary("tests", "prokit-test-cpeer"), endpoint], stdin=True)
    p.expect(r"READY ")
    p.endpoint = endpoint
    return p


def start_broker(procs, args: List[str]) -> Proc:
    """A prokit-broker with ARGS, once it says it is ready."""
    p = procs([binary("broker", "prokit-broker"), *args])
    p.expect(r".*ready")
    return p


def unique(prefix: str = "w") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(predicate, *handles, timeout: float = DEADLINE) -> None:
    """Dispatch HANDLES (windows, mains) until PREDICATE() holds: what it
    waits for arrives through them."""
    assert handles, "nothing to dispatch"
    deadline = time.monotonic() + timeout
    slice_ms = 20 if len(handles) == 1 else 5
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        for handle in handles:
            handle.run(timeout=slice_ms)
