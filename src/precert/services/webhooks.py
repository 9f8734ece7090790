"""Notify EHR and billing systems of status changes with signed webhooks.

The event ledger is the outbox: each endpoint keeps a cursor (the last event id it
received) and gets its events strictly in order. A failure stops that endpoint
until its backoff ends, then the same event is sent again, so receivers must
treat the event ``id`` as an idempotency key. Nothing is lost across crashes: the
cursor moves only after a 2xx, in the same transaction.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from precert.domain import webhooks
from precert.domain.access import Permission
from precert.domain.errors import InvalidInput, Problem
from precert.domain.retry import Backoff
from precert.domain.webhooks import WebhookEndpoint
from precert.ports import Clock, UnitOfWork
from precert.services.access import AccessContext

#: Webhook retries: from 30 s up to an hour between tries, for as long as it takes.
WEBHOOK_BACKOFF = Backoff(base_seconds=30, cap_seconds=3600, max_attempts=1_000_000)


class WebhookTransport(Protocol):
    """Posts one delivery; returns the HTTP status (raises OSError-like errors on failure)."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """Send ``body`` to ``url``."""
        ...


def register_endpoint(
    uow: UnitOfWork,
    context: AccessContext,
    *,
    url: str,
    event_types: Sequence[str],
    clock: Clock,
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint that receives events from now on; returns it and its secret."""
    context.require(Permission.ADMINISTER)
    problems = [
        Problem(
            ("event_types", i),
            f"{kind!r} is not an event type one can subscribe to; "
            f"choose from {sorted(webhooks.SUBSCRIBABLE)}",
        )
        for i, kind in enumerate(event_types)
        if kind not in webhooks.SUBSCRIBABLE
    ]
    if not url.startswith(("https://", "http://")):
        problems.append(Problem(("url",), "must be an http(s) URL"))
    if problems:
        raise InvalidInput(problems)
    store = uow.webhooks
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint(
        id=str(uuid.uuid4()),
        organization_id=context.organization_id,
        url=url,
        secret=secret,
        event_types=tuple(event_types) or tuple(sorted(webhooks.SUBSCRIBABLE)),
        delivered_through=store.latest_event_id(),
        failures=0,
        retry_at=None,
        last_error=None,
    )
    store.add(endpoint, clock.now())
    uow.commit()
    return endpoint, secret


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery round did."""

    delivered: int
    failed_endpoints: int


def deliver_pending(
    uow: UnitOfWork,
    transport: WebhookTransport,
    clock: Clock,
    *,
    batch: int = 100,
    jitter: random.Random | None = None,
) -> DeliveryReport:
    """Send every due endpoint its next events, in order, committing after each success."""
    store = uow.webhooks
    jitter = jitter or random.Random()  # noqa: S311 - spreads retries; not a secret
    delivered = failed = 0
    for endpoint in store.due(clock.now()):
        for event in store.events_after(endpoint, batch):
            now = clock.now()
            body = webhooks.payload(
                event_id=event.id,
                event_type=event.type,
                at=event.at,
                authorization_id=event.authorization_id,
                status=str(event.payload.get("status") or event.type.split(".", 1)[1]),
                details=event.payload,
            )
            headers = {
                "Content-Type": "application/json",
                webhooks.SIGNATURE_HEADER: webhooks.sign(endpoint.secret, body, now),
                "Precert-Event-Id": str(event.id),
            }
            try:
                status = transport.post(endpoint.url, body, headers)
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except OSError as exc:
                error = f"{exc.__class__.__name__}: {exc}"
            if error is None:
                store.delivered(endpoint.id, event.id)
                uow.commit()
                delivered += 1
                continue
            failures = endpoint.failures + 1
            wait = WEBHOOK_BACKOFF.delay(min(failures, 64), jitter.random())
            store.failed(endpoint.id, failures, now + wait, f"event {event.id}: {error}")
            uow.commit()
            failed += 1
            break
    return DeliveryReport(delivered, failed)
