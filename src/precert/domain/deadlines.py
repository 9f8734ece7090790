"""Deadlines: a business-day clock and the clocks a prior authorization runs against.

Pure functions, no I/O. Four deadlines matter to a coordinator:

- **Submission due**: the payer wants the request a number of business days
  (its lead time, from the payer's policy pack) before the first date of
  service. Due at the end of that business day in the organization's timezone.
- **Decision due**: the regulatory clock from submission, per CMS-0057-F
  (Medicare Advantage, Medicaid/CHIP managed care, exchange plans; from
  2026-01-01): **72 hours** for expedited requests and **7 calendar days** for
  standard ones, which the payer may extend to **14 calendar days** in total
  (the extension is recorded by the payer, never assumed). A payer whose own timeframe is shorter
  is held to it. Commercial plans follow state law instead; we apply the same
  clock to them because it is the tightest one a coordinator will meet.
- **Approval validity end**: the last day of an approval's validity window.
- **Next deadline** of a request, with an at-risk flag when less than one
  business day of slack remains.

Conventions (decided here, relied on everywhere):

- A *business day* is a Monday-Friday that is neither a US federal holiday nor
  a holiday of the state of service, observed days included (July 4 on a
  Saturday makes Friday July 3 a holiday), as the ``holidays`` package lists
  them (``holidays.country_holidays("US", subdiv=state)``). Holiday sets are
  cached per (year, state).
- Hour clocks count *elapsed* hours: 72 hours across the spring-forward night
  ends at a wall-clock time one hour later than across an ordinary night.
  Arithmetic is done in UTC for that reason; Python's aware-datetime
  arithmetic within one zone would count wall-clock hours instead.
- Day clocks end at the *local end of day* (23:59:59 in the organization's
  timezone) of their last day, so a day clock never depends on the hour of
  submission and never shifts with a daylight-saving change.
- Every instant must be timezone-aware; a naive one raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from precert.domain.authorization import (
    AuthorizationRequest,
    Decision,
    LineDetermination,
    ServiceLine,
    Status,
    Urgency,
)

#: CMS-0057-F: expedited (urgent) prior-authorization decisions within 72 hours.
EXPEDITED_DECISION_HOURS = 72
#: CMS-0057-F: standard prior-authorization decisions within 7 calendar days.
STANDARD_DECISION_DAYS = 7
#: The extended standard clock, in calendar days from receipt. The project's
#: glossary reads CMS-0057-F as "extendable to 14 in total"; the regulation text
#: (42 CFR 422.568(b)(1)(i), 438.210(d)(1)(ii)) reads as up to 14 *additional*
#: days. We keep 14 in total, the stricter reading, which flags a late decision
#: early rather than late.
STANDARD_EXTENDED_DECISION_DAYS = 14
#: Less slack than this, counted in business days, and a deadline is at risk.
AT_RISK_SLACK_BUSINESS_DAYS = 1.0
#: The local time a day clock ends at.
END_OF_DAY = time(23, 59, 59)


class DeadlineKind(StrEnum):
    """Which clock a deadline belongs to."""

    SUBMISSION = "submission"
    DECISION = "decision"
    APPROVAL_EXPIRY = "approval_expiry"


class TimeUnit(StrEnum):
    """Units a payer states a timeframe in."""

    HOURS = "hours"
    CALENDAR_DAYS = "calendar_days"
    BUSINESS_DAYS = "business_days"


@dataclass(frozen=True)
class Timeframe:
    """A payer's stated timeframe, e.g. 5 business days or 48 hours."""

    amount: int
    unit: TimeUnit

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError(f"a timeframe cannot be negative, got {self.amount} {self.unit}")


@dataclass(frozen=True)
class DecisionDeadline:
    """When the payer's decision is due, and which rule set that time."""

    due: datetime
    regulatory_due: datetime
    payer_due: datetime | None
    extended: bool

    @property
    def set_by_payer(self) -> bool:
        """Whether the payer's own (shorter) timeframe is the binding one."""
        return self.payer_due is not None and self.payer_due < self.regulatory_due


@dataclass(frozen=True)
class Deadline:
    """A request's next deadline as the work queue shows it."""

    kind: DeadlineKind
    due: datetime
    slack_business_days: float
    at_risk: bool
    overdue: bool


# --- the business-day calendar ---------------------------------------------------------


@lru_cache(maxsize=512)
def holidays_in(year: int, state: str | None = None) -> frozenset[date]:
    """US federal holidays plus ``state``'s holidays in ``year``, observed days included."""
    calendar = holidays.country_holidays("US", subdiv=state, years=year)
    return frozenset(calendar.keys())


def is_business_day(day: date, state: str | None = None) -> bool:
    """Whether ``day`` is a weekday that is no federal or ``state`` holiday."""
    return day.weekday() < 5 and day not in holidays_in(day.year, state)


def add_business_days(day: date, count: int, state: str | None = None) -> date:
    """The ``count``-th business day after ``day`` (before it when ``count`` is negative).

    ``day`` itself is never counted, so adding 1 to a Friday gives Monday (or
    Tuesday after a Monday holiday). Adding 0 returns ``day`` unchanged.
    """
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    current = day
    while remaining:
        current += timedelta(days=step)
        if is_business_day(current, state):
            remaining -= 1
    return current


def subtract_business_days(day: date, count: int, state: str | None = None) -> date:
    """The ``count``-th business day before ``day``; ``day`` itself is never counted."""
    return add_business_days(day, -count, state)


def business_days_between(
    start: datetime, end: datetime, *, tz: ZoneInfo, state: str | None = None
) -> int:
    """Business days after ``start``'s local date up to and including ``end``'s local date.

    So ``business_days_between(t, t_plus_n)`` is ``n`` when ``t_plus_n`` falls on
    ``add_business_days(local date of t, n)``. Negative when ``end`` is before ``start``.
    """
    first, last = _local_date(start, tz), _local_date(end, tz)
    if last < first:
        return -business_days_between(end, start, tz=tz, state=state)
    return sum(1 for day in _days(first + timedelta(days=1), last) if is_business_day(day, state))


def business_slack(
    now: datetime, due: datetime, *, tz: ZoneInfo, state: str | None = None
) -> float:
    """Business days left from ``now`` to ``due``, counting partial days by elapsed time.

    Only time on business days counts: a deadline on Monday morning seen on
    Friday evening has a few hours of slack, not a weekend's. Negative when overdue.
    """
    if due < now:
        return -business_slack(due, now, tz=tz, state=state)
    total = 0.0
    for day in _days(_local_date(now, tz), _local_date(due, tz)):
        if not is_business_day(day, state):
            continue
        day_start, day_end = _start_of_day(day, tz), _start_of_day(day + timedelta(days=1), tz)
        overlap = min(due, day_end) - max(now, day_start)
        if overlap > timedelta(0):
            # A DST day is 23 or 25 hours long; a fraction keeps "one business day" one day.
            total += overlap / (day_end - day_start)
    return total


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The local end of ``day`` in ``tz`` (23:59:59), the instant a day clock ends."""
    return datetime.combine(day, END_OF_DAY, tzinfo=tz)


# --- the deadlines --------------------------------------------------------------------


def submission_due(
    first_service_date: date,
    lead_time_business_days: int,
    *,
    tz: ZoneInfo,
    state: str | None = None,
) -> datetime:
    """When the request must reach the payer: the payer's lead time before the service.

    The end (local, in the organization's timezone ``tz``) of the business day
    that lies ``lead_time_business_days`` business days before the first date of
    service. With no lead time the request is due before care starts, at the
    start of the service date. Lead times come from the payer's policy pack.
    """
    if lead_time_business_days < 0:
        raise ValueError(f"a lead time cannot be negative, got {lead_time_business_days}")
    if lead_time_business_days == 0:
        return _start_of_day(first_service_date, tz)
    day = subtract_business_days(first_service_date, lead_time_business_days, state)
    return end_of_day(day, tz)


def decision_due(
    submitted_at: datetime,
    urgency: Urgency,
    *,
    tz: ZoneInfo,
    extended: bool = False,
    payer_timeframe: Timeframe | None = None,
    state: str | None = None,
) -> DecisionDeadline:
    """When the payer's decision is due, by CMS-0057-F or the payer's shorter timeframe.

    Expedited: 72 elapsed hours from submission. Standard: the local end of the
    7th calendar day after the submission date, or of the 14th when the payer
    recorded an extension. A payer timeframe applies only when it is earlier.
    """
    _require_aware(submitted_at)
    if urgency is Urgency.EXPEDITED:
        regulatory = _add_elapsed(submitted_at, timedelta(hours=EXPEDITED_DECISION_HOURS), tz)
    else:
        days = STANDARD_EXTENDED_DECISION_DAYS if extended else STANDARD_DECISION_DAYS
        regulatory = end_of_day(_local_date(submitted_at, tz) + timedelta(days=days), tz)
    payer = (
        None
        if payer_timeframe is None
        else apply_timeframe(submitted_at, payer_timeframe, tz=tz, state=state)
    )
    due = regulatory if payer is None else min(regulatory, payer)
    return DecisionDeadline(due=due, regulatory_due=regulatory, payer_due=payer, extended=extended)


def apply_timeframe(
    start: datetime, timeframe: Timeframe, *, tz: ZoneInfo, state: str | None = None
) -> datetime:
    """The instant a timeframe starting at ``start`` ends.

    Hours are elapsed hours; calendar and business days end at the local end of
    their last day (business days skip weekends and federal/state holidays).
    """
    _require_aware(start)
    if timeframe.unit is TimeUnit.HOURS:
        return _add_elapsed(start, timedelta(hours=timeframe.amount), tz)
    day = _local_date(start, tz)
    if timeframe.unit is TimeUnit.CALENDAR_DAYS:
        return end_of_day(day + timedelta(days=timeframe.amount), tz)
    return end_of_day(add_business_days(day, timeframe.amount, state), tz)


def approval_validity_end(request: AuthorizationRequest) -> date | None:
    """The earliest last day of validity among the request's approved or modified lines."""
    ends = [d.valid_to for d in _granted(request.service_lines) if d.valid_to is not None]
    return min(ends) if ends else None


def lines_expiring_before_service(request: AuthorizationRequest) -> tuple[int, ...]:
    """Indexes of granted lines whose validity ends before their last date of service.

    Such an approval will not cover the whole service as scheduled: the
    coordinator must ask the payer for an extension or reschedule.
    """
    return tuple(
        i
        for i, line in enumerate(request.service_lines)
        if line.determination is not None
        and line.determination.decision in (Decision.APPROVED, Decision.MODIFIED)
        and line.determination.valid_to is not None
        and line.determination.valid_to < line.service_end
    )


def next_deadline(
    request: AuthorizationRequest,
    now: datetime,
    *,
    tz: ZoneInfo,
    lead_time_business_days: int = 0,
    payer_timeframe: Timeframe | None = None,
    extended: bool = False,
    state: str | None = None,
) -> Deadline | None:
    """The deadline the request is working against now, with its slack and at-risk flag.

    Draft or ready: submission due. Submitted or pended: decision due. Approved,
    partially approved or modified: the end of the approval's validity. Denied,
    in appeal, cancelled or expired: none here (appeal deadlines belong to the
    appeal case). ``state`` defaults to the coverage's state. At risk means less
    than one business day of slack, or overdue.
    """
    _require_aware(now)
    state = state or request.coverage.state
    if request.status in (Status.DRAFT, Status.READY):
        kind = DeadlineKind.SUBMISSION
        due = submission_due(
            request.first_service_date, lead_time_business_days, tz=tz, state=state
        )
    elif request.status in (Status.SUBMITTED, Status.PENDED) and request.submitted_at:
        kind = DeadlineKind.DECISION
        due = decision_due(
            request.submitted_at,
            request.urgency,
            tz=tz,
            extended=extended,
            payer_timeframe=payer_timeframe,
            state=state,
        ).due
    elif request.status in (Status.APPROVED, Status.PARTIALLY_APPROVED, Status.MODIFIED):
        valid_to = approval_validity_end(request)
        if valid_to is None:
            return None
        kind, due = DeadlineKind.APPROVAL_EXPIRY, end_of_day(valid_to, tz)
    else:
        return None
    slack = business_slack(now, due, tz=tz, state=state)
    return Deadline(
        kind=kind,
        due=due,
        slack_business_days=slack,
        at_risk=slack < AT_RISK_SLACK_BUSINESS_DAYS,
        overdue=due < now,
    )


# --- internals ------------------------------------------------------------------------


def _granted(lines: tuple[ServiceLine, ...]) -> Iterator[LineDetermination]:
    for line in lines:
        d = line.determination
        if d is not None and d.decision in (Decision.APPROVED, Decision.MODIFIED):
            yield d


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no timezone; deadlines need aware instants")


def _local_date(moment: datetime, tz: ZoneInfo) -> date:
    _require_aware(moment)
    return moment.astimezone(tz).date()


def _start_of_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _add_elapsed(start: datetime, span: timedelta, tz: ZoneInfo) -> datetime:
    # In UTC, adding a timedelta adds elapsed time; in a zone it would add wall-clock time.
    return (start.astimezone(UTC) + span).astimezone(tz)
