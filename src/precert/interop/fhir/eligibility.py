"""FHIR R4 CoverageEligibilityRequest / Response: does the coverage hold, is auth required.

The request carries the patient, coverage, insurer and provider as contained resources,
so it travels alone (no Bundle). The response is read into ``EligibilityFacts``: coverage
in force, plan dates, and per service code whether it is covered and needs authorization.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from precert.domain.authorization import Coverage, Patient, Provider, ServiceLine
from precert.interop.fhir.common import (
    FhirIssue,
    as_dict,
    as_list,
    as_str,
    concept,
    error,
    first_code,
    model_issues,
    parse_date,
    raise_on_errors,
)
from precert.interop.fhir.pas import vocabulary as v


@dataclass(frozen=True)
class ItemEligibility:
    """Coverage facts for one service code."""

    system: str
    code: str
    excluded: bool
    auth_required: bool | None
    benefits: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EligibilityFacts:
    """What a CoverageEligibilityResponse says about the coverage."""

    outcome: str | None
    active: bool | None
    plan_start: date | None
    plan_end: date | None
    items: tuple[ItemEligibility, ...]
    disposition: str | None
    issues: tuple[FhirIssue, ...]

    def auth_required(self, system: str, code: str) -> bool | None:
        """Whether the payer said ``code`` needs authorization (None: not said)."""
        return next(
            (i.auth_required for i in self.items if (i.system, i.code) == (system, code)), None
        )


def build_eligibility_request(
    *,
    request_id: str,
    created: datetime,
    patient: Patient,
    coverage: Coverage,
    provider: Provider,
    lines: Sequence[ServiceLine],
) -> dict[str, Any]:
    """A CoverageEligibilityRequest (JSON) for benefits, validation and auth requirements."""
    items = [
        {
            "productOrService": concept(v.SYSTEM_URI[line.code_system], line.code),
            "diagnosis": [
                {"diagnosisCodeableConcept": concept(v.ICD10CM, d)} for d in line.diagnoses
            ],
        }
        for line in lines
    ]
    start = min((line.service_start for line in lines), default=created.date())
    end = max((line.service_end for line in lines), default=created.date())
    return {
        "resourceType": "CoverageEligibilityRequest",
        "id": request_id,
        "contained": [
            {
                "resourceType": "Patient",
                "id": "patient",
                "identifier": [
                    {"type": concept(v.MEMBER_ID_TYPE, "MB"), "value": patient.member_id}
                ],
                "name": [{"family": patient.family_name, "given": [patient.given_name]}],
                "gender": patient.sex.value,
                "birthDate": patient.birth_date.isoformat(),
            },
            {
                "resourceType": "Organization",
                "id": "insurer",
                "identifier": [{"system": v.PRECERT_PAYER_ID, "value": coverage.payer_id}],
                "name": coverage.payer_id,
            },
            {
                "resourceType": "Coverage",
                "id": "coverage",
                "status": "active",
                "subscriberId": coverage.member_id,
                "beneficiary": {"reference": "#patient"},
                "payor": [{"reference": "#insurer"}],
                "class": [{"type": concept(v.COVERAGE_CLASS, "plan"), "value": coverage.plan}],
            },
            {
                "resourceType": "Practitioner" if provider.kind == "individual" else "Organization",
                "id": "provider",
                "identifier": [{"system": v.NPI, "value": provider.npi}],
            },
        ],
        "status": "active",
        "purpose": ["auth-requirements", "benefits", "validation"],
        "patient": {"reference": "#patient"},
        "servicedPeriod": {"start": start.isoformat(), "end": end.isoformat()},
        "created": created.isoformat(),
        "provider": {"reference": "#provider"},
        "insurer": {"reference": "#insurer"},
        "insurance": [{"focal": True, "coverage": {"reference": "#coverage"}}],
        "item": items,
    }


def build_eligibility_response(
    request: Mapping[str, Any],
    *,
    response_id: str,
    created: datetime,
    active: bool,
    plan_start: date,
    plan_end: date | None,
    auth_required: Mapping[tuple[str, str], bool],
) -> dict[str, Any]:
    """The sandbox's CoverageEligibilityResponse (JSON) answering ``request``.

    ``auth_required`` maps (system, code) of requested items to whether each needs
    authorization; items not named are reported without an answer.
    """
    items = []
    for raw in as_list(request.get("item")):
        coded = first_code((as_dict(raw) or {}).get("productOrService"))
        if coded is None:
            continue
        item: dict[str, Any] = {"productOrService": concept(*coded), "excluded": not active}
        if coded in auth_required:
            item["authorizationRequired"] = auth_required[coded]
        items.append(item)
    benefit_period = {"start": plan_start.isoformat()}
    if plan_end:
        benefit_period["end"] = plan_end.isoformat()
    return {
        "resourceType": "CoverageEligibilityResponse",
        "id": response_id,
        "contained": [c for c in as_list(request.get("contained")) if isinstance(c, dict)],
        "status": "active",
        "purpose": ["auth-requirements", "benefits", "validation"],
        "patient": request.get("patient"),
        "created": created.isoformat(),
        "request": {"identifier": {"value": str(request.get("id"))}},
        "outcome": "complete",
        "insurer": request.get("insurer"),
        "insurance": [
            {
                "coverage": {"reference": "#coverage"},
                "inforce": active,
                "benefitPeriod": benefit_period,
                "item": items,
            }
        ],
    }


def parse_eligibility_response(data: object) -> EligibilityFacts:
    """Read a CoverageEligibilityResponse (JSON); raises ``FhirCodecError`` with locations."""
    resource = as_dict(data)
    if resource is None or resource.get("resourceType") != "CoverageEligibilityResponse":
        found = resource.get("resourceType") if resource else type(data).__name__
        raise_on_errors(
            [
                error(
                    "CoverageEligibilityResponse.resourceType",
                    f"expected 'CoverageEligibilityResponse', found {found!r}",
                    "structure",
                )
            ]
        )
    resource = resource or {}
    issues = model_issues(resource, "CoverageEligibilityResponse")
    raise_on_errors(issues)
    insurance = next((i for i in as_list(resource.get("insurance")) if isinstance(i, dict)), {})
    period = as_dict(insurance.get("benefitPeriod")) or {}
    items = []
    for raw in as_list(insurance.get("item")):
        item = as_dict(raw) or {}
        coded = first_code(item.get("productOrService"))
        if coded is None:
            continue
        benefits = tuple(
            (
                code[1],
                str(b.get("allowedMoney", b.get("allowedUnsignedInt", b.get("allowedString", "")))),
            )
            for b in as_list(item.get("benefit"))
            if isinstance(b, dict) and (code := first_code(b.get("type"))) is not None
        )
        required = item.get("authorizationRequired")
        items.append(
            ItemEligibility(
                system=coded[0],
                code=coded[1],
                excluded=item.get("excluded") is True,
                auth_required=required if isinstance(required, bool) else None,
                benefits=benefits,
            )
        )
    inforce = insurance.get("inforce")
    return EligibilityFacts(
        outcome=as_str(resource.get("outcome")),
        active=inforce if isinstance(inforce, bool) else None,
        plan_start=parse_date(period.get("start")),
        plan_end=parse_date(period.get("end")),
        items=tuple(items),
        disposition=as_str(resource.get("disposition")),
        issues=tuple(issues),
    )
