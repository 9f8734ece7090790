"""Small builders for packs and lines used across the policy tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import yaml

from precert.domain.authorization import LineOfBusiness, ServiceCategory, Sex
from precert.domain.codes import CodeSystem
from precert.policy.loader import parse_pack
from precert.policy.model import LineFacts, PolicyPack, Setting

LAYER_PAYER = {
    "id": "test-payer",
    "display_name": "Test Payer (fictional)",
    "prior_auth_phone": "800-555-0100",
    "lines_of_business": ["commercial"],
    "x12_payer_id": "TEST1",
    "lead_time_business_days": {"advanced_imaging": 4},
    "service_categories": ["advanced_imaging"],
}


def pack_document(
    rules: list[dict[str, Any]],
    *,
    pack_id: str = "test-pack",
    layer: str = "payer",
    effective_from: str = "2026-01-01",
    effective_to: str | None = None,
    payer: dict[str, Any] | None = None,
    scope: dict[str, Any] | None = None,
    classification: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A pack document (as YAML would load) with the given rules."""
    document: dict[str, Any] = {
        "pack": {
            "id": pack_id,
            "version": "1.0.0",
            "title": f"{pack_id} for tests",
            "publisher": "tests",
            "source": "illustrative example",
            "layer": layer,
            "effective_from": effective_from,
        },
        "rules": rules,
    }
    if effective_to:
        document["pack"]["effective_to"] = effective_to
    if layer == "payer":
        document["payer"] = payer or LAYER_PAYER
    if scope:
        document["scope"] = scope
    if classification:
        document["classification"] = classification
    return document


def build_pack(rules: list[dict[str, Any]], **options: Any) -> PolicyPack:
    """Parse a pack built by ``pack_document`` through the real YAML loader."""
    return parse_pack(
        yaml.safe_dump(pack_document(rules, **options)),
        f"{options.get('pack_id', 'test-pack')}.yaml",
    )


def line(
    code: str = "70553",
    *,
    payer: str = "test-payer",
    plan: str = "Gold",
    lob: LineOfBusiness = LineOfBusiness.COMMERCIAL,
    state: str = "MO",
    category: ServiceCategory | None = None,
    system: CodeSystem = CodeSystem.CPT,
    modifiers: tuple[str, ...] = (),
    pos: str = "11",
    day: date = date(2026, 3, 2),
    units: str = "1",
    amount: str = "100",
    age: int = 40,
    sex: Sex = Sex.FEMALE,
    diagnoses: tuple[str, ...] = ("G43.909",),
) -> LineFacts:
    """One service line's facts with sensible defaults."""
    return LineFacts(
        Setting(payer, plan, lob, state, category, system, code, modifiers, pos),
        day,
        Decimal(units),
        Decimal(amount),
        age,
        sex,
        diagnoses,
    )
