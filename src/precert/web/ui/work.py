"""Work beyond one request: follow-up tasks (with bulk assign), the review queue, and the
policy packs the engine runs on (read-only).

Like every UI route these read forms and call the services, which check permissions and
audit reads of patient data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from precert.domain.access import Permission
from precert.domain.errors import DomainError, NotFound
from precert.domain.review import ReviewReason, ReviewStatus
from precert.domain.tasks import TaskKind
from precert.policy.model import Layer, PolicyPack, Rule
from precert.ports import ReviewQuery, TaskQuery
from precert.services import follow_up
from precert.services import review as review_service
from precert.services import users as accounts
from precert.web.deps import PrecertDep, UnitOfWorkDep
from precert.web.ui import present
from precert.web.ui.forms import FormErrors
from precert.web.ui.frame import (
    FormDep,
    PostingViewerDep,
    UiRoute,
    Viewer,
    ViewerDep,
    fields_of,
    page,
)

router = APIRouter(route_class=UiRoute, include_in_schema=False)

#: Tasks one page of the task queue shows at most.
TASK_LIMIT = 200
#: Cases one page of the review queue shows at most.
REVIEW_LIMIT = 200
#: The assignee choice that puts tasks back in the shared queue.
SHARED = "shared"

# --- follow-up tasks ------------------------------------------------------------------------


def _assignees(uow: UnitOfWorkDep, viewer: Viewer) -> list[tuple[str, str]]:
    """Whom tasks may be given to: oneself and the shared queue; admins see every user."""
    choices = [(viewer.user.actor.id, f"Me ({viewer.user.name})"), (SHARED, "Shared queue")]
    if viewer.may(Permission.ADMINISTER):  # only admins may list the organization's users
        choices.extend(
            (u.actor.id, u.name)
            for u in accounts.list_users(uow, viewer.context)
            if u.actor.id != viewer.user.actor.id and u.disabled_at is None
        )
    return choices


def _tasks_page(
    request: Request,
    viewer: Viewer,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    *,
    mine: bool,
    kind: str,
    status_code: int = 200,
    errors: FormErrors | None = None,
    done: str | None = None,
) -> Response:
    kinds = (TaskKind(kind),) if kind in {k.value for k in TaskKind} else ()
    query = TaskQuery(
        kinds=kinds,
        assignee=viewer.user.actor.id if mine else None,
        actionable_at=precert.clock.now(),
        limit=TASK_LIMIT,
    )
    items = follow_up.work_queue(uow, viewer.context, query, precert.clock)
    assignees = _assignees(uow, viewer)
    names = accounts.actor_names(
        uow, viewer.organization.id, [i.task.assignee for i in items if i.task.assignee]
    )
    return page(
        request,
        viewer,
        "tasks.html",
        status_code=status_code,
        items=items,
        names=names,
        assignees=assignees,
        kinds=list(TaskKind),
        filters={"mine": mine, "kind": kind if kinds else ""},
        errors=errors or FormErrors(),
        done=done,
        payers={p.id: p for p in uow.directory.payers()},
        now=precert.clock.now(),
        tz=viewer.tz,
        local=present.local,
        truncated=len(items) >= TASK_LIMIT,
    )


@router.get("/ui/tasks")
def tasks(
    request: Request,
    viewer: ViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    mine: bool = False,
    kind: str = "",
) -> Response:
    """Follow-up tasks due now, earliest first, for one person or everyone."""
    done = request.query_params.get("assigned")
    message = f"{done} task{'s' if done != '1' else ''} assigned." if done else None
    return _tasks_page(request, viewer, uow, precert, mine=mine, kind=kind, done=message)


@router.post("/ui/tasks/assign")
def assign_tasks(
    request: Request,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """Give the ticked tasks to one person, or back to the shared queue."""
    viewer.context.require(Permission.WORK_AUTHORIZATIONS)
    chosen = [v for v in form.getlist("task") if isinstance(v, str) and v]
    target = fields_of(form).get("assignee", "")
    errors = FormErrors()
    allowed = {value for value, _ in _assignees(uow, viewer)}
    if not chosen:
        errors.add(("task",), "tick at least one task")
    if target not in allowed:
        errors.add(("assignee",), "choose whom to assign the tasks to")
    if not errors:
        assignee = None if target == SHARED else target
        try:
            for task_id in chosen:
                follow_up.reassign_task(uow, viewer.context, task_id, assignee, precert.clock)
        except NotFound:
            uow.rollback()
            errors.general.append("a ticked task no longer exists; the list was refreshed")
        except DomainError as exc:  # e.g. a task closed meanwhile
            uow.rollback()
            errors.general.append(str(exc))
        else:
            return RedirectResponse(f"/ui/tasks?assigned={len(chosen)}", status_code=303)
    return _tasks_page(
        request, viewer, uow, precert, mine=False, kind="", status_code=422, errors=errors
    )


# --- the review queue -------------------------------------------------------------------------


@router.get("/ui/review")
def review_queue(
    request: Request,
    viewer: ViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    status: str = "open",
    reason: str = "",
) -> Response:
    """Cases the automation could not settle, longest waiting first."""
    statuses = (ReviewStatus(status),) if status in {s.value for s in ReviewStatus} else ()
    reasons = (ReviewReason(reason),) if reason in {r.value for r in ReviewReason} else ()
    items = review_service.list_review_queue(
        uow,
        viewer.context,
        ReviewQuery(statuses=statuses, reasons=reasons, limit=REVIEW_LIMIT),
        precert.clock,
    )
    resolved = request.query_params.get("done") == "resolved"
    return page(
        request,
        viewer,
        "review.html",
        items=items,
        reasons=list(ReviewReason),
        filters={"status": status if statuses else "all", "reason": reason if reasons else ""},
        errors=FormErrors(),
        failed=None,
        done="Case resolved." if resolved else None,
        tz=viewer.tz,
        local=present.local,
    )


@router.post("/ui/review/{item_id}/resolve")
def resolve_review_item(
    item_id: str,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """Close a case, saying how it was dealt with."""
    resolution = fields_of(form).get("resolution", "").strip()
    if not resolution:
        resolution = "resolved from the review queue"
    review_service.resolve_review_item(
        uow, viewer.context, item_id, resolution[:1000], precert.clock
    )
    return RedirectResponse("/ui/review?done=resolved", status_code=303)


# --- policy packs (read-only) ------------------------------------------------------------------


def rule_matches(rule: Rule) -> list[tuple[str, str]]:
    """What a rule applies to, in words: only the conditions it sets."""
    match = rule.match
    facts: list[tuple[str, str]] = []
    if match.payers:
        facts.append(("Payers", ", ".join(sorted(match.payers))))
    if match.plans:
        facts.append(("Plans", ", ".join(sorted(match.plans))))
    if match.lines_of_business:
        facts.append(
            ("Lines of business", ", ".join(sorted(v.value for v in match.lines_of_business)))
        )
    if match.states:
        facts.append(("States", ", ".join(sorted(match.states))))
    if match.categories:
        labels = sorted(present.CATEGORY_LABELS[c] for c in match.categories)
        facts.append(("Service categories", ", ".join(labels)))
    codes = sorted(match.codes) + [str(r) for r in match.code_ranges]
    if codes:
        shown = ", ".join(codes[:12]) + (f" and {len(codes) - 12} more" if len(codes) > 12 else "")
        facts.append(("Codes", shown))
    if match.places_of_service:
        facts.append(("Places of service", ", ".join(sorted(match.places_of_service))))
    if match.service_dates.start or match.service_dates.end:
        window = f"{match.service_dates.start or '…'} to {match.service_dates.end or '…'}"
        facts.append(("Service dates", window))
    return facts


def rule_outcome(rule: Rule) -> list[tuple[str, str]]:
    """What a rule decides, in words: only the fields it sets."""
    outcome = rule.outcome
    facts: list[tuple[str, str]] = []
    if outcome.pa_needed is not None:
        facts.append(("Prior authorization", outcome.pa_needed.value.replace("-", " ")))
    if outcome.covered is not None:
        facts.append(("Coverage", outcome.covered.value.replace("-", " ")))
    if outcome.documentation:
        facts.append(("Documentation", "; ".join(d.title for d in outcome.documentation)))
    if outcome.lead_time_business_days is not None:
        facts.append(("Lead time", f"{outcome.lead_time_business_days} business days"))
    if outcome.decision_timeframe is not None:
        frame = outcome.decision_timeframe
        facts.append(
            (
                "Decision timeframe",
                f"{frame.expedited_hours} h expedited, {frame.standard_days} days standard",
            )
        )
    if outcome.criteria:
        facts.append(("Criteria", "; ".join(c.description for c in outcome.criteria)))
    if outcome.note:
        facts.append(("Note", outcome.note))
    return facts


def _packs(precert: PrecertDep) -> Sequence[PolicyPack]:
    return sorted(precert.policy.packs, key=lambda p: (int(p.info.layer), p.info.id))


@router.get("/ui/policy")
def policy_packs(request: Request, viewer: ViewerDep, precert: PrecertDep) -> Response:
    """The loaded policy packs by layer, most general first."""
    packs = _packs(precert)
    layers: dict[Layer, list[PolicyPack]] = {}
    for pack in packs:
        layers.setdefault(pack.info.layer, []).append(pack)
    return page(request, viewer, "policy.html", layers=layers)


@router.get("/ui/policy/{pack_id}")
def policy_pack(request: Request, pack_id: str, viewer: ViewerDep, precert: PrecertDep) -> Response:
    """One pack's rules with what they match, what they decide, and their published source."""
    pack = next((p for p in _packs(precert) if p.info.id == pack_id), None)
    if pack is None:
        raise NotFound(f"no policy pack {pack_id!r}")
    rules: list[dict[str, Any]] = [
        {"rule": rule, "matches": rule_matches(rule), "outcome": rule_outcome(rule)}
        for rule in pack.rules
    ]
    return page(request, viewer, "policy_pack.html", pack=pack, rules=rules)
