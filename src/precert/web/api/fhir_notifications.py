"""``POST /fhir/notifications``: rest-hook notifications from payers about pended requests.

The sender is verified by the per-subscription shared secret it echoes in the
``X-Subscription-Secret`` header (set in ``Subscription.channel.header``); the answer is
an OperationOutcome, as payers expect from a FHIR endpoint.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from precert.adapters.payers.fhir import SECRET_HEADER, answer_from_response
from precert.interop.fhir.common import FhirIssue, Severity, error, operation_outcome
from precert.interop.fhir.pas import FhirCodecError, parse_notification
from precert.services.submission import (
    SenderNotVerified,
    UnknownSubscription,
    receive_notification,
)
from precert.web.api.payers import PayerUowDep
from precert.web.deps import PrecertDep

router = APIRouter(tags=["fhir"])


def _outcome(status: int, issues: list[FhirIssue]) -> JSONResponse:
    return JSONResponse(
        operation_outcome(issues), status_code=status, media_type="application/fhir+json"
    )


@router.post("/fhir/notifications")
async def notifications(request: Request, uow: PayerUowDep, precert: PrecertDep) -> JSONResponse:
    """Apply a payer's notification Bundle to the request it updates."""
    try:
        body = json.loads(await request.body())
        note = parse_notification(body)
    except ValueError as exc:
        return _outcome(400, [error("Bundle", f"the body is not JSON: {exc}", "structure")])
    except FhirCodecError as exc:
        return _outcome(400, list(exc.issues))
    try:
        result = receive_notification(
            uow,
            note.subscription,
            note.update.request_identifier if note.update else None,
            answer_from_response(note.update) if note.update else None,
            request.headers.get(SECRET_HEADER),
            precert.clock,
        )
    except UnknownSubscription as exc:
        return _outcome(404, [error("Bundle.entry[0].resource.parameter", str(exc), "not-found")])
    except SenderNotVerified as exc:
        return _outcome(401, [error(SECRET_HEADER, str(exc), "security")])
    message = (
        f"authorization {result.authorization_id} is {result.status.value}"
        if result.authorization_id and result.status
        else "no matching authorization; notification recorded"
    )
    return _outcome(200, [FhirIssue(Severity.INFORMATION, "Bundle", message, "informational")])
