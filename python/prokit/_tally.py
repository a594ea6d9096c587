"""A window's tallies of the SENDs it sent each window, and what is reported
of them when the router goes (docs/PROTOCOL.md section 10, "When the router
itself goes"): the C client's src/tally.c.

Per window sent to in a session: how many SENDs went out, how many the
router said were taken in (RECEIPT) and how many it said were not (ERROR);
the id of the first; and, from the RECEIPTs that name the window's session,
its token with the two counts that number it: our SENDs the router queued
to the window (Q) and the SENDs from our name its session was queued (QS),
counted together. Both grow together while the window stays in that
session, so its Nth SEND from us is our N + Q - QS.

When the router that welcomes us again is not the one we lost, a window
back from the lost router says what its session took in of ours (TOOK),
and only what it did not take in is reported. With no RECEIPT about a
window at all (the router went before the first reached us: it writes our
connection and the window's apart), its word is taken if the first SEND it
took in from us is our first to it (and no ERROR was about that one): every
SEND of ours then went to that one session. A window that cannot say (its
RECEIPTs named no session: off the channel, or a pool) or does not say in
time has everything unconfirmed reported: too many, never too few.

A report carries its code as the C client's: ``ECLOSED`` ("not taken in")
when the window's TOOK said what it took in, ``EUNCONFIRMED`` ("not
confirmed") for every other (the window could not say, did not in time,
spoke of another session): those messages may have arrived.
"""
from __future__ import annotations

from typing import Any, Callable, Dict

from .errors import ECLOSED, EUNCONFIRMED

#: Why what a router that went never settled is reported undelivered: the
#: window said it did not take them in (ECLOSED), or nobody could say
#: (EUNCONFIRMED: it may have).
NOT_TAKEN = "not taken in before the router went away"
UNCONFIRMED = "not confirmed before the router went away"

#: report(window, count, code, why): COUNT SENDs to WINDOW were not
#: delivered; CODE ECLOSED (the window said so) or EUNCONFIRMED (nobody
#: could say), WHY the text.
Report = Callable[[str, int, int, str], Any]


def _report(report: Report, window: str, count: int, said: bool) -> None:
    """Report COUNT to WINDOW: ECLOSED when WINDOW said it did not take them
    in (SAID), else EUNCONFIRMED (src/tally.c's s_report)."""
    if count > 0:
        if said:
            report(window, count, ECLOSED, NOT_TAKEN)
        else:
            report(window, count, EUNCONFIRMED, UNCONFIRMED)


class Tally:
    """What became of our SENDs to one window in a session."""

    __slots__ = ("sent", "confirmed", "reported", "first_id", "first_refused", "heard",
                 "session", "token", "queued", "session_queued")

    def __init__(self, first_id: int) -> None:
        self.sent = 0
        self.confirmed = 0              # taken in, said the router (RECEIPT)
        self.reported = 0               # not delivered, said the router (ERROR)
        self.first_id = first_id        # our first SEND to the window
        self.first_refused = False      # an ERROR was about it
        self.heard = False              # a RECEIPT was about the window
        self.session = False            # the last RECEIPT named its session:
        self.token = ""
        self.queued = 0
        self.session_queued = 0

    def missing(self) -> int:
        """What is neither confirmed nor reported."""
        return max(0, self.sent - self.confirmed - self.reported)

    def can_say(self) -> bool:
        """Can the window say what it took in of ours? If the last RECEIPT
        named its session, or none came at all."""
        return self.session or not self.heard


class Tallies:
    """The tallies of one session, by window; after a router went, those
    that wait for the windows' TOOK until ``deadline`` (ms, on the client's
    clock; 0: not waiting)."""

    __slots__ = ("windows", "deadline")

    def __init__(self) -> None:
        self.windows: Dict[str, Tally] = {}
        self.deadline = 0.0

    def sent(self, window: str, msg_id: int) -> None:
        """One more SEND to WINDOW accepted, with id MSG_ID."""
        tally = self.windows.get(window)
        if tally is None:
            tally = self.windows[window] = Tally(msg_id)
        tally.sent += 1

    def reported(self, window: str, count: int, msg_id: int) -> None:
        """COUNT SENDs to WINDOW were reported undelivered: the one with id
        MSG_ID (0: several, or not known which)."""
        tally = self.windows.get(window)
        if tally is not None:
            tally.reported += count
            if msg_id and msg_id == tally.first_id:
                tally.first_refused = True

    def confirmed(self, window: str, count: int) -> None:
        """A RECEIPT: COUNT of our SENDs to WINDOW were taken in (cumulative)."""
        tally = self.windows.get(window)
        if tally is not None:
            if count > tally.confirmed:
                tally.confirmed = count
            tally.heard = True
            tally.session = False       # said again after, if the RECEIPT names it

    def session(self, window: str, queued: int, token: str, session_queued: int) -> None:
        """The same RECEIPT named WINDOW's session TOKEN: QUEUED of our SENDs
        were queued to it, SESSION_QUEUED from our name to that session."""
        tally = self.windows.get(window)
        if tally is not None:
            tally.session = True
            tally.token = token
            tally.queued = queued
            tally.session_queued = session_queued

    def unconfirmed(self, window: str) -> int:
        """Of the SENDs to WINDOW, how many are neither confirmed nor reported."""
        tally = self.windows.get(window)
        return 0 if tally is None else tally.missing()

    def await_took(self, deadline: float, report: Report) -> bool:
        """The router was lost and another welcomed us: what no window can
        say more of is reported now; the rest waits for TOOK until DEADLINE.
        Returns False when nothing waits."""
        for window, tally in list(self.windows.items()):
            missing = tally.missing()
            if missing > 0 and tally.can_say():
                continue
            del self.windows[window]
            _report(report, window, missing, False)
        self.deadline = deadline if self.windows else 0.0
        return bool(self.deadline)

    def took(self, window: str, token: str, count: int, first: int, report: Report) -> bool:
        """TOOK: WINDOW's session TOKEN took in COUNT of our SENDs, the first
        of them FIRST (its id; 0: not said). Its tally is settled. Returns
        True when nothing waits any more."""
        tally = self.windows.pop(window, None) if self.deadline else None
        if tally is not None:
            missing = tally.missing()
            named = tally.session and tally.token == token
            from_our_first = (not tally.session and not tally.heard and first != 0
                              and first == tally.first_id and not tally.first_refused)
            said = named or from_our_first
            if said:
                upto = count
                if named:
                    upto += tally.queued - tally.session_queued
                taken = max(0, upto - tally.confirmed)
                missing = max(0, missing - taken)
            _report(report, window, missing, said)
        return self._waits_no_more()

    def back(self, window: str, report: Report) -> bool:
        """The router we are in now confirmed SENDs to WINDOW: it joined
        there, so whatever it had to say of ours came before (TOOK). Still
        waited for, it took in none that we can learn of. Returns True when
        nothing waits any more."""
        tally = self.windows.pop(window, None) if self.deadline else None
        if tally is not None:
            _report(report, window, tally.missing(), False)
        return self._waits_no_more()

    def settle(self, report: Report) -> None:
        """Report everything not settled (the wait is over)."""
        windows, self.windows = self.windows, {}
        self.deadline = 0.0
        for window, tally in windows.items():
            _report(report, window, tally.missing(), False)

    def _waits_no_more(self) -> bool:
        if self.deadline and not self.windows:
            self.deadline = 0.0
        return not self.deadline
