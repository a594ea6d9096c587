"""A Python window and C windows (prokit-test-peer) under a C main: every
message kind between them, both ways."""
from __future__ import annotations

import pytest

import prokit
from conftest import binary, unique, wait_for


@pytest.fixture
def cwin(procs, cmain):
    name = unique("c")
    p = procs([binary("tests", "prokit-test-peer"), "window", name, cmain.endpoint])
    p.expect("READY")
    cmain.expect(rf"JOINED {name} ")
    p.name = name
    return p


@pytest.fixture
def window(cmain):
    w = prokit.Window(unique("py"), endpoint=cmain.endpoint)
    cmain.expect(rf"JOINED {w.name} ")
    yield w
    w.close()


def test_python_to_c_window(cmain, cwin, window):
    # request: echoed; failure with the handler's code; channels; progress
    assert window.request(cwin.name, "hello") == "hello"
    assert window.request(cwin.name, "y" * 70000) == "y" * 70000
    with pytest.raises(prokit.HandlerError) as info:
        window.request(cwin.name, "fail")
    assert info.value.app_code == 42
    assert window.request(cwin.name, "x", channel="whoami") == cwin.name
    assert window.request(cwin.name, "y", channel="echo") == "echo:y"
    updates = []
    assert window.request(cwin.name, "3", channel="steps", progress=updates.append) == "done:3"
    assert updates == ["1", "2", "3"]
    left = int(window.request(cwin.name, "", channel="timeleft", timeout=4000))
    assert 0 < left <= 4000 + 20  # the clocks are compared to within a WELCOME's delay
    with pytest.raises(prokit.NoHandlerError):
        window.request(cwin.name, "z", channel="nothing")
    # send, on the default channel and on "news"
    window.send(cwin.name, "one")
    cmain.expect(rf"GOT {window.name}\|one\|0")
    window.send(cwin.name, "two", channel="news")
    cmain.expect(rf"REQUEST {cwin.name} - on\|news\|{window.name}\|two\|0")


def test_cancel_to_c_window(cmain, cwin, window):
    pending = window.request_async(cwin.name, "x", channel="hold", timeout=5000)
    cwin.expect("HELD")
    pending.cancel()
    cmain.expect(rf"REQUEST {cwin.name} - cancelled\|{window.name}")
    with pytest.raises(prokit.CancelledError):
        pending.result()


def test_c_window_to_python(cmain, cwin, window):
    got, news = [], []
    window.on_window_message(got.append)
    window.on("news", news.append)

    @window.on_request
    def answer(request):
        if request.payload == "fail":
            raise prokit.HandlerError("python says no", app_code=7)
        return f"py:{request.payload}:{request.sender}"

    @window.handle("steps")
    def steps(request):
        for i in range(int(request.payload)):
            request.progress(i + 1)
        return "stepped"

    cmain.command(f"send {cwin.name} sendto:{window.name}:hello")
    cmain.command(f"send {cwin.name} sendon:{window.name}:news:extra")
    wait_for(lambda: got and news, window)
    assert (got[0].sender, got[0].payload, got[0].channel) == (cwin.name, "hello", None)
    assert (news[0].sender, news[0].payload, news[0].channel) == (cwin.name, "extra", "news")

    cmain.command(f"send {cwin.name} ask:{window.name}:-:hi")
    _dispatch_until(cmain, window, rf"REQUEST \S+ - asked\|PROKIT_OK\|py:hi:{cwin.name}")
    cmain.command(f"send {cwin.name} ask:{window.name}:-:fail")
    _dispatch_until(cmain, window, r"REQUEST \S+ - asked\|PROKIT_EHANDLER\|python says no")
    cmain.command(f"send {cwin.name} ask:{window.name}:steps:2")
    _dispatch_until(cmain, window, r"REQUEST \S+ - asked\|PROKIT_OK\|stepped")
    cmain.command(f"send {cwin.name} ask:{window.name}:nothing:x")
    _dispatch_until(cmain, window, r"REQUEST \S+ - asked\|PROKIT_ENOHANDLER\|")


def _dispatch_until(proc, window, pattern):
    """Dispatch WINDOW while waiting for PROC's line."""
    import time

    deadline = time.monotonic() + 10
    while True:
        window.run(timeout=50)
        try:
            return proc.expect(pattern, timeout=0.01)
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_pool_of_python_windows(cmain, cwin):
    pool = unique("pool")
    members = [prokit.Window(unique("m"), endpoint=cmain.endpoint, service=pool) for _ in range(2)]
    served = []
    for m in members:
        m.on_request(lambda r, m=m: served.append(m.name) or f"{m.name}:{r.payload}")
    asker = prokit.Window(unique("asker"), endpoint=cmain.endpoint)
    for m in members:
        cmain.expect(rf"JOINED {m.name} {pool}")
    # two requests in flight at once: one for each member (fewest in flight)
    a = asker.request_async(pool, "a")
    b = asker.request_async(pool, "b")
    while not (a.done and b.done):
        for m in members:
            m.run(timeout=10)
        asker.dispatch()
    assert sorted(served) == sorted(m.name for m in members)
    assert {a.value.split(":")[1], b.value.split(":")[1]} == {"a", "b"}
    # a C window asks the pool too
    cmain.command(f"send {cwin.name} ask:{pool}:-:c")
    while len(served) < 3:
        for m in members:
            m.run(timeout=10)
    cmain.expect(r"REQUEST \S+ - asked\|PROKIT_OK\|m-.*:c")
    for w in members + [asker]:
        w.close()


def test_presence_follows_c_windows(procs, cmain):
    seen = []
    w = prokit.Window(unique("py"), endpoint=cmain.endpoint, presence=True)
    w.on_presence(lambda name, joined, info: seen.append((name, joined, info)))
    name = unique("c")
    p = procs([binary("tests", "prokit-test-peer"), "window", name, cmain.endpoint])
    p.expect("READY")
    wait_for(lambda: any(n == name and j for n, j, _ in seen), w)
    info = [i for n, j, i in seen if n == name][0]
    assert info["pid"] == p.popen.pid
    p.stop()
    wait_for(lambda: any(n == name and not j for n, j, _ in seen), w)
    assert [i for n, j, i in seen if n == name and not j][0]["reason"] == "closed"
    w.close()
