"""Staff sign-in pieces: the machine token compare and the login throttle (on a fake clock)."""

from __future__ import annotations

from sharedcourt.settings import Settings
from sharedcourt.web.auth import LoginThrottle, token_matches

SETTINGS = Settings(staff_token="the-staff-token")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_matches_only_the_staff_token_and_never_an_empty_one() -> None:
    assert token_matches(SETTINGS, "the-staff-token")
    assert not token_matches(SETTINGS, "the-staff-toke")
    assert not token_matches(Settings(staff_token=""), "")


def test_the_lockout_ends_after_its_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(3, 900, clock)
    assert [throttle.failed("a"), throttle.failed("a"), throttle.failed("a")] == [0, 0, 900]
    clock.now += 899.5
    assert throttle.retry_after("a") == 1
    assert throttle.retry_after("b") == 0
    clock.now += 1
    assert throttle.retry_after("a") == 0
    assert throttle.failed("a") == 0  # counting starts afresh after a lockout


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = Clock()
    throttle = LoginThrottle(3, 60, clock)
    throttle.failed("a")
    throttle.failed("a")
    clock.now += 61
    assert throttle.failed("a") == 0
    assert throttle.failed("a") == 0
    assert throttle.failed("a") == 60


def test_success_forgets_the_failures() -> None:
    throttle = LoginThrottle(2, 60, Clock())
    throttle.failed("a")
    throttle.succeeded("a")
    assert throttle.failed("a") == 0
    assert throttle.failed("a") == 60
