"""Denials and appeals: is an appeal worth it, the letter, and the peer-to-peer call."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from precert.domain.access import Permission
from precert.domain.appeals import (
    AppealAssessment,
    AppealLetter,
    AppealLevel,
    DeniedService,
    PolicyCitation,
    assess_appeal,
    default_terms,
    next_appeal_levels,
)
from precert.domain.authorization import AuthorizationRequest, Decision, ServiceLine, Status
from precert.domain.codes import icd10cm_description
from precert.domain.errors import DomainError
from precert.policy.engine import PolicyEngine
from precert.ports import Clock, UnitOfWork
from precert.services.access import AccessContext, audit
from precert.services.discover import discover

#: Loaded cost of an hour of appeals staff time when the organization has not set its own.
DEFAULT_STAFF_COST_PER_HOUR = Decimal("45.00")

_CONTESTABLE = (Status.DENIED, Status.PARTIALLY_APPROVED, Status.MODIFIED)

#: Finds the payer's rule behind a line's requirement (the policy engine, in production).
CitePolicy = Callable[[AuthorizationRequest, int], PolicyCitation | None]


def policy_citations(engine: PolicyEngine) -> CitePolicy:
    """Cite the rule that decided a line's requirement, from the payer's own policy pack."""

    def cite(request: AuthorizationRequest, index: int) -> PolicyCitation | None:
        requirement = discover(engine, request)[index]
        deciding = requirement.determination.deciding_rule
        if deciding is None:
            return None
        rules, _ = engine.candidates(requirement.facts.setting)
        for rule in rules:
            if rule.id == deciding:
                return PolicyCitation(rule.id, rule.description, rule.source)
        return None

    return cite


def _contested_lines(request: AuthorizationRequest) -> list[tuple[int, ServiceLine]]:
    return [
        (i, line)
        for i, line in enumerate(request.service_lines)
        if line.determination
        and line.determination.decision in (Decision.DENIED, Decision.MODIFIED)
    ]


def _require_contestable(request: AuthorizationRequest) -> None:
    if request.status not in _CONTESTABLE:
        raise DomainError(
            f"only a denied, partially approved or modified request can be appealed; "
            f"this one is '{request.status.value}'"
        )


def appeal_options(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    clock: Clock,
    *,
    staff_cost_per_hour: Decimal = DEFAULT_STAFF_COST_PER_HOUR,
) -> list[AppealAssessment]:
    """The expected value of each appeal level still open for this request."""
    context.require(Permission.APPEAL)
    request = uow.authorizations.get(context.organization_id, authorization_id)
    _require_contestable(request)
    history = uow.authorizations.appeal_outcomes(context.organization_id)
    at_stake = sum((line.estimated_amount for _, line in _contested_lines(request)), Decimal(0))
    decided_on = (request.decided_at or clock.now()).date()
    options = [
        assess_appeal(
            level,
            decided_on=decided_on,
            amount_at_stake=at_stake,
            history=history,
            staff_cost_per_hour=staff_cost_per_hour,
        )
        for level in next_appeal_levels(request.appeal_levels_attempted)
    ]
    audit(uow, context, clock.now(), "read", "authorization", [request.id], view="appeal-options")
    uow.commit()
    return options


@dataclass(frozen=True)
class DraftedLetter:
    """An appeal letter and its PDF."""

    letter: AppealLetter
    pdf: bytes


def draft_appeal_letter(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    *,
    level: AppealLevel,
    clinical_rationale: str,
    enclosures: Sequence[str],
    clock: Clock,
    cite: CitePolicy,
    render_pdf: Callable[[AppealLetter], bytes],
) -> DraftedLetter:
    """Compose the letter from the request and the payer's words, render it, record it."""
    context.require(Permission.APPEAL)
    now = clock.now()
    request = uow.authorizations.get(context.organization_id, authorization_id)
    _require_contestable(request)
    payer = uow.directory.payer(request.coverage.payer_id)
    decided_on = (request.decided_at or now).date()
    letter = AppealLetter(
        written_on=now.date(),
        level=level,
        payer_name=payer.name if payer else request.coverage.payer_id,
        payer_reference=request.payer_reference,
        authorization_id=request.id,
        patient_name=f"{request.patient.given_name} {request.patient.family_name}",
        patient_birth_date=request.patient.birth_date,
        member_id=request.coverage.member_id,
        requesting_provider=request.requesting_provider.name,
        requesting_npi=request.requesting_provider.npi,
        services=tuple(
            _denied_service(request, i, line, cite) for i, line in _contested_lines(request)
        ),
        clinical_rationale=clinical_rationale.strip(),
        enclosures=tuple(enclosures),
        file_by=decided_on + timedelta(days=default_terms(level).filing_days),
    )
    pdf = render_pdf(letter)
    request.record_note(
        context.actor,
        now,
        "authorization.appeal_letter_drafted",
        level=level.value,
        sha256=hashlib.sha256(pdf).hexdigest(),
        bytes=len(pdf),
        enclosures=list(enclosures),
    )
    uow.authorizations.save(request)
    audit(uow, context, now, "write", "authorization", [request.id], event="appeal-letter")
    uow.commit()
    return DraftedLetter(letter, pdf)


def _denied_service(
    request: AuthorizationRequest, index: int, line: ServiceLine, cite: CitePolicy
) -> DeniedService:
    determination = line.determination
    dates = line.service_start.isoformat()
    if line.service_end != line.service_start:
        dates += f" to {line.service_end.isoformat()}"
    return DeniedService(
        code_system=line.code_system.value,
        code=line.code,
        units=f"{line.units.normalize():f}",
        service_dates=dates,
        diagnoses=tuple(f"{code} {icd10cm_description(code)}" for code in line.diagnoses),
        reason_code=determination.reason_code if determination else None,
        reason_text=determination.reason_text if determination else None,
        citation=cite(request, index),
    )


def schedule_peer_to_peer(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    *,
    at: datetime,
    payer_contact: str,
    physician: str,
    clock: Clock,
) -> AuthorizationRequest:
    """Book the ordering physician's call with the payer's medical director."""
    context.require(Permission.APPEAL)
    now = clock.now()
    if at <= now:
        raise DomainError(f"a peer-to-peer call must be scheduled in the future, not {at}")
    request = uow.authorizations.get(context.organization_id, authorization_id)
    _require_contestable_or_in_peer_review(request)
    request.record_note(
        context.actor,
        now,
        "authorization.peer_to_peer_scheduled",
        scheduled_for=at.isoformat(),
        payer_contact=payer_contact,
        physician=physician,
    )
    uow.authorizations.save(request)
    audit(uow, context, now, "write", "authorization", [request.id], event="peer-to-peer")
    uow.commit()
    return request


def record_peer_to_peer(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    *,
    outcome: str,
    notes: str,
    minutes: int,
    clock: Clock,
) -> AuthorizationRequest:
    """Record how the call went (the payer's decision follows as an appeal outcome)."""
    context.require(Permission.APPEAL)
    now = clock.now()
    request = uow.authorizations.get(context.organization_id, authorization_id)
    _require_contestable_or_in_peer_review(request)
    request.record_note(
        context.actor,
        now,
        "authorization.peer_to_peer_held",
        outcome=outcome,
        notes=notes,
        minutes=minutes,
    )
    uow.authorizations.save(request)
    audit(uow, context, now, "write", "authorization", [request.id], event="peer-to-peer")
    uow.commit()
    return request


def _require_contestable_or_in_peer_review(request: AuthorizationRequest) -> None:
    if request.status is not Status.APPEAL_PEER_TO_PEER:
        _require_contestable(request)
