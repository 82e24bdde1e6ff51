"""The shared test clock: time moves only when every joined thread sleeps, to the earliest wake-up."""

from __future__ import annotations

import threading

from tests.clock import SharedClock


def test_threads_sleep_in_parallel_and_wake_in_order() -> None:
    clock = SharedClock(0.0)
    woke: list[tuple[str, float]] = []
    lock = threading.Lock()
    all_joined = threading.Barrier(3)

    def sleeper(name: str, naps: list[float]) -> None:
        with clock.joined():
            all_joined.wait(10)  # a thread that joins later finds time already moved on
            for nap in naps:
                clock.sleep(nap)
                with lock:
                    woke.append((name, clock.now))

    threads = [
        threading.Thread(target=sleeper, args=("a", [3.0, 3.0])),
        threading.Thread(target=sleeper, args=("b", [5.0])),
        threading.Thread(target=sleeper, args=("c", [1.0, 1.0, 1.0])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    # Three sleepers at once take as long as the longest, not the sum; each wakes exactly on time.
    assert sorted(woke, key=lambda w: (w[1], w[0])) == [
        ("c", 1.0),
        ("c", 2.0),
        ("a", 3.0),
        ("c", 3.0),
        ("b", 5.0),
        ("a", 6.0),
    ]
    assert clock.now == 6.0


def test_time_stands_still_while_a_joined_thread_works() -> None:
    clock = SharedClock(0.0)
    working = threading.Event()
    release = threading.Event()
    slept: list[float] = []

    def worker() -> None:
        with clock.joined():
            working.set()
            release.wait(10)  # busy (not asleep on the clock)

    def sleeper() -> None:
        with clock.joined():
            clock.sleep(2.0)
            slept.append(clock.now)

    busy = threading.Thread(target=worker)
    busy.start()
    working.wait(10)
    napping = threading.Thread(target=sleeper)
    napping.start()
    napping.join(0.2)
    assert napping.is_alive() and clock.now == 0.0  # the worker has not slept: no time passes
    release.set()  # the worker leaves: time may move
    napping.join(10)
    busy.join(10)
    assert slept == [2.0]
