"""Readiness before submission, and the manager's audited override."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from precert.domain.access import Permission
from precert.domain.authorization import AuthorizationRequest
from precert.domain.codes import CodeSystem
from precert.domain.errors import DomainError
from precert.domain.readiness import Blocker, readiness_blockers
from precert.policy.codesets import terminated_procedure_code
from precert.policy.engine import PolicyEngine
from precert.ports import Clock, UnitOfWork
from precert.services.access import AccessContext, audit
from precert.services.documentation import DocumentationView, documentation_view

ELIGIBILITY_EVENT = "authorization.eligibility_checked"


class NotReady(DomainError):
    """Blockers stand in the way and no override was given."""

    def __init__(self, blockers: tuple[Blocker, ...]) -> None:
        self.blockers = blockers
        super().__init__(
            "not ready to submit: "
            + "; ".join(b.message for b in blockers)
            + " (a manager may override with a reason)"
        )


@dataclass(frozen=True)
class Readiness:
    """The blockers (empty when ready) and the checklist behind them."""

    blockers: tuple[Blocker, ...]
    documentation: DocumentationView

    @property
    def ready(self) -> bool:
        """Nothing blocks submission."""
        return not self.blockers


def _assess(
    uow: UnitOfWork, request: AuthorizationRequest, engine: PolicyEngine, clock: Clock
) -> Readiness:
    history = uow.authorizations.history(request.organization_id, request.id)
    checks = [e for e in history if e.type == ELIGIBILITY_EVENT]
    eligibility: dict[str, Any] | None = dict(checks[-1].payload) if checks else None
    view = documentation_view(uow, request, engine, clock)
    blockers = readiness_blockers(
        request,
        today=clock.now().date(),
        eligibility=eligibility,
        checklist=view.checklist,
        submit_by=[r.submit_by for r in view.requirements],
        terminated_codes=[
            retired
            for line in request.service_lines
            if line.code_system is CodeSystem.HCPCS
            and (retired := terminated_procedure_code(line.code, line.service_start))
        ],
    )
    return Readiness(blockers, view)


def assess_readiness(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    engine: PolicyEngine,
    clock: Clock,
) -> Readiness:
    """What stands between the request and submission; an audited read."""
    context.require(Permission.READ_AUTHORIZATIONS)
    request = uow.authorizations.get(context.organization_id, authorization_id)
    readiness = _assess(uow, request, engine, clock)
    audit(uow, context, clock.now(), "read", "authorization", [request.id], view="readiness")
    uow.commit()
    return readiness


def mark_ready(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    engine: PolicyEngine,
    clock: Clock,
    *,
    override_reason: str | None = None,
) -> AuthorizationRequest:
    """Move the request to READY if nothing blocks it, or with a manager's override."""
    context.require(Permission.WORK_AUTHORIZATIONS)
    now = clock.now()
    request = uow.authorizations.get(context.organization_id, authorization_id)
    blockers = _assess(uow, request, engine, clock).blockers
    if blockers:
        if not override_reason:
            raise NotReady(blockers)
        context.require(Permission.OVERRIDE_READINESS)
        request.record_note(
            context.actor,
            now,
            "authorization.readiness_overridden",
            reason=override_reason,
            blockers=[{"code": b.code.value, "message": b.message} for b in blockers],
        )
    request.mark_ready(context.actor, now)
    uow.authorizations.save(request)
    audit(
        uow,
        context,
        now,
        "write",
        "authorization",
        [request.id],
        event="ready" + (" (override)" if blockers else ""),
    )
    uow.commit()
    return request
