"""The tamper-evident event ledger: each event's hash covers the previous one's.

For one authorization the events form a chain: ``hash = SHA-256(previous_hash +
canonical JSON of the event)``, starting from ``GENESIS``. Editing, deleting or
reordering any stored event breaks every hash after it, and ``first_broken_link``
names where.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class LedgerEntry:
    """One stored event as the ledger sees it."""

    authorization_id: str
    sequence: int
    type: str
    at: datetime
    actor_id: str
    actor_role: str
    payload: Mapping[str, Any]
    previous_hash: str
    hash: str
    row_id: int | None = None


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept, so the same event hashes the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_instant(at: datetime) -> str:
    """An instant as UTC ISO-8601 with microseconds, the form hashed and stored."""
    if at.tzinfo is None:
        raise ValueError("ledger timestamps must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    previous_hash: str,
    *,
    authorization_id: str,
    sequence: int,
    type: str,
    at: datetime,
    actor_id: str,
    actor_role: str,
    payload: Mapping[str, Any],
) -> str:
    """The SHA-256 chaining ``previous_hash`` to this event's canonical content."""
    body = canonical_json(
        {
            "authorization_id": authorization_id,
            "sequence": sequence,
            "type": type,
            "at": canonical_instant(at),
            "actor_id": actor_id,
            "actor_role": actor_role,
            "payload": payload,
        }
    )
    return hashlib.sha256((previous_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    """Where a chain stops verifying, and why."""

    authorization_id: str
    sequence: int
    row_id: int | None
    reason: str


def first_broken_link(entries: Iterable[LedgerEntry]) -> BrokenLink | None:
    """Verify one authorization's events in sequence order; return the first bad one, if any."""
    previous = GENESIS
    expected_sequence = 1
    for entry in entries:
        if entry.sequence != expected_sequence:
            return BrokenLink(
                entry.authorization_id,
                entry.sequence,
                entry.row_id,
                f"sequence {entry.sequence} where {expected_sequence} was expected "
                "(an event was deleted or inserted)",
            )
        if entry.previous_hash != previous:
            return BrokenLink(
                entry.authorization_id,
                entry.sequence,
                entry.row_id,
                "previous_hash does not match the hash of the event before it",
            )
        recomputed = event_hash(
            previous,
            authorization_id=entry.authorization_id,
            sequence=entry.sequence,
            type=entry.type,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_role=entry.actor_role,
            payload=entry.payload,
        )
        if recomputed != entry.hash:
            return BrokenLink(
                entry.authorization_id,
                entry.sequence,
                entry.row_id,
                "content does not match its hash (the event was edited)",
            )
        previous = entry.hash
        expected_sequence += 1
    return None
