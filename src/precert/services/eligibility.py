"""Eligibility: ask the payer whether the member's coverage holds and which services need auth.

The answer is stored on the request as an ``authorization.eligibility_checked`` event
(active, plan dates, and per service: covered, auth required, benefits) and returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from precert.domain.access import Permission
from precert.ports import (
    Clock,
    EligibilityGateway,
    EligibilityResult,
    PayerConnection,
    PayerUnavailable,
)
from precert.services.access import AccessContext, audit
from precert.services.submission import (
    SUBJECT,
    RetryPolicy,
    UnitOfWorkFactory,
    connection_for,
)

EligibilityGateways = Callable[[PayerConnection], EligibilityGateway]
EVENT = "authorization.eligibility_checked"


def eligibility_payload(result: EligibilityResult) -> dict[str, Any]:
    """The event payload: JSON-ready facts of the payer's answer."""
    return {
        "active": result.active,
        "plan_start": result.plan_start.isoformat() if result.plan_start else None,
        "plan_end": result.plan_end.isoformat() if result.plan_end else None,
        "source": result.source,
        "services": [
            {
                "service": s.service,
                "covered": s.covered,
                "auth_required": s.auth_required,
                "benefits": [list(b) for b in s.benefits],
            }
            for s in result.services
        ],
    }


def verify_eligibility(
    uow_factory: UnitOfWorkFactory,
    context: AccessContext,
    authorization_id: str,
    gateways: EligibilityGateways,
    clock: Clock,
    *,
    retry: RetryPolicy | None = None,
) -> EligibilityResult:
    """Check the request's coverage with its payer and record the answer on the request.

    Eligibility questions change nothing at the payer, so transient failures are simply
    retried; PayerUnavailable is raised when every attempt failed.
    """
    context.require(Permission.WORK_AUTHORIZATIONS)
    policy = retry or RetryPolicy()
    with uow_factory() as uow:
        request = uow.authorizations.get(context.organization_id, authorization_id)
        connection = connection_for(uow, request)
        audit(uow, context, clock.now(), "read", SUBJECT, [request.id], via="eligibility")
        uow.commit()
    gateway = gateways(connection)
    result: EligibilityResult | None = None
    for attempt in range(1, max(1, connection.max_attempts) + 1):
        try:
            result = gateway.check_eligibility(request, at=clock.now())
            break
        except PayerUnavailable:
            if attempt >= connection.max_attempts:
                raise
            policy.sleep(policy.delay(attempt))
    assert result is not None  # the loop either broke with a result or raised
    with uow_factory() as uow:
        request = uow.authorizations.get(context.organization_id, authorization_id)
        now = clock.now()
        request.record_note(context.actor, now, EVENT, **eligibility_payload(result))
        uow.authorizations.save(request)
        audit(uow, context, now, "write", SUBJECT, [request.id], event="eligibility_checked")
        uow.commit()
    return result
