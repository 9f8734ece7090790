"""Route what the rules cannot decide to the review queue, list it, resolve it.

``route_to_review`` is the one call every component makes when it meets a
case it cannot decide (policy screening, eligibility, a payer's rejection, a
background job): the case lands in the queue with its coded reason, and
routing the same problem again counts an occurrence instead of duplicating it.

``screen_policy`` finds the policy-side exceptions of a request: codes no
pack knows, equally ranked rules that disagree, and rules that leave the
answer to a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from precert.domain.access import Permission
from precert.domain.authorization import AuthorizationRequest, ServiceLine
from precert.domain.review import (
    ReviewException,
    ReviewItem,
    conflicting_rules,
    manual_review,
    unknown_codes,
)
from precert.policy import LineFacts, PolicyEngine, shipped_engine
from precert.policy.engine import line_conditions_hold
from precert.policy.model import PaNeeded, Setting
from precert.ports import Clock, ReviewQuery, WorkflowUnitOfWork
from precert.services.access import AccessContext, audit

SUBJECT = "authorization"
#: Review items without a request are audited under their own id.
ITEM_SUBJECT = "review_item"


def route_to_review(
    uow: WorkflowUnitOfWork,
    context: AccessContext,
    exception: ReviewException,
    clock: Clock,
    *,
    commit: bool = True,
) -> ReviewItem:
    """Put ``exception`` in the review queue (or count it again on its open item).

    With ``commit=False`` the caller commits, so the routing joins its transaction.
    """
    context.require(Permission.WORK_AUTHORIZATIONS)
    now = clock.now()
    organization_id = context.organization_id
    existing = uow.review.find(organization_id, exception.key)
    if existing is None:
        item = ReviewItem.route(exception, organization_id, now)
        if not uow.review.add(item):
            # A concurrent routing stored the same problem first: count ours on it.
            existing = uow.review.find(organization_id, exception.key)
    if existing is not None:
        item = existing.seen_again(exception, now)
        uow.review.update(item)
    _audit(uow, context, item, "routed")
    if commit:
        uow.commit()
    return item


def resolve_review_item(
    uow: WorkflowUnitOfWork,
    context: AccessContext,
    item_id: str,
    resolution: str,
    clock: Clock,
) -> ReviewItem:
    """A person dealt with the case and says how."""
    context.require(Permission.WORK_AUTHORIZATIONS)
    now = clock.now()
    item = uow.review.get(context.organization_id, item_id).resolve(
        context.actor.id, resolution, now
    )
    uow.review.update(item)
    _audit(uow, context, item, "resolved")
    uow.commit()
    return item


def list_review_queue(
    uow: WorkflowUnitOfWork, context: AccessContext, query: ReviewQuery, clock: Clock
) -> Sequence[ReviewItem]:
    """The review queue, longest waiting first; each listed request is an audited read."""
    context.require(Permission.READ_AUTHORIZATIONS)
    items = uow.review.list(context.organization_id, query)
    request_ids = sorted({i.authorization_id for i in items if i.authorization_id})
    audit(uow, context, clock.now(), "read", SUBJECT, request_ids, via="review queue")
    uow.commit()
    return items


def _audit(uow: WorkflowUnitOfWork, context: AccessContext, item: ReviewItem, event: str) -> None:
    subject, subject_id = (
        (SUBJECT, item.authorization_id) if item.authorization_id else (ITEM_SUBJECT, item.id)
    )
    audit(
        uow,
        context,
        item.updated_at,
        "write",
        subject,
        [subject_id],
        event=f"review.{event}",
        reason=item.reason.value,
        item=item.id,
    )


# --- policy screening -----------------------------------------------------------------


def line_facts(request: AuthorizationRequest, line: ServiceLine) -> LineFacts:
    """The facts policy rules match one of the request's lines on."""
    return LineFacts(
        setting=Setting(
            payer_id=request.coverage.payer_id,
            plan=request.coverage.plan,
            line_of_business=request.coverage.line_of_business,
            state=request.coverage.state,
            category=request.category,
            code_system=line.code_system,
            code=line.code,
            modifiers=line.modifiers,
            place_of_service=line.place_of_service,
        ),
        service_date=line.service_start,
        units=line.units,
        amount=line.estimated_amount,
        age=_age(request.patient.birth_date, line.service_start),
        sex=request.patient.sex,
        diagnoses=line.diagnoses,
    )


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def screen_policy(
    request: AuthorizationRequest, engine: PolicyEngine | None = None
) -> list[ReviewException]:
    """The policy-side exceptions of ``request``, one per problem found.

    - *unknown code*: no pack classifies the code and no rule names it, so any
      answer would come from a catch-all rule written without it in mind;
    - *conflicting rules*: the highest-ranked rules answering "is approval
      needed?" tie on layer, priority and specificity yet disagree, so the
      engine's pick between them would be arbitrary;
    - *manual review rule*: the deciding rule answers "conditional" and gives no
      criterion the engine could test, which leaves the answer to a person.
    """
    engine = engine or shipped_engine()
    found: list[ReviewException] = []
    unknown: dict[int, str] = {}
    for index, line in enumerate(request.service_lines):
        facts = line_facts(request, line)
        rules, _ = engine.candidates(facts.setting)
        applicable = [r for r in rules if line_conditions_hold(r, facts)]
        if engine.classify(line.code) is None and not any(r.match.has_codes for r in applicable):
            unknown[index] = line.code
            continue
        answering = [r for r in applicable if r.outcome.pa_needed is not None]
        if answering:
            top = answering[-1].precedence[:4]
            tied = {r.id: str(r.outcome.pa_needed) for r in answering if r.precedence[:4] == top}
            conflict = conflicting_rules(request.id, index, tied)
            if conflict is not None:
                found.append(conflict)
                continue
        determination = engine.determine(facts)
        if (
            determination.pa_needed is PaNeeded.CONDITIONAL
            and not determination.criteria
            and determination.deciding_rule
        ):
            note = "; ".join(determination.notes) or None
            found.append(manual_review(request.id, index, determination.deciding_rule, note))
    unknown_exception = unknown_codes(request.id, unknown)
    if unknown_exception is not None:
        found.insert(0, unknown_exception)
    return found
