"""CRD through the real app and a real key: discovery, a published order-sign call, bad calls."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from precert.bootstrap import Precert
from precert.domain.authorization import Role
from tests.conftest import SHARED_FIXTURES
from tests.integration.conftest import Tenant

COVERAGE_INFORMATION = (
    "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
)


def test_order_sign_fixture_through_the_app(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """The CRD IG's order-sign example gets coverage information on every order; audited."""
    discovery = client.get("/cds-services").json()
    hooks = {s["hook"] for s in discovery["services"]}
    assert {"order-sign", "order-select", "order-dispatch", "appointment-book"} <= hooks
    service = next(s["id"] for s in discovery["services"] if s["hook"] == "order-sign")
    body = json.loads((SHARED_FIXTURES / "fhir" / "CRDServiceRequest.json").read_text())
    answer = client.post(
        f"/cds-services/{service}", json=body, headers=tenant.auth(Role.INTEGRATION)
    )
    assert answer.status_code == 200, answer.text
    actions = answer.json()["systemActions"]
    assert actions
    for action in actions:
        extensions = action["resource"]["extension"]
        info = [e for e in extensions if e["url"] == COVERAGE_INFORMATION]
        assert info
        parts = {p["url"] for p in info[0]["extension"]}
        assert {"covered", "pa-needed", "date", "coverage-assertion-id"} <= parts
    with precert.uow() as uow:
        [entry] = uow.audit.entries(tenant.organization_id, subject_id=body["context"]["patientId"])
    assert (entry.action, entry.subject_type, entry.actor_role) == (
        "read",
        "patient",
        Role.INTEGRATION,
    )
    assert entry.detail == {"hook": "order-sign"}


def test_malformed_hook_calls_get_cds_errors(client: TestClient, tenant: Tenant) -> None:
    """No key is 401; a call without context is a 400 naming the path, never a crash."""
    discovery = client.get("/cds-services").json()
    service = next(s["id"] for s in discovery["services"] if s["hook"] == "order-sign")
    assert client.post(f"/cds-services/{service}", json={}).status_code == 401
    bad = client.post(
        f"/cds-services/{service}",
        json={"hook": "order-sign", "hookInstance": "x"},
        headers=tenant.auth(Role.INTEGRATION),
    )
    assert bad.status_code == 400
    assert "context" in bad.json()["detail"]
