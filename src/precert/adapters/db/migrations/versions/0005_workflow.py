"""Follow-up workflow: follow-up tasks, the review queue, durable background jobs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "follow_up_tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("authorization_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("due", _INSTANT, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("revenue_at_risk", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("snoozed_until", _INSTANT, nullable=True),
        sa.Column("staff_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.Column("closed_at", _INSTANT, nullable=True),
        sa.Column("resolution", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["authorizations.id"],
            name=op.f("fk_follow_up_tasks_authorization_id_authorizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_tasks")),
        sa.UniqueConstraint(
            "authorization_id", "key", name=op.f("uq_follow_up_tasks_authorization_id_key")
        ),
    )
    op.create_index(
        "ix_follow_up_tasks_org_status_due",
        "follow_up_tasks",
        ["organization_id", "status", "due"],
    )
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("authorization_id", sa.String(length=36), nullable=True),
        sa.Column("codes", _DOCUMENT, nullable=False),
        sa.Column("detail", _DOCUMENT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.Column("resolved_at", _INSTANT, nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolution", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["authorizations.id"],
            name=op.f("fk_review_items_authorization_id_authorizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint(
            "organization_id", "key", name=op.f("uq_review_items_organization_id_key")
        ),
    )
    op.create_index(
        "ix_review_items_org_status_created",
        "review_items",
        ["organization_id", "status", "created_at"],
    )
    op.create_table(
        "jobs",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("authorization_id", sa.String(length=36), nullable=True),
        sa.Column("payload", _DOCUMENT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", _INSTANT, nullable=False),
        sa.Column("lease_until", _INSTANT, nullable=True),
        sa.Column("result", _DOCUMENT, nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_status_not_before", "jobs", ["status", "not_before"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_jobs_status_not_before", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("ix_review_items_org_status_created", table_name="review_items")
    op.drop_table("review_items")
    op.drop_index("ix_follow_up_tasks_org_status_due", table_name="follow_up_tasks")
    op.drop_table("follow_up_tasks")
