"""Every PAS file of the shared FHIR corpus, with the outcome precert must give it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from precert.domain.authorization import Decision
from precert.interop.fhir.pas import (
    FhirCodecError,
    parse_notification,
    parse_request_bundle,
    parse_response_bundle,
)


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text())


@pytest.mark.parametrize(
    ("name", "items", "legacy"),
    [
        ("conformant_pas_bundle_v110.json", 1, False),
        ("conformant_pas_bundle_v110_multiple_items.json", 2, False),
        ("conformant_pas_inquire_bundle_v110.json", 1, False),
        ("bundle-prior-auth.json", 0, True),
        ("ClaimUpdate1.json", 2, True),
    ],
)
def test_request_bundles_are_accepted(
    fhir_fixtures: Path, name: str, items: int, legacy: bool
) -> None:
    """Each request Bundle is read with its items, legacy ones flagged with a warning."""
    claim = parse_request_bundle(_load(fhir_fixtures, name))
    assert len(claim.items) == items
    assert claim.legacy is legacy
    assert any(i.location == "Bundle.meta.profile" for i in claim.issues) is legacy
    assert not any(i.is_error for i in claim.issues)


def test_conformant_request_carries_member_and_diagnosis(fhir_fixtures: Path) -> None:
    """The conformant Bundle yields its member id, payer, diagnosis and place of service."""
    claim = parse_request_bundle(_load(fhir_fixtures, "conformant_pas_bundle_v110.json"))
    assert claim.member_id == "12345678901"
    assert claim.payer_id == "789312"
    assert claim.items[0].diagnoses == ("G89.4",)
    assert claim.items[0].place_of_service == "11"
    assert claim.items[0].requested_service_type == "ServiceRequest"


def test_legacy_update_marks_cancelled_item(fhir_fixtures: Path) -> None:
    """The legacy update's first item is flagged cancelled and its HCPCS codes recognized."""
    claim = parse_request_bundle(_load(fhir_fixtures, "ClaimUpdate1.json"))
    assert [(i.code, i.cancelled) for i in claim.items] == [("G0154", True), ("B4184", False)]
    assert claim.replaces_claim is not None
    assert len(claim.questionnaire_responses) == 1


@pytest.mark.parametrize(
    ("name", "location"),
    [
        (
            "missing_referenced_resource_request_bundle.json",
            "Bundle.entry[0].resource.careTeam[0].provider",
        ),
        ("nonconformant_pas_bundle_v110.json", "Bundle.entry"),
    ],
)
def test_broken_request_bundles_are_rejected(fhir_fixtures: Path, name: str, location: str) -> None:
    """The two deliberately broken Bundles fail with an error at the exact FHIRPath."""
    with pytest.raises(FhirCodecError) as caught:
        parse_request_bundle(_load(fhir_fixtures, name))
    errors = [i for i in caught.value.issues if i.is_error]
    assert [i.location for i in errors] == [location]


@pytest.mark.parametrize(
    ("name", "sequence", "decision", "x12", "legacy"),
    [
        ("valid_pa_response_bundle.json", 1, Decision.APPROVED, "A1", False),
        ("valid_pa_response_bundle_denial.json", 1, Decision.DENIED, "A3", False),
        ("valid_pa_inquire_response_bundle.json", 1, Decision.APPROVED, "A1", False),
        ("GrantedResponse.json", 2, Decision.APPROVED, "A1", True),
        ("DeniedResponse.json", 2, Decision.DENIED, "A3", True),
        ("PendedClaimResponse.json", 2, Decision.PENDED, "A4", True),
        ("PendedFinalResponse.json", 2, Decision.APPROVED, "A1", True),
    ],
)
def test_response_bundles_give_determinations(
    fhir_fixtures: Path, name: str, sequence: int, decision: Decision, x12: str, legacy: bool
) -> None:
    """Each response Bundle yields the right decision and X12 code for its item."""
    response = parse_response_bundle(_load(fhir_fixtures, name))
    found = {d.item_sequence: d for d in response.items}
    determination = found[sequence].determination
    assert determination is not None
    assert (determination.decision, determination.x12_action) == (decision, x12)
    assert response.legacy is legacy
    if legacy:
        assert any(not i.is_error for i in response.issues)
    if decision is Decision.DENIED:
        assert determination.reason_code or determination.reason_text


def test_approved_response_details(fhir_fixtures: Path) -> None:
    """The approval carries its certification number, period and authorized units."""
    response = parse_response_bundle(_load(fhir_fixtures, "valid_pa_response_bundle.json"))
    d = response.line_determinations()[0]
    assert d.certification_number == "AUTH0001"
    assert (str(d.valid_from), str(d.valid_to)) == ("2005-05-02", "2005-06-02")
    assert d.authorized_units == Decimal(1)


def test_denial_without_reason_is_flagged(fhir_fixtures: Path) -> None:
    """A denial with no reason code or note is read, with a warning naming CMS-0057-F."""
    response = parse_response_bundle(_load(fhir_fixtures, "valid_pa_response_bundle_denial.json"))
    assert any("CMS-0057-F" in i.message for i in response.issues)


def test_legacy_cancelled_item_has_no_decision(fhir_fixtures: Path) -> None:
    """In the legacy responses the cancelled first item is reported cancelled, not decided."""
    response = parse_response_bundle(_load(fhir_fixtures, "GrantedResponse.json"))
    first = response.items[0]
    assert (first.item_sequence, first.cancelled, first.determination) == (1, True, None)


def test_notification_carries_pended_update(fhir_fixtures: Path) -> None:
    """The notification names its subscription and event, and its ClaimResponse is pended."""
    note = parse_notification(_load(fhir_fixtures, "PAS_notification_example_full_resource.json"))
    assert note.subscription == "https://example.org/fhir/Subscription/admission"
    assert note.event_number == "1"
    assert note.update is not None
    determination = note.update.items[0].determination
    assert determination is not None
    assert determination.decision is Decision.PENDED
    assert any("PENDEDCODE" in i.message for i in note.issues)
