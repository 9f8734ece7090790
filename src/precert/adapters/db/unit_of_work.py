"""The SQL unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from precert.adapters.db.documentation import SqlDocumentation
from precert.adapters.db.repository import (
    SqlAuditTrail,
    SqlAuthorizationRepository,
    SqlDirectory,
    SqlIdempotencyKeys,
)
from precert.adapters.db.webhooks import SqlWebhooks
from precert.adapters.db.workflow import SqlReviewQueue, SqlTaskRepository


class SqlUnitOfWork:
    """Opens a transaction on enter; commits only when told, rolls back otherwise."""

    authorizations: SqlAuthorizationRepository
    idempotency: SqlIdempotencyKeys
    audit: SqlAuditTrail
    directory: SqlDirectory
    tasks: SqlTaskRepository
    review: SqlReviewQueue
    webhooks: SqlWebhooks
    documentation: SqlDocumentation

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        self._connection = self._engine.connect()
        self._connection.begin()
        self.authorizations = SqlAuthorizationRepository(self._connection)
        self.idempotency = SqlIdempotencyKeys(self._connection)
        self.audit = SqlAuditTrail(self._connection)
        self.directory = SqlDirectory(self._connection)
        self.tasks = SqlTaskRepository(self._connection)
        self.review = SqlReviewQueue(self._connection)
        self.webhooks = SqlWebhooks(self._connection)
        self.documentation = SqlDocumentation(self._connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._connection is not None
        try:
            if self._connection.in_transaction():
                self._connection.rollback()
        finally:
            self._connection.close()
            self._connection = None

    def commit(self) -> None:
        """Commit and start a fresh transaction for any further work in this unit."""
        assert self._connection is not None
        self._connection.commit()
        self._connection.begin()

    def rollback(self) -> None:
        """Discard uncommitted work and start a fresh transaction."""
        assert self._connection is not None
        self._connection.rollback()
        self._connection.begin()

    @property
    def connection(self) -> Connection:
        """The open connection, for adapters that need raw SQL (analytics, audit verify)."""
        assert self._connection is not None
        return self._connection
