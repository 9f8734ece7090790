"""Webhook endpoints and their delivery cursor over the event ledger (migration 0006)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, Text

from precert.adapters.db.tables import Document, UtcDateTime, metadata

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(36), ForeignKey("organizations.id"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("secret", String(100), nullable=False),
    Column("event_types", Document, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime),
    # The ledger is the outbox: deliver events with id > delivered_through, in order.
    Column("delivered_through", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("retry_at", UtcDateTime),
    Column("last_error", Text),
)
