"""Flow control and delivery reports, counted: more messages than the
credit window, and messages a window never took in."""
from __future__ import annotations

import threading

import prokit
from conftest import unique, wait_for

COUNT = 9000  # over twice the credit window of 4000


def test_more_than_the_credit_window(cmain):
    sender = prokit.Window(unique("tx"), endpoint=cmain.endpoint)
    receiver = prokit.Window(unique("rx"), endpoint=cmain.endpoint)
    got, undelivered = [], []
    receiver.on_window_message(lambda m: got.append(m.payload))
    sender.on_undelivered(lambda target, error: undelivered.append(error.code))
    finished = threading.Event()
    thread = threading.Thread(target=lambda: wait_for(finished.is_set, receiver, timeout=60))
    thread.start()
    try:
        for i in range(COUNT):
            # paced by the router's RECEIPTs: never more than 3000 unconfirmed
            while sender.unconfirmed(receiver.name) >= 3000:
                sender.run(timeout=5)
            sender.send(receiver.name, i)
        wait_for(lambda: len(got) == COUNT, sender)
    finally:
        finished.set()
        thread.join()
    # every one taken in, in order, none reported lost; the receiver
    # confirmed them with CREDIT as it went (else it would have stopped
    # receiving at 4000), and its BYE says the rest
    assert got == list(range(COUNT))
    assert receiver._confirmed > COUNT - 500
    receiver.close()
    wait_for(lambda: sender.unconfirmed(receiver.name) == 0, sender)
    assert undelivered == []
    sender.close()


def test_messages_never_taken_in_are_reported(cmain):
    sender = prokit.Window(unique("tx"), endpoint=cmain.endpoint)
    receiver = prokit.Window(unique("rx"), endpoint=cmain.endpoint)
    reports = []
    sender.on_undelivered(lambda target, error: reports.append((target, error.code, error.text)))
    for i in range(5):
        sender.send(receiver.name, i)
    # the router handles a connection's messages in order: once main has
    # answered this, the five are queued for the receiver
    assert sender.request(prokit.MAIN, "sync") == "main:sync"
    # the receiver takes none of them in and leaves: its BYE says so
    receiver.close()
    wait_for(lambda: len(reports) == 5, sender)
    assert [r[:2] for r in reports] == [(receiver.name, -8)] * 5
    assert "were not taken in" in reports[0][2]
    assert sender.unconfirmed(receiver.name) == 0
    sender.close()
