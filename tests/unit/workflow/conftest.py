"""Builders for the workflow rules: requests walked through the state machine, with history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from precert.domain.authorization import AuthorizationRequest, DomainEvent
from precert.domain.ledger import GENESIS, LedgerEntry


def ledger(request: AuthorizationRequest, earlier: Sequence[LedgerEntry] = ()) -> list[LedgerEntry]:
    """The request's pending events appended to ``earlier``, as the repository would store them."""
    entries = list(earlier)
    for event in request.drain_events():
        entries.append(entry(request.id, len(entries) + 1, event))
    return entries


def entry(authorization_id: str, sequence: int, event: DomainEvent) -> LedgerEntry:
    """One stored event (hashes do not matter to the rules)."""
    return LedgerEntry(
        authorization_id=authorization_id,
        sequence=sequence,
        type=event.type,
        at=event.at,
        actor_id=event.actor.id,
        actor_role=event.actor.role.value,
        payload=event.payload,
        previous_hash=GENESIS,
        hash=GENESIS,
    )


def at(text: str) -> datetime:
    """An aware instant from ISO text."""
    return datetime.fromisoformat(text)
