"""Follow-up: keep each request's tasks in step with its clocks, and work the queue.

``scan_follow_ups`` applies the pure rules of ``precert.domain.tasks`` to the
organization's active requests: it opens the tasks they need, refreshes due
times and priorities, wakes elapsed snoozes and closes tasks no longer needed.
A background job runs it periodically; running it twice changes nothing.

Coordinators work the queue with ``snooze_task``, ``reassign_task`` and
``complete_task``. Every touch records its staff minutes as an
``authorization.touch`` event on the request (payload ``minutes``), which the
analytics sum into the seed's "staff time per authorization".

``request_deadline`` answers, for any request, its next deadline and whether
it is at risk; the work queue carries it on every task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from precert.domain.access import Permission
from precert.domain.authorization import FINAL_STATUSES, AuthorizationRequest, Status, Urgency
from precert.domain.deadlines import Deadline, Timeframe, TimeUnit, next_deadline
from precert.domain.tasks import (
    TOUCH,
    PayerTimeframes,
    Task,
    check_minutes,
    plan_tasks,
)
from precert.policy import PolicyEngine, shipped_engine
from precert.ports import AuthorizationQuery, Clock, TaskQuery, WorkflowUnitOfWork
from precert.services.access import AccessContext, audit
from precert.services.review import line_facts

SUBJECT = "authorization"
#: Requests a scan looks at: everything not final.
ACTIVE_STATUSES = tuple(s for s in Status if s not in FINAL_STATUSES)
_SCAN_PAGE = 200

TimeframeSource = Callable[[AuthorizationRequest], PayerTimeframes]


def payer_timeframes(
    request: AuthorizationRequest, engine: PolicyEngine | None = None
) -> PayerTimeframes:
    """The payer's clocks for ``request``, from its policy pack (the shipped packs by default).

    The lead time is the longest any line's rule asks for, else the payer's
    lead time for the request's category. The decision timeframe is the
    shortest a matching rule promises, for the request's urgency.
    """
    engine = engine or shipped_engine()
    answers = engine.determine_all(line_facts(request, line) for line in request.service_lines)
    leads = [a.lead_time_business_days for a in answers if a.lead_time_business_days is not None]
    profile = engine.payers.get(request.coverage.payer_id)
    if not leads and profile is not None:
        leads = [profile.lead_time_business_days.get(request.category, 0)]
    timeframes = [
        Timeframe(a.decision_timeframe.expedited_hours, TimeUnit.HOURS)
        if request.urgency is Urgency.EXPEDITED
        else Timeframe(a.decision_timeframe.standard_days, TimeUnit.CALENDAR_DAYS)
        for a in answers
        if a.decision_timeframe is not None
    ]
    shortest = min(timeframes, key=_timeframe_length, default=None)
    return PayerTimeframes(
        lead_time_business_days=max(leads, default=0), decision_timeframe=shortest
    )


def _timeframe_length(timeframe: Timeframe) -> float:
    # Comparable lengths in hours; a business day counts as a calendar day here, which
    # only orders timeframes of different units and never sets a deadline.
    return timeframe.amount if timeframe.unit is TimeUnit.HOURS else timeframe.amount * 24.0


@dataclass(frozen=True)
class ScanReport:
    """What one scan of an organization changed."""

    requests: int
    opened: int
    updated: int
    closed: int


def scan_follow_ups(
    uow: WorkflowUnitOfWork,
    context: AccessContext,
    clock: Clock,
    *,
    timeframes: TimeframeSource = payer_timeframes,
    authorization_ids: Sequence[str] | None = None,
) -> ScanReport:
    """Open, refresh and close the follow-up tasks of the organization's active requests.

    Only requests whose tasks change are audited (as a write): the scan is
    precert's own bookkeeping, not a person looking at the patient.
    """
    context.require(Permission.WORK_AUTHORIZATIONS)
    now = clock.now()
    organization_id = context.organization_id
    tz = ZoneInfo(uow.tasks.timezone_of(organization_id))
    requests = (
        [uow.authorizations.get(organization_id, i) for i in authorization_ids]
        if authorization_ids is not None
        else _active_requests(uow, organization_id)
    )
    scanned = opened = updated = closed = 0
    for request in requests:
        scanned += 1
        history = uow.authorizations.history(organization_id, request.id)
        existing = uow.tasks.for_authorization(organization_id, request.id)
        plan = plan_tasks(request, history, existing, now, tz=tz, timeframes=timeframes(request))
        if plan.empty:
            continue
        # Keep the request with the coordinator who worked it last.
        assignee = next((t.assignee for t in reversed(existing) if t.assignee), None)
        for need in plan.to_open:
            uow.tasks.add(Task.from_need(need, organization_id, now, assignee))
        for task in (*plan.to_update, *plan.to_close):
            uow.tasks.update(task)
        opened += len(plan.to_open)
        updated += len(plan.to_update)
        closed += len(plan.to_close)
        audit(
            uow,
            context,
            now,
            "write",
            SUBJECT,
            [request.id],
            event="follow-up scan",
            opened=",".join(n.kind.value for n in plan.to_open),
            closed=",".join(t.kind.value for t in plan.to_close),
        )
        uow.commit()
    uow.commit()
    return ScanReport(scanned, opened, updated, closed)


def _active_requests(uow: WorkflowUnitOfWork, organization_id: str) -> list[AuthorizationRequest]:
    found: list[AuthorizationRequest] = []
    after: tuple[datetime, str] | None = None
    while True:
        page = uow.authorizations.list(
            organization_id,
            AuthorizationQuery(statuses=ACTIVE_STATUSES, after=after, limit=_SCAN_PAGE),
        )
        found.extend(page.items)
        if page.next_after is None:
            return found
        after = page.next_after


# --- deadlines ------------------------------------------------------------------------


def request_deadline(
    request: AuthorizationRequest,
    now: datetime,
    *,
    tz: ZoneInfo,
    timeframes: PayerTimeframes,
    extended: bool = False,
) -> Deadline | None:
    """The request's next deadline (submission, decision or approval end) and its risk."""
    return next_deadline(
        request,
        now,
        tz=tz,
        lead_time_business_days=timeframes.lead_time_business_days,
        payer_timeframe=timeframes.decision_timeframe,
        extended=extended,
    )


def deadline_of(
    uow: WorkflowUnitOfWork,
    context: AccessContext,
    authorization_id: str,
    clock: Clock,
    *,
    timeframes: TimeframeSource = payer_timeframes,
) -> Deadline | None:
    """Load one request and answer its next deadline and at-risk flag (an audited read)."""
    context.require(Permission.READ_AUTHORIZATIONS)
    now = clock.now()
    request = uow.authorizations.get(context.organization_id, authorization_id)
    tz = ZoneInfo(uow.tasks.timezone_of(context.organization_id))
    audit(uow, context, now, "read", SUBJECT, [request.id], via="deadline")
    uow.commit()
    return request_deadline(request, now, tz=tz, timeframes=timeframes(request))


# --- the work queue -------------------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    """A task as the work queue shows it: with its request's status and next deadline."""

    task: Task
    request_status: Status
    payer_id: str
    first_service_date: str
    deadline: Deadline | None


def work_queue(
    uow: WorkflowUnitOfWork,
    context: AccessContext,
    query: TaskQuery,
    clock: Clock,
    *,
    timeframes: TimeframeSource = payer_timeframes,
) -> list[WorkItem]:
    """The organization's follow-up tasks with each request's next deadline; audited reads."""
    context.require(Permission.READ_AUTHORIZATIONS)
    now = clock.now()
    organization_id = context.organization_id
    tz = ZoneInfo(uow.tasks.timezone_of(organization_id))
    tasks = uow.tasks.queue(organization_id, query)
    requests: dict[str, AuthorizationRequest] = {}
    items: list[WorkItem] = []
    for task in tasks:
        request = requests.get(task.authorization_id)
        if request is None:
            request = requests[task.authorization_id] = uow.authorizations.get(
                organization_id, task.authorization_id
            )
        items.append(
            WorkItem(
                task=task,
                request_status=request.status,
                payer_id=request.coverage.payer_id,
                first_service_date=request.first_service_date.isoformat(),
                deadline=request_deadline(request, now, tz=tz, timeframes=timeframes(request)),
            )
        )
    audit(uow, context, now, "read", SUBJECT, sorted(requests), via="work queue")
    uow.commit()
    return items


# --- working a task -------------------------------------------------------------------


def snooze_task(
    uow: WorkflowUnitOfWork,
    context: AccessContext,
    task_id: str,
    until: datetime,
    clock: Clock,
    *,
    minutes: int = 0,
) -> Task:
    """Put a task aside until ``until``; minutes spent on it (a call, say) are a touch."""
    context.require(Permission.WORK_AUTHORIZATIONS)
    now = clock.now()
    task = uow.tasks.get(context.organization_id, task_id).snooze(until, now, minutes)
    uow.tasks.update(task)
    if minutes:
        _touch(uow, context, task, "snooze", minutes, now)
    audit(uow, context, now, "write", SUBJECT, [task.authorization_id], event="task.snooze")
    uow.commit()
    return task


def reassign_task(
    uow: WorkflowUnitOfWork,
    context: AccessContext,
    task_id: str,
    assignee: str | None,
    clock: Clock,
) -> Task:
    """Give a task to someone else, or back to the shared queue (None)."""
    context.require(Permission.WORK_AUTHORIZATIONS)
    now = clock.now()
    task = uow.tasks.get(context.organization_id, task_id).reassign(assignee, now)
    uow.tasks.update(task)
    audit(uow, context, now, "write", SUBJECT, [task.authorization_id], event="task.reassign")
    uow.commit()
    return task


def complete_task(
    uow: WorkflowUnitOfWork,
    context: AccessContext,
    task_id: str,
    minutes: int,
    clock: Clock,
    *,
    note: str | None = None,
) -> Task:
    """Mark a task done with the staff minutes it took (recorded as a touch on the request)."""
    context.require(Permission.WORK_AUTHORIZATIONS)
    now = clock.now()
    task = uow.tasks.get(context.organization_id, task_id).complete(
        now, minutes, resolution=note or "completed"
    )
    uow.tasks.update(task)
    _touch(uow, context, task, "complete", minutes, now, note)
    audit(uow, context, now, "write", SUBJECT, [task.authorization_id], event="task.complete")
    uow.commit()
    return task


def _touch(
    uow: WorkflowUnitOfWork,
    context: AccessContext,
    task: Task,
    action: str,
    minutes: int,
    now: datetime,
    note: str | None = None,
) -> None:
    request = uow.authorizations.get(context.organization_id, task.authorization_id)
    payload: dict[str, object] = {
        "minutes": check_minutes(minutes),
        "task_id": task.id,
        "task_kind": task.kind.value,
        "action": action,
    }
    if note:
        payload["note"] = note
    request.record_note(context.actor, now, TOUCH, **payload)
    uow.authorizations.save(request)
