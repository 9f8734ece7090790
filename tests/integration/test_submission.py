"""End to end on loopback: precert's API and the sandbox payer, both real HTTP servers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from precert.adapters.payers.registry import GatewayRegistry
from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import Precert
from precert.domain.authorization import Role
from precert.sandbox.app import SandboxConfig
from precert.sandbox.server import SandboxServer, free_port
from precert.services.access import AccessContext
from precert.services.submission import (
    RetryPolicy,
    SubmissionSettings,
    cancel_at_payer,
    inquire_quiet_pended,
)
from precert.web.app import create_app
from tests.factories import COORDINATOR, PAYER, REQUEST_BODY, VALID_NPI, request_body
from tests.integration.conftest import Tenant

GOLD_CARD_NPI = "1588667638"


def fast_sandbox(directory: Path) -> SandboxServer:
    """A sandbox payer with fast later decisions, on its own SQLite file in ``directory``."""
    config = SandboxConfig(
        database_url=f"sqlite:///{directory / 'sandbox.db'}",
        decision_delay_seconds=0.3,
        delivery_interval=0.05,
    )
    return SandboxServer(config)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """A sandbox payer with fast later decisions, on its own SQLite file."""
    with fast_sandbox(tmp_path_factory.mktemp("sandbox")) as server:
        yield server


@dataclass
class Live:
    """precert served over real HTTP, with an httpx client for it."""

    http: httpx.Client
    base: str
    precert: Precert
    settings: SubmissionSettings


@contextmanager
def serve(precert: Precert) -> Iterator[Live]:
    """precert's app on a free loopback port, so the sandbox can deliver notifications."""
    port = free_port()
    app = create_app(precert)
    registry = GatewayRegistry()
    settings = SubmissionSettings(
        gateways=registry.gateway,
        notification_endpoint=f"http://127.0.0.1:{port}/fhir/notifications",
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
    )
    app.state.submission_settings = settings
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=20) as http:
        yield Live(http, base, precert, settings)
    server.should_exit = True
    thread.join(timeout=10)
    registry.close()


@pytest.fixture
def live(precert: Precert) -> Iterator[Live]:
    """precert served over real HTTP."""
    with serve(precert) as served:
        yield served


def connect(
    live: Live, tenant: Tenant, endpoint: str, *, timeout: float = 5.0, **auth: Any
) -> httpx.Response:
    """Configure the tenant's connection to the sandbox for northwind-health (as an admin)."""
    body = {
        "format": "fhir-pas",
        "endpoint": endpoint,
        "organization_identifier": VALID_NPI,
        "timeout_seconds": timeout,
        "max_attempts": 4,
    }
    if auth:
        body["auth"] = auth
    return live.http.put(
        "/v1/payer-connections/northwind-health", json=body, headers=tenant.auth(Role.ADMIN)
    )


def ready_request(live: Live, tenant: Tenant, member_id: str, **changes: Any) -> str:
    """Create a request through the API for ``member_id`` and mark it ready."""
    patient = {**REQUEST_BODY["patient"], "member_id": member_id}
    coverage = {**REQUEST_BODY["coverage"], "member_id": member_id}
    body = request_body(patient=patient, coverage=coverage, **changes)
    created = live.http.post("/v1/authorizations", json=body, headers=tenant.auth())
    assert created.status_code == 201, created.text
    rid = str(created.json()["id"])
    ready = live.http.post(f"/v1/authorizations/{rid}/ready", json={}, headers=tenant.auth())
    if ready.status_code == 409:  # readiness blockers (no documents yet): a manager overrides
        ready = live.http.post(
            f"/v1/authorizations/{rid}/ready",
            json={"override_reason": "documentation goes to the sandbox payer later"},
            headers=tenant.auth(Role.MANAGER),
        )
    assert ready.is_success, ready.text
    return rid


def submit(live: Live, tenant: Tenant, rid: str) -> httpx.Response:
    """POST the electronic submission."""
    return live.http.post(f"/v1/authorizations/{rid}/submit", headers=tenant.auth())


def sandbox_claims(sandbox: SandboxServer, member_id: str) -> list[dict[str, Any]]:
    """What the sandbox payer holds for a member."""
    claims: list[dict[str, Any]] = httpx.get(
        f"{sandbox.base_url}/sandbox/claims", params={"member_id": member_id}
    ).json()
    return claims


def wait_for(check: Callable[[], Any], seconds: float = 8.0) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def member(scenario: str) -> str:
    """A fresh member id selecting a sandbox scenario."""
    return f"SBX-{scenario}-{time.monotonic_ns()}"


def test_pended_then_approved_by_notification(
    live: Live, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """A pended submission is approved when the sandbox's rest-hook notification arrives."""
    assert connect(live, tenant, sandbox.fhir_base).status_code == 201
    who = member("pend-then-approve")
    rid = ready_request(live, tenant, who)
    answer = submit(live, tenant, rid)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "pended"

    def approved() -> dict[str, Any] | None:
        body = live.http.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()
        return body if body["status"] == "approved" else None

    body = wait_for(approved)
    line = body["service_lines"][0]["determination"]
    assert line["x12_action"] == "A1"
    assert line["certification_number"].startswith("SBX")
    # Every subscription filtered on the requester's NPI is told; this tenant's one got it.
    notes = wait_for(
        lambda: [n[2] for n in sandbox_claims(sandbox, who)[0]["notifications"]] or None
    )
    assert "delivered" in notes
    types = [e["type"] for e in body["timeline"]]
    assert types.count("authorization.determination_recorded") == 2


def test_policy_auto_approves_gold_card_at_once(
    live: Live, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """With the policy scenario, a gold-card practitioner's MRI is certified within a second."""
    connect(live, tenant, sandbox.fhir_base)
    provider = {**REQUEST_BODY["requesting_provider"], "npi": GOLD_CARD_NPI}
    rid = ready_request(live, tenant, "NW-GOLD-1", requesting_provider=provider)
    started = time.monotonic()
    answer = submit(live, tenant, rid)
    assert time.monotonic() - started < 1.0
    assert answer.json()["status"] == "approved"
    assert "gold-card" in answer.json()["service_lines"][0]["determination"]["reason_text"]


def test_denied_with_a_specific_reason(live: Live, tenant: Tenant, sandbox: SandboxServer) -> None:
    """A denial is recorded with the payer's specific reason (CMS-0057-F)."""
    connect(live, tenant, sandbox.fhir_base)
    rid = ready_request(live, tenant, member("deny-not-medically-necessary"))
    body = submit(live, tenant, rid).json()
    assert body["status"] == "denied"
    assert "Not medically necessary" in body["service_lines"][0]["determination"]["reason_text"]


def test_partial_approval_per_line(live: Live, tenant: Tenant, sandbox: SandboxServer) -> None:
    """Two lines, one certified and one denied, make a partial approval."""
    connect(live, tenant, sandbox.fhir_base)
    line = REQUEST_BODY["service_lines"][0]
    rid = ready_request(
        live, tenant, member("partial-approval"), service_lines=[line, {**line, "code": "72158"}]
    )
    body = submit(live, tenant, rid).json()
    assert body["status"] == "partially_approved"
    decisions = [ln["determination"]["decision"] for ln in body["service_lines"]]
    assert decisions == ["approved", "denied"]


def test_modified_approval(live: Live, tenant: Tenant, sandbox: SandboxServer) -> None:
    """A modified approval keeps the payer's authorized units and A6 action."""
    connect(live, tenant, sandbox.fhir_base)
    line = {**REQUEST_BODY["service_lines"][0], "units": "4"}
    rid = ready_request(live, tenant, member("modified-approval"), service_lines=[line])
    body = submit(live, tenant, rid).json()
    assert body["status"] == "modified"
    determination = body["service_lines"][0]["determination"]
    assert (determination["x12_action"], determination["authorized_units"]) == ("A6", "2")


def slow_sandbox(directory: Path) -> SandboxServer:
    """A sandbox payer that decides pends only after ten minutes.

    For tests that act on a pended request: the shared sandbox decides after 0.3 s, which a
    loaded machine can spend between the submission and the next step.
    """
    config = SandboxConfig(
        database_url=f"sqlite:///{directory / 'slow-sandbox.db'}",
        decision_delay_seconds=600,
        delivery_interval=0.05,
    )
    return SandboxServer(config)


def test_cancelled_at_the_payer(live: Live, tenant: Tenant, tmp_path: Path) -> None:
    """Cancelling a pended request withdraws it at the payer, which records the cancel."""
    with slow_sandbox(tmp_path) as slow:
        connect(live, tenant, slow.fhir_base)
        who = member("pend-then-approve")
        rid = ready_request(live, tenant, who)
        assert submit(live, tenant, rid).json()["status"] == "pended"
        answer = live.http.post(
            f"/v1/authorizations/{rid}/cancel-at-payer",
            json={"reason": "procedure cancelled"},
            headers=tenant.auth(),
        )
        assert answer.json()["status"] == "cancelled", answer.text
        statuses = sorted(c["status"] for c in sandbox_claims(slow, who))
    assert statuses == ["cancel", "cancelled"]


@pytest.mark.parametrize(
    ("scenario", "faults"), [("flaky", ["5xx", "5xx", ""]), ("slow", ["late", "replay"])]
)
def test_retries_submit_exactly_once(
    live: Live, tenant: Tenant, sandbox: SandboxServer, scenario: str, faults: list[str]
) -> None:
    """Under 5xx answers and timeouts the request is retried and the payer stores one claim."""
    connect(live, tenant, sandbox.fhir_base, timeout=0.5)
    who = member(scenario)
    rid = ready_request(live, tenant, who)
    body = submit(live, tenant, rid).json()
    assert body["status"] == "pended"  # policy: MRI without documentation
    claims = sandbox_claims(sandbox, who)
    assert len(claims) == 1
    assert [r[2] for r in claims[0]["receipts"]] == faults
    with SqlPayerUnitOfWork(live.precert.engine) as uow:
        attempts = uow.payers.attempts(tenant.organization_id, rid)
    assert [a.outcome for a in attempts] == ["retryable"] * (len(faults) - 1) + ["answered"]
    assert len({a.idempotency_key for a in attempts}) == 1


def test_refusal_is_not_retried(live: Live, tenant: Tenant, sandbox: SandboxServer) -> None:
    """A 4xx answer is final: one attempt, and the request goes back to READY with the code."""
    connect(live, tenant, sandbox.base_url + "/not-fhir")
    rid = ready_request(live, tenant, member("auto-approve"))
    body = submit(live, tenant, rid).json()
    assert body["status"] == "ready"
    with SqlPayerUnitOfWork(live.precert.engine) as uow:
        attempts = uow.payers.attempts(tenant.organization_id, rid)
    assert [(a.outcome, a.detail[:22]) for a in attempts] == [
        ("rejected", "payer rejected the sub")
    ]


def test_notification_sender_must_prove_the_secret(live: Live, tenant: Tenant) -> None:
    """A notification for a known subscription with a wrong secret is refused with 401."""
    note = Path(__file__).parents[2].parent / "shared/fixtures/fhir"
    bundle = (note / "PAS_notification_example_full_resource.json").read_text()
    fhir_json = {"Content-Type": "application/fhir+json"}
    unknown = live.http.post("/fhir/notifications", content=bundle, headers=fhir_json)
    assert unknown.status_code == 404
    assert unknown.json()["resourceType"] == "OperationOutcome"


def test_inquire_only_when_notifications_stop(
    live: Live, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """With notifications dropped, the follow-up's $inquire learns the approval."""
    connect(live, tenant, sandbox.fhir_base)
    who = member("silent")
    rid = ready_request(live, tenant, who)
    assert submit(live, tenant, rid).json()["status"] == "pended"

    def uow() -> SqlPayerUnitOfWork:
        return SqlPayerUnitOfWork(live.precert.engine)

    quiet = inquire_quiet_pended(
        uow, tenant.organization_id, live.settings, live.precert.clock, quiet_for=timedelta(hours=1)
    )
    assert quiet == []  # nothing has been quiet for an hour yet: no polling
    wait_for(lambda: sandbox_claims(sandbox, who)[0]["status"] == "decided")
    asked = inquire_quiet_pended(
        uow, tenant.organization_id, live.settings, live.precert.clock, quiet_for=timedelta(0)
    )
    assert [(a.authorization_id, a.status.value, a.changed) for a in asked] == [
        (rid, "approved", True)
    ]
    dropped = wait_for(lambda: sandbox_claims(sandbox, who)[0]["notifications"])
    assert {n[2] for n in dropped} == {"dropped"}


def test_eligibility_is_checked_and_recorded(
    live: Live, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """Eligibility returns active coverage and auth-required per service, stored as an event."""
    connect(live, tenant, sandbox.fhir_base)
    rid = ready_request(live, tenant, "NW-ELIG-1")
    answer = live.http.post(f"/v1/authorizations/{rid}/eligibility", headers=tenant.auth())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["active"] is True
    assert [(s["service"], s["auth_required"]) for s in body["services"]] == [("72148", True)]
    timeline = live.http.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()
    assert timeline["timeline"][-1]["type"] == "authorization.eligibility_checked"


def test_connections_are_admin_only_and_hide_secrets(
    live: Live, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """Only admins manage connections, and the client secret is never returned."""
    denied = live.http.put(
        "/v1/payer-connections/northwind-health",
        json={"endpoint": sandbox.fhir_base, "organization_identifier": VALID_NPI},
        headers=tenant.auth(Role.COORDINATOR),
    )
    assert denied.status_code == 403
    incomplete = connect(live, tenant, sandbox.fhir_base, kind="oauth2-client-credentials")
    assert incomplete.status_code == 422
    assert [e["pointer"] for e in incomplete.json()["errors"]] == [
        "/auth/token_url",
        "/auth/client_id",
    ]
    created = connect(
        live,
        tenant,
        sandbox.fhir_base,
        kind="oauth2-client-credentials",
        token_url=f"{sandbox.base_url}/oauth/token",
        client_id="precert",
        client_secret="s3cret",
    )
    assert created.status_code == 201
    listed = live.http.get("/v1/payer-connections", headers=tenant.auth(Role.ADMIN)).json()
    assert listed[0]["client_id"] == "precert"
    assert "s3cret" not in str(listed)


def test_oauth_token_is_fetched_once_and_reused(live: Live, tenant: Tenant, tmp_path: Path) -> None:
    """Two submissions through an OAuth2-protected payer fetch one bearer token."""
    config = SandboxConfig(database_url=f"sqlite:///{tmp_path / 's.db'}", clients={"pc": "pw"})
    with SandboxServer(config) as guarded:
        connect(
            live,
            tenant,
            guarded.fhir_base,
            kind="oauth2-client-credentials",
            token_url=f"{guarded.base_url}/oauth/token",
            client_id="pc",
            client_secret="pw",
        )
        for _ in range(2):
            rid = ready_request(live, tenant, member("auto-approve"))
            assert submit(live, tenant, rid).json()["status"] == "approved"
        assert httpx.get(f"{guarded.base_url}/sandbox/tokens").json() == {"issued": 1}


def test_withdrawal_that_loses_a_race_with_a_notification_is_recorded_again(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """A payer notification saved between our reload and our save makes the save stale:
    the withdrawal is tried again on the fresh request instead of failing with a 409."""
    connection = {"endpoint": "https://payer.example/fhir", "organization_identifier": VALID_NPI}
    admin = tenant.auth(Role.ADMIN)
    assert client.put(
        f"/v1/payer-connections/{REQUEST_BODY['coverage']['payer_id']}",
        json=connection,
        headers=admin,
    ).is_success
    created = client.post("/v1/authorizations", json=request_body(), headers=tenant.auth())
    rid = str(created.json()["id"])  # never sent, so the payer is not called
    context = AccessContext(tenant.organization_id, COORDINATOR, "test")
    reads: list[int] = []

    def notify_meanwhile() -> None:
        with SqlPayerUnitOfWork(precert.engine) as other:
            request = other.authorizations.get(tenant.organization_id, rid)
            request.record_note(PAYER, precert.clock.now(), "authorization.payer_note")
            other.authorizations.save(request)
            other.commit()

    class RacingUnitOfWork(SqlPayerUnitOfWork):
        """The payer's notification is stored right after our second read of the request."""

        def __enter__(self) -> RacingUnitOfWork:
            super().__enter__()
            read = self.authorizations.get

            def read_then_race(organization_id: str, authorization_id: str) -> Any:
                request = read(organization_id, authorization_id)
                reads.append(1)
                if len(reads) == 2:
                    notify_meanwhile()
                return request

            self.authorizations.get = read_then_race  # type: ignore[method-assign]
            return self

    settings = SubmissionSettings(gateways=GatewayRegistry().gateway, notification_endpoint="")
    cancelled = cancel_at_payer(
        lambda: RacingUnitOfWork(precert.engine),
        context,
        rid,
        "procedure cancelled",
        settings,
        precert.clock,
    )
    assert cancelled.status.value == "cancelled"
    with SqlPayerUnitOfWork(precert.engine) as uow:
        stored = uow.authorizations.get(tenant.organization_id, rid)
        kinds = [e.type for e in uow.authorizations.history(tenant.organization_id, rid)]
    assert stored.status.value == "cancelled"
    assert kinds[-2:] == ["authorization.payer_note", "authorization.cancelled"]
