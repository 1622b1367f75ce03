"""bot.outbox.pause: after a server's "later" every sender waits, longer while it goes on."""

from __future__ import annotations

import threading

from bot.outbox.pause import FIRST, LONGEST, SendPause


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_pauses_and_each_new_round_of_failures_doubles_the_pause():
    clock = Clock()
    pause = SendPause(clock)
    assert pause.left() == 0
    pause.note(retried=True, sent=False)
    assert pause.left() == FIRST
    pause.note(retried=True, sent=False)  # another thread of the same round
    assert pause.left() == FIRST
    lengths = []
    for _ in range(8):
        clock.now += pause.left()  # the pause is over; the next try fails again
        pause.note(retried=True, sent=False)
        lengths.append(pause.left())
    assert lengths == [4.0, 8.0, 16.0, 32.0, LONGEST, LONGEST, LONGEST, LONGEST]


def test_a_mail_sent_ends_the_run_of_failures():
    clock = Clock()
    pause = SendPause(clock)
    pause.note(retried=True, sent=False)
    clock.now += FIRST
    pause.note(retried=True, sent=False)
    assert pause.left() == 2 * FIRST
    clock.now += 2 * FIRST
    pause.note(retried=False, sent=True)
    pause.note(retried=True, sent=False)
    assert pause.left() == FIRST  # from the start again
    pause.note(retried=False, sent=False)  # nothing to send: changes nothing
    assert pause.left() == FIRST


def test_waiting_ends_when_the_pause_does_or_when_stopped():
    pause = SendPause()
    stop = threading.Event()
    pause.wait(stop)  # no pause: returns at once
    pause.note(retried=True, sent=False)
    stop.set()
    pause.wait(stop)  # stopped: returns at once, the pause still in force
    assert pause.left() > 0
