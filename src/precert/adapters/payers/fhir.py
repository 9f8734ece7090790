"""Da Vinci PAS over HTTP: ``Claim/$submit``, ``Claim/$inquire``, Subscription, eligibility.

Each method is one attempt; the submission service owns retries. The Bundle's
identifier is the submission's idempotency key (and the ``Idempotency-Key`` header
repeats it), so a payer that honours either sees a retry as the same submission.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import httpx

from precert.adapters.payers.http import TokenCache, client_for, send
from precert.domain.authorization import AuthorizationRequest
from precert.interop.fhir.common import FhirCodecError
from precert.interop.fhir.eligibility import build_eligibility_request, parse_eligibility_response
from precert.interop.fhir.pas import (
    PasResponse,
    build_cancel_bundle,
    build_request_bundle,
    build_subscription,
    parse_response_bundle,
)
from precert.interop.fhir.pas import vocabulary as v
from precert.ports import (
    EligibilityResult,
    PayerAnswer,
    PayerConnection,
    PayerUnavailable,
    ServiceEligibility,
)

FHIR_JSON = "application/fhir+json"
#: The header a payer echoes on rest-hook notifications, carrying the subscription's secret.
SECRET_HEADER = "X-Subscription-Secret"  # noqa: S105 - a header name, not a secret


def answer_from_bundle(body: object) -> PayerAnswer:
    """A payer's PAS response Bundle as a ``PayerAnswer``; unreadable ones are transient."""
    try:
        response = parse_response_bundle(body)
    except FhirCodecError as exc:
        # A 2xx we cannot read may be a truncated or garbled reply to a stored request:
        # retrying with the same key fetches the stored answer again.
        raise PayerUnavailable(f"unreadable PAS response: {exc}") from exc
    return answer_from_response(response)


def answer_from_response(response: PasResponse) -> PayerAnswer:
    """A parsed ClaimResponse (of a response or a notification) as a ``PayerAnswer``."""
    numbers = [
        d.determination.certification_number
        for d in response.items
        if d.determination is not None and d.determination.certification_number
    ]
    return PayerAnswer(
        determinations=response.line_determinations(),
        payer_reference=response.pre_auth_ref or next(iter(numbers), None),
        outcome=response.outcome,
        cancelled_lines=tuple(d.item_sequence - 1 for d in response.items if d.cancelled),
        warnings=tuple(f"{i.location}: {i.message}" for i in response.issues),
    )


class FhirPasGateway:
    """A payer's PAS endpoint (``connection.endpoint`` is the FHIR base, e.g. ``…/fhir``)."""

    channel = "fhir-pas"

    def __init__(self, connection: PayerConnection, client: httpx.Client | None = None) -> None:
        self._base = connection.endpoint.rstrip("/")
        self._client = client or client_for(connection)
        self.tokens = TokenCache(connection.auth, self._client)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def _post(self, path: str, body: object, *, idempotency_key: str | None = None) -> Any:
        headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = send(
            self._client,
            self.tokens,
            "POST",
            f"{self._base}/{path}",
            headers=headers,
            content=json.dumps(body, separators=(",", ":")).encode(),
        )
        try:
            return response.json()
        except ValueError as exc:
            raise PayerUnavailable(f"{path} answered with a body that is not JSON") from exc

    def submit(
        self, request: AuthorizationRequest, *, idempotency_key: str, at: datetime
    ) -> PayerAnswer:
        """``Claim/$submit`` the request as a PAS Bundle identified by ``idempotency_key``."""
        bundle = build_request_bundle(request, submission_id=idempotency_key, submitted_at=at)
        return answer_from_bundle(
            self._post("Claim/$submit", bundle, idempotency_key=idempotency_key)
        )

    def cancel(
        self, request: AuthorizationRequest, *, idempotency_key: str, at: datetime
    ) -> PayerAnswer:
        """``Claim/$submit`` a cancel (certificationType 3) of the Claim precert sent earlier."""
        bundle = build_cancel_bundle(
            request, submission_id=idempotency_key, submitted_at=at, replaces_claim=request.id
        )
        return answer_from_bundle(
            self._post("Claim/$submit", bundle, idempotency_key=idempotency_key)
        )

    def inquire(self, request: AuthorizationRequest, *, at: datetime) -> PayerAnswer:
        """``Claim/$inquire`` by example: the same Claim, marked as an inquiry."""
        bundle = build_request_bundle(
            request, submission_id=f"inquiry-{uuid.uuid4()}", submitted_at=at
        )
        bundle["meta"] = {"profile": [v.PROFILE_INQUIRY_REQUEST_BUNDLE]}
        bundle["entry"][0]["resource"]["meta"] = {"profile": [v.PROFILE_CLAIM_INQUIRY]}
        return answer_from_bundle(self._post("Claim/$inquire", bundle))

    def subscribe(
        self, *, notification_endpoint: str, organization_identifier: str, secret: str
    ) -> str:
        """Create the rest-hook Subscription; the payer sends ``secret`` back in a header."""
        subscription = build_subscription(
            endpoint=notification_endpoint, organization_identifier=organization_identifier
        )
        subscription["channel"]["header"] = [f"{SECRET_HEADER}: {secret}"]
        created = self._post("Subscription", subscription)
        rid = created.get("id") if isinstance(created, dict) else None
        if not isinstance(rid, str) or not rid:
            raise PayerUnavailable("the payer created a Subscription without an id")
        return f"{self._base}/Subscription/{rid}"

    def check_eligibility(
        self, request: AuthorizationRequest, *, at: datetime
    ) -> EligibilityResult:
        """POST a CoverageEligibilityRequest and read the CoverageEligibilityResponse."""
        body = build_eligibility_request(
            request_id=str(uuid.uuid4()),
            created=at,
            patient=request.patient,
            coverage=request.coverage,
            provider=request.requesting_provider,
            lines=request.service_lines,
        )
        try:
            facts = parse_eligibility_response(self._post("CoverageEligibilityRequest", body))
        except FhirCodecError as exc:
            raise PayerUnavailable(f"unreadable CoverageEligibilityResponse: {exc}") from exc
        return EligibilityResult(
            active=facts.active,
            plan_start=facts.plan_start,
            plan_end=facts.plan_end,
            services=tuple(
                ServiceEligibility(
                    service=item.code,
                    covered=not item.excluded,
                    auth_required=item.auth_required,
                    benefits=item.benefits,
                )
                for item in facts.items
            ),
            source="fhir",
            warnings=tuple(f"{i.location}: {i.message}" for i in facts.issues),
        )
