"""Polling waits: for a background thread (a live run, a training, the hub's queue) or a page."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def first_true(cond: Callable[[], T], timeout: float, poll: float) -> T | None:
    """Poll ``cond`` until it returns something true (returned) or ``timeout`` seconds have
    passed (None)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if value := cond():
            return value
        time.sleep(poll)
    return None


def wait_for(cond: Callable[[], object], timeout: float = 30.0, poll: float = 0.02) -> bool:
    """Poll ``cond`` until it is true (True) or ``timeout`` seconds have passed (False)."""
    return first_true(cond, timeout, poll) is not None


def wait_until(predicate: Callable[[], T], timeout_s: float, what: str, poll_s: float = 0.25) -> T:
    """The first true value of ``predicate()``; an AssertionError naming ``what`` after
    ``timeout_s`` seconds without one."""
    value = first_true(predicate, timeout_s, poll_s)
    if value is None:
        raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
    return value
