"""SQL implementations of the repository protocols (SQLAlchemy Core, both backends)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from precert.adapters.db import tables as t
from precert.analytics.queries import record_history
from precert.domain.appeals import AppealLevel
from precert.domain.authorization import AuthorizationRequest, DomainEvent, LineOfBusiness, Role
from precert.domain.errors import DomainError, NotFound
from precert.domain.ledger import GENESIS, LedgerEntry, event_hash
from precert.domain.tenancy import ApiKey, AuditEntry, Organization, Payer
from precert.ports import AuthorizationPage, AuthorizationQuery, ConcurrentUpdate


class DuplicateKey(DomainError):
    """A concurrent request stored the same idempotency key first."""


def _summary_columns(request: AuthorizationRequest) -> dict[str, Any]:
    return {
        "status": request.status.value,
        "urgency": request.urgency.value,
        "category": request.category.value,
        "payer_id": request.coverage.payer_id,
        "patient_id": request.patient.id,
        "first_service_date": request.first_service_date,
        "last_service_date": request.last_service_date,
        "total_amount": request.total_amount,
        "updated_at": request.updated_at,
        "submitted_at": request.submitted_at,
        "decided_at": request.decided_at,
        "document": request.model_dump(mode="json"),
    }


class SqlAuthorizationRepository:
    """Aggregates as a JSON document plus indexed summary columns; events hash-chained."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, request: AuthorizationRequest) -> None:
        """Insert a new request and append its pending events."""
        self.import_request(request, request.drain_events())

    def import_request(self, request: AuthorizationRequest, history: Sequence[DomainEvent]) -> None:
        """Insert a request together with a history recorded elsewhere (demo data, migration)."""
        request.version = 1
        count, last_hash, event_rows = self._chain_events(request, 0, GENESIS, history)
        row = _summary_columns(request)
        self._db.execute(
            insert(t.authorizations).values(
                id=request.id,
                organization_id=request.organization_id,
                created_at=request.created_at,
                version=request.version,
                event_count=count,
                last_event_hash=last_hash,
                **row,
            )
        )
        self._insert_events(event_rows)

    def save(self, request: AuthorizationRequest) -> None:
        """Update a loaded request, guarded by its version, and append its pending events."""
        current = self._db.execute(
            select(t.authorizations.c.event_count, t.authorizations.c.last_event_hash).where(
                t.authorizations.c.id == request.id,
                t.authorizations.c.organization_id == request.organization_id,
            )
        ).one_or_none()
        if current is None:
            raise NotFound(f"authorization {request.id} not found")
        loaded_version = request.version
        request.version = loaded_version + 1
        count, last_hash, event_rows = self._chain_events(
            request, current.event_count, current.last_event_hash, request.drain_events()
        )
        result = self._db.execute(
            update(t.authorizations)
            .where(
                t.authorizations.c.id == request.id,
                t.authorizations.c.version == loaded_version,
            )
            .values(
                version=request.version,
                event_count=count,
                last_event_hash=last_hash,
                **_summary_columns(request),
            )
        )
        if result.rowcount != 1:
            request.version = loaded_version
            raise ConcurrentUpdate(
                f"authorization {request.id} was changed by someone else (version "
                f"{loaded_version} is stale); reload it and try again"
            )
        self._insert_events(event_rows)

    def get(self, organization_id: str, authorization_id: str) -> AuthorizationRequest:
        """Load a request; another organization's id is simply not found."""
        row = self._db.execute(
            select(t.authorizations.c.document, t.authorizations.c.version).where(
                t.authorizations.c.id == authorization_id,
                t.authorizations.c.organization_id == organization_id,
            )
        ).one_or_none()
        if row is None:
            raise NotFound(f"authorization {authorization_id} not found")
        request = AuthorizationRequest.model_validate(row.document)
        request.version = row.version
        return request

    def list(self, organization_id: str, query: AuthorizationQuery) -> AuthorizationPage:
        """Newest first, keyset-paginated on (created_at, id)."""
        a = t.authorizations.c
        conditions = [a.organization_id == organization_id]
        if query.statuses:
            conditions.append(a.status.in_([s.value for s in query.statuses]))
        if query.payer_id:
            conditions.append(a.payer_id == query.payer_id)
        if query.patient_id:
            conditions.append(a.patient_id == query.patient_id)
        if query.category:
            conditions.append(a.category == query.category.value)
        if query.service_from:
            conditions.append(a.last_service_date >= query.service_from)
        if query.service_to:
            conditions.append(a.first_service_date <= query.service_to)
        if query.after:
            created, last_id = query.after
            conditions.append(
                or_(a.created_at < created, and_(a.created_at == created, a.id < last_id))
            )
        rows = self._db.execute(
            select(a.document, a.version, a.created_at, a.id)
            .where(*conditions)
            .order_by(a.created_at.desc(), a.id.desc())
            .limit(query.limit + 1)
        ).all()
        items = []
        for row in rows[: query.limit]:
            request = AuthorizationRequest.model_validate(row.document)
            request.version = row.version
            items.append(request)
        next_after = (
            (rows[query.limit - 1].created_at, rows[query.limit - 1].id)
            if len(rows) > query.limit
            else None
        )
        return AuthorizationPage(items=items, next_after=next_after)

    def history(self, organization_id: str, authorization_id: str) -> Sequence[LedgerEntry]:
        """The request's events in sequence order."""
        e = t.events.c
        rows = self._db.execute(
            select(t.events)
            .where(e.authorization_id == authorization_id, e.organization_id == organization_id)
            .order_by(e.sequence)
        ).all()
        if not rows:
            exists = self._db.execute(
                select(t.authorizations.c.id).where(
                    t.authorizations.c.id == authorization_id,
                    t.authorizations.c.organization_id == organization_id,
                )
            ).first()
            if exists is None:
                raise NotFound(f"authorization {authorization_id} not found")
        return [ledger_entry(row._mapping) for row in rows]

    def appeal_outcomes(self, organization_id: str) -> builtins.list[tuple[AppealLevel, bool]]:
        """Every decided appeal of the organization: (level, overturned)."""
        e = t.events.c
        rows = self._db.execute(
            select(e.payload).where(
                e.organization_id == organization_id,
                e.type.in_(("authorization.approved", "authorization.denied")),
            )
        )
        return [
            (AppealLevel(p["level"]), bool(p["overturned"]))
            for (p,) in rows
            if "overturned" in p and "level" in p
        ]

    # --- events -------------------------------------------------------------------

    def _chain_events(
        self,
        request: AuthorizationRequest,
        count: int,
        last_hash: str,
        history: Sequence[DomainEvent],
    ) -> tuple[int, str, builtins.list[dict[str, Any]]]:
        # Analytics facts and rollups change in the same transaction as the events they fold.
        record_history(self._db, request, history)
        rows: builtins.list[dict[str, Any]] = []
        for event in history:
            count += 1
            digest = event_hash(
                last_hash,
                authorization_id=request.id,
                sequence=count,
                type=event.type,
                at=event.at,
                actor_id=event.actor.id,
                actor_role=event.actor.role.value,
                payload=event.payload,
            )
            rows.append(
                {
                    "authorization_id": request.id,
                    "organization_id": request.organization_id,
                    "sequence": count,
                    "type": event.type,
                    "occurred_at": event.at,
                    "actor_id": event.actor.id,
                    "actor_role": event.actor.role.value,
                    "payload": event.payload,
                    "previous_hash": last_hash,
                    "hash": digest,
                }
            )
            last_hash = digest
        return count, last_hash, rows

    def _insert_events(self, rows: Sequence[dict[str, Any]]) -> None:
        # Events go in after the aggregate row so the foreign key holds on insert.
        if rows:
            self._db.execute(insert(t.events), rows)


class SqlLedger:
    """Reads the whole event ledger for verification, streamed in chain order."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def chains(self) -> Iterator[tuple[str, int, str, builtins.list[LedgerEntry]]]:
        """Per authorization: its id, the anchor (event count, last hash) stored on the request
        row, and its events in order. Streams, so a million events do not fill memory."""
        a = t.authorizations.c
        anchors = self._db.execute(
            select(a.id, a.event_count, a.last_event_hash).order_by(a.id)
        ).yield_per(1000)
        events = self._db.execution_options(yield_per=5000).execute(
            select(t.events).order_by(t.events.c.authorization_id, t.events.c.sequence)
        )
        pending = next(events, None)
        for anchor in anchors:
            chain: builtins.list[LedgerEntry] = []
            # Events of ids sorting before this anchor have no request row: report them too.
            while pending is not None and pending.authorization_id < anchor.id:
                yield pending.authorization_id, 0, "", [ledger_entry(pending._mapping)]
                pending = next(events, None)
            while pending is not None and pending.authorization_id == anchor.id:
                chain.append(ledger_entry(pending._mapping))
                pending = next(events, None)
            yield anchor.id, anchor.event_count, anchor.last_event_hash, chain
        while pending is not None:
            yield pending.authorization_id, 0, "", [ledger_entry(pending._mapping)]
            pending = next(events, None)


def ledger_entry(row: Any) -> LedgerEntry:
    """A stored event row as a ledger entry."""
    return LedgerEntry(
        authorization_id=row["authorization_id"],
        sequence=row["sequence"],
        type=row["type"],
        at=row["occurred_at"],
        actor_id=row["actor_id"],
        actor_role=row["actor_role"],
        payload=row["payload"],
        previous_hash=row["previous_hash"],
        hash=row["hash"],
        row_id=row["id"],
    )


class SqlIdempotencyKeys:
    """Idempotency keys per organization."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def find(self, organization_id: str, key: str) -> tuple[str, str] | None:
        """The stored fingerprint and authorization id for the key, if any."""
        row = self._db.execute(
            select(t.idempotency_keys.c.fingerprint, t.idempotency_keys.c.authorization_id).where(
                t.idempotency_keys.c.organization_id == organization_id,
                t.idempotency_keys.c.key == key,
            )
        ).one_or_none()
        return (row.fingerprint, row.authorization_id) if row else None

    def remember(
        self,
        organization_id: str,
        key: str,
        fingerprint: str,
        authorization_id: str,
        at: datetime,
    ) -> None:
        """Store the key; a concurrent duplicate raises DuplicateKey."""
        try:
            with self._db.begin_nested():
                self._db.execute(
                    insert(t.idempotency_keys).values(
                        organization_id=organization_id,
                        key=key,
                        fingerprint=fingerprint,
                        authorization_id=authorization_id,
                        created_at=at,
                    )
                )
        except IntegrityError as exc:
            raise DuplicateKey(f"idempotency key {key!r} is already in use") from exc


class SqlAuditTrail:
    """The audit log table."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def record(self, entry: AuditEntry) -> None:
        """Append one entry."""
        self._db.execute(
            insert(t.audit_log).values(
                at=entry.at,
                organization_id=entry.organization_id,
                actor_id=entry.actor_id,
                actor_role=entry.actor_role.value,
                action=entry.action,
                channel=entry.channel,
                subject_type=entry.subject_type,
                subject_id=entry.subject_id,
                detail=entry.detail,
            )
        )

    def entries(
        self, organization_id: str, *, subject_id: str | None = None, limit: int = 100
    ) -> Sequence[AuditEntry]:
        """Most recent first."""
        c = t.audit_log.c
        conditions = [c.organization_id == organization_id]
        if subject_id:
            conditions.append(c.subject_id == subject_id)
        rows = self._db.execute(
            select(t.audit_log).where(*conditions).order_by(c.id.desc()).limit(limit)
        ).all()
        return [
            AuditEntry(
                at=r.at,
                organization_id=r.organization_id,
                actor_id=r.actor_id,
                actor_role=Role(r.actor_role),
                action=r.action,
                channel=r.channel,
                subject_type=r.subject_type,
                subject_id=r.subject_id,
                detail=dict(r.detail),
            )
            for r in rows
        ]


class SqlDirectory:
    """Organizations, API keys and payers."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def organization_by_slug(self, slug: str) -> Organization | None:
        """The organization with this slug, if any."""
        row = self._db.execute(
            select(t.organizations).where(t.organizations.c.slug == slug)
        ).one_or_none()
        if row is None:
            return None
        return Organization(id=row.id, slug=row.slug, name=row.name, timezone=row.timezone)

    def add_organization(self, organization: Organization, at: datetime | None = None) -> None:
        """Create a tenant."""
        self._db.execute(
            insert(t.organizations).values(
                id=organization.id,
                slug=organization.slug,
                name=organization.name,
                timezone=organization.timezone,
                created_at=at or datetime.now().astimezone(),
            )
        )

    def api_key(self, key_id: str) -> ApiKey | None:
        """The stored key with this id, if any."""
        row = self._db.execute(select(t.api_keys).where(t.api_keys.c.id == key_id)).one_or_none()
        if row is None:
            return None
        return ApiKey(
            id=row.id,
            organization_id=row.organization_id,
            name=row.name,
            role=Role(row.role),
            secret_hash=row.secret_hash,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )

    def add_api_key(self, key: ApiKey) -> None:
        """Store a newly minted key (its hash only)."""
        self._db.execute(
            insert(t.api_keys).values(
                id=key.id,
                organization_id=key.organization_id,
                name=key.name,
                role=key.role.value,
                secret_hash=key.secret_hash,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
            )
        )

    def payer(self, payer_id: str) -> Payer | None:
        """The payer with this id, if known."""
        row = self._db.execute(select(t.payers).where(t.payers.c.id == payer_id)).one_or_none()
        return _payer(row) if row else None

    def payers(self) -> Sequence[Payer]:
        """All known payers, by name."""
        return [_payer(r) for r in self._db.execute(select(t.payers).order_by(t.payers.c.name))]

    def upsert_payer(self, payer: Payer) -> None:
        """Add or update a payer."""
        values = {
            "name": payer.name,
            "phone": payer.phone,
            "x12_payer_id": payer.x12_payer_id,
            "lines_of_business": [lob.value for lob in payer.lines_of_business],
        }
        result = self._db.execute(
            update(t.payers).where(t.payers.c.id == payer.id).values(**values)
        )
        if result.rowcount == 0:
            self._db.execute(insert(t.payers).values(id=payer.id, **values))


def _payer(row: Any) -> Payer:
    return Payer(
        id=row.id,
        name=row.name,
        phone=row.phone,
        x12_payer_id=row.x12_payer_id,
        lines_of_business=tuple(LineOfBusiness(v) for v in row.lines_of_business),
    )
