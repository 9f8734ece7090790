"""Electronic submission: send a ready request to its payer, retry safely, record the answer.

One submission is one idempotency key, derived from the authorization and how many
submissions the payer has already answered: a retry, a crash and re-run, or two
clicks at once all reuse the key, so the payer sees one request. Transient failures
(5xx, timeouts) are retried with capped exponential backoff and jitter; a refusal
(4xx OperationOutcome, X12 rejection) is final and sends the request back to READY.
The payer is called outside any database transaction; each attempt is recorded in
``submission_attempts`` as it ends.

Pended answers are completed by the payer's rest-hook notifications
(``receive_notification``); ``inquire_quiet_pended`` asks with ``$inquire`` only for
requests whose notifications have stopped, as the PAS IG asks clients not to poll.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from precert.domain.access import Permission
from precert.domain.authorization import (
    Actor,
    AuthorizationRequest,
    Role,
    Status,
)
from precert.domain.errors import DomainError, IllegalTransition, NotFound
from precert.domain.retry import Backoff
from precert.ports import (
    AuthorizationQuery,
    Clock,
    ConcurrentUpdate,
    PayerAnswer,
    PayerConnection,
    PayerFormat,
    PayerGateway,
    PayerRejected,
    PayerSubscription,
    PayerUnavailable,
    PayerUnitOfWork,
    SubmissionAttempt,
)
from precert.services.access import AccessContext, audit

SUBJECT = "authorization"
_KEYS = uuid.UUID("2b7e8a43-3c1d-4c55-9d5e-6f0e9b1f7a21")
#: How often a local write that lost a race with a payer notification is tried again.
_LOCAL_RETRIES = 3
T = TypeVar("T")

GatewayFactory = Callable[[PayerConnection], PayerGateway]
UnitOfWorkFactory = Callable[[], PayerUnitOfWork]


class NoPayerConnection(DomainError):
    """The organization has no electronic connection to the request's payer."""


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter between the attempts of one submission."""

    base_delay: float = 0.2
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1): the domain's
        backoff (half fixed, half random) on this policy's short, in-request scale."""
        backoff = Backoff(base_seconds=self.base_delay, cap_seconds=self.max_delay)
        return backoff.delay(attempt, self.jitter()).total_seconds()


@dataclass(frozen=True)
class Exchange:
    """The result of calling a payer: its answer or its refusal, and how many attempts it took.

    ``record`` is the final attempt, not yet stored: the caller writes it (``settle``) in
    the same transaction as what the answer changes, so a happy submission costs one
    commit. A crash before that commit loses nothing: the next run reuses the key and the
    payer replays its stored answer.
    """

    answer: PayerAnswer | None
    rejection: PayerRejected | None
    attempts: int
    record: SubmissionAttempt
    pending: Callable[[PayerUnitOfWork], None] | None = None

    def settle(self, uow: PayerUnitOfWork) -> None:
        """Write the final attempt (and the disclosure audit if no attempt carried it yet)."""
        uow.payers.record_attempt(self.record)
        if self.pending is not None:
            self.pending(uow)


@dataclass(frozen=True)
class SubmissionSettings:
    """What submission needs from the outside: gateways, retries, the notification URL."""

    gateways: GatewayFactory
    notification_endpoint: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def submission_key(authorization_id: str, answered: int) -> str:
    """The idempotency key of the authorization's next submission after ``answered`` ones."""
    return str(uuid.uuid5(_KEYS, f"{authorization_id}/submit/{answered}"))


def payer_actor(payer_id: str) -> Actor:
    """The actor a payer's answers are recorded under."""
    return Actor(id=f"payer:{payer_id}", role=Role.INTEGRATION)


def connection_for(uow: PayerUnitOfWork, request: AuthorizationRequest) -> PayerConnection:
    """The organization's connection to the request's payer; NoPayerConnection otherwise."""
    connection = uow.payers.connection(request.organization_id, request.coverage.payer_id)
    if connection is None:
        raise NoPayerConnection(
            f"no electronic connection to payer {request.coverage.payer_id!r} for this "
            "organization; an admin adds one with PUT /v1/payer-connections/{payer_id}"
        )
    return connection


def exchange(
    uow_factory: UnitOfWorkFactory,
    request: AuthorizationRequest,
    connection: PayerConnection,
    gateway: PayerGateway,
    *,
    operation: str,
    key: str,
    call: Callable[[], PayerAnswer],
    clock: Clock,
    retry: RetryPolicy,
    first_write: Callable[[PayerUnitOfWork], None] | None = None,
) -> Exchange:
    """Call the payer up to ``connection.max_attempts`` times, recording every attempt.

    Failed attempts are committed as they end (with ``first_write``, e.g. the audit of
    what is disclosed to the payer, in the first of them); the final one is handed back
    in ``Exchange.record`` for the caller's own transaction.
    Raises PayerUnavailable when every attempt failed transiently.
    """
    last: PayerUnavailable | None = None
    pending = first_write
    for attempt in range(1, max(1, connection.max_attempts) + 1):
        started = clock.now()
        answer: PayerAnswer | None = None
        rejection: PayerRejected | None = None
        try:
            answer = call()
            outcome, detail = "answered", answer.outcome or ""
        except PayerRejected as exc:
            rejection = exc
            outcome, detail = "rejected", str(exc)
        except PayerUnavailable as exc:
            last = exc
            outcome, detail = "retryable", str(exc)
        record = SubmissionAttempt(
            organization_id=request.organization_id,
            authorization_id=request.id,
            connection_id=connection.id,
            idempotency_key=key,
            operation=operation,
            attempt=attempt,
            channel=gateway.channel,
            started_at=started,
            finished_at=clock.now(),
            outcome=outcome,
            detail=detail[:2000],
            payer_reference=answer.payer_reference if answer else None,
        )
        if outcome != "retryable":
            return Exchange(answer, rejection, attempt, record, pending)
        with uow_factory() as uow:
            uow.payers.record_attempt(record)
            if pending is not None:
                pending(uow)
                pending = None
            uow.commit()
        if attempt < connection.max_attempts:
            retry.sleep(retry.delay(attempt))
    assert last is not None  # the loop ran at least once and every attempt was transient
    raise PayerUnavailable(
        f"payer {connection.payer_id!r} did not answer after {connection.max_attempts} "
        f"attempt(s): {last}; the request stays ready and a resubmission reuses key {key}"
    )


def apply_answer(
    request: AuthorizationRequest, answer: PayerAnswer, at: datetime, *, reason: str
) -> bool:
    """Record the payer's answer on the aggregate; False when it changes nothing."""
    actor = payer_actor(request.coverage.payer_id)
    lines = len(request.service_lines)
    decisions = {i: d for i, d in answer.determinations.items() if 0 <= i < lines}
    cancelled = [i for i in answer.cancelled_lines if 0 <= i < lines]
    if cancelled and not decisions and len(cancelled) == lines:
        if request.status is Status.CANCELLED:
            return False
        request.cancel(actor, at, reason)
        return True
    if not decisions:
        return False
    unchanged = all(request.service_lines[i].determination == d for i, d in decisions.items())
    if unchanged and request.status is not Status.SUBMITTED:
        return False  # a repeated notification or inquiry answer
    request.record_determination(actor, at, decisions, payer_reference=answer.payer_reference)
    return True


def submit_electronically(
    uow_factory: UnitOfWorkFactory,
    context: AccessContext,
    authorization_id: str,
    settings: SubmissionSettings,
    clock: Clock,
) -> AuthorizationRequest:
    """Submit a READY request to its payer and record the payer's answer.

    Raises IllegalTransition when the request is not READY, NoPayerConnection without a
    connection, PayerUnavailable when every attempt failed transiently (nothing moves).
    """
    context.require(Permission.WORK_AUTHORIZATIONS)
    # Read-only: nothing is committed before the payer is called. The audit of what goes
    # to the payer is written with the first attempt recorded, so a submission that the
    # payer answers at once costs one commit (synchronous=FULL makes each one an fsync).
    with uow_factory() as uow:
        request = uow.authorizations.get(context.organization_id, authorization_id)
        if request.status is not Status.READY:
            raise IllegalTransition(
                request.status.value,
                Status.SUBMITTED.value,
                [s.value for s in request.allowed_moves],
            )
        connection = connection_for(uow, request)
        answered = sum(
            1
            for a in uow.payers.attempts(context.organization_id, authorization_id)
            if a.operation == "submit" and a.outcome in ("answered", "rejected")
        )
    read_at = clock.now()

    def disclosure(uow: PayerUnitOfWork) -> None:
        audit(uow, context, read_at, "read", SUBJECT, [request.id], via="submission")

    gateway = settings.gateways(connection)
    key = submission_key(request.id, answered)
    sent_at = clock.now()
    result = exchange(
        uow_factory,
        request,
        connection,
        gateway,
        operation="submit",
        key=key,
        call=lambda: gateway.submit(request, idempotency_key=key, at=sent_at),
        clock=clock,
        retry=settings.retry,
        first_write=disclosure,
    )
    with uow_factory() as uow:
        result.settle(uow)
        request = uow.authorizations.get(context.organization_id, authorization_id)
        if request.status is not Status.READY:
            # A concurrent call with the same key recorded this very submission first.
            uow.commit()
            return request
        now = clock.now()
        request.submit(context.actor, now, channel=gateway.channel, attempt_key=key)
        if result.rejection is not None:
            request.reject_submission(
                payer_actor(request.coverage.payer_id),
                now,
                reason="; ".join(result.rejection.problems)[:1000],
                code=result.rejection.code,
            )
        elif result.answer is not None:
            apply_answer(request, result.answer, now, reason="cancelled by the payer")
        uow.authorizations.save(request)
        audit(uow, context, now, "write", SUBJECT, [request.id], event="submitted", key=key)
        uow.commit()
    if Status(request.status) is Status.PENDED and settings.notification_endpoint:
        ensure_subscription(uow_factory, connection, gateway, settings.notification_endpoint, clock)
    return request


def cancel_at_payer(
    uow_factory: UnitOfWorkFactory,
    context: AccessContext,
    authorization_id: str,
    reason: str,
    settings: SubmissionSettings,
    clock: Clock,
) -> AuthorizationRequest:
    """Withdraw a submitted, pended or decided request at the payer, then cancel it here."""
    context.require(Permission.WORK_AUTHORIZATIONS)
    with uow_factory() as uow:
        request = uow.authorizations.get(context.organization_id, authorization_id)
        if Status.CANCELLED not in request.allowed_moves:
            raise IllegalTransition(
                request.status.value,
                Status.CANCELLED.value,
                [s.value for s in request.allowed_moves],
            )
        connection = connection_for(uow, request)
        attempts = uow.payers.attempts(context.organization_id, authorization_id)
        audit(uow, context, clock.now(), "read", SUBJECT, [request.id], via="cancellation")
        uow.commit()
    sent = any(a.operation == "submit" and a.outcome == "answered" for a in attempts)
    result: Exchange | None = None
    if sent:
        gateway = settings.gateways(connection)
        key = str(uuid.uuid5(_KEYS, f"{request.id}/cancel"))
        at = clock.now()
        result = exchange(
            uow_factory,
            request,
            connection,
            gateway,
            operation="cancel",
            key=key,
            call=lambda: gateway.cancel(request, idempotency_key=key, at=at),
            clock=clock,
            retry=settings.retry,
        )
        if result.rejection is not None:
            with uow_factory() as uow:
                result.settle(uow)
                uow.commit()
            raise result.rejection
    # The payer may notify a decision on this very request while it is being withdrawn;
    # the withdrawal stands at the payer either way, so reload and record it again.
    attempt = 0
    while True:
        attempt += 1
        try:
            with uow_factory() as uow:
                if result is not None:
                    result.settle(uow)
                request = uow.authorizations.get(context.organization_id, authorization_id)
                now = clock.now()
                if request.status is not Status.CANCELLED:
                    request.cancel(context.actor, now, reason)
                    uow.authorizations.save(request)
                audit(uow, context, now, "write", SUBJECT, [request.id], event="cancelled-at-payer")
                uow.commit()
            return request
        except ConcurrentUpdate:
            if attempt == _LOCAL_RETRIES:
                raise


# --- subscriptions and notifications -------------------------------------------------------


def secret_hash(secret: str) -> str:
    """SHA-256 hex of a subscription secret (only the hash is stored)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def ensure_subscription(
    uow_factory: UnitOfWorkFactory,
    connection: PayerConnection,
    gateway: PayerGateway,
    notification_endpoint: str,
    clock: Clock,
) -> PayerSubscription | None:
    """The connection's rest-hook subscription, created at the payer on first need.

    X12 connections have no subscriptions. A payer that cannot subscribe now leaves None:
    pended requests are then followed up by ``inquire_quiet_pended``.
    """
    if connection.format is not PayerFormat.FHIR_PAS:
        return None
    with uow_factory() as uow:
        existing = uow.payers.subscription(connection.organization_id, connection.id)
        uow.commit()
    if existing is not None:
        return existing
    secret = secrets.token_urlsafe(32)
    try:
        reference = gateway.subscribe(
            notification_endpoint=notification_endpoint,
            organization_identifier=connection.organization_identifier,
            secret=secret,
        )
    except (PayerUnavailable, PayerRejected):
        return None
    subscription = PayerSubscription(
        id=str(uuid.uuid4()),
        organization_id=connection.organization_id,
        connection_id=connection.id,
        reference=reference,
        secret_hash=secret_hash(secret),
        created_at=clock.now(),
    )
    with uow_factory() as uow:
        uow.payers.save_subscription(subscription)
        uow.commit()
    return subscription


class UnknownSubscription(DomainError):
    """A notification names no subscription precert holds."""


class SenderNotVerified(DomainError):
    """A notification's shared secret is missing or wrong."""


@dataclass(frozen=True)
class NotificationResult:
    """What a notification did: the request it updated (if any) and whether it changed it."""

    authorization_id: str | None
    status: Status | None
    changed: bool


def receive_notification(
    uow: PayerUnitOfWork,
    subscription_reference: str | None,
    request_identifier: str | None,
    answer: PayerAnswer | None,
    presented_secret: str | None,
    clock: Clock,
    *,
    channel: str = "POST /fhir/notifications",
) -> NotificationResult:
    """Verify a notification's sender and apply the payer's update to the request it names.

    ``subscription_reference`` is the subscription the notification names,
    ``request_identifier`` the Claim identifier or payer reference of the updated
    ClaimResponse, and ``presented_secret`` the shared secret from its header, compared
    in constant time with the stored hash.
    """
    subscription = (
        uow.payers.subscription_by_reference(subscription_reference)
        if subscription_reference
        else None
    )
    if subscription is None:
        raise UnknownSubscription(
            f"notification for unknown subscription {subscription_reference!r}"
        )
    if presented_secret is None or not hmac.compare_digest(
        secret_hash(presented_secret), subscription.secret_hash
    ):
        raise SenderNotVerified("the notification's subscription secret is missing or wrong")
    now = clock.now()
    uow.payers.save_subscription(
        replace(
            subscription,
            last_notification_at=now,
            notifications=subscription.notifications + 1,
        )
    )
    org = subscription.organization_id
    authorization_id = (
        (uow.payers.authorization_for_reference(org, request_identifier) or request_identifier)
        if request_identifier
        else None
    )
    request = None
    if answer is not None and authorization_id is not None:
        try:
            request = uow.authorizations.get(org, authorization_id)
        except NotFound:
            request = None
    if request is None or answer is None:
        uow.commit()
        return NotificationResult(None, None, changed=False)
    try:
        changed = apply_answer(request, answer, now, reason="cancelled by the payer")
    except IllegalTransition:
        changed = False  # a late or out-of-order notification for a request already settled
    if changed:
        uow.authorizations.save(request)
    context = AccessContext(org, payer_actor(request.coverage.payer_id), channel)
    audit(uow, context, now, "write", SUBJECT, [request.id], event="notification")
    uow.commit()
    return NotificationResult(request.id, request.status, changed)


@dataclass(frozen=True)
class Inquiry:
    """One pended request the follow-up asked about, and where it stands afterwards."""

    authorization_id: str
    status: Status
    changed: bool
    error: str | None = None


def inquire_quiet_pended(
    uow_factory: UnitOfWorkFactory,
    organization_id: str,
    settings: SubmissionSettings,
    clock: Clock,
    *,
    quiet_for: timedelta = timedelta(hours=4),
    limit: int = 100,
) -> Sequence[Inquiry]:
    """``$inquire`` the organization's pended requests whose notifications have stopped.

    For the background follow-up job. A request is asked about only when it has not
    changed for ``quiet_for`` and its payer connection has no subscription, or none
    that delivered anything within ``quiet_for``.
    """
    now = clock.now()
    cutoff = now - quiet_for
    with uow_factory() as uow:
        page = uow.authorizations.list(
            organization_id, AuthorizationQuery(statuses=(Status.PENDED,), limit=limit)
        )
        candidates: list[tuple[AuthorizationRequest, PayerConnection]] = []
        for request in page.items:
            connection = uow.payers.connection(organization_id, request.coverage.payer_id)
            if connection is None or request.updated_at > cutoff:
                continue
            subscription = uow.payers.subscription(organization_id, connection.id)
            heard = (
                (subscription.last_notification_at or subscription.created_at)
                if subscription
                else None
            )
            if heard is None or heard <= cutoff:
                candidates.append((request, connection))
        uow.commit()
    return [
        _inquire(uow_factory, request, connection, settings, clock)
        for request, connection in candidates
    ]


def inquire_request(
    uow_factory: UnitOfWorkFactory,
    organization_id: str,
    authorization_id: str,
    settings: SubmissionSettings,
    clock: Clock,
) -> Inquiry:
    """``$inquire`` one submitted or pended request now (the follow-up job's fall-back when
    its notification is overdue) and apply the payer's answer."""
    with uow_factory() as uow:
        request = uow.authorizations.get(organization_id, authorization_id)
        connection = connection_for(uow, request)
        uow.commit()
    return _inquire(uow_factory, request, connection, settings, clock)


def _inquire(
    uow_factory: UnitOfWorkFactory,
    request: AuthorizationRequest,
    connection: PayerConnection,
    settings: SubmissionSettings,
    clock: Clock,
) -> Inquiry:
    gateway = settings.gateways(connection)
    at = clock.now()
    try:
        result = exchange(
            uow_factory,
            request,
            connection,
            gateway,
            operation="inquire",
            key=f"inquiry-{uuid.uuid4()}",
            call=lambda: gateway.inquire(request, at=at),
            clock=clock,
            retry=settings.retry,
        )
    except PayerUnavailable as exc:
        return Inquiry(request.id, request.status, False, str(exc))
    return _record_inquiry(uow_factory, request, result, clock)


def _record_inquiry(
    uow_factory: UnitOfWorkFactory, stale: AuthorizationRequest, result: Exchange, clock: Clock
) -> Inquiry:
    with uow_factory() as uow:
        result.settle(uow)
        if result.answer is None:
            uow.commit()
            detail = str(result.rejection) if result.rejection else "no answer"
            return Inquiry(stale.id, stale.status, False, detail)
        request = uow.authorizations.get(stale.organization_id, stale.id)
        now = clock.now()
        try:
            changed = apply_answer(request, result.answer, now, reason="cancelled by the payer")
        except IllegalTransition as exc:
            uow.commit()
            return Inquiry(request.id, request.status, False, str(exc))
        if changed:
            uow.authorizations.save(request)
        system = AccessContext(
            request.organization_id, Actor(id="system:follow-up", role=Role.SYSTEM), "job: inquire"
        )
        audit(uow, system, now, "write", SUBJECT, [request.id], event="inquiry")
        uow.commit()
    return Inquiry(request.id, request.status, changed)
