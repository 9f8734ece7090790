"""The whole life of a request on loopback, through precert's API and the sandbox payer.

Appointment held → draft opened → documentation pre-filled then completed → eligibility
verified → ready without override → submitted → pended → follow-up task opened →
approved by the payer's notification → appointment confirmed → claim checked and its
units used.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from precert.bootstrap import Precert
from precert.domain.authorization import Role
from precert.sandbox.app import SandboxConfig
from precert.sandbox.server import SandboxServer
from tests.conftest import T0
from tests.factories import REQUEST_BODY, request_body
from tests.integration.conftest import Tenant
from tests.integration.test_documentation import ANSWERS, PDF
from tests.integration.test_submission import Live, connect, member, serve, wait_for


class PayerClock:
    """The sandbox payer's clock: the test's calendar (T0), moved on only when the test says.

    The payer decides pended cases a minute after pending them; the test moves the clock
    past that once it has looked at the pended request, so a loaded machine cannot see the
    decision arrive before the follow-up scan.
    """

    def __init__(self) -> None:
        self.elapsed = timedelta(0)

    def now(self) -> datetime:
        return T0 + self.elapsed


@pytest.fixture
def payer_clock() -> PayerClock:
    return PayerClock()


@pytest.fixture
def sandbox(tmp_path: Path, payer_clock: PayerClock) -> Iterator[SandboxServer]:
    """The sandbox payer on the test's calendar, deciding pends after a minute of its clock."""
    config = SandboxConfig(
        database_url=f"sqlite:///{tmp_path / 'sandbox.db'}",
        decision_delay_seconds=60,
        delivery_interval=0.05,
    )
    with SandboxServer(config, now=payer_clock.now) as server:
        yield server


@pytest.fixture
def live(precert: Precert) -> Iterator[Live]:
    """precert over real HTTP, so the sandbox can deliver its notification."""
    with serve(precert) as served:
        yield served


def test_appointment_to_claim(
    live: Live, tenant: Tenant, sandbox: SandboxServer, payer_clock: PayerClock
) -> None:
    """Every stage of prior authorization, in order, each through its public route."""
    http, auth = live.http, tenant.auth()
    assert connect(live, tenant, sandbox.fhir_base).status_code == 201
    who = member("pend-then-approve")
    patient = {**REQUEST_BODY["patient"], "member_id": who}
    coverage = {**REQUEST_BODY["coverage"], "member_id": who}
    appointment: dict[str, Any] = {
        **request_body(patient=patient, coverage=coverage),
        "appointment_id": f"APT-{who}",
    }

    held = http.post("/v1/scheduling/check", json=appointment, headers=auth).json()
    assert held["verdict"] == "hold"
    rid = held["authorization_id"]

    checklist = http.get(f"/v1/authorizations/{rid}/documentation", headers=auth).json()
    notes = next(i for i in checklist["items"] if i["item_id"] == "imaging-clinical-notes")
    assert notes["prefilled"] is True
    assert notes["answers"]["diagnoses"] == ["M54.50"]
    for item_id, answers in ANSWERS.items():
        assert (
            http.put(
                f"/v1/authorizations/{rid}/documentation/{item_id}",
                json={"answers": answers},
                headers=auth,
            ).status_code
            == 200
        )
        uploaded = http.post(
            f"/v1/authorizations/{rid}/attachments",
            params={"item_id": item_id, "filename": f"{item_id}.pdf"},
            content=PDF + item_id.encode(),
            headers={**auth, "content-type": "application/pdf"},
        )
        assert uploaded.status_code == 201, uploaded.text

    eligibility = http.post(f"/v1/authorizations/{rid}/eligibility", headers=auth)
    assert eligibility.status_code == 200, eligibility.text
    assert eligibility.json()["active"] is True
    readiness = http.get(f"/v1/authorizations/{rid}/readiness", headers=auth).json()
    assert readiness["ready"] is True, readiness
    assert http.post(f"/v1/authorizations/{rid}/ready", json={}, headers=auth).status_code == 200

    submitted = http.post(f"/v1/authorizations/{rid}/submit", headers=auth)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "pended"
    scan = http.post("/v1/tasks/scan", headers=auth)
    assert scan.status_code == 200, scan.text
    tasks = http.get("/v1/tasks", params={"authorization_id": rid}, headers=auth).json()
    kinds = {t["kind"] for t in tasks["items"] if t["authorization_id"] == rid}
    assert kinds & {"documentation_requested", "pended_too_long", "decision_overdue"}, tasks
    payer_clock.elapsed = timedelta(minutes=2)  # the payer's review is done

    def approved() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/authorizations/{rid}", headers=auth).json()
        return body if body["status"] == "approved" else None

    body = wait_for(approved)
    determination = body["service_lines"][0]["determination"]
    assert determination["x12_action"] == "A1"

    confirmed = http.post("/v1/scheduling/check", json=appointment, headers=auth).json()
    assert confirmed["verdict"] == "confirm", (confirmed, determination)
    claim = {
        "patient_id": patient["id"],
        "payer_id": coverage["payer_id"],
        "claim_reference": f"CLM-{who}",
        "lines": [
            {"code_system": "CPT", "code": "72148", "service_date": "2026-03-20", "units": "1"}
        ],
    }
    check = http.post(
        "/v1/claims/check",
        json={k: v for k, v in claim.items() if k != "claim_reference"},
        headers=auth,
    )
    assert check.json()["covered"] is True
    posted = http.post("/v1/claims/post", json=claim, headers=tenant.auth(Role.COORDINATOR))
    assert posted.status_code == 200, posted.text
    again = http.post(
        "/v1/claims/check",
        json={k: v for k, v in claim.items() if k != "claim_reference"},
        headers=auth,
    )
    assert again.json()["lines"][0]["verdict"] == "units_exhausted"

    types = [
        e["type"] for e in http.get(f"/v1/authorizations/{rid}", headers=auth).json()["timeline"]
    ]
    for expected in [
        "authorization.appointment_held",
        "authorization.documentation_updated",
        "authorization.document_attached",
        "authorization.eligibility_checked",
        "authorization.ready",
        "authorization.submitted",
        "authorization.determination_recorded",
        "authorization.appointment_released",
        "authorization.units_consumed",
    ]:
        assert expected in types, expected
    assert "authorization.readiness_overridden" not in types
