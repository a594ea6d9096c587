"""A Python window and a C main (prokit-test-cpeer, router embedded)."""
from __future__ import annotations

import os
import re

import pytest

import prokit
from conftest import ROOT, unique, wait_for


@pytest.fixture
def window(cmain):
    w = prokit.Window(unique("py"), endpoint=cmain.endpoint)
    cmain.expect(rf"JOINED {w.name} -")
    yield w
    w.close()


def test_request_main_and_values(cmain, window):
    assert window.request(prokit.MAIN, "hi", timeout=5000) == "main:hi"
    assert window.request(None, "again") == "main:again"
    cmain.expect(rf"REQUEST {window.name} - hi")
    # values other than strings come back unchanged (msgpack through C)
    value = {"a": [1, 2.5, None, True], "b": b"\x00\xff", "n": -7, "big": 2**63 - 1}
    assert window.request(prokit.MAIN, value) == value
    # bodies over 4096 bytes travel in a frame of their own (version 2)
    large = [b"\x01" * 100000, "x" * 5000]
    assert window.request(prokit.MAIN, large) == large


def test_request_named_channel(cmain, window):
    assert window.request(prokit.MAIN, "x", channel="echo") == "echo:x"
    cmain.expect(rf"REQUEST {window.name} echo x")
    with pytest.raises(prokit.NoHandlerError) as info:
        window.request(prokit.MAIN, "x", channel="nothing-here")
    assert info.value.code == -6 and info.value.name == "PROKIT_ENOHANDLER"


def test_handler_error_carries_app_code(window):
    with pytest.raises(prokit.HandlerError) as info:
        window.request(prokit.MAIN, "fail")
    e = info.value
    assert (e.code, e.name, e.app_code, e.text) == (-7, "PROKIT_EHANDLER", 42, "failed on purpose")
    assert isinstance(e, prokit.ProkitError)


def test_not_found(window):
    with pytest.raises(prokit.NotFoundError) as info:
        window.request("ghost", "x")
    assert info.value.code == -3 and "ghost" in info.value.text


def test_timeout_then_late_answer_dropped(cmain, window):
    with pytest.raises(prokit.TimedOutError) as info:
        window.request(prokit.MAIN, "defer", timeout=300)
    assert info.value.code == -5
    cmain.expect("DEFERRED")
    cmain.command("release")
    # the late answer is dropped; the next request gets its own
    assert window.request(prokit.MAIN, "next") == "main:next"


def test_name_taken(cmain, window):
    with pytest.raises(prokit.ExistsError) as info:
        prokit.Window(window.name, endpoint=cmain.endpoint)
    assert info.value.code == -4


def test_progress_and_deadline(window):
    updates = []
    assert window.request(prokit.MAIN, "progress:3", progress=updates.append) == "done:3"
    assert updates == ["1", "2", "3"]
    left = int(window.request(prokit.MAIN, "timeleft", timeout=5000))
    assert 0 < left <= 5000 + 20  # the clocks are compared to within a WELCOME's delay


def test_cancel_reaches_main(cmain, window):
    pending = window.request_async(prokit.MAIN, "defer", timeout=5000)
    cmain.expect("DEFERRED")
    pending.cancel()
    with pytest.raises(prokit.CancelledError):
        pending.result()
    # main learns it as the dispatcher reads the CANCEL: ask main again, so
    # that the CANCEL has been read, then release
    assert window.request(prokit.MAIN, "sync") == "main:sync"
    cmain.command("release")
    cmain.expect(rf"CANCELLED {window.name}")


def test_main_send_broadcast_channels(cmain, window):
    got, on_news = [], []
    window.on_main_message(got.append)
    window.on("news", on_news.append)
    cmain.command(f"send {window.name} one")
    cmain.command("broadcast two")
    cmain.command(f"sendon {window.name} news three")
    cmain.command("broadcaston news four")
    wait_for(lambda: len(got) == 2 and len(on_news) == 2, window)
    assert [(m.sender, m.payload, m.is_broadcast, m.channel) for m in got] == [
        ("@main", "one", False, None), ("@main", "two", True, None)]
    assert [(m.payload, m.is_broadcast, m.channel) for m in on_news] == [
        ("three", False, "news"), ("four", True, "news")]


def test_visibility_presence_close(cmain, window):
    shown, closed, presence = [], [], []
    window.on_visibility(shown.append)
    window.on_close(lambda: closed.append(True))
    watcher = prokit.Window(unique("watch"), endpoint=cmain.endpoint, presence=True)
    watcher.on_presence(lambda name, joined, info: presence.append((name, joined)))
    wait_for(lambda: (window.name, True) in presence, watcher)
    cmain.command(f"hide {window.name}")
    cmain.command(f"show {window.name}")
    wait_for(lambda: shown == [False, True], window)
    assert window.is_shown
    cmain.command(f"close {window.name}")
    assert window.run(timeout=10000) is True
    assert closed == [True] and window.close_requested
    cmain.expect(rf"LEFT {window.name} closed by main")
    with pytest.raises(prokit.ClosedError):
        window.request(prokit.MAIN, "x")
    wait_for(lambda: (window.name, False) in presence, watcher)
    watcher.close()


def test_undelivered_send(window):
    failed = []
    window.on_undelivered(lambda target, error: failed.append((target, error.code)))
    window.send("ghost", "hello?")
    wait_for(lambda: failed, window)
    assert failed == [("ghost", -3)]


def test_queries(window):
    names = [w["name"] for w in window.list_windows()]
    assert window.name in names
    stats = window.router_stats()
    assert stats["received"] > 0
    assert window.ping()


def test_too_big_is_local(window):
    window.max_payload = 100
    with pytest.raises(prokit.TooBigError) as info:
        window.request(prokit.MAIN, "x" * 200)
    assert info.value.code == -9


def test_errors_module():
    e = prokit.error_from(-13, "nope")
    assert isinstance(e, prokit.AccessError) and isinstance(e, PermissionError)
    assert str(e) == "PROKIT_EACCES: nope"
    assert prokit.error_name(-8) == "PROKIT_ECLOSED" and prokit.strerror(-3) == "no such window"
    assert isinstance(prokit.error_from(-5), TimeoutError)
    assert type(prokit.error_from(-99, "?")) is prokit.ProkitError
    e = prokit.error_from(-20, "1 message(s) to 'w' were not confirmed taken in: connection lost")
    assert type(e) is prokit.UnconfirmedError and e.code == prokit.errors.EUNCONFIRMED == -20
    assert e.name == "PROKIT_EUNCONFIRMED"
    assert prokit.strerror(-20) == "the receiver was lost before confirming it: it may have taken it in"


def test_errors_table_is_the_c_library_s():
    """errors.ERRORS has every code of include/prokit/error.h, with
    src/error.c's name and text."""
    with open(os.path.join(ROOT, "include", "prokit", "error.h")) as f:
        codes = {f"PROKIT_{m[0]}": int(m[1])
                 for m in re.findall(r"\bPROKIT_(\w+) = (-?\d+)", f.read())}
    with open(os.path.join(ROOT, "src", "error.c")) as f:
        entries = re.findall(r'\{ (PROKIT_\w+), "(PROKIT_\w+)",\s*((?:"[^"]*"\s*)+)\}', f.read())
    table = {codes[macro]: (name, "".join(re.findall(r'"([^"]*)"', text)))
             for macro, name, text in entries}
    assert len(codes) == 21 and set(table) == set(codes.values())
    assert prokit.errors.ERRORS == table
