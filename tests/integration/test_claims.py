"""The billing gate on both backends: coverage by code, dates and units; posting uses units."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from precert.domain.authorization import Role
from tests.factories import REQUEST_BODY, request_body
from tests.integration.conftest import READY_OVERRIDE, Tenant

PATIENT = REQUEST_BODY["patient"]["id"]


def approved(client: TestClient, tenant: Tenant, units: str = "4") -> str:
    line = {
        **REQUEST_BODY["service_lines"][0],
        "code": "97110",
        "units": units,
        "service_end": "2026-04-30",
    }
    rid = client.post(
        "/v1/authorizations", json=request_body(service_lines=[line]), headers=tenant.auth()
    ).json()["id"]
    decision = {
        "decision": "approved",
        "certification_number": "NW-CERT-1",
        "authorized_units": "3",
        "valid_from": "2026-03-20",
        "valid_to": "2026-04-30",
    }
    for path, body in [
        ("ready", READY_OVERRIDE),
        ("submission", {"channel": "portal"}),
        ("determination", {"lines": {"0": decision}}),
    ]:
        assert (
            client.post(
                f"/v1/authorizations/{rid}/{path}", json=body, headers=tenant.auth(Role.MANAGER)
            ).status_code
            == 200
        )
    return rid


def claim(
    code: str = "97110", day: str = "2026-04-01", units: str = "1", **extra: Any
) -> dict[str, Any]:
    return {
        "patient_id": PATIENT,
        "payer_id": "northwind-health",
        "lines": [{"code_system": "CPT", "code": code, "service_date": day, "units": units}],
        **extra,
    }


def test_claim_check_verdicts(client: TestClient, tenant: Tenant) -> None:
    """Covered within dates and units; refused for another code, date or too many units."""
    approved(client, tenant)
    check = client.post("/v1/claims/check", json=claim(), headers=tenant.auth()).json()
    assert check["covered"] is True
    assert check["lines"][0]["certification_number"] == "NW-CERT-1"
    assert check["lines"][0]["units_remaining"] == "3"
    verdicts = {
        "no_authorization": claim(code="72148"),
        "outside_validity": claim(day="2026-05-01"),
        "units_exhausted": claim(units="4"),
    }
    for verdict, body in verdicts.items():
        line = client.post("/v1/claims/check", json=body, headers=tenant.auth()).json()["lines"][0]
        assert (line["covered"], line["verdict"]) == (False, verdict), line


def test_posting_uses_units_once(client: TestClient, tenant: Tenant) -> None:
    """Posting uses units; a repeat of the claim does not; an uncovered claim stores nothing."""
    rid = approved(client, tenant)
    posted = client.post(
        "/v1/claims/post", json=claim(units="2", claim_reference="CLM-1"), headers=tenant.auth()
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["lines"][0]["units_remaining"] == "3"  # before this claim
    again = client.post(
        "/v1/claims/post", json=claim(units="2", claim_reference="CLM-1"), headers=tenant.auth()
    )
    assert again.status_code == 200
    assert "already posted" in again.json()["lines"][0]["reason"]
    left = client.post("/v1/claims/check", json=claim(), headers=tenant.auth()).json()
    assert left["lines"][0]["units_remaining"] == "1"
    refused = client.post(
        "/v1/claims/post", json=claim(units="2", claim_reference="CLM-2"), headers=tenant.auth()
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/lines/0"
    timeline = client.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()["timeline"]
    assert [e["type"] for e in timeline].count("authorization.units_consumed") == 1
