"""The CRD codec on hand-made requests: malformed input, gold cards, not-covered answers."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from precert.interop.fhir.crd import (
    HookRequestError,
    build_response,
    parse_hook_request,
    read_coverage_information,
    service_hook,
)
from precert.policy import shipped_engine
from precert.services.discover import assess_hook

TODAY = date(2026, 3, 2)
GOLD_CARD = "https://northwind-health.example/gold-card"


def service_request(
    code: str, system: str = "http://www.ama-assn.org/go/cpt", **extra: Any
) -> dict[str, Any]:
    """A draft ServiceRequest for one billing code."""
    return {
        "resourceType": "ServiceRequest",
        "id": f"sr-{code}",
        "status": "draft",
        "intent": "original-order",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "occurrenceDateTime": "2026-03-20",
        **extra,
    }


def hook_body(
    *orders: dict[str, Any],
    payer: str = "northwind-health",
    practitioner: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An order-sign request with a Northwind coverage and a Missouri patient."""
    prefetch: dict[str, Any] = {
        "patient": {
            "resourceType": "Patient",
            "id": "p1",
            "gender": "female",
            "birthDate": "1960-05-01",
            "address": [{"state": "MO"}],
        },
        "coverage": {
            "resourceType": "Coverage",
            "id": "cov1",
            "status": "active",
            "beneficiary": {"reference": "Patient/p1"},
            "payor": [{"reference": f"Organization/{payer}"}],
        },
    }
    if practitioner:
        prefetch["practitioner"] = practitioner
    return {
        "hook": "order-sign",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "userId": "Practitioner/dr1",
            "patientId": "p1",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": o} for o in orders],
            },
        },
        "prefetch": prefetch,
    }


def respond(body: dict[str, Any]) -> dict[str, Any]:
    """Parse, judge and answer."""
    request = parse_hook_request(body)
    return build_response(request, assess_hook(shipped_engine(), request, TODAY), TODAY)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda b: b.pop("context"), "$.context"),
        (lambda b: b.update(context="nope"), "$.context"),
        (lambda b: b.update(hook="patient-view"), "$.hook"),
        (lambda b: b.pop("hookInstance"), "$.hookInstance"),
        (lambda b: b["context"].pop("draftOrders"), "$.context.draftOrders"),
        (
            lambda b: b["context"]["draftOrders"].update(resourceType="List"),
            "$.context.draftOrders.resourceType",
        ),
        (
            lambda b: b["context"]["draftOrders"]["entry"].append({"resource": 3}),
            "$.context.draftOrders.entry[1].resource",
        ),
        (lambda b: b["context"].pop("patientId"), "$.context.patientId"),
    ],
)
def test_malformed_requests_name_the_json_path(mutate: Any, path: str) -> None:
    """Each malformed request raises HookRequestError pointing at the offending element."""
    body = hook_body(service_request("70553"))
    mutate(body)
    with pytest.raises(HookRequestError) as caught:
        parse_hook_request(body)
    assert caught.value.path == path


def test_not_a_json_object() -> None:
    """A body that is not an object is refused at the root."""
    with pytest.raises(HookRequestError, match=r"^\$: must be a JSON object"):
        parse_hook_request([1, 2])


def test_mri_needs_auth_with_deadline_and_docs() -> None:
    """An MRI for Northwind gets auth-needed, clinical docs and a submit-by date on the card."""
    response = respond(hook_body(service_request("70553")))
    (card,) = response["cards"]
    assert card["indicator"] == "warning"
    assert "2026-03-18" in card["detail"]  # two business days before 2026-03-20
    (info,) = read_coverage_information(response["systemActions"][0]["resource"])
    assert info["pa-needed"] == ["auth-needed"]
    assert info["doc-purpose"] == ["withpa"]


def test_gold_card_practitioner_waives_auth() -> None:
    """A practitioner in Northwind's imaging gold-card program gets no-auth with the reason."""
    gold = {
        "resourceType": "Practitioner",
        "id": "dr1",
        "identifier": [{"system": GOLD_CARD, "value": "imaging"}],
    }
    response = respond(hook_body(service_request("70553"), practitioner=gold))
    assert response["cards"] == []
    (info,) = read_coverage_information(response["systemActions"][0]["resource"])
    assert info["pa-needed"] == ["no-auth"]
    assert any("gold-card" in str(r) for r in info["reason"])


def test_oncology_reason_auto_approves() -> None:
    """An MRI ordered for a malignancy satisfies Northwind's oncology criterion."""
    reason = [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C71.9"}]}]
    response = respond(hook_body(service_request("70553", reasonCode=reason)))
    (info,) = read_coverage_information(response["systemActions"][0]["resource"])
    assert info["pa-needed"] == ["no-auth"]


def test_not_covered_omits_pa_needed() -> None:
    """Show-Me Care does not pay for sterilization under 21: covered=not-covered, no pa-needed."""
    body = hook_body(service_request("58661"), payer="showme-medicaid")
    body["prefetch"]["patient"]["birthDate"] = "2008-01-01"
    (action,) = respond(body)["systemActions"]
    (info,) = read_coverage_information(action["resource"])
    assert info["covered"] == ["not-covered"]
    assert "pa-needed" not in info


def test_unreadable_code_is_reported_not_guessed() -> None:
    """A malformed CPT code yields an indeterminate answer and a card naming the code."""
    response = respond(hook_body(service_request("7055X")))
    (card,) = response["cards"]
    assert "7055X" in card["detail"]
    (info,) = read_coverage_information(response["systemActions"][0]["resource"])
    assert info["covered"] == ["indeterminate"]


def test_service_ids_map_to_hooks() -> None:
    """Discovery ids resolve to their hook; anything else is unknown."""
    assert service_hook("precert-crd-order-sign") == "order-sign"
    assert service_hook("precert-crd-patient-view") is None
    assert service_hook("order-sign") is None


def test_response_leaves_the_request_untouched() -> None:
    """Building the answer never writes coverage information into the caller's orders."""
    request = parse_hook_request(hook_body(service_request("70553")))
    response = build_response(request, assess_hook(shipped_engine(), request, TODAY), TODAY)
    assert read_coverage_information(response["systemActions"][0]["resource"])
    assert not read_coverage_information(request.orders[0].resource)
