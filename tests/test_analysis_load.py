"""Analysis under load: the detector is handed to cameras first come, first served, and the load each camera's
analysis is under (analysed fps, share of pictures skipped) is measured over a sliding window."""

from __future__ import annotations

import threading
import time

from vigil.events.analysis_load import FairLock, LoadMeter


def test_fair_lock_serves_in_the_order_asked() -> None:
    lock = FairLock()
    order: list[int] = []
    lock.__enter__()  # held: everyone below queues
    threads = []
    for i in range(6):
        def take(i: int = i) -> None:
            with lock:
                order.append(i)
        t = threading.Thread(target=take)
        t.start()
        threads.append(t)
        time.sleep(0.05)  # each asks after the one before
    lock.__exit__()
    for t in threads:
        t.join(5)
    assert order == list(range(6))


def test_a_busy_camera_does_not_starve_the_others() -> None:
    """Four threads ask for the lock in a tight loop (as cameras do when the detector is the bottleneck): each
    gets an equal share, where a plain lock lets whoever just released it take it again."""
    lock = FairLock()
    counts = [0] * 4
    stop = time.monotonic() + 1.0

    def camera(i: int) -> None:
        while time.monotonic() < stop:
            with lock:
                counts[i] += 1
                sum(range(20_000))  # the forward pass and its Python post-processing

    threads = [threading.Thread(target=camera, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert min(counts) >= 0.8 * max(counts), counts


def test_a_fair_lock_of_two_permits_lets_two_in_at_once() -> None:
    """The detector working on two pictures at once: never a third, and every camera still gets its turn."""
    lock = FairLock(2)
    inside, most = [0], [0]
    guard = threading.Lock()
    counts = [0] * 4
    stop = time.monotonic() + 1.0

    def camera(i: int) -> None:
        while time.monotonic() < stop:
            with lock:
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.002)  # a forward pass, which releases the GIL
                with guard:
                    inside[0] -= 1
                counts[i] += 1

    threads = [threading.Thread(target=camera, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert most[0] == 2 and inside[0] == 0
    assert min(counts) >= 0.8 * max(counts), counts


def test_load_meter_reports_rate_and_skipped_share() -> None:
    meter = LoadMeter(window_s=10)
    assert meter.add(0.0, 0, 0) == (0.0, 0.0)
    # 5 pictures a second analysed, none skipped.
    for s in range(1, 11):
        fps, dropped = meter.add(float(s), 5 * s, 0)
    assert (fps, dropped) == (5.0, 0.0)
    # Then the machine falls behind: 4 a second analysed, 1 skipped: 20 % of the due pictures.
    for s in range(11, 31):
        fps, dropped = meter.add(float(s), 50 + 4 * (s - 10), s - 10)
    assert (fps, dropped) == (4.0, 20.0)
