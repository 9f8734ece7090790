"""Payer policy packs and the compiled engine that answers "does this line need prior auth?".

``load_packs`` reads versioned YAML packs (validated against ``pack.schema.json``),
``PolicyEngine`` compiles them into indexed matchers, and ``PolicyEngine.determine_all``
answers per line with CRD coverage information and the ids of the rules that decided.
"""

from __future__ import annotations

from functools import cache

from precert.policy.engine import PolicyEngine
from precert.policy.loader import PackError, PackProblem, load_packs, shipped_pack_paths
from precert.policy.model import Determination, LineFacts, PayerProfile

__all__ = [
    "Determination",
    "LineFacts",
    "PackError",
    "PackProblem",
    "PayerProfile",
    "PolicyEngine",
    "load_packs",
    "payer_catalog",
    "shipped_engine",
    "shipped_pack_paths",
]


@cache
def shipped_engine() -> PolicyEngine:
    """The engine compiled from the packs precert ships (loaded once per process)."""
    return PolicyEngine(load_packs(shipped_pack_paths()))


def payer_catalog(engine: PolicyEngine | None = None) -> list[PayerProfile]:
    """The payers known to ``engine`` (the shipped packs by default), sorted by id."""
    return (engine or shipped_engine()).payer_catalog()
