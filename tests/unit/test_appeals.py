"""Appeal economics: overturn probability, expected value and filing deadlines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from precert.domain.appeals import (
    OWN_HISTORY_MINIMUM,
    AppealLevel,
    assess_appeal,
    next_appeal_levels,
    overturn_probability,
)


def test_seed_rate_until_enough_history() -> None:
    """With little history the seed's midpoint (35% at first level) is used, and says so."""
    few = [(AppealLevel.FIRST_LEVEL, True)] * (OWN_HISTORY_MINIMUM - 1)
    estimate = overturn_probability(AppealLevel.FIRST_LEVEL, few)
    assert estimate.probability == Decimal("0.35")
    assert "seed" in estimate.source


def test_own_history_replaces_the_seed() -> None:
    """Twenty decided first-level appeals, fifteen overturned, give 75%."""
    history = [(AppealLevel.FIRST_LEVEL, True)] * 15 + [(AppealLevel.FIRST_LEVEL, False)] * 5
    history += [(AppealLevel.SECOND_LEVEL, False)] * 30  # other levels do not count
    estimate = overturn_probability(AppealLevel.FIRST_LEVEL, history)
    assert estimate.probability == Decimal("0.750")
    assert estimate.source == "organization history (n=20)"


def test_expected_value_by_hand() -> None:
    """$10,000 at 35% minus 90 minutes at $40/h is $3,440; filing 60 days after the denial."""
    assessment = assess_appeal(
        AppealLevel.FIRST_LEVEL,
        decided_on=date(2026, 3, 2),
        amount_at_stake=Decimal("10000"),
        history=(),
        staff_cost_per_hour=Decimal("40"),
    )
    assert assessment.staff_cost == Decimal("60.00")
    assert assessment.expected_value == Decimal("3440.00")
    assert assessment.file_by == date(2026, 5, 1)
    assert assessment.decision_expected_by == date(2026, 6, 30)
    assert assessment.worth_appealing


def test_small_claims_are_not_worth_appealing() -> None:
    """A $100 denial at external review costs more in staff time than it can recover."""
    assessment = assess_appeal(
        AppealLevel.EXTERNAL_REVIEW,
        decided_on=date(2026, 3, 2),
        amount_at_stake=Decimal("100"),
        history=(),
        staff_cost_per_hour=Decimal("45"),
    )
    assert not assessment.worth_appealing


@given(st.lists(st.sampled_from(list(AppealLevel)), max_size=4))
def test_open_levels_come_after_the_last_attempted(attempted: list[AppealLevel]) -> None:
    """Open levels are exactly those later than every level already attempted."""
    order = list(AppealLevel)
    open_levels = next_appeal_levels(tuple(attempted))
    last = max((order.index(level) for level in attempted), default=-1)
    assert list(open_levels) == order[last + 1 :]
