"""Holding senders back (FLOW, PROTOCOL.md section 3 and "Holding senders
back"): a window flooding a slow one through a C main is held back at the
send once the router refuses it, and let go when the slow one reads or
leaves; holds end with the connection (a broker killed and replaced); and
the client's side of FLOW against a router played by raw sockets (its
HELLO, hold and release, an unknown command, holds dropped with the
session)."""
from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Tuple

import pytest

import prokit
from prokit import _wire as w
from prokit._client import pack, unpack
from prokit.errors import EAGAIN, ECLOSED, ENOTFOUND
from conftest import start_broker, unique, wait_for
from test_account import main_on
from test_took import FakeRouter

FLOOD = 50000      # sends to the slow window: over twelve times its credit (4000)
HOLDING = "is not keeping up: holding messages to it until it has room"
ONE_WAY = w.ONE_WAY


def held_text(target: str) -> str:
    return f"'{target}' {HOLDING}"


def hold_back(sender: Any, target: str) -> int:
    """Send to TARGET, which reads nothing, until SENDER is held back from
    it (what the router refuses first is reported): the number accepted."""
    sent = 0
    for n in range(4000):  # its credit: taken by the router, none read
        sender.send(target, n)
        sent += 1

    def held() -> bool:
        nonlocal sent
        try:
            sender.send(target, "probe")
        except prokit.AgainError as e:
            assert e.text == held_text(target)
            return True
        sent += 1
        return False

    wait_for(held, sender)
    return sent


def send_when_room(sender: prokit.Window, target: str, payload: Any, *others: Any) -> None:
    """Send PAYLOAD to TARGET as soon as SENDER is no longer held back from
    it, dispatching SENDER and OTHERS meanwhile (up to the deadline)."""

    def accepted() -> bool:
        try:
            sender.send(target, payload)
        except prokit.AgainError as e:
            assert e.text == held_text(target)
            return False
        return True

    wait_for(accepted, sender, *others)


def test_a_flooded_window_holds_its_sender_back(cmain):
    """A Python window floods one that reads nothing (credit 4000) through
    a C main, dispatching every 1000 sends: after the first refusal its
    sends fail at once with AgainError (nothing sent), so only what was on
    its way then is refused and reported, not everything past the credit.
    Once the slow one reads, what was accepted is received or reported,
    exactly, and the sender's next messages are accepted and arrive."""
    slow = prokit.Window(unique("slow"), endpoint=cmain.endpoint)  # not dispatched yet
    fast = prokit.Window(unique("fast"), endpoint=cmain.endpoint)
    got: List[int] = []
    slow.on_window_message(lambda m: got.append(m.payload))
    reports: "Counter[int]" = Counter()  # error code -> how many reported
    fast.on_undelivered(lambda target, error: reports.update((error.code,)))
    accepted: List[int] = []
    held = 0
    first_held = None
    for n in range(FLOOD):
        try:
            fast.send(slow.name, n)
            accepted.append(n)
        except prokit.AgainError as e:  # held back, or its queue to the router full
            if HOLDING in e.text:
                held += 1
                first_held = first_held or e
        if n % 1000 == 999:
            fast.dispatch()
    assert first_held is not None and first_held.code == EAGAIN
    assert first_held.text == held_text(slow.name)

    def reported() -> int:
        return sum(reports.values())

    # The slow one reads: its CREDITs lift the hold.
    wait_for(lambda: len(got) + reported() == len(accepted), slow, fast)
    assert set(reports) == {EAGAIN}
    # Held back at the send: without the hold every message accepted past
    # the credit (some 46000 here) is refused and reported, one ERROR each.
    assert held > FLOOD // 2
    assert reported() < FLOOD // 4
    # the first ones accepted, as many as its credit had room for, in order
    assert len(got) > 3000 and got == accepted[:len(got)]

    # It has room again: the next ones are accepted and arrive, in order.
    before, lost = len(got), reported()
    for n in range(FLOOD, FLOOD + 100):
        send_when_room(fast, slow.name, n, slow)
        accepted.append(n)
    wait_for(lambda: len(got) == before + 100, slow, fast)
    assert got[before:] == list(range(FLOOD, FLOOD + 100))
    assert reported() == lost and len(got) + reported() == len(accepted)
    fast.close()
    slow.close()


def test_a_hold_is_lifted_when_the_window_leaves(cmain):
    """A sender held back from a window (requests too, that window alone)
    is let go when it leaves: the next send is accepted, and reported as
    to a window that is not there."""
    slow = prokit.Window(unique("slow"), endpoint=cmain.endpoint)  # never dispatched
    fast = prokit.Window(unique("fast"), endpoint=cmain.endpoint)
    other = prokit.Window(unique("other"), endpoint=cmain.endpoint)
    reports: List[Tuple[str, int]] = []
    fast.on_undelivered(lambda target, error: reports.append((target, error.code)))
    got: List[Any] = []
    other.on_window_message(lambda m: got.append(m.payload))
    sent = hold_back(fast, slow.name)
    with pytest.raises(prokit.AgainError, match=HOLDING):
        fast.request(slow.name, "held too", timeout=1000)
    with pytest.raises(prokit.AgainError, match=HOLDING):
        fast.send(slow.name, "on a channel", channel="news")
    fast.send(other.name, "not held")
    wait_for(lambda: got == ["not held"], other, fast)
    assert all(r == (slow.name, EAGAIN) for r in reports)

    # It leaves: the hold is lifted, and the next send goes to the router,
    # which has no such window any more.
    slow.close()
    send_when_room(fast, slow.name, "after", other)
    wait_for(lambda: (slow.name, ENOTFOUND) in reports, fast)
    assert reports.count((slow.name, ENOTFOUND)) == 1
    # what it accepted before: refused, or never taken in (the BYE says so)
    wait_for(lambda: len(reports) == sent + 1, fast)
    assert reports.count((slow.name, EAGAIN)) + reports.count((slow.name, ECLOSED)) == sent
    for handle in (fast, other):
        handle.close()


def test_holds_end_with_the_connection(procs, tmpdir_short):
    """Through a broker: a window and main held back from a window that
    reads nothing; the broker is killed and another started: both join it
    held by nothing (the slow one, never dispatched, does not come back),
    and their sends to it are accepted and reported as not found."""
    ep = f"ipc://{tmpdir_short}/broker.sock"
    broker = start_broker(procs, ["-b", ep])
    main = prokit.Main(ep)
    slow = prokit.Window(unique("slow"), endpoint=ep)  # never dispatched
    fast = prokit.Window(unique("fast"), endpoint=ep)
    wait_for(lambda: main.has_window(slow.name), main)
    reports: Dict[str, List[int]] = {"fast": [], "main": []}
    fast.on_undelivered(lambda target, error: reports["fast"].append(error.code))
    main.on_undelivered(lambda target, error: reports["main"].append(error.code))
    hold_back(fast, slow.name)
    hold_back(main, slow.name)
    broker.kill()
    wait_for(lambda: not fast.is_connected and not main.is_connected, fast, main)
    start_broker(procs, ["-b", ep])
    wait_for(lambda: fast.is_connected and main.is_connected, fast, main)
    for sender, who in ((fast, "fast"), (main, "main")):
        sender.send(slow.name, "after")
        wait_for(lambda: ENOTFOUND in reports[who], sender)
    for handle in (fast, main):
        handle.close()
    slow.close(linger=0)


# --- against a router played by raw sockets --------------------------------------


def test_a_window_holds_back_as_flow_says(tmpdir_short):
    """The HELLO says "flow" (after "took", then "batch", as the C client's); FLOW
    {"hold": true} holds sends and requests to that window alone, nothing
    sent, and an empty map lets them go; an unknown command is dropped;
    the holds end with the session, and a FLOW read before the next
    session is joined is about the one that ended: ignored."""
    ep, chan = f"ipc://{tmpdir_short}/r.sock", f"ipc://{tmpdir_short}/c.sock"
    topic, topic_b = "00000000000000a1", "00000000000000b2"
    window = prokit.Window("tx", endpoint=ep, _join=False)
    got: List[Any] = []
    window.on_window_message(lambda m: got.append(m.payload))
    a = FakeRouter(ep, chan, "a" * 16, lambda: window.run(timeout=2))
    rid, hello_id, _, body = a.next(w.HELLO)
    hello = unpack(body)
    assert list(hello)[-4:] == ["deadlines", "took", "flow", "batch"] and hello["flow"] is True
    a.welcome(rid, hello_id, "tx", topic)
    a.channel_welcome(topic, hello_id)
    wait_for(lambda: window.is_connected, window)

    def sync(mark: str) -> None:
        """What the router sent before MARK has been handled."""
        a.send(rid, w.SEND, ONE_WAY | 1, b"x", pack(mark))
        wait_for(lambda: got[-1:] == [mark], window)

    a.send(rid, w.FLOW, 0, b"slow", pack({"hold": True}))
    a.send(rid, 99, 0, b"", pack({"what": "a command from the future"}))
    sync("held")
    assert window.is_connected
    with pytest.raises(prokit.AgainError) as caught:
        window.send("slow", 1)
    assert caught.value.code == EAGAIN and caught.value.text == held_text("slow")
    with pytest.raises(prokit.AgainError, match=HOLDING):
        window.send("slow", 1, channel="news")
    with pytest.raises(prokit.AgainError, match=HOLDING):
        window.request_async("slow", "q")
    window.send("other", 2)
    assert a.next(w.SEND)[2] == b"other"  # nothing went to "slow" before it
    pending = window.request_async(prokit.MAIN, "not held")
    assert a.next(w.REQUEST)[1] == pending.id

    a.send(rid, w.FLOW, 0, b"slow", pack({}))  # hold false
    sync("released")
    window.send("slow", 3)
    assert a.next(w.SEND)[2] == b"slow"

    # Held again; the router ends the session (BYE "rejoin"): the holds go
    # with it, and one read before the next session is in (joined once the
    # channel's WELCOME comes) is ignored.
    a.send(rid, w.FLOW, 0, b"slow", pack({"hold": True}))
    sync("held again")
    with pytest.raises(prokit.AgainError, match=HOLDING):
        window.send("slow", 4)
    a.send(rid, w.BYE, 0, b"", pack({"rejoin": True}))
    rid, hello_id, _, _ = a.next(w.HELLO)
    a._ready(a.pub)
    assert a.pub.recv() == b"\x00" + bytes.fromhex(topic)  # the ended session's SUB went
    a.welcome(rid, hello_id, "tx", topic_b)
    a.send(rid, w.FLOW, 0, b"slow", pack({"hold": True}))
    a.channel_welcome(topic_b, hello_id)
    wait_for(lambda: window.is_connected, window)
    window.send("slow", 5)
    _, _, peer, body = a.next(w.SEND)
    assert (peer, unpack(body)) == (b"slow", 5)
    window.close(linger=0)
    a.close()


def test_main_holds_back_as_flow_says(tmpdir_short):
    """Main attached to a router: its HELLO says "flow" (after
    "deadlines", as the C main's), and FLOW holds its sends to that window
    alone; broadcasts are not held."""
    ep = f"ipc://{tmpdir_short}/r.sock"
    main = prokit.Main(ep, _join=False)
    a, rid, hello_id, hello = main_on(ep, tmpdir_short, "a" * 16, main)
    assert list(hello) == ["pid", "version", "credit", "account", "channels", "progress",
                           "cancel", "deadlines", "flow"]
    assert hello["flow"] is True
    a.welcome_main(rid, hello_id)
    wait_for(lambda: main.is_connected, main)
    a.send(rid, w.FLOW, 0, b"w1", pack({"hold": True}))
    a.send(rid, w.JOINED, 0, b"w1", pack({"pid": 1}))
    wait_for(lambda: main.has_window("w1"), main)
    with pytest.raises(prokit.AgainError, match=HOLDING):
        main.send("w1", "held")
    main.send("w2", "not held")
    main.broadcast("to all")
    a.send(rid, w.FLOW, 0, b"w1", b"")  # hold false, as an empty body
    a.send(rid, w.JOINED, 0, b"w2", pack({"pid": 2}))
    wait_for(lambda: main.has_window("w2"), main)
    main.send("w1", "let go")
    assert a.one_ways(3) == [(w.SEND, ONE_WAY | 1, b"w2"), (w.BROADCAST, ONE_WAY | 2, b""),
                             (w.SEND, ONE_WAY | 3, b"w1")]
    main.close(linger=0)
    a.close()
