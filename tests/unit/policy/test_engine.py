"""The compiled engine: layering, precedence, ranges, dates, line conditions, catalog."""

from __future__ import annotations

from datetime import date

from precert.domain.authorization import LineOfBusiness, ServiceCategory
from precert.domain.codes import CodeSystem
from precert.policy.engine import PolicyEngine
from precert.policy.model import Layer, PaNeeded
from tests.unit.policy.builders import build_pack, line

IMAGING = {"code_system": "CPT", "codes": ["70551-70553"]}


def auth_rule(rule_id: str, match: dict[str, object], **outcome: object) -> dict[str, object]:
    """A rule that says auth-needed unless ``outcome`` says otherwise."""
    return {
        "id": rule_id,
        "description": rule_id,
        "match": match,
        "outcome": {"pa_needed": "auth-needed", **outcome},
    }


def test_more_specific_layer_overrides_and_is_recorded() -> None:
    """A plan rule beats the payer rule for the same code and the result names it."""
    payer = build_pack([auth_rule("payer-mri", IMAGING, lead_time_business_days=2)])
    plan = build_pack(
        [auth_rule("plan-mri", IMAGING, pa_needed="no-auth")],
        pack_id="test-plan",
        layer="plan",
        scope={"payers": ["test-payer"], "plans": ["Gold"]},
    )
    engine = PolicyEngine([plan, payer])
    answer = engine.determine(line("70552"))
    assert answer.pa_needed is PaNeeded.NO_AUTH
    assert answer.deciding_rule == "plan-mri"
    assert answer.deciding_layer is Layer.PLAN
    assert answer.rule_ids == ("payer-mri", "plan-mri")
    # Fields the plan leaves alone still come from the payer.
    assert answer.lead_time_business_days == 2
    other_plan = engine.determine(line("70552", plan="Silver"))
    assert other_plan.pa_needed is PaNeeded.AUTH_NEEDED


def test_fallback_rule_never_overrides_a_state_rule() -> None:
    """A payer's negative-priority catch-all loses to a state rule naming the service."""
    payer = build_pack(
        [
            {
                "id": "everything-else",
                "description": "default",
                "priority": -50,
                "outcome": {"pa_needed": "no-auth", "covered": "covered"},
            }
        ]
    )
    state = build_pack(
        [auth_rule("state-mri", IMAGING)],
        pack_id="test-state",
        layer="state",
        scope={"states": ["MO"]},
    )
    engine = PolicyEngine([payer, state])
    assert engine.determine(line("70551")).deciding_rule == "state-mri"
    assert engine.determine(line("70551", state="KS")).deciding_rule == "everything-else"
    assert engine.determine(line("99213")).pa_needed is PaNeeded.NO_AUTH


def test_priority_then_specificity_within_a_layer() -> None:
    """Within one layer higher priority wins, then the rule constraining more dimensions."""
    pack = build_pack(
        [
            auth_rule("broad", IMAGING, pa_needed="no-auth"),
            auth_rule("narrow", {**IMAGING, "places_of_service": ["22"]}),
            auth_rule("urgent", {**IMAGING, "places_of_service": ["23"]}, pa_needed="no-auth"),
            {
                "id": "priority",
                "description": "p",
                "priority": 5,
                "match": {"codes": ["70553"]},
                "outcome": {"pa_needed": "performpa"},
            },
        ]
    )
    engine = PolicyEngine([pack])
    assert engine.determine(line("70551", pos="22")).deciding_rule == "narrow"
    assert engine.determine(line("70551", pos="11")).deciding_rule == "broad"
    assert engine.determine(line("70553", pos="22")).pa_needed is PaNeeded.PERFORMPA


def test_ranges_match_inclusive_ends_and_same_length_only() -> None:
    """A range covers both ends and nothing outside, including longer or shorter codes."""
    pack = build_pack(
        [
            auth_rule("mri", IMAGING),
            auth_rule("dme", {"code_system": "HCPCS", "codes": ["E0100-E8002"]}),
        ]
    )
    engine = PolicyEngine([pack])
    assert [engine.determine(line(c)).pa_needed for c in ("70550", "70551", "70553", "70554")] == [
        PaNeeded.INDETERMINATE,
        PaNeeded.AUTH_NEEDED,
        PaNeeded.AUTH_NEEDED,
        PaNeeded.INDETERMINATE,
    ]
    hcpcs = [
        engine.determine(line(c, system=CodeSystem.HCPCS)).deciding_rule
        for c in ("E0100", "E0601", "E8002", "E8003", "E0099")
    ]
    assert hcpcs == ["dme", "dme", "dme", None, None]
    # Same code text under another system does not match a system-bound rule.
    assert engine.determine(line("70552", system=CodeSystem.HCPCS)).deciding_rule is None


def test_dates_pack_and_rule_windows() -> None:
    """Rules apply only inside their own and their pack's effective windows, per line date."""
    old = build_pack(
        [auth_rule("old-rule", IMAGING)],
        pack_id="old-pack",
        effective_from="2025-01-01",
        effective_to="2025-12-31",
    )
    new = build_pack(
        [
            auth_rule(
                "new-rule",
                {**IMAGING, "service_dates": {"to": "2026-06-30"}},
                pa_needed="conditional",
            )
        ],
        pack_id="new-pack",
    )
    engine = PolicyEngine([old, new])
    days = [
        date(2025, 6, 1),
        date(2026, 1, 1),
        date(2026, 6, 30),
        date(2026, 7, 1),
        date(2025, 12, 31),
    ]
    # Same setting across segments, in an order that makes the memo switch segments back and forth.
    answers = engine.determine_all([line("70551", day=d) for d in days])
    assert [a.deciding_rule for a in answers] == [
        "old-rule",
        "new-rule",
        "new-rule",
        None,
        "old-rule",
    ]


def test_line_conditions_units_amount_age_sex_diagnoses() -> None:
    """Thresholds and patient facts are checked for every line even when the setting repeats."""
    pack = build_pack(
        [
            auth_rule("pt-many-units", {"codes": ["97110"], "units": {"min": 13}}),
            auth_rule("dme-costly", {"codes": ["E0100-E8002"], "amount": {"min": 500}}),
            auth_rule("peds", {"codes": ["97151-97158"], "age": {"max": 20}, "sex": ["male"]}),
            auth_rule("onc-pet", {"codes": ["78811-78816"], "diagnoses": ["C00-D49"]}),
            auth_rule("mood-tms", {"codes": ["90867"], "diagnosis_chapters": [5]}),
            auth_rule("migraine", {"codes": ["70450"], "diagnoses": ["G43.9"]}),
        ]
    )
    engine = PolicyEngine([pack])
    cases = [
        (line("97110", units="12"), None),
        (line("97110", units="13"), "pt-many-units"),
        (line("E0601", system=CodeSystem.HCPCS, amount="499.99"), None),
        (line("E0601", system=CodeSystem.HCPCS, amount="500"), "dme-costly"),
        (line("97153", age=20, sex="male"), "peds"),  # type: ignore[arg-type]
        (line("97153", age=21, sex="male"), None),  # type: ignore[arg-type]
        (line("97153", age=5), None),
        (line("78815", diagnoses=("C50.911",)), "onc-pet"),
        (line("78815", diagnoses=("E11.9",)), None),
        (line("90867", diagnoses=("I10", "F32.9")), "mood-tms"),
        (line("70450", diagnoses=("G43.909",)), "migraine"),
        (line("70450", diagnoses=("G44.1",)), None),
    ]
    answers = engine.determine_all([facts for facts, _ in cases])
    assert [a.deciding_rule for a in answers] == [expected for _, expected in cases]


def test_classification_and_payer_lead_time_fallback() -> None:
    """Uncategorized lines are classified by code (else "other"); the payer's lead time fills in."""
    pack = build_pack(
        [auth_rule("by-category", {"categories": ["advanced_imaging"]})],
        classification={"advanced_imaging": ["70551-70553"], "dme": ["E0601"]},
    )
    engine = PolicyEngine([pack])
    answer = engine.determine(line("70552"))
    assert answer.category is ServiceCategory.ADVANCED_IMAGING
    assert answer.lead_time_business_days == 4
    assert engine.classify("E0601") is ServiceCategory.DME
    explicit = engine.determine(line("99213", category=ServiceCategory.ADVANCED_IMAGING))
    assert explicit.deciding_rule == "by-category"
    assert engine.determine(line("99213")).category is ServiceCategory.OTHER


def test_modifiers_and_line_of_business() -> None:
    """Modifier lists match any listed modifier; line of business narrows a rule."""
    pack = build_pack(
        [
            auth_rule(
                "bilateral",
                {
                    "codes": ["27447"],
                    "modifiers": ["50", "RT"],
                    "lines_of_business": ["commercial"],
                },
            )
        ]
    )
    engine = PolicyEngine([pack])
    assert engine.determine(line("27447", modifiers=("LT", "RT"))).deciding_rule == "bilateral"
    assert engine.determine(line("27447", modifiers=("LT",))).deciding_rule is None
    medicaid = line("27447", modifiers=("50",), lob=LineOfBusiness.MEDICAID)
    assert engine.determine(medicaid).deciding_rule is None


def test_unknown_payer_is_indeterminate() -> None:
    """A line for a payer no pack describes is indeterminate, not guessed."""
    engine = PolicyEngine([build_pack([auth_rule("mri", IMAGING)])])
    answer = engine.determine(line("70551", payer="nobody"))
    assert answer.pa_needed is PaNeeded.INDETERMINATE
    assert answer.rule_ids == ()
