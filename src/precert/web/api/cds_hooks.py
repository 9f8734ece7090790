"""CDS Hooks endpoints for Da Vinci CRD: discovery and one service per supported hook.

``GET /cds-services`` is open (EHRs read it before they hold credentials);
``POST /cds-services/{id}`` needs an API key with the discover-requirements permission.
A malformed hook request gets a 400 problem+json naming the JSON path, never a crash.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from precert.bootstrap import Precert
from precert.domain.access import Permission
from precert.interop.fhir.crd import (
    HookRequestError,
    build_response,
    discovery_document,
    parse_hook_request,
    service_hook,
)
from precert.services.access import AccessContext, audit
from precert.services.discover import assess_hook
from precert.web.deps import CurrentAccess, PrecertDep
from precert.web.problems import problem

router = APIRouter(tags=["cds-hooks"])


@router.get("/cds-services")
def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document listing precert's CRD services."""
    return discovery_document()


@router.post("/cds-services/{service_id}", response_model=None)
async def call_service(
    service_id: str, request: Request, precert: PrecertDep, access: CurrentAccess
) -> dict[str, Any] | JSONResponse:
    """Answer one CRD hook call with cards and coverage-information system actions."""
    access.require(Permission.DISCOVER_REQUIREMENTS)
    hook = service_hook(service_id)
    if hook is None:
        return problem(404, "Unknown CDS service", f"no CDS service {service_id!r}")
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return problem(400, "Malformed hook request", f"$: not JSON ({exc})", path="$")
    try:
        parsed = parse_hook_request(body)
    except HookRequestError as exc:
        return problem(400, "Malformed hook request", str(exc), path=exc.path)
    if parsed.hook != hook:
        detail = f"service {service_id!r} answers {hook}, not {parsed.hook}"
        return problem(400, "Malformed hook request", f"$.hook: {detail}", path="$.hook")
    now = precert.clock.now()
    # The hook carries the patient's record (prefetch): its read is audited like any other.
    await run_in_threadpool(_audit, precert, access, parsed.patient_id, parsed.hook, now)
    today = now.date()
    return build_response(parsed, assess_hook(precert.policy, parsed, today), today)


def _audit(
    precert: Precert, access: AccessContext, patient_id: str, hook: str, at: datetime
) -> None:
    with precert.uow() as uow:
        audit(uow, access, at, "read", "patient", [patient_id or "unknown"], hook=hook)
        uow.commit()
