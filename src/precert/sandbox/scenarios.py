"""The sandbox payer's scenarios: how it decides, and which faults it injects.

A scenario is chosen per request by the ``X-Sandbox-Scenario`` header, else by the
member id (``SBX-<scenario name>-…``, e.g. ``SBX-pend-then-deny-missing-docs-0001``),
else by the server's default (``precert sandbox serve --scenario NAME``). Faults are
deterministic: they depend only on the scenario's seed, the submission's idempotency
key and how many times the sandbox has seen that key, so a test run is repeatable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Mode(StrEnum):
    """How a scenario decides each service line."""

    POLICY = "policy"  # adjudicate with the shipped policy packs
    APPROVE = "approve"
    DENY = "deny"
    PEND_THEN_APPROVE = "pend-then-approve"
    PEND_THEN_DENY = "pend-then-deny"
    PARTIAL = "partial"  # odd-numbered items approved, even-numbered denied
    MODIFY = "modify"  # approved with fewer units and a shorter validity window


@dataclass(frozen=True)
class Faults:
    """Failures injected before (5xx) or after (timeout, malformed body) the claim is stored.

    ``*_first`` counts apply to the first receipts of each idempotency key; ``*_rate``
    fractions apply to every receipt, drawn from the seed (deterministic per key).
    """

    latency_ms: int = 0
    error_first: int = 0
    error_rate: float = 0.0
    timeout_first: int = 0
    timeout_seconds: float = 5.0
    malformed_first: int = 0
    drop_notifications: bool = False


@dataclass(frozen=True)
class Scenario:
    """One named behaviour of the sandbox payer."""

    name: str
    description: str
    mode: Mode
    decision_delay_seconds: float = 2.0
    faults: Faults = field(default_factory=Faults)
    seed: int = 20260101

    def draw(self, key: str, receipt: int, purpose: str) -> float:
        """A number in [0, 1) fixed by the seed, the key, the receipt count and the purpose."""
        digest = hashlib.sha256(f"{self.seed}/{key}/{receipt}/{purpose}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64


def _catalog(*scenarios: Scenario) -> Mapping[str, Scenario]:
    return {s.name: s for s in scenarios}


SCENARIOS: Mapping[str, Scenario] = _catalog(
    Scenario(
        "policy",
        "Adjudicate with the shipped policy packs: no-auth lines need no action, criteria and "
        "gold cards approve at once, missing documentation pends and is approved later.",
        Mode.POLICY,
    ),
    Scenario("auto-approve", "Every line certified in total at once (A1).", Mode.APPROVE),
    Scenario(
        "deny-not-medically-necessary",
        "Every line denied at once with a specific reason (A3).",
        Mode.DENY,
    ),
    Scenario(
        "pend-then-approve",
        "Every line pended for documentation (A4); approved later, announced by notification.",
        Mode.PEND_THEN_APPROVE,
    ),
    Scenario(
        "pend-then-deny-missing-docs",
        "Every line pended for documentation (A4); denied later because the documents never "
        "came (A3, reason 0V), announced by notification. For trainees.",
        Mode.PEND_THEN_DENY,
    ),
    Scenario(
        "partial-approval",
        "Odd-numbered lines certified, even-numbered lines denied with a reason.",
        Mode.PARTIAL,
    ),
    Scenario(
        "modified-approval",
        "Every line approved with fewer units and a 30-day window (A6).",
        Mode.MODIFY,
    ),
    Scenario(
        "flaky",
        "Policy decisions, but the first two receipts of each submission answer HTTP 503.",
        Mode.POLICY,
        faults=Faults(error_first=2),
    ),
    Scenario(
        "slow",
        "Policy decisions; the first receipt of each submission is stored, then answered too "
        "late for a client with a short timeout.",
        Mode.POLICY,
        faults=Faults(timeout_first=1, timeout_seconds=1.5),
    ),
    Scenario(
        "garbled",
        "Policy decisions; the first receipt of each submission gets a truncated body.",
        Mode.POLICY,
        faults=Faults(malformed_first=1),
    ),
    Scenario(
        "silent",
        "Pend then approve, but notifications are dropped: only $inquire learns the decision.",
        Mode.PEND_THEN_APPROVE,
        decision_delay_seconds=0.5,
        faults=Faults(drop_notifications=True),
    ),
)

SCENARIO_HEADER = "X-Sandbox-Scenario"
MEMBER_PREFIX = "SBX-"


def scenario_for(header: str | None, member_id: str | None, default: Scenario) -> Scenario | None:
    """The scenario a request selects; None when the header names an unknown scenario."""
    if header:
        return SCENARIOS.get(header)
    if member_id and member_id.upper().startswith(MEMBER_PREFIX):
        rest = member_id[len(MEMBER_PREFIX) :].lower()
        # Longest name first, so "pend-then-approve" never shadows a longer name.
        for name in sorted(SCENARIOS, key=len, reverse=True):
            if rest == name or rest.startswith(name + "-"):
                return SCENARIOS[name]
    return default
