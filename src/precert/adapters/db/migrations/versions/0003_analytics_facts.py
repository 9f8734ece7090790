"""Analytics facts and rollups: what the dashboard reads instead of scanning events.

``analytics_facts`` holds each request's facts (``precert.analytics.facts``);
``analytics_counts`` and ``analytics_observations`` hold the sums of their
contributions per (organization, month of first submission, payer, category,
urgency, measure, label). The repository keeps all three current as it writes;
this migration fills them from the requests and events already stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rollup_key(last: sa.Column[object]) -> list[sa.Column[object]]:
    return [
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        last,
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
    ]


def _key(last: str) -> list[str]:
    # Measure first: each measure's rows are aggregated in key order, without a sort.
    dimensions = ["month", "payer_id", "category", "urgency"]
    return ["organization_id", "measure", "label", last, *dimensions]


def upgrade() -> None:
    """Create the analytics tables (``migrate.upgrade`` fills them from the event ledger)."""
    op.create_table(
        "analytics_facts",
        sa.Column("authorization_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("cohort_month", sa.Date(), nullable=True),
        sa.Column("decision_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("authorization_id", name=op.f("pk_analytics_facts")),
    )
    op.create_index(
        "ix_analytics_facts_org_due",
        "analytics_facts",
        ["organization_id", "decision_due_at"],
        unique=False,
    )
    op.create_table(
        "analytics_counts",
        *_rollup_key(sa.Column("detail", sa.String(length=200), nullable=False)),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*_key("detail"), name=op.f("pk_analytics_counts")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "analytics_observations",
        *_rollup_key(sa.Column("value", sa.Integer(), nullable=False)),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*_key("value"), name=op.f("pk_analytics_observations")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    """Drop the analytics tables (the events they were computed from remain)."""
    op.drop_table("analytics_observations")
    op.drop_table("analytics_counts")
    op.drop_index("ix_analytics_facts_org_due", table_name="analytics_facts")
    op.drop_table("analytics_facts")
