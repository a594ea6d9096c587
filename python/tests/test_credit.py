"""CREDIT (PROTOCOL.md, flow control) against a router played by raw
sockets: besides a CREDIT every 500 messages taken in, a client that has
handed on all there was says what it has not confirmed yet, at once if its
last CREDIT was at least CREDIT_IDLE_MS (1 ms) ago, else once that much
time has passed (the loop's deadline): so that a window killed after
handling a few messages has none reported as perhaps taken in
(PROKIT_EUNCONFIRMED), at a cost of at most one CREDIT a millisecond."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Callable, Dict, List, Tuple

import pytest

import prokit
import prokit.asyncio
from prokit import _client
from prokit import _wire as w
from prokit._client import pack, unpack
from conftest import DEADLINE, wait_for
from test_took import FakeRouter  # the router played by raw sockets
from test_account import MainRouter  # the same, as main's

ONE_WAY = w.ONE_WAY
TOPIC = "00000000000000c3"
COUNT = 100  # well under a CREDIT batch (500): only the idle CREDIT says them


def credit_saying(router: FakeRouter, enough: Callable[[Dict[str, int]], bool]) -> Dict[str, int]:
    """The first CREDIT from now on whose counts are ENOUGH (those before
    it are passed over), within DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    while True:
        assert time.monotonic() < deadline, "no CREDIT saying enough came"
        _, _, _, body = router.next(w.CREDIT)
        credit = unpack(body)
        if enough(credit):
            return credit


def join_window(ep: str, tmpdir: str, window: prokit.Window, pump) -> Tuple[FakeRouter, bytes]:
    """A router on EP that WINDOW (not yet joined) joins, with a channel."""
    router = FakeRouter(ep, f"ipc://{tmpdir}/c.sock", "a" * 16, pump)
    rid, hello_id, _, body = router.next(w.HELLO)
    assert unpack(body)["credit"] == _client.CREDIT_WINDOW
    router.welcome(rid, hello_id, window.name, TOPIC)
    router.channel_welcome(TOPIC, hello_id)
    return router, rid


async def join_async(ep: str, tmpdir: str,
                     window: prokit.asyncio.Window) -> Tuple[FakeRouter, bytes]:
    """join_window() for an asyncio window: it dispatches on the loop
    while the test waits on the router's sockets in a thread."""
    router = FakeRouter(ep, f"ipc://{tmpdir}/c.sock", "a" * 16, None)
    rid, hello_id, _, _ = await asyncio.to_thread(router.next, w.HELLO)
    joined = asyncio.ensure_future(window.join())
    await asyncio.to_thread(router.welcome, rid, hello_id, window.name, TOPIC)
    router.channel_welcome(TOPIC, hello_id)
    await joined
    return router, rid


def send_both(router: FakeRouter, rid: bytes, count: int, first: int = 1) -> None:
    """COUNT SENDs from window "x" on the DEALER and COUNT of main's on the channel."""
    for n in range(first, first + count):
        router.send(rid, w.SEND, ONE_WAY | n, b"x", pack(n))
        router.pub.send(bytes.fromhex(TOPIC) + w.encode_v2(w.SEND, ONE_WAY | n, b"", pack(n))[0])


def test_a_window_that_handed_on_all_there_was_confirms_it(tmpdir_short):
    """100 SENDs on the DEALER and 100 of main's on the channel, then
    nothing: the window, dispatching, says it took them all in (the
    WELCOME and the 100; the 100) without waiting for a batch of 500."""
    ep = f"ipc://{tmpdir_short}/r.sock"
    window = prokit.Window("rx", endpoint=ep, _join=False)
    got: List[object] = []
    window.on_window_message(lambda m: got.append(m.payload))
    window.on_main_message(lambda m: got.append(m.payload))
    router, rid = join_window(ep, tmpdir_short, window, lambda: window.run(timeout=2))
    wait_for(lambda: window.is_connected, window)
    send_both(router, rid, COUNT)
    credit = credit_saying(router, lambda c: c["consumed"] >= COUNT + 1
                           and c.get("channel", 0) >= COUNT)
    assert credit == {"consumed": COUNT + 1, "channel": COUNT}
    assert len(got) == 2 * COUNT  # what it said, it had handed on
    window.close(linger=0)
    router.close()


def test_main_that_handed_on_all_there_was_confirms_it(tmpdir_short):
    """Main attached to a broker, asked 100 requests by windows: the same
    (its answers are passed over)."""
    ep = f"ipc://{tmpdir_short}/r.sock"
    main = prokit.Main(ep, _join=False)
    got: List[object] = []
    main.on_request(lambda request: got.append(request.payload))
    router = MainRouter(ep, f"ipc://{tmpdir_short}/c.sock", "a" * 16, lambda: main.run(timeout=2))
    rid, hello_id, _, body = router.next(w.HELLO)
    assert unpack(body)["credit"] == _client.CREDIT_WINDOW
    router.welcome_main(rid, hello_id)
    wait_for(lambda: main.is_connected, main)
    for n in range(1, COUNT + 1):
        router.send(rid, w.REQUEST, n, b"w%d" % (n % 7), pack(n))
    credit = credit_saying(router, lambda c: c["consumed"] >= COUNT + 1)
    assert credit == {"consumed": COUNT + 1}  # main has no channel
    assert len(got) == COUNT
    main.close(linger=0)
    router.close()


def test_an_asyncio_window_that_handed_on_all_there_was_confirms_it(tmpdir_short):
    """The same on the event loop, the window dispatching on its own."""
    ep = f"ipc://{tmpdir_short}/r.sock"

    async def scenario() -> None:
        window = prokit.asyncio.Window("rx", endpoint=ep)
        got: List[object] = []
        window.on_window_message(lambda m: got.append(m.payload))
        window.on_main_message(lambda m: got.append(m.payload))
        router, rid = await join_async(ep, tmpdir_short, window)
        send_both(router, rid, COUNT)
        credit = await asyncio.to_thread(
            credit_saying, router,
            lambda c: c["consumed"] >= COUNT + 1 and c.get("channel", 0) >= COUNT)
        assert credit == {"consumed": COUNT + 1, "channel": COUNT}
        assert len(got) == 2 * COUNT
        window.close(linger=0)
        router.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["blocking", "asyncio"])
def test_within_the_interval_of_the_last_credit_the_loop_s_deadline_sends_it(
        tmpdir_short, monkeypatch, kind):
    """The interval made 300 ms: a SEND taken in right after an idle CREDIT
    is confirmed once the interval has passed since that CREDIT, not
    before, with nothing else arriving: by the loop's deadline, the
    window's run() (whose polls are made a minute long, else it would look
    every 250 ms) or the asyncio loop's timer."""
    interval = 300
    monkeypatch.setattr(_client, "CREDIT_IDLE_MS", float(interval))
    ep = f"ipc://{tmpdir_short}/r.sock"

    async def scenario() -> None:
        thread = None
        if kind == "asyncio":
            window = prokit.asyncio.Window("rx", endpoint=ep)
            router, rid = await join_async(ep, tmpdir_short, window)
        else:
            window = prokit.Window("rx", endpoint=ep, _join=False)
            router, rid = join_window(ep, tmpdir_short, window, lambda: window.run(timeout=2))
            wait_for(lambda: window.is_connected, window)
            router.pump = None
            monkeypatch.setattr(_client, "_SLICE_MS", 60000)
            thread = threading.Thread(target=window.run)
            thread.start()
        # joined: the WELCOME taken in is said at once (no CREDIT before)
        first = await asyncio.to_thread(credit_saying, router, lambda c: True)
        assert first == {"consumed": 1, "channel": 0}
        said = time.monotonic()
        send_both(router, rid, 1)
        credit = await asyncio.to_thread(credit_saying, router, lambda c: True)
        waited = time.monotonic() - said
        assert credit == {"consumed": 2, "channel": 1}
        assert waited >= interval / 1000 * 0.5, waited  # not at once
        if thread is not None:
            window.stop()
            router.send(rid, w.PING, 7)  # (its poll ends when something comes)
            thread.join()
        window.close(linger=0)
        router.close()

    asyncio.run(scenario())


def test_idle_credits_come_at_most_about_once_a_millisecond(tmpdir_short):
    """A stream of SENDs (on the DEALER and the channel) in small bursts,
    each soon handed on: the window, dispatching in a thread, is idle again
    and again, more than once a millisecond (without the limit it sent some
    2100 CREDITs in 550 ms here), yet over a run of N ms it sends no more
    than N CREDITs, with a margin for the batches of 500."""
    ep = f"ipc://{tmpdir_short}/r.sock"
    window = prokit.Window("rx", endpoint=ep, _join=False)
    got = [0]

    def count(message: prokit.Message) -> None:
        got[0] += 1

    window.on_window_message(count)
    window.on_main_message(count)
    router, rid = join_window(ep, tmpdir_short, window, lambda: window.run(timeout=2))
    wait_for(lambda: window.is_connected, window)
    credit_saying(router, lambda c: True)  # the WELCOME's
    router.pump = None

    started: List[float] = []

    def run() -> None:
        started.append(time.monotonic())
        window.run()

    thread = threading.Thread(target=run)
    thread.start()
    credits: List[Dict[str, int]] = []

    def read_credits() -> None:
        while router.router.poll(0):
            frames = router.router.recv_multipart()
            cmd, _, _, body = w.decode(frames[1:])
            if cmd == w.CREDIT:
                credits.append(unpack(body))

    sent, n = 0, 0
    try:
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            n += 1
            send_both(router, rid, 2, n * 2)
            sent += 4
            read_credits()
            time.sleep(0.0001)  # a moment (the GIL let go): the window catches up
        wait_for_total = time.monotonic() + DEADLINE
        while got[0] < sent and time.monotonic() < wait_for_total:
            read_credits()
            time.sleep(0.001)
        time.sleep(0.05)
    finally:
        stopped = time.monotonic()  # (then nothing is left to confirm)
        window.stop()
        thread.join()
    read_credits()
    window.close(linger=0)
    router.close()
    run_ms = (stopped - started[0]) * 1000
    last = credits[-1]
    print(f"\n{sent} sent in {n} bursts, {got[0]} handed on, {len(credits)} CREDITs"
          f" in {run_ms:.0f} ms; the last {last}")
    assert got[0] == sent  # none lost: the stream never filled a queue
    assert last == {"consumed": 1 + sent // 2, "channel": sent // 2}  # all confirmed at the end
    batches = sent // _client.CREDIT_BATCH + 2
    assert len(credits) <= run_ms + batches + 10, (len(credits), run_ms)
