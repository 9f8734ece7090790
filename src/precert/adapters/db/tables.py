"""Table definitions. Alembic migrations are the source of truth for the schema;
these mirror them for queries (tests check the two agree)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC instants on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Document: Any = JSON().with_variant(JSONB(), "postgresql")

# BIGINT autoincrement does not work on SQLite; INTEGER PRIMARY KEY is its rowid.
RowId: Any = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("organization_id", String(36), ForeignKey("organizations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

payers = Table(
    "payers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("x12_payer_id", String(80), nullable=False),
    Column("lines_of_business", Document, nullable=False),
)

authorizations = Table(
    "authorizations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(36), ForeignKey("organizations.id"), nullable=False),
    Column("status", String(32), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("payer_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("first_service_date", Date, nullable=False),
    Column("last_service_date", Date, nullable=False),
    Column("total_amount", Numeric(14, 2), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime),
    Column("decided_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("last_event_hash", String(64), nullable=False),
    Column("document", Document, nullable=False),
    Index("ix_authorizations_org_created", "organization_id", "created_at", "id"),
    Index("ix_authorizations_org_status", "organization_id", "status"),
    Index("ix_authorizations_org_payer", "organization_id", "payer_id"),
    Index("ix_authorizations_org_service", "organization_id", "first_service_date"),
)

events = Table(
    "events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("authorization_id", String(36), ForeignKey("authorizations.id"), nullable=False),
    Column("organization_id", String(36), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("actor_id", String(100), nullable=False),
    Column("actor_role", String(20), nullable=False),
    Column("payload", Document, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("authorization_id", "sequence"),
    Index("ix_events_org_type_at", "organization_id", "type", "occurred_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("organization_id", String(36), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("authorization_id", String(36), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("organization_id", String(36), nullable=False),
    Column("actor_id", String(100), nullable=False),
    Column("actor_role", String(20), nullable=False),
    Column("action", String(10), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("subject_type", String(40), nullable=False),
    Column("subject_id", String(100), nullable=False),
    Column("detail", Document, nullable=False),
    Index("ix_audit_log_org_subject", "organization_id", "subject_id"),
    Index("ix_audit_log_org_at", "organization_id", "at"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(36), ForeignKey("organizations.id"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime),
    UniqueConstraint("organization_id", "email"),
)

user_sessions = Table(
    "user_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("organization_id", String(36), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Index("ix_user_sessions_user", "user_id"),
)

patient_links = Table(
    "patient_links",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("organization_id", String(36), nullable=False),
    Column("authorization_id", String(36), ForeignKey("authorizations.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_patient_links_org_authorization", "organization_id", "authorization_id"),
)

# Analytics (migrations 0003, 0008): per-request facts, and the sums of their contributions
# per (month, payer, category, urgency, line of business, drug) that the dashboard and the
# CMS-0057-F report read instead of scanning events.
analytics_facts = Table(
    "analytics_facts",
    metadata,
    Column("authorization_id", String(36), primary_key=True),
    Column("organization_id", String(36), nullable=False),
    Column("payer_id", String(64), nullable=False),
    Column("category", String(32), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("line_of_business", String(32), nullable=False),
    Column("drug", Boolean, nullable=False),
    Column("cohort_month", Date),
    Column("decision_due_at", UtcDateTime),
    Column("document", Document, nullable=False),
    Index("ix_analytics_facts_org_due", "organization_id", "decision_due_at"),
)


def _rollup_key(last: Column[Any]) -> list[Column[Any]]:
    # Key order (measure, label, value/detail first, dimensions last) lets both backends
    # aggregate a measure's rows in index order, without sorting them.
    return [
        Column("organization_id", String(36), primary_key=True),
        Column("measure", String(32), primary_key=True),
        Column("label", String(64), primary_key=True),
        last,
        Column("month", Date, primary_key=True),
        Column("payer_id", String(64), primary_key=True),
        Column("category", String(32), primary_key=True),
        Column("urgency", String(16), primary_key=True),
        Column("line_of_business", String(32), primary_key=True),
        Column("drug", Boolean, primary_key=True),
    ]


analytics_counts = Table(
    "analytics_counts",
    metadata,
    *_rollup_key(Column("detail", String(200), primary_key=True)),
    Column("value", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

analytics_observations = Table(
    "analytics_observations",
    metadata,
    *_rollup_key(Column("value", Integer, primary_key=True)),
    Column("count", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

__all__ = [
    "analytics_counts",
    "analytics_facts",
    "analytics_observations",
    "api_keys",
    "audit_log",
    "authorizations",
    "events",
    "idempotency_keys",
    "metadata",
    "organizations",
    "patient_links",
    "payers",
    "user_sessions",
    "users",
]
