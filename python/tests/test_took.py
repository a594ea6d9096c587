"""Window -> window SENDs through a router that dies and is replaced
(PROTOCOL.md section 10, "When the router itself goes"): the tallies'
arithmetic, and a window's HELLO against a router played by raw sockets."""
from __future__ import annotations

import time
from typing import Callable, List, Optional, Tuple

import zmq

import prokit
from prokit import _wire as w
from prokit._client import pack, unpack
from prokit._tally import Tallies
from conftest import DEADLINE, wait_for

TOKEN = "0123456789abcdef"
OTHER = "fedcba9876543210"
ONE_WAY = w.ONE_WAY


# --- the arithmetic (as tests/test_account.c) ----------------------------------


class Reports:
    """What a Tallies reported, per window."""

    def __init__(self) -> None:
        self.counts: dict = {}

    def __call__(self, window: str, count: int) -> None:
        assert count > 0
        self.counts[window] = self.counts.get(window, 0) + count

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
    tallies, reports = tallies_of_twenty(18), Reports()
    tallies.await_took(5000, reports)
    tallies.settle(reports)  # never back: settled at the deadline
    assert reports.counts == {"w": 13, "v": 1} and tallies.deadline == 0
    # nothing named, but RECEIPTs came: nothing waits
    tallies, reports = Tallies(), Reports()
    tallies.sent("v", 1)
    tallies.confirmed("v", 0)
    assert not tallies.await_took(5000, reports)
    assert reports.counts == {"v": 1}


def unheard_took(first: int, refused: bool) -> int:
    """20 sent to W (ids 101 to 120), no RECEIPT about W at all; W says it
    took in 7 of ours, the first of them FIRST. With REFUSED, an ERROR was
    about our first. What is reported to W."""
    tallies, reports = Tallies(), Reports()
    for msg_id in range(101, 121):
        tallies.sent("w", msg_id)
    if refused:
        tallies.reported("w", 1, 101)
    assert tallies.await_took(5000, reports)
    assert reports.get("w") == 0  # it waits for W
    assert tallies.took("w", TOKEN, 7, first, reports)
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
    # a RECEIPT came that named no session: W cannot say, reported at once
    tallies, reports = Tallies(), Reports()
    for msg_id in range(101, 121):
        tallies.sent("w", msg_id)
    tallies.confirmed("w", 0)
    assert not tallies.await_took(5000, reports)
    assert reports.get("w") == 20
    # a later RECEIPT that names no session undoes the one that did
    tallies, reports = tallies_of_twenty(18), Reports()
    tallies.confirmed("w", 6)
    assert not tallies.await_took(5000, reports)
    assert reports.counts == {"w": 12, "v": 1}


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
