"""Open, read, list and move authorization requests; every access is audited."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from precert.domain.access import Permission
from precert.domain.appeals import AppealLevel
from precert.domain.authorization import (
    AuthorizationRequest,
    Coverage,
    LineDetermination,
    Patient,
    Provider,
    ServiceCategory,
    ServiceLine,
    Urgency,
)
from precert.domain.errors import DomainError, InvalidInput, Problem
from precert.domain.ledger import LedgerEntry, canonical_json
from precert.ports import AuthorizationPage, AuthorizationQuery, Clock, UnitOfWork
from precert.services.access import AccessContext, audit

SUBJECT = "authorization"


class NewAuthorization(BaseModel):
    """What a caller supplies to open a request (status, ids and times are precert's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    patient: Patient
    coverage: Coverage
    requesting_provider: Provider
    servicing_provider: Provider
    service_lines: tuple[ServiceLine, ...] = Field(min_length=1, max_length=50)
    urgency: Urgency = Urgency.STANDARD
    category: ServiceCategory
    notes: str | None = Field(default=None, max_length=4000)


class IdempotencyConflict(DomainError):
    """The Idempotency-Key was used before with a different request body."""


@dataclass(frozen=True)
class Opened:
    """The request, and whether this call created it (False: an idempotent replay)."""

    request: AuthorizationRequest
    created: bool


def _fingerprint(command: NewAuthorization) -> str:
    return hashlib.sha256(canonical_json(command.model_dump(mode="json")).encode()).hexdigest()


def open_authorization(
    uow: UnitOfWork,
    context: AccessContext,
    command: NewAuthorization,
    clock: Clock,
    *,
    idempotency_key: str | None = None,
) -> Opened:
    """Create a draft request; with an idempotency key, a repeat returns the first result."""
    context.require(Permission.CREATE_AUTHORIZATIONS)
    now = clock.now()
    fingerprint = _fingerprint(command)
    if idempotency_key:
        replay = _replay(uow, context, idempotency_key, fingerprint)
        if replay is not None:
            audit(uow, context, now, "read", SUBJECT, [replay.id], replay="idempotency-key")
            uow.commit()
            return Opened(replay, created=False)
    if uow.directory.payer(command.coverage.payer_id) is None:
        known = ", ".join(p.id for p in uow.directory.payers()) or "none configured"
        raise InvalidInput(
            [
                Problem(
                    ("coverage", "payer_id"),
                    f"unknown payer {command.coverage.payer_id!r}; known payers: {known}",
                )
            ]
        )
    request = AuthorizationRequest.open(
        actor=context.actor,
        at=now,
        organization_id=context.organization_id,
        **dict(command),
    )
    uow.authorizations.add(request)
    if idempotency_key:
        uow.idempotency.remember(
            context.organization_id, idempotency_key, fingerprint, request.id, now
        )
    audit(uow, context, now, "write", SUBJECT, [request.id], event="created")
    uow.commit()
    return Opened(request, created=True)


def _replay(
    uow: UnitOfWork, context: AccessContext, key: str, fingerprint: str
) -> AuthorizationRequest | None:
    found = uow.idempotency.find(context.organization_id, key)
    if found is None:
        return None
    stored_fingerprint, authorization_id = found
    if stored_fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was already used for a different request body "
            f"(it created authorization {authorization_id}); use a new key for a new request"
        )
    return uow.authorizations.get(context.organization_id, authorization_id)


def replay_after_race(
    uow: UnitOfWork, context: AccessContext, command: NewAuthorization, key: str
) -> Opened:
    """After a concurrent create won the same key, return what it created."""
    request = _replay(uow, context, key, _fingerprint(command))
    if request is None:  # the winner rolled back: nothing stored under the key after all
        raise IdempotencyConflict(f"Idempotency-Key {key!r} is in use by a concurrent request")
    return Opened(request, created=False)


@dataclass(frozen=True)
class AuthorizationView:
    """A request with its event history, as a reader sees it."""

    request: AuthorizationRequest
    history: Sequence[LedgerEntry]


def read_authorization(
    uow: UnitOfWork, context: AccessContext, authorization_id: str, clock: Clock
) -> AuthorizationView:
    """One request and its timeline; the read is audited."""
    context.require(Permission.READ_AUTHORIZATIONS)
    request = uow.authorizations.get(context.organization_id, authorization_id)
    history = uow.authorizations.history(context.organization_id, authorization_id)
    audit(uow, context, clock.now(), "read", SUBJECT, [request.id])
    uow.commit()
    return AuthorizationView(request, history)


def list_authorizations(
    uow: UnitOfWork, context: AccessContext, query: AuthorizationQuery, clock: Clock
) -> AuthorizationPage:
    """A page of the organization's requests; each listed request is an audited read."""
    context.require(Permission.READ_AUTHORIZATIONS)
    page = uow.authorizations.list(context.organization_id, query)
    audit(uow, context, clock.now(), "read", SUBJECT, [r.id for r in page.items], via="list")
    uow.commit()
    return page


# --- actions: one small command per state-machine move --------------------------------


class MarkReady(BaseModel):
    """The request is complete and may be submitted."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["ready"] = "ready"


class Reopen(BaseModel):
    """Send a ready request back to draft."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["reopen"] = "reopen"
    reason: str = Field(min_length=1, max_length=1000)


class RecordSubmission(BaseModel):
    """The request was sent to the payer outside precert's gateways (portal, phone, fax)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["submit"] = "submit"
    channel: Literal["portal", "phone", "fax"]
    reference: str | None = Field(default=None, max_length=80)


class RecordDetermination(BaseModel):
    """The payer's decision per service line (index from 0), e.g. read from a portal or call."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["determination"] = "determination"
    lines: dict[int, LineDetermination] = Field(min_length=1)
    payer_reference: str | None = Field(default=None, max_length=80)


class Cancel(BaseModel):
    """Withdraw the request."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["cancel"] = "cancel"
    reason: str = Field(min_length=1, max_length=1000)


class Appeal(BaseModel):
    """Appeal a denial (or the denied part of a decision) at a level."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["appeal"] = "appeal"
    level: AppealLevel
    reason: str = Field(min_length=1, max_length=4000)


class AppealOutcome(BaseModel):
    """The payer's answer to the open appeal."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["appeal-outcome"] = "appeal-outcome"
    overturned: bool
    note: str | None = Field(default=None, max_length=4000)


AuthorizationAction = Annotated[
    MarkReady | Reopen | RecordSubmission | RecordDetermination | Cancel | Appeal | AppealOutcome,
    Field(discriminator="action"),
]

_PERMISSION: Mapping[str, Permission] = {
    "appeal": Permission.APPEAL,
    "appeal-outcome": Permission.APPEAL,
}


def act_on_authorization(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    action: MarkReady
    | Reopen
    | RecordSubmission
    | RecordDetermination
    | Cancel
    | Appeal
    | AppealOutcome,
    clock: Clock,
) -> AuthorizationRequest:
    """Apply one state-machine move; illegal moves raise IllegalTransition, nothing stored."""
    context.require(_PERMISSION.get(action.action, Permission.WORK_AUTHORIZATIONS))
    now = clock.now()
    request = uow.authorizations.get(context.organization_id, authorization_id)
    actor = context.actor
    match action:
        case MarkReady():
            request.mark_ready(actor, now)
        case Reopen(reason=reason):
            request.reopen(actor, now, reason)
        case RecordSubmission(channel=channel, reference=reference):
            request.submit(actor, now, channel=channel, attempt_key=reference or "")
        case RecordDetermination(lines=lines, payer_reference=reference):
            request.record_determination(actor, now, lines, payer_reference=reference)
        case Cancel(reason=reason):
            request.cancel(actor, now, reason)
        case Appeal(level=level, reason=reason):
            request.appeal(actor, now, level, reason=reason)
        case AppealOutcome(overturned=overturned, note=note):
            request.record_appeal_outcome(actor, now, overturned=overturned, note=note)
    uow.authorizations.save(request)
    audit(uow, context, now, "write", SUBJECT, [request.id], event=action.action)
    uow.commit()
    return request
