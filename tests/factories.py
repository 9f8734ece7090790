"""Builders of valid requests for tests; each test changes only what it is about."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from precert.domain.authorization import Actor, AuthorizationRequest, Role
from precert.services.authorizations import NewAuthorization

VALID_NPI = "1234567893"  # the CMS documentation's example NPI; its check digit is valid
OTHER_NPI = "1245319599"

REQUEST_BODY: dict[str, Any] = {
    "patient": {
        "id": "MRN-0001",
        "given_name": "Alex",
        "family_name": "Testperson",
        "birth_date": "1970-05-01",
        "sex": "female",
        "member_id": "NW123456789",
    },
    "coverage": {
        "payer_id": "northwind-health",
        "plan": "Northwind Choice PPO",
        "line_of_business": "commercial",
        "member_id": "NW123456789",
        "group_number": "GRP-100",
        "state": "MO",
        "effective_from": "2026-01-01",
    },
    "requesting_provider": {"npi": VALID_NPI, "name": "Dr. Riley Example"},
    "servicing_provider": {"npi": OTHER_NPI, "name": "Example Imaging", "kind": "organization"},
    "service_lines": [
        {
            "code_system": "CPT",
            "code": "72148",
            "units": "1",
            "service_start": "2026-03-20",
            "service_end": "2026-03-20",
            "place_of_service": "22",
            "diagnoses": ["M54.50"],
            "estimated_amount": "1850.00",
        }
    ],
    "urgency": "standard",
    "category": "advanced_imaging",
}

COORDINATOR = Actor(id="user:coordinator", role=Role.COORDINATOR)
PAYER = Actor(id="payer:northwind-health", role=Role.INTEGRATION)


def request_body(**changes: Any) -> dict[str, Any]:
    """A valid JSON body for creating a request, with top-level keys replaced."""
    body = copy.deepcopy(REQUEST_BODY)
    body.update(changes)
    return body


def draft(at: datetime, organization_id: str = "org-1", **changes: Any) -> AuthorizationRequest:
    """A draft aggregate opened by a coordinator at ``at``."""
    command = NewAuthorization.model_validate(request_body(**changes))
    return AuthorizationRequest.open(
        actor=COORDINATOR, at=at, organization_id=organization_id, **dict(command)
    )
