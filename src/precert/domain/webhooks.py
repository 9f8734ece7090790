"""Signed webhooks: what a receiver gets and how it knows the message is ours.

Each delivery is signed like this: ``Precert-Signature: t=<unix seconds>,v1=<hex>``
where ``hex = HMAC-SHA256(secret, f"{t}.{body}")``. A receiver recomputes the HMAC
over the raw body and rejects stale timestamps, so neither forgeries nor replays pass.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from precert.domain.ledger import canonical_instant, canonical_json

SIGNATURE_HEADER = "Precert-Signature"
#: Receivers should reject signatures older than this (seconds).
TOLERANCE_SECONDS = 300

#: Event types a subscriber may ask for; status changes are what EHR and billing act on.
SUBSCRIBABLE = frozenset(
    {
        "authorization.ready",
        "authorization.submitted",
        "authorization.pended",
        "authorization.approved",
        "authorization.partially_approved",
        "authorization.modified",
        "authorization.denied",
        "authorization.cancelled",
        "authorization.expired",
        "authorization.determination_recorded",
        "authorization.units_consumed",
    }
)


def new_secret() -> str:
    """A fresh signing secret (shown to the subscriber once)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, at: datetime) -> str:
    """The signature header value for ``body`` sent at ``at``."""
    timestamp = int(at.timestamp())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, now: datetime) -> bool:
    """Whether ``header`` is a fresh, valid signature of ``body`` (for receivers and tests)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        presented = fields["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, presented)


def payload(
    *,
    event_id: int,
    event_type: str,
    at: datetime,
    authorization_id: str,
    status: str,
    details: Mapping[str, Any],
) -> bytes:
    """The JSON body of one delivery: which request, what happened, its status now.

    Deliberately minimal: ids and status, no patient demographics, so a receiver
    fetches what it needs through the audited API.
    """
    return canonical_json(
        {
            "id": event_id,
            "type": event_type,
            "at": canonical_instant(at),
            "authorization_id": authorization_id,
            "status": status,
            "details": {k: v for k, v in details.items() if k in _SAFE_DETAILS},
        }
    ).encode()


# Payload keys that carry no PHI and help a receiver act without a second call.
_SAFE_DETAILS = frozenset(
    {
        "previous",
        "status",
        "payer_reference",
        "claim_reference",
        "units",
        "remaining",
        "channel",
        "level",
    }
)


@dataclass(frozen=True)
class WebhookEndpoint:
    """A subscriber: where to post, with which secret, which event types, and how far it got."""

    id: str
    organization_id: str
    url: str
    secret: str
    event_types: tuple[str, ...]
    delivered_through: int
    failures: int
    retry_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class LedgerEvent:
    """One event to deliver."""

    id: int
    authorization_id: str
    type: str
    at: datetime
    payload: dict[str, Any]
