"""End to end on loopback over X12: precert's API, the X12 gateway and the sandbox's 278/270."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import Precert
from precert.domain.authorization import Role
from precert.interop.x12 import parse
from precert.interop.x12.transactions import Acknowledgment, read
from precert.sandbox.server import SandboxServer
from precert.services.submission import inquire_quiet_pended
from tests.factories import REQUEST_BODY, VALID_NPI
from tests.integration.conftest import Tenant
from tests.integration.test_submission import (
    GOLD_CARD_NPI,
    Live,
    fast_sandbox,
    member,
    ready_request,
    sandbox_claims,
    serve,
    slow_sandbox,
    submit,
    wait_for,
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """This module's sandbox payer (X12 endpoints under ``/x12``)."""
    with fast_sandbox(tmp_path_factory.mktemp("sandbox-x12")) as server:
        yield server


@pytest.fixture
def live(precert: Precert) -> Iterator[Live]:
    """precert served over real HTTP."""
    with serve(precert) as served:
        yield served


def connect_x12(
    live: Live, tenant: Tenant, sandbox: SandboxServer, *, timeout: float = 5.0
) -> None:
    """Configure the tenant's northwind-health connection as X12 to the sandbox (as an admin)."""
    answer = live.http.put(
        "/v1/payer-connections/northwind-health",
        json={
            "format": "x12-278",
            "endpoint": f"{sandbox.base_url}/x12",
            "organization_identifier": VALID_NPI,
            "timeout_seconds": timeout,
            "max_attempts": 4,
        },
        headers=tenant.auth(Role.ADMIN),
    )
    assert answer.is_success, answer.text


def x12_claims(sandbox: SandboxServer, who: str) -> list[dict[str, Any]]:
    """The sandbox's X12 claims for a member."""
    return [c for c in sandbox_claims(sandbox, who) if c["format"] == "x12"]


def get(live: Live, tenant: Tenant, rid: str) -> dict[str, Any]:
    """The request as the API shows it."""
    body: dict[str, Any] = live.http.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()
    return body


def test_pended_then_approved_by_resending_the_278(
    live: Live, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """A pended 278 is approved when the follow-up re-sends it after the payer decided."""
    connect_x12(live, tenant, sandbox)
    who = member("pend-then-approve")
    rid = ready_request(live, tenant, who)
    answer = submit(live, tenant, rid)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "pended"
    assert body["service_lines"][0]["determination"]["x12_action"] == "A4"
    wait_for(lambda: x12_claims(sandbox, who)[0]["status"] == "decided")

    def uow() -> SqlPayerUnitOfWork:
        return SqlPayerUnitOfWork(live.precert.engine)

    asked = inquire_quiet_pended(
        uow, tenant.organization_id, live.settings, live.precert.clock, quiet_for=timedelta(0)
    )
    assert [(a.authorization_id, a.status.value, a.changed) for a in asked] == [
        (rid, "approved", True)
    ]
    line = get(live, tenant, rid)["service_lines"][0]["determination"]
    assert (line["x12_action"], line["certification_number"][:3]) == ("A1", "SBX")
    claims = x12_claims(sandbox, who)
    assert len(claims) == 1  # the re-sent 278 found the case on file, it opened no new one


def test_gold_card_is_certified_by_the_same_packs(
    live: Live, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """Over X12 the policy scenario certifies a gold-card practitioner's MRI at once."""
    connect_x12(live, tenant, sandbox)
    provider = {**REQUEST_BODY["requesting_provider"], "npi": GOLD_CARD_NPI}
    rid = ready_request(live, tenant, "NW-X12-GOLD", requesting_provider=provider)
    body = submit(live, tenant, rid).json()
    assert body["status"] == "approved"
    determination = body["service_lines"][0]["determination"]
    assert determination["x12_action"] == "A1"
    assert "gold-card" in determination["reason_text"].lower()


def test_denied_with_a_specific_reason(live: Live, tenant: Tenant, sandbox: SandboxServer) -> None:
    """An X12 denial (HCR01 A3) is recorded with the payer's reason text."""
    connect_x12(live, tenant, sandbox)
    rid = ready_request(live, tenant, member("deny-not-medically-necessary"))
    body = submit(live, tenant, rid).json()
    assert body["status"] == "denied"
    determination = body["service_lines"][0]["determination"]
    assert determination["x12_action"] == "A3"
    assert "Not medically necessary" in determination["reason_text"]


def test_partial_approval_per_line(live: Live, tenant: Tenant, sandbox: SandboxServer) -> None:
    """Two 2000F lines, one A1 and one A3, make a partial approval."""
    connect_x12(live, tenant, sandbox)
    line = REQUEST_BODY["service_lines"][0]
    rid = ready_request(
        live, tenant, member("partial-approval"), service_lines=[line, {**line, "code": "72158"}]
    )
    body = submit(live, tenant, rid).json()
    assert body["status"] == "partially_approved"
    actions = [ln["determination"]["x12_action"] for ln in body["service_lines"]]
    assert actions == ["A1", "A3"]


def test_aaa_rejection_returns_the_request_to_ready(
    live: Live, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """An AAA (subscriber not found, 75) is a refusal: one attempt, back to READY with code 75."""
    connect_x12(live, tenant, sandbox)
    rid = ready_request(live, tenant, "NW-X12-NOTFOUND")
    body = submit(live, tenant, rid).json()
    assert body["status"] == "ready"
    last = get(live, tenant, rid)["timeline"][-1]
    assert (last["type"], last["payload"]["code"]) == ("authorization.ready", "75"), last
    with SqlPayerUnitOfWork(live.precert.engine) as uow:
        attempts = uow.payers.attempts(tenant.organization_id, rid)
    assert [a.outcome for a in attempts] == ["rejected"]
    assert "AAA 75 in loop 2010C" in attempts[0].detail


@pytest.mark.parametrize(
    ("scenario", "faults"),
    [
        ("flaky", ["5xx", "5xx", ""]),
        ("slow", ["late", "replay"]),
        ("garbled", ["malformed", "replay"]),
    ],
)
def test_retries_submit_exactly_once(
    live: Live, tenant: Tenant, sandbox: SandboxServer, scenario: str, faults: list[str]
) -> None:
    """Under 503s, timeouts and cut bodies the 278 is re-sent and the payer holds one case."""
    connect_x12(live, tenant, sandbox, timeout=0.5)
    who = member(scenario)
    rid = ready_request(live, tenant, who)
    body = submit(live, tenant, rid).json()
    # Policy pends an MRI without documentation; a replay answers the case's current status,
    # which the payer may have decided while the client waited for its timeout.
    assert body["status"] in ("pended", "approved")
    claims = x12_claims(sandbox, who)
    assert len(claims) == 1
    assert [r[2] for r in claims[0]["receipts"]] == faults
    with SqlPayerUnitOfWork(live.precert.engine) as uow:
        attempts = uow.payers.attempts(tenant.organization_id, rid)
    assert [a.outcome for a in attempts] == ["retryable"] * (len(faults) - 1) + ["answered"]
    assert {(a.idempotency_key, a.channel) for a in attempts} == {
        (claims[0]["key"][-36:], "x12-278")
    }


def test_cancelled_at_the_payer(live: Live, tenant: Tenant, tmp_path: Path) -> None:
    """A 278 with certification type 3 withdraws a pended case; every line comes back C."""
    with slow_sandbox(tmp_path) as slow:
        connect_x12(live, tenant, slow)
        who = member("pend-then-approve")
        rid = ready_request(live, tenant, who)
        assert submit(live, tenant, rid).json()["status"] == "pended"
        answer = live.http.post(
            f"/v1/authorizations/{rid}/cancel-at-payer",
            json={"reason": "procedure cancelled"},
            headers=tenant.auth(),
        )
        assert answer.json()["status"] == "cancelled", answer.text
        statuses = sorted(c["status"] for c in x12_claims(slow, who))
    assert statuses == ["cancel", "cancelled"]


def test_eligibility_by_270_is_recorded(live: Live, tenant: Tenant, sandbox: SandboxServer) -> None:
    """A 270/271 exchange records active coverage, the plan year and auth-required per line."""
    connect_x12(live, tenant, sandbox)
    rid = ready_request(live, tenant, "NW-X12-ELIG")
    answer = live.http.post(f"/v1/authorizations/{rid}/eligibility", headers=tenant.auth())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["active"], body["source"]) == (True, "x12")
    assert (body["plan_start"][5:], body["plan_end"][5:]) == ("01-01", "12-31")
    assert [(s["service"], s["auth_required"]) for s in body["services"]] == [("72148", True)]
    event = get(live, tenant, rid)["timeline"][-1]
    assert event["type"] == "authorization.eligibility_checked"
    assert event["payload"]["active"] is True


def test_terminated_member_is_inactive_by_271(
    live: Live, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """A member id ending in -TERM comes back inactive (EB01 6) in the 271."""
    connect_x12(live, tenant, sandbox)
    rid = ready_request(live, tenant, "NW-X12-TERM")
    body = live.http.post(f"/v1/authorizations/{rid}/eligibility", headers=tenant.auth()).json()
    assert body["active"] is False


def test_sandbox_answers_a_broken_278_with_a_rejecting_999(sandbox: SandboxServer) -> None:
    """A 278 whose SE count is wrong gets only a 999 with IK5 R, and no 278 response."""
    text = (
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*NWH01          *260101*1200*^*"
        "00501*000000001*0*T*:~GS*HI*SUBMITTER*NWH01*20260101*1200*1*X*005010X217~"
        "ST*278*0001*005010X217~BHT*0007*13*REF1*20260101*1200~SE*99*0001~GE*1*1~"
        "IEA*1*000000001~"
    )
    reply = httpx.post(f"{sandbox.base_url}/x12/278", content=text)
    assert reply.status_code == 200
    sets = parse(reply.content).transactions
    assert [t.set_id for t in sets] == ["999"]
    ack = read(sets[0])
    assert isinstance(ack, Acknowledgment)
    assert ack.sets[0].status == "R"
