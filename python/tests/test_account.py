"""Main -> windows through a router that dies and is replaced (PROTOCOL.md
section 10, "When the router itself goes"): the account's arithmetic (as
tests/test_account.c), a main's HELLO, ACCOUNTs, ERRORs and JOINEDs against
a router played by raw sockets, and a flood through a broker killed and
started again."""
from __future__ import annotations

import asyncio
import mmap
import os
import struct
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest

import prokit
import prokit.asyncio
from prokit import _wire as w
from prokit._account import BROADCAST_UNHANDLED, UNCONFIRMED, UNHANDLED, Account
from conftest import DEADLINE, binary, start_broker, unique, wait_for

TOKEN = "0123456789abcdef"
OTHER = "fedcba9876543210"
ONE_WAY = w.ONE_WAY


# --- the arithmetic (as tests/test_account.c) ----------------------------------


class Reports:
    """What an Account reported, per target, and the calls."""

    def __init__(self) -> None:
        self.counts: Dict[str, int] = {}
        self.calls: List[Tuple[str, int, str]] = []

    def __call__(self, target: str, count: int, why: str) -> None:
        assert count > 0
        assert why in ((UNCONFIRMED, UNHANDLED) if target else (BROADCAST_UNHANDLED,))
        self.counts[target] = self.counts.get(target, 0) + count
        self.calls.append((target, count, why))

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


def test_what_the_window_says_it_took_in_is_not_reported():
    """Main sent W 1..20; the router handled 10 (published them all to W,
    which confirmed 4) and died. W says its session took in 12: the 10
    published, and 2 of those handled after the last ACCOUNT. 8 are
    reported, the oldest 12 not."""
    account = Account()
    sent(account, "w", 1, 20)
    update(account, 10, 10, 4, TOKEN, 10)
    assert account.await_windows(5000)
    assert account.deadline == 5000
    assert account.window_back("w", TOKEN, 12)  # nobody left to wait for
    reports = Reports()
    account.settle(reports)
    # the 6 published and not settled were taken in, and 2 of the unhandled
    assert reports.calls == [("w", 8, UNHANDLED)]
    assert account.deadline == 0 and not account.unhandled and not account.windows


def test_a_window_back_with_another_session_has_everything_reported():
    """The same, but W comes back with another session (or never): it
    cannot say, and everything not settled is reported: 6 published, 10
    unhandled."""
    account = Account()
    sent(account, "w", 1, 20)
    update(account, 10, 10, 4, TOKEN, 10)
    assert account.await_windows(5000)
    assert account.window_back("w", OTHER, 12)
    reports = Reports()
    account.settle(reports)
    assert reports.calls == [("w", 6, UNCONFIRMED), ("w", 10, UNHANDLED)]
    # never back: the same at the deadline
    sent(account, "w", 21, 40)
    update(account, 10, 10, 4, TOKEN, 10)
    assert account.await_windows(5000)
    assert not account.window_back("v", TOKEN, 12)  # not one it waits for
    reports = Reports()
    account.settle(reports)
    assert reports.get("w") == 16
    # back with no session said (a JOINED without last_token): the same
    account = Account()
    sent(account, "w", 1, 20)
    update(account, 10, 10, 4, TOKEN, 10)
    assert account.await_windows(5000)
    assert account.window_back("w", "", 0)
    reports = Reports()
    account.settle(reports)
    assert reports.get("w") == 16


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


def test_those_before_an_error_were_published():
    """Main sent W 1..20; an ACCOUNT said 10 handled, all published to W's
    session (4 confirmed). Then the router published 11 and 12 and refused
    13 (its ERROR, reported on its own), and died before another ACCOUNT.
    Those before an ERROR were published: W, back, says it took in 12, and
    11 and 12 are among them; 14..20 are reported, 7."""
    account = Account()
    sent(account, "w", 1, 20)
    update(account, 10, 10, 4, TOKEN, 10)
    account.refused(ONE_WAY | 13)
    account.refused(ONE_WAY | 13)  # twice: nothing more
    account.refused(ONE_WAY | 3)   # counted by the ACCOUNT: nothing
    assert account.await_windows(5000)
    assert account.window_back("w", TOKEN, 12)
    reports = Reports()
    account.settle(reports)
    assert reports.get("w") == 7
    # The same, but W took in 11 only: 12 and 14..20 are reported.
    account = Account()
    sent(account, "w", 1, 20)
    update(account, 10, 10, 4, TOKEN, 10)
    account.refused(ONE_WAY | 13)
    assert account.await_windows(5000)
    assert account.window_back("w", TOKEN, 11)
    reports = Reports()
    account.settle(reports)
    assert reports.get("w") == 8
    # The next ACCOUNT, had it come, counts 11..13 handled, nothing twice.
    account = Account()
    sent(account, "w", 1, 20)
    account.refused(ONE_WAY | 13)
    update(account, 13, 12, 12, TOKEN, 12)
    assert account.await_windows(5000)
    assert account.window_back("w", TOKEN, 12)
    reports = Reports()
    account.settle(reports)
    assert reports.get("w") == 7


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
    # X never back: neither is known to have reached every window
    account = account_of_two()
    assert not account.window_back("w", TOKEN, 4)
    reports = Reports()
    account.settle(reports)
    assert reports.calls == [("", 2, BROADCAST_UNHANDLED)]


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
