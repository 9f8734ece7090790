"""Property: the compiled, memoized engine answers exactly as a brute-force scan of every rule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precert.domain.authorization import LineOfBusiness, ServiceCategory, Sex
from precert.domain.codes import CodeSystem
from precert.policy.engine import PolicyEngine
from precert.policy.model import LineFacts, Setting
from tests.unit.policy.builders import build_pack
from tests.unit.policy.reference import reference_determine

CPT = [f"{70540 + i}" for i in range(16)]
HCPCS = [f"E0{600 + i}" for i in range(12)]
PAYERS = ["p-one", "p-two"]
DAY0 = date(2026, 1, 1)


def _entry(pool: list[str]) -> st.SearchStrategy[str]:
    single = st.sampled_from(pool)
    ranged = st.tuples(st.sampled_from(pool), st.sampled_from(pool)).map(
        lambda ab: f"{min(ab)}-{max(ab)}"
    )
    return st.one_of(single, ranged)


def _code_entries(pools: tuple[list[str], ...] = (CPT, HCPCS)) -> st.SearchStrategy[list[str]]:
    return st.lists(st.one_of(*(_entry(p) for p in pools)), min_size=1, max_size=3)


def _day(offset: int) -> str:
    return (DAY0 + timedelta(days=offset)).isoformat()


@st.composite
def rule_specs(draw: st.DrawFn, rule_id: str) -> dict[str, Any]:
    """A random rule over a small universe of codes, settings and patient facts."""
    match: dict[str, Any] = {}
    if draw(st.booleans()):
        match["codes"] = draw(_code_entries())
    optional = {
        "payers": st.lists(st.sampled_from(PAYERS), min_size=1, max_size=2, unique=True),
        "plans": st.just(["Gold"]),
        "lines_of_business": st.just(["medicaid"]),
        "states": st.just(["MO"]),
        "categories": st.lists(
            st.sampled_from(["advanced_imaging", "dme"]), min_size=1, unique=True
        ),
        "code_system": st.sampled_from(["CPT", "HCPCS"]),
        "modifiers": st.just(["RT"]),
        "places_of_service": st.lists(st.sampled_from(["11", "22"]), min_size=1, unique=True),
        "units": st.integers(1, 4).map(lambda n: {"min": n}),
        "amount": st.integers(100, 900).map(lambda n: {"max": n}),
        "age": st.integers(10, 70).map(lambda n: {"min": n}),
        "sex": st.just(["male"]),
        "diagnoses": st.sampled_from([["C00-D49"], ["F32"], ["I10"]]),
        "diagnosis_chapters": st.just([5]),
        "service_dates": st.integers(0, 60).map(lambda n: {"from": _day(n), "to": _day(n + 30)}),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), max_size=3, unique=True)):
        match[key] = draw(optional[key])
    if "codes" in match and "code_system" in match:
        match["codes"] = draw(_code_entries((CPT if match["code_system"] == "CPT" else HCPCS,)))
    outcome: dict[str, Any] = {}
    for key, values in {
        "pa_needed": ["no-auth", "auth-needed", "conditional"],
        "covered": ["covered", "not-covered"],
        "lead_time_business_days": [1, 3, 5],
    }.items():
        if draw(st.booleans()):
            outcome[key] = draw(st.sampled_from(values))
    if not outcome:
        outcome["pa_needed"] = "auth-needed"
    return {
        "id": rule_id,
        "description": rule_id,
        "priority": draw(st.sampled_from([-10, 0, 0, 1, 2])),
        "match": match,
        "outcome": outcome,
    }


@st.composite
def engines_and_packs(draw: st.DrawFn) -> list[Any]:
    """Two to three packs at random layers, with random rules."""
    packs = []
    for n in range(draw(st.integers(2, 3))):
        layer = draw(st.sampled_from(["federal", "state", "payer", "plan"]))
        rules = [draw(rule_specs(f"pack{n}-rule{i}")) for i in range(draw(st.integers(1, 8)))]
        options: dict[str, Any] = {"pack_id": f"pack{n}", "layer": layer}
        if layer == "payer":
            options["payer"] = {
                "id": f"p-{['one', 'two', 'one'][n]}",
                "display_name": "generated",
                "prior_auth_phone": "800-555-0100",
                "lines_of_business": ["commercial"],
                "x12_payer_id": "GEN1",
                "lead_time_business_days": {"dme": 2},
                "service_categories": ["dme"],
            }
            options["pack_id"] = f"pack{n}"
        if layer == "plan":
            options["scope"] = {"payers": ["p-one"], "plans": ["Gold"]}
        if draw(st.booleans()):
            options["classification"] = {
                "advanced_imaging": ["70540-70547"],
                "dme": ["E0600-E0605"],
            }
        packs.append(build_pack(rules, **options))
    return packs


lines_strategy = st.lists(
    st.builds(
        LineFacts,
        st.builds(
            Setting,
            st.sampled_from(PAYERS),
            st.sampled_from(["Gold", "Silver"]),
            st.sampled_from([LineOfBusiness.COMMERCIAL, LineOfBusiness.MEDICAID]),
            st.sampled_from(["MO", "KS"]),
            st.sampled_from([None, ServiceCategory.ADVANCED_IMAGING, ServiceCategory.DME]),
            st.sampled_from([CodeSystem.CPT, CodeSystem.HCPCS]),
            st.sampled_from(CPT + HCPCS),
            st.sampled_from([(), ("RT",), ("LT",)]),
            st.sampled_from(["11", "22"]),
        ),
        st.integers(0, 120).map(lambda n: DAY0 + timedelta(days=n)),
        st.sampled_from([1, 2, 5]).map(lambda n: Decimal(n)),
        st.sampled_from([50, 500, 5000]).map(lambda n: Decimal(n)),
        st.integers(0, 90),
        st.sampled_from([Sex.FEMALE, Sex.MALE]),
        st.sampled_from([("C50.911",), ("F32.9",), ("I10",), ("M17.11", "F33.1")]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packs=engines_and_packs(), lines=lines_strategy)
def test_compiled_engine_equals_reference(packs: list[Any], lines: list[LineFacts]) -> None:
    """For random packs and lines (evaluated twice, to exercise the memo), both agree."""
    engine = PolicyEngine(packs)
    expected = [reference_determine(packs, facts) for facts in lines]
    assert engine.determine_all(lines) == expected
    assert engine.determine_all(list(reversed(lines))) == list(reversed(expected))
