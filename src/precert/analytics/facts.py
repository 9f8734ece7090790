"""Per-request analytics facts, folded from a request's event history.

Every metric is defined over these facts, and the facts are defined here, once,
as a fold over the events the aggregate records (``authorization.created``, the
status moves ``authorization.<status>``, ``authorization.determination_recorded``,
the appeal moves and outcomes, and two events the workflow records for analytics:
``authorization.touch`` with ``minutes`` of staff time, and
``authorization.extension`` when the payer extends the standard decision clock).

The fold is incremental: ``advance`` takes the facts stored so far and only the
new events, so the write path keeps them current without re-reading history.
Pure: no I/O; times are aware instants, local dates come from the organization's
timezone ``tz``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from precert.domain.appeals import AppealLevel
from precert.domain.authorization import (
    AuthorizationRequest,
    Decision,
    DomainEvent,
    LineOfBusiness,
    ServiceCategory,
    Status,
    Urgency,
)
from precert.domain.codes import CodeSystem
from precert.domain.deadlines import business_days_between, decision_due

#: The event a coordinator's work on a request records: payload ``minutes`` (whole minutes).
TOUCH_EVENT = "authorization.touch"
#: The event recording that the payer extended the standard decision clock (to 14 days).
EXTENSION_EVENT = "authorization.extension"
DETERMINATION_EVENT = "authorization.determination_recorded"
CREATED_EVENT = "authorization.created"

#: A decision on the request as a whole (a pend or a payer cancellation is not one).
DECIDED_STATUSES = frozenset(
    {Status.APPROVED, Status.PARTIALLY_APPROVED, Status.MODIFIED, Status.DENIED}
)
#: Decisions that grant the service (a modified approval grants it with changes).
APPROVING_STATUSES = frozenset({Status.APPROVED, Status.MODIFIED})
#: Decisions that refuse the service in whole or in part (KFF counts both as denials).
DENYING_STATUSES = frozenset({Status.DENIED, Status.PARTIALLY_APPROVED})
#: Not yet decided: the revenue these requests carry is at risk until the payer answers.
PENDING_STATUSES = frozenset({Status.DRAFT, Status.READY, Status.SUBMITTED, Status.PENDED})
APPEAL_STATUSES = frozenset(
    {
        Status.APPEAL_FIRST_LEVEL,
        Status.APPEAL_PEER_TO_PEER,
        Status.APPEAL_SECOND_LEVEL,
        Status.APPEAL_EXTERNAL_REVIEW,
    }
)
#: The states a request waits in for someone to act: where bottlenecks show.
WAITING_STATES: tuple[Status, ...] = (
    Status.DRAFT,
    Status.READY,
    Status.SUBMITTED,
    Status.PENDED,
    Status.APPEAL_FIRST_LEVEL,
    Status.APPEAL_PEER_TO_PEER,
    Status.APPEAL_SECOND_LEVEL,
    Status.APPEAL_EXTERNAL_REVIEW,
)
#: Denial reason texts are cut to this length for grouping and display.
REASON_TEXT_LENGTH = 200
_STATUS_EVENTS = {f"authorization.{s.value}": s for s in Status}


class FirstAnswer(StrEnum):
    """How the payer first answered the first submission."""

    REJECTED = "rejected"
    PENDED = "pended"
    DECIDED = "decided"


@dataclass(frozen=True)
class HistoryEvent:
    """One event as analytics reads it: its type, when, and its payload."""

    type: str
    at: datetime
    payload: Mapping[str, Any]

    @classmethod
    def of(cls, event: DomainEvent) -> HistoryEvent:
        """The analytics view of a domain event."""
        return cls(type=event.type, at=event.at, payload=event.payload)


def is_drug_request(category: ServiceCategory, code_systems: Iterable[CodeSystem]) -> bool:
    """Whether a request asks for a drug: a specialty-drug request, or any line coded as NDC.

    One NDC line makes the whole request a drug request: its decision and decision
    time cannot be split by line, and CMS-0057-F leaves drug decisions out.
    """
    return category is ServiceCategory.SPECIALTY_DRUG or any(
        system is CodeSystem.NDC for system in code_systems
    )


@dataclass(frozen=True)
class RequestSummary:
    """What analytics needs of the request itself, besides its events."""

    id: str
    organization_id: str
    payer_id: str
    category: ServiceCategory
    urgency: Urgency
    line_of_business: LineOfBusiness
    #: Whether the request asks for a drug (see ``is_drug_request``).
    drug: bool
    coverage_state: str
    status: Status
    created_at: datetime
    first_service_date: date
    line_amounts: tuple[Decimal, ...]

    @classmethod
    def of(cls, request: AuthorizationRequest) -> RequestSummary:
        """The summary of an aggregate in its current state."""
        return cls(
            id=request.id,
            organization_id=request.organization_id,
            payer_id=request.coverage.payer_id,
            category=request.category,
            urgency=request.urgency,
            line_of_business=request.coverage.line_of_business,
            drug=is_drug_request(
                request.category, (line.code_system for line in request.service_lines)
            ),
            coverage_state=request.coverage.state,
            status=request.status,
            created_at=request.created_at,
            first_service_date=request.first_service_date,
            line_amounts=tuple(line.estimated_amount for line in request.service_lines),
        )


@dataclass(frozen=True)
class AuthorizationHistory:
    """A request and its whole event history, oldest event first: the plain record."""

    summary: RequestSummary
    events: tuple[HistoryEvent, ...]

    @classmethod
    def of(
        cls, request: AuthorizationRequest, events: Iterable[DomainEvent]
    ) -> AuthorizationHistory:
        """The history of an aggregate and the events it recorded."""
        return cls(RequestSummary.of(request), tuple(HistoryEvent.of(e) for e in events))


class DenialReason(BaseModel):
    """A payer's reason for denying a line: its code and its text (cut to 200 characters)."""

    model_config = ConfigDict(frozen=True)
    code: str
    text: str


class AppealStep(BaseModel):
    """One appeal level filed, and its outcome once decided (True: overturned)."""

    level: AppealLevel
    filed_at: datetime
    overturned: bool | None = None


class AuthorizationFacts(BaseModel):
    """Everything the metrics count about one request, kept current as events arrive."""

    id: str
    organization_id: str
    payer_id: str
    category: ServiceCategory
    urgency: Urgency
    line_of_business: LineOfBusiness
    #: A drug request (specialty-drug category or an NDC-coded line): CMS-0057-F excludes it.
    drug: bool
    coverage_state: str
    status: Status
    created_at: datetime
    first_service_date: date
    line_amounts: tuple[Decimal, ...]
    # Where the request stands according to its events, and since when.
    state: Status = Status.DRAFT
    state_since: datetime
    #: Seconds spent in each state over its completed visits (the current visit is open).
    state_seconds: dict[Status, int] = Field(default_factory=dict)
    submissions: int = 0
    first_submitted_at: datetime | None = None
    #: Calendar month (local) of the first submission: the period the request counts in.
    cohort_month: date | None = None
    #: The latest submission: the one the payer accepted and decides on.
    submitted_at: datetime | None = None
    first_answer: FirstAnswer | None = None
    pended: bool = False
    extended: bool = False
    #: CMS-0057-F's regulatory decision due instant for the latest submission.
    decision_due: datetime | None = None
    decided_at: datetime | None = None
    decision: Status | None = None
    decision_seconds: int | None = None
    decision_business_days: int | None = None
    clock_missed: bool = False
    denial_reasons: tuple[DenialReason, ...] = ()
    #: Each line's latest decision, by line index.
    line_decisions: dict[int, Decision] = Field(default_factory=dict)
    appeals: tuple[AppealStep, ...] = ()
    touches: int = 0
    touch_minutes: int = 0

    # --- derived facts ------------------------------------------------------------

    @property
    def answered(self) -> bool:
        """Whether the payer answered the first submission (rejection, pend or decision)."""
        return self.first_answer is not None

    @property
    def first_pass(self) -> bool:
        """Approved in full on the first submission, with no rejection and no pend first."""
        return (
            self.submissions == 1
            and self.first_answer is FirstAnswer.DECIDED
            and self.decision is Status.APPROVED
        )

    @property
    def awaiting_decision(self) -> bool:
        """Submitted and not yet decided (pended included)."""
        return self.decision is None and self.state in (Status.SUBMITTED, Status.PENDED)

    @property
    def approved_after_appeal(self) -> bool:
        """Denied (in whole or part), then approved because an appeal overturned the denial."""
        return any(step.overturned for step in self.appeals)

    @property
    def denied_amount(self) -> Decimal:
        """Estimated amount of the lines denied, while the request stands denied or in appeal."""
        if self.state not in (DENYING_STATUSES | APPEAL_STATUSES):
            return Decimal(0)
        return sum(
            (
                amount
                for i, amount in enumerate(self.line_amounts)
                if self.line_decisions.get(i) is Decision.DENIED
            ),
            Decimal(0),
        )

    @property
    def total_amount(self) -> Decimal:
        """Sum of the lines' estimated amounts."""
        return sum(self.line_amounts, Decimal(0))


def derive_facts(history: AuthorizationHistory, tz: ZoneInfo) -> AuthorizationFacts:
    """The facts of a request from its whole history."""
    return advance(None, history.summary, history.events, tz)


def advance(
    previous: AuthorizationFacts | None,
    summary: RequestSummary,
    events: Sequence[HistoryEvent],
    tz: ZoneInfo,
) -> AuthorizationFacts:
    """Fold ``events`` (the ones after those ``previous`` saw) into the request's facts.

    The summary's fields (payer, category, urgency, line of business, drug, amounts,
    status) are taken as they are now; everything else accumulates from the events
    in order.
    """
    fields: dict[str, Any] = {
        "id": summary.id,
        "organization_id": summary.organization_id,
        "payer_id": summary.payer_id,
        "category": summary.category,
        "urgency": summary.urgency,
        "line_of_business": summary.line_of_business,
        "drug": summary.drug,
        "coverage_state": summary.coverage_state,
        "status": summary.status,
        "created_at": summary.created_at,
        "first_service_date": summary.first_service_date,
        "line_amounts": summary.line_amounts,
    }
    if previous is None:
        facts = AuthorizationFacts(state_since=summary.created_at, **fields)
    else:
        facts = previous.model_copy(
            update={
                **fields,
                "state_seconds": dict(previous.state_seconds),
                "line_decisions": dict(previous.line_decisions),
            }
        )
    for event in events:
        _apply(facts, event, tz)
    return facts


def _apply(facts: AuthorizationFacts, event: HistoryEvent, tz: ZoneInfo) -> None:
    payload = event.payload
    if event.type == CREATED_EVENT:
        facts.state, facts.state_since = Status.DRAFT, event.at
    elif event.type == DETERMINATION_EVENT:
        _determination(facts, event, tz)
    elif event.type == TOUCH_EVENT:
        facts.touches += 1
        facts.touch_minutes += _minutes(payload.get("minutes"))
    elif event.type == EXTENSION_EVENT:
        facts.extended = True
        if facts.decision is None and facts.submitted_at is not None:
            facts.decision_due = _regulatory_due(facts, facts.submitted_at, tz)
    elif event.type in _STATUS_EVENTS:
        _move(facts, event, _STATUS_EVENTS[event.type], tz)


def _enter(facts: AuthorizationFacts, status: Status, at: datetime) -> None:
    if status is facts.state:
        return
    spent = int((at - facts.state_since).total_seconds())
    facts.state_seconds[facts.state] = facts.state_seconds.get(facts.state, 0) + spent
    facts.state, facts.state_since = status, at


def _move(facts: AuthorizationFacts, event: HistoryEvent, target: Status, tz: ZoneInfo) -> None:
    payload = event.payload
    if target is Status.SUBMITTED:
        facts.submissions += 1
        facts.submitted_at = event.at
        if facts.first_submitted_at is None:
            facts.first_submitted_at = event.at
            local = event.at.astimezone(tz).date()
            facts.cohort_month = local.replace(day=1)
        facts.decision_due = _regulatory_due(facts, event.at, tz)
    elif (
        target is Status.READY
        and payload.get("previous") == Status.SUBMITTED.value
        and facts.first_answer is None
    ):
        # The payer refused the submission itself (a rejection, not a denial).
        facts.first_answer = FirstAnswer.REJECTED
    elif target in APPEAL_STATUSES and "level" in payload:
        step = AppealStep(level=AppealLevel(payload["level"]), filed_at=event.at)
        facts.appeals = (*facts.appeals, step)
    elif "overturned" in payload and facts.appeals:
        last = facts.appeals[-1].model_copy(update={"overturned": bool(payload["overturned"])})
        facts.appeals = (*facts.appeals[:-1], last)
    _enter(facts, target, event.at)


def _determination(facts: AuthorizationFacts, event: HistoryEvent, tz: ZoneInfo) -> None:
    payload = event.payload
    target = Status(payload["status"])
    lines: Mapping[str, Mapping[str, Any]] = payload.get("lines", {})
    for index, line in lines.items():
        facts.line_decisions[int(index)] = Decision(line["decision"])
    if target is Status.PENDED:
        facts.pended = True
        if facts.first_answer is None:
            facts.first_answer = FirstAnswer.PENDED
    elif target in DECIDED_STATUSES and facts.decision is None:
        if facts.first_answer is None:
            facts.first_answer = FirstAnswer.DECIDED
        facts.decision, facts.decided_at = target, event.at
        if facts.submitted_at is not None:
            facts.decision_seconds = int((event.at - facts.submitted_at).total_seconds())
            facts.decision_business_days = business_days_between(
                facts.submitted_at, event.at, tz=tz, state=facts.coverage_state
            )
            due = facts.decision_due or _regulatory_due(facts, facts.submitted_at, tz)
            facts.clock_missed = event.at > due
        facts.denial_reasons = _reasons(lines)
    _enter(facts, target, event.at)


def _reasons(lines: Mapping[str, Mapping[str, Any]]) -> tuple[DenialReason, ...]:
    found = {
        DenialReason(
            code=str(line.get("reason_code") or ""),
            text=str(line.get("reason_text") or "")[:REASON_TEXT_LENGTH],
        )
        for line in lines.values()
        if line.get("decision") == Decision.DENIED.value
    }
    return tuple(sorted(found, key=lambda r: (r.code, r.text)))


def _regulatory_due(facts: AuthorizationFacts, submitted_at: datetime, tz: ZoneInfo) -> datetime:
    return decision_due(
        submitted_at, facts.urgency, tz=tz, extended=facts.extended, state=facts.coverage_state
    ).regulatory_due


def _minutes(value: Any) -> int:
    """Whole minutes of staff time; anything else is refused so it never enters the ledger."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{TOUCH_EVENT} needs 'minutes' as a non-negative number, got {value!r}")
    if value != int(value):
        raise ValueError(f"{TOUCH_EVENT} counts whole minutes, got {value!r}")
    return int(value)
