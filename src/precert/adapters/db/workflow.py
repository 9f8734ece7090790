"""SQL repositories of the follow-up workflow: tasks, the review queue, durable jobs."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from precert.adapters.db import tables as t
from precert.adapters.db import workflow_tables as w
from precert.domain.errors import NotFound
from precert.domain.review import ReviewItem, ReviewReason, ReviewStatus
from precert.domain.tasks import Priority, Task, TaskKind, TaskStatus
from precert.ports import ReviewQuery, TaskQuery, TaskSort


def _task_row(task: Task) -> dict[str, Any]:
    return {
        "organization_id": task.organization_id,
        "authorization_id": task.authorization_id,
        "kind": task.kind.value,
        "key": task.key,
        "summary": task.summary,
        "due": task.due,
        "priority": int(task.priority),
        "revenue_at_risk": task.revenue_at_risk,
        "status": task.status.value,
        "assignee": task.assignee,
        "snoozed_until": task.snoozed_until,
        "staff_minutes": task.staff_minutes,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "closed_at": task.closed_at,
        "resolution": task.resolution,
    }


def _task(row: Any) -> Task:
    return Task(
        id=row.id,
        organization_id=row.organization_id,
        authorization_id=row.authorization_id,
        kind=TaskKind(row.kind),
        key=row.key,
        summary=row.summary,
        due=row.due,
        priority=Priority(row.priority),
        revenue_at_risk=Decimal(row.revenue_at_risk).quantize(Decimal("0.01")),
        status=TaskStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        assignee=row.assignee,
        snoozed_until=row.snoozed_until,
        staff_minutes=row.staff_minutes,
        closed_at=row.closed_at,
        resolution=row.resolution,
    )


class SqlTaskRepository:
    """Follow-up tasks, one row each, unique per (request, occurrence key)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, task: Task) -> None:
        """Store a new task."""
        self._db.execute(insert(w.follow_up_tasks).values(id=task.id, **_task_row(task)))

    def update(self, task: Task) -> None:
        """Store a changed task."""
        result = self._db.execute(
            update(w.follow_up_tasks)
            .where(
                w.follow_up_tasks.c.id == task.id,
                w.follow_up_tasks.c.organization_id == task.organization_id,
            )
            .values(**_task_row(task))
        )
        if result.rowcount != 1:
            raise NotFound(f"task {task.id} not found")

    def get(self, organization_id: str, task_id: str) -> Task:
        """One task of the organization; another organization's id is simply not found."""
        row = self._db.execute(
            select(w.follow_up_tasks).where(
                w.follow_up_tasks.c.id == task_id,
                w.follow_up_tasks.c.organization_id == organization_id,
            )
        ).one_or_none()
        if row is None:
            raise NotFound(f"task {task_id} not found")
        return _task(row)

    def for_authorization(self, organization_id: str, authorization_id: str) -> Sequence[Task]:
        """Every task the request ever had, oldest first."""
        c = w.follow_up_tasks.c
        rows = self._db.execute(
            select(w.follow_up_tasks)
            .where(c.organization_id == organization_id, c.authorization_id == authorization_id)
            .order_by(c.created_at, c.id)
        ).all()
        return [_task(r) for r in rows]

    def queue(self, organization_id: str, query: TaskQuery) -> Sequence[Task]:
        """The work queue: filtered, sorted by due time then revenue at risk (or by priority)."""
        c = w.follow_up_tasks.c
        conditions = [c.organization_id == organization_id]
        if query.actionable_at is not None:
            # Open, or snoozed until a time that has come.
            conditions.append(
                or_(
                    c.status == TaskStatus.OPEN.value,
                    (c.status == TaskStatus.SNOOZED.value)
                    & (c.snoozed_until <= query.actionable_at),
                )
            )
        elif query.statuses:
            conditions.append(c.status.in_([s.value for s in query.statuses]))
        if query.kinds:
            conditions.append(c.kind.in_([k.value for k in query.kinds]))
        if query.assignee is not None:
            conditions.append(c.assignee == query.assignee)
        if query.unassigned:
            conditions.append(c.assignee.is_(None))
        if query.authorization_id:
            conditions.append(c.authorization_id == query.authorization_id)
        if query.due_before is not None:
            conditions.append(c.due < query.due_before)
        order: tuple[Any, ...]
        if query.sort is TaskSort.PRIORITY:
            order = (c.priority, c.due, c.revenue_at_risk.desc(), c.id)
        else:
            order = (c.due, c.revenue_at_risk.desc(), c.priority, c.id)
        rows = self._db.execute(
            select(w.follow_up_tasks)
            .where(*conditions)
            .order_by(*order)
            .offset(query.offset)
            .limit(query.limit)
        ).all()
        return [_task(r) for r in rows]

    def timezone_of(self, organization_id: str) -> str:
        """The organization's timezone: the one its deadlines end their days in."""
        zone = self._db.execute(
            select(t.organizations.c.timezone).where(t.organizations.c.id == organization_id)
        ).scalar_one_or_none()
        if zone is None:
            raise NotFound(f"organization {organization_id} not found")
        return str(zone)


def _review_row(item: ReviewItem) -> dict[str, Any]:
    return {
        "organization_id": item.organization_id,
        "reason": item.reason.value,
        "summary": item.summary[:1000],
        "key": item.key[:300],
        "authorization_id": item.authorization_id,
        "codes": list(item.codes),
        "detail": dict(item.detail),
        "status": item.status.value,
        "occurrences": item.occurrences,
        "assignee": item.assignee,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "resolved_at": item.resolved_at,
        "resolved_by": item.resolved_by,
        "resolution": item.resolution,
    }


def _review_item(row: Any) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        organization_id=row.organization_id,
        reason=ReviewReason(row.reason),
        summary=row.summary,
        key=row.key,
        authorization_id=row.authorization_id,
        codes=tuple(row.codes),
        detail=dict(row.detail),
        status=ReviewStatus(row.status),
        occurrences=row.occurrences,
        assignee=row.assignee,
        created_at=row.created_at,
        updated_at=row.updated_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution=row.resolution,
    )


class SqlReviewQueue:
    """Review items, unique per (organization, problem key)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, item: ReviewItem) -> bool:
        """Store a new item; False (nothing stored) when an item with its key already exists."""
        try:
            with self._db.begin_nested():
                self._db.execute(insert(w.review_items).values(id=item.id, **_review_row(item)))
        except IntegrityError:
            return False
        return True

    def update(self, item: ReviewItem) -> None:
        """Store a changed item."""
        result = self._db.execute(
            update(w.review_items)
            .where(
                w.review_items.c.id == item.id,
                w.review_items.c.organization_id == item.organization_id,
            )
            .values(**_review_row(item))
        )
        if result.rowcount != 1:
            raise NotFound(f"review item {item.id} not found")

    def get(self, organization_id: str, item_id: str) -> ReviewItem:
        """One item of the organization."""
        row = self._db.execute(
            select(w.review_items).where(
                w.review_items.c.id == item_id, w.review_items.c.organization_id == organization_id
            )
        ).one_or_none()
        if row is None:
            raise NotFound(f"review item {item_id} not found")
        return _review_item(row)

    def find(self, organization_id: str, key: str) -> ReviewItem | None:
        """The item for a problem key, open or resolved, if any."""
        row = self._db.execute(
            select(w.review_items).where(
                w.review_items.c.organization_id == organization_id,
                w.review_items.c.key == key[:300],
            )
        ).one_or_none()
        return _review_item(row) if row else None

    def list(self, organization_id: str, query: ReviewQuery) -> Sequence[ReviewItem]:
        """Items oldest first (the longest-waiting case is worked first)."""
        c = w.review_items.c
        conditions = [c.organization_id == organization_id]
        if query.statuses:
            conditions.append(c.status.in_([s.value for s in query.statuses]))
        if query.reasons:
            conditions.append(c.reason.in_([r.value for r in query.reasons]))
        if query.authorization_id:
            conditions.append(c.authorization_id == query.authorization_id)
        rows = self._db.execute(
            select(w.review_items)
            .where(*conditions)
            .order_by(c.created_at, c.id)
            .offset(query.offset)
            .limit(query.limit)
        ).all()
        return [_review_item(r) for r in rows]


# --- durable jobs ---------------------------------------------------------------------


class JobStatus:
    """A job's life: waiting (maybe for a retry time), taken by a worker, finished, given up."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """One durable unit of background work, identified by its idempotency key."""

    key: str
    kind: str
    organization_id: str
    authorization_id: str | None
    payload: Mapping[str, Any]
    status: str
    attempts: int
    not_before: datetime
    lease_until: datetime | None
    result: Mapping[str, Any] | None
    last_error: str | None


def _job(row: Any) -> Job:
    return Job(
        key=row.key,
        kind=row.kind,
        organization_id=row.organization_id,
        authorization_id=row.authorization_id,
        payload=dict(row.payload),
        status=row.status,
        attempts=row.attempts,
        not_before=row.not_before,
        lease_until=row.lease_until,
        result=dict(row.result) if row.result is not None else None,
        last_error=row.last_error,
    )


class SqlJobs:
    """The job table: the truth about background work, whatever the queue transport loses.

    Huey hands a job's key to a worker; the worker *claims* the row (a
    conditional update, so two workers never run it at once) and finishes it.
    A worker killed mid-job leaves the row running with a lease that runs out;
    the next sweep hands it out again, and the job resumes with the same key.
    """

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def create(
        self,
        *,
        key: str,
        kind: str,
        organization_id: str,
        authorization_id: str | None,
        payload: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        """Record a job; False when a job with this key exists already (nothing changes)."""
        try:
            with self._db.begin_nested():
                self._db.execute(
                    insert(w.jobs).values(
                        key=key,
                        kind=kind,
                        organization_id=organization_id,
                        authorization_id=authorization_id,
                        payload=dict(payload),
                        status=JobStatus.PENDING,
                        attempts=0,
                        not_before=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    def get(self, key: str) -> Job | None:
        """The job with this key, if any."""
        row = self._db.execute(select(w.jobs).where(w.jobs.c.key == key)).one_or_none()
        return _job(row) if row else None

    def claim(self, key: str, now: datetime, lease: timedelta) -> Job | None:
        """Take the job for this worker: pending and due, or running with a lapsed lease.

        Returns the job with its attempt counted, or None when it is done, failed,
        not yet due, or held by a live worker.
        """
        c = w.jobs.c
        result = self._db.execute(
            update(w.jobs)
            .where(
                c.key == key,
                or_(
                    (c.status == JobStatus.PENDING) & (c.not_before <= now),
                    (c.status == JobStatus.RUNNING) & (c.lease_until < now),
                ),
            )
            .values(
                status=JobStatus.RUNNING,
                attempts=c.attempts + 1,
                lease_until=now + lease,
                updated_at=now,
            )
        )
        if result.rowcount != 1:
            return None
        return self.get(key)

    def finish(self, key: str, result: Mapping[str, Any], now: datetime) -> None:
        """The job's work is done; its result is kept for anyone who asks again."""
        self._db.execute(
            update(w.jobs)
            .where(w.jobs.c.key == key)
            .values(
                status=JobStatus.DONE,
                result=dict(result),
                lease_until=None,
                last_error=None,
                updated_at=now,
            )
        )

    def retry_at(self, key: str, error: str, at: datetime, now: datetime) -> None:
        """The attempt failed; wait until ``at`` before the next one."""
        self._db.execute(
            update(w.jobs)
            .where(w.jobs.c.key == key)
            .values(
                status=JobStatus.PENDING,
                not_before=at,
                lease_until=None,
                last_error=error[:2000],
                updated_at=now,
            )
        )

    def fail(self, key: str, error: str, now: datetime) -> None:
        """Give up: the job will not run again (the caller routes the case to review)."""
        self._db.execute(
            update(w.jobs)
            .where(w.jobs.c.key == key)
            .values(
                status=JobStatus.FAILED, lease_until=None, last_error=error[:2000], updated_at=now
            )
        )

    def runnable(self, now: datetime, limit: int = 500) -> builtins.list[str]:
        """Keys of jobs a worker should run now: due pending ones and abandoned running ones."""
        c = w.jobs.c
        rows = self._db.execute(
            select(c.key)
            .where(
                or_(
                    (c.status == JobStatus.PENDING) & (c.not_before <= now),
                    (c.status == JobStatus.RUNNING) & (c.lease_until < now),
                )
            )
            .order_by(c.not_before)
            .limit(limit)
        ).all()
        return [r.key for r in rows]


def organization_timezones(connection: Connection) -> dict[str, str]:
    """Every organization's id and timezone: the tenants a periodic scan walks through."""
    rows = connection.execute(select(t.organizations.c.id, t.organizations.c.timezone)).all()
    return {r.id: r.timezone for r in rows}
