"""Later decisions and rest-hook delivery: a background thread of the sandbox server.

Every ``interval`` seconds it decides the pended claims whose time has come, stores
the new ClaimResponse, and POSTs a backport ``history`` notification Bundle to each
subscription whose org-identifier filter names one of the claim's providers, with
the headers the subscriber asked for (``Subscription.channel.header``).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx

from precert.domain.authorization import LineDetermination
from precert.interop.fhir.pas import build_response_bundle
from precert.interop.fhir.pas import vocabulary as v
from precert.sandbox.bundles import with_insurer
from precert.sandbox.scenarios import SCENARIOS
from precert.sandbox.store import SandboxStore, StoredClaim, StoredSubscription
from precert.sandbox.x12 import later_278

DELIVERY_ATTEMPTS = 3


def final_decisions(claim: StoredClaim) -> dict[int, LineDetermination]:
    """Every item's decision once the pended ones are decided, by Claim item sequence."""
    decided = {
        int(seq): LineDetermination.model_validate(d)
        for seq, d in claim.later.get("now", {}).items()
    }
    decided.update(
        {int(seq): LineDetermination.model_validate(d) for seq, d in claim.later["final"].items()}
    )
    return decided


def final_response(claim: StoredClaim, at: datetime) -> dict[str, Any]:
    """The ClaimResponse Bundle once the pended items of ``claim`` are decided."""
    decided = final_decisions(claim)
    key_digest = hashlib.sha256(claim.key.encode()).hexdigest()[:32]
    return build_response_bundle(
        with_insurer(claim.request), decided, response_id=f"sbx-final-{key_digest}", created=at
    )


def notification_bundle(
    subscription: StoredSubscription, event_number: int, response: Mapping[str, Any], at: datetime
) -> dict[str, Any]:
    """A backport full-resource notification carrying ``response``'s ClaimResponse."""
    status_id = str(uuid.uuid4())
    entries = [e for e in response.get("entry", []) if isinstance(e, dict)]
    focus = entries[0]["fullUrl"] if entries else None
    event_parts: list[dict[str, Any]] = [
        {"name": "event-number", "valueString": str(event_number)},
        {"name": "timestamp", "valueInstant": at.isoformat()},
    ]
    if focus:
        event_parts.append({"name": "focus", "valueReference": {"reference": focus}})
    status = {
        "resourceType": "Parameters",
        "id": status_id,
        "meta": {"profile": [v.PROFILE_BACKPORT_STATUS]},
        "parameter": [
            {"name": "subscription", "valueReference": {"reference": subscription.reference}},
            {"name": "topic", "valueCanonical": v.PAS_SUBSCRIPTION_TOPIC},
            {"name": "status", "valueCode": "active"},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": str(event_number)},
            {"name": "notification-event", "part": event_parts},
        ],
    }
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [v.PROFILE_BACKPORT_NOTIFICATION]},
        "type": "history",
        "timestamp": at.isoformat(),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{status_id}",
                "resource": status,
                "request": {"method": "GET", "url": f"{subscription.reference}/$status"},
                "response": {"status": "200"},
            },
            *(
                {
                    "fullUrl": e["fullUrl"],
                    "resource": e["resource"],
                    "request": {"method": "PUT", "url": e["fullUrl"]},
                    "response": {"status": "200"},
                }
                for e in entries
            ),
        ],
    }


class Deliverer:
    """Decides due claims and delivers notifications, on a daemon thread."""

    def __init__(
        self,
        store: SandboxStore,
        *,
        interval: float = 0.1,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._interval = interval
        self._now = now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=5.0)
        # Deliveries run beside the decision loop, so one slow subscriber delays no decision.
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sandbox-notify")

    def start(self) -> None:
        """Run in the background until ``stop``."""
        self._thread = threading.Thread(target=self._run, name="sandbox-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.tick()

    def tick(self) -> int:
        """Decide every due claim and notify its subscribers; returns how many were decided."""
        due = self._store.due(self._now())
        for claim in due:
            at = self._now()
            if claim.format == "x12":
                # X12 has no rest-hook: the decision waits for the client's next 278.
                text = later_278(str(claim.later["x12"]), final_decisions(claim), at)
                self._store.set_status(claim.key, "decided", text or claim.current)
                continue
            response = final_response(claim, at)
            self._store.set_status(claim.key, "decided", response)
            for subscription in self._store.subscriptions_for(claim.provider_identifiers):
                self._pool.submit(self._notify, claim, subscription, response, at)
        return len(due)

    def _notify(
        self,
        claim: StoredClaim,
        subscription: StoredSubscription,
        response: Mapping[str, Any],
        at: datetime,
    ) -> None:
        scenario = SCENARIOS.get(claim.scenario)
        number = self._store.next_event(subscription.id)
        if scenario is not None and scenario.faults.drop_notifications:
            self._store.record_notification(subscription.id, claim.key, number, "dropped", 0, at)
            return
        body = notification_bundle(subscription, number, response, at)
        status, attempts = "failed", 0
        for attempts in range(1, DELIVERY_ATTEMPTS + 1):
            try:
                answer = self._client.post(
                    subscription.endpoint,
                    json=body,
                    headers={"Content-Type": "application/fhir+json", **subscription.headers},
                )
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code < 300:
                status = "delivered"
                break
            if answer is not None and 400 <= answer.status_code < 500:
                status = f"refused-{answer.status_code}"
                break
            time.sleep(0.1 * attempts)
        self._store.record_notification(subscription.id, claim.key, number, status, attempts, at)
