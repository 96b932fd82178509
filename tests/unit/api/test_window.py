"""The runs-bulk window as a pure object: each request is sent at the level the window
allows (a full window, as when chunks are waiting) and the test's server says whether it is
answered or throttled. No sockets, no clock."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from gate.api.client import InFlightWindow

# (level, request number) -> answered 429
Server = Callable[[int, int], bool]


def serve(window: InFlightWindow, server: Server, requests: int) -> list[int]:
    """Send ``requests`` at a full window; the 429s' levels."""
    throttled = []
    for number in range(requests):
        level = window.limit
        if server(level, number):
            throttled.append(level)
            window.throttled(level)
        else:
            window.answered(level)
    return throttled


def limiting(most: int) -> Server:
    return lambda level, _: level > most


def test_the_window_grows_with_full_windows_answered_and_stops_below_the_first_429() -> None:
    window = InFlightWindow(cap=8, limit=2)
    window.answered(1)  # not a full window: says nothing about a larger one
    assert window.limit == 2
    window.answered(2)
    window.answered(3)
    assert window.limit == 4
    window.throttled(4)
    assert window.limit == 3


def test_a_server_limiting_the_number_in_flight_costs_few_extra_requests() -> None:
    for asked in (8, 16):
        window = InFlightWindow(cap=asked)
        assert len(serve(window, limiting(4), 100)) <= 5  # the 5 %
        assert window.limit == 4
        # Probed rarely: the longer the fetch, the smaller the share of 429s.
        assert len(serve(window, limiting(4), 2000)) <= 20
        assert window.limit == 4


def test_a_request_one_above_the_limit_answered_now_and_then_proves_nothing() -> None:
    # The client counts a request in flight until it has read the answer, the server until
    # it has written it: one sent at one above the server's limit is often let through.
    def disagreeing(level: int, number: int) -> bool:
        return level > 5 or (level == 5 and number % 2 == 0)

    for asked in (8, 16):
        window = InFlightWindow(cap=asked)
        assert len(serve(window, disagreeing, 100)) <= 5
        assert len(serve(window, disagreeing, 2000)) <= 30
        assert window.limit == 4


def test_a_429_now_and_then_below_the_limit_does_not_send_the_window_above_it() -> None:
    window = InFlightWindow(cap=8)
    serve(window, limiting(4), 100)

    def now_and_then(level: int, number: int) -> bool:
        return level > 4 or number % 25 == 0  # the client and server disagree on levels

    assert len(serve(window, now_and_then, 500)) <= 40
    assert window.limit >= 3


def at_random(share: float, seed: int) -> Server:
    draw = random.Random(seed)
    return lambda _level, _number: draw.random() < share


@pytest.mark.parametrize("seed", range(5))
def test_throttling_unrelated_to_the_number_in_flight_does_not_collapse_the_window(
    seed: int,
) -> None:
    window = InFlightWindow(cap=8)
    server = at_random(0.2, seed)
    serve(window, server, 50)  # the window opens
    limits = []
    for _ in range(1000):
        serve(window, server, 1)
        limits.append(window.limit)
    assert sum(limits) / len(limits) >= 6.5  # a fifth of the requests throttled at any level


def test_a_server_raising_its_limit_is_followed_up() -> None:
    window = InFlightWindow(cap=16)
    serve(window, limiting(4), 300)
    serve(window, limiting(8), 3000)
    assert window.limit == 8


def test_a_server_tightening_its_limit_is_followed_down() -> None:
    window = InFlightWindow(cap=8)
    serve(window, lambda _level, _number: False, 100)
    assert window.limit == 8
    assert len(serve(window, limiting(3), 100)) <= 20
    assert window.limit == 3


def test_the_window_never_exceeds_its_cap() -> None:
    window = InFlightWindow(cap=3)
    serve(window, lambda _level, _number: False, 100)
    assert window.limit == 3
    assert InFlightWindow(cap=3, limit=10).limit == 3
