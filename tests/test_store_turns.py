"""Turns at SQLite's write lock (bot.store.turns): first come, first served, and the holder can
tell that somebody waits."""

from __future__ import annotations

import threading
import time

from bot.store.turns import NO_TURNS, WriteTurns, turns_for


def wait_for(condition, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_waiting_threads_are_served_in_the_order_they_asked():
    turns, order, asked = WriteTurns(), [], []

    def writer(name: str) -> None:
        asked.append(name)
        with turns.turn():
            order.append(name)

    with turns.turn():
        assert not turns.wanted()
        threads = []
        for name in "abcd":
            thread = threading.Thread(target=writer, args=(name,))
            thread.start()
            threads.append(thread)
            wait_for(lambda n=name: n in asked)
            time.sleep(0.02)  # it is waiting in turn() now
        assert turns.wanted()
        assert order == []  # nobody writes while the turn is held
    for thread in threads:
        thread.join(5)
    assert order == list("abcd")
    assert not turns.wanted()


def test_the_holder_may_take_its_turn_again():
    turns = WriteTurns()
    with turns.turn():
        with turns.turn():
            pass
        other = threading.Thread(target=lambda: turns.turn().__enter__())
        other.start()
        time.sleep(0.05)
        assert other.is_alive()  # the inner turn's end did not release the outer one
    other.join(5)
    assert not other.is_alive()


def test_only_sqlite_takes_turns():
    assert isinstance(turns_for("sqlite"), WriteTurns)
    assert turns_for("postgresql") is NO_TURNS
    with NO_TURNS.turn():
        assert not NO_TURNS.wanted()
