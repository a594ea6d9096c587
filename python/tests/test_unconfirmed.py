"""PROKIT_EUNCONFIRMED in real processes: a Python sender floods a C window
(prokit-test-peer counter) that is killed -9 halfway. What the window never
confirmed taking in is reported by the router when it settles the lost
session without its word (ten heartbeat timeouts after it went), with
PROKIT_EUNCONFIRMED: it may have taken them in. The Python client hands
those reports to the application with their code; as
tests/test_processes.c's killed cases, the over-report lies within them."""
from __future__ import annotations

import mmap
import os
import signal
import struct
import time
from typing import Dict, List

import pytest

import prokit
from prokit.errors import EUNCONFIRMED
from conftest import binary, start_broker, unique, wait_for

TOTAL = 16000
FREEZE = TOTAL // 2
BURST = 500     # sent to the window frozen, then it is killed
WINDOW = 3000   # accepted, neither received nor reported, at most: under the credit (4000)
CREDIT = 4000   # what a window killed may have taken in and never confirmed, at most


@pytest.mark.parametrize("sender_kind", ["window", "main"])
def test_a_window_killed_mid_flood_has_its_over_report_among_the_unconfirmed(
        procs, tmpdir_short, sender_kind):
    """A Python window (through a C main) or a Python Main (through a
    broker) floods a C counter window, killed -9 at half. Every message
    accepted is received or reported; what is reported beyond that (the
    window took it in and died before confirming it) is among the reports
    with PROKIT_EUNCONFIRMED, and those with any other code (ECLOSED,
    ENOTFOUND once it was dropped, EAGAIN) were never received.

    A C window keeps up with a Python sender, and may die having confirmed
    all it took in: so that it certainly dies with messages on their way
    to it, it is frozen (SIGSTOP) at half, sent BURST more at once, then
    killed. The routers' heartbeat timeout is 300 ms (ten of them: the lost
    session is settled 3 s after the window went)."""
    ep = f"ipc://{tmpdir_short}/r.sock"
    if sender_kind == "window":
        procs([binary("tests", "prokit-test-peer"), "main", ep, "0", "100", "300"]).expect("READY")
        sender = prokit.Window(unique("tx"), endpoint=ep)
    else:
        start_broker(procs, ["-b", ep, "--heartbeat-ivl", "100", "--heartbeat-timeout", "300"])
        sender = prokit.Main(ep)
    name = unique("c")
    codes: Dict[int, int] = {}       # reports about NAME, by code
    classes: List[type] = []         # the exception classes of the EUNCONFIRMED ones
    elsewhere: List[str] = []

    def undelivered(target: str, error: prokit.ProkitError) -> None:
        if target != name:
            elsewhere.append(target)
            return
        codes[error.code] = codes.get(error.code, 0) + 1
        if error.code == EUNCONFIRMED:
            classes.append(type(error))

    sender.on_undelivered(undelivered)
    path = os.path.join(tmpdir_short, "counts")
    counter = procs([binary("tests", "prokit-test-peer"), "counter", name, ep, path])
    counter.expect("READY")  # joined
    with open(path, "rb") as f:
        counts = mmap.mmap(f.fileno(), 16, mmap.MAP_SHARED, mmap.PROT_READ)
    offset = 8 if sender_kind == "window" else 0  # windows' SENDs, or main's messages
    received = lambda: struct.unpack_from("=Q", counts, offset)[0]  # noqa: E731
    reported = lambda: sum(codes.values())  # noqa: E731

    accepted, struck = 0, False
    deadline = time.monotonic() + 60
    while accepted < TOTAL:
        assert time.monotonic() < deadline, f"the flood stalled at {accepted}"
        frozen = FREEZE <= accepted < FREEZE + BURST
        if not frozen and accepted - received() - reported() >= WINDOW:
            sender.run(timeout=1)  # (after the kill: until the router settles the lost session)
            continue
        try:
            sender.send(name, accepted)
        except prokit.AgainError:
            sender.run(timeout=1)  # held back: not accepted, sent again
            continue
        accepted += 1
        if accepted % 500 == 0 and not frozen:
            sender.dispatch()
        if accepted == FREEZE:
            counter.popen.send_signal(signal.SIGSTOP)
        if not struck and accepted == FREEZE + BURST:
            # The router has handled the burst once its PONG is back: it is
            # on its way to the window, not still to the router, which would
            # find the window gone (a window that keeps up confirms all it
            # took in within a millisecond: it may have none unconfirmed).
            assert sender.ping(5000)
            counter.kill()  # SIGKILL
            struck = True
    wait_for(lambda: received() + reported() >= accepted, sender, timeout=30)
    # The router's ERRORs come ahead of its PONG: once it is back, nothing
    # is still on its way.
    assert sender.ping(5000)
    got, total = received(), reported()
    unconfirmed = codes.get(EUNCONFIRMED, 0)
    others = total - unconfirmed
    print(f"\n{sender_kind} -> killed window: {accepted} accepted, {got} received + {total}"
          f" reported (by code {dict(sorted(codes.items()))}; {unconfirmed} unconfirmed)"
          f" = {got + total}")
    assert not elsewhere
    assert got + total >= accepted
    # The over-report lies within the unconfirmed reports: those with another
    # code are of messages that did not arrive (got + others <= accepted).
    assert got + total - accepted <= unconfirmed
    assert got + others <= accepted
    # The window died with messages it never confirmed (the flood runs up to
    # 3000 ahead of it; more went in before the router dropped it): at most
    # its credit may have been taken in unconfirmed.
    assert unconfirmed > 0
    assert got + total - accepted <= CREDIT
    assert classes == [prokit.UnconfirmedError] * unconfirmed
    sender.close()
    counts.close()
