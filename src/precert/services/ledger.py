"""Verify the hash-chained event ledger end to end (``precert audit verify``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from precert.domain.ledger import BrokenLink, LedgerEntry, first_broken_link


@dataclass(frozen=True)
class LedgerReport:
    """How many chains and events were checked, and the first broken link found (if any)."""

    authorizations: int
    events: int
    broken: BrokenLink | None


def verify_ledger(
    chains: Iterable[tuple[str, int, str, list[LedgerEntry]]],
    on_progress: Callable[[int], None] | None = None,
) -> LedgerReport:
    """Check every chain and its anchor on the request row; stop at the first broken link.

    The anchor (event count and last hash kept on the request) catches what the chain
    alone cannot: events deleted from the end.
    """
    checked = events = 0
    for authorization_id, count, last_hash, entries in chains:
        checked += 1
        events += len(entries)
        broken = first_broken_link(entries)
        if broken is None and (
            len(entries) != count or (entries and entries[-1].hash != last_hash)
        ):
            tail = entries[-1] if entries else None
            broken = BrokenLink(
                authorization_id,
                tail.sequence if tail else 0,
                tail.row_id if tail else None,
                f"the request records {count} event(s) ending in {last_hash[:12]}…, the ledger "
                f"holds {len(entries)} ending in {tail.hash[:12] if tail else 'nothing'}… "
                "(events removed, or a request row edited)",
            )
        if on_progress is not None:
            on_progress(checked)
        if broken is not None:
            return LedgerReport(checked, events, broken)
    return LedgerReport(checked, events, None)
