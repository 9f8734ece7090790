"""Tables of the follow-up workflow: tasks, the review queue and durable background jobs.

Kept apart from ``tables.py`` so the workflow can change without touching the
foundation's schema; they share its ``metadata``. Migration 0005 creates them.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)

from precert.adapters.db.tables import Document, UtcDateTime, metadata

follow_up_tasks = Table(
    "follow_up_tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(36), nullable=False),
    Column("authorization_id", String(36), ForeignKey("authorizations.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    # The occurrence that caused the task: one task per (request, occurrence), ever.
    Column("key", String(200), nullable=False),
    Column("summary", String(500), nullable=False),
    Column("due", UtcDateTime, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("revenue_at_risk", Numeric(14, 2), nullable=False),
    Column("status", String(16), nullable=False),
    Column("assignee", String(100)),
    Column("snoozed_until", UtcDateTime),
    Column("staff_minutes", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("resolution", String(200)),
    UniqueConstraint("authorization_id", "key"),
    Index("ix_follow_up_tasks_org_status_due", "organization_id", "status", "due"),
)

review_items = Table(
    "review_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(36), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("summary", String(1000), nullable=False),
    # The problem's identity: routing it again counts an occurrence, never a duplicate.
    Column("key", String(300), nullable=False),
    Column("authorization_id", String(36), ForeignKey("authorizations.id")),
    Column("codes", Document, nullable=False),
    Column("detail", Document, nullable=False),
    Column("status", String(16), nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("assignee", String(100)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(100)),
    Column("resolution", String(2000)),
    UniqueConstraint("organization_id", "key"),
    Index("ix_review_items_org_status_created", "organization_id", "status", "created_at"),
)

jobs = Table(
    "jobs",
    metadata,
    # The idempotency key: the same work enqueued twice is one job, run to completion once.
    Column("key", String(200), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("organization_id", String(36), nullable=False),
    Column("authorization_id", String(36)),
    Column("payload", Document, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    # A running job whose lease ran out belongs to a dead worker and is taken over.
    Column("lease_until", UtcDateTime),
    Column("result", Document),
    Column("last_error", String(2000)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_jobs_status_not_before", "status", "not_before"),
)

__all__ = ["follow_up_tasks", "jobs", "review_items"]
