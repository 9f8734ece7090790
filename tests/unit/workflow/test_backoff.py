"""The retry schedule of payer calls: exponential, capped, jittered within known bounds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from precert.domain.retry import Backoff

fractions = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)


def test_schedule_doubles_then_caps() -> None:
    """With no jitter drawn, waits are half of 2, 4, 8, ... seconds, capped at the ceiling."""
    backoff = Backoff(base_seconds=2, cap_seconds=10, max_attempts=6)
    assert backoff.schedule([0.0] * 5) == tuple(timedelta(seconds=s) for s in (1, 2, 4, 5, 5))


@given(attempt=st.integers(min_value=1, max_value=200), fraction=fractions)
def test_delay_stays_between_half_and_full_ceiling(attempt: int, fraction: float) -> None:
    """Every wait lies in [ceiling/2, ceiling), and the ceiling never passes the cap."""
    backoff = Backoff(base_seconds=1.5, cap_seconds=300)
    ceiling = backoff.ceiling(attempt)
    assert ceiling <= 300
    seconds = backoff.delay(attempt, fraction).total_seconds()
    assert ceiling / 2 - 1e-6 <= seconds < ceiling + 1e-6


@given(attempt=st.integers(min_value=1, max_value=100), fraction=fractions)
def test_ceiling_never_shrinks(attempt: int, fraction: float) -> None:
    """A later attempt never waits less at the same jitter."""
    backoff = Backoff()
    assert backoff.delay(attempt + 1, fraction) >= backoff.delay(attempt, fraction)


@given(st.lists(fractions, min_size=5, max_size=5))
def test_jitter_spreads_but_total_is_bounded(draws: list[float]) -> None:
    """Whatever the draws, the whole schedule fits between half and all of the ceilings."""
    backoff = Backoff(base_seconds=2, cap_seconds=600, max_attempts=6)
    total = sum(backoff.schedule(draws), timedelta()).total_seconds()
    ceilings = sum(backoff.ceiling(n) for n in range(1, 6))
    assert ceilings / 2 - 1e-6 <= total <= ceilings


def test_gives_up_at_the_last_attempt() -> None:
    """Attempts count from 1 and the last allowed one gives up."""
    backoff = Backoff(max_attempts=3)
    assert [backoff.gives_up_after(n) for n in (1, 2, 3)] == [False, False, True]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_seconds": 0}, "base_seconds"),
        ({"base_seconds": 10, "cap_seconds": 5}, "base_seconds"),
        ({"max_attempts": 0}, "at least one"),
    ],
)
def test_rejects_nonsense_settings(kwargs: dict[str, float], message: str) -> None:
    """A zero base, a cap below the base or no attempts at all is refused."""
    with pytest.raises(ValueError, match=message):
        Backoff(**kwargs)  # type: ignore[arg-type]


def test_rejects_fraction_outside_unit_interval() -> None:
    """The jitter fraction must come from [0, 1), as random.random() gives."""
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Backoff().delay(1, 1.0)
