"""Organizations (tenants), API keys, payers and the audit trail's entries."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from precert.domain.authorization import LineOfBusiness, Role

API_KEY_PREFIX = "pck"


@dataclass(frozen=True)
class Organization:
    """A tenant: a health system, clinic or billing company. Its data is visible only to it."""

    id: str
    slug: str
    name: str
    timezone: str = "America/Chicago"


@dataclass(frozen=True)
class Payer:
    """An insurer precert can send requests to."""

    id: str
    name: str
    phone: str
    x12_payer_id: str
    lines_of_business: tuple[LineOfBusiness, ...]


@dataclass(frozen=True)
class ApiKey:
    """A stored API key: only the SHA-256 of its secret is kept."""

    id: str
    organization_id: str
    name: str
    role: Role
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class IssuedKey:
    """A key just minted: ``token`` is shown once and never stored."""

    record: ApiKey
    token: str


def mint_api_key(*, organization_id: str, name: str, role: Role, at: datetime) -> IssuedKey:
    """Make a new key ``pck_<id>_<secret>``; the id finds the record, the secret proves it."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = ApiKey(
        id=key_id,
        organization_id=organization_id,
        name=name,
        role=role,
        secret_hash=hash_secret(secret),
        created_at=at,
    )
    return IssuedKey(record=record, token=f"{API_KEY_PREFIX}_{key_id}_{secret}")


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a key secret (secrets are 256-bit random, so no slow KDF is needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` from a presented token, or None when it is not of our form."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def secret_matches(record: ApiKey, secret: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(record.secret_hash, hash_secret(secret))


@dataclass(frozen=True)
class AuditEntry:
    """One access to patient data (or to the audit trail itself): who, as what, how, to what."""

    at: datetime
    organization_id: str
    actor_id: str
    actor_role: Role
    action: str  # "read" or "write"
    channel: str  # e.g. "GET /v1/authorizations/{authorization_id}" or "cli: demo load"
    subject_type: str
    subject_id: str
    detail: dict[str, str] = field(default_factory=dict)
