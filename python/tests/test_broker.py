"""A Python main attached to the broker (CURVE, access list), with C and
Python windows; the broker restarted."""
from __future__ import annotations

import os
import random
import socket

import pytest

import prokit
from conftest import binary, start_broker, unique, wait_for


def free_port_pair() -> int:
    """A port whose successor is free too (the broker's PUB channel)."""
    for _ in range(200):
        port = random.randrange(20000, 60000, 2)
        try:
            for p in (port, port + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


@pytest.fixture
def keys(procs, tmpdir_short):
    broker = binary("broker", "prokit-broker")
    d = tmpdir_short
    os.mkdir(f"{d}/allowed")
    publics = {}
    for who in ("broker", "main", "py", "c", "stranger"):
        p = procs([broker, "--keygen", f"{d}/{who}"])
        publics[who] = p.expect(r"(\S{40})$").group(1)
        p.popen.wait()
    for who in ("main", "py", "c"):
        with open(f"{d}/{who}") as src, open(f"{d}/allowed/{who}", "w") as dst:
            dst.write(src.read())
    with open(f"{d}/acl", "w") as acl:
        acl.write(f"# main\n{publics['main']}  @main\n{publics['py']}  py-*\n{publics['c']}  c-*\n")
    return d


def curve(keys, who):
    return {"curve_cert": f"{keys}/{who}", "curve_server_key": f"{keys}/broker"}


def test_curve_acl_python_main_c_and_python_windows(procs, keys):
    port = free_port_pair()
    ep = f"tcp://127.0.0.1:{port}"
    start_broker(procs, ["-b", ep, "--curve-cert", f"{keys}/broker", "--curve-allow",
                         f"{keys}/allowed", "--acl", f"{keys}/acl"])
    main = prokit.Main(ep, **curve(keys, "main"))
    presence, asked = [], []
    main.on_presence(lambda name, joined, info: presence.append((name, joined, info)))

    @main.on_request
    def answer(request):
        asked.append((request.sender, request.payload))
        if request.payload == "fail":
            raise prokit.HandlerError("main says no", app_code=9)
        return f"pymain:{request.payload}"

    @main.handle("echo")
    def echo(request):
        return f"echo:{request.payload}"

    # a C window, with its own key, from the environment
    cname = unique("c")
    cwin = procs([binary("tests", "prokit-test-peer"), "window", cname, ep],
                 env={"PROKIT_CURVE_CERT": f"{keys}/c", "PROKIT_CURVE_SERVER_KEY": f"{keys}/broker"})
    cwin.expect("READY")
    pyw = prokit.Window(unique("py"), endpoint=ep, **curve(keys, "py"))
    wait_for(lambda: main.has_window(cname) and main.has_window(pyw.name), main)
    assert sorted(main.get_all_windows()) == sorted([cname, pyw.name])
    assert main.get_window(cname)["pid"] == cwin.popen.pid

    # the Python window asks the Python main
    got = []
    pyw.on_main_message(got.append)
    pyw.on_window_message(got.append)
    pyw.on("news", got.append)
    pending = pyw.request_async(prokit.MAIN, "hello")
    wait_for(lambda: pending.done, main, pyw)
    assert pending.result() == "pymain:hello"
    fail = pyw.request_async(prokit.MAIN, "fail")
    wait_for(lambda: fail.done, main, pyw)
    with pytest.raises(prokit.HandlerError) as info:
        fail.result(5000)
    assert info.value.app_code == 9 and info.value.text == "main says no"

    # main sends and broadcasts: the C window reports them by requests
    main.send(cname, "one")
    wait_for(lambda: ("got|@main|one|0") in [p for _, p in asked], main)
    main.broadcast("all")
    wait_for(lambda: ("got|@main|all|1") in [p for _, p in asked], main)
    main.send(pyw.name, "x", channel="news")
    main.send(cname, f"sendto:{pyw.name}:from-c")
    wait_for(lambda: len(got) == 3, pyw)
    assert sorted((m.sender, m.payload, m.is_broadcast, m.channel) for m in got) == sorted([
        ("@main", "all", True, None), ("@main", "x", False, "news"), (cname, "from-c", False, None)])

    # main asks windows (main's requests go to them like any client's)
    on_c = main.request_async(cname, "echo-me")
    assert on_c.result(5000) == "echo-me"
    pyw.on_request(lambda r: f"pyw:{r.payload}")
    on_py = main.request_async(pyw.name, "q")
    wait_for(lambda: on_py.done, pyw, main)
    assert on_py.result() == "pyw:q"
    # a C window asks main on a channel
    main.send(cname, "ask:@main:echo:ping")
    wait_for(lambda: "asked|PROKIT_OK|echo:ping" in [p for _, p in asked], main)

    # visibility and close
    shown = []
    pyw.on_visibility(shown.append)
    main.hide_window(pyw.name)
    main.show_window(pyw.name)
    wait_for(lambda: shown == [False, True], pyw)
    failed = []
    main.on_undelivered(lambda target, error: failed.append((target, error.code)))
    main.send("ghost", "?")
    wait_for(lambda: failed == [("ghost", -3)], main)
    main.destroy_window(cname)
    wait_for(lambda: not main.has_window(cname), main)
    assert (cname, False, {"reason": "closed by main"}) in presence

    # the access list: a name the key may not claim, the main role, no key
    with pytest.raises(prokit.AccessError) as info:
        prokit.Window("other", endpoint=ep, **curve(keys, "py"))
    assert info.value.code == -13 and "access list" in info.value.text
    with pytest.raises(prokit.AccessError):
        prokit.Main(ep, **curve(keys, "py"))
    with pytest.raises(prokit.ExistsError):
        prokit.Main(ep, **curve(keys, "main"))
    with pytest.raises((prokit.AccessError, prokit.TimedOutError)):
        prokit.Window(unique("py"), endpoint=ep, join_timeout=1500, **curve(keys, "stranger"))
    pyw.close()
    main.close()


def test_broker_restarted(procs, tmpdir_short):
    ep = f"ipc://{tmpdir_short}/broker.sock"
    broker = start_broker(procs, ["-b", ep])
    main = prokit.Main(ep)
    main.on_request(lambda r: f"pymain:{r.payload}")
    lost, presence = [], []
    main.on_connection(lambda connected, error: lost.append(connected))
    main.on_presence(lambda name, joined, info: presence.append((name, joined, info.get("reason"))))
    cname = unique("c")
    cwin = procs([binary("tests", "prokit-test-peer"), "window", cname, ep])
    cwin.expect("READY")
    pyw = prokit.Window(unique("py"), endpoint=ep)
    wait_for(lambda: main.window_count == 2, main)

    broker.kill()
    wait_for(lambda: not main.is_connected, main)
    wait_for(lambda: not pyw.is_connected, pyw)
    assert main.window_count == 0
    assert sorted(p for p in presence if not p[1]) == sorted(
        (n, False, "connection to the broker lost") for n in (cname, pyw.name))
    with pytest.raises(prokit.ClosedError):
        main.send(cname, "down")
    start_broker(procs, ["-b", ep])
    wait_for(lambda: main.is_connected, main)
    wait_for(lambda: pyw.is_connected, pyw)
    wait_for(lambda: main.has_window(cname) and main.has_window(pyw.name), main)
    assert lost == [False, True]
    pending = pyw.request_async(prokit.MAIN, "back")
    wait_for(lambda: pending.done, main, pyw)
    assert pending.result() == "pymain:back"
    main.send(cname, "ask:@main:-:c-back")
    asked = []
    main.on_request(lambda r: asked.append(r.payload) or "ok")
    wait_for(lambda: "asked|PROKIT_OK|ok" in asked, main)
    pyw.close()
    main.close()


def test_python_main_orders_c_window(procs, tmpdir_short):
    """SHOW, HIDE and CLOSE from a Python main to a C window, and the C
    window's reports, presence and EXIT as main sees them."""
    ep = f"ipc://{tmpdir_short}/broker.sock"
    start_broker(procs, ["-b", ep])
    main = prokit.Main(ep)
    reports, presence = [], []
    main.on_request(lambda r: reports.append(r.payload) or "ok")
    main.on_presence(lambda name, joined, info: presence.append((name, joined, info.get("reason"))))
    name = unique("c")
    cwin = procs([binary("tests", "prokit-test-peer"), "spawned"],
                 env={"PROKIT_WINDOW_NAME": name, "PROKIT_ENDPOINT": ep})
    wait_for(lambda: main.has_window(name), main)
    main.hide_window(name)
    main.show_window(name)
    wait_for(lambda: reports[-2:] == ["visibility|0", "visibility|1"], main)
    main.destroy_window(name)
    wait_for(lambda: (name, False, "closed by main") in presence, main)
    assert cwin.popen.wait(timeout=10) == 0  # it exits 0 when closed
    with pytest.raises(prokit.NotFoundError):
        main.request(name, "gone?")
    main.close()


def test_asyncio_main(procs, tmpdir_short):
    import asyncio

    import prokit.asyncio

    ep = f"ipc://{tmpdir_short}/broker.sock"
    start_broker(procs, ["-b", ep])
    name = unique("c")

    async def scenario():
        async with prokit.asyncio.Main(ep) as main:
            reports = asyncio.Queue()

            async def handler(request):
                await reports.put(request.payload)
                return "ok"

            main.on_request(handler)
            cwin = procs([binary("tests", "prokit-test-peer"), "window", name, ep])
            await asyncio.to_thread(cwin.expect, "READY")
            main.send(name, "one")
            assert await asyncio.wait_for(reports.get(), 10) == "got|@main|one|0"
            main.broadcast("all")
            assert await asyncio.wait_for(reports.get(), 10) == "got|@main|all|1"
            assert await main.request(name, "echo") == "echo"
            assert main.has_window(name)

    asyncio.run(scenario())


def test_broker_restart_reports_what_it_took(procs, tmpdir_short, monkeypatch):
    """Messages a broker held when it died (a window had not taken them in)
    are reported undelivered by their senders once they meet a new broker:
    main from the router's ACCOUNTs, a window from its RECEIPTs, once the
    window, which never comes back, has not said in time what it took in:
    with PROKIT_EUNCONFIRMED, as nobody could say."""
    monkeypatch.setattr(prokit._client, "TOOK_WAIT_MS", 300)
    monkeypatch.setattr(prokit._client, "ACCOUNT_WAIT_MS", 300)
    ep = f"ipc://{tmpdir_short}/broker.sock"
    broker = start_broker(procs, ["-b", ep])
    main = prokit.Main(ep)
    sender = prokit.Window(unique("tx"), endpoint=ep)
    idle = prokit.Window(unique("idle"), endpoint=ep)  # never dispatched: takes nothing in
    lost_main, lost_sender = [], []
    main.on_undelivered(lambda target, error: lost_main.append((target, error.code)))
    sender.on_undelivered(lambda target, error: lost_sender.append((target, error.code)))
    wait_for(lambda: main.has_window(idle.name), main)
    for i in range(5):
        main.send(idle.name, i)
    for i in range(3):
        sender.send(idle.name, i)
    # the router has them all: its ACCOUNT says it handled main's five, and
    # it answers the sender's request only after its three SENDs
    wait_for(lambda: not main._account.unhandled, main)
    ping = sender.request_async(prokit.MAIN, "sync")
    wait_for(lambda: ping.done, main, sender)
    broker.kill()
    idle.close(linger=0)  # gone with the broker: it will not say what it took in
    wait_for(lambda: not main.is_connected, main)
    wait_for(lambda: not sender.is_connected, sender)
    start_broker(procs, ["-b", ep])
    wait_for(lambda: main.is_connected and sender.is_connected, main, sender)
    wait_for(lambda: len(lost_main) == 5 and len(lost_sender) == 3, main, sender)
    # it never said what it took in: they may have arrived (PROKIT_EUNCONFIRMED)
    assert lost_main == [(idle.name, -20)] * 5
    assert lost_sender == [(idle.name, -20)] * 3
    for handle in (main, sender):
        handle.close()


def test_router_errors(procs, tmpdir_short):
    """The errors the router itself sends, as the Python client raises or
    reports them: ETOOBIG, ELIMIT, EACCES, EAGAIN, EPROTO."""
    from prokit import _wire as wire

    ep = f"ipc://{tmpdir_short}/broker.sock"
    start_broker(procs, ["-b", ep, "--max-payload", "2000", "--max-requests-per-window", "2"])
    main = prokit.Main(ep)
    held = []
    main.on_request(lambda r: r.defer() or held.append(r))
    w = prokit.Window(unique("py"), endpoint=ep)
    assert w.max_payload == 2000  # adopted from the WELCOME
    failed = []
    w.on_undelivered(lambda target, error: failed.append((target, error.code)))

    # ETOOBIG from the router (the local check moved out of the way)
    w.max_payload = 10**6
    with pytest.raises(prokit.TooBigError) as info:
        w.request(prokit.MAIN, "x" * 3000, timeout=5000)
    assert "exceeds the limit" in info.value.text
    # ELIMIT: two requests in flight at most
    first, second = (w.request_async(prokit.MAIN, i) for i in range(2))
    wait_for(lambda: len(held) == 2, main)
    with pytest.raises(prokit.LimitError):
        w.request(prokit.MAIN, "third", timeout=5000)
    for request in held:
        request.reply("done")
    wait_for(lambda: first.done and second.done, w, main)
    # EACCES: only main may broadcast; EPROTO: main is asked, never sent to
    w._one_way(wire.BROADCAST, "", prokit._client.pack("all?"))
    w._one_way(wire.SEND, "@main", prokit._client.pack("hi?"))
    wait_for(lambda: len(failed) == 2, w)
    assert failed == [("", -13), ("", -10)]  # a bad peer field: refused before it is read

    # EAGAIN: main's SENDs to a window that takes nothing in stop at its credit
    idle = prokit.Window(unique("idle"), endpoint=ep)
    refused = []
    main.on_undelivered(lambda target, error: refused.append((target, error.code)))
    wait_for(lambda: main.has_window(idle.name), main)
    for i in range(4100):
        main.send(idle.name, i)
    wait_for(lambda: len(refused) == 100, main)
    assert set(refused) == {(idle.name, -12)}
    for handle in (w, idle, main):
        handle.close()
