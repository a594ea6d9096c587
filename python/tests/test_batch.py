"""BATCH (command 25): main's small messages to a window, several to a frame
on the PUB channel, to a window whose HELLO said "batch". Its body is a run
of entries, each a 2-byte big-endian length and one channel message as it
would travel alone, without its topic; they are handed on in order, one by
one, as if each had come alone (and counted so, CREDIT "channel"). A
malformed entry drops the rest of its BATCH, what came before stands.

The entry decoder (as src/proto.c's proto_batch_next), a window against a
router played by raw sockets, and floods from a real C main (the embedded
router batches what main sends to a window 64 or more messages behind, and
its handlers' replies) to a window that reads BATCH and to one that does not."""
from __future__ import annotations

import asyncio
import logging
import queue
import time
from typing import Any, List, Optional, Tuple

import pytest

import prokit
import prokit.asyncio
from prokit import _wire as w
from prokit._client import pack, unpack
from conftest import DEADLINE, start_broker, unique, wait_for
from test_credit import credit_saying, join_async
from test_took import FakeRouter

ONE_WAY = w.ONE_WAY
TOPIC = "00000000000000d4"


def batch_frame(topic: str, entries: bytes) -> bytes:
    """A BATCH as the router publishes it: the topic, a version 2 prefix
    (id 0, empty peer), the entries inline."""
    return bytes.fromhex(topic) + w.encode_v2(w.BATCH, 0, b"", entries)[0]


def read_entries(body: bytes) -> Tuple[List[Tuple[int, int, bytes, bytes]], Optional[str]]:
    """The entries of BODY, decoded, up to the first malformed one; and why
    that one was (None: all were good)."""
    got: List[Tuple[int, int, bytes, bytes]] = []
    offset = 0
    while True:
        try:
            entry = w.batch_next(body, offset)
        except ValueError as e:
            return got, str(e)
        if entry is None:
            return got, None
        frame, offset = entry
        got.append(w.decode([frame]))


# --- the entry decoder -----------------------------------------------------------

GOOD = [
    (w.SEND, ONE_WAY | 7, b"", pack("one")),
    (w.BROADCAST, 0, b"#news", pack({"n": 2})),
    (w.REPLY, 42, b"", pack([3, "three"])),
    (w.SEND, ONE_WAY | 300, b"#news", pack("x" * 512)),  # the largest body batched
]


def test_an_entry_is_a_length_then_a_channel_message_without_its_topic():
    """Byte for byte as proto_batch_entry_encode(): a 2-byte big-endian
    length, then a version 2 first frame with its body inline."""
    body = pack("one")  # a3 'one'
    entry = w.batch_entry(w.SEND, ONE_WAY | 1, b"", body)
    frame = b"PK\x02" + bytes((w.SEND, 0x81, 1, 0)) + body
    assert entry == len(frame).to_bytes(2, "big") + frame
    assert w.batch_entry(w.BROADCAST, 0, b"#news", b"\xc0") == (
        b"\x00\x0c" + b"PK\x02" + bytes((w.BROADCAST, 0, 5)) + b"#news" + b"\xc0")
    # a body over 4096 bytes still travels inline in an entry
    big = w.batch_entry(w.SEND, ONE_WAY | 2, b"", b"\x00" * 5000)
    assert w.decode([big[2:]]) == (w.SEND, ONE_WAY | 2, b"", b"\x00" * 5000)


def test_good_entries_are_read_in_order_to_the_end():
    body = b"".join(w.batch_entry(*entry) for entry in GOOD)
    assert read_entries(body) == (GOOD, None)
    assert read_entries(b"") == ([], None)  # an empty BATCH: nothing
    # the offsets walk the body to its end, then None
    offset, seen = 0, 0
    while (entry := w.batch_next(body, offset)) is not None:
        frame, offset = entry
        seen += 1
    assert (seen, offset) == (len(GOOD), len(body))


NEVER = w.batch_entry(w.SEND, ONE_WAY | 10, b"", pack("never"))


@pytest.mark.parametrize("tail, why", [
    # a length of 0, then good entries
    (b"\x00\x00" + NEVER, "of no bytes"),
    # a length running past the body (by one byte; by far)
    (w.batch_entry(w.SEND, ONE_WAY | 9, b"", pack("cut"))[:-1], "running past"),
    (b"\xff\xff" + NEVER, "running past"),
    # a 2-byte head cut short, at the end of the body
    (b"\x00", "cut short"),
    # a BATCH inside, then good entries
    (w.batch_entry(w.BATCH, 0, b"", NEVER) + NEVER, "inside a BATCH"),
], ids=["length 0", "past the end", "far past the end", "head cut short", "nested BATCH"])
def test_a_malformed_entry_drops_the_rest_and_keeps_what_came_before(tail: bytes, why: str):
    """A length of 0, one running past the body, a 2-byte head cut short,
    a BATCH inside: what follows is not read (even good entries); the
    entries before it stand."""
    good = b"".join(w.batch_entry(*entry) for entry in GOOD[:2])
    got, error = read_entries(good + tail)
    assert got == GOOD[:2]
    assert error is not None and why in error
    # the same, alone
    got, error = read_entries(tail)
    assert got == [] and error is not None and why in error


def test_an_entry_that_is_not_a_message_is_refused_as_a_message_alone_would_be():
    """An entry well framed whose bytes are no prokit message is the
    decoder's to refuse (as a message alone on the channel), not the
    BATCH's: the entries after it are read."""
    body = b"\x00\x03xyz" + w.batch_entry(*GOOD[0])
    frame, offset = w.batch_next(body, 0)
    with pytest.raises(ValueError):
        w.decode([frame])
    assert w.batch_next(body, offset) == (w.batch_entry(*GOOD[0])[2:], len(body))


# --- a window against a router played by raw sockets --------------------------


def join(tmpdir: str, window: prokit.Window) -> Tuple[FakeRouter, bytes, dict]:
    """A router that WINDOW (not yet joined) joins, with a channel; and its HELLO."""
    router = FakeRouter(f"ipc://{tmpdir}/r.sock", f"ipc://{tmpdir}/c.sock", "a" * 16,
                        lambda: window.run(timeout=2))
    rid, hello_id, _, body = router.next(w.HELLO)
    router.welcome(rid, hello_id, window.name, TOPIC)
    router.channel_welcome(TOPIC, hello_id)
    wait_for(lambda: window.is_connected, window)
    return router, rid, unpack(body)


def sends(*payloads: Any, channel: bytes = b"") -> bytes:
    """Entries: main's SENDs of PAYLOADS (ids from 1000 + the payload)."""
    return b"".join(w.batch_entry(w.SEND, ONE_WAY | (1000 + n), channel, pack(n))
                    for n in payloads)


def test_a_window_hands_on_a_batch_s_entries_in_order_and_counts_each(tmpdir_short, caplog):
    """Entries are handed on in order, among messages that came alone,
    each counted as one read from the channel (CREDIT "channel" as if
    they had come one by one); a malformed entry drops the rest of its
    BATCH (a warning), keeps what came before; a BATCH that is not ours or
    has a peer is dropped whole; a BATCH on the DEALER is refused."""
    window = prokit.Window("rx", endpoint=f"ipc://{tmpdir_short}/r.sock", _join=False)
    got: List[Tuple[Any, Optional[str], bool]] = []
    window.on_main_message(lambda m: got.append((m.payload, m.channel, m.is_broadcast)))
    window.on("news", lambda m: got.append((m.payload, m.channel, m.is_broadcast)))
    router, rid, hello = join(tmpdir_short, window)
    assert hello["batch"] is True and hello["channel"] is True
    pub = router.pub
    caplog.set_level(logging.WARNING, logger="prokit")

    pub.send(batch_frame(TOPIC, sends(1) + w.batch_entry(w.BROADCAST, 0, b"#news", pack(2))
                         + sends(3)))
    pub.send(bytes.fromhex(TOPIC) + w.encode_v2(w.SEND, ONE_WAY | 4, b"", pack(4))[0])
    pub.send(batch_frame(TOPIC, sends(5) + w.batch_entry(w.BATCH, 0, b"", sends(-1))
                         + sends(-2)))
    pub.send(batch_frame(TOPIC, sends(6) + b"\x00\x00" + sends(-3)))
    pub.send(batch_frame(TOPIC, sends(7) + sends(-4)[:-1]))
    pub.send(batch_frame(TOPIC, sends(8) + b"\x00"))
    pub.send(batch_frame("00000000000000ff", sends(-5)))  # not our topic
    pub.send(bytes.fromhex(TOPIC) + w.encode_v2(w.BATCH, 0, b"#news", sends(-6))[0])
    router.send(rid, w.BATCH, 0, b"", sends(-7))  # on the DEALER
    pub.send(batch_frame(TOPIC, b""))  # empty: nothing
    pub.send(batch_frame(TOPIC, sends(9, channel=b"#news")))
    wait_for(lambda: len(got) >= 9, window)
    window.dispatch()
    assert got == [(1, None, False), (2, "news", True), (3, None, False), (4, None, False),
                   (5, None, False), (6, None, False), (7, None, False), (8, None, False),
                   (9, "news", False)]
    # the BATCHes read: those with our topic and no peer, the empty one too
    assert window._batches_read == 7 and window._batch_entries == 8
    credit = credit_saying(router, lambda c: c.get("channel", 0) >= 9)
    assert credit["channel"] == 9  # the nine handed on, and nothing else
    dropped = [r.getMessage() for r in caplog.records if "BATCH" in r.getMessage()]
    assert len([m for m in dropped if "dropped the rest" in m]) == 4
    assert len([m for m in dropped if "dropped a malformed BATCH" in m]) == 1
    window.close(linger=0)
    router.close()


def test_a_dispatch_that_stops_between_two_entries_leaves_the_rest_for_the_next(tmpdir_short):
    """As with messages that came alone: waiting for the second of five
    hands on two; the next dispatch, the other three (without waiting on
    the socket, which has nothing more to say)."""
    window = prokit.Window("rx", endpoint=f"ipc://{tmpdir_short}/r.sock", _join=False)
    got: List[Any] = []
    window.on_main_message(lambda m: got.append(m.payload))
    router, _, _ = join(tmpdir_short, window)
    router.pub.send(batch_frame(TOPIC, sends(1, 2, 3, 4, 5)))
    assert window.wait_for(lambda: len(got) >= 2, timeout=int(DEADLINE * 1000))
    assert got == [1, 2]
    assert window.dispatch() == 3
    assert got == [1, 2, 3, 4, 5] and window.dispatch() == 0
    window.close(linger=0)
    router.close()


def test_a_join_completed_by_a_batch_leaves_what_follows_for_the_application(tmpdir_short):
    """The router publishes the channel's WELCOME within its round: it may
    come in a BATCH, main's first messages after it. The join returns at
    the WELCOME, as if it had come alone; what follows waits for the
    application's listeners (the next dispatch)."""
    window = prokit.Window("rx", endpoint=f"ipc://{tmpdir_short}/r.sock", _join=False)
    router = FakeRouter(f"ipc://{tmpdir_short}/r.sock", f"ipc://{tmpdir_short}/c.sock",
                        "a" * 16, lambda: window.run(timeout=2))
    rid, hello_id, _, _ = router.next(w.HELLO)
    router.welcome(rid, hello_id, window.name, TOPIC)
    router.pub.send(batch_frame(TOPIC, w.batch_entry(w.WELCOME, hello_id, b"", b"\x80")
                                + sends(1, 2)))
    window._join_wait()  # as the constructor does
    assert window.is_connected and window._batch_entries == 1
    got: List[Any] = []
    window.on_main_message(lambda m: got.append(m.payload))
    assert window.dispatch() == 2 and got == [1, 2]
    credit = credit_saying(router, lambda c: c.get("channel", 0) >= 2)
    assert credit["channel"] == 2  # the WELCOME is not counted there
    window.close(linger=0)
    router.close()


def test_main_s_replies_in_a_batch_answer_requests(tmpdir_short):
    """REPLY, ERROR and PROGRESS entries end (or update) requests to main
    as they would alone."""
    window = prokit.Window("rx", endpoint=f"ipc://{tmpdir_short}/r.sock", _join=False)
    router, _, _ = join(tmpdir_short, window)
    updates: List[Any] = []
    first = window.request_async(prokit.MAIN, "a", progress=updates.append)
    second = window.request_async(prokit.MAIN, "b")
    ids = [router.next(w.REQUEST)[1] for _ in range(2)]
    assert ids == [first.id, second.id]
    router.pub.send(batch_frame(TOPIC, w.batch_entry(w.PROGRESS, first.id, b"", pack("half"))
                                + w.batch_entry(w.REPLY, first.id, b"", pack("main:a"))
                                + w.batch_entry(w.ERROR, second.id, b"",
                                                pack([-7, "failed on purpose", 42]))))
    assert first.result(timeout=int(DEADLINE * 1000)) == "main:a" and updates == ["half"]
    with pytest.raises(prokit.HandlerError) as info:
        second.result(timeout=int(DEADLINE * 1000))
    assert info.value.app_code == 42
    window.close(linger=0)
    router.close()


def test_an_asyncio_window_reads_batches(tmpdir_short):
    """On the event loop, the same entries, in order, all counted."""

    async def scenario() -> None:
        window = prokit.asyncio.Window("rx", endpoint=f"ipc://{tmpdir_short}/r.sock")
        got: List[Any] = []
        window.on_main_message(lambda m: got.append(m.payload))
        router, _ = await join_async(f"ipc://{tmpdir_short}/r.sock", tmpdir_short, window)
        topic = "00000000000000c3"  # join_async's
        router.pub.send(batch_frame(topic, sends(*range(1, 51))))
        router.pub.send(batch_frame(topic, sends(*range(51, 101))))
        credit = await asyncio.to_thread(credit_saying, router,
                                         lambda c: c.get("channel", 0) >= 100)
        assert credit["channel"] == 100 and got == list(range(1, 101))
        assert window._batches_read == 2
        window.close(linger=0)
        router.close()

    asyncio.run(scenario())


# --- a real C main -----------------------------------------------------------------

FLOOD = 20000
CHUNK = 1000
# The C main reads its commands with fgets() but polls the descriptor: what
# stdio has read ahead waits for more input. Blank lines after each chunk,
# more than stdio reads at once, so that all its commands are run.
PADDING = "\n" * 16384


class OneByOne(prokit.Window):
    """A window whose HELLO lacks "batch", as an older client's."""

    _reads_batch = False


def read_chunk(cmain, results: List[str]) -> None:
    """The C main's lines up to its answer to "windows" (the chunk's
    last command): the results of the chunk's sends in RESULTS (not kept
    in cmain.seen, which conftest's expect() reads through each time)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            line = cmain.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"the C main did not run its commands in time: {results[-3:]}")
        assert line is not None, f"the C main ended: {cmain.seen[-10:]}"
        if line.startswith(("OK send", "OK broadcast", "ERR ")):
            results.append(line)
        elif line.startswith("OK windows"):
            return
        else:
            cmain.seen.append(line)


def command_for(window: str, n: int) -> Tuple[str, Tuple[str, Optional[str], bool]]:
    """Message N of the flood: main's SENDs and BROADCASTs, on the default
    channel and on "news"; the command, and what the window gets."""
    text = f"m{n}"
    kind = n % 4
    if kind == 0:
        return f"send {window} {text}", (text, None, False)
    if kind == 1:
        return f"sendon {window} news {text}", (text, "news", False)
    if kind == 2:
        return f"broadcast {text}", (text, None, True)
    return f"broadcaston news {text}", (text, "news", True)


@pytest.mark.parametrize("reads_batch", [True, False], ids=["batch", "one-by-one"])
def test_a_flood_from_a_c_main_arrives_whole_and_in_order(cmain, reads_batch: bool):
    """20,000 SENDs and BROADCASTs (default channel and "news") from a C
    main: each chunk of 1,000 is sent while the window does not read, so
    that it falls behind and the router batches (to a window that reads
    BATCH); then the window reads the chunk. Everything arrives, in order,
    nothing twice, each counted once; a window whose HELLO lacked "batch"
    gets the same, one by one, and the router publishes no BATCH at all."""
    window = (prokit.Window if reads_batch else OneByOne)(unique("py"), endpoint=cmain.endpoint)
    try:
        cmain.expect(rf"JOINED {window.name} -")
        got: List[Tuple[str, Optional[str], bool]] = []
        window.on_main_message(lambda m: got.append((m.payload, m.channel, m.is_broadcast)))
        window.on("news", lambda m: got.append((m.payload, m.channel, m.is_broadcast)))
        expected: List[Tuple[str, Optional[str], bool]] = []
        results: List[str] = []
        stdin = cmain.popen.stdin
        for first in range(0, FLOOD, CHUNK):
            lines = []
            for n in range(first, first + CHUNK):
                line, message = command_for(window.name, n)
                lines.append(line)
                expected.append(message)
            stdin.write("\n".join(lines) + "\nwindows\n" + PADDING)
            stdin.flush()
            read_chunk(cmain, results)  # all published before the window reads any
            wait_for(lambda: len(got) >= len(expected), window)
        errors = [r for r in results if not r.startswith("OK ")]
        assert not errors and len(results) == FLOOD, errors[:5]
        window.dispatch()
        assert len(got) == FLOOD and got == expected
        assert window._taken == FLOOD  # each counted once, read from the channel
        # (the channel's WELCOME, published within the router's round,
        # came in a BATCH too: one entry more than the messages)
        batches = window.router_stats().get("batches", 0)  # 0 is left out
        if reads_batch:
            # (each, here, holds what main sent before the router's next
            # look, within a millisecond: as few as one)
            assert 0 < window._batches_read == batches <= window._batch_entries <= FLOOD + 1
        else:
            assert window._batches_read == 0 and batches == 0
    finally:
        window.close()


@pytest.mark.parametrize("reads_batch", [True, False], ids=["batch", "one-by-one"])
def test_a_c_main_s_replies_come_batched_to_a_window_that_reads_batch(cmain, reads_batch: bool):
    """Main's handlers answer within its dispatch: to a window that reads
    BATCH, those replies go out several to a BATCH; 2,000 requests in
    flight all get their own answer, in the order asked. Without "batch":
    the same answers, one by one."""
    window = (prokit.Window if reads_batch else OneByOne)(unique("py"), endpoint=cmain.endpoint)
    try:
        done: List[int] = []
        pending = [window.request_async(prokit.MAIN, f"r{n}",
                                        on_done=lambda p, n=n: done.append(n))
                   for n in range(2000)]
        wait_for(lambda: len(done) == len(pending), window)
        assert done == list(range(2000))
        assert [p.result(0) for p in pending] == [f"main:r{n}" for n in range(2000)]
        # (the channel's WELCOME, published within the router's round,
        # came in a BATCH too: one entry more than the messages)
        batches = window.router_stats().get("batches", 0)  # 0 is left out
        if reads_batch:
            # several answers to a BATCH: those of a round of main's dispatch
            assert 0 < window._batches_read == batches < window._batch_entries <= 2000 + 1
        else:
            assert window._batches_read == 0 and batches == 0
    finally:
        window.close()


@pytest.mark.parametrize("reads_batch", [True, False], ids=["batch", "one-by-one"])
def test_a_flood_through_a_broker_comes_several_to_a_batch(procs, endpoint, reads_batch: bool):
    """A Python main attached to a broker: the broker's router batches
    what main sent that it handles in one round, several entries to a
    BATCH. Everything arrives, in order, each counted once; without
    "batch", the same one by one."""
    start_broker(procs, ["-b", endpoint])
    main = prokit.Main(endpoint)
    window = (prokit.Window if reads_batch else OneByOne)(unique("py"), endpoint=endpoint)
    try:
        got: List[Tuple[str, Optional[str], bool]] = []
        window.on_main_message(lambda m: got.append((m.payload, m.channel, m.is_broadcast)))
        window.on("news", lambda m: got.append((m.payload, m.channel, m.is_broadcast)))
        wait_for(lambda: main.has_window(window.name), main)
        expected: List[Tuple[str, Optional[str], bool]] = []
        for first in range(0, FLOOD, CHUNK):
            for n in range(first, first + CHUNK):
                text, channel, broadcast = command_for(window.name, n)[1]
                if broadcast:
                    main.broadcast(text, channel=channel)
                else:
                    main.send(window.name, text, channel=channel)
                expected.append((text, channel, broadcast))
            wait_for(lambda: len(got) >= len(expected), window, main)
        window.dispatch()
        assert len(got) == FLOOD and got == expected
        assert window._taken == FLOOD
        # (the channel's WELCOME may have come in a BATCH too)
        batches = window.router_stats().get("batches", 0)
        if reads_batch:
            assert 0 < window._batches_read == batches < window._batch_entries <= FLOOD + 1
        else:
            assert window._batches_read == 0 and batches == 0
    finally:
        window.close()
        main.close()
