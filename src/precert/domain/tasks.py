"""Follow-up tasks: what a coordinator must do next on a request, and the rules that say so.

Pure: no I/O. ``plan_tasks`` looks at one request (its state, its event history,
the payer's timeframes and the time now) and says which tasks to open, which to
update and which to close. A background scan applies the plan; the same plan
run twice changes nothing, because each task carries a *key* naming the
occurrence that caused it (the pend event, the deadline instant): a task a
coordinator completed is never reopened for the same occurrence.

The kinds, from the seed's "follow-up protocols tracking approval status and
addressing delays":

- ``submission_due``: a draft or ready request whose submission deadline (the
  payer's lead time before the service) is at risk or missed.
- ``payer_error``: the payer refused the submission itself (an AAA reject, a
  4xx) or the gateway gave up; correct and resubmit.
- ``decision_overdue``: the payer's decision clock (72 h / 7 days / extended
  14 days, or the payer's own shorter timeframe) has run out.
- ``documentation_requested``: the payer pended the request asking for
  something (a coded or written reason on the pend) that was not yet sent.
- ``pended_too_long``: pended longer than the payer's usual review time.
- ``approval_expiring``: an approval ends before the service it covers does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from precert.domain.authorization import (
    FINAL_STATUSES,
    AuthorizationRequest,
    Decision,
    ServiceLine,
    Status,
    Urgency,
)
from precert.domain.deadlines import (
    Timeframe,
    add_business_days,
    approval_validity_end,
    business_slack,
    decision_due,
    end_of_day,
    lines_expiring_before_service,
    next_deadline,
)
from precert.domain.errors import DomainError
from precert.domain.ledger import LedgerEntry

#: Event types this module reads besides the aggregate's own ``authorization.<status>``.
#: The payer granted itself the extended decision clock (recorded with ``record_note``).
DECISION_EXTENDED = "authorization.decision_extended"
#: The payer asked for documentation outside a pend (phone call, portal message).
DOCUMENTATION_REQUESTED = "authorization.documentation_requested"
#: What the payer asked for was sent; a documentation task is then no longer needed.
DOCUMENTATION_SENT = "authorization.documentation_sent"
#: A gateway could not reach the payer or gave up retrying.
PAYER_ERROR = "authorization.payer_error"
#: A coordinator's touch: the analytics' staff-minutes metric sums ``payload["minutes"]``.
TOUCH = "authorization.touch"
DETERMINATION = "authorization.determination_recorded"
SUBMITTED = "authorization.submitted"

#: Seed: elective surgery starts at $15,000, advanced imaging at $1,500 per request.
HIGH_VALUE = Decimal(15000)
MEDIUM_VALUE = Decimal(1500)
#: A staff touch longer than a working day is a typo, not a touch.
MAX_TOUCH_MINUTES = 8 * 60


class TaskKind(StrEnum):
    """Why a follow-up task exists."""

    SUBMISSION_DUE = "submission_due"
    PAYER_ERROR = "payer_error"
    DECISION_OVERDUE = "decision_overdue"
    DOCUMENTATION_REQUESTED = "documentation_requested"
    PENDED_TOO_LONG = "pended_too_long"
    APPROVAL_EXPIRING = "approval_expiring"


class TaskStatus(StrEnum):
    """Open work, work put aside until a time, or work finished."""

    OPEN = "open"
    SNOOZED = "snoozed"
    DONE = "done"


class Priority(IntEnum):
    """1 is worked first. Derived from urgency, revenue at risk and lateness."""

    URGENT = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4


class TaskError(DomainError):
    """A task action that makes no sense (completing a done task, snoozing into the past)."""


@dataclass(frozen=True)
class PayerTimeframes:
    """The payer's clocks a request's follow-up runs on (from its policy pack, or defaults).

    ``pend_limit_business_days``: a pend longer than this needs a call to the payer.
    ``documentation_response_business_days``: how long the coordinator has to answer
    a request for information before the payer may deny for lack of it.
    """

    lead_time_business_days: int = 0
    decision_timeframe: Timeframe | None = None
    pend_limit_business_days: int = 3
    documentation_response_business_days: int = 2


@dataclass(frozen=True)
class TaskNeed:
    """A task the rules say a request needs now."""

    authorization_id: str
    kind: TaskKind
    key: str
    due: datetime
    priority: Priority
    revenue_at_risk: Decimal
    summary: str


@dataclass(frozen=True)
class Task:
    """A follow-up task on one request, as stored and as the work queue shows it."""

    id: str
    organization_id: str
    authorization_id: str
    kind: TaskKind
    key: str
    summary: str
    due: datetime
    priority: Priority
    revenue_at_risk: Decimal
    status: TaskStatus
    created_at: datetime
    updated_at: datetime
    assignee: str | None = None
    snoozed_until: datetime | None = None
    staff_minutes: int = 0
    closed_at: datetime | None = None
    resolution: str | None = None

    @classmethod
    def from_need(
        cls, need: TaskNeed, organization_id: str, now: datetime, assignee: str | None = None
    ) -> Task:
        """A new open task for ``need``."""
        return cls(
            id=str(uuid.uuid4()),
            organization_id=organization_id,
            authorization_id=need.authorization_id,
            kind=need.kind,
            key=need.key,
            summary=need.summary,
            due=need.due,
            priority=need.priority,
            revenue_at_risk=need.revenue_at_risk,
            status=TaskStatus.OPEN,
            created_at=now,
            updated_at=now,
            assignee=assignee,
        )

    def is_actionable(self, now: datetime) -> bool:
        """Open, or snoozed until a time that has come."""
        if self.status is TaskStatus.OPEN:
            return True
        return (
            self.status is TaskStatus.SNOOZED
            and self.snoozed_until is not None
            and self.snoozed_until <= now
        )

    def snooze(self, until: datetime, now: datetime, minutes: int = 0) -> Task:
        """Put the task aside until ``until`` (it comes back by itself then)."""
        self._require_not_done("snooze")
        if until <= now:
            raise TaskError(f"snooze until {until.isoformat()} is not in the future")
        return replace(
            self,
            status=TaskStatus.SNOOZED,
            snoozed_until=until,
            updated_at=now,
            staff_minutes=self.staff_minutes + check_minutes(minutes),
        )

    def reassign(self, assignee: str | None, now: datetime) -> Task:
        """Give the task to someone else (None: back to the shared queue)."""
        self._require_not_done("reassign")
        return replace(self, assignee=assignee, updated_at=now)

    def complete(self, now: datetime, minutes: int, resolution: str = "completed") -> Task:
        """Mark the work done, with the staff minutes it took."""
        self._require_not_done("complete")
        return replace(
            self,
            status=TaskStatus.DONE,
            closed_at=now,
            updated_at=now,
            snoozed_until=None,
            resolution=resolution,
            staff_minutes=self.staff_minutes + check_minutes(minutes),
        )

    def close(self, now: datetime, resolution: str) -> Task:
        """Close without staff work: the rules no longer need it (the payer decided, ...)."""
        return replace(
            self,
            status=TaskStatus.DONE,
            closed_at=now,
            updated_at=now,
            snoozed_until=None,
            resolution=resolution,
        )

    def refresh(self, need: TaskNeed, now: datetime) -> Task:
        """Follow the need's current due time, priority and amount; wake an elapsed snooze."""
        woke = self.status is TaskStatus.SNOOZED and self.is_actionable(now)
        return replace(
            self,
            due=need.due,
            priority=need.priority,
            revenue_at_risk=need.revenue_at_risk,
            summary=need.summary,
            status=TaskStatus.OPEN if woke else self.status,
            snoozed_until=None if woke else self.snoozed_until,
            updated_at=now,
        )

    def _require_not_done(self, action: str) -> None:
        if self.status is TaskStatus.DONE:
            raise TaskError(f"task {self.id} is already done; cannot {action} it")


def check_minutes(minutes: int) -> int:
    """Staff minutes must be a plausible touch: 0 to a working day."""
    if not 0 <= minutes <= MAX_TOUCH_MINUTES:
        raise TaskError(f"staff minutes must be between 0 and {MAX_TOUCH_MINUTES}, got {minutes}")
    return minutes


@dataclass(frozen=True)
class TaskPlan:
    """What a scan should change for one request."""

    to_open: tuple[TaskNeed, ...] = ()
    to_update: tuple[Task, ...] = ()
    to_close: tuple[Task, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing to change."""
        return not (self.to_open or self.to_update or self.to_close)


# --- priority and revenue at risk ------------------------------------------------------


def priority_of(
    urgency: Urgency, revenue_at_risk: Decimal, due: datetime, now: datetime
) -> Priority:
    """Expedited counts two points, $15,000+ two and $1,500+ one, being late one.

    Three points or more is urgent, two high, one normal, none low.
    """
    points = 2 if urgency is Urgency.EXPEDITED else 0
    if revenue_at_risk >= HIGH_VALUE:
        points += 2
    elif revenue_at_risk >= MEDIUM_VALUE:
        points += 1
    if due <= now:
        points += 1
    return Priority(max(Priority.URGENT, Priority.LOW - points))


def undecided_amount(request: AuthorizationRequest) -> Decimal:
    """The estimated amount of lines the payer has not yet approved, modified or denied."""
    return _amount(
        line
        for line in request.service_lines
        if line.determination is None or line.determination.decision is Decision.PENDED
    )


def _amount(lines: Iterable[ServiceLine]) -> Decimal:
    return sum((line.estimated_amount for line in lines), Decimal(0))


# --- the rules ------------------------------------------------------------------------


def needed_tasks(
    request: AuthorizationRequest,
    history: Sequence[LedgerEntry],
    now: datetime,
    *,
    tz: ZoneInfo,
    timeframes: PayerTimeframes,
) -> tuple[TaskNeed, ...]:
    """The follow-up tasks ``request`` needs at ``now``, given its event ``history``."""
    if request.status in FINAL_STATUSES:
        return ()
    state = request.coverage.state
    needs: list[TaskNeed] = []

    def need(kind: TaskKind, key: str, due: datetime, amount: Decimal, summary: str) -> None:
        needs.append(
            TaskNeed(
                authorization_id=request.id,
                kind=kind,
                key=f"{kind.value}:{key}",
                due=due,
                priority=priority_of(request.urgency, amount, due, now),
                revenue_at_risk=amount,
                summary=summary,
            )
        )

    open_amount = undecided_amount(request)
    if request.status in (Status.DRAFT, Status.READY):
        deadline = next_deadline(
            request,
            now,
            tz=tz,
            lead_time_business_days=timeframes.lead_time_business_days,
            state=state,
        )
        if deadline is not None and deadline.at_risk:
            late = "missed" if deadline.overdue else "at risk"
            need(
                TaskKind.SUBMISSION_DUE,
                deadline.due.isoformat(),
                deadline.due,
                open_amount,
                f"Submission deadline {late}: the payer wants "
                f"{timeframes.lead_time_business_days} business day(s) before the service",
            )
        error = _unanswered_payer_error(history)
        if error is not None:
            need(
                TaskKind.PAYER_ERROR,
                str(error.sequence),
                end_of_day(add_business_days(error.at.astimezone(tz).date(), 1, state), tz),
                open_amount,
                "Payer refused the submission: " + _error_text(error.payload),
            )
    elif request.status in (Status.SUBMITTED, Status.PENDED) and request.submitted_at:
        extended = any(e.type == DECISION_EXTENDED for e in _since_submission(history))
        clock = decision_due(
            request.submitted_at,
            request.urgency,
            tz=tz,
            extended=extended,
            payer_timeframe=timeframes.decision_timeframe,
            state=state,
        )
        overdue = clock.due <= now
        if overdue:
            need(
                TaskKind.DECISION_OVERDUE,
                f"{request.submitted_at.isoformat()}:{'extended' if extended else 'initial'}",
                clock.due,
                open_amount,
                "Decision overdue: call the payer for a determination",
            )
        if request.status is Status.PENDED:
            asked = _unanswered_documentation_request(history)
            if asked is not None:
                need(
                    TaskKind.DOCUMENTATION_REQUESTED,
                    str(asked.sequence),
                    end_of_day(
                        add_business_days(
                            asked.at.astimezone(tz).date(),
                            timeframes.documentation_response_business_days,
                            state,
                        ),
                        tz,
                    ),
                    open_amount,
                    "Payer asked for documentation: " + _pend_reasons(asked.payload),
                )
            pend = _first_pend(history)
            if pend is not None and not overdue:
                limit = end_of_day(
                    add_business_days(
                        pend.at.astimezone(tz).date(), timeframes.pend_limit_business_days, state
                    ),
                    tz,
                )
                if limit <= now:
                    need(
                        TaskKind.PENDED_TOO_LONG,
                        str(pend.sequence),
                        limit,
                        open_amount,
                        f"Pended more than {timeframes.pend_limit_business_days} business "
                        "day(s): ask the payer what is holding the review",
                    )
    elif request.status in (Status.APPROVED, Status.PARTIALLY_APPROVED, Status.MODIFIED):
        expiring = lines_expiring_before_service(request)
        valid_to = approval_validity_end(request)
        if expiring and valid_to is not None:
            amount = _amount(request.service_lines[i] for i in expiring)
            need(
                TaskKind.APPROVAL_EXPIRING,
                valid_to.isoformat(),
                end_of_day(valid_to, tz),
                amount,
                f"Approval ends {valid_to.isoformat()}, before the service does: "
                "ask the payer to extend it or reschedule",
            )
    return tuple(needs)


def plan_tasks(
    request: AuthorizationRequest,
    history: Sequence[LedgerEntry],
    existing: Sequence[Task],
    now: datetime,
    *,
    tz: ZoneInfo,
    timeframes: PayerTimeframes,
) -> TaskPlan:
    """Compare what the request needs with the tasks it has; say what to open, update, close.

    A need whose key any existing task carries (open, snoozed or done) opens
    nothing: the same occurrence never makes a second task. Open or snoozed
    tasks whose key is no longer needed close as ``resolved``.
    """
    needs = {n.key: n for n in needed_tasks(request, history, now, tz=tz, timeframes=timeframes)}
    by_key = {t.key: t for t in existing}
    to_open = tuple(n for key, n in needs.items() if key not in by_key)
    to_update: list[Task] = []
    to_close: list[Task] = []
    for task in existing:
        if task.status is TaskStatus.DONE:
            continue
        current = needs.get(task.key)
        if current is None:
            to_close.append(task.close(now, "resolved"))
            continue
        refreshed = task.refresh(current, now)
        if _visible(refreshed) != _visible(task):
            to_update.append(refreshed)
    return TaskPlan(tuple(to_open), tuple(to_update), tuple(to_close))


def _visible(task: Task) -> tuple[Any, ...]:
    return (
        task.due,
        task.priority,
        task.revenue_at_risk,
        task.summary,
        task.status,
        task.snoozed_until,
    )


def queue_order(task: Task) -> tuple[datetime, Decimal, int, str]:
    """Work-queue sort key: earliest due first, then the most revenue at risk, then priority."""
    return (task.due, -task.revenue_at_risk, int(task.priority), task.id)


def slack_business_days(
    due: datetime, now: datetime, *, tz: ZoneInfo, state: str | None = None
) -> float:
    """Business days left until ``due`` (negative when late), for the queue's display."""
    return business_slack(now, due, tz=tz, state=state)


# --- reading the history --------------------------------------------------------------


def _since_submission(history: Sequence[LedgerEntry]) -> Sequence[LedgerEntry]:
    """The events from the latest submission on (the current round with the payer)."""
    for i in range(len(history) - 1, -1, -1):
        if history[i].type == SUBMITTED:
            return history[i:]
    return ()


def _is_pend(entry: LedgerEntry) -> bool:
    return entry.type == DETERMINATION and entry.payload.get("status") == Status.PENDED.value


def _first_pend(history: Sequence[LedgerEntry]) -> LedgerEntry | None:
    return next((e for e in _since_submission(history) if _is_pend(e)), None)


def _pend_asks(entry: LedgerEntry) -> bool:
    """Whether a pend carries a request for information: a coded or written reason."""
    if entry.type == DOCUMENTATION_REQUESTED:
        return True
    lines: Mapping[str, Mapping[str, Any]] = entry.payload.get("lines", {})
    return any(
        line.get("decision") == Decision.PENDED.value
        and (line.get("reason_code") or line.get("reason_text"))
        for line in lines.values()
    )


def _unanswered_documentation_request(history: Sequence[LedgerEntry]) -> LedgerEntry | None:
    asked: LedgerEntry | None = None
    for entry in _since_submission(history):
        if (_is_pend(entry) or entry.type == DOCUMENTATION_REQUESTED) and _pend_asks(entry):
            asked = entry
        elif entry.type == DOCUMENTATION_SENT:
            asked = None
    return asked


def _pend_reasons(payload: Mapping[str, Any]) -> str:
    if "requested" in payload:
        return str(payload["requested"])
    lines: Mapping[str, Mapping[str, Any]] = payload.get("lines", {})
    reasons = [
        str(line.get("reason_text") or line.get("reason_code"))
        for line in lines.values()
        if line.get("reason_text") or line.get("reason_code")
    ]
    return "; ".join(reasons) or "see the payer's message"


def _unanswered_payer_error(history: Sequence[LedgerEntry]) -> LedgerEntry | None:
    """The latest submission refusal or gateway failure not followed by a new submission."""
    for entry in reversed(history):
        if entry.type == SUBMITTED:
            return None
        rejected = (
            entry.type == f"authorization.{Status.READY.value}"
            and entry.payload.get("previous") == Status.SUBMITTED.value
        )
        if rejected or entry.type == PAYER_ERROR:
            return entry
    return None


def _error_text(payload: Mapping[str, Any]) -> str:
    code, reason = payload.get("code"), payload.get("reason")
    return " ".join(str(p) for p in (code, reason) if p) or "no reason given"


# --- background clocks: notifications and approval expiry -----------------------------

#: A submission with no answer at all after this long lost its response: PAS answers
#: within 15 seconds (pended if slower) and a 278 response follows within minutes.
SUBMISSION_ANSWER_GRACE = timedelta(hours=1)


def notification_overdue_since(
    request: AuthorizationRequest,
    history: Sequence[LedgerEntry],
    *,
    tz: ZoneInfo,
    timeframes: PayerTimeframes,
) -> datetime | None:
    """When the payer's next message became due, for a submitted or pended request.

    Submitted with no answer: ``SUBMISSION_ANSWER_GRACE`` after the submission.
    Pended: the payer's pend limit after the latest pend, by which a
    subscription notification should have come. None in any other state. The
    caller compares it with now; its value also names the occurrence, so one
    silence leads to one fall-back inquiry.
    """
    round_ = _since_submission(history)
    if request.status is Status.SUBMITTED and round_:
        return round_[0].at + SUBMISSION_ANSWER_GRACE
    if request.status is Status.PENDED:
        pends = [e for e in round_ if _is_pend(e)]
        if pends:
            last = pends[-1]
            day = add_business_days(
                last.at.astimezone(tz).date(),
                timeframes.pend_limit_business_days,
                request.coverage.state,
            )
            return end_of_day(day, tz)
    return None


def approval_lapsed(request: AuthorizationRequest, now: datetime, *, tz: ZoneInfo) -> bool:
    """Whether every granted line's validity ended before today: the approval has expired.

    Only approved, partially approved or modified requests expire, and only
    when each granted line states its last valid day (no end date, no expiry).
    """
    if request.status not in (Status.APPROVED, Status.PARTIALLY_APPROVED, Status.MODIFIED):
        return False
    ends = [
        line.determination.valid_to
        for line in request.service_lines
        if line.determination is not None
        and line.determination.decision in (Decision.APPROVED, Decision.MODIFIED)
    ]
    if not ends or any(end is None for end in ends):
        return False
    today = now.astimezone(tz).date()
    return all(end is not None and end < today for end in ends)
