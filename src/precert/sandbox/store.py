"""The sandbox payer's own store: a separate SQLite file with its own small tables.

It is a simulator's memory, not precert's: claims as received with the answers given,
every receipt of every submission (so tests can check that retries created nothing),
subscriptions, and the notifications delivered or dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    update,
)

from precert.adapters.db.engine import make_engine

metadata = MetaData()

claims = Table(
    "sandbox_claims",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("claim_identifier", String(200), index=True),
    Column("member_id", String(80)),
    Column("scenario", String(60), nullable=False),
    Column("format", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("decide_at", DateTime),
    Column("request", JSON, nullable=False),
    Column("response", JSON, nullable=False),
    Column("current", JSON, nullable=False),
    Column("later", JSON, nullable=False),
    Column("provider_identifiers", JSON, nullable=False),
)

receipts = Table(
    "sandbox_receipts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, index=True),
    Column("operation", String(16), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("status", Integer, nullable=False),
    Column("fault", String(40), nullable=False),
)

subscriptions = Table(
    "sandbox_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("reference", String(500), nullable=False),
    Column("endpoint", String(500), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("org_identifier", String(80), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("events", Integer, nullable=False),
)

notifications = Table(
    "sandbox_notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(40), nullable=False),
    Column("claim_key", String(200), nullable=False),
    Column("event_number", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("delivered", Boolean, nullable=False),
)


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class StoredClaim:
    """One claim as the sandbox holds it."""

    key: str
    claim_identifier: str | None
    member_id: str | None
    scenario: str
    format: str
    status: str
    received_at: datetime
    decide_at: datetime | None
    request: dict[str, Any]
    response: Any
    current: Any
    later: dict[str, Any]
    provider_identifiers: list[str]


@dataclass(frozen=True)
class StoredSubscription:
    """A rest-hook subscription a client created."""

    id: str
    reference: str
    endpoint: str
    headers: dict[str, str]
    org_identifier: str
    events: int


def _claim(row: Any) -> StoredClaim:
    values = dict(row._mapping)
    values["received_at"] = values["received_at"].replace(tzinfo=UTC)
    if values["decide_at"] is not None:
        values["decide_at"] = values["decide_at"].replace(tzinfo=UTC)
    return StoredClaim(**values)


class SandboxStore:
    """Reads and writes the sandbox's tables; safe to share between threads."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = make_engine(url)
        metadata.create_all(self.engine)
        # The server's threads take turns writing here rather than meeting SQLite's busy
        # handler, whose back-off sleeps (up to 100 ms each) made the latency tail.
        self._writing = threading.Lock()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def receipts_so_far(self, key: str) -> int:
        """How many receipts of ``key`` are recorded (a read: no commit)."""
        with self.engine.connect() as db:
            return int(db.execute(select(func.count()).where(receipts.c.key == key)).scalar_one())

    def record(
        self,
        key: str,
        operation: str,
        at: datetime,
        status: int,
        fault: str,
        claim: StoredClaim | None = None,
    ) -> StoredClaim | None:
        """One receipt, answered with ``status``/``fault``, and a new claim, in one transaction.

        Returns the claim now held under ``claim.key``: ``claim``, or the one a concurrent
        receipt stored first. One commit per receipt keeps the payer fast under load: its
        file is synchronous=FULL like precert's, so every commit is an fsync.
        """
        with self._writing, self.engine.begin() as db:
            db.execute(
                insert(receipts).values(
                    key=key, operation=operation, at=_naive(at), status=status, fault=fault
                )
            )
            if claim is None:
                return None
            row = db.execute(select(claims).where(claims.c.key == claim.key)).one_or_none()
            if row is not None:
                return _claim(row)
            values = {**vars(claim), "received_at": _naive(claim.received_at)}
            if claim.decide_at is not None:
                values["decide_at"] = _naive(claim.decide_at)
            db.execute(insert(claims).values(**values))
            return claim

    def claim(self, key: str) -> StoredClaim | None:
        """The claim stored under an idempotency key."""
        with self.engine.connect() as db:
            row = db.execute(select(claims).where(claims.c.key == key)).one_or_none()
        return _claim(row) if row else None

    def claims_named(self, identifier: str) -> list[StoredClaim]:
        """Claims whose Claim.identifier is ``identifier``, newest first."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(claims)
                .where(claims.c.claim_identifier == identifier)
                .order_by(claims.c.received_at.desc())
            )
            return [_claim(r) for r in rows]

    def set_status(self, key: str, status: str, current: Any | None = None) -> None:
        """Move a claim to ``status``, with its latest answer when given."""
        values: dict[str, Any] = {"status": status}
        if current is not None:
            values["current"] = current
        with self._writing, self.engine.begin() as db:
            db.execute(update(claims).where(claims.c.key == key).values(**values))

    def due(self, now: datetime) -> list[StoredClaim]:
        """Pended claims whose later decision is due."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(claims).where(claims.c.status == "pended", claims.c.decide_at <= _naive(now))
            )
            return [_claim(r) for r in rows]

    def all_claims(self) -> list[StoredClaim]:
        """Every claim, oldest first."""
        with self.engine.connect() as db:
            return [_claim(r) for r in db.execute(select(claims).order_by(claims.c.received_at))]

    def receipts_of(self, key: str) -> list[tuple[str, int, str]]:
        """(operation, HTTP status, fault) of every receipt of ``key``, in order."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(receipts.c.operation, receipts.c.status, receipts.c.fault)
                .where(receipts.c.key == key)
                .order_by(receipts.c.id)
            )
            return [(r.operation, r.status, r.fault) for r in rows]

    def add_subscription(self, subscription: StoredSubscription, at: datetime) -> None:
        """Store a new subscription."""
        with self._writing, self.engine.begin() as db:
            db.execute(insert(subscriptions).values(**vars(subscription), created_at=_naive(at)))

    def subscriptions_for(self, identifiers: Sequence[str]) -> list[StoredSubscription]:
        """Subscriptions whose org-identifier filter names one of ``identifiers``."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(subscriptions).where(subscriptions.c.org_identifier.in_(list(identifiers)))
            )
            return [
                StoredSubscription(
                    r.id, r.reference, r.endpoint, dict(r.headers), r.org_identifier, r.events
                )
                for r in rows
            ]

    def next_event(self, subscription_id: str) -> int:
        """Reserve the subscription's next event number."""
        with self._writing, self.engine.begin() as db:
            db.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id)
                .values(events=subscriptions.c.events + 1)
            )
            return int(
                db.execute(
                    select(subscriptions.c.events).where(subscriptions.c.id == subscription_id)
                ).scalar_one()
            )

    def record_notification(
        self,
        subscription_id: str,
        claim_key: str,
        event_number: int,
        status: str,
        attempts: int,
        at: datetime,
    ) -> None:
        """Record a notification delivered, dropped or failed."""
        with self._writing, self.engine.begin() as db:
            db.execute(
                insert(notifications).values(
                    subscription_id=subscription_id,
                    claim_key=claim_key,
                    event_number=event_number,
                    status=status,
                    attempts=attempts,
                    at=_naive(at),
                    delivered=status == "delivered",
                )
            )

    def notifications_of(self, claim_key: str) -> list[tuple[str, int, str]]:
        """(subscription id, event number, status) of each notification about a claim."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(
                    notifications.c.subscription_id,
                    notifications.c.event_number,
                    notifications.c.status,
                )
                .where(notifications.c.claim_key == claim_key)
                .order_by(notifications.c.id)
            )
            return [(r.subscription_id, r.event_number, r.status) for r in rows]
