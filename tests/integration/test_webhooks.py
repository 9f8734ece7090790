"""Signed webhooks on both backends: delivered in order to a receiver, retried on failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from precert.adapters.webhook_transport import HttpWebhookTransport
from precert.bootstrap import Precert
from precert.clock import FrozenClock
from precert.domain import webhooks
from precert.domain.authorization import Role
from precert.services.webhooks import deliver_pending
from tests.factories import request_body
from tests.integration.conftest import READY_OVERRIDE, Tenant


class Receiver:
    """A loopback HTTP server that records deliveries and can be told to fail."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.failing = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failing:
                    self.send_response(503)
                else:
                    receiver.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver, shut down after the test."""
    running = Receiver()
    yield running
    running.server.shutdown()


def test_status_changes_are_delivered_signed_in_order(
    client: TestClient, precert: Precert, tenant: Tenant, receiver: Receiver
) -> None:
    """Events after registration arrive once each, in order, with a verifiable signature."""
    before = client.post("/v1/authorizations", json=request_body(), headers=tenant.auth())
    registered = client.post(
        "/v1/webhooks",
        json={
            "url": receiver.url,
            "event_types": ["authorization.ready", "authorization.submitted"],
        },
        headers=tenant.auth(Role.ADMIN),
    )
    assert registered.status_code == 201, registered.text
    secret = registered.json()["secret"]
    rid = before.json()["id"]
    for path, body in [("ready", READY_OVERRIDE), ("submission", {"channel": "portal"})]:
        client.post(
            f"/v1/authorizations/{rid}/{path}", json=body, headers=tenant.auth(Role.MANAGER)
        )
    transport = HttpWebhookTransport()
    receiver.failing = True
    with precert.uow() as uow:
        report = deliver_pending(uow, transport, precert.clock)
    assert (report.delivered, report.failed_endpoints) == (0, 1)
    receiver.failing = False
    with precert.uow() as uow:  # still inside the backoff: nothing is sent
        assert deliver_pending(uow, transport, precert.clock).delivered == 0
    assert isinstance(precert.clock, FrozenClock)
    precert.clock.advance(timedelta(minutes=2))
    with precert.uow() as uow:
        assert deliver_pending(uow, transport, precert.clock).delivered == 2
    with precert.uow() as uow:
        assert deliver_pending(uow, transport, precert.clock).delivered == 0
    transport.close()
    bodies = [json.loads(body) for _, body in receiver.received]
    assert [(b["type"], b["status"]) for b in bodies] == [
        ("authorization.ready", "ready"),
        ("authorization.submitted", "submitted"),
    ]
    assert all(b["authorization_id"] == rid for b in bodies)
    assert "patient" not in json.dumps(bodies)
    for headers, body in receiver.received:
        assert webhooks.verify(
            secret, body, headers[webhooks.SIGNATURE_HEADER], precert.clock.now()
        )
        assert not webhooks.verify(
            "whsec_wrong", body, headers[webhooks.SIGNATURE_HEADER], precert.clock.now()
        )


def test_only_admins_register_and_types_are_checked(client: TestClient, tenant: Tenant) -> None:
    """A coordinator cannot register; an unknown event type is named in the error."""
    body = {"url": "http://127.0.0.1:9/x", "event_types": ["authorization.exploded"]}
    assert client.post("/v1/webhooks", json=body, headers=tenant.auth()).status_code == 403
    refused = client.post("/v1/webhooks", json=body, headers=tenant.auth(Role.ADMIN))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/event_types/0"
