"""Bundle helpers of the sandbox payer: keys, fingerprints, echoes and cancelled items."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from precert.interop.fhir.common import as_dict, as_list, as_str
from precert.interop.fhir.pas import vocabulary as v
from precert.interop.fhir.pas.rules import BundleIndex


def fingerprint(bundle: Mapping[str, Any]) -> str:
    """What makes two receipts the same request: everything but the send times."""
    entries = json.loads(json.dumps(bundle.get("entry", [])))
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Claim":
            resource.pop("created", None)
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()


def resource_id(key: str) -> str:
    """A valid FHIR id for the response to the submission ``key``."""
    return "sbx-" + hashlib.sha256(key.encode()).hexdigest()[:32]


#: The base given to legacy entries whose fullUrl is a bare id.
LEGACY_BASE = "https://sandbox.precert.invalid/fhir"


def with_insurer(data: Mapping[str, Any]) -> dict[str, Any]:
    """The request, with a resolvable ``Claim.insurer`` so that the response can echo it.

    Legacy PAS Claims name the payer only on the Coverage, and some Bundles do not carry
    the payer Organization at all: then the sandbox adds itself as the insurer. Bare-id
    fullUrls (legacy) become RESTful ones under ``LEGACY_BASE``.
    """
    bundle: dict[str, Any] = json.loads(json.dumps(data))
    for raw in bundle.get("entry", []) if isinstance(bundle.get("entry"), list) else []:
        resource = as_dict(raw.get("resource")) if isinstance(raw, dict) else None
        full_url = as_str(raw.get("fullUrl")) if isinstance(raw, dict) else None
        if resource is None or (full_url and full_url.startswith(("http", "urn:"))):
            continue
        if as_str(resource.get("resourceType")) and as_str(resource.get("id")):
            # Legacy bare-id fullUrls: give them a RESTful base so relative references still
            # resolve and the response echoes conformant fullUrls.
            raw["fullUrl"] = f"{LEGACY_BASE}/{resource['resourceType']}/{resource['id']}"
    index = BundleIndex.of(bundle)
    if not index.entries:
        return bundle
    claim = index.entries[0]
    current = as_str((as_dict(claim.resource.get("insurer")) or {}).get("reference"))
    if current and index.resolve(current, claim):
        return bundle
    for insurance in as_list(claim.resource.get("insurance")):
        ref = as_str((as_dict((as_dict(insurance) or {}).get("coverage")) or {}).get("reference"))
        coverage = index.resolve(ref, claim) if ref else None
        payors = as_list(coverage.resource.get("payor")) if coverage else []
        payor = as_str((as_dict(payors[0]) or {}).get("reference")) if payors else None
        if payor and index.resolve(payor, coverage):
            claim.resource["insurer"] = {"reference": payor}
            return bundle
    rid = "sandbox-payer"
    full_url = claim.full_url or ""
    if full_url.startswith("urn:uuid:"):
        rid = str(uuid.uuid5(uuid.NAMESPACE_URL, full_url))
        full_url = f"urn:uuid:{rid}"
    elif "/Claim/" in full_url:
        full_url = full_url.rsplit("/Claim/", 1)[0] + f"/Organization/{rid}"
    else:
        full_url = f"{LEGACY_BASE}/Organization/{rid}"
    bundle.setdefault("entry", []).append(
        {
            "fullUrl": full_url,
            "resource": {
                "resourceType": "Organization",
                "id": rid,
                "name": "precert sandbox payer",
            },
        }
    )
    claim.resource["insurer"] = {
        "reference": full_url if full_url.startswith("urn:") else f"Organization/{rid}"
    }
    return bundle


def provider_identifiers(data: Mapping[str, Any]) -> list[str]:
    """Identifier values of every Practitioner and Organization except the insurer."""
    index = BundleIndex.of(data)
    claim = index.entries[0].resource if index.entries else {}
    insurer = as_str((as_dict(claim.get("insurer")) or {}).get("reference"))
    insurer_entry = index.resolve(insurer, index.entries[0]) if insurer and index.entries else None
    values: list[str] = []
    for entry in index.entries:
        if entry is insurer_entry:
            continue
        if entry.resource.get("resourceType") in (
            "Practitioner",
            "Organization",
            "PractitionerRole",
        ):
            values.extend(
                str(i["value"])
                for i in as_list(entry.resource.get("identifier"))
                if isinstance(i, dict) and as_str(i.get("value"))
            )
    return sorted(set(values))


def cancelled_item(sequence: int) -> dict[str, Any]:
    return {
        "itemSequence": sequence,
        "adjudication": [
            {
                "extension": [
                    {
                        "url": v.EXT_REVIEW_ACTION,
                        "extension": [
                            {
                                "url": v.EXT_REVIEW_ACTION_CODE,
                                "valueCodeableConcept": {
                                    "coding": [
                                        {
                                            "system": v.X12_REVIEW_ACTION,
                                            "code": v.REVIEW_ACTION_CANCELLED,
                                            "display": "Cancelled",
                                        }
                                    ]
                                },
                            }
                        ],
                    }
                ],
                "category": {"coding": [{"system": v.ADJUDICATION, "code": "submitted"}]},
            }
        ],
    }


def add_cancelled_items(response: dict[str, Any], sequences: tuple[int, ...]) -> None:
    """Report ``sequences`` as cancelled (X12 306 ``C``) on the response's ClaimResponse."""
    claim_response = response["entry"][0]["resource"]
    items = [i for i in claim_response.get("item", []) if i.get("itemSequence") not in sequences]
    items.extend(cancelled_item(s) for s in sequences)
    claim_response["item"] = sorted(items, key=lambda i: int(i["itemSequence"]))


def mark_all_cancelled(response: dict[str, Any]) -> None:
    claim_response = response["entry"][0]["resource"]
    sequences = tuple(int(i["itemSequence"]) for i in claim_response.get("item", []))
    claim_response.pop("addItem", None)
    add_cancelled_items(response, sequences)
