"""Main -> windows through a router that dies and is replaced (PROTOCOL.md
section 10, "When the router itself goes"): the account's arithmetic (as
tests/test_account.c), a main's HELLO, ACCOUNTs, ERRORs and JOINEDs against
a router played by raw sockets, and a flood through a broker killed and
started again."""
from __future__ import annotations

import asyncio
import mmap
import os
import signal
import struct
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest

import prokit
import prokit.asyncio
from prokit import _wire as w
from prokit._account import BROADCAST_UNHANDLED, NOT_TAKEN, UNCONFIRMED, UNHANDLED, Account
from prokit._client import pack, unpack
from prokit.errors import EAGAIN, ECLOSED, EPROTO, EUNCONFIRMED
from conftest import DEADLINE, binary, start_broker, unique, wait_for
from test_took import FakeRouter  # the router played by raw sockets, here main's

TOKEN = "0123456789abcdef"
OTHER = "fedcba9876543210"
ONE_WAY = w.ONE_WAY


# --- the arithmetic (as tests/test_account.c) ----------------------------------


class Reports:
    """What an Account reported, per target, and the calls; UNCONFIRMED:
    how many of them with EUNCONFIRMED (nobody could say)."""

    def __init__(self) -> None:
        self.counts: Dict[str, int] = {}
        self.calls: List[Tuple[str, int, str]] = []
        self.codes: List[Tuple[str, int, int, str]] = []
        self.unconfirmed = 0

    def __call__(self, target: str, count: int, code: int, why: str) -> None:
        assert count > 0
        assert code in (ECLOSED, EUNCONFIRMED)
        if target:
            # a window's published messages: "not taken in" when it said
            # so, "not confirmed" when nobody could say
            assert why == UNHANDLED or why == (NOT_TAKEN if code == ECLOSED else UNCONFIRMED)
        else:
            assert why == BROADCAST_UNHANDLED
        if code == EUNCONFIRMED:
            self.unconfirmed += count
        self.counts[target] = self.counts.get(target, 0) + count
        self.calls.append((target, count, why))
        self.codes.append((target, count, code, why))

    def get(self, target: str) -> int:
        return self.counts.get(target, 0)


def update(account: Account, handled: int, published: int, settled: int,
           token: Optional[str], session_published: int) -> None:
    """An ACCOUNT as the router writes it: HANDLED, and window W's counts
    with its session (TOKEN None: none)."""
    body: Dict[str, Any] = {"handled": handled, "windows": {"w": [published, settled]}}
    if token is not None:
        body["sessions"] = {"w": [token, session_published]}
    assert account.update(body)


def sent(account: Account, target: str, first: int, last: int) -> None:
    for n in range(first, last + 1):
        account.sent(target, ONE_WAY | n)


def awaiting_w(account: Account, first: int = 1, last: int = 20) -> Account:
    """Main sent W FIRST..LAST; the router handled 10 (published them all
    to W, which confirmed 4) and died: ACCOUNT waits for W."""
    sent(account, "w", first, last)
    update(account, 10, 10, 4, TOKEN, 10)
    assert account.await_windows(5000)
    return account


def test_what_the_window_says_it_took_in_is_not_reported():
    """Main sent W 1..20; the router handled 10 (published them all to W,
    which confirmed 4) and died. W says its session took in 12: the 10
    published, and 2 of those handled after the last ACCOUNT. 8 are
    reported, the oldest 12 not."""
    account = Account()
    awaiting_w(account)
    assert account.deadline == 5000
    assert account.window_back("w", TOKEN, 12)  # nobody left to wait for
    reports = Reports()
    account.settle(reports)
    # the 6 published and not settled were taken in, and 2 of the unhandled
    assert reports.calls == [("w", 8, UNHANDLED)]
    assert reports.unconfirmed == 0  # it said: ECLOSED
    assert account.deadline == 0 and not account.unhandled and not account.windows


def test_a_window_back_with_another_session_has_everything_reported():
    """The same, but W comes back with another session (or never): it
    cannot say, and everything not settled is reported: 6 published, 10
    unhandled."""
    account = Account()
    awaiting_w(account)
    assert account.window_back("w", OTHER, 12)
    reports = Reports()
    account.settle(reports)
    assert reports.calls == [("w", 6, UNCONFIRMED), ("w", 10, UNHANDLED)]
    assert reports.unconfirmed == 16  # nobody could say: EUNCONFIRMED
    # never back: the same at the deadline
    awaiting_w(account, 21, 40)
    assert not account.window_back("v", TOKEN, 12)  # not one it waits for
    reports = Reports()
    account.settle(reports)
    assert reports.get("w") == 16
    assert reports.unconfirmed == 16
    # back with no session said (a JOINED without last_token): the same
    account = Account()
    awaiting_w(account)
    assert account.window_back("w", "", 0)
    reports = Reports()
    account.settle(reports)
    assert reports.get("w") == 16
    assert reports.unconfirmed == 16


def test_a_session_older_than_main_is_numbered_from_main_s_first():
    """W's session began before main's: it had been published 100 messages
    of an earlier main. Its count 103 is main's third."""
    account = Account()
    sent(account, "w", 1, 5)
    update(account, 5, 5, 1, TOKEN, 105)
    assert account.await_windows(5000)
    assert account.window_back("w", TOKEN, 103)
    reports = Reports()
    account.settle(reports)
    assert reports.get("w") == 2
    assert reports.codes == [("w", 2, ECLOSED, NOT_TAKEN)]


def test_an_error_accounts_for_its_message_alone():
    """An ERROR about message 12: it was handled; the ACCOUNT after it says
    11 was too. 13..19 are what was not, and no window was there; 20 was
    refused by the next router, ahead of the HELLO."""
    account = Account()
    sent(account, "w", 1, 20)
    update(account, 10, 0, 0, None, 0)
    account.refused(ONE_WAY | 12)
    update(account, 12, 0, 0, None, 0)  # says what the ERROR said: nothing forgotten twice
    account.refused(ONE_WAY | 20)       # refused by the next router, ahead of the HELLO
    assert not account.await_windows(5000)  # no window on the channel to wait for
    reports = Reports()
    account.settle(reports)
    assert reports.counts == {"w": 7}
    assert reports.calls == [("w", 7, UNHANDLED)]
    # W never said: the router may have handled them after its last ACCOUNT
    assert reports.codes == [("w", 7, EUNCONFIRMED, UNHANDLED)]


def settled_after_refusal(before: bool, took: int) -> int:
    """Main sent W 1..20; the router refused 13 (an ERROR), with an ACCOUNT
    before it (10 handled, all published to W's session, 4 confirmed) or
    after it (13 handled, 12 published and confirmed). The router dies; W,
    back, says its session took in TOOK. What is reported to W."""
    account = Account()
    sent(account, "w", 1, 20)
    if before:
        update(account, 10, 10, 4, TOKEN, 10)
    account.refused(ONE_WAY | 13)
    if before:
        account.refused(ONE_WAY | 13)  # twice: nothing more
        account.refused(ONE_WAY | 3)   # counted by the ACCOUNT: nothing
    else:
        update(account, 13, 12, 12, TOKEN, 12)
    assert account.await_windows(5000)
    assert account.window_back("w", TOKEN, took)
    reports = Reports()
    account.settle(reports)
    return reports.get("w")


def test_those_before_an_error_were_published():
    """Those before an ERROR were published: W, back, says it took in 12,
    and 11 and 12 are among them; 14..20 are reported, 7."""
    assert settled_after_refusal(True, 12) == 7
    # The same, but W took in 11 only: 12 and 14..20 are reported.
    assert settled_after_refusal(True, 11) == 8
    # The next ACCOUNT, had it come, counts 11..13 handled, nothing twice.
    assert settled_after_refusal(False, 12) == 7


def test_broadcasts_are_received_when_every_window_took_them():
    """Broadcasts not handled: received if every window on the channel took
    them in; W took both, V (off the channel: no session) is not asked. A
    reported count from the router lowers what is still unsettled."""
    account = Account()
    sent(account, "", 1, 6)
    sent(account, "v", 7, 7)
    sent(account, "", 8, 8)
    update(account, 4, 4, 1, TOKEN, 4)
    account.reported("w", 1)
    assert account.await_windows(5000)
    assert account.window_back("w", TOKEN, 6)
    reports = Reports()
    account.settle(reports)
    # Published 4, settled 1, reported 1: 2 unsettled, both taken in.
    # Unhandled: broadcasts 5 and 6 (taken in), 7 to v, broadcast 8.
    assert reports.counts == {"v": 1, "": 1}
    assert reports.calls == [("v", 1, UNHANDLED), ("", 1, BROADCAST_UNHANDLED)]
    # v said nothing (no session to say of); every window with a session did
    assert reports.codes == [("v", 1, EUNCONFIRMED, UNHANDLED),
                             ("", 1, ECLOSED, BROADCAST_UNHANDLED)]


def test_a_broadcast_is_received_only_if_every_window_with_a_session_took_it():
    """Two windows on the channel; W took in both broadcasts after the
    published, X one, or did not come back: the broadcasts not taken in by
    both are reported."""
    def account_of_two() -> Account:
        account = Account()
        sent(account, "", 1, 4)
        assert account.update({"handled": 2, "windows": {"w": [2, 2], "x": [2, 2]},
                               "sessions": {"w": [TOKEN, 2], "x": [OTHER, 7]}})
        assert account.await_windows(5000)
        return account

    account = account_of_two()
    assert not account.window_back("w", TOKEN, 4)
    assert account.window_back("x", OTHER, 8)  # main's 3rd: one of the two unhandled
    reports = Reports()
    account.settle(reports)
    assert reports.calls == [("", 1, BROADCAST_UNHANDLED)]
    assert reports.unconfirmed == 0  # both said
    # X never back: neither is known to have reached every window
    account = account_of_two()
    assert not account.window_back("w", TOKEN, 4)
    reports = Reports()
    account.settle(reports)
    assert reports.calls == [("", 2, BROADCAST_UNHANDLED)]
    assert reports.unconfirmed == 2  # X could not say


def test_a_report_is_eclosed_only_where_the_windows_said_what_they_took_in():
    """The code of each report (as src/account.c): per window, ECLOSED ("not
    taken in") when it came back and said, EUNCONFIRMED ("not confirmed")
    when it did not; an unhandled run, ECLOSED only when its window (for a
    broadcast: every window with a session) said, else EUNCONFIRMED. W says,
    X comes back with another session, Y never; Z has no session (off the
    channel), and U is in no ACCOUNT at all."""
    account = Account()
    for i, target in enumerate(("w", "x", "y", "z")):
        sent(account, target, 4 * i + 1, 4 * i + 4)
    # unhandled: 2 to each, then 2 broadcasts, then 1 to u
    for n, target in enumerate(("w", "w", "x", "x", "y", "y", "z", "z", "", "", "u"), 17):
        account.sent(target, ONE_WAY | n)
    assert account.update({"handled": 16,
                           "windows": {t: [4, 1] for t in ("w", "x", "y", "z")},
                           "sessions": {"w": [TOKEN, 4], "x": [TOKEN, 4], "y": [TOKEN, 4]}})
    assert account.await_windows(5000)
    assert not account.window_back("w", TOKEN, 2)   # took 1 more than the 1 settled
    assert not account.window_back("z", TOKEN, 4)   # not waited for: no session
    assert not account.window_back("x", OTHER, 4)   # another session: cannot say
    reports = Reports()
    account.settle(reports)                         # y never back: the deadline
    assert sorted(reports.codes) == sorted([
        ("w", 2, ECLOSED, NOT_TAKEN), ("x", 3, EUNCONFIRMED, UNCONFIRMED),
        ("y", 3, EUNCONFIRMED, UNCONFIRMED), ("z", 3, EUNCONFIRMED, UNCONFIRMED),
        ("w", 2, ECLOSED, UNHANDLED), ("x", 2, EUNCONFIRMED, UNHANDLED),
        ("y", 2, EUNCONFIRMED, UNHANDLED), ("z", 2, EUNCONFIRMED, UNHANDLED),
        ("", 2, EUNCONFIRMED, BROADCAST_UNHANDLED), ("u", 1, EUNCONFIRMED, UNHANDLED)])
    assert reports.unconfirmed == 3 * 3 + 3 * 2 + 2 + 1
    # Every window with a session back and said: the broadcasts too are ECLOSED
    account = Account()
    sent(account, "", 1, 4)
    assert account.update({"handled": 2, "windows": {"w": [2, 2], "x": [2, 2]},
                           "sessions": {"w": [TOKEN, 2], "x": [OTHER, 2]}})
    assert account.await_windows(5000)
    assert not account.window_back("w", TOKEN, 2)
    assert account.window_back("x", OTHER, 2)
    reports = Reports()
    account.settle(reports)
    assert reports.codes == [("", 2, ECLOSED, BROADCAST_UNHANDLED)]
    # No window with a session at all: nobody could say of a broadcast
    account = Account()
    sent(account, "", 1, 2)
    assert account.update({"handled": 0, "windows": {"w": [0, 0]}})
    assert not account.await_windows(5000)
    reports = Reports()
    account.settle(reports)
    assert reports.codes == [("", 2, EUNCONFIRMED, BROADCAST_UNHANDLED)]


def test_an_account_read_key_by_key():
    """A malformed ACCOUNT changes nothing past its fault ("handled" is
    taken only from a whole body); unknown keys are ignored; a count is an
    int, never a bool."""
    account = Account()
    sent(account, "w", 1, 5)
    assert not account.update({"windows": {"w": [3, 1]}, "handled": 3, "sessions": {"w": ["xyz", 1]}})
    assert account.windows["w"].published == 3 and not account.windows["w"].session
    assert account.forgotten == 0 and account.unhandled[0][2] == 5
    assert not account.update({"handled": True})
    assert not account.update({"windows": {"w": [1, 2]}})  # settled past published
    assert not account.update({"windows": {"": [1, 1]}})
    assert not account.update([1, 2])
    assert account.update({"later": [1, {2: 3}], "handled": 2})
    assert account.forgotten == 2 and list(account.unhandled) == [["w", ONE_WAY | 3, 3]]
    assert account.update({})  # an empty body: nothing
    # "sessions" names only windows "windows" listed
    assert account.update({"sessions": {"v": [TOKEN, 1]}})
    assert "v" not in account.windows


# --- main against a router played by raw sockets --------------------------------

class MainRouter(FakeRouter):
    """FakeRouter as main's router: its WELCOME says "account" (or not),
    and main's one-way messages are read in order."""

    def welcome_main(self, rid: bytes, hello_id: int, account: bool = True) -> None:
        welcome: Dict[str, Any] = {"max_payload": 1 << 20, "heartbeat_ms": 1000, "version": 2,
                                   "instance": self.instance}
        if account:
            welcome["account"] = True
        self.router.send_multipart([rid] + w.encode_v1(w.WELCOME, hello_id, prokit.MAIN.encode(),
                                                       pack(welcome)))

    def one_ways(self, count: int) -> List[Tuple[int, int, bytes]]:
        """Main's next COUNT SENDs and BROADCASTs: (command, id, peer)."""
        got: List[Tuple[int, int, bytes]] = []
        while len(got) < count:
            self._ready(self.router)
            frames = self.router.recv_multipart()
            cmd, msg_id, peer, _ = w.decode(frames[1:])
            if cmd in (w.SEND, w.BROADCAST):
                got.append((cmd, msg_id, peer))
        return got


def error_body(code: int, text: str, app_code: int = 0) -> bytes:
    return pack([code, text, app_code])


def main_on(ep: str, tmpdir: str, instance: str, main: prokit.Main,
            channel: str = "ca") -> Tuple[MainRouter, bytes, int, Dict[str, Any]]:
    """A router on EP (its channel named CHANNEL) that MAIN has said HELLO
    to: (router, routing id, HELLO id, HELLO body)."""
    router = MainRouter(ep, f"ipc://{tmpdir}/{channel}.sock", instance, lambda: main.run(timeout=2))
    rid, hello_id, peer, body = router.next(w.HELLO)
    assert peer == prokit.MAIN.encode()
    return router, rid, hello_id, unpack(body)


def test_main_settles_what_a_router_that_went_never_did(tmpdir_short):
    """Main's ACCOUNTs, the router's ERRORs (about one message, and the
    one-way bit alone), the next router's refusal of what went into the dead
    connection, and a window back saying what it took in: only what nobody
    took in is reported, with the C client's texts."""
    ep = f"ipc://{tmpdir_short}/r.sock"
    main = prokit.Main(ep, _join=False)
    reports: List[Tuple[str, int, str]] = []
    main.on_undelivered(lambda target, error: reports.append((target, error.code, error.text)))
    connection: List[bool] = []
    main.on_connection(lambda connected, error: connection.append(connected))
    a, rid, hello_id, hello = main_on(ep, tmpdir_short, "a" * 16, main)
    assert hello["account"] is True and "took" not in hello
    a.welcome_main(rid, hello_id)
    wait_for(lambda: main.is_connected, main)
    assert main._account is not None
    # b1 b2, w3..w6, b7 b8, v9 v10 (ids 1 to 10)
    main.broadcast(1)
    main.broadcast(2)
    for n in range(3, 7):
        main.send("w", n)
    main.broadcast(7)
    main.broadcast(8)
    main.send("v", 9)
    main.send("v", 10)
    assert [(cmd, msg_id & ~ONE_WAY, peer) for cmd, msg_id, peer in a.one_ways(10)] == [
        (w.BROADCAST, 1, b""), (w.BROADCAST, 2, b""), (w.SEND, 3, b"w"), (w.SEND, 4, b"w"),
        (w.SEND, 5, b"w"), (w.SEND, 6, b"w"), (w.BROADCAST, 7, b""), (w.BROADCAST, 8, b""),
        (w.SEND, 9, b"v"), (w.SEND, 10, b"v")]
    # The router handled 4: b1, b2, w3, w4 to w (1 confirmed), b1 and b2 to
    # x, whose session ended with both not taken in (reported); it refused
    # w6 (w's window full) and died.
    a.send(rid, w.ACCOUNT, 0, b"", pack({"handled": 4, "windows": {"w": [4, 1], "x": [2, 0]},
                                         "sessions": {"w": [TOKEN, 4]}}))
    a.send(rid, w.ERROR, ONE_WAY, b"x",
           error_body(ECLOSED, "2 message(s) to 'x' were not taken in: connection lost", 2))
    a.send(rid, w.ERROR, ONE_WAY | 6, b"w", error_body(EAGAIN, "queue full"))
    wait_for(lambda: len(reports) == 3, main)
    a.close()
    wait_for(lambda: connection == [False], main)
    assert main._account is None and main._last_account is not None

    # Another router: it refuses v10, which went into the dead connection,
    # ahead of main's HELLO; then welcomes it.
    b, rid, hello_id, _ = main_on(ep, tmpdir_short, "b" * 16, main, channel="cb")
    b.send(rid, w.ERROR, ONE_WAY | 10, b"v", error_body(EPROTO, "send HELLO first"))
    b.welcome_main(rid, hello_id)
    wait_for(lambda: connection == [False, True] and len(reports) == 4, main)
    assert reports[3] == ("v", EPROTO, "send HELLO first")
    assert len(main._accounts) == 1  # waiting for w, the one window with a session
    # x joins (no session of the account: nothing), then w says its lost
    # session took in 5 of main's: its 4 published, then w5; b7 and b8 did
    # not reach it, v9 was never handled.
    b.send(rid, w.JOINED, 0, b"x", pack({"pid": 2}))
    b.send(rid, w.JOINED, 0, b"w", pack({"pid": 1, "last_token": TOKEN, "last_count": 5}))
    wait_for(lambda: not main._accounts, main)
    # w, the one window with a session, said: the broadcasts did not reach
    # it; v9 may have been handled after the last ACCOUNT, and v said nothing
    assert reports[4:] == ([("", ECLOSED, BROADCAST_UNHANDLED)] * 2
                           + [("v", EUNCONFIRMED, UNHANDLED)])
    assert main.has_window("w") and main.has_window("x")
    main.close(linger=0)
    b.close()


def test_main_keeps_no_account_for_the_same_router_or_one_that_keeps_none(tmpdir_short):
    """The router that welcomes main again is the one it lost: it settles
    the lost session itself, nothing is reported here. A router whose
    WELCOME does not say "account" (an older one) sends no ACCOUNTs: main
    keeps none, and reports nothing when it goes."""
    ep = f"ipc://{tmpdir_short}/r.sock"
    main = prokit.Main(ep, _join=False)
    reports: List[str] = []
    main.on_undelivered(lambda target, error: reports.append(target))
    a, rid, hello_id, _ = main_on(ep, tmpdir_short, "a" * 16, main)
    a.welcome_main(rid, hello_id)
    wait_for(lambda: main.is_connected, main)
    main.send("w", 1)
    a.one_ways(1)
    a.close()
    wait_for(lambda: not main.is_connected, main)
    a, rid, hello_id, _ = main_on(ep, tmpdir_short, "a" * 16, main, channel="cb")
    a.welcome_main(rid, hello_id, account=False)
    wait_for(lambda: main.is_connected, main)
    assert main._account is None and main._last_account is None and not main._accounts
    assert reports == []
    main.send("w", 2)
    a.one_ways(1)
    a.close()
    wait_for(lambda: not main.is_connected, main)
    b, rid, hello_id, _ = main_on(ep, tmpdir_short, "b" * 16, main, channel="cc")
    b.welcome_main(rid, hello_id)
    wait_for(lambda: main.is_connected, main)
    # (reports, or the wait for windows, begin as the WELCOME is read)
    assert not main._accounts and main._last_account is None
    assert reports == []
    main.close(linger=0)
    b.close()


def test_what_no_window_says_in_time_is_reported_at_the_deadline(tmpdir_short, monkeypatch):
    """asyncio: the end of main's wait for JOINED comes from the event
    loop's timer, with nothing else arriving; a window back with another
    session could not say."""
    wait_ms = 300
    monkeypatch.setattr(prokit._client, "ACCOUNT_WAIT_MS", wait_ms)
    ep = f"ipc://{tmpdir_short}/r.sock"

    async def scenario() -> None:
        main = prokit.asyncio.Main(ep)
        reported = asyncio.Event()
        reports: List[Tuple[str, int, str]] = []
        classes: List[type] = []

        def undelivered(target: str, error: prokit.ProkitError) -> None:
            reports.append((target, error.code, error.text))
            classes.append(type(error))
            if len(reports) == 5:
                reported.set()

        main.on_undelivered(undelivered)
        a = MainRouter(ep, f"ipc://{tmpdir_short}/ca.sock", "a" * 16, None)
        rid, hello_id, _, _ = await asyncio.to_thread(a.next, w.HELLO)
        a.welcome_main(rid, hello_id)
        await main.join()
        for n in range(3):
            main.send("w", n)
        main.send("u", 3)
        main.send("u", 4)
        await asyncio.to_thread(a.one_ways, 5)
        # all handled: 3 published to w's session, 2 to u's
        a.send(rid, w.ACCOUNT, 0, b"", pack({"handled": 5, "windows": {"w": [3, 0], "u": [2, 0]},
                                             "sessions": {"w": [TOKEN, 3], "u": [OTHER, 2]}}))
        a.send(rid, w.PING, 77)  # answered once what came before it is read
        await asyncio.to_thread(a.next, w.PONG)
        a.close()
        b = MainRouter(ep, f"ipc://{tmpdir_short}/cb.sock", "b" * 16, None)
        rid, hello_id, _, _ = await asyncio.to_thread(b.next, w.HELLO)
        b.welcome_main(rid, hello_id)
        # u back with another session: it cannot say; w never back
        b.send(rid, w.JOINED, 0, b"u", pack({"last_token": TOKEN, "last_count": 2}))
        welcomed = time.monotonic()
        await asyncio.wait_for(reported.wait(), DEADLINE)
        assert time.monotonic() - welcomed >= wait_ms / 1000 * 0.9
        # neither said what it took in: EUNCONFIRMED, prokit.UnconfirmedError
        assert sorted(reports) == ([("u", EUNCONFIRMED, UNCONFIRMED)] * 2
                                   + [("w", EUNCONFIRMED, UNCONFIRMED)] * 3)
        assert classes == [prokit.UnconfirmedError] * 5
        assert not main._accounts
        main.close(linger=0)
        b.close()

    asyncio.run(scenario())


# --- a flood through a broker killed -9 and started again -----------------------

TOTAL = 16000
WINDOW = 3000  # in flight at most (neither received nor reported): under the window's credit


@pytest.mark.parametrize("stopped", [False, True], ids=["killed", "stopped-then-killed"])
@pytest.mark.parametrize("how", ["by name", "broadcast"])
def test_a_flood_from_main_through_a_broker_killed_and_restarted_is_received_or_reported(
        procs, tmpdir_short, how, stopped):
    """Main floods a C counter window, by name or by broadcast; at half, the
    broker is killed -9 and started again (STOPPED: stopped at half and
    killed 1000 messages later, so that it dies holding messages it never
    handled). Every message main accepted is received or reported, exactly:
    the lost broker's ACCOUNTs said what it had handled and what the window
    had confirmed, the window, back, says what its lost session took in (the
    new broker tells main in JOINED), and main reports only the rest (as
    tests/test_processes.c does for the C main)."""
    ep = f"ipc://{tmpdir_short}/broker.sock"
    broker = start_broker(procs, ["-b", ep])
    main = prokit.Main(ep)
    name = unique("c")
    reported = {"window": 0, "broadcast": 0, "elsewhere": 0}

    def undelivered(target: str, error: prokit.ProkitError) -> None:
        key = "window" if target == name else "broadcast" if not target else "elsewhere"
        reported[key] += 1

    main.on_undelivered(undelivered)
    connection: List[bool] = []
    main.on_connection(lambda connected, error: connection.append(connected))
    joins = [0]
    main.on_presence(lambda window, joined, info: joins.__setitem__(
        0, joins[0] + (window == name and joined)))
    path = os.path.join(tmpdir_short, "counts")
    procs([binary("tests", "prokit-test-peer"), "counter", name, ep, path]).expect("READY")
    with open(path, "rb") as f:
        counts = mmap.mmap(f.fileno(), 16, mmap.MAP_SHARED, mmap.PROT_READ)
    received = lambda: struct.unpack_from("=Q", counts, 0)[0]  # noqa: E731 (main's messages)
    total_reported = lambda: reported["window"] + reported["broadcast"]  # noqa: E731
    wait_for(lambda: joins[0] == 1, main)

    accepted, struck = 0, False
    strike_at = TOTAL // 2 + (1000 if stopped else 0)
    deadline = time.monotonic() + 60
    while accepted < TOTAL:
        assert time.monotonic() < deadline, f"the flood stalled at {accepted}"
        # While the broker is stopped nothing moves: the 1000 go on unpaced
        # (they wait in main's queue and the broker's socket).
        holding = stopped and TOTAL // 2 <= accepted < strike_at
        if (not main.is_connected or (struck and joins[0] < 2)
                or (not holding and accepted - received() - total_reported() >= WINDOW)):
            # Main sends again once the window is back (a broadcast to no
            # window at all reaches nobody, rightly, and would count here
            # as lost). Until it knew the broker went, its sends went into
            # the connection that died.
            main.run(timeout=1)
            continue
        try:
            if how == "broadcast":
                main.broadcast(accepted)
            else:
                main.send(name, accepted)
        except (prokit.AgainError, prokit.ClosedError):
            main.run(timeout=1)  # not accepted: sent again
            continue
        accepted += 1
        if accepted % 500 == 0:
            main.dispatch()
        if stopped and accepted == TOTAL // 2:
            broker.popen.send_signal(signal.SIGSTOP)
        if not struck and accepted == strike_at:
            broker.kill()
            broker = start_broker(procs, ["-b", ep])
            struck = True
    settled = lambda: received() + total_reported() >= accepted  # noqa: E731
    wait_for(lambda: connection[-1:] == [True] and not main._accounts and settled(), main,
             timeout=45)
    # One more, then a PING: once the one is received (or reported) and the
    # PONG is back, nothing of the flood is still on its way (main's
    # messages reach the window in order, the router's ERRORs come ahead of
    # its PONG).
    if how == "broadcast":
        main.broadcast("last")
    else:
        main.send(name, "last")
    accepted += 1
    wait_for(settled, main)
    assert main.ping(5000)
    assert connection == [False, True]
    assert reported["elsewhere"] == 0
    assert received() + total_reported() == accepted, (
        f"{accepted} accepted, {received()} received + {reported['window']} reported"
        f" + {reported['broadcast']} whole broadcasts")
    main.close()
    counts.close()
