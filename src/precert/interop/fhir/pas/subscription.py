"""PAS Subscriptions (R4 backport): build the rest-hook Subscription, read notifications.

A payer announces changes to a pended request by POSTing a ``history`` Bundle whose first
entry is a backport ``subscription-status`` Parameters; with ``full-resource`` payloads
the changed ClaimResponse follows, and its decisions are read exactly as a response's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from precert.interop.fhir.common import (
    FhirIssue,
    as_dict,
    as_list,
    as_str,
    error,
    model_issues,
    raise_on_errors,
)
from precert.interop.fhir.pas import vocabulary as v
from precert.interop.fhir.pas.response import PasResponse, read_claim_response
from precert.interop.fhir.pas.rules import BundleIndex, references


@dataclass(frozen=True)
class PasNotification:
    """One subscription notification: which subscription, which event, and the update."""

    subscription: str | None
    topic: str | None
    status: str | None
    notification_type: str | None
    event_number: str | None
    update: PasResponse | None
    issues: tuple[FhirIssue, ...]


def build_subscription(
    *, endpoint: str, organization_identifier: str, reason: str = "PAS pended request updates"
) -> dict[str, Any]:
    """An R4 backport rest-hook Subscription to the PAS topic for one submitting organization.

    The filter is ``org-identifier`` (the requesting organization, PAS 2.2.1) and the
    payload is ``full-resource``, so each notification carries the updated ClaimResponse.
    """
    return {
        "resourceType": "Subscription",
        "meta": {"profile": [v.PROFILE_BACKPORT_SUBSCRIPTION, v.PROFILE_SUBSCRIPTION]},
        "status": "requested",
        "reason": reason,
        "criteria": v.PAS_SUBSCRIPTION_TOPIC,
        "_criteria": {
            "extension": [
                {
                    "url": v.EXT_BACKPORT_FILTER,
                    "valueString": f"org-identifier={organization_identifier}",
                }
            ]
        },
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/json",
            "_payload": {
                "extension": [{"url": v.EXT_BACKPORT_PAYLOAD, "valueCode": "full-resource"}]
            },
        },
    }


def parse_notification(data: object) -> PasNotification:
    """Read a backport notification Bundle; raises ``FhirCodecError`` when it is not one."""
    bundle = as_dict(data)
    if bundle is None or bundle.get("resourceType") != "Bundle":
        raise_on_errors([error("Bundle", "expected a FHIR Bundle", "structure")])
    bundle = bundle or {}
    issues: list[FhirIssue] = []
    if bundle.get("type") != "history":
        issues.append(error("Bundle.type", f"expected 'history', found {bundle.get('type')!r}"))
    index = BundleIndex.of(bundle)
    status_entry = index.entries[0] if index.entries else None
    if status_entry is None or status_entry.resource.get("resourceType") != "Parameters":
        issues.append(
            error(
                "Bundle.entry[0].resource", "the first entry must be subscription-status Parameters"
            )
        )
        raise_on_errors(issues)
        raise AssertionError("unreachable: raise_on_errors raised")
    for entry in index.entries:
        issues.extend(model_issues(entry.resource, entry.location))
        if entry.index == 0:
            continue  # the status names the subscription, which lives at the payer
        for path, ref in references(entry.resource, entry.location):
            if index.resolve(ref, entry) is None:
                issues.append(error(path, f"reference {ref!r} does not resolve", "not-found"))
    raise_on_errors(issues)
    params: dict[str, Any] = {}
    focus: str | None = None
    for p in as_list(status_entry.resource.get("parameter")):
        if not isinstance(p, dict) or not as_str(p.get("name")):
            continue
        value = next((p[k] for k in p if k.startswith("value")), None)
        params.setdefault(p["name"], value)
        if p["name"] == "notification-event":
            for part in as_list(p.get("part")):
                if isinstance(part, dict) and part.get("name") == "event-number":
                    params.setdefault("event-number", part.get("valueString"))
                if isinstance(part, dict) and part.get("name") == "focus":
                    focus = as_str((as_dict(part.get("valueReference")) or {}).get("reference"))
    target = index.resolve(focus, status_entry) if focus else index.first("ClaimResponse")
    update = None
    if target is not None and target.resource.get("resourceType") == "ClaimResponse":
        update = read_claim_response(target, index, issues, legacy=False)
        raise_on_errors(update.issues)
    return PasNotification(
        subscription=as_str((as_dict(params.get("subscription")) or {}).get("reference")),
        topic=as_str(params.get("topic")),
        status=as_str(params.get("status")),
        notification_type=as_str(params.get("type")),
        event_number=as_str(params.get("event-number")),
        update=update,
        issues=tuple(issues),
    )
