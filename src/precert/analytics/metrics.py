"""The metrics, each defined once, over per-request facts. Pure: no SQL, no I/O.

How a metric is computed, in two steps:

1. ``contributions`` says what one request adds to each *measure* (a count, a
   sum of seconds or cents, or one value of a distribution), filed under the
   request's period, payer, category, urgency, line of business and drug flag.
   The write path keeps the sum of these contributions in the database
   (``precert.analytics.queries``).
2. The metric functions below turn a ``Tally`` (contributions summed over the
   requests a ``MetricFilter`` admits) into the numbers the dashboard shows.

``tally_facts`` sums contributions in memory from facts; ``queries.tally`` reads
the same sums from the database, so both paths give equal results by construction
of the sums, which the equality tests check on both backends.

Conventions, relied on by every metric:

- **Period.** A request counts in the calendar month (organization's timezone)
  of its *first submission*. Requests never submitted count in no period; they
  appear only in revenue at risk (pending amounts), which is a snapshot.
- **Decision.** The payer's first answer on the request as a whole that is
  approved, modified, partially approved or denied (a pend is not a decision).
  *Approved* means approved or modified; *denied* means denied or partially
  approved (fully or partially denied, as KFF counts denials).
- **Decision time.** From the latest submission before the decision (the one the
  payer accepted: a rejected submission restarts the clock) to the decision.
  Calendar hours are elapsed; business days are ``domain.deadlines``'s count
  (weekends and US federal and state holidays skipped).
- **Percentiles** are nearest-rank: the p-th percentile of n values is the
  value at rank ceil(p * n) in ascending order (the median of 4 values is the
  2nd). Median and p90 of hours are over *whole hours* (elapsed time rounded
  down); averages are over exact seconds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from precert.analytics.facts import (
    APPROVING_STATUSES,
    DENYING_STATUSES,
    PENDING_STATUSES,
    WAITING_STATES,
    AuthorizationFacts,
)
from precert.domain.appeals import APPEAL_ORDER, AppealLevel
from precert.domain.authorization import LineOfBusiness, ServiceCategory, Status, Urgency

#: The seed's target for approval on first submission.
FIRST_PASS_TARGET = 0.95
#: Pending requests whose first date of service falls within this many days are at risk.
AT_RISK_WINDOW_DAYS = 14
#: How many denial reasons the dashboard lists.
TOP_REASONS = 5
_HOUR = 3600


class Measure(StrEnum):
    """What a request contributes to; see ``contributions`` for each one's definition."""

    SUBMITTED = "submitted"
    ANSWERED = "answered"
    FIRST_PASS = "first_pass"  # noqa: S105 (a measure name, not a password)
    PENDED = "pended"
    DECISION = "decision"
    DECISION_SECONDS = "decision_seconds"
    DECISION_BUSINESS_DAYS = "decision_business_days"
    DECISION_HOURS = "decision_hours"
    CLOCK_MISSED = "clock_missed"
    EXTENDED_DECISION = "extended_decision"
    APPROVED_AFTER_APPEAL = "approved_after_appeal"
    DENIAL_REASON = "denial_reason"
    APPEAL_FILED = "appeal_filed"
    APPEAL_DECIDED = "appeal_decided"
    APPEAL_OVERTURNED = "appeal_overturned"
    CATEGORY_SUBMITTED = "category_submitted"
    TOUCHES = "touches"
    TOUCH_MINUTES = "touch_minutes"
    DENIED_REQUESTS = "denied_requests"
    DENIED_CENTS = "denied_cents"
    STATE_SECONDS = "state_seconds"
    STATE_HOURS = "state_hours"


@dataclass(frozen=True)
class Contribution:
    """One request's share of a measure: a count or sum under (label, detail)."""

    measure: Measure
    value: int
    label: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Observation:
    """One value one request adds to a distribution (whole hours or business days)."""

    measure: Measure
    value: int
    label: str = ""


def contributions(facts: AuthorizationFacts) -> tuple[list[Contribution], list[Observation]]:
    """What one request adds to each measure, and to each distribution.

    Nothing for a request never submitted. Otherwise (labels in brackets):
    submitted 1 and category_submitted [category] 1; answered 1 when the payer
    answered the first submission; first_pass 1 when approved in full on the
    only submission with no pend or rejection first; pended 1 when pended at
    least once; once decided: decision [status] 1, decision_seconds, decision
    hours and business days, clock_missed 1 when decided after the regulatory
    due time, extended_decision [status] 1 when the payer extended the clock,
    denial_reason [code, text] 1 per distinct reason of its denied lines;
    approved_after_appeal 1 when an appeal overturned the denial; per appeal
    level: appeal_filed, appeal_decided, appeal_overturned; touches and
    touch_minutes [category]; denied_requests and denied_cents while lines stand
    denied; per waiting state left at least once: state_seconds [state] and
    state hours [state].
    """
    if facts.cohort_month is None:
        return [], []
    category = facts.category.value
    counts = [
        Contribution(Measure.SUBMITTED, 1),
        Contribution(Measure.CATEGORY_SUBMITTED, 1, category),
    ]
    observations: list[Observation] = []
    if facts.answered:
        counts.append(Contribution(Measure.ANSWERED, 1))
    if facts.first_pass:
        counts.append(Contribution(Measure.FIRST_PASS, 1))
    if facts.pended:
        counts.append(Contribution(Measure.PENDED, 1))
    if facts.decision is not None and facts.decision_seconds is not None:
        status = facts.decision.value
        counts += [
            Contribution(Measure.DECISION, 1, status),
            Contribution(Measure.DECISION_SECONDS, facts.decision_seconds),
        ]
        observations += [
            Observation(Measure.DECISION_HOURS, facts.decision_seconds // _HOUR),
            Observation(Measure.DECISION_BUSINESS_DAYS, facts.decision_business_days or 0),
        ]
        if facts.clock_missed:
            counts.append(Contribution(Measure.CLOCK_MISSED, 1))
        if facts.extended:
            counts.append(Contribution(Measure.EXTENDED_DECISION, 1, status))
        counts += [
            Contribution(Measure.DENIAL_REASON, 1, r.code, r.text) for r in facts.denial_reasons
        ]
    if facts.approved_after_appeal:
        counts.append(Contribution(Measure.APPROVED_AFTER_APPEAL, 1))
    for step in facts.appeals:
        counts.append(Contribution(Measure.APPEAL_FILED, 1, step.level.value))
        if step.overturned is not None:
            counts.append(Contribution(Measure.APPEAL_DECIDED, 1, step.level.value))
        if step.overturned:
            counts.append(Contribution(Measure.APPEAL_OVERTURNED, 1, step.level.value))
    if facts.touches:
        counts += [
            Contribution(Measure.TOUCHES, facts.touches, category),
            Contribution(Measure.TOUCH_MINUTES, facts.touch_minutes, category),
        ]
    denied = facts.denied_amount
    if denied:
        counts += [
            Contribution(Measure.DENIED_REQUESTS, 1),
            Contribution(Measure.DENIED_CENTS, int(denied * 100)),
        ]
    for state in WAITING_STATES:
        if state in facts.state_seconds:
            seconds = facts.state_seconds[state]
            counts.append(Contribution(Measure.STATE_SECONDS, seconds, state.value))
            observations.append(Observation(Measure.STATE_HOURS, seconds // _HOUR, state.value))
    return counts, observations


# --- filters -------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar months from ``first_month`` to ``last_month`` inclusive (first days of months)."""

    first_month: date
    last_month: date

    def __post_init__(self) -> None:
        object.__setattr__(self, "first_month", self.first_month.replace(day=1))
        object.__setattr__(self, "last_month", self.last_month.replace(day=1))
        if self.last_month < self.first_month:
            raise ValueError(
                f"period ends ({self.last_month}) before it starts ({self.first_month})"
            )

    @classmethod
    def year(cls, year: int) -> Period:
        """January to December of ``year``."""
        return cls(date(year, 1, 1), date(year, 12, 1))

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """One calendar month."""
        return cls(date(year, month, 1), date(year, month, 1))

    @classmethod
    def last_months(cls, today: date, count: int) -> Period:
        """The ``count`` months ending with ``today``'s month."""
        if count < 1:
            raise ValueError(f"a period needs at least one month, got {count}")
        index = today.year * 12 + today.month - 1 - (count - 1)
        return cls(date(index // 12, index % 12 + 1, 1), today.replace(day=1))

    def __contains__(self, month: object) -> bool:
        return isinstance(month, date) and self.first_month <= month <= self.last_month


@dataclass(frozen=True)
class MetricFilter:
    """Which requests a metric counts: one payer, category, urgency and period, or all;
    some lines of business or all; drug requests or not."""

    payer_id: str | None = None
    category: ServiceCategory | None = None
    urgency: Urgency | None = None
    period: Period | None = None
    #: The lines of business counted (a set, so the CMS-0057-F report can ask for its three).
    lines_of_business: frozenset[LineOfBusiness] | None = None
    #: Leave out drug requests (specialty-drug category or an NDC-coded line).
    exclude_drugs: bool = False

    def admits_request(self, facts: AuthorizationFacts) -> bool:
        """Whether the request's payer, category, urgency, line of business and drug flag
        match (the period aside)."""
        return (
            (self.payer_id is None or facts.payer_id == self.payer_id)
            and (self.category is None or facts.category is self.category)
            and (self.urgency is None or facts.urgency is self.urgency)
            and (self.lines_of_business is None or facts.line_of_business in self.lines_of_business)
            and not (self.exclude_drugs and facts.drug)
        )

    def admits(self, facts: AuthorizationFacts) -> bool:
        """Whether the request counts: it matches and was first submitted within the period."""
        if not self.admits_request(facts) or facts.cohort_month is None:
            return False
        return self.period is None or facts.cohort_month in self.period


# --- the tally -----------------------------------------------------------------------

#: (payer id, or "" when not split by payer; label; detail)
CountKey = tuple[str, str, str]
#: (payer id, or "" when not split by payer; label; observed value)
ObservationKey = tuple[str, str, int]
#: Measures the monthly trend needs month by month.
TREND_COUNTS = frozenset(
    {
        Measure.SUBMITTED,
        Measure.ANSWERED,
        Measure.FIRST_PASS,
        Measure.DECISION,
        Measure.DECISION_SECONDS,
    }
)
TREND_OBSERVATIONS = frozenset({Measure.DECISION_HOURS})


def _nested() -> Any:
    # A measure's sums start empty and every key starts at zero.
    return defaultdict(lambda: defaultdict(int))


@dataclass
class Tally:
    """Contributions summed per measure (by payer when asked), plus the trend's measures
    month by month (``monthly_*``, keyed by (month, label, detail or value))."""

    counts: dict[Measure, dict[CountKey, int]] = field(default_factory=_nested)
    observations: dict[Measure, dict[ObservationKey, int]] = field(default_factory=_nested)
    monthly_counts: dict[Measure, dict[tuple[date, str, str], int]] = field(default_factory=_nested)
    monthly_observations: dict[Measure, dict[tuple[date, str, int], int]] = field(
        default_factory=_nested
    )

    def add_count(self, measure: Measure, key: CountKey, value: int) -> None:
        """Add ``value`` to a measure's sum under ``key``."""
        self.counts[measure][key] += value

    def add_observations(self, measure: Measure, key: ObservationKey, count: int) -> None:
        """Add ``count`` occurrences of the value in ``key`` to a distribution."""
        self.observations[measure][key] += count

    def add_monthly_count(self, measure: Measure, key: tuple[date, str, str], value: int) -> None:
        """Add ``value`` to a trend measure's sum for one month."""
        self.monthly_counts[measure][key] += value

    def add_monthly_observations(
        self, measure: Measure, key: tuple[date, str, int], count: int
    ) -> None:
        """Add ``count`` occurrences of a value to a trend distribution for one month."""
        self.monthly_observations[measure][key] += count

    def total(
        self,
        measure: Measure,
        label: str | None = None,
        *,
        payer: str | None = None,
        month: date | None = None,
    ) -> int:
        """Sum of a measure, optionally for one label, and one payer or one month."""
        if month is not None:
            return sum(
                value
                for (m, lbl, _), value in self.monthly_counts.get(measure, {}).items()
                if m == month and (label is None or lbl == label)
            )
        return sum(
            value
            for (p, lbl, _), value in self.counts.get(measure, {}).items()
            if (label is None or lbl == label) and (payer is None or p == payer)
        )

    def by_label(
        self, measure: Measure, *, payer: str | None = None, month: date | None = None
    ) -> dict[tuple[str, str], int]:
        """A measure's sums per (label, detail)."""
        found: dict[tuple[str, str], int] = defaultdict(int)
        if month is not None:
            for (m, label, detail), value in self.monthly_counts.get(measure, {}).items():
                if m == month:
                    found[label, detail] += value
            return dict(found)
        for (p, label, detail), value in self.counts.get(measure, {}).items():
            if payer is None or p == payer:
                found[label, detail] += value
        return dict(found)

    def distribution(
        self,
        measure: Measure,
        label: str = "",
        *,
        payer: str | None = None,
        month: date | None = None,
    ) -> dict[int, int]:
        """A distribution as {value: how many times it was observed}."""
        found: dict[int, int] = defaultdict(int)
        if month is not None:
            for (m, lbl, value), count in self.monthly_observations.get(measure, {}).items():
                if m == month and lbl == label:
                    found[value] += count
            return dict(found)
        for (p, lbl, value), count in self.observations.get(measure, {}).items():
            if lbl == label and (payer is None or p == payer):
                found[value] += count
        return dict(found)

    def months(self) -> list[date]:
        """The months with any submitted request, in order (when summed monthly)."""
        return sorted({m for (m, _, _) in self.monthly_counts.get(Measure.SUBMITTED, {})})

    def payers(self) -> list[str]:
        """The payers with any submitted request, in order."""
        return sorted({p for (p, _, _) in self.counts.get(Measure.SUBMITTED, {})})


def tally_facts(
    facts: Iterable[AuthorizationFacts],
    flt: MetricFilter,
    *,
    by_payer: bool = False,
    monthly: bool = False,
) -> Tally:
    """Sum the contributions of the requests ``flt`` admits (by payer, monthly, when asked)."""
    tally = Tally()
    for item in facts:
        if not flt.admits(item):
            continue
        assert item.cohort_month is not None  # admits() requires a period
        month = item.cohort_month
        payer = item.payer_id if by_payer else ""
        counts, observations = contributions(item)
        for c in counts:
            tally.add_count(c.measure, (payer, c.label, c.detail), c.value)
            if monthly and c.measure in TREND_COUNTS:
                tally.add_monthly_count(c.measure, (month, c.label, c.detail), c.value)
        for o in observations:
            tally.add_observations(o.measure, (payer, o.label, o.value), 1)
            if monthly and o.measure in TREND_OBSERVATIONS:
                tally.add_monthly_observations(o.measure, (month, o.label, o.value), 1)
    return tally


# --- results -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """A share: numerator over denominator, and its value (None when nothing to divide)."""

    numerator: int
    denominator: int
    value: float | None

    @classmethod
    def of(cls, numerator: int, denominator: int) -> Rate:
        """The rate ``numerator / denominator``."""
        return cls(numerator, denominator, numerator / denominator if denominator else None)


@dataclass(frozen=True)
class Summary:
    """A distribution's count, mean, nearest-rank median and 90th percentile."""

    count: int
    mean: float | None
    median: int | None
    p90: int | None


@dataclass(frozen=True)
class DecisionTime:
    """Submission to decision, in calendar hours and in business days."""

    hours: Summary
    business_days: Summary


@dataclass(frozen=True)
class ReasonCount:
    """A denial reason and how many decided requests it was given on."""

    code: str
    text: str
    count: int


@dataclass(frozen=True)
class AppealLevelOutcome:
    """Appeals at one level: filed, decided, overturned, and the overturn rate among decided."""

    level: AppealLevel
    filed: int
    overturn: Rate


@dataclass(frozen=True)
class StaffTime:
    """Recorded staff minutes per submitted request of one service category."""

    category: ServiceCategory
    requests: int
    touches: int
    minutes: int
    minutes_per_request: float | None


@dataclass(frozen=True)
class StateTime:
    """Time spent in one waiting state by the requests that left it."""

    state: Status
    requests: int
    median_hours: int | None
    mean_hours: float | None


@dataclass(frozen=True)
class ClockCompliance:
    """CMS-0057-F decision clocks: decided late among decided, and requests overdue now."""

    missed: Rate
    overdue_now: int


@dataclass(frozen=True)
class Snapshot:
    """What stands now, not per period: pending revenue near its service date, overdue decisions."""

    pending_requests: int = 0
    pending_cents: int = 0
    overdue_now: int = 0

    def __add__(self, other: Snapshot) -> Snapshot:
        return Snapshot(
            self.pending_requests + other.pending_requests,
            self.pending_cents + other.pending_cents,
            self.overdue_now + other.overdue_now,
        )


@dataclass(frozen=True)
class RevenueAtRisk:
    """Pending amounts with service within the window, and amounts standing denied."""

    window_days: int
    pending_requests: int
    pending_amount: Decimal
    denied_requests: int
    denied_amount: Decimal


@dataclass(frozen=True)
class MonthPoint:
    """One month of the trend charts."""

    month: date
    submitted: int
    first_pass: Rate
    denial: Rate
    decision_hours: Summary


@dataclass(frozen=True)
class Dashboard:
    """Every dashboard metric for one filter, as of one instant."""

    as_of: datetime
    filter: MetricFilter
    submitted: int
    first_pass: Rate
    first_pass_target: float
    approval: Rate
    denial: Rate
    decision_time: DecisionTime
    top_denial_reasons: tuple[ReasonCount, ...]
    appeals: tuple[AppealLevelOutcome, ...]
    staff_time: tuple[StaffTime, ...]
    revenue_at_risk: RevenueAtRisk
    bottlenecks: tuple[StateTime, ...]
    pended: Rate
    clocks: ClockCompliance
    trend: tuple[MonthPoint, ...]


@dataclass(frozen=True)
class PayerScorecard:
    """One payer's record: speed, first-pass approval, denials, pends and missed clocks."""

    payer_id: str
    submitted: int
    decision_time: DecisionTime
    first_pass: Rate
    denial: Rate
    top_denial_reasons: tuple[ReasonCount, ...]
    pended: Rate
    clocks: ClockCompliance
    #: The payer's display name, from the directory: the services fill it in, as the pure
    #: metrics know payers by id only.
    payer_name: str | None = None


# --- the metrics ---------------------------------------------------------------------


def percentile(distribution: Mapping[int, int], p: float) -> int | None:
    """Nearest-rank percentile: the value at rank ceil(p * n) in ascending order."""
    n = sum(distribution.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(p * n))
    seen = 0
    for value in sorted(distribution):
        seen += distribution[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: ranks never exceed the count")


def first_pass_rate(tally: Tally, *, payer: str | None = None, month: date | None = None) -> Rate:
    """First-pass approval: approved in full on the first and only submission, with no
    rejection and no pend first, among submitted requests the payer has answered
    (rejected, pended or decided). Requests still awaiting their first answer are
    left out so the current month is not penalized for decisions not yet due."""
    return Rate.of(
        tally.total(Measure.FIRST_PASS, payer=payer, month=month),
        tally.total(Measure.ANSWERED, payer=payer, month=month),
    )


def approval_rate(tally: Tally, *, payer: str | None = None, month: date | None = None) -> Rate:
    """Approval rate: decisions approved or modified, among decided requests."""
    return _decision_share(tally, APPROVING_STATUSES, payer, month)


def denial_rate(tally: Tally, *, payer: str | None = None, month: date | None = None) -> Rate:
    """Denial rate: decisions denied or partially approved (fully or partially denied),
    among decided requests. An appeal overturned later does not change it."""
    return _decision_share(tally, DENYING_STATUSES, payer, month)


def _decision_share(
    tally: Tally, statuses: frozenset[Status], payer: str | None, month: date | None
) -> Rate:
    decided = tally.by_label(Measure.DECISION, payer=payer, month=month)
    wanted = sum(n for (label, _), n in decided.items() if Status(label) in statuses)
    return Rate.of(wanted, sum(decided.values()))


def decided_count(tally: Tally, *, payer: str | None = None, month: date | None = None) -> int:
    """Decided requests (approved, modified, partially approved or denied)."""
    return tally.total(Measure.DECISION, payer=payer, month=month)


def decision_hours(tally: Tally, *, payer: str | None = None, month: date | None = None) -> Summary:
    """Decision time in calendar hours: mean of exact elapsed time; median and p90 of
    whole hours (nearest rank)."""
    distribution = tally.distribution(Measure.DECISION_HOURS, payer=payer, month=month)
    count = sum(distribution.values())
    seconds = tally.total(Measure.DECISION_SECONDS, payer=payer, month=month)
    return Summary(
        count=count,
        mean=seconds / _HOUR / count if count else None,
        median=percentile(distribution, 0.5),
        p90=percentile(distribution, 0.9),
    )


def decision_business_days(
    tally: Tally, *, payer: str | None = None, month: date | None = None
) -> Summary:
    """Decision time in business days (``deadlines.business_days_between``): mean,
    nearest-rank median and p90."""
    distribution = tally.distribution(Measure.DECISION_BUSINESS_DAYS, payer=payer, month=month)
    count = sum(distribution.values())
    total = sum(value * n for value, n in distribution.items())
    return Summary(
        count=count,
        mean=total / count if count else None,
        median=percentile(distribution, 0.5),
        p90=percentile(distribution, 0.9),
    )


def decision_time(tally: Tally, *, payer: str | None = None) -> DecisionTime:
    """Submission (the accepted one) to the decision, in hours and in business days."""
    return DecisionTime(
        hours=decision_hours(tally, payer=payer),
        business_days=decision_business_days(tally, payer=payer),
    )


def top_denial_reasons(
    tally: Tally, *, payer: str | None = None, limit: int = TOP_REASONS
) -> tuple[ReasonCount, ...]:
    """The most frequent denial reasons: for each (code, text), how many decided requests
    had a line denied for it (a request with two reasons counts for both). Ties by code."""
    reasons = tally.by_label(Measure.DENIAL_REASON, payer=payer)
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return tuple(ReasonCount(code, text, n) for (code, text), n in ranked[:limit])


def appeal_overturn_by_level(
    tally: Tally, *, payer: str | None = None
) -> tuple[AppealLevelOutcome, ...]:
    """Per appeal level in escalation order: appeals filed, and overturned among those
    decided at that level (an upheld denial counts as decided, not overturned)."""
    return tuple(
        AppealLevelOutcome(
            level=level,
            filed=tally.total(Measure.APPEAL_FILED, level.value, payer=payer),
            overturn=Rate.of(
                tally.total(Measure.APPEAL_OVERTURNED, level.value, payer=payer),
                tally.total(Measure.APPEAL_DECIDED, level.value, payer=payer),
            ),
        )
        for level in APPEAL_ORDER
    )


def staff_time_by_category(tally: Tally, *, payer: str | None = None) -> tuple[StaffTime, ...]:
    """Staff minutes per submitted request, by service category: the minutes of every
    ``authorization.touch`` event of the category's requests over their number. Zero
    where the workflow records no touches (the demo data records none)."""
    result = []
    for category in ServiceCategory:
        requests = tally.total(Measure.CATEGORY_SUBMITTED, category.value, payer=payer)
        if not requests:
            continue
        minutes = tally.total(Measure.TOUCH_MINUTES, category.value, payer=payer)
        result.append(
            StaffTime(
                category=category,
                requests=requests,
                touches=tally.total(Measure.TOUCHES, category.value, payer=payer),
                minutes=minutes,
                minutes_per_request=minutes / requests,
            )
        )
    return tuple(result)


def bottlenecks(tally: Tally, *, payer: str | None = None) -> tuple[StateTime, ...]:
    """Per waiting state (draft, ready, submitted, pended, each appeal level): among
    requests that left the state at least once, the total time each spent in it,
    as nearest-rank median of whole hours and mean of exact time."""
    result = []
    for state in WAITING_STATES:
        distribution = tally.distribution(Measure.STATE_HOURS, state.value, payer=payer)
        requests = sum(distribution.values())
        if not requests:
            continue
        seconds = tally.total(Measure.STATE_SECONDS, state.value, payer=payer)
        result.append(
            StateTime(
                state=state,
                requests=requests,
                median_hours=percentile(distribution, 0.5),
                mean_hours=seconds / _HOUR / requests,
            )
        )
    return tuple(result)


def pended_share(tally: Tally, *, payer: str | None = None) -> Rate:
    """Pended share: requests pended at least once, among submitted requests answered."""
    return Rate.of(
        tally.total(Measure.PENDED, payer=payer), tally.total(Measure.ANSWERED, payer=payer)
    )


def clock_compliance(
    tally: Tally, snapshot: Snapshot, *, payer: str | None = None
) -> ClockCompliance:
    """Missed CMS-0057-F clocks: decisions after the regulatory due time (72 elapsed
    hours for expedited; the local end of the 7th calendar day, or 14th after an
    ``authorization.extension``, for standard) among decided requests; and requests
    still awaiting a decision past that time now."""
    return ClockCompliance(
        missed=Rate.of(
            tally.total(Measure.CLOCK_MISSED, payer=payer), decided_count(tally, payer=payer)
        ),
        overdue_now=snapshot.overdue_now,
    )


def revenue_at_risk(tally: Tally, snapshot: Snapshot, *, payer: str | None = None) -> RevenueAtRisk:
    """Revenue at risk: the estimated amounts of requests not yet decided (draft, ready,
    submitted, pended) whose first date of service is within 14 days from today, any
    period; and the amounts of lines standing denied (denied, partially approved or
    in appeal; an overturned appeal clears them) in the period."""
    return RevenueAtRisk(
        window_days=AT_RISK_WINDOW_DAYS,
        pending_requests=snapshot.pending_requests,
        pending_amount=Decimal(snapshot.pending_cents).scaleb(-2),
        denied_requests=tally.total(Measure.DENIED_REQUESTS, payer=payer),
        denied_amount=Decimal(tally.total(Measure.DENIED_CENTS, payer=payer)).scaleb(-2),
    )


def trend(tally: Tally) -> tuple[MonthPoint, ...]:
    """Per month of first submission: submitted, first-pass and denial rates, decision hours."""
    return tuple(
        MonthPoint(
            month=month,
            submitted=tally.total(Measure.SUBMITTED, month=month),
            first_pass=first_pass_rate(tally, month=month),
            denial=denial_rate(tally, month=month),
            decision_hours=decision_hours(tally, month=month),
        )
        for month in tally.months()
    )


def build_dashboard(
    tally: Tally, snapshot: Snapshot, flt: MetricFilter, as_of: datetime
) -> Dashboard:
    """Every dashboard metric from a tally (not split by payer) and the current snapshot."""
    return Dashboard(
        as_of=as_of,
        filter=flt,
        submitted=tally.total(Measure.SUBMITTED),
        first_pass=first_pass_rate(tally),
        first_pass_target=FIRST_PASS_TARGET,
        approval=approval_rate(tally),
        denial=denial_rate(tally),
        decision_time=decision_time(tally),
        top_denial_reasons=top_denial_reasons(tally),
        appeals=appeal_overturn_by_level(tally),
        staff_time=staff_time_by_category(tally),
        revenue_at_risk=revenue_at_risk(tally, snapshot),
        bottlenecks=bottlenecks(tally),
        pended=pended_share(tally),
        clocks=clock_compliance(tally, snapshot),
        trend=trend(tally),
    )


def build_scorecards(tally: Tally, snapshots: Mapping[str, Snapshot]) -> tuple[PayerScorecard, ...]:
    """One scorecard per payer with submitted requests (or overdue ones), from a tally
    split by payer and the per-payer snapshots."""
    payers = sorted(set(tally.payers()) | {p for p, s in snapshots.items() if s.overdue_now})
    return tuple(
        PayerScorecard(
            payer_id=payer,
            submitted=tally.total(Measure.SUBMITTED, payer=payer),
            decision_time=decision_time(tally, payer=payer),
            first_pass=first_pass_rate(tally, payer=payer),
            denial=denial_rate(tally, payer=payer),
            top_denial_reasons=top_denial_reasons(tally, payer=payer),
            pended=pended_share(tally, payer=payer),
            clocks=clock_compliance(tally, snapshots.get(payer, Snapshot()), payer=payer),
        )
        for payer in payers
    )


# --- the snapshot and the whole dashboard from facts -----------------------------------


def snapshots(
    facts: Iterable[AuthorizationFacts], flt: MetricFilter, as_of: datetime, tz: ZoneInfo
) -> dict[str, Snapshot]:
    """Per payer: pending requests with service within the window (the period aside),
    and requests of the period awaiting a decision past its regulatory due time."""
    today = as_of.astimezone(tz).date()
    horizon = today + timedelta(days=AT_RISK_WINDOW_DAYS)
    found: dict[str, Snapshot] = defaultdict(Snapshot)
    for item in facts:
        if not flt.admits_request(item):
            continue
        if item.status in PENDING_STATUSES and today <= item.first_service_date <= horizon:
            found[item.payer_id] += Snapshot(1, int(item.total_amount * 100), 0)
        if (
            flt.admits(item)
            and item.awaiting_decision
            and item.decision_due is not None
            and item.decision_due < as_of
        ):
            found[item.payer_id] += Snapshot(0, 0, 1)
    return dict(found)


def dashboard(
    facts: Iterable[AuthorizationFacts], flt: MetricFilter, as_of: datetime, tz: ZoneInfo
) -> Dashboard:
    """The whole dashboard computed in memory from facts (the reference for the SQL path)."""
    items = list(facts)
    snapshot = sum(snapshots(items, flt, as_of, tz).values(), Snapshot())
    return build_dashboard(tally_facts(items, flt, monthly=True), snapshot, flt, as_of)


def scorecards(
    facts: Iterable[AuthorizationFacts], flt: MetricFilter, as_of: datetime, tz: ZoneInfo
) -> tuple[PayerScorecard, ...]:
    """Payer scorecards computed in memory from facts."""
    items = list(facts)
    return build_scorecards(
        tally_facts(items, flt, by_payer=True), snapshots(items, flt, as_of, tz)
    )
