"""The scheduling gate on both backends: hold until approval, one draft per appointment."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from precert.domain.authorization import Role
from tests.factories import REQUEST_BODY, request_body
from tests.integration.conftest import READY_OVERRIDE, Tenant


def appointment(code: str = "72148", appointment_id: str = "APT-1") -> dict[str, Any]:
    line = {**REQUEST_BODY["service_lines"][0], "code": code}
    return {**request_body(service_lines=[line]), "appointment_id": appointment_id}


def test_no_auth_needed_confirms(client: TestClient, tenant: Tenant) -> None:
    """An office visit needs no authorization: confirm, and no draft is opened."""
    body = appointment(code="99213")
    result = client.post("/v1/scheduling/check", json=body, headers=tenant.auth()).json()
    assert result["verdict"] == "confirm"
    assert result["authorization_id"] is None
    assert result["lines"][0]["needs_authorization"] is False
    listed = client.get("/v1/authorizations", headers=tenant.auth()).json()
    assert listed["items"] == []


def test_hold_until_approved_then_confirm(client: TestClient, tenant: Tenant) -> None:
    """A lumbar MRI is held, its draft opened once, and confirmed after approval."""
    first = client.post("/v1/scheduling/check", json=appointment(), headers=tenant.auth())
    assert first.status_code == 200, first.text
    held = first.json()
    assert held["verdict"] == "hold"
    assert held["lines"][0]["needs_authorization"] is True
    assert held["lines"][0]["submit_by"] == "2026-03-18"
    rid = held["authorization_id"]
    again = client.post("/v1/scheduling/check", json=appointment(), headers=tenant.auth()).json()
    assert again["authorization_id"] == rid
    assert len(client.get("/v1/authorizations", headers=tenant.auth()).json()["items"]) == 1
    decision = {"decision": "approved", "certification_number": "NW-9"}
    manager = tenant.auth(Role.MANAGER)
    for path, body in [
        ("ready", READY_OVERRIDE),
        ("submission", {"channel": "portal"}),
        ("determination", {"lines": {"0": decision}}),
    ]:
        client.post(f"/v1/authorizations/{rid}/{path}", json=body, headers=manager)
    confirmed = client.post(
        "/v1/scheduling/check", json=appointment(), headers=tenant.auth()
    ).json()
    assert confirmed["verdict"] == "confirm"
    assert confirmed["lines"][0]["authorization_id"] == rid
    client.post("/v1/scheduling/check", json=appointment(), headers=tenant.auth())
    timeline = client.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()["timeline"]
    types = [e["type"] for e in timeline]
    assert types.count("authorization.appointment_held") == 1
    assert types.count("authorization.appointment_released") == 1
