"""createWindow starting a Python window; main killed and restarted."""
from __future__ import annotations

import os
import sys

import pytest

import prokit
from conftest import HERE, binary, unique, wait_for


def test_create_window_starts_python(cmain):
    name = unique("spawned")
    script = os.path.join(HERE, "spawned_window.py")
    cmain.command(f"create {name} 0 {sys.executable} {script}")
    cmain.expect(rf"JOINED {name} -")
    cmain.command(f"send {name} hello")
    cmain.expect(r"GOT @main\|hello\|0")
    cmain.command("broadcast all")
    cmain.expect(r"GOT @main\|all\|1")
    cmain.command(f"show {name}")
    cmain.expect(r"GOT visibility\|1\|0")
    cmain.command(f"close {name}")
    cmain.expect(rf"LEFT {name} closed by main")
    cmain.expect(rf"EXITED {name}")


def test_main_killed_and_restarted(procs, endpoint):
    cpeer = binary("tests", "prokit-test-cpeer")
    first = procs([cpeer, endpoint], stdin=True)
    first.expect("READY")
    w = prokit.Window(unique("py"), endpoint=endpoint)
    events = []
    w.on_connection(lambda connected, error: events.append((connected, error and error.code)))
    assert w.request(prokit.MAIN, "a") == "main:a"
    pending = w.request_async(prokit.MAIN, "defer", timeout=20000)
    first.expect("DEFERRED")
    first.kill()
    with pytest.raises(prokit.ClosedError):
        pending.result()
    wait_for(lambda: events == [(False, -8)], w)
    assert not w.is_connected
    with pytest.raises(prokit.ClosedError):
        w.request(prokit.MAIN, "while down")
    second = procs([cpeer, endpoint], stdin=True)
    second.expect("READY")
    wait_for(lambda: w.is_connected, w)
    assert events[-1] == (True, None)
    second.expect(rf"JOINED {w.name} -")
    assert w.request(prokit.MAIN, "b") == "main:b"
    # a clean shutdown of main: its BYE, then the rejoin to the next main
    second.stop()
    wait_for(lambda: not w.is_connected, w)
    third = procs([cpeer, endpoint], stdin=True)
    third.expect("READY")
    wait_for(lambda: w.is_connected, w)
    assert w.request(prokit.MAIN, "c") == "main:c"
    w.close()
    third.expect(rf"LEFT {w.name} closed")


def test_channel_connection_ends_then_rejoin_at_once(cmain):
    """The router ends the session when the window's SUB connection ends
    (BYE "rejoin"): the window claims its name again at once, on the same
    connection, with a new SUB."""
    w = prokit.Window(unique("py"), endpoint=cmain.endpoint)
    events = []
    w.on_connection(lambda connected, error: events.append(connected))
    old_topic = w._topic
    w._sub.disconnect(w._welcome["channel"])  # the channel connection ends
    wait_for(lambda: events == [False, True], w)
    assert w.is_connected and w._topic != old_topic
    cmain.expect(rf"LEFT {w.name} connection lost")
    cmain.expect(rf"JOINED {w.name} -")
    assert w.request(prokit.MAIN, "after") == "main:after"
    cmain.command(f"send {w.name} still-there")
    got = []
    w.on_main_message(got.append)
    wait_for(lambda: got, w)
    w.close()
