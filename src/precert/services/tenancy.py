"""Organizations and API keys: create tenants, issue keys, authenticate callers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from precert.domain.access import check_issuable
from precert.domain.authorization import Actor, Role
from precert.domain.errors import NotFound
from precert.domain.tenancy import Organization, mint_api_key, secret_matches, split_token
from precert.ports import Clock, UnitOfWork


def ensure_organization(uow: UnitOfWork, slug: str, name: str) -> Organization:
    """The organization with ``slug``, created if it does not exist yet."""
    found = uow.directory.organization_by_slug(slug)
    if found is not None:
        return found
    organization = Organization(id=str(uuid.uuid4()), slug=slug, name=name)
    uow.directory.add_organization(organization)
    uow.commit()
    return organization


def issue_api_key(
    uow: UnitOfWork, *, organization_slug: str, role: Role, name: str, clock: Clock
) -> str:
    """Mint a key for the organization; returns the token, which is never stored."""
    check_issuable(role)
    organization = uow.directory.organization_by_slug(organization_slug)
    if organization is None:
        raise NotFound(f"no organization with slug {organization_slug!r}")
    issued = mint_api_key(organization_id=organization.id, name=name, role=role, at=clock.now())
    uow.directory.add_api_key(issued.record)
    uow.commit()
    return issued.token


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the organization it belongs to and the actor it acts as."""

    organization_id: str
    actor: Actor


def authenticate(uow: UnitOfWork, token: str) -> Principal | None:
    """The principal a bearer token stands for, or None for unknown, wrong or revoked keys."""
    parts = split_token(token)
    if parts is None:
        return None
    key_id, secret = parts
    record = uow.directory.api_key(key_id)
    if record is None or record.revoked_at is not None or not secret_matches(record, secret):
        return None
    return Principal(record.organization_id, Actor(id=f"apikey:{record.id}", role=record.role))
