"""Window -> window SENDs through a router that dies and is replaced
(PROTOCOL.md section 10, "When the router itself goes"): the tallies'
arithmetic."""
from __future__ import annotations

from prokit._tally import Tallies

TOKEN = "0123456789abcdef"
OTHER = "fedcba9876543210"


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
