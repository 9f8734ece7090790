"""The authorization request aggregate and its state machine.

An ``AuthorizationRequest`` is the unit of work of prior authorization: one
patient, one coverage, the requesting and servicing providers, and the service
lines the payer must approve. Its status changes only through the methods here;
each change appends a ``DomainEvent`` that the unit of work persists into the
hash-chained event log.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from precert.domain.appeals import AppealLevel, next_appeal_levels
from precert.domain.codes import (
    CodeSystem,
    check_icd10cm,
    check_modifier,
    check_npi,
    check_place_of_service,
    check_procedure_code,
)
from precert.domain.errors import DomainError, IllegalTransition


class Status(StrEnum):
    """Where an authorization stands."""

    DRAFT = "draft"
    READY = "ready"
    SUBMITTED = "submitted"
    PENDED = "pended"
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    MODIFIED = "modified"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    APPEAL_FIRST_LEVEL = "appeal_first_level"
    APPEAL_PEER_TO_PEER = "appeal_peer_to_peer"
    APPEAL_SECOND_LEVEL = "appeal_second_level"
    APPEAL_EXTERNAL_REVIEW = "appeal_external_review"


APPEAL_STATUS: dict[AppealLevel, Status] = {
    AppealLevel.FIRST_LEVEL: Status.APPEAL_FIRST_LEVEL,
    AppealLevel.PEER_TO_PEER: Status.APPEAL_PEER_TO_PEER,
    AppealLevel.SECOND_LEVEL: Status.APPEAL_SECOND_LEVEL,
    AppealLevel.EXTERNAL_REVIEW: Status.APPEAL_EXTERNAL_REVIEW,
}
_IN_APPEAL = frozenset(APPEAL_STATUS.values())
_DECIDED = (Status.APPROVED, Status.PARTIALLY_APPROVED, Status.MODIFIED, Status.DENIED)

#: The whole state machine: from each status, the statuses it may move to.
TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.READY, Status.CANCELLED}),
    Status.READY: frozenset({Status.DRAFT, Status.SUBMITTED, Status.CANCELLED}),
    # A payer may reject a submission outright (AAA, 4xx): it returns to READY for correction.
    Status.SUBMITTED: frozenset({Status.PENDED, *_DECIDED, Status.READY, Status.CANCELLED}),
    Status.PENDED: frozenset({*_DECIDED, Status.CANCELLED}),
    Status.APPROVED: frozenset({Status.EXPIRED, Status.CANCELLED}),
    Status.PARTIALLY_APPROVED: frozenset({*_IN_APPEAL, Status.EXPIRED, Status.CANCELLED}),
    Status.MODIFIED: frozenset({*_IN_APPEAL, Status.EXPIRED, Status.CANCELLED}),
    Status.DENIED: frozenset({*_IN_APPEAL, Status.CANCELLED}),
    Status.CANCELLED: frozenset(),
    Status.EXPIRED: frozenset(),
    **{s: frozenset({Status.APPROVED, Status.DENIED, Status.CANCELLED}) for s in _IN_APPEAL},
}

FINAL_STATUSES = frozenset(s for s, moves in TRANSITIONS.items() if not moves)


class Urgency(StrEnum):
    """Standard review or expedited (urgent) review, which runs on the 72-hour clock."""

    STANDARD = "standard"
    EXPEDITED = "expedited"


class ServiceCategory(StrEnum):
    """The service categories the seed names, each with its own typical timeframe and value."""

    ELECTIVE_SURGERY = "elective_surgery"
    ADVANCED_IMAGING = "advanced_imaging"
    SPECIALTY_DRUG = "specialty_drug"
    DME = "dme"
    BEHAVIORAL_HEALTH = "behavioral_health"
    INPATIENT_ADMISSION = "inpatient_admission"
    OTHER = "other"


class Sex(StrEnum):
    """Administrative sex as X12 and FHIR both carry it."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class LineOfBusiness(StrEnum):
    """The payer's product family; CMS-0057-F applies to the government ones."""

    COMMERCIAL = "commercial"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    MEDICAID = "medicaid"
    EXCHANGE = "exchange"


class Role(StrEnum):
    """What a user or API key may do. SYSTEM is precert's own background work, never issued."""

    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMIN = "admin"
    INTEGRATION = "integration"
    SYSTEM = "system"


class Decision(StrEnum):
    """A payer's answer for one service line."""

    APPROVED = "approved"
    MODIFIED = "modified"
    DENIED = "denied"
    PENDED = "pended"
    CANCELLED = "cancelled"


Npi = Annotated[str, AfterValidator(check_npi)]
Icd10cm = Annotated[str, AfterValidator(check_icd10cm)]
_ValueObject = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Actor(BaseModel):
    """Who did something: a user or API key id and the role it acted in."""

    model_config = _ValueObject
    id: str = Field(min_length=1)
    role: Role


class Patient(BaseModel):
    """The person receiving care, as the payer knows them."""

    model_config = _ValueObject
    id: str = Field(min_length=1, max_length=64, description="The organization's patient id (MRN)")
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: Sex
    member_id: str = Field(min_length=1, max_length=80, description="Payer member id")


class Coverage(BaseModel):
    """The insurance the request is made under."""

    model_config = _ValueObject
    payer_id: str = Field(min_length=1, max_length=64)
    plan: str = Field(min_length=1, max_length=120)
    line_of_business: LineOfBusiness
    member_id: str = Field(min_length=1, max_length=80)
    group_number: str | None = Field(default=None, max_length=50)
    state: str = Field(pattern=r"^[A-Z]{2}$", description="US state of the plan, two letters")
    effective_from: date
    effective_to: date | None = None

    @model_validator(mode="after")
    def _period_in_order(self) -> Coverage:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(
                f"effective_to {self.effective_to} is before effective_from {self.effective_from}"
            )
        return self

    def is_active_on(self, day: date) -> bool:
        """Whether the coverage is in force on ``day``."""
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class Provider(BaseModel):
    """A requesting or servicing provider, individual or organization, by NPI."""

    model_config = _ValueObject
    npi: Npi
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="individual", pattern=r"^(individual|organization)$")
    taxonomy: str | None = Field(default=None, pattern=r"^[0-9A-Z]{9}X$")


class LineDetermination(BaseModel):
    """The payer's decision on one service line."""

    model_config = _ValueObject
    decision: Decision
    certification_number: str | None = Field(default=None, max_length=50)
    authorized_units: Decimal | None = Field(default=None, ge=0)
    valid_from: date | None = None
    valid_to: date | None = None
    reason_code: str | None = Field(default=None, max_length=20)
    reason_text: str | None = Field(default=None, max_length=4000)
    x12_action: str | None = Field(default=None, max_length=3, description="X12 HCR01 code")
    authorized_code: str | None = Field(
        default=None,
        max_length=13,
        description="The code the payer approved instead, for a modified approval",
    )

    @model_validator(mode="after")
    def _consistent(self) -> LineDetermination:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        if self.decision is Decision.DENIED and not (self.reason_code or self.reason_text):
            # CMS-0057-F: every denial must carry a specific reason.
            raise ValueError("a denial must give a specific reason (reason_code or reason_text)")
        return self


class ServiceLine(BaseModel):
    """One procedure, item or drug requested, justified by diagnoses."""

    model_config = _ValueObject
    code_system: CodeSystem
    code: str = Field(min_length=1, max_length=13)
    modifiers: tuple[str, ...] = Field(default=(), max_length=4)
    units: Decimal = Field(gt=0, max_digits=9, decimal_places=3)
    service_start: date
    service_end: date
    place_of_service: str
    diagnoses: tuple[Icd10cm, ...] = Field(min_length=1, max_length=12)
    estimated_amount: Decimal = Field(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    determination: LineDetermination | None = None

    @field_validator("modifiers")
    @classmethod
    def _modifiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_modifier(m) for m in value)

    @field_validator("place_of_service")
    @classmethod
    def _pos(cls, value: str) -> str:
        return check_place_of_service(value)

    @model_validator(mode="after")
    def _code_and_dates(self) -> ServiceLine:
        normalized = check_procedure_code(self.code_system, self.code)
        if normalized != self.code:
            object.__setattr__(self, "code", normalized)
        if self.service_end < self.service_start:
            raise ValueError(
                f"service_end {self.service_end} is before service_start {self.service_start}"
            )
        return self


class ClaimApplication(BaseModel):
    """Units of an approved line used by a posted claim (so they cannot be billed twice)."""

    model_config = _ValueObject
    claim_reference: str = Field(min_length=1, max_length=80)
    line_index: int = Field(ge=0)
    units: Decimal = Field(gt=0)
    service_date: date
    at: datetime


class DomainEvent(BaseModel):
    """Something that happened to an authorization, with who did it and when."""

    model_config = ConfigDict(frozen=True)
    type: str
    at: datetime
    actor: Actor
    payload: dict[str, Any] = Field(default_factory=dict)


def new_authorization_id() -> str:
    """A fresh, unguessable authorization id."""
    return str(uuid.uuid4())


class AuthorizationRequest(BaseModel):
    """The aggregate: everything about one prior-authorization request, and its state machine.

    Change it only through its methods; each appends a ``DomainEvent`` to
    ``pending_events``, which the unit of work drains into the event log.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    id: str = Field(default_factory=new_authorization_id)
    organization_id: str
    patient: Patient
    coverage: Coverage
    requesting_provider: Provider
    servicing_provider: Provider
    service_lines: tuple[ServiceLine, ...] = Field(min_length=1, max_length=50)
    urgency: Urgency = Urgency.STANDARD
    category: ServiceCategory
    status: Status = Status.DRAFT
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    payer_reference: str | None = None
    appeal_levels_attempted: tuple[AppealLevel, ...] = ()
    claims_applied: tuple[ClaimApplication, ...] = ()
    notes: str | None = Field(default=None, max_length=4000)
    version: int = 0

    _pending_events: list[DomainEvent] = PrivateAttr(default_factory=list)

    # --- creation -----------------------------------------------------------------

    @classmethod
    def open(cls, *, actor: Actor, at: datetime, **fields: Any) -> AuthorizationRequest:
        """Create a draft request and record ``authorization.created``."""
        request = cls(created_at=at, updated_at=at, **fields)
        request._record(
            "authorization.created",
            actor,
            at,
            category=request.category.value,
            urgency=request.urgency.value,
            payer_id=request.coverage.payer_id,
            lines=len(request.service_lines),
            amount=str(request.total_amount),
        )
        return request

    # --- derived facts ------------------------------------------------------------

    @property
    def total_amount(self) -> Decimal:
        """Sum of the estimated amounts of all service lines."""
        return sum((line.estimated_amount for line in self.service_lines), Decimal(0))

    @property
    def first_service_date(self) -> date:
        """The earliest date of service across lines: the date the approval is needed by."""
        return min(line.service_start for line in self.service_lines)

    @property
    def last_service_date(self) -> date:
        """The latest date of service across lines."""
        return max(line.service_end for line in self.service_lines)

    @property
    def allowed_moves(self) -> tuple[Status, ...]:
        """Statuses reachable from the current one, in declaration order."""
        return tuple(s for s in Status if s in TRANSITIONS[self.status])

    @property
    def pending_events(self) -> tuple[DomainEvent, ...]:
        """Events recorded since the aggregate was loaded and not yet persisted."""
        return tuple(self._pending_events)

    def drain_events(self) -> list[DomainEvent]:
        """Hand the pending events to the unit of work and forget them."""
        events, self._pending_events = self._pending_events, []
        return events

    # --- state machine ------------------------------------------------------------

    def mark_ready(self, actor: Actor, at: datetime) -> None:
        """The request is complete enough to submit."""
        self._move(Status.READY, actor, at)

    def reopen(self, actor: Actor, at: datetime, reason: str) -> None:
        """Send a ready request back to draft for edits."""
        self._move(Status.DRAFT, actor, at, reason=reason)

    def submit(self, actor: Actor, at: datetime, *, channel: str, attempt_key: str) -> None:
        """The request went to the payer over ``channel`` (fhir-pas, x12-278, sandbox, portal)."""
        self._move(Status.SUBMITTED, actor, at, channel=channel, attempt_key=attempt_key)
        self.submitted_at = at

    def reject_submission(self, actor: Actor, at: datetime, *, reason: str, code: str) -> None:
        """The payer refused the submission itself (not a denial): correct and resubmit."""
        self._move(Status.READY, actor, at, reason=reason, code=code)

    def record_determination(
        self,
        actor: Actor,
        at: datetime,
        decisions: Mapping[int, LineDetermination],
        *,
        payer_reference: str | None = None,
    ) -> Status:
        """Apply the payer's per-line decisions and derive the request's status from them.

        Lines not named keep their previous determination. Returns the new status.
        """
        unknown = sorted(i for i in decisions if not 0 <= i < len(self.service_lines))
        if unknown:
            raise DomainError(
                f"determination names service line(s) {unknown}; the request has "
                f"{len(self.service_lines)} line(s), numbered from 0"
            )
        lines = tuple(
            line.model_copy(update={"determination": decisions[i]}) if i in decisions else line
            for i, line in enumerate(self.service_lines)
        )
        target = overall_status(lines)
        if target is self.status is Status.PENDED:
            # A further pend (more information requested) is an event, not a move.
            self._require_can_decide()
        else:
            self._check_move(target)
        self.service_lines = lines
        if payer_reference:
            self.payer_reference = payer_reference
        payload: dict[str, Any] = {
            "lines": {
                str(i): d.model_dump(mode="json", exclude_none=True) for i, d in decisions.items()
            },
        }
        if payer_reference:
            payload["payer_reference"] = payer_reference
        previous = self.status
        self.status = target
        self.updated_at = at
        if target is not Status.PENDED:
            self.decided_at = at
        self._record(
            "authorization.determination_recorded",
            actor,
            at,
            previous=previous.value,
            status=target.value,
            **payload,
        )
        return target

    def cancel(self, actor: Actor, at: datetime, reason: str) -> None:
        """Withdraw the request (service cancelled, patient moved, duplicate)."""
        self._move(Status.CANCELLED, actor, at, reason=reason)

    def expire(self, actor: Actor, at: datetime) -> None:
        """The approval's validity window ended unused."""
        self._move(Status.EXPIRED, actor, at)

    def appeal(self, actor: Actor, at: datetime, level: AppealLevel, *, reason: str) -> None:
        """Open an appeal at ``level``; earlier levels may be skipped but never repeated."""
        open_levels = next_appeal_levels(self.appeal_levels_attempted)
        if level not in open_levels:
            raise DomainError(
                f"appeal level '{level}' is not open: levels already attempted "
                f"{[lvl.value for lvl in self.appeal_levels_attempted]}, still open "
                f"{[lvl.value for lvl in open_levels]}"
            )
        self._move(APPEAL_STATUS[level], actor, at, level=level.value, reason=reason)
        self.appeal_levels_attempted = (*self.appeal_levels_attempted, level)

    def record_appeal_outcome(
        self, actor: Actor, at: datetime, *, overturned: bool, note: str | None = None
    ) -> None:
        """The payer decided the appeal: overturned means approved, upheld means still denied."""
        if self.status not in _IN_APPEAL:
            raise IllegalTransition(self.status.value, "appeal outcome", self._allowed_names())
        level = self.appeal_levels_attempted[-1]
        target = Status.APPROVED if overturned else Status.DENIED
        self._move(target, actor, at, level=level.value, overturned=overturned, note=note or "")
        self.decided_at = at

    # --- internals ----------------------------------------------------------------

    def _require_can_decide(self) -> None:
        if self.status not in (Status.SUBMITTED, Status.PENDED):
            raise IllegalTransition(self.status.value, "determination", self._allowed_names())

    def _allowed_names(self) -> list[str]:
        return [s.value for s in self.allowed_moves]

    def _check_move(self, target: Status) -> None:
        if target not in TRANSITIONS[self.status]:
            raise IllegalTransition(self.status.value, target.value, self._allowed_names())

    def _move(self, target: Status, actor: Actor, at: datetime, **payload: Any) -> None:
        self._check_move(target)
        previous = self.status
        self.status = target
        self.updated_at = at
        self._record(f"authorization.{target.value}", actor, at, previous=previous.value, **payload)

    def _record(self, event_type: str, actor: Actor, at: datetime, **payload: Any) -> None:
        self._pending_events.append(
            DomainEvent(type=event_type, at=at, actor=actor, payload=payload)
        )

    # --- claims -----------------------------------------------------------------------

    def authorized_units(self, line_index: int) -> Decimal:
        """Units the payer approved on a line: its authorized units, else the units requested."""
        line = self.service_lines[line_index]
        determination = line.determination
        if determination is None or determination.decision not in (
            Decision.APPROVED,
            Decision.MODIFIED,
        ):
            return Decimal(0)
        if determination.authorized_units is not None:
            return determination.authorized_units
        return line.units

    def units_remaining(self, line_index: int) -> Decimal:
        """Approved units on a line not yet used by posted claims."""
        used = sum((c.units for c in self.claims_applied if c.line_index == line_index), Decimal(0))
        return self.authorized_units(line_index) - used

    def apply_claim(
        self,
        actor: Actor,
        at: datetime,
        *,
        claim_reference: str,
        line_index: int,
        units: Decimal,
        service_date: date,
    ) -> bool:
        """Use approved units for a posted claim line. Returns False for a repeat of the same
        claim and line (idempotent); raises DomainError when the units are not there."""
        if any(
            c.claim_reference == claim_reference and c.line_index == line_index
            for c in self.claims_applied
        ):
            return False
        remaining = self.units_remaining(line_index)
        if units > remaining:
            raise DomainError(
                f"claim {claim_reference} asks for {units} unit(s) on line {line_index}; "
                f"only {remaining} approved unit(s) remain"
            )
        application = ClaimApplication(
            claim_reference=claim_reference,
            line_index=line_index,
            units=units,
            service_date=service_date,
            at=at,
        )
        self.claims_applied = (*self.claims_applied, application)
        self.record_note(
            actor,
            at,
            "authorization.units_consumed",
            claim_reference=claim_reference,
            line=line_index,
            units=str(units),
            remaining=str(remaining - units),
        )
        return True

    def record_note(self, actor: Actor, at: datetime, event_type: str, **payload: Any) -> None:
        """Record a non-transition event (call logged, document attached, eligibility checked)."""
        self.updated_at = at
        self._record(event_type, actor, at, **payload)


def overall_status(lines: tuple[ServiceLine, ...]) -> Status:
    """The request-level status implied by its lines' determinations.

    Lines the payer cancelled do not count. Any counted line still pended (or
    undecided) keeps the whole request pended; otherwise all approved is approved,
    all denied is denied, approved-and-denied is a partial approval, and any
    modification without a denial is modified. All lines cancelled is cancelled.
    """
    decisions = [line.determination.decision if line.determination else None for line in lines]
    counted = [d for d in decisions if d is not Decision.CANCELLED]
    if not counted:
        return Status.CANCELLED
    if any(d in (None, Decision.PENDED) for d in counted):
        return Status.PENDED
    kinds = set(counted)
    if kinds == {Decision.APPROVED}:
        return Status.APPROVED
    if kinds == {Decision.DENIED}:
        return Status.DENIED
    if Decision.DENIED in kinds:
        return Status.PARTIALLY_APPROVED
    return Status.MODIFIED
