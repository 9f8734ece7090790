"""Unit tests of the CoverageEligibilityRequest / Response codec."""

from __future__ import annotations

from datetime import date

import pytest

from precert.interop.fhir.common import FhirCodecError, model_issues
from precert.interop.fhir.eligibility import (
    build_eligibility_request,
    build_eligibility_response,
    parse_eligibility_response,
)
from precert.interop.fhir.pas import vocabulary as v
from tests.unit.pas.test_pas_codec import AT, _request


def _request_json() -> dict[str, object]:
    r = _request()
    return build_eligibility_request(
        request_id="elig-1",
        created=AT,
        patient=r.patient,
        coverage=r.coverage,
        provider=r.requesting_provider,
        lines=r.service_lines,
    )


def test_request_is_valid_r4() -> None:
    """The built CoverageEligibilityRequest passes structural R4 validation."""
    assert model_issues(_request_json(), "CoverageEligibilityRequest") == []


def test_response_round_trip() -> None:
    """Facts written by the sandbox builder are read back: in force, dates, auth per code."""
    response = build_eligibility_response(
        _request_json(),
        response_id="r1",
        created=AT,
        active=True,
        plan_start=date(2026, 1, 1),
        plan_end=date(2026, 12, 31),
        auth_required={(v.CPT, "70553"): True},
    )
    facts = parse_eligibility_response(response)
    assert (facts.active, facts.plan_start, facts.plan_end) == (
        True,
        date(2026, 1, 1),
        date(2026, 12, 31),
    )
    assert facts.auth_required(v.CPT, "70553") is True
    assert facts.auth_required(v.CPT, "99999") is None


def test_wrong_resource_type_is_located() -> None:
    """A resource that is not a CoverageEligibilityResponse fails at resourceType."""
    with pytest.raises(FhirCodecError) as caught:
        parse_eligibility_response({"resourceType": "Claim"})
    assert caught.value.issues[0].location == "CoverageEligibilityResponse.resourceType"


def test_structural_error_is_located() -> None:
    """A malformed element is reported at its FHIRPath."""
    with pytest.raises(FhirCodecError) as caught:
        parse_eligibility_response(
            {"resourceType": "CoverageEligibilityResponse", "status": "active", "insurance": "x"}
        )
    assert any(i.location.startswith("CoverageEligibilityResponse.") for i in caught.value.issues)
