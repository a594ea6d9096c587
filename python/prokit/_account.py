"""Main's account of the SENDs and BROADCASTs it sent through a router, and
what is reported of them when the router goes (docs/PROTOCOL.md section 10,
"When the router itself goes"): the C client's src/account.c.

A main attached to a broker sends through a router that may die with its
messages. The router keeps main informed (ACCOUNT: how many it handled, and
per window what it published and what is settled); the account keeps what
main must hear of if the router goes:

* its SENDs and BROADCASTs the router has not said it handled, in order, as
  runs of one target's consecutive ids;
* per window, the last ACCOUNT's counts, the window's session on the
  channel they were taken in (its token, and how many that session had
  been published then), and what was reported since.

When the router that welcomes main again is another one, a window that
comes back says in its HELLO how many of main's messages its lost session
took in; the new router passes that on in JOINED (``last_token``,
``last_count``). The arithmetic of :meth:`Account.settle`, per window W:

* the last ACCOUNT said P of main's messages were published to W (numbered
  1..P in main's session) and S of them are settled; R were reported
  since. The U = P - S - R unsettled ones are the newest: what W took in
  is a prefix of what its session was published, and what it confirmed is
  settled;
* the same ACCOUNT said W's session on the channel (its token) had been
  published Q then. Both counts grow together while W stays in that
  session, so the session's Nth message is main's N + P - Q;
* W, back, says that session took in C: main's messages up to number
  C + P - Q were received. Of the U, those up to it are not reported;
  beyond P, the oldest unhandled messages to W and broadcasts are W's next
  ones, and those it took in are not reported either.

A broadcast still unhandled is reported (to "") unless every window with a
session took it in. A window that does not come back in time, or comes
back with another session, has everything reported that the account does
not show settled: too many, never too few.

A report carries its code as the C client's: ``ECLOSED`` when the window
(for a broadcast: every window with a session) came back and said what it
took in, ``EUNCONFIRMED`` when nobody could say: those may have arrived.
"""
from __future__ import annotations

import re
from collections import deque
from typing import Any, Callable, Deque, Dict, List

from .errors import ECLOSED, EUNCONFIRMED

#: Why what a router that went never settled is reported undelivered (as the
#: C client): published to a window that came back and said what it took in
#: (ECLOSED), or that did not (EUNCONFIRMED); never handled (either code).
NOT_TAKEN = "not taken in before the router went away"
UNCONFIRMED = "not confirmed before the router went away"
UNHANDLED = "not handled before the router went away"
BROADCAST_UNHANDLED = "broadcast not handled before the router went away"

#: report(target, count, code, why): COUNT messages to TARGET ("" for
#: broadcasts) were not delivered; CODE ECLOSED (the windows said so) or
#: EUNCONFIRMED (nobody could say: they may have arrived), WHY the text.
Report = Callable[[str, int, int, str], Any]

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_TOKEN_RE = re.compile(r"[0-9a-f]{16}\Z")

# While the windows' word is awaited:
_WAITING, _BACK, _GONE = range(3)


def _uint(value: Any) -> bool:
    # msgpack's booleans are Python ints too: a count is an int and nothing else
    return type(value) is int and value >= 0


class Entry:
    """What the router said of main's messages to one window, and what the
    window said when it came back."""

    __slots__ = ("published", "settled", "reported", "session", "token", "session_published",
                 "state", "taken")

    def __init__(self) -> None:
        self.published = 0
        self.settled = 0
        self.reported = 0
        self.session = False            # the last ACCOUNT named its session on the channel:
        self.token = ""
        self.session_published = 0
        self.state = _GONE              # while awaiting its word
        self.taken = 0                  # back: main's messages up to this number were received


class Account:
    """The account of one session with a router; after it went, waiting for
    the windows' JOINED until ``deadline`` (ms, on the client's clock; 0:
    not waiting)."""

    __slots__ = ("unhandled", "forgotten", "windows", "deadline")

    def __init__(self) -> None:
        # [target, first id, count] ("" for a broadcast), oldest first
        self.unhandled: Deque[List[Any]] = deque()
        self.forgotten = 0              # how many were taken off the front (handled)
        self.windows: Dict[str, Entry] = {}
        self.deadline = 0.0

    def sent(self, target: str, msg_id: int) -> None:
        """One more SEND to TARGET (a BROADCAST: "") with one-way id MSG_ID."""
        runs = self.unhandled
        if runs:
            last = runs[-1]
            if last[1] + last[2] == msg_id and last[0] == target:
                last[2] += 1
                return
        runs.append([target, msg_id, 1])

    def _forget(self, count: int) -> None:
        """The COUNT oldest unhandled messages are accounted for now (handled)."""
        runs = self.unhandled
        while count > 0 and runs:
            run = runs[0]
            taken = min(run[2], count)
            run[1] += taken
            run[2] -= taken
            self.forgotten += taken
            count -= taken
            if run[2] == 0:
                runs.popleft()

    def refused(self, msg_id: int) -> None:
        """A router refused main's one-way message MSG_ID (an ERROR). It
        handles main's messages in order and refuses each with an ERROR of
        its own, so those main sent before it were published: they stay
        until an ACCOUNT counts them, or, if the router goes first, a window
        says it took them. After a loss, the ERRORs read from the connection
        as it ended are the lost router's; then come the next router's
        refusals of what main sent into the dead connection (ahead of its
        HELLO): each about its own id."""
        # It alone is accounted for: it was handled (the next ACCOUNT's
        # "handled" counts it) and reported.
        runs = self.unhandled
        for i, run in enumerate(runs):
            target, first, count = run
            if msg_id < first:
                return                  # not here: an ACCOUNT counted it already
            last = first + count - 1
            if msg_id > last:
                continue
            if msg_id == first:
                run[1] += 1
                run[2] -= 1
                if run[2] == 0:
                    del runs[i]
            elif msg_id == last:
                run[2] -= 1
            else:
                # what follows it in the run becomes a run of its own
                run[2] = msg_id - first
                runs.insert(i + 1, [target, msg_id + 1, last - msg_id])
            self.forgotten += 1
            return

    def reported(self, window: str, count: int) -> None:
        """COUNT of main's messages to WINDOW were reported as not taken in
        (an ERROR with the one-way bit alone)."""
        entry = self.windows.get(window)
        if entry is None:
            entry = self.windows[window] = Entry()
        entry.reported += count

    def update(self, body: Any) -> bool:
        """An ACCOUNT's body (unpacked). Returns False when it is malformed:
        then nothing changed but what came before the fault (as the C
        client reads it, key by key)."""
        if not isinstance(body, dict):
            return False
        handled = 0
        for key, value in body.items():
            if key == "handled":
                if not _uint(value):
                    return False
                handled = value
            elif key == "windows" or key == "sessions":
                if not isinstance(value, dict):
                    return False
                for name, counts in value.items():
                    if not (isinstance(name, str) and _NAME_RE.match(name)
                            and isinstance(counts, list) and len(counts) == 2):
                        return False
                    if key == "windows":
                        published, settled = counts
                        if not (_uint(published) and _uint(settled) and settled <= published):
                            return False
                        self._on_window(name, published, settled)
                    else:
                        token, published = counts
                        if not (isinstance(token, str) and _TOKEN_RE.match(token)
                                and _uint(published)):
                            return False
                        self._on_session(name, token, published)
            # other keys are ignored
        if handled > self.forgotten:
            self._forget(handled - self.forgotten)
        return True

    def _on_window(self, name: str, published: int, settled: int) -> None:
        entry = self.windows.get(name)
        if entry is None:
            entry = self.windows[name] = Entry()
        # Reports before this ACCOUNT are in its figures; its session is
        # said after (or it has none now).
        entry.published = published
        entry.settled = settled
        entry.reported = 0
        entry.session = False

    def _on_session(self, name: str, token: str, published: int) -> None:
        entry = self.windows.get(name)
        if entry is not None:
            entry.session = True
            entry.token = token
            entry.session_published = published

    def await_windows(self, deadline: float) -> bool:
        """The router was lost and another welcomed us: wait for the
        windows' word until DEADLINE. Returns False when there is no window
        to wait for (settle now)."""
        waiting = False
        for entry in self.windows.values():
            entry.state = _WAITING if entry.session else _GONE
            waiting = waiting or entry.session
        if waiting:
            self.deadline = deadline
        return waiting

    def window_back(self, window: str, token: str, count: int) -> bool:
        """While waiting: WINDOW joined the new router, and its HELLO said
        its lost session (TOKEN: "" for none) took in COUNT of main's
        messages. Returns True when no window is left to wait for: settle
        now."""
        if not self.deadline:
            return False
        entry = self.windows.get(window)
        if entry is not None and entry.state == _WAITING:
            if entry.token == token:
                entry.state = _BACK
                entry.taken = count + entry.published - entry.session_published
            else:
                entry.state = _GONE     # another session: it cannot say
        return not any(entry.state == _WAITING for entry in self.windows.values())

    def settle(self, report: Report) -> None:
        """Report what the lost router never settled and the windows did not
        say they took in; the account is then empty."""
        any_session, every_back = False, True
        # Per window: its unsettled published messages. What it took in
        # beyond them stays in its TAKEN for the walk below.
        for name, entry in self.windows.items():
            unsettled = max(0, entry.published - entry.settled - entry.reported)
            beyond = 0
            taken = 0
            if entry.state == _BACK:
                published = entry.published
                if entry.taken > published:
                    beyond = entry.taken - published
                first = published - unsettled   # the first unsettled is first + 1
                taken = max(0, min(entry.taken, published) - first)
            if unsettled > taken:
                if entry.state == _BACK:
                    report(name, unsettled - taken, ECLOSED, NOT_TAKEN)
                else:
                    report(name, unsettled - taken, EUNCONFIRMED, UNCONFIRMED)
            any_session = any_session or entry.session
            if entry.session and entry.state != _BACK:
                every_back = False
            entry.taken = beyond
        # The unhandled, in order: a window's next messages after the
        # published are these, to it or to all. Certain (SAID) only when
        # the windows said what they took in: the router may have handled
        # some after its last ACCOUNT.
        for target, _, count in self.unhandled:
            if target:
                entry = self.windows.get(target)
                received = self._take(entry, count) if entry is not None else 0
                said = entry is not None and entry.state == _BACK
            else:
                said = any_session and every_back
                # A broadcast is received when every window took it in.
                received = count if said else 0
                for entry in self.windows.values():
                    if entry.session:   # off the channel, broadcasts do not reach it
                        received = min(received, self._take(entry, count))
            if count > received:
                report(target, count - received, ECLOSED if said else EUNCONFIRMED,
                       UNHANDLED if target else BROADCAST_UNHANDLED)
        self.unhandled.clear()
        self.windows = {}
        self.forgotten = 0
        self.deadline = 0.0

    @staticmethod
    def _take(entry: Entry, count: int) -> int:
        """Up to COUNT of what ENTRY took in beyond the published, used up."""
        took = min(entry.taken, count)
        entry.taken -= took
        return took
