"""``/v1/tasks`` (the follow-up work queue) and ``/v1/review-queue`` (cases for a person)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from precert.domain.authorization import Status
from precert.domain.deadlines import Deadline, DeadlineKind
from precert.domain.review import ReviewItem, ReviewReason, ReviewStatus
from precert.domain.tasks import MAX_TOUCH_MINUTES, Priority, Task, TaskKind, TaskStatus
from precert.ports import ReviewQuery, TaskQuery, TaskSort
from precert.services import follow_up
from precert.services import review as review_service
from precert.web.deps import CurrentAccess, PrecertDep, UnitOfWorkDep

router = APIRouter(tags=["work queue"])


class DeadlineResource(BaseModel):
    """A request's next deadline: which clock, when, how much slack, at risk or overdue."""

    kind: DeadlineKind
    due: datetime
    slack_business_days: float
    at_risk: bool
    overdue: bool


class TaskResource(BaseModel):
    """A follow-up task with its request's status and next deadline."""

    id: str
    authorization_id: str
    kind: TaskKind
    summary: str
    due: datetime
    priority: Priority
    revenue_at_risk: Decimal
    status: TaskStatus
    assignee: str | None
    snoozed_until: datetime | None
    staff_minutes: int
    created_at: datetime
    closed_at: datetime | None
    resolution: str | None
    request_status: Status | None = None
    payer_id: str | None = None
    first_service_date: str | None = None
    deadline: DeadlineResource | None = None


class TaskList(BaseModel):
    """One page of the work queue."""

    items: list[TaskResource]


class Snooze(BaseModel):
    """Put the task aside until a time; minutes spent so far count as a touch."""

    model_config = ConfigDict(extra="forbid")
    until: AwareDatetime
    minutes: int = Field(default=0, ge=0, le=MAX_TOUCH_MINUTES)


class Reassign(BaseModel):
    """Give the task to someone (a user or key id), or null for the shared queue."""

    model_config = ConfigDict(extra="forbid")
    assignee: str | None = Field(max_length=100)


class Complete(BaseModel):
    """The work is done; the staff minutes it took are recorded on the request."""

    model_config = ConfigDict(extra="forbid")
    minutes: int = Field(ge=0, le=MAX_TOUCH_MINUTES)
    note: str | None = Field(default=None, max_length=200)


class ScanResult(BaseModel):
    """What a follow-up scan changed."""

    requests: int
    opened: int
    updated: int
    closed: int


class ReviewItemResource(BaseModel):
    """A case for a person, with its coded reason."""

    id: str
    reason: ReviewReason
    summary: str
    authorization_id: str | None
    codes: list[str]
    detail: dict[str, str]
    status: ReviewStatus
    occurrences: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class ReviewList(BaseModel):
    """One page of the review queue."""

    items: list[ReviewItemResource]


class Resolve(BaseModel):
    """How the case was dealt with."""

    model_config = ConfigDict(extra="forbid")
    resolution: str = Field(min_length=1, max_length=2000)


def _deadline(deadline: Deadline | None) -> DeadlineResource | None:
    if deadline is None:
        return None
    return DeadlineResource(
        kind=deadline.kind,
        due=deadline.due,
        slack_business_days=round(deadline.slack_business_days, 2),
        at_risk=deadline.at_risk,
        overdue=deadline.overdue,
    )


def _task(task: Task, item: follow_up.WorkItem | None = None) -> TaskResource:
    resource = TaskResource(
        id=task.id,
        authorization_id=task.authorization_id,
        kind=task.kind,
        summary=task.summary,
        due=task.due,
        priority=task.priority,
        revenue_at_risk=task.revenue_at_risk,
        status=task.status,
        assignee=task.assignee,
        snoozed_until=task.snoozed_until,
        staff_minutes=task.staff_minutes,
        created_at=task.created_at,
        closed_at=task.closed_at,
        resolution=task.resolution,
    )
    if item is not None:
        resource.request_status = item.request_status
        resource.payer_id = item.payer_id
        resource.first_service_date = item.first_service_date
        resource.deadline = _deadline(item.deadline)
    return resource


def _review(item: ReviewItem) -> ReviewItemResource:
    return ReviewItemResource(
        id=item.id,
        reason=item.reason,
        summary=item.summary,
        authorization_id=item.authorization_id,
        codes=list(item.codes),
        detail=dict(item.detail),
        status=item.status,
        occurrences=item.occurrences,
        created_at=item.created_at,
        updated_at=item.updated_at,
        resolved_at=item.resolved_at,
        resolved_by=item.resolved_by,
        resolution=item.resolution,
    )


@router.get("/v1/tasks", response_model=TaskList)
def list_tasks(
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    status: Annotated[list[TaskStatus] | None, Query()] = None,
    kind: Annotated[list[TaskKind] | None, Query()] = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    unassigned: bool = False,
    authorization_id: str | None = None,
    due_before: AwareDatetime | None = None,
    sort: TaskSort = TaskSort.DUE,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TaskList:
    """The work queue: by default what is actionable now (open, or snoozed until now),
    earliest due first and then the most revenue at risk; ``status`` lists other states."""
    if assignee and unassigned:
        raise HTTPException(400, "ask for one assignee or for unassigned tasks, not both")
    query = TaskQuery(
        statuses=status or (),
        kinds=kind or (),
        assignee=assignee,
        unassigned=unassigned,
        authorization_id=authorization_id,
        due_before=due_before,
        actionable_at=None if status else precert.clock.now(),
        sort=sort,
        offset=offset,
        limit=limit,
    )
    items = follow_up.work_queue(uow, access, query, precert.clock)
    return TaskList(items=[_task(i.task, i) for i in items])


@router.post("/v1/tasks/scan", response_model=ScanResult)
def scan_tasks(access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep) -> ScanResult:
    """Bring every active request's tasks up to date now (the background job does it too)."""
    report = follow_up.scan_follow_ups(uow, access, precert.clock)
    return ScanResult(
        requests=report.requests,
        opened=report.opened,
        updated=report.updated,
        closed=report.closed,
    )


@router.post("/v1/tasks/{task_id}/snooze", response_model=TaskResource)
def snooze_task(
    task_id: str, body: Snooze, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> TaskResource:
    """Put a task aside; it comes back to the queue by itself at ``until``."""
    task = follow_up.snooze_task(
        uow, access, task_id, body.until, precert.clock, minutes=body.minutes
    )
    return _task(task)


@router.post("/v1/tasks/{task_id}/reassign", response_model=TaskResource)
def reassign_task(
    task_id: str, body: Reassign, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> TaskResource:
    """Give a task to someone else, or back to the shared queue."""
    return _task(follow_up.reassign_task(uow, access, task_id, body.assignee, precert.clock))


@router.post("/v1/tasks/{task_id}/complete", response_model=TaskResource)
def complete_task(
    task_id: str, body: Complete, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> TaskResource:
    """Mark a task done with the staff minutes it took."""
    task = follow_up.complete_task(
        uow, access, task_id, body.minutes, precert.clock, note=body.note
    )
    return _task(task)


@router.get("/v1/authorizations/{authorization_id}/deadline", response_model=DeadlineResource)
def request_deadline(
    authorization_id: str, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> DeadlineResource:
    """The request's next deadline and whether it is at risk (404 when no clock runs)."""
    deadline = _deadline(follow_up.deadline_of(uow, access, authorization_id, precert.clock))
    if deadline is None:
        raise HTTPException(404, f"no deadline runs for authorization {authorization_id} now")
    return deadline


@router.get("/v1/review-queue", response_model=ReviewList)
def list_review_queue(
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    status: Annotated[list[ReviewStatus] | None, Query()] = None,
    reason: Annotated[list[ReviewReason] | None, Query()] = None,
    authorization_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReviewList:
    """Cases waiting for a person (open by default), longest waiting first."""
    query = ReviewQuery(
        statuses=status or (ReviewStatus.OPEN,),
        reasons=reason or (),
        authorization_id=authorization_id,
        offset=offset,
        limit=limit,
    )
    items = review_service.list_review_queue(uow, access, query, precert.clock)
    return ReviewList(items=[_review(i) for i in items])


@router.post("/v1/review-queue/{item_id}/resolve", response_model=ReviewItemResource)
def resolve_review_item(
    item_id: str, body: Resolve, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> ReviewItemResource:
    """Close a case, saying how it was dealt with."""
    item = review_service.resolve_review_item(uow, access, item_id, body.resolution, precert.clock)
    return _review(item)
