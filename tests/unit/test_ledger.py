"""The hash-chained ledger detects edits, deletions and reordering."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from precert.domain.ledger import GENESIS, LedgerEntry, event_hash, first_broken_link
from tests.conftest import T0


def chain(n: int) -> list[LedgerEntry]:
    entries, previous = [], GENESIS
    for i in range(1, n + 1):
        fields = {
            "authorization_id": "a1",
            "sequence": i,
            "type": f"t{i}",
            "at": T0 + timedelta(minutes=i),
            "actor_id": "u",
            "actor_role": "coordinator",
            "payload": {"n": i, "text": "é"},
        }
        digest = event_hash(previous, **fields)  # type: ignore[arg-type]
        entries.append(LedgerEntry(**fields, previous_hash=previous, hash=digest))  # type: ignore[arg-type]
        previous = digest
    return entries


def test_intact_chain_verifies() -> None:
    """An untouched chain has no broken link."""
    assert first_broken_link(chain(5)) is None


@given(st.integers(min_value=2, max_value=8), st.data())
def test_any_edit_is_found_at_its_sequence(n: int, data: st.DataObject) -> None:
    """Editing the payload of event k is reported at k."""
    entries = chain(n)
    k = data.draw(st.integers(min_value=0, max_value=n - 1))
    entries[k] = dataclasses.replace(entries[k], payload={"n": -1})
    broken = first_broken_link(entries)
    assert broken is not None
    assert broken.sequence == k + 1
    assert "edited" in broken.reason


def test_deleted_event_is_found() -> None:
    """Removing an event from the middle breaks the sequence."""
    entries = chain(4)
    del entries[1]
    broken = first_broken_link(entries)
    assert broken is not None
    assert broken.sequence == 3
