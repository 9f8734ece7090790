"""Every published CRD request fixture gets a valid answer; response fixtures read back."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from precert.interop.fhir.crd import (
    COVERAGE_INFORMATION,
    HOOKS,
    build_response,
    discovery_document,
    parse_hook_request,
    read_coverage_information,
)
from precert.policy import shipped_engine
from precert.services.discover import assess_hook

TODAY = date(2026, 3, 2)
REQUESTS = [
    "CRDServiceRequest.json",
    "CRDServiceRequest2.json",
    "CRDServiceRequest4.json",
    "order_select_hook_request.json",
]


def load(folder: Path, name: str) -> dict[str, Any]:
    """One fixture as JSON."""
    data: dict[str, Any] = json.loads((folder / name).read_text(encoding="utf-8"))
    return data


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """Parse, judge with the shipped packs, and build the response."""
    request = parse_hook_request(body)
    return build_response(request, assess_hook(shipped_engine(), request, TODAY), TODAY)


def check_coverage_information(resource: dict[str, Any]) -> list[dict[str, list[Any]]]:
    """Assert the CRD invariants on every coverage-information extension of ``resource``."""
    infos = read_coverage_information(resource)
    assert infos, "every updated order carries coverage information"
    for info in infos:
        assert len(info["coverage"]) == 1
        assert len(info["covered"]) == 1
        assert info["date"] == [TODAY.isoformat()]
        assert len(info["coverage-assertion-id"]) == 1
        if info["covered"] != ["not-covered"]:
            assert len(info["pa-needed"]) == 1  # crd-ci-q2
        else:
            assert "pa-needed" not in info
        if "info-needed" in info:  # crd-ci-q3
            assert "conditional" in info["covered"] + info.get("pa-needed", []) + info.get(
                "doc-needed", []
            )
        assert ("satisfied" in info.get("pa-needed", [])) == (
            "satisfied-pa-id" in info
        )  # crd-ci-q5
    return infos


def structure_errors(resource: dict[str, Any]) -> set[tuple[Any, ...]]:
    """Structural R4 validation with fhir.resources, as (location, error type) pairs."""
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        return {(tuple(e["loc"]), e["type"]) for e in exc.errors()}
    return set()


@pytest.mark.parametrize("name", REQUESTS)
def test_request_fixture_answered_and_valid(fhir_fixtures: Path, name: str) -> None:
    """Each order in the request gets one update with valid coverage information."""
    body = load(fhir_fixtures, name)
    request = parse_hook_request(copy.deepcopy(body))
    response = answer(body)
    assert set(response) == {"cards", "systemActions"}
    updated = {
        f"{a['resource']['resourceType']}/{a['resource']['id']}" for a in response["systemActions"]
    }
    assert updated == {o.reference for o in request.orders}
    originals = {o.reference: dict(o.resource) for o in request.orders}
    for action in response["systemActions"]:
        assert action["type"] == "update"
        resource = action["resource"]
        check_coverage_information(resource)
        # The update validates; where the EHR's own order was already invalid (the Inferno
        # NutritionOrder lacks the required intent), the update adds no error of its own.
        original = originals[f"{resource['resourceType']}/{resource['id']}"]
        assert structure_errors(resource) == structure_errors(original)
    for card in response["cards"]:
        assert card["indicator"] in ("info", "warning", "critical")
        assert len(card["summary"]) <= 140
        assert card["source"]["label"]
    # Unresolvable dispatched orders are reported, not dropped.
    assert len(response["cards"]) >= len(request.unresolved)


def test_unknown_payer_is_indeterminate(fhir_fixtures: Path) -> None:
    """The IG's 'Acme Health Plan' is not in precert's catalog: answers are indeterminate."""
    response = answer(load(fhir_fixtures, "CRDServiceRequest.json"))
    for action in response["systemActions"]:
        for info in read_coverage_information(action["resource"]):
            assert info["covered"] == ["indeterminate"]
            assert info["pa-needed"] == ["indeterminate"]


def test_known_payer_gets_real_requirements(fhir_fixtures: Path) -> None:
    """Pointed at Northwind, the oxygen order needs PA and the mammography does not."""
    body = load(fhir_fixtures, "CRDServiceRequest.json")
    coverage = body["prefetch"]["coverage"]["entry"][0]["resource"]
    coverage["payor"] = [
        {"reference": "Organization/northwind-health", "display": "Northwind Health Plan"}
    ]
    response = answer(body)
    by_order = {
        a["resource"]["id"]: read_coverage_information(a["resource"])
        for a in response["systemActions"]
    }
    (oxygen,) = by_order["2468"]
    assert oxygen["pa-needed"] == ["auth-needed"]
    assert oxygen["billingCode"] == [
        {"system": "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "E0431"}
    ]
    assert oxygen["doc-needed"] == ["clinical"]
    mammography = by_order["1357"]
    assert [i["pa-needed"] for i in mammography] == [["no-auth"]]
    assert len(mammography[0]["billingCode"]) == 4
    warning = [c for c in response["cards"] if c["indicator"] == "warning"]
    assert len(warning) == 1
    assert "E0431" in warning[0]["summary"]
    assert "555-0101" in warning[0]["detail"]


def test_response_fixtures_read_back(fhir_fixtures: Path) -> None:
    """The IG and Inferno coverage-information examples parse with our reader."""
    ig = load(fhir_fixtures, "CRDServiceResponse.json")
    (info,) = read_coverage_information(ig["systemActions"][0]["resource"])
    assert info["covered"] == ["covered"]
    assert info["pa-needed"] == ["satisfied"]
    assert [c["code"] for c in info["billingCode"]] == ["77065", "77066", "77067"]
    inferno = load(fhir_fixtures, "coverage_info_system_action_conditional.json")
    (info,) = read_coverage_information(inferno["resource"])
    assert info["covered"] == ["conditional"]
    assert info["doc-needed"] == ["clinical"]
    assert info["info-needed"] == ["performer"]
    assert info["date"] == ["2026-01-12"]
    assert len(info["coverage-assertion-id"][0]) == 64
    second = load(fhir_fixtures, "CRDServiceResponse2.json")
    assert all(
        not read_coverage_information(a.get("resource", {}))
        for a in second.get("systemActions", [])
    )


def test_discovery_document_covers_the_ig_hooks(fhir_fixtures: Path) -> None:
    """Our discovery lists the same six hooks as the IG's example, each with prefetch."""
    ig_hooks = {s["hook"] for s in load(fhir_fixtures, "CRDServices.json")["services"]}
    ours = discovery_document()["services"]
    assert {s["hook"] for s in ours} == ig_hooks == set(HOOKS)
    assert all(s["prefetch"]["coverage"].startswith("Coverage?patient=") for s in ours)
    assert COVERAGE_INFORMATION.endswith("ext-coverage-information")
