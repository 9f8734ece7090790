"""The PAS IG's published notification Bundle, applied to the request it names."""

from __future__ import annotations

from fastapi.testclient import TestClient

from precert.adapters.db.payer_tables import payer_subscriptions
from precert.adapters.payers.fhir import SECRET_HEADER
from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import Precert
from precert.domain.authorization import Role
from precert.ports import PayerSubscription, SubmissionAttempt
from precert.services.submission import secret_hash
from tests.conftest import SHARED_FIXTURES, T0
from tests.factories import request_body
from tests.integration.conftest import READY_OVERRIDE, Tenant

FIXTURE = SHARED_FIXTURES / "fhir" / "PAS_notification_example_full_resource.json"
SUBSCRIPTION = "https://example.org/fhir/Subscription/admission"  # named in the fixture
PAYER_REFERENCE = "1263291"  # the fixture's ClaimResponse identifier


def test_published_notification_updates_its_request(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """The fixture's pend reaches the submitted request it names, once the sender is verified."""
    connection = client.put(
        "/v1/payer-connections/northwind-health",
        json={
            "format": "fhir-pas",
            "endpoint": "http://127.0.0.1:9/fhir",
            "organization_identifier": "8189991234",
        },
        headers=tenant.auth(Role.ADMIN),
    )
    assert connection.status_code == 201, connection.text
    rid = client.post("/v1/authorizations", json=request_body(), headers=tenant.auth()).json()["id"]
    for path, body in [("ready", READY_OVERRIDE), ("submission", {"channel": "portal"})]:
        moved = client.post(
            f"/v1/authorizations/{rid}/{path}", json=body, headers=tenant.auth(Role.MANAGER)
        )
        assert moved.status_code == 200, moved.text
    with SqlPayerUnitOfWork(precert.engine) as uow:
        connection_id = uow.payers.connection(tenant.organization_id, "northwind-health").id  # type: ignore[union-attr]
        uow.payers.record_attempt(
            SubmissionAttempt(
                tenant.organization_id,
                rid,
                connection_id,
                "key-1",
                "submit",
                1,
                "fhir-pas",
                T0,
                T0,
                "answered",
                payer_reference=PAYER_REFERENCE,
            )
        )
        uow.payers.save_subscription(
            PayerSubscription(
                "sub-1",
                tenant.organization_id,
                connection_id,
                SUBSCRIPTION,
                secret_hash("shared-secret"),
                T0,
            )
        )
        uow.commit()

    try:
        bundle = FIXTURE.read_bytes()
        headers = {"content-type": "application/fhir+json"}
        refused = client.post(
            "/fhir/notifications", content=bundle, headers={**headers, SECRET_HEADER: "guess"}
        )
        assert refused.status_code == 401
        applied = client.post(
            "/fhir/notifications",
            content=bundle,
            headers={**headers, SECRET_HEADER: "shared-secret"},
        )
        assert applied.status_code == 200, applied.text
        assert f"authorization {rid} is pended" in applied.text
        request = client.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()
        assert request["status"] == "pended"
        assert request["timeline"][-1]["type"] == "authorization.determination_recorded"
    finally:  # the fixture's subscription URL is global: leave it unknown for other tests
        with precert.engine.begin() as connection:
            connection.execute(
                payer_subscriptions.delete().where(payer_subscriptions.c.reference == SUBSCRIPTION)
            )
