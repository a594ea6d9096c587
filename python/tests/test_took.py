"""Window -> window SENDs through a router that dies and is replaced
(PROTOCOL.md section 10, "When the router itself goes"): the tallies'
arithmetic, a window's HELLO and TOOK against a router played by raw
sockets, and a flood through a broker killed and started again."""
from __future__ import annotations

import asyncio
import mmap
import os
import struct
import time
from typing import Callable, List, Optional, Tuple

import pytest
import zmq

import prokit
import prokit.asyncio
from prokit import _wire as w
from prokit._client import pack, unpack
from prokit._tally import NOT_TAKEN, UNCONFIRMED, Tallies
from prokit.errors import ECLOSED, EUNCONFIRMED
from conftest import DEADLINE, binary, start_broker, unique, wait_for

TOKEN = "0123456789abcdef"
OTHER = "fedcba9876543210"
ONE_WAY = w.ONE_WAY


# --- the arithmetic (as tests/test_account.c) ----------------------------------


class Reports:
    """What a Tallies reported, per window; UNCONFIRMED: how many of them
    with EUNCONFIRMED (nobody could say), CODES: (window, count, code)."""

    def __init__(self) -> None:
        self.counts: dict = {}
        self.unconfirmed = 0
        self.codes: List[Tuple[str, int, int]] = []

    def __call__(self, window: str, count: int, code: int, why: str) -> None:
        assert count > 0
        # the window said it did not take them in, or nobody could say
        assert (code, why) in ((ECLOSED, NOT_TAKEN), (EUNCONFIRMED, UNCONFIRMED))
        if code == EUNCONFIRMED:
            self.unconfirmed += count
        self.counts[window] = self.counts.get(window, 0) + count
        self.codes.append((window, count, code))

    def get(self, window: str) -> int:
        return self.counts.get(window, 0)


def tallies_of_twenty(session_queued: int) -> Tallies:
    """Sent 20 to W, 5 confirmed, 2 reported; the last RECEIPT said 18 were
    queued to W, SESSION_QUEUED from our name to its session. One sent to V,
    whose RECEIPTs named no session (off the channel, or a pool)."""
    tallies = Tallies()
    for msg_id in range(1, 21):
        tallies.sent("w", msg_id)
    tallies.sent("v", 21)
    tallies.confirmed("v", 0)
    tallies.confirmed("w", 5)
    tallies.session("w", 18, TOKEN, session_queued)
    tallies.reported("w", 2, 0)
    return tallies


def test_tally_named_session_subtracts_what_the_window_took_in():
    tallies = tallies_of_twenty(18)
    reports = Reports()
    # V cannot say: reported now; W waits
    assert tallies.await_took(5000, reports)
    assert reports.counts == {"v": 1} and tallies.deadline == 5000
    assert not tallies.took("v", TOKEN, 1, 0, reports)  # not waited for: W still is
    # W took in 10: 5 more than confirmed; of the 13 missing, 8 are reported
    assert tallies.took("w", TOKEN, 10, 0, reports)
    assert reports.get("w") == 8 and tallies.deadline == 0
    assert reports.unconfirmed == 1  # V's: it cannot say; W said
    # W's session also held 12 of an earlier session of ours: its 25 are our 13
    tallies, reports = tallies_of_twenty(30), Reports()
    tallies.await_took(5000, reports)
    assert tallies.took("w", TOKEN, 25, 0, reports)
    assert reports.get("w") == 5
    # it took in more than is missing: nothing reported, never less than 0
    tallies, reports = tallies_of_twenty(18), Reports()
    tallies.await_took(5000, reports)
    assert tallies.took("w", TOKEN, 100, 0, reports)
    assert reports.get("w") == 0


def test_tally_another_session_or_none_in_time_has_everything_reported():
    tallies, reports = tallies_of_twenty(18), Reports()
    tallies.await_took(5000, reports)
    assert tallies.took("w", OTHER, 10, 1, reports)  # back with another session
    assert reports.get("w") == 13
    assert reports.unconfirmed == 14  # W's 13 and V's 1: nobody could say
    tallies, reports = tallies_of_twenty(18), Reports()
    tallies.await_took(5000, reports)
    tallies.settle(reports)  # never back: settled at the deadline
    assert reports.counts == {"w": 13, "v": 1} and tallies.deadline == 0
    assert reports.unconfirmed == 14
    # nothing named, but RECEIPTs came: nothing waits
    tallies, reports = Tallies(), Reports()
    tallies.sent("v", 1)
    tallies.confirmed("v", 0)
    assert not tallies.await_took(5000, reports)
    assert reports.counts == {"v": 1}


def unheard_took(first: int, refused: bool) -> int:
    """20 sent to W (ids 101 to 120), no RECEIPT about W at all; W says it
    took in 7 of ours, the first of them FIRST. With REFUSED, an ERROR was
    about our first. What is reported to W (with ECLOSED when its word was
    taken, else EUNCONFIRMED)."""
    tallies, reports = Tallies(), Reports()
    for msg_id in range(101, 121):
        tallies.sent("w", msg_id)
    if refused:
        tallies.reported("w", 1, 101)
    assert tallies.await_took(5000, reports)
    assert reports.get("w") == 0  # it waits for W
    assert tallies.took("w", TOKEN, 7, first, reports)
    taken = first == 101 and not refused
    assert reports.unconfirmed == (0 if taken else reports.get("w"))
    return reports.get("w")


def test_tally_unnamed_takes_the_word_of_a_window_that_took_our_first():
    assert unheard_took(101, False) == 13   # from our first: 7 of 20 taken
    assert unheard_took(102, False) == 20   # another first: which it took is not known
    assert unheard_took(0, False) == 20     # it did not say
    # our first refused: W cannot have taken it; its word is about another
    # process's SENDs under our name; the 19 not reported are
    assert unheard_took(101, True) == 19


def test_tally_back_with_nothing_said_and_heard_unnamed():
    tallies, reports = Tallies(), Reports()
    for msg_id in range(101, 121):
        tallies.sent("w", msg_id)
    assert tallies.await_took(5000, reports)
    # W joined the router we are in and said nothing of ours
    assert not tallies.back("v", reports)  # not waited for
    assert tallies.back("w", reports)
    assert reports.get("w") == 20 and tallies.deadline == 0
    assert reports.unconfirmed == 20  # said nothing: nobody could say
    # a RECEIPT came that named no session: W cannot say, reported at once
    tallies, reports = Tallies(), Reports()
    for msg_id in range(101, 121):
        tallies.sent("w", msg_id)
    tallies.confirmed("w", 0)
    assert not tallies.await_took(5000, reports)
    assert reports.get("w") == 20
    assert reports.unconfirmed == 20
    # a later RECEIPT that names no session undoes the one that did
    tallies, reports = tallies_of_twenty(18), Reports()
    tallies.confirmed("w", 6)
    assert not tallies.await_took(5000, reports)
    assert reports.counts == {"w": 12, "v": 1}


def test_tally_report_is_eclosed_only_where_the_window_said_what_it_took_in():
    """The code of each report (as src/tally.c): a TOOK that is taken (its
    session named, or from our first) reports the rest with ECLOSED ("not
    taken in"); every other report, EUNCONFIRMED ("not confirmed"): a
    window that cannot say (V), is back having said nothing (Q), spoke of
    a session not known to hold ours (X), or did not say in time (Y)."""
    tallies, reports = Tallies(), Reports()
    for window, first in (("w", 1), ("u", 11), ("x", 21), ("v", 31), ("q", 41), ("y", 51)):
        for msg_id in range(first, first + 10):
            tallies.sent(window, msg_id)
    for window in ("w", "x"):
        tallies.confirmed(window, 2)
        tallies.session(window, 10, TOKEN, 10)
    tallies.confirmed("v", 0)                      # its RECEIPT named no session
    assert tallies.await_took(5000, reports)
    assert reports.codes == [("v", 10, EUNCONFIRMED)]
    assert not tallies.took("w", TOKEN, 6, 0, reports)   # named: 4 past the 2 confirmed
    assert not tallies.took("u", OTHER, 3, 11, reports)  # from our first: 3 of ours
    assert not tallies.took("x", OTHER, 6, 0, reports)   # not the session named
    assert not tallies.back("q", reports)                # back, nothing said
    tallies.settle(reports)                              # y: the deadline
    assert reports.codes == [("v", 10, EUNCONFIRMED), ("w", 4, ECLOSED), ("u", 7, ECLOSED),
                             ("x", 8, EUNCONFIRMED), ("q", 10, EUNCONFIRMED),
                             ("y", 10, EUNCONFIRMED)]


# --- a window against a router played by raw sockets ----------------------------


class FakeRouter:
    """A ROUTER and an XPUB channel standing in for the router, each message
    written by the test. PUMP dispatches the window while the test waits on
    these sockets (None: the window runs elsewhere, an event loop)."""

    def __init__(self, endpoint: str, channel: str, instance: str,
                 pump: Optional[Callable[[], object]]) -> None:
        ctx = zmq.Context.instance()
        self.router = ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.bind(endpoint)
        self.pub = ctx.socket(zmq.XPUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.bind(channel)
        self.channel = channel
        self.instance = instance
        self.pump = pump

    def _ready(self, sock: zmq.Socket) -> None:
        deadline = time.monotonic() + DEADLINE
        while not sock.poll(0 if self.pump else 50):
            assert time.monotonic() < deadline, "nothing came to the fake router"
            if self.pump is not None:
                self.pump()

    def next(self, command: int) -> Tuple[bytes, int, bytes, bytes]:
        """The next COMMAND the window sends (others are passed over):
        (routing id, id, peer, body)."""
        while True:
            self._ready(self.router)
            frames = self.router.recv_multipart()
            cmd, msg_id, peer, body = w.decode(frames[1:])
            if cmd == command:
                return frames[0], msg_id, peer, body

    def send(self, rid: bytes, command: int, msg_id: int = 0, peer: bytes = b"",
             body: bytes = b"") -> None:
        self.router.send_multipart([rid] + w.encode_v2(command, msg_id, peer, body))

    def welcome(self, rid: bytes, hello_id: int, name: str, topic: Optional[str]) -> None:
        """WELCOME; with TOPIC, the channel too, once the window's SUB has
        subscribed (the join then completes with channel_welcome())."""
        welcome = {"max_payload": 1 << 20, "heartbeat_ms": 1000, "version": 2}
        if topic:
            welcome.update({"channel": self.channel, "topic": topic})
        welcome["instance"] = self.instance
        self.router.send_multipart([rid] + w.encode_v1(w.WELCOME, hello_id, name.encode(),
                                                       pack(welcome)))
        if topic:
            self._ready(self.pub)
            assert self.pub.recv() == b"\x01" + bytes.fromhex(topic)

    def channel_welcome(self, topic: str, hello_id: int) -> None:
        self.pub.send(bytes.fromhex(topic) + w.encode_v2(w.WELCOME, hello_id, b"", b"\x80")[0])

    def close(self) -> None:
        self.router.close(0)
        self.pub.close(0)


def test_a_window_back_says_what_it_took_from_each_sender(tmpdir_short):
    """The HELLO after a loss says, per sender, how many SENDs the lost
    session took in from the DEALER and the first one's id (last_from, 32
    senders at most); a sender whose ids go back is another process under
    the name, counted afresh."""
    ep, chan_a, chan_b = (f"ipc://{tmpdir_short}/{n}.sock" for n in ("r", "ca", "cb"))
    topic_a = "00000000000000a1"
    window = prokit.Window("rx", endpoint=ep, _join=False)
    got: List[Tuple[str, object]] = []
    window.on_window_message(lambda m: got.append((m.sender, m.payload)))
    window.on("news", lambda m: got.append((m.sender, m.payload)))
    a = FakeRouter(ep, chan_a, "a" * 16, lambda: window.run(timeout=2))
    rid, hello_id, _, body = a.next(w.HELLO)
    assert "last_from" not in unpack(body)
    a.welcome(rid, hello_id, "rx", topic_a)
    a.channel_welcome(topic_a, hello_id)
    wait_for(lambda: window.is_connected, window)
    # "x" sends 5, then another "x" (its ids go back) 2; "y" 1 on a channel;
    # then 40 others, 1 each
    for n in (1, 2, 3, 4, 5, 1, 2):
        a.send(rid, w.SEND, ONE_WAY | n, b"x", pack(n))
    a.send(rid, w.SEND, ONE_WAY | 7, b"y#news", pack("y"))
    for n in range(40):
        a.send(rid, w.SEND, ONE_WAY | 1, b"s%d" % n, pack(n))
    wait_for(lambda: len(got) == 48, window)
    a.close()
    wait_for(lambda: not window.is_connected, window)

    b = FakeRouter(ep, chan_b, "b" * 16, lambda: window.run(timeout=2))
    _, _, peer, body = b.next(w.HELLO)
    hello = unpack(body)
    assert peer == b"rx" and hello["last_topic"] == topic_a and hello["last_count"] == 0
    assert hello["last_dealer"] == 49  # the WELCOME and the 48
    last_from = hello["last_from"]
    assert len(last_from) == 32
    assert last_from["x"] == [2, ONE_WAY | 1] and last_from["y"] == [1, ONE_WAY | 7]
    assert last_from["s0"] == [1, ONE_WAY | 1]
    window.close(linger=0)
    b.close()


def test_a_window_takes_tooks_before_its_join_completes(tmpdir_short):
    """A window sends to four, then its router goes; another welcomes it:
    the one whose session a RECEIPT named and the one no RECEIPT was about
    say (TOOK) what they took in, ahead of the channel's WELCOME (as a
    router sends a TOOK when the sender's join completes); one that cannot
    say is reported at once; one back with nothing said, at its RECEIPT."""
    ep, chan_a, chan_b = (f"ipc://{tmpdir_short}/{n}.sock" for n in ("r", "ca", "cb"))
    topic_a, topic_b = "00000000000000a1", "00000000000000b2"
    window = prokit.Window("tx", endpoint=ep, _join=False)
    reports: List[Tuple[str, int, str]] = []
    window.on_undelivered(lambda target, error: reports.append((target, error.code, error.text)))
    connection: List[bool] = []
    window.on_connection(lambda connected, error: connection.append(connected))
    a = FakeRouter(ep, chan_a, "a" * 16, lambda: window.run(timeout=2))
    rid, hello_id, _, body = a.next(w.HELLO)
    assert unpack(body)["took"] is True
    a.welcome(rid, hello_id, "tx", topic_a)
    a.channel_welcome(topic_a, hello_id)
    wait_for(lambda: window.is_connected, window)
    # 10 to r (its session named), 4 to v (off the channel), 3 to q and 2
    # to u (no RECEIPT about either)
    for target, count in (("r", 10), ("v", 4), ("q", 3), ("u", 2)):
        for i in range(count):
            window.send(target, i)
    first = {}
    for _ in range(19):
        _, msg_id, peer, _ = a.next(w.SEND)
        first.setdefault(peer, msg_id)
    # r: 3 confirmed, 8 queued, its session queued 12 from our name (4 of
    # an earlier session of ours ahead of ours)
    a.send(rid, w.RECEIPT, 0, b"", pack({"r": [3, 8, TOKEN, 12], "v": 1}))
    wait_for(lambda: window.unconfirmed("r") == 7 and window.unconfirmed("v") == 3, window)
    a.close()
    wait_for(lambda: connection == [False], window)

    b = FakeRouter(ep, chan_b, "b" * 16, lambda: window.run(timeout=2))
    rid, hello_id, _, _ = b.next(w.HELLO)
    b.welcome(rid, hello_id, "tx", topic_b)
    # another router: v cannot say, reported at once; the others wait
    wait_for(lambda: len(reports) == 3, window)
    assert reports == [("v", EUNCONFIRMED, "not confirmed before the router went away")] * 3
    # r took in 9 of its session's: our 5, 2 past the 3 confirmed; of the 7
    # missing, 5 are reported. u took in 1 of ours, the first: 1 reported.
    b.send(rid, w.TOOK, 0, b"r", pack({"token": TOKEN, "count": 9, "first": ONE_WAY | 99}))
    b.send(rid, w.TOOK, 0, b"u", pack({"token": OTHER, "count": 1, "first": first[b"u"]}))
    wait_for(lambda: len(reports) == 9, window)
    assert not window.is_connected  # still joining: the TOOKs were taken all the same
    assert sorted(r[0] for r in reports[3:]) == ["r"] * 5 + ["u"]
    # both said what they took in: the rest was not
    assert {r[1:] for r in reports[3:]} == {(ECLOSED, "not taken in before the router went away")}
    b.channel_welcome(topic_b, hello_id)
    wait_for(lambda: connection == [False, True], window)
    # q has joined this router and said nothing of ours: all 3 reported
    b.send(rid, w.RECEIPT, 0, b"", pack({"q": 0}))
    wait_for(lambda: len(reports) == 12, window)
    assert [r[0] for r in reports[9:]] == ["q"] * 3
    assert {r[1] for r in reports[9:]} == {EUNCONFIRMED}  # it said nothing of ours
    assert window._settling is None
    window.close(linger=0)
    b.close()


def test_what_no_window_says_in_time_is_reported_at_the_deadline(tmpdir_short, monkeypatch):
    """asyncio: the end of the wait for TOOK comes from the event loop's
    timer, with nothing else arriving."""
    wait_ms = 300
    monkeypatch.setattr(prokit._client, "TOOK_WAIT_MS", wait_ms)
    ep = f"ipc://{tmpdir_short}/r.sock"

    async def scenario() -> None:
        window = prokit.asyncio.Window("tx", endpoint=ep)
        reported = asyncio.Event()
        reports: List[Tuple[str, int]] = []

        def undelivered(target: str, error: prokit.ProkitError) -> None:
            reports.append((target, error.code))
            if len(reports) == 2:
                reported.set()

        window.on_undelivered(undelivered)
        a = FakeRouter(ep, f"ipc://{tmpdir_short}/ca.sock", "a" * 16, None)
        rid, hello_id, _, _ = await asyncio.to_thread(a.next, w.HELLO)
        a.welcome(rid, hello_id, "tx", None)  # off the channel: joined at once
        await window.join()
        window.send("r", 1)  # no RECEIPT about r: r could say what it took in
        window.send("r", 2)
        for _ in range(2):
            await asyncio.to_thread(a.next, w.SEND)
        a.close()
        b = FakeRouter(ep, f"ipc://{tmpdir_short}/cb.sock", "b" * 16, None)
        rid, hello_id, _, _ = await asyncio.to_thread(b.next, w.HELLO)
        b.welcome(rid, hello_id, "tx", None)
        welcomed = time.monotonic()
        await asyncio.wait_for(reported.wait(), DEADLINE)
        assert time.monotonic() - welcomed >= wait_ms / 1000 * 0.9
        assert reports == [("r", EUNCONFIRMED)] * 2  # r did not say in time
        window.close(linger=0)
        b.close()

    asyncio.run(scenario())


def test_the_router_s_unconfirmed_reports_reach_the_application_as_they_came(tmpdir_short):
    """The router settles a lost session without the window's word
    (PROKIT_EUNCONFIRMED, -20): ERRORs with that code, about several (the
    one-way bit alone, app_code the count) or one, reach the undelivered
    callback with their code and text, one call per message; ECLOSED ones
    as ECLOSED."""
    ep = f"ipc://{tmpdir_short}/r.sock"
    window = prokit.Window("tx", endpoint=ep, _join=False)
    reports: List[Tuple[str, type, int, str]] = []
    window.on_undelivered(lambda target, error: reports.append(
        (target, type(error), error.code, error.text)))
    a = FakeRouter(ep, f"ipc://{tmpdir_short}/ca.sock", "a" * 16, lambda: window.run(timeout=2))
    rid, hello_id, _, _ = a.next(w.HELLO)
    a.welcome(rid, hello_id, "tx", None)  # off the channel: joined at once
    wait_for(lambda: window.is_connected, window)
    for n in range(5):
        window.send("r", n)
    maybe = "3 message(s) to 'r' were not confirmed taken in: connection lost"
    not_taken = "1 message(s) to 'r' were not taken in: connection lost"
    a.send(rid, w.ERROR, ONE_WAY, b"r", pack([EUNCONFIRMED, maybe, 3]))
    a.send(rid, w.ERROR, ONE_WAY | 4, b"r", pack([EUNCONFIRMED, "one", 0]))
    a.send(rid, w.ERROR, ONE_WAY, b"r", pack([ECLOSED, not_taken, 1]))
    wait_for(lambda: len(reports) == 5, window)
    assert reports == ([("r", prokit.UnconfirmedError, EUNCONFIRMED, maybe)] * 3
                       + [("r", prokit.UnconfirmedError, EUNCONFIRMED, "one"),
                          ("r", prokit.ClosedError, ECLOSED, not_taken)])
    assert window.unconfirmed("r") == 0
    window.close(linger=0)
    a.close()


# --- a flood through a broker killed -9 and started again -----------------------

TOTAL = 16000
WINDOW = 3500  # unconfirmed at most: the receiver's credit (4000) is never met


@pytest.mark.parametrize("receiver_kind", ["c", "python"])
def test_a_flood_through_a_broker_killed_and_restarted_is_received_or_reported(
        procs, tmpdir_short, receiver_kind):
    """A Python window floods another (a C counter, or a Python window); at
    half, the broker is killed -9 and started again. Every SEND accepted is
    received or reported, exactly: the receiver, back, says what it took in
    (last_from), the new broker tells the sender (TOOK), and the sender
    reports only the rest."""
    ep = f"ipc://{tmpdir_short}/broker.sock"
    broker = start_broker(procs, ["-b", ep])
    sender = prokit.Window(unique("tx"), endpoint=ep)
    connection: List[bool] = []
    sender.on_connection(lambda connected, error: connection.append(connected))
    reports: List[str] = []
    sender.on_undelivered(lambda target, error: reports.append(target))
    handles = [sender]
    counts = None
    if receiver_kind == "c":
        name = unique("c")
        path = os.path.join(tmpdir_short, "counts")
        procs([binary("tests", "prokit-test-peer"), "counter", name, ep, path]).expect("READY")
        with open(path, "rb") as f:
            counts = mmap.mmap(f.fileno(), 16, mmap.MAP_SHARED, mmap.PROT_READ)
        received = lambda: struct.unpack_from("=Q", counts, 8)[0]  # noqa: E731 (windows' SENDs)
    else:
        receiver = prokit.Window(unique("rx"), endpoint=ep)
        name = receiver.name
        got = [0]

        def count(message: prokit.Message) -> None:
            got[0] += 1

        receiver.on_window_message(count)
        received = lambda: got[0]  # noqa: E731
        handles.append(receiver)

    def pump() -> None:
        for handle in handles:
            handle.run(timeout=1)

    accepted, struck = 0, False
    deadline = time.monotonic() + 60
    while accepted < TOTAL:
        assert time.monotonic() < deadline, f"the flood stalled at {accepted}"
        if not sender.is_connected or sender.unconfirmed(name) >= WINDOW:
            pump()
            continue
        try:
            sender.send(name, accepted)
        except (prokit.AgainError, prokit.ClosedError):
            pump()  # not accepted: sent again
            continue
        accepted += 1
        if accepted % 500 == 0:
            for handle in handles:
                handle.dispatch()
        if not struck and accepted == TOTAL // 2:
            broker.kill()
            broker = start_broker(procs, ["-b", ep])
            struck = True
    settled = lambda: received() + len(reports) >= accepted  # noqa: E731
    wait_for(lambda: connection[-1:] == [True] and sender._settling is None and settled(),
             *handles, timeout=45)
    # One more SEND, then a PING: once the one is received (or reported) and
    # the PONG is back, nothing of the flood is still on its way (the order
    # of each pair of clients is kept).
    sender.send(name, "last")
    accepted += 1
    wait_for(settled, *handles)
    assert sender.ping(5000)
    assert connection == [False, True]
    assert set(reports) <= {name}
    assert received() + len(reports) == accepted, (
        f"{accepted} accepted, {received()} received + {len(reports)} reported")
    for handle in handles:
        handle.close()
    if counts is not None:
        counts.close()


def test_sends_taken_in_while_a_rejoin_completes_are_handed_on_if_it_is_lost(tmpdir_short):
    """SENDs that come between a rejoin's WELCOME and the channel's are kept
    until the join completes; if it is lost in between, they were taken in
    all the same (the next HELLO says so): the application gets them, ahead
    of the loss, rather than nobody."""
    ep = f"ipc://{tmpdir_short}/r.sock"
    chans = [f"ipc://{tmpdir_short}/c{n}.sock" for n in range(3)]
    topic = "00000000000000b2"
    window = prokit.Window("rx", endpoint=ep, _join=False)
    got: List[object] = []
    window.on_window_message(lambda m: got.append(m.payload))
    a = FakeRouter(ep, chans[0], "a" * 16, lambda: window.run(timeout=2))
    rid, hello_id, _, _ = a.next(w.HELLO)
    a.welcome(rid, hello_id, "rx", topic)
    a.channel_welcome(topic, hello_id)
    wait_for(lambda: window.is_connected, window)
    a.close()
    wait_for(lambda: not window.is_connected, window)

    # B welcomes it on the DEALER, sends it three SENDs, and goes before
    # its channel's WELCOME.
    b = FakeRouter(ep, chans[1], "b" * 16, lambda: window.run(timeout=2))
    rid, hello_id, _, _ = b.next(w.HELLO)
    b.welcome(rid, hello_id, "rx", topic)
    for n in (1, 2, 3):
        b.send(rid, w.SEND, ONE_WAY | n, b"x", pack(n))
    b.send(rid, w.PING, 77)
    b.next(w.PONG)  # it read the three before the PING
    assert got == []  # kept until the join completes
    b.close()

    c = FakeRouter(ep, chans[2], "c" * 16, lambda: window.run(timeout=2))
    _, _, _, body = c.next(w.HELLO)
    assert got == [1, 2, 3]
    assert unpack(body)["last_from"] == {"x": [3, ONE_WAY | 1]}
    window.close(linger=0)
    c.close()
