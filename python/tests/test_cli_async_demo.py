"""The prokit CLI against Python windows; the asyncio handles; prokit-demo
with its "work" window in Python."""
from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

import prokit
import prokit.asyncio
from conftest import HERE, binary, unique, wait_for


def cli(procs, endpoint, *args):
    return procs([binary("tools", "prokit"), "-e", endpoint, *args])


def finish(proc, *handles):
    """Dispatch HANDLES until PROC has exited; its exit status."""
    wait_for(lambda: proc.popen.poll() is not None, *handles)
    return proc.popen.wait()


def test_cli_and_python_window(procs, cmain):
    w = prokit.Window(unique("py"), endpoint=cmain.endpoint)
    w.on_request(lambda r: {"echo": r.payload, "from": r.sender})
    w.handle("sum", lambda r: sum(r.payload))
    got = []
    w.on_window_message(got.append)

    p = cli(procs, cmain.endpoint, "-n", "cli-req", "request", w.name, '{"a": [1, 2]}')
    assert finish(p, w) == 0
    assert json.loads(p.expect(r"\{.*")[0]) == {"echo": {"a": [1, 2]}, "from": "cli-req"}
    p = cli(procs, cmain.endpoint, "request", "--channel", "sum", w.name, "[1, 2, 3]")
    assert finish(p, w) == 0 and p.expect(r"6$")
    p = cli(procs, cmain.endpoint, "-n", "cli-send", "send", w.name, '"text"')
    assert finish(p, w) == 0
    wait_for(lambda: got, w)
    assert (got[0].sender, got[0].payload) == ("cli-send", "text")
    p = cli(procs, cmain.endpoint, "windows")
    assert finish(p, w) == 0
    assert w.name in [entry["name"] for entry in json.loads(p.output())]

    # the CLI as a window Python sends to and asks
    listener = cli(procs, cmain.endpoint, "listen", "cli-listen", "--count", "2", "--reply", '"ok"')
    cmain.expect("JOINED cli-listen")
    w.send("cli-listen", {"k": 1})
    assert w.request("cli-listen", "q") == "ok"
    assert finish(listener, w) == 0
    first = json.loads(listener.expect(r"\{.*")[0])
    assert first == {"kind": "message", "from": w.name, "payload": {"k": 1}}
    server = cli(procs, cmain.endpoint, "serve", "--service", "clipool", "--progress-steps", "2",
                 "--count", "1", "cli-worker")
    cmain.expect("JOINED cli-worker clipool")
    steps = []
    assert w.request("clipool", "job", progress=steps.append) == "job"
    assert len(steps) == 2
    assert finish(server, w) == 0
    # CLI exit statuses for the errors
    p = cli(procs, cmain.endpoint, "request", "ghost", "1")
    assert finish(p, w) == 3
    w.close()


def test_asyncio_window(procs, cmain):
    cname = unique("c")
    cwin = procs([binary("tests", "prokit-test-peer"), "window", cname, cmain.endpoint])
    cwin.expect("READY")

    async def scenario():
        async with prokit.asyncio.Window(unique("aio"), endpoint=cmain.endpoint) as w:
            assert await w.request(prokit.MAIN, "hi") == "main:hi"
            results = await asyncio.gather(*(w.request(cname, f"n{i}") for i in range(20)))
            assert results == [f"n{i}" for i in range(20)]
            with pytest.raises(prokit.TimedOutError):
                await w.request(prokit.MAIN, "defer", timeout=200)
            with pytest.raises(prokit.NotFoundError):
                await w.request("ghost", 1)

            async def slow(request):
                await asyncio.sleep(0.01)
                return f"async:{request.payload}"

            w.on_request(slow)
            got = asyncio.Queue()

            async def listener(message):
                await got.put(message.payload)

            w.on_main_message(listener)
            cmain.command(f"send {cname} ask:{w.name}:-:x")
            cmain.command(f"send {w.name} hello")
            assert await asyncio.wait_for(got.get(), 10) == "hello"
            await asyncio.to_thread(cmain.expect, rf"REQUEST {cname} - asked\|PROKIT_OK\|async:x")
            names = [entry["name"] for entry in await w.list_windows()]
            assert w.name in names and cname in names
            cmain.command(f"close {w.name}")
            assert await asyncio.wait_for(w.wait_closed(), 10) is True
            return w.name

    name = asyncio.run(scenario())
    cmain.expect(rf"LEFT {name} closed by main")


def test_demo_with_python_work_window(procs, tmpdir_short):
    """prokit-demo with $PROKIT_DEMO_WORK: its window "work" is
    python/examples/work.py (run by this interpreter, which has the package)."""
    work = os.path.join(tmpdir_short, "work")
    script = os.path.join(os.path.dirname(HERE), "examples", "work.py")
    with open(work, "w") as f:
        f.write(f"#!/bin/sh\nexec {sys.executable} {script} \"$@\"\n")
    os.chmod(work, 0o755)
    p = procs([binary("examples", "prokit-demo")], env={**os.environ, "PROKIT_DEMO_WORK": work})
    p.expect(r"\[window work\] \(python\) joined")
    p.expect(r'\[window work\] window "main" asks: How is the work going\?')
    p.expect(r"\[main\] .*work \(window \"work\", pid \d+\) exited with status 0")
    p.expect(r"\[main\] demo complete: every step happened")
    assert p.popen.wait(timeout=10) == 0


def test_cli_cancels_python_handler_and_progress(procs, cmain):
    """CANCEL and PROGRESS from a C requester (the CLI) to a Python handler."""
    import signal

    w = prokit.Window(unique("py"), endpoint=cmain.endpoint)
    held = []

    @w.handle("slow")
    def slow(request):
        request.progress("started")
        request.defer()
        held.append(request)

    p = cli(procs, cmain.endpoint, "request", "--progress", "--channel", "slow", w.name, '"job"')
    wait_for(lambda: held, w)
    p.expect(r'.*"started"')  # the progress update, printed as it comes
    p.popen.send_signal(signal.SIGINT)  # Ctrl-C: the CLI cancels the request
    wait_for(lambda: held[0].is_cancelled(), w)
    assert finish(p, w) == 130
    held[0].reply("too late")  # answering a cancelled request is harmless
    w.close()


def test_deadline_passed_before_handler(procs, cmain):
    """A request whose deadline passes while the window is not dispatching is
    answered PROKIT_ETIMEDOUT, never handed to the handler; one in time sees
    the time its C requester has left."""
    w = prokit.Window(unique("py"), endpoint=cmain.endpoint)
    calls = []
    w.on_request(lambda r: calls.append(r.time_left()) or "handled")
    p = cli(procs, cmain.endpoint, "-t", "300", "request", w.name, "1")
    assert p.popen.wait(timeout=10) == 4  # the CLI timed out: we never dispatched
    w.dispatch()
    assert calls == []
    p = cli(procs, cmain.endpoint, "-t", "3000", "request", w.name, "2")
    assert finish(p, w) == 0
    assert len(calls) == 1 and 0 < calls[0] <= 3000 + 20
    w.close()
