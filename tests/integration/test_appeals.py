"""A denial appealed through two levels, with the options priced and a PDF letter produced."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from precert.adapters.letters import appeal_letter_pdf
from precert.bootstrap import Precert
from precert.domain.appeals import AppealLevel, PolicyCitation
from precert.domain.authorization import Actor, AuthorizationRequest, Role
from precert.domain.errors import DomainError
from precert.services import appeals
from precert.services.access import AccessContext, Forbidden
from tests.factories import request_body
from tests.integration.conftest import READY_OVERRIDE, Tenant

DENIAL = {
    "decision": "denied",
    "reason_code": "CONSERVATIVE",
    "reason_text": "Six weeks of conservative therapy are not documented.",
}
RATIONALE = "Eight weeks of physical therapy failed.\n\nPain radiates below the knee."
CITATION = PolicyCitation(
    rule_id="northwind-imaging-lumbar-mri",
    description="Lumbar MRI requires six weeks of failed conservative therapy",
    source="Northwind medical policy IMG-012 (fictional example)",
)


def cite(_: AuthorizationRequest, index: int) -> PolicyCitation | None:
    return CITATION if index == 0 else None


def denied_request(client: TestClient, tenant: Tenant) -> str:
    rid = client.post("/v1/authorizations", json=request_body(), headers=tenant.auth()).json()["id"]
    for path, body in [
        ("ready", READY_OVERRIDE),
        ("submission", {"channel": "portal"}),
        ("determination", {"lines": {"0": DENIAL}, "payer_reference": "NW-778812"}),
    ]:
        response = client.post(
            f"/v1/authorizations/{rid}/{path}", json=body, headers=tenant.auth(Role.MANAGER)
        )
        assert response.status_code == 200, response.text
    return rid


def context(tenant: Tenant, role: Role = Role.COORDINATOR) -> AccessContext:
    return AccessContext(tenant.organization_id, Actor(id="user:a", role=role), "test")


def test_denial_appealed_through_two_levels_with_letter(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """Options are priced, the letter quotes the denial and the rule, two levels are walked."""
    rid = denied_request(client, tenant)
    with precert.uow() as uow:
        options = appeals.appeal_options(uow, context(tenant), rid, precert.clock)
    assert [o.level for o in options] == list(AppealLevel)
    first = options[0]
    assert first.amount_at_stake == pytest.approx(1850)
    assert first.expected_value == first.probability * first.amount_at_stake - first.staff_cost

    with precert.uow() as uow:
        drafted = appeals.draft_appeal_letter(
            uow,
            context(tenant),
            rid,
            level=AppealLevel.FIRST_LEVEL,
            clinical_rationale=RATIONALE,
            enclosures=["Physical therapy notes, 2026-01-05 to 2026-03-01"],
            clock=precert.clock,
            cite=cite,
            render_pdf=appeal_letter_pdf,
        )
    assert drafted.pdf.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(drafted.pdf)).pages)
    text = " ".join(text.split())
    for expected in [
        "Request for first-level appeal",
        "Six weeks of conservative therapy are not documented.",
        "northwind-imaging-lumbar-mri",
        "Lumbar MRI requires six weeks of failed conservative therapy",
        "Eight weeks of physical therapy failed.",
        "Physical therapy notes",
        "NW-778812",
        "M54.50 Low back pain, unspecified",
        "CPT 72148",
    ]:
        assert expected in text, expected

    moves = [
        ("appeal", {"level": "first_level", "reason": "letter sent"}),
        ("appeal-outcome", {"overturned": False, "note": "upheld"}),
        ("appeal", {"level": "peer_to_peer", "reason": "physician call"}),
    ]
    for path, body in moves:
        response = client.post(f"/v1/authorizations/{rid}/{path}", json=body, headers=tenant.auth())
        assert response.status_code == 200, response.text
    with precert.uow() as uow:
        appeals.schedule_peer_to_peer(
            uow,
            context(tenant),
            rid,
            at=precert.clock.now() + timedelta(days=2),
            payer_contact="Dr. Medical Director, 555-0100",
            physician="Dr. Riley Example",
            clock=precert.clock,
        )
        appeals.record_peer_to_peer(
            uow,
            context(tenant),
            rid,
            outcome="director agreed",
            notes="PT notes reviewed",
            minutes=20,
            clock=precert.clock,
        )
    final = client.post(
        f"/v1/authorizations/{rid}/appeal-outcome", json={"overturned": True}, headers=tenant.auth()
    )
    assert final.json()["status"] == "approved"
    timeline = client.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()["timeline"]
    types = [e["type"] for e in timeline]
    assert "authorization.appeal_letter_drafted" in types
    assert types.index("authorization.peer_to_peer_held") < len(types) - 1
    assert final.json()["appeal_levels_attempted"] == ["first_level", "peer_to_peer"]


def test_only_contested_requests_have_appeal_options(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """A draft cannot be appealed; a clinician may not price appeals."""
    rid = client.post("/v1/authorizations", json=request_body(), headers=tenant.auth()).json()["id"]
    with precert.uow() as uow, pytest.raises(DomainError, match="'draft'"):
        appeals.appeal_options(uow, context(tenant), rid, precert.clock)
    with precert.uow() as uow, pytest.raises(Forbidden):
        appeals.appeal_options(uow, context(tenant, Role.CLINICIAN), rid, precert.clock)


def test_letter_route_cites_the_payers_own_rule(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """Over HTTP, the letter cites the shipped pack's deciding rule for a lumbar MRI."""
    rid = denied_request(client, tenant)
    options = client.get(f"/v1/authorizations/{rid}/appeal-options", headers=tenant.auth())
    assert options.status_code == 200
    assert [o["level"] for o in options.json()][:2] == ["first_level", "peer_to_peer"]
    response = client.post(
        f"/v1/authorizations/{rid}/appeal-letter",
        json={"level": "first_level", "clinical_rationale": RATIONALE, "enclosures": []},
        headers=tenant.auth(),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "nw-advanced-imaging" in text
    assert "None beyond this letter." in text
