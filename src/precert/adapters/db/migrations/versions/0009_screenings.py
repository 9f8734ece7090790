"""Schedule screenings run as background jobs: the uploaded file, progress and result.

``POST /v1/screenings`` keeps the uploaded schedule here and records a ``screen`` job
(the ``jobs`` table stays the truth about whether it ran); the worker counts rows done
as it goes and stores the annotated CSV and the summary when it finishes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 21:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the screenings table."""
    document = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.create_table(
        "screenings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("job_key", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("upload", sa.LargeBinary(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("summary", document, nullable=True),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenings")),
    )
    op.create_index("ix_screenings_organization_id", "screenings", ["organization_id"])


def downgrade() -> None:
    """Drop the screenings table (uploaded schedules and results go with it)."""
    op.drop_index("ix_screenings_organization_id", table_name="screenings")
    op.drop_table("screenings")
