"""Payer integration: per-organization payer connections, submission attempts, subscriptions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "payer_connections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("auth", _DOCUMENT, nullable=False),
        sa.Column("organization_identifier", sa.String(length=80), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payer_connections_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payer_connections")),
        sa.UniqueConstraint(
            "organization_id",
            "payer_id",
            name=op.f("uq_payer_connections_organization_id_payer_id"),
        ),
    )
    op.create_table(
        "submission_attempts",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("authorization_id", sa.String(length=36), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("payer_reference", sa.String(length=80), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["authorizations.id"],
            name=op.f("fk_submission_attempts_authorization_id_authorizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_attempts")),
    )
    with op.batch_alter_table("submission_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_submission_attempts_org_authorization",
            ["organization_id", "authorization_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_submission_attempts_org_reference",
            ["organization_id", "payer_reference"],
            unique=False,
        )
    op.create_table(
        "payer_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=500), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_notification_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["payer_connections.id"],
            name=op.f("fk_payer_subscriptions_connection_id_payer_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payer_subscriptions")),
        sa.UniqueConstraint("connection_id", name=op.f("uq_payer_subscriptions_connection_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_payer_subscriptions_reference")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("payer_subscriptions")
    with op.batch_alter_table("submission_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_attempts_org_reference")
        batch_op.drop_index("ix_submission_attempts_org_authorization")
    op.drop_table("submission_attempts")
    op.drop_table("payer_connections")
