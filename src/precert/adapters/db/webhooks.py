"""SQL store of webhook endpoints, and the ledger read that feeds them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from precert.adapters.db import tables as t
from precert.adapters.db.webhook_tables import webhook_endpoints as w
from precert.domain.webhooks import LedgerEvent, WebhookEndpoint


def _endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        organization_id=row.organization_id,
        url=row.url,
        secret=row.secret,
        event_types=tuple(row.event_types),
        delivered_through=row.delivered_through,
        failures=row.failures,
        retry_at=row.retry_at,
        last_error=row.last_error,
    )


class SqlWebhooks:
    """Endpoints and cursors."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, endpoint: WebhookEndpoint, at: datetime) -> None:
        """Register an endpoint."""
        self._db.execute(
            insert(w).values(
                id=endpoint.id,
                organization_id=endpoint.organization_id,
                url=endpoint.url,
                secret=endpoint.secret,
                event_types=list(endpoint.event_types),
                created_at=at,
                delivered_through=endpoint.delivered_through,
                failures=0,
            )
        )

    def latest_event_id(self) -> int:
        """The newest event id in the ledger (0 when empty): new endpoints start after it."""
        return int(self._db.execute(select(func.coalesce(func.max(t.events.c.id), 0))).scalar_one())

    def due(self, now: datetime) -> Sequence[WebhookEndpoint]:
        """Active endpoints not waiting for a retry."""
        rows = self._db.execute(
            select(w).where(
                w.c.disabled_at.is_(None), or_(w.c.retry_at.is_(None), w.c.retry_at <= now)
            )
        )
        return [_endpoint(r) for r in rows]

    def of_organization(self, organization_id: str) -> Sequence[WebhookEndpoint]:
        """The organization's endpoints."""
        rows = self._db.execute(select(w).where(w.c.organization_id == organization_id))
        return [_endpoint(r) for r in rows]

    def events_after(self, endpoint: WebhookEndpoint, limit: int) -> Sequence[LedgerEvent]:
        """The endpoint's next events, oldest first."""
        e = t.events.c
        rows = self._db.execute(
            select(e.id, e.authorization_id, e.type, e.occurred_at, e.payload)
            .where(
                e.organization_id == endpoint.organization_id,
                e.id > endpoint.delivered_through,
                e.type.in_(endpoint.event_types),
            )
            .order_by(e.id)
            .limit(limit)
        )
        return [
            LedgerEvent(r.id, r.authorization_id, r.type, r.occurred_at, dict(r.payload))
            for r in rows
        ]

    def delivered(self, endpoint_id: str, through: int) -> None:
        """Advance the cursor and clear failures."""
        self._db.execute(
            update(w)
            .where(w.c.id == endpoint_id)
            .values(delivered_through=through, failures=0, retry_at=None, last_error=None)
        )

    def failed(self, endpoint_id: str, failures: int, retry_at: datetime, error: str) -> None:
        """Record a failed attempt and when to try again."""
        self._db.execute(
            update(w)
            .where(w.c.id == endpoint_id)
            .values(failures=failures, retry_at=retry_at, last_error=error[:2000])
        )
