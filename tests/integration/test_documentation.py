"""Documentation and readiness on both backends: pre-filled forms, answers, documents, blockers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from precert.bootstrap import Precert
from precert.domain.authorization import Actor, Role
from tests.factories import request_body
from tests.integration.conftest import Tenant

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
ANSWERS: dict[str, dict[str, Any]] = {
    "imaging-clinical-notes": {
        "symptoms": "Low back pain for 9 weeks, radiating to the left leg",
        "exam": "Positive straight-leg raise on the left",
        "red-flags": False,
    },
    "conservative-therapy": {
        "therapies": ["physical-therapy", "nsaids"],
        "weeks": 8,
        "outcome": "no-improvement",
    },
    "prior-imaging-results": {
        "document-date": "2026-01-15",
        "summary": "Lumbar X-ray: mild degenerative change",
    },
}


def open_mri(client: TestClient, tenant: Tenant) -> str:
    created = client.post("/v1/authorizations", json=request_body(), headers=tenant.auth())
    return str(created.json()["id"])


def record_eligibility(precert: Precert, tenant: Tenant, rid: str, active: bool) -> None:
    """What a 271 or CoverageEligibilityResponse leaves on the request (its event)."""
    with precert.uow() as uow:
        request = uow.authorizations.get(tenant.organization_id, rid)
        request.record_note(
            Actor(id="payer:northwind-health", role=Role.INTEGRATION),
            precert.clock.now(),
            "authorization.eligibility_checked",
            active=active,
            plan_start="2026-01-01",
            plan_end="2026-12-31",
            source="x12-271",
            services=[],
        )
        uow.authorizations.save(request)
        uow.commit()


def test_checklist_is_prefilled_from_the_request(client: TestClient, tenant: Tenant) -> None:
    """A lumbar MRI needs three items; what the request already says is filled in."""
    rid = open_mri(client, tenant)
    checklist = client.get(f"/v1/authorizations/{rid}/documentation", headers=tenant.auth())
    assert checklist.status_code == 200, checklist.text
    body = checklist.json()
    items = {i["item_id"]: i for i in body["items"]}
    assert set(items) == set(ANSWERS)
    assert body["score"] == "0.00"
    notes = items["imaging-clinical-notes"]
    assert notes["prefilled"] is True
    assert notes["answers"] == {"diagnoses": ["M54.50"], "services": ["72148"]}
    assert notes["questionnaire"]["resourceType"] == "Questionnaire"
    assert "Symptoms and their duration" in notes["missing_answers"]


def test_answers_are_validated_per_question(client: TestClient, tenant: Tenant) -> None:
    """A wrong answer names its question; an item not required is not found."""
    rid = open_mri(client, tenant)
    wrong = client.put(
        f"/v1/authorizations/{rid}/documentation/conservative-therapy",
        json={"answers": {"weeks": "eight", "outcome": "cured"}},
        headers=tenant.auth(),
    )
    assert wrong.status_code == 422
    pointers = {e["pointer"] for e in wrong.json()["errors"]}
    assert pointers == {"/answers/weeks", "/answers/outcome"}
    missing = client.put(
        f"/v1/authorizations/{rid}/documentation/bmi-history",
        json={"answers": {}},
        headers=tenant.auth(),
    )
    assert missing.status_code == 404


def test_documents_are_checked_by_content_and_stored_once(
    client: TestClient, tenant: Tenant
) -> None:
    """A PDF is stored with its checksum; the same bytes twice once; text named .pdf refused."""
    rid = open_mri(client, tenant)
    url = f"/v1/authorizations/{rid}/attachments?item_id=conservative-therapy&filename=pt.pdf"
    headers = {**tenant.auth(), "content-type": "application/pdf"}
    first = client.post(url, content=PDF, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["content_type"] == "application/pdf"
    assert first.json()["new"] is True
    again = client.post(url, content=PDF, headers=headers)
    assert again.json() | {"new": True} == first.json()
    assert again.json()["new"] is False
    fake = client.post(url, content=b"not really a pdf", headers=headers)
    assert fake.status_code == 422
    assert "judged by its content" in fake.json()["errors"][0]["detail"]
    download = client.get(
        f"/v1/authorizations/{rid}/attachments/{first.json()['id']}", headers=tenant.auth()
    )
    assert download.content == PDF
    assert download.headers["x-content-sha256"] == first.json()["sha256"]
    too_big = client.post(url, content=b"%PDF-" + b"0" * (21 * 1024 * 1024), headers=headers)
    assert too_big.status_code == 413


def test_readiness_blocks_until_complete_or_overridden(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """Blockers are listed; completing everything clears them; only a manager may override."""
    rid = open_mri(client, tenant)
    readiness = client.get(f"/v1/authorizations/{rid}/readiness", headers=tenant.auth()).json()
    assert readiness["ready"] is False
    assert {b["code"] for b in readiness["blockers"]} == {
        "eligibility_not_verified",
        "documentation_incomplete",
    }
    refused = client.post(f"/v1/authorizations/{rid}/ready", json={}, headers=tenant.auth())
    assert refused.status_code == 409
    assert refused.json()["blockers"][0]["code"] == "eligibility_not_verified"
    coordinator_override = client.post(
        f"/v1/authorizations/{rid}/ready",
        json={"override_reason": "payer confirmed by phone"},
        headers=tenant.auth(),
    )
    assert coordinator_override.status_code == 403

    record_eligibility(precert, tenant, rid, active=True)
    for item_id, answers in ANSWERS.items():
        answered = client.put(
            f"/v1/authorizations/{rid}/documentation/{item_id}",
            json={"answers": answers},
            headers=tenant.auth(),
        )
        assert answered.status_code == 200, answered.text
        client.post(
            f"/v1/authorizations/{rid}/attachments?item_id={item_id}&filename=a.pdf",
            content=PDF + item_id.encode(),
            headers={**tenant.auth(), "content-type": "application/pdf"},
        )
    readiness = client.get(f"/v1/authorizations/{rid}/readiness", headers=tenant.auth()).json()
    assert readiness == {"ready": True, "blockers": [], "documentation_score": "1.00"}
    ready = client.post(f"/v1/authorizations/{rid}/ready", json={}, headers=tenant.auth())
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_manager_override_is_recorded(client: TestClient, precert: Precert, tenant: Tenant) -> None:
    """Inactive coverage blocks; a manager's override records the reason and the blockers."""
    rid = open_mri(client, tenant)
    record_eligibility(precert, tenant, rid, active=False)
    overridden = client.post(
        f"/v1/authorizations/{rid}/ready",
        json={"override_reason": "retro-active coverage confirmed by the payer on the phone"},
        headers=tenant.auth(Role.MANAGER),
    )
    assert overridden.status_code == 200
    timeline = client.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()["timeline"]
    override = next(e for e in timeline if e["type"] == "authorization.readiness_overridden")
    assert override["actor_role"] == "manager"
    assert {b["code"] for b in override["payload"]["blockers"]} >= {"coverage_inactive"}


def test_saved_answers_keep_the_requests_context(client: TestClient, tenant: Tenant) -> None:
    """After saving, read-only context is still shown, and repeating answers stay lists."""
    rid = open_mri(client, tenant)
    saved = client.put(
        f"/v1/authorizations/{rid}/documentation/imaging-clinical-notes",
        json={"answers": {**ANSWERS["imaging-clinical-notes"], "diagnoses": ["M54.50"]}},
        headers=tenant.auth(),
    )
    assert saved.status_code == 200, saved.text
    item = next(i for i in saved.json()["items"] if i["item_id"] == "imaging-clinical-notes")
    assert item["answers"]["diagnoses"] == ["M54.50"]
    assert item["answers"]["services"] == ["72148"]
    assert item["prefilled"] is False


def test_a_code_cms_retired_before_the_service_blocks_readiness(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """A HCPCS code terminated before the date of service (CMS file) is a readiness blocker
    that names the code, its description and the termination date; a current code is not."""
    line = {**request_body()["service_lines"][0], "code_system": "HCPCS", "place_of_service": "12"}
    retired = {**line, "code": "E0450"}  # volume ventilator, terminated 2015-12-31
    current = {**line, "code": "E0465"}
    body = request_body(category="dme", service_lines=[retired, current])
    rid = str(client.post("/v1/authorizations", json=body, headers=tenant.auth()).json()["id"])
    readiness = client.get(f"/v1/authorizations/{rid}/readiness", headers=tenant.auth()).json()
    coding = [b for b in readiness["blockers"] if b["code"] == "code_terminated"]
    assert len(coding) == 1
    assert coding[0]["message"].startswith("HCPCS E0450 (")
    assert "was terminated on 2015-12-31" in coding[0]["message"]
    refused = client.post(f"/v1/authorizations/{rid}/ready", json={}, headers=tenant.auth())
    assert refused.status_code == 409
    assert "code_terminated" in {b["code"] for b in refused.json()["blockers"]}
