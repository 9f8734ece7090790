"""Billing integration: check claim lines against authorizations, and use units when posted."""

from __future__ import annotations

from collections.abc import Sequence

from precert.domain.access import Permission
from precert.domain.authorization import AuthorizationRequest, Status
from precert.domain.claims import ClaimLine, ClaimLineCheck, ClaimVerdict, check_claim_line
from precert.domain.errors import DomainError
from precert.ports import AuthorizationQuery, Clock, UnitOfWork
from precert.services.access import AccessContext, audit

# Statuses whose lines may be billed or tell the biller why not.
_RELEVANT = (
    Status.SUBMITTED,
    Status.PENDED,
    Status.APPROVED,
    Status.PARTIALLY_APPROVED,
    Status.MODIFIED,
    Status.DENIED,
    Status.EXPIRED,
    Status.APPEAL_FIRST_LEVEL,
    Status.APPEAL_PEER_TO_PEER,
    Status.APPEAL_SECOND_LEVEL,
    Status.APPEAL_EXTERNAL_REVIEW,
)


class ClaimRefused(DomainError):
    """A claim cannot post: at least one line is not covered."""

    def __init__(self, checks: Sequence[ClaimLineCheck]) -> None:
        self.checks = tuple(checks)
        refused = [f"line {i}: {c.reason}" for i, c in enumerate(checks) if not c.covered]
        super().__init__("claim not covered: " + "; ".join(refused))


def _candidates(
    uow: UnitOfWork, context: AccessContext, patient_id: str, payer_id: str
) -> list[AuthorizationRequest]:
    page = uow.authorizations.list(
        context.organization_id,
        AuthorizationQuery(statuses=_RELEVANT, patient_id=patient_id, payer_id=payer_id, limit=200),
    )
    return list(page.items)


def check_claim(
    uow: UnitOfWork,
    context: AccessContext,
    *,
    patient_id: str,
    payer_id: str,
    lines: Sequence[ClaimLine],
    clock: Clock,
) -> list[ClaimLineCheck]:
    """Whether each claim line is covered by a valid authorization (changes nothing)."""
    context.require(Permission.READ_AUTHORIZATIONS)
    candidates = _candidates(uow, context, patient_id, payer_id)
    checks = [check_claim_line(candidates, line) for line in lines]
    touched = sorted({c.authorization_id for c in checks if c.authorization_id})
    audit(uow, context, clock.now(), "read", "authorization", touched, via="claim-check")
    uow.commit()
    return checks


def _certification(request: AuthorizationRequest, index: int) -> str | None:
    determination = request.service_lines[index].determination
    return determination.certification_number if determination else None


def post_claim(
    uow: UnitOfWork,
    context: AccessContext,
    *,
    claim_reference: str,
    patient_id: str,
    payer_id: str,
    lines: Sequence[ClaimLine],
    clock: Clock,
) -> list[ClaimLineCheck]:
    """The claim posted: use the approved units of every line, all or nothing.

    Posting the same claim again changes nothing and answers as the first time did.
    """
    context.require(Permission.WORK_AUTHORIZATIONS)
    now = clock.now()
    candidates = {r.id: r for r in _candidates(uow, context, patient_id, payer_id)}
    replay = [
        ClaimLineCheck(
            ClaimVerdict.COVERED,
            f"claim {claim_reference} was already posted against authorization {r.id}",
            r.id,
            applied.line_index,
            _certification(r, applied.line_index),
            r.units_remaining(applied.line_index),
        )
        for r in candidates.values()
        for applied in r.claims_applied
        if applied.claim_reference == claim_reference
    ]
    if replay:
        return replay
    checks = [check_claim_line(list(candidates.values()), line) for line in lines]
    if not all(c.covered for c in checks):
        raise ClaimRefused(checks)
    changed: dict[str, AuthorizationRequest] = {}
    for line, check in zip(lines, checks, strict=True):
        # A covered check always names its authorization line.
        assert check.authorization_id is not None
        assert check.line_index is not None
        request = candidates[check.authorization_id]
        # Two lines of one claim may draw on the same approval: apply in order.
        request.apply_claim(
            context.actor,
            now,
            claim_reference=claim_reference,
            line_index=check.line_index,
            units=line.units,
            service_date=line.service_date,
        )
        changed[request.id] = request
    for request in changed.values():
        uow.authorizations.save(request)
    audit(uow, context, now, "write", "authorization", sorted(changed), claim=claim_reference)
    uow.commit()
    return checks
