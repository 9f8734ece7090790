"""FHIRPath auto-approval and gold-card criteria."""

from __future__ import annotations

from precert.policy.criteria import assess, syntax_errors
from precert.policy.model import Criterion

GOLD = Criterion(
    "gold",
    "practitioner is gold-carded",
    "%practitioner.identifier"
    ".where(system = 'https://payer.example/gold-card' and value = 'imaging').exists()",
    gold_card=True,
)
ONCOLOGY = Criterion(
    "onc",
    "cancer diagnosis",
    "%order.reasonCode.coding.where(code.startsWith('C')).exists()",
)


def practitioner(*identifiers: tuple[str, str]) -> dict[str, object]:
    """A Practitioner with the given (system, value) identifiers."""
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": s, "value": v} for s, v in identifiers],
    }


def test_gold_card_satisfied_only_for_the_right_program() -> None:
    """The criterion holds for an imaging gold card and not for another program's."""
    bundle = {"resourceType": "Bundle", "type": "collection"}
    member = practitioner(("https://payer.example/gold-card", "imaging"))
    other = practitioner(("https://payer.example/gold-card", "orthopedics"))
    assert assess(GOLD, bundle, {"practitioner": member}).satisfied
    assert not assess(GOLD, bundle, {"practitioner": other}).satisfied


def test_order_reason_criterion() -> None:
    """An order citing a C-code diagnosis satisfies the oncology criterion."""
    order = {
        "resourceType": "ServiceRequest",
        "reasonCode": [
            {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C50.911"}]}
        ],
    }
    bundle = {"resourceType": "Bundle", "type": "collection"}
    assert assess(ONCOLOGY, bundle, {"order": order}).satisfied
    assert not assess(ONCOLOGY, bundle, {"order": {"resourceType": "ServiceRequest"}}).satisfied


def test_evaluation_error_is_reported_not_passed() -> None:
    """An expression that fails at run time is unsatisfied and carries the error."""
    broken = Criterion("bad", "bad", "%order.code.coding.code + 1")
    order = {"resourceType": "ServiceRequest", "code": {"coding": [{"code": "1"}, {"code": "2"}]}}
    result = assess(broken, {"resourceType": "Bundle"}, {"order": order})
    assert not result.satisfied
    assert result.error


def test_syntax_errors_found_and_clean_expressions_pass() -> None:
    """The grammar check flags broken expressions and accepts good ones."""
    assert syntax_errors(GOLD.expression) == []
    assert syntax_errors("Patient.name.where(") != []
    assert syntax_errors("1 +") != []
