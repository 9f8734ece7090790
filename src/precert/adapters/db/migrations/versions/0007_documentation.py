"""Documentation: questionnaire answers per item and attached documents.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 21:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    instant = sa.DateTime(timezone=True)
    op.create_table(
        "documentation_answers",
        sa.Column("authorization_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=100), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("questionnaire", sa.String(length=300), nullable=False),
        sa.Column(
            "answers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", instant, nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["authorizations.id"],
            name=op.f("fk_documentation_answers_authorization_id_authorizations"),
        ),
        sa.PrimaryKeyConstraint(
            "authorization_id", "item_id", name=op.f("pk_documentation_answers")
        ),
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("authorization_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", instant, nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["authorizations.id"],
            name=op.f("fk_attachments_authorization_id_authorizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint(
            "authorization_id",
            "item_id",
            "sha256",
            name=op.f("uq_attachments_authorization_id_item_id_sha256"),
        ),
    )
    op.create_index(
        "ix_attachments_org_authorization", "attachments", ["organization_id", "authorization_id"]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_attachments_org_authorization", table_name="attachments")
    op.drop_table("attachments")
    op.drop_table("documentation_answers")
