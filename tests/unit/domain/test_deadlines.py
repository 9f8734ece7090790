"""The business-day clock and the submission, decision and approval deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from precert.domain.authorization import (
    Actor,
    AuthorizationRequest,
    Coverage,
    Decision,
    LineDetermination,
    LineOfBusiness,
    Patient,
    Provider,
    Role,
    ServiceCategory,
    ServiceLine,
    Sex,
    Urgency,
)
from precert.domain.codes import CodeSystem, npi_check_digit
from precert.domain.deadlines import (
    DeadlineKind,
    Timeframe,
    TimeUnit,
    add_business_days,
    approval_validity_end,
    business_days_between,
    business_slack,
    decision_due,
    end_of_day,
    is_business_day,
    lines_expiring_before_service,
    next_deadline,
    submission_due,
    subtract_business_days,
)

CHICAGO = ZoneInfo("America/Chicago")
COORDINATOR = Actor(id="user-1", role=Role.COORDINATOR)
PAYER = Actor(id="payer:northwind-health", role=Role.INTEGRATION)
STATES = st.sampled_from([None, "MO", "TX", "CA", "NY"])


def _local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=CHICAGO)


def _request(service_start: date, service_end: date | None = None) -> AuthorizationRequest:
    npi = "123456789" + npi_check_digit("123456789")
    return AuthorizationRequest.open(
        actor=COORDINATOR,
        at=_local(2026, 3, 2, 9, 0),
        organization_id="demo",
        patient=Patient(
            id="MRN-1",
            given_name="Ada",
            family_name="Example",
            birth_date=date(1970, 1, 1),
            sex=Sex.FEMALE,
            member_id="DM0000001",
        ),
        coverage=Coverage(
            payer_id="northwind-health",
            plan="PPO",
            line_of_business=LineOfBusiness.COMMERCIAL,
            member_id="DM0000001",
            state="MO",
            effective_from=date(2026, 1, 1),
        ),
        requesting_provider=Provider(npi=npi, name="Dr Example"),
        servicing_provider=Provider(npi=npi, name="Example Imaging", kind="organization"),
        service_lines=(
            ServiceLine(
                code_system=CodeSystem.CPT,
                code="72148",
                units=Decimal(1),
                service_start=service_start,
                service_end=service_end or service_start,
                place_of_service="11",
                diagnoses=("M54.16",),
            ),
        ),
        category=ServiceCategory.ADVANCED_IMAGING,
    )


def _approved(valid_to: date) -> LineDetermination:
    return LineDetermination(
        decision=Decision.APPROVED,
        certification_number="NW123",
        valid_from=date(2026, 3, 4),
        valid_to=valid_to,
    )


# --- the business-day calendar ------------------------------------------------------------


def test_weekends_are_skipped() -> None:
    """One business day after a Friday is the Monday; one before a Monday is the Friday."""
    assert add_business_days(date(2026, 3, 6), 1) == date(2026, 3, 9)
    assert subtract_business_days(date(2026, 3, 9), 1) == date(2026, 3, 6)
    assert add_business_days(date(2026, 3, 6), 5) == date(2026, 3, 13)


def test_adding_zero_days_keeps_the_day() -> None:
    """Adding no business days returns the day itself, even a Saturday."""
    assert add_business_days(date(2026, 3, 7), 0) == date(2026, 3, 7)


def test_thanksgiving_is_no_business_day() -> None:
    """Thanksgiving (fourth Thursday of November) is a federal holiday."""
    assert not is_business_day(date(2025, 11, 27))
    assert add_business_days(date(2025, 11, 26), 1) == date(2025, 11, 28)


def test_july_fourth_on_a_saturday_is_observed_on_friday() -> None:
    """Independence Day 2026 falls on a Saturday; Friday July 3 is the observed holiday."""
    assert not is_business_day(date(2026, 7, 3))
    assert add_business_days(date(2026, 7, 2), 1) == date(2026, 7, 6)


def test_observed_new_year_falls_in_the_previous_year() -> None:
    """New Year's Day 2028 is a Saturday: Friday 2027-12-31 is observed."""
    assert not is_business_day(date(2027, 12, 31))
    assert add_business_days(date(2027, 12, 30), 1) == date(2028, 1, 3)


def test_monday_holiday_moves_a_count_back_past_the_weekend() -> None:
    """Counting back from the Tuesday after Martin Luther King Jr. Day lands on Friday."""
    assert subtract_business_days(date(2026, 1, 20), 1) == date(2026, 1, 16)


def test_missouri_truman_day_counts_only_in_missouri() -> None:
    """Truman Day (May 8) is a Missouri state holiday, not a federal one."""
    truman_day = date(2026, 5, 8)
    assert not is_business_day(truman_day, "MO")
    assert is_business_day(truman_day)
    assert is_business_day(truman_day, "KS")
    assert add_business_days(date(2026, 5, 7), 1, "MO") == date(2026, 5, 11)
    assert add_business_days(date(2026, 5, 7), 1) == truman_day


def test_business_days_between_counts_days_after_the_start() -> None:
    """Friday to Monday is one business day; reversed, it is minus one."""
    friday, monday = _local(2026, 3, 6, 16, 0), _local(2026, 3, 9, 9, 0)
    assert business_days_between(friday, monday, tz=CHICAGO) == 1
    assert business_days_between(monday, friday, tz=CHICAGO) == -1
    assert business_days_between(friday, friday + timedelta(hours=1), tz=CHICAGO) == 0


def test_business_days_between_uses_the_local_date() -> None:
    """03:00 UTC on a Saturday is still Friday evening in Chicago."""
    friday_evening = datetime(2026, 3, 7, 3, 0, tzinfo=UTC)
    monday = _local(2026, 3, 9, 9, 0)
    assert business_days_between(friday_evening, monday, tz=CHICAGO) == 1


def test_naive_instants_are_refused() -> None:
    """Deadlines need timezone-aware instants; a naive one is an error, not a guess."""
    with pytest.raises(ValueError, match="no timezone"):
        decision_due(datetime(2026, 3, 2, 9, 0), Urgency.STANDARD, tz=CHICAGO)


# --- decision clocks ------------------------------------------------------------------


def test_expedited_is_72_elapsed_hours_across_spring_forward() -> None:
    """Across the March DST change, 72 hours end one wall-clock hour later."""
    submitted = _local(2026, 3, 6, 10, 0)
    due = decision_due(submitted, Urgency.EXPEDITED, tz=CHICAGO).due
    assert due == _local(2026, 3, 9, 11, 0)
    # Subtracting two datetimes of one zone gives wall-clock time (73 h here); compare in UTC.
    assert due.astimezone(UTC) - submitted.astimezone(UTC) == timedelta(hours=72)
    assert due.utcoffset() == timedelta(hours=-5)


def test_expedited_is_72_elapsed_hours_across_fall_back() -> None:
    """Across the November DST change, 72 hours end one wall-clock hour earlier."""
    submitted = _local(2026, 10, 30, 10, 0)
    due = decision_due(submitted, Urgency.EXPEDITED, tz=CHICAGO).due
    assert due == _local(2026, 11, 2, 9, 0)
    assert due.astimezone(UTC) - submitted.astimezone(UTC) == timedelta(hours=72)


def test_standard_is_the_end_of_the_seventh_calendar_day() -> None:
    """Standard review ends at local end of day 7 days later, whatever the DST change."""
    submitted = _local(2026, 3, 5, 16, 0)
    deadline = decision_due(submitted, Urgency.STANDARD, tz=CHICAGO)
    assert deadline.due == _local(2026, 3, 12, 23, 59, 59)
    assert deadline.due.utcoffset() == timedelta(hours=-5)
    assert not deadline.extended
    assert not deadline.set_by_payer


def test_standard_extension_runs_to_fourteen_calendar_days() -> None:
    """An extension the payer recorded moves the standard clock to 14 calendar days."""
    submitted = _local(2026, 10, 28, 11, 0)
    deadline = decision_due(submitted, Urgency.STANDARD, tz=CHICAGO, extended=True)
    assert deadline.due == _local(2026, 11, 11, 23, 59, 59)
    assert deadline.extended


def test_a_shorter_payer_timeframe_binds() -> None:
    """A payer promising 2 business days is held to it, not to the regulatory 7 days."""
    submitted = _local(2026, 3, 6, 10, 0)
    payer = Timeframe(2, TimeUnit.BUSINESS_DAYS)
    deadline = decision_due(submitted, Urgency.STANDARD, tz=CHICAGO, payer_timeframe=payer)
    assert deadline.due == end_of_day(date(2026, 3, 10), CHICAGO)
    assert deadline.set_by_payer
    assert deadline.regulatory_due == end_of_day(date(2026, 3, 13), CHICAGO)


def test_a_longer_payer_timeframe_does_not_extend_the_regulatory_clock() -> None:
    """A payer stating 10 business days is still due within the regulatory 72 hours."""
    submitted = _local(2026, 3, 6, 10, 0)
    payer = Timeframe(10, TimeUnit.BUSINESS_DAYS)
    deadline = decision_due(submitted, Urgency.EXPEDITED, tz=CHICAGO, payer_timeframe=payer)
    assert deadline.due == deadline.regulatory_due == _local(2026, 3, 9, 11, 0)
    assert not deadline.set_by_payer


def test_payer_timeframes_in_hours_and_calendar_days() -> None:
    """48 hours are elapsed hours; 3 calendar days end at local end of day."""
    submitted = _local(2026, 3, 7, 10, 0)
    hours = decision_due(
        submitted, Urgency.STANDARD, tz=CHICAGO, payer_timeframe=Timeframe(48, TimeUnit.HOURS)
    )
    assert hours.due == _local(2026, 3, 9, 11, 0)
    days = decision_due(
        submitted,
        Urgency.STANDARD,
        tz=CHICAGO,
        payer_timeframe=Timeframe(3, TimeUnit.CALENDAR_DAYS),
    )
    assert days.due == _local(2026, 3, 10, 23, 59, 59)


def test_negative_timeframes_are_refused() -> None:
    """A timeframe cannot run backwards."""
    with pytest.raises(ValueError, match="negative"):
        Timeframe(-1, TimeUnit.HOURS)


# --- submission, approval and next deadline -----------------------------------------------


def test_submission_due_is_lead_time_business_days_before_service() -> None:
    """Two business days before Monday after Thanksgiving week is the Wednesday before."""
    due = submission_due(date(2026, 11, 30), 2, tz=CHICAGO, state="MO")
    assert due == _local(2026, 11, 25, 23, 59, 59)


def test_submission_due_skips_the_state_holiday() -> None:
    """A lead time counted back over Truman Day skips it in Missouri."""
    assert submission_due(date(2026, 5, 11), 1, tz=CHICAGO, state="MO") == _local(
        2026, 5, 7, 23, 59, 59
    )
    assert submission_due(date(2026, 5, 11), 1, tz=CHICAGO, state="KS") == _local(
        2026, 5, 8, 23, 59, 59
    )


def test_submission_without_lead_time_is_due_before_care() -> None:
    """No lead time: due at the start of the service date."""
    assert submission_due(date(2026, 3, 9), 0, tz=CHICAGO) == _local(2026, 3, 9, 0, 0)
    with pytest.raises(ValueError, match="negative"):
        submission_due(date(2026, 3, 9), -1, tz=CHICAGO)


def test_approval_validity_and_expiry_before_service() -> None:
    """An approval ending before the last service date is flagged for its line."""
    request = _request(date(2026, 3, 20), date(2026, 4, 30))
    request.mark_ready(COORDINATOR, _local(2026, 3, 2, 10, 0))
    request.submit(COORDINATOR, _local(2026, 3, 2, 11, 0), channel="sandbox", attempt_key="k1")
    assert approval_validity_end(request) is None
    request.record_determination(PAYER, _local(2026, 3, 4, 9, 0), {0: _approved(date(2026, 4, 19))})
    assert approval_validity_end(request) == date(2026, 4, 19)
    assert lines_expiring_before_service(request) == (0,)


def test_approval_covering_the_service_is_not_flagged() -> None:
    """Validity through the last service date raises no flag."""
    request = _request(date(2026, 3, 20))
    request.mark_ready(COORDINATOR, _local(2026, 3, 2, 10, 0))
    request.submit(COORDINATOR, _local(2026, 3, 2, 11, 0), channel="sandbox", attempt_key="k1")
    request.record_determination(PAYER, _local(2026, 3, 4, 9, 0), {0: _approved(date(2026, 5, 1))})
    assert lines_expiring_before_service(request) == ()


def test_next_deadline_follows_the_request_through_its_life() -> None:
    """Draft: submission; submitted: decision; approved: validity end; denied: none."""
    request = _request(date(2026, 3, 20))
    now = _local(2026, 3, 2, 12, 0)
    draft = next_deadline(request, now, tz=CHICAGO, lead_time_business_days=3)
    assert draft is not None
    assert draft.kind is DeadlineKind.SUBMISSION
    assert draft.due == _local(2026, 3, 17, 23, 59, 59)
    assert not draft.at_risk

    request.mark_ready(COORDINATOR, now)
    request.submit(COORDINATOR, now, channel="sandbox", attempt_key="k1")
    submitted = next_deadline(request, now, tz=CHICAGO)
    assert submitted is not None
    assert submitted.kind is DeadlineKind.DECISION
    assert submitted.due == _local(2026, 3, 9, 23, 59, 59)

    request.record_determination(PAYER, _local(2026, 3, 4, 9, 0), {0: _approved(date(2026, 4, 1))})
    approved = next_deadline(request, _local(2026, 4, 1, 9, 0), tz=CHICAGO)
    assert approved is not None
    assert approved.kind is DeadlineKind.APPROVAL_EXPIRY
    assert approved.at_risk
    assert not approved.overdue


def test_next_deadline_is_none_for_a_denial() -> None:
    """A denial's next deadline belongs to its appeal case, not to the request clock."""
    request = _request(date(2026, 3, 20))
    request.mark_ready(COORDINATOR, _local(2026, 3, 2, 10, 0))
    request.submit(COORDINATOR, _local(2026, 3, 2, 11, 0), channel="sandbox", attempt_key="k1")
    denial = LineDetermination(decision=Decision.DENIED, reason_text="Not medically necessary")
    request.record_determination(PAYER, _local(2026, 3, 4, 9, 0), {0: denial})
    assert next_deadline(request, _local(2026, 3, 5, 9, 0), tz=CHICAGO) is None


def test_overdue_submission_is_at_risk_with_negative_slack() -> None:
    """A missed lead time reads as overdue and at risk."""
    request = _request(date(2026, 3, 4))
    deadline = next_deadline(
        request, _local(2026, 3, 3, 9, 0), tz=CHICAGO, lead_time_business_days=3
    )
    assert deadline is not None
    assert deadline.overdue
    assert deadline.at_risk
    assert deadline.slack_business_days < 0


def test_slack_counts_only_business_time() -> None:
    """Friday 17:00 to Monday 09:00 counts Friday's last 7 hours and Monday's first 9."""
    slack = business_slack(_local(2026, 3, 6, 17, 0), _local(2026, 3, 9, 9, 0), tz=CHICAGO)
    assert slack == pytest.approx(16 / 24)
    assert business_slack(_local(2026, 3, 9, 9, 0), _local(2026, 3, 6, 17, 0), tz=CHICAGO) == (
        pytest.approx(-16 / 24)
    )


def test_slack_across_dst_changes_counts_whole_business_days() -> None:
    """A week spanning the 25-hour fall-back Sunday still holds five business days of slack."""
    # US changes happen on Sundays, so the short and long days themselves never count.
    slack = business_slack(_local(2026, 10, 26, 0, 0), _local(2026, 11, 2, 0, 0), tz=CHICAGO)
    assert slack == pytest.approx(5.0)
    # 2026-03-09 is the Monday after spring-forward: a plain 24-hour business day.
    monday = business_slack(_local(2026, 3, 9, 0, 0), _local(2026, 3, 10, 0, 0), tz=CHICAGO)
    assert monday == pytest.approx(1.0)


# --- properties -----------------------------------------------------------------------


@given(
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31)),
    count=st.integers(min_value=0, max_value=80),
    state=STATES,
)
def test_adding_then_counting_gives_the_same_number(
    day: date, count: int, state: str | None
) -> None:
    """Counting business days from a day to the day n business days later gives n."""
    later = add_business_days(day, count, state)
    start = datetime.combine(day, time(12), tzinfo=CHICAGO)
    end = datetime.combine(later, time(9), tzinfo=CHICAGO)
    assert business_days_between(start, end, tz=CHICAGO, state=state) == count


@given(
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31)),
    count=st.integers(min_value=1, max_value=80),
    state=STATES,
)
def test_results_never_land_on_a_weekend_or_holiday(
    day: date, count: int, state: str | None
) -> None:
    """Adding or subtracting at least one business day always lands on a business day."""
    for result in (add_business_days(day, count, state), subtract_business_days(day, count, state)):
        assert result.weekday() < 5
        assert is_business_day(result, state)


@given(
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31)).filter(is_business_day),
    count=st.integers(min_value=0, max_value=80),
)
def test_subtracting_undoes_adding_from_a_business_day(day: date, count: int) -> None:
    """From a business day, n forward then n back returns to it."""
    assert subtract_business_days(add_business_days(day, count), count) == day


@given(
    moment=st.datetimes(
        min_value=datetime(2024, 1, 1),
        max_value=datetime(2031, 12, 31),
        timezones=st.just(CHICAGO),
    )
)
def test_expedited_clock_is_always_72_elapsed_hours(moment: datetime) -> None:
    """Whatever the DST changes in between, the expedited clock is 72 real hours."""
    due = decision_due(moment, Urgency.EXPEDITED, tz=CHICAGO).due
    assert due.astimezone(UTC) - moment.astimezone(UTC) == timedelta(hours=72)
