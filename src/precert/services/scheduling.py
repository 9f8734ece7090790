"""The scheduling gate: may this appointment be confirmed, or must it wait for approval?

For each line the policy engine says whether prior authorization is needed. A line
that needs it is covered when an approval of the same patient and payer covers its
code and date with units to spare (the billing gate's own rule). If any line is not
covered the appointment is held, and a draft authorization is opened for it, once:
the appointment id is the draft's idempotency key, so every re-check finds the same
draft. When that draft is approved the next check confirms and records the release.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from pydantic import ConfigDict, Field

from precert.domain.access import Permission
from precert.domain.authorization import ServiceCategory, Status, Urgency
from precert.domain.claims import ClaimLine, ClaimLineCheck, check_claim_line
from precert.policy.engine import PolicyEngine
from precert.ports import AuthorizationQuery, Clock, UnitOfWork
from precert.services.access import AccessContext, audit
from precert.services.authorizations import NewAuthorization, open_authorization
from precert.services.discover import discover_lines, line_facts

_APPROVED = (Status.APPROVED, Status.PARTIALLY_APPROVED, Status.MODIFIED)


class Appointment(NewAuthorization):
    """An appointment as the scheduling system books it: who, what, when, under which plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    appointment_id: str = Field(min_length=1, max_length=100)
    urgency: Urgency = Urgency.STANDARD
    category: ServiceCategory


class Verdict(StrEnum):
    """What the scheduling system may do with the appointment."""

    CONFIRM = "confirm"
    HOLD = "hold"


@dataclass(frozen=True)
class LineGate:
    """One line: does it need authorization, and is it covered."""

    index: int
    needs_authorization: bool
    covered: bool
    reason: str
    submit_by: date | None
    authorization_id: str | None


@dataclass(frozen=True)
class AppointmentCheck:
    """The verdict and its reasons; ``authorization_id`` is the request the hold waits on."""

    verdict: Verdict
    lines: tuple[LineGate, ...]
    authorization_id: str | None


def _hold_key(appointment_id: str) -> str:
    return f"appointment:{appointment_id}"


def check_appointment(
    uow: UnitOfWork,
    context: AccessContext,
    appointment: Appointment,
    engine: PolicyEngine,
    clock: Clock,
) -> AppointmentCheck:
    """Confirm or hold the appointment; a hold opens (once) the draft it waits on."""
    context.require(Permission.DISCOVER_REQUIREMENTS)
    now = clock.now()
    category = appointment.category if len(appointment.service_lines) == 1 else None
    requirements = discover_lines(
        engine,
        [
            line_facts(line, appointment.coverage, appointment.patient, category)
            for line in appointment.service_lines
        ],
    )
    approvals = uow.authorizations.list(
        context.organization_id,
        AuthorizationQuery(
            statuses=_APPROVED,
            patient_id=appointment.patient.id,
            payer_id=appointment.coverage.payer_id,
            limit=200,
        ),
    ).items
    gates: list[LineGate] = []
    for requirement, line in zip(requirements, appointment.service_lines, strict=True):
        if not requirement.determination.needs_auth:
            gates.append(
                LineGate(
                    requirement.index,
                    False,
                    True,
                    f"{line.code}: no prior authorization needed "
                    f"({requirement.determination.pa_needed.value})",
                    None,
                    None,
                )
            )
            continue
        check: ClaimLineCheck = check_claim_line(
            approvals, ClaimLine(line.code_system, line.code, line.service_start, line.units)
        )
        gates.append(
            LineGate(
                requirement.index,
                True,
                check.covered,
                f"{line.code}: {check.reason}",
                requirement.submit_by,
                check.authorization_id,
            )
        )
    touched = sorted({g.authorization_id for g in gates if g.authorization_id})
    audit(uow, context, now, "read", "authorization", touched, via="scheduling-check")
    held = [g for g in gates if not g.covered]
    key = _hold_key(appointment.appointment_id)
    if not held:
        released = _release_hold(uow, context, key, appointment.appointment_id, now)
        uow.commit()
        return AppointmentCheck(Verdict.CONFIRM, tuple(gates), released)
    command = NewAuthorization.model_validate(appointment.model_dump(exclude={"appointment_id"}))
    opened = open_authorization(uow, context, command, clock, idempotency_key=key)
    if opened.created:
        opened.request.record_note(
            context.actor,
            now,
            "authorization.appointment_held",
            appointment_id=appointment.appointment_id,
            lines=[g.index for g in held],
        )
        uow.authorizations.save(opened.request)
        uow.commit()
    return AppointmentCheck(Verdict.HOLD, tuple(gates), opened.request.id)


def _release_hold(
    uow: UnitOfWork, context: AccessContext, key: str, appointment_id: str, now: datetime
) -> str | None:
    """Record, once, that the approval released the appointment it held."""
    found = uow.idempotency.find(context.organization_id, key)
    if found is None:
        return None
    request = uow.authorizations.get(context.organization_id, found[1])
    history = uow.authorizations.history(context.organization_id, request.id)
    if any(e.type == "authorization.appointment_released" for e in history):
        return request.id
    request.record_note(
        context.actor, now, "authorization.appointment_released", appointment_id=appointment_id
    )
    uow.authorizations.save(request)
    audit(uow, context, now, "write", "authorization", [request.id], event="appointment-released")
    return request.id
