"""How long to wait before trying a failed call again: payer calls, webhooks, jobs.

Pure: the caller draws the random jitter, so every schedule is reproducible in tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits about ``base * 2**(n-1)``, capped.

    "Equal jitter": half the exponential step is fixed, the other half random, so
    retries from many workers spread out yet none retries almost at once.
    """

    base_seconds: float = 2.0
    cap_seconds: float = 600.0
    max_attempts: int = 6

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError("backoff needs 0 < base_seconds <= cap_seconds")
        if self.max_attempts < 1:
            raise ValueError("backoff needs at least one attempt")

    def ceiling(self, attempt: int) -> float:
        """The longest wait after failed attempt ``attempt`` (1-based), before jitter halves it."""
        if attempt < 1:
            raise ValueError(f"attempts count from 1, got {attempt}")
        # Cap the exponent first: 2**attempt overflows a float long before any real use.
        return min(self.cap_seconds, self.base_seconds * 2.0 ** min(attempt - 1, 64))

    def delay(self, attempt: int, random_fraction: float) -> timedelta:
        """The wait after failed attempt ``attempt``; ``random_fraction`` in [0, 1) is the jitter.

        The caller draws the fraction (``random.random()``), which keeps this function pure.
        """
        if not 0.0 <= random_fraction < 1.0:
            raise ValueError(f"random_fraction must be in [0, 1), got {random_fraction}")
        half = self.ceiling(attempt) / 2
        return timedelta(seconds=half + half * random_fraction)

    def schedule(self, fractions: Sequence[float]) -> tuple[timedelta, ...]:
        """The waits between all attempts, one fraction per retry (``max_attempts - 1`` of them)."""
        retries = self.max_attempts - 1
        if len(fractions) != retries:
            raise ValueError(f"{retries} retries need {retries} random fractions")
        return tuple(self.delay(n, f) for n, f in enumerate(fractions, start=1))

    def gives_up_after(self, attempt: int) -> bool:
        """Whether attempt ``attempt`` was the last one allowed."""
        return attempt >= self.max_attempts
