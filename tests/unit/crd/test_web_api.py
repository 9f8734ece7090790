"""The CDS Hooks and coverage-requirements routers, mounted on a bare app with stub wiring."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from precert.domain.authorization import Actor, Role
from precert.domain.tenancy import AuditEntry
from precert.policy import PolicyEngine, shipped_engine
from precert.services.access import AccessContext
from precert.web import problems
from precert.web.api import cds_hooks, coverage
from precert.web.deps import get_access, get_precert


@dataclass
class FixedClock:
    """A clock stopped at one instant."""

    instant: datetime = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The stopped instant."""
        return self.instant


@dataclass
class AuditLog:
    """An in-memory audit trail and unit of work: the routers' only store."""

    entries: list[AuditEntry] = field(default_factory=list)

    def record(self, entry: AuditEntry) -> None:
        """Keep the entry."""
        self.entries.append(entry)

    @property
    def audit(self) -> AuditLog:
        """The unit of work's audit trail is this log."""
        return self

    def commit(self) -> None:
        """Nothing to make durable in memory."""

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_: object) -> None:
        pass


@dataclass
class Wiring:
    """Just the parts of the app wiring these routers use."""

    policy: PolicyEngine = field(default_factory=shipped_engine)
    clock: FixedClock = field(default_factory=FixedClock)
    log: AuditLog = field(default_factory=AuditLog)

    def uow(self) -> AuditLog:
        """Every unit of work writes to the same in-memory log."""
        return self.log


def app_for(role: Role) -> FastAPI:
    """A FastAPI app with the two routers, acting as a caller with ``role``."""
    app = FastAPI()
    problems.install(app)
    app.include_router(cds_hooks.router)
    app.include_router(coverage.router)
    wiring = Wiring()
    app.dependency_overrides[get_precert] = lambda: wiring
    app.dependency_overrides[get_access] = lambda: AccessContext(
        "org", Actor(id="k", role=role), "test"
    )
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A client acting as an integration key."""
    with TestClient(app_for(Role.INTEGRATION)) as test_client:
        yield test_client


def test_discovery_and_fixture_call(client: TestClient, fhir_fixtures: Path) -> None:
    """Discovery lists six services and the IG's order-sign request is answered."""
    services = client.get("/cds-services").json()["services"]
    assert len(services) == 6
    body = json.loads((fhir_fixtures / "CRDServiceRequest.json").read_text())
    response = client.post("/cds-services/precert-crd-order-sign", json=body)
    assert response.status_code == 200
    assert len(response.json()["systemActions"]) == 2


@pytest.mark.parametrize(
    ("service", "body", "status", "path"),
    [
        ("precert-crd-order-sign", {"hook": "order-sign", "hookInstance": "x"}, 400, "$.context"),
        (
            "precert-crd-order-sign",
            {
                "hook": "order-select",
                "hookInstance": "x",
                "context": {"patientId": "p", "draftOrders": {"resourceType": "Bundle"}},
            },
            400,
            "$.hook",
        ),
        ("precert-crd-nope", {}, 404, None),
    ],
)
def test_malformed_hook_calls_get_problem_responses(
    client: TestClient, service: str, body: dict[str, Any], status: int, path: str | None
) -> None:
    """Bad calls answer 4xx problem+json with the JSON path, not a server error."""
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    if path:
        assert response.json()["path"] == path


def test_not_json_body(client: TestClient) -> None:
    """A body that is not JSON is a 400, not a crash."""
    response = client.post("/cds-services/precert-crd-order-sign", content=b"{nope")
    assert response.status_code == 400


def test_coverage_requirements(client: TestClient) -> None:
    """The REST endpoint answers per line with deadline, documents and deciding rule."""
    body = {
        "coverage": {
            "payer_id": "northwind-health",
            "plan": "Gold",
            "line_of_business": "commercial",
            "state": "MO",
        },
        "patient": {"birth_date": "1970-01-01", "sex": "female"},
        "lines": [
            {
                "code_system": "CPT",
                "code": "70553",
                "place_of_service": "11",
                "service_date": "2026-03-03",
                "diagnoses": ["G43.909"],
            },
            {
                "code_system": "CPT",
                "code": "99213",
                "place_of_service": "11",
                "service_date": "2026-03-20",
            },
        ],
    }
    response = client.post("/v1/coverage-requirements", json=body)
    assert response.status_code == 200, response.text
    mri, visit = response.json()["lines"]
    assert mri["pa_needed"] == "auth-needed"
    assert mri["submit_by"] == "2026-02-27"
    assert mri["deadline_missed"] is True
    assert mri["deciding_rule"] == "nw-advanced-imaging"
    assert "imaging-clinical-notes" in [d["id"] for d in mri["documentation"]]
    assert visit["pa_needed"] == "no-auth"
    assert response.json()["prior_auth_phone"] == "800-555-0101"


def test_coverage_requirements_rejects_unknown_payer_and_bad_code(client: TestClient) -> None:
    """An unknown payer and a malformed code are both reported with pointers."""
    body = {
        "coverage": {"payer_id": "acme", "line_of_business": "commercial", "state": "MO"},
        "patient": {"birth_date": "1970-01-01"},
        "lines": [
            {
                "code_system": "CPT",
                "code": "7055",
                "place_of_service": "11",
                "service_date": "2026-03-04",
            }
        ],
    }
    response = client.post("/v1/coverage-requirements", json=body)
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/coverage/payer_id", "/lines/0/code"}
    assert "northwind-health" in response.text


def test_role_without_permission_is_forbidden() -> None:
    """An auditor key may not call the discovery use case."""
    with TestClient(app_for(Role.AUDITOR)) as auditor:
        response = auditor.post("/cds-services/precert-crd-order-sign", json={})
    assert response.status_code == 403
