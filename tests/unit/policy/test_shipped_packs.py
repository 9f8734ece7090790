"""The packs precert ships: they load, describe the five example payers and cover every category."""

from __future__ import annotations

from datetime import date

import pytest

from precert.domain.authorization import LineOfBusiness, ServiceCategory
from precert.domain.codes import CodeSystem
from precert.policy import payer_catalog, shipped_engine
from precert.policy.model import Layer, PaNeeded
from tests.unit.policy.builders import line

PAYERS = {
    "northwind-health": ("Northwind Health Plan", [LineOfBusiness.COMMERCIAL]),
    "cascade-mutual": ("Cascade Mutual", [LineOfBusiness.COMMERCIAL, LineOfBusiness.EXCHANGE]),
    "gateway-medicare": ("Gateway Medicare Advantage", [LineOfBusiness.MEDICARE_ADVANTAGE]),
    "showme-medicaid": ("Show-Me Care", [LineOfBusiness.MEDICAID]),
    "summit-exchange": ("Summit Exchange Plans", [LineOfBusiness.EXCHANGE]),
}

#: One code per category that every example payer puts under prior authorization.
CATEGORY_EXAMPLES = {
    ServiceCategory.ADVANCED_IMAGING: ("70553", CodeSystem.CPT),
    ServiceCategory.ELECTIVE_SURGERY: ("27447", CodeSystem.CPT),
    ServiceCategory.SPECIALTY_DRUG: ("J9271", CodeSystem.HCPCS),
    ServiceCategory.DME: ("K0823", CodeSystem.HCPCS),
    ServiceCategory.BEHAVIORAL_HEALTH: ("S9480", CodeSystem.HCPCS),
    ServiceCategory.INPATIENT_ADMISSION: ("99222", CodeSystem.CPT),
    ServiceCategory.OTHER: ("81162", CodeSystem.CPT),
}


def test_catalog_lists_the_five_fictional_payers() -> None:
    """The catalog has exactly the demo payers, labelled fictional, with 555-01xx phones."""
    catalog = {p.id: p for p in payer_catalog()}
    assert set(catalog) == set(PAYERS)
    for payer_id, (name, lines_of_business) in PAYERS.items():
        payer = catalog[payer_id]
        assert payer.display_name == name
        assert list(payer.lines_of_business) == lines_of_business
        assert payer.fictional
        assert payer.prior_auth_phone[4:].startswith("555-01")
        assert set(payer.service_categories) == set(ServiceCategory)
        assert set(payer.lead_time_business_days) == set(ServiceCategory)


@pytest.mark.parametrize("payer_id", sorted(PAYERS))
@pytest.mark.parametrize("category", sorted(CATEGORY_EXAMPLES))
def test_every_payer_covers_every_category(payer_id: str, category: ServiceCategory) -> None:
    """Each example payer requires authorization for a typical service of each category."""
    code, system = CATEGORY_EXAMPLES[category]
    lob = PAYERS[payer_id][1][0]
    answer = shipped_engine().determine(
        line(code, payer=payer_id, lob=lob, system=system, amount="5000", diagnoses=("F32.9",))
    )
    assert answer.pa_needed is PaNeeded.AUTH_NEEDED, answer.rule_ids
    assert answer.category is category
    assert answer.documentation, "a PA rule must list its documents"
    assert answer.lead_time_business_days is not None


def test_cms_0057f_timeframes_apply_to_medicare_advantage_from_2026() -> None:
    """Gateway (MA) gets 72 h / 7 days (+7) from 2026; a commercial plan gets the claims rule."""
    engine = shipped_engine()
    ma = engine.determine(
        line("70553", payer="gateway-medicare", lob=LineOfBusiness.MEDICARE_ADVANTAGE)
    )
    assert ma.decision_timeframe is not None
    assert (ma.decision_timeframe.expedited_hours, ma.decision_timeframe.standard_days) == (72, 7)
    assert ma.decision_timeframe.extension_days == 7
    assert "fed-0057f-timeframes" in ma.rule_ids
    commercial = engine.determine(line("70553", payer="northwind-health"))
    assert commercial.decision_timeframe is not None
    assert commercial.decision_timeframe.standard_days == 15
    before = engine.determine(
        line(
            "70553",
            payer="gateway-medicare",
            lob=LineOfBusiness.MEDICARE_ADVANTAGE,
            day=date(2025, 12, 31),
        )
    )
    assert "fed-0057f-timeframes" not in before.rule_ids


def test_missouri_layer_applies_to_missouri_medicaid_only() -> None:
    """The (illustrative) Missouri state rule fires for MO Medicaid residential treatment."""
    engine = shipped_engine()
    mo = engine.determine(
        line("H0018", payer="showme-medicaid", lob=LineOfBusiness.MEDICAID, system=CodeSystem.HCPCS)
    )
    assert "mo-example-bh-residential-review" in mo.rule_ids
    assert mo.deciding_layer is Layer.PAYER
    ks = engine.determine(
        line(
            "H0018",
            payer="showme-medicaid",
            lob=LineOfBusiness.MEDICAID,
            system=CodeSystem.HCPCS,
            state="KS",
        )
    )
    assert "mo-example-bh-residential-review" not in ks.rule_ids


def test_plan_layer_overrides_cascade_payer_rule() -> None:
    """Cascade's Bronze plan lets 25 therapy units through that the payer would review."""
    engine = shipped_engine()
    bronze = engine.determine(
        line("97110", payer="cascade-mutual", plan="Cascade Bronze Exchange", units="25")
    )
    other = engine.determine(line("97110", payer="cascade-mutual", plan="Cascade Gold", units="25"))
    assert bronze.pa_needed is PaNeeded.NO_AUTH
    assert bronze.deciding_layer is Layer.PLAN
    assert other.pa_needed is PaNeeded.AUTH_NEEDED
