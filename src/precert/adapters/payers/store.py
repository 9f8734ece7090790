"""SQL store of payer connections, submission attempts and subscriptions, and its unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from sqlalchemy import Connection, delete, insert, or_, select, update

from precert.adapters.db import payer_tables as t
from precert.adapters.db.unit_of_work import SqlUnitOfWork
from precert.ports import (
    PayerAuth,
    PayerConnection,
    PayerFormat,
    PayerSubscription,
    SubmissionAttempt,
)


def _connection(row: Any) -> PayerConnection:
    return PayerConnection(
        id=row.id,
        organization_id=row.organization_id,
        payer_id=row.payer_id,
        format=PayerFormat(row.format),
        endpoint=row.endpoint,
        auth=PayerAuth(**row.auth),
        organization_identifier=row.organization_identifier,
        timeout_seconds=row.timeout_seconds,
        max_attempts=row.max_attempts,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _subscription(row: Any) -> PayerSubscription:
    return PayerSubscription(
        id=row.id,
        organization_id=row.organization_id,
        connection_id=row.connection_id,
        reference=row.reference,
        secret_hash=row.secret_hash,
        created_at=row.created_at,
        last_notification_at=row.last_notification_at,
        notifications=row.notifications,
    )


class SqlPayerStore:
    """``PayerStore`` on one open connection (the unit of work's transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def connection(self, organization_id: str, payer_id: str) -> PayerConnection | None:
        """The organization's connection to ``payer_id``, if configured."""
        row = self._db.execute(
            select(t.payer_connections).where(
                t.payer_connections.c.organization_id == organization_id,
                t.payer_connections.c.payer_id == payer_id,
            )
        ).one_or_none()
        return _connection(row) if row else None

    def connections(self, organization_id: str) -> Sequence[PayerConnection]:
        """All of the organization's connections, by payer id."""
        rows = self._db.execute(
            select(t.payer_connections)
            .where(t.payer_connections.c.organization_id == organization_id)
            .order_by(t.payer_connections.c.payer_id)
        )
        return [_connection(r) for r in rows]

    def save_connection(self, connection: PayerConnection) -> None:
        """Insert or replace a connection (one per organization and payer)."""
        values = {
            "id": connection.id,
            "organization_id": connection.organization_id,
            "payer_id": connection.payer_id,
            "format": connection.format.value,
            "endpoint": connection.endpoint,
            "auth": {
                k: v
                for k, v in vars(connection.auth).items()
                if v is not None  # keep the stored document small and free of nulls
            },
            "organization_identifier": connection.organization_identifier,
            "timeout_seconds": connection.timeout_seconds,
            "max_attempts": connection.max_attempts,
            "created_at": connection.created_at,
            "updated_at": connection.updated_at,
        }
        result = self._db.execute(
            update(t.payer_connections)
            .where(t.payer_connections.c.id == connection.id)
            .values(**values)
        )
        if result.rowcount == 0:
            self._db.execute(insert(t.payer_connections).values(**values))

    def delete_connection(self, organization_id: str, payer_id: str) -> bool:
        """Remove a connection and its subscription; False when there was none."""
        found = self.connection(organization_id, payer_id)
        if found is None:
            return False
        self._db.execute(
            delete(t.payer_subscriptions).where(t.payer_subscriptions.c.connection_id == found.id)
        )
        self._db.execute(delete(t.payer_connections).where(t.payer_connections.c.id == found.id))
        return True

    def record_attempt(self, attempt: SubmissionAttempt) -> None:
        """Append one attempt."""
        self._db.execute(insert(t.submission_attempts).values(**vars(attempt)))

    def attempts(self, organization_id: str, authorization_id: str) -> Sequence[SubmissionAttempt]:
        """The authorization's attempts, oldest first."""
        c = t.submission_attempts.c
        rows = self._db.execute(
            select(t.submission_attempts)
            .where(c.organization_id == organization_id, c.authorization_id == authorization_id)
            .order_by(c.id)
        )
        return [
            SubmissionAttempt(**{k: v for k, v in r._mapping.items() if k != "id"}) for r in rows
        ]

    def subscription(self, organization_id: str, connection_id: str) -> PayerSubscription | None:
        """The subscription held for a connection, if any."""
        row = self._db.execute(
            select(t.payer_subscriptions).where(
                t.payer_subscriptions.c.organization_id == organization_id,
                t.payer_subscriptions.c.connection_id == connection_id,
            )
        ).one_or_none()
        return _subscription(row) if row else None

    def subscription_by_reference(self, reference: str) -> PayerSubscription | None:
        """The subscription a notification names: its full reference, or ``Subscription/id``."""
        c = t.payer_subscriptions.c
        rows = self._db.execute(
            select(t.payer_subscriptions).where(
                or_(c.reference == reference, c.reference.endswith("/" + reference))
            )
        ).all()
        # A relative reference could match several payers' subscriptions: then it names none.
        return _subscription(rows[0]) if len(rows) == 1 else None

    def save_subscription(self, subscription: PayerSubscription) -> None:
        """Insert or replace the connection's subscription."""
        values = vars(subscription).copy()
        self._db.execute(
            delete(t.payer_subscriptions).where(
                t.payer_subscriptions.c.connection_id == subscription.connection_id,
                t.payer_subscriptions.c.id != subscription.id,
            )
        )
        result = self._db.execute(
            update(t.payer_subscriptions)
            .where(t.payer_subscriptions.c.id == subscription.id)
            .values(**values)
        )
        if result.rowcount == 0:
            self._db.execute(insert(t.payer_subscriptions).values(**values))

    def authorization_for_reference(self, organization_id: str, reference: str) -> str | None:
        """The authorization a payer reference (or our own Claim identifier) names, if any."""
        c = t.submission_attempts.c
        row = self._db.execute(
            select(c.authorization_id)
            .where(
                c.organization_id == organization_id,
                or_(c.payer_reference == reference, c.authorization_id == reference),
            )
            .order_by(c.id.desc())
            .limit(1)
        ).one_or_none()
        return row.authorization_id if row else None


class SqlPayerUnitOfWork(SqlUnitOfWork):
    """precert's unit of work plus the payer store, on the same transaction."""

    payers: SqlPayerStore

    def __enter__(self) -> Self:
        super().__enter__()
        self.payers = SqlPayerStore(self.connection)
        return self
