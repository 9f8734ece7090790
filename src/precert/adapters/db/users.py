"""SQL stores for the web UI: users, sessions, patient links, and the key and tenant lookups
the UI's screens need beyond the shared directory.

Every class works on the connection of an open unit of work
(``SqlUnitOfWork.connection``), so it commits or rolls back with everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from precert.adapters.db import tables as t
from precert.domain.authorization import Role
from precert.domain.errors import DomainError
from precert.domain.tenancy import ApiKey, Organization
from precert.domain.users import PatientLink, Session, User


class DuplicateEmail(DomainError):
    """Another user of the organization already has this email address."""


def _user(row: Any) -> User:
    return User(
        id=row.id,
        organization_id=row.organization_id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        password_hash=row.password_hash,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


class SqlUsers:
    """The organization's staff users."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, user: User) -> None:
        """Store a new user; raise DuplicateEmail when the email is taken in the organization."""
        exists = self.by_email(user.organization_id, user.email)
        if exists is not None:
            raise DuplicateEmail(f"a user with email {user.email!r} already exists")
        try:
            self._db.execute(
                insert(t.users).values(
                    id=user.id,
                    organization_id=user.organization_id,
                    email=user.email,
                    name=user.name,
                    role=user.role.value,
                    password_hash=user.password_hash,
                    created_at=user.created_at,
                    disabled_at=user.disabled_at,
                )
            )
        except IntegrityError as exc:
            # A concurrent create won the unique constraint; the caller's unit rolls back.
            raise DuplicateEmail(f"a user with email {user.email!r} already exists") from exc

    def by_email(self, organization_id: str, email: str) -> User | None:
        """The organization's user with this (normalized) email, if any."""
        row = self._db.execute(
            select(t.users).where(
                t.users.c.organization_id == organization_id, t.users.c.email == email
            )
        ).one_or_none()
        return _user(row) if row else None

    def get(self, organization_id: str, user_id: str) -> User | None:
        """The organization's user with this id, if any."""
        row = self._db.execute(
            select(t.users).where(
                t.users.c.organization_id == organization_id, t.users.c.id == user_id
            )
        ).one_or_none()
        return _user(row) if row else None

    def list(self, organization_id: str) -> Sequence[User]:
        """The organization's users by name."""
        rows = self._db.execute(
            select(t.users)
            .where(t.users.c.organization_id == organization_id)
            .order_by(t.users.c.name, t.users.c.email)
        )
        return [_user(r) for r in rows]

    def names(self, organization_id: str, user_ids: Iterable[str]) -> dict[str, str]:
        """Names of the given users of the organization, by id (unknown ids are left out)."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        rows = self._db.execute(
            select(t.users.c.id, t.users.c.name).where(
                t.users.c.organization_id == organization_id, t.users.c.id.in_(wanted)
            )
        )
        return {r.id: r.name for r in rows}

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace a user's password hash."""
        self._db.execute(
            update(t.users).where(t.users.c.id == user_id).values(password_hash=password_hash)
        )

    def disable(self, organization_id: str, user_id: str, at: datetime) -> bool:
        """Stop the user from signing in and end their sessions; False when not found."""
        result = self._db.execute(
            update(t.users)
            .where(
                t.users.c.organization_id == organization_id,
                t.users.c.id == user_id,
                t.users.c.disabled_at.is_(None),
            )
            .values(disabled_at=at)
        )
        self._db.execute(
            update(t.user_sessions)
            .where(t.user_sessions.c.user_id == user_id, t.user_sessions.c.ended_at.is_(None))
            .values(ended_at=at)
        )
        return result.rowcount == 1


class SqlSessions:
    """Signed-in sessions, by the hash of their token."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, session: Session) -> None:
        """Store a new session."""
        self._db.execute(
            insert(t.user_sessions).values(
                token_hash=session.token_hash,
                user_id=session.user_id,
                organization_id=session.organization_id,
                created_at=session.created_at,
                expires_at=session.expires_at,
                ended_at=session.ended_at,
            )
        )

    def find(self, token_hash: str) -> tuple[Session, User] | None:
        """The session with this token hash and its user, in one query."""
        s = t.user_sessions.c
        row = self._db.execute(
            select(
                s.token_hash,
                s.user_id,
                s.organization_id.label("session_organization_id"),
                s.created_at.label("session_created_at"),
                s.expires_at,
                s.ended_at,
                t.users,
            )
            .join(t.users, t.users.c.id == s.user_id)
            .where(s.token_hash == token_hash)
        ).one_or_none()
        if row is None:
            return None
        session = Session(
            token_hash=row.token_hash,
            user_id=row.user_id,
            organization_id=row.session_organization_id,
            created_at=row.session_created_at,
            expires_at=row.expires_at,
            ended_at=row.ended_at,
        )
        return session, _user(row)

    def end(self, token_hash: str, at: datetime) -> None:
        """Sign the session out."""
        self._db.execute(
            update(t.user_sessions)
            .where(t.user_sessions.c.token_hash == token_hash, t.user_sessions.c.ended_at.is_(None))
            .values(ended_at=at)
        )


def _link(row: Any) -> PatientLink:
    return PatientLink(
        id=row.id,
        organization_id=row.organization_id,
        authorization_id=row.authorization_id,
        token_hash=row.token_hash,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


class SqlPatientLinks:
    """Patients' status links, by the hash of their token."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, link: PatientLink) -> None:
        """Store a new link."""
        self._db.execute(
            insert(t.patient_links).values(
                id=link.id,
                organization_id=link.organization_id,
                authorization_id=link.authorization_id,
                token_hash=link.token_hash,
                created_by=link.created_by,
                created_at=link.created_at,
                expires_at=link.expires_at,
            )
        )

    def by_token_hash(self, token_hash: str) -> PatientLink | None:
        """The link whose token hashes to ``token_hash``, if any."""
        row = self._db.execute(
            select(t.patient_links).where(t.patient_links.c.token_hash == token_hash)
        ).one_or_none()
        return _link(row) if row else None

    def for_authorization(self, organization_id: str, authorization_id: str) -> list[PatientLink]:
        """The links made for one request, newest first."""
        rows = self._db.execute(
            select(t.patient_links)
            .where(
                t.patient_links.c.organization_id == organization_id,
                t.patient_links.c.authorization_id == authorization_id,
            )
            .order_by(t.patient_links.c.created_at.desc())
        )
        return [_link(r) for r in rows]

    def expire(self, organization_id: str, link_id: str, at: datetime) -> bool:
        """End a link now (a coordinator withdrew it); False when not found or already over."""
        result = self._db.execute(
            update(t.patient_links)
            .where(
                t.patient_links.c.organization_id == organization_id,
                t.patient_links.c.id == link_id,
                t.patient_links.c.expires_at > at,
            )
            .values(expires_at=at)
        )
        return result.rowcount == 1


class SqlOrganizations:
    """Tenant lookups by id (the shared directory finds them by slug)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def get(self, organization_id: str) -> Organization | None:
        """The organization with this id, if any."""
        row = self._db.execute(
            select(t.organizations).where(t.organizations.c.id == organization_id)
        ).one_or_none()
        if row is None:
            return None
        return Organization(id=row.id, slug=row.slug, name=row.name, timezone=row.timezone)


class SqlApiKeyAdmin:
    """Listing and revoking an organization's API keys (their secrets are never stored)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def list(self, organization_id: str) -> Sequence[ApiKey]:
        """The organization's keys, newest first, revoked ones included."""
        rows = self._db.execute(
            select(t.api_keys)
            .where(t.api_keys.c.organization_id == organization_id)
            .order_by(t.api_keys.c.created_at.desc(), t.api_keys.c.id)
        )
        return [
            ApiKey(
                id=r.id,
                organization_id=r.organization_id,
                name=r.name,
                role=Role(r.role),
                secret_hash=r.secret_hash,
                created_at=r.created_at,
                revoked_at=r.revoked_at,
            )
            for r in rows
        ]

    def revoke(self, organization_id: str, key_id: str, at: datetime) -> bool:
        """Revoke a key of the organization; False when not found or already revoked."""
        result = self._db.execute(
            update(t.api_keys)
            .where(
                t.api_keys.c.organization_id == organization_id,
                t.api_keys.c.id == key_id,
                t.api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
        return result.rowcount == 1
