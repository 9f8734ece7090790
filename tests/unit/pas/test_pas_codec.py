"""Unit tests of the PAS codec: round trips, profile rules, bad input, OperationOutcome."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precert.domain.authorization import (
    AuthorizationRequest,
    Coverage,
    Decision,
    LineDetermination,
    LineOfBusiness,
    Patient,
    Provider,
    ServiceCategory,
    ServiceLine,
    Sex,
    Urgency,
)
from precert.domain.codes import CodeSystem, npi_check_digit
from precert.interop.fhir.common import model_issues
from precert.interop.fhir.pas import (
    BundleKind,
    CertificationType,
    FhirCodecError,
    build_cancel_bundle,
    build_request_bundle,
    build_response_bundle,
    build_subscription,
    check_bundle,
    operation_outcome,
    parse_request_bundle,
    parse_response_bundle,
)

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
FHIR_FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "fhir"


def _npi(seed: int) -> str:
    nine = f"1{seed:08d}"[:9]
    return nine + npi_check_digit(nine)


def _request(**overrides: Any) -> AuthorizationRequest:
    fields: dict[str, Any] = {
        "id": "auth-1",
        "organization_id": "org-1",
        "patient": Patient(
            id="MRN1",
            given_name="Ada",
            family_name="Lovelace",
            birth_date=date(1970, 1, 2),
            sex=Sex.FEMALE,
            member_id="M123",
        ),
        "coverage": Coverage(
            payer_id="PAYER1",
            plan="Gold PPO",
            line_of_business=LineOfBusiness.COMMERCIAL,
            member_id="M123",
            group_number="G9",
            state="MO",
            effective_from=date(2026, 1, 1),
        ),
        "requesting_provider": Provider(npi=_npi(1), name="Dr Who"),
        "servicing_provider": Provider(npi=_npi(2), name="Imaging Inc", kind="organization"),
        "service_lines": (
            ServiceLine(
                code_system=CodeSystem.CPT,
                code="70553",
                modifiers=("26",),
                units=Decimal(1),
                service_start=date(2026, 3, 10),
                service_end=date(2026, 3, 10),
                place_of_service="22",
                diagnoses=("G89.4",),
                estimated_amount=Decimal("1200.50"),
            ),
        ),
        "urgency": Urgency.STANDARD,
        "category": ServiceCategory.ADVANCED_IMAGING,
        "created_at": AT,
        "updated_at": AT,
    }
    fields.update(overrides)
    return AuthorizationRequest(**fields)


# --- strategies ----------------------------------------------------------------------

_diagnoses = st.sampled_from(["G89.4", "M54.50", "E11.9", "I10", "J45.909"])
_lines = st.builds(
    lambda system_code, mods, units, start, days, pos, dx, amount: ServiceLine(
        code_system=system_code[0],
        code=system_code[1],
        modifiers=mods if system_code[0] is not CodeSystem.NDC else (),
        units=units,
        service_start=start,
        service_end=start + timedelta(days=days),
        place_of_service=pos,
        diagnoses=dx,
        estimated_amount=amount,
    ),
    st.sampled_from(
        [(CodeSystem.CPT, "70553"), (CodeSystem.HCPCS, "E0601"), (CodeSystem.NDC, "00002143380")]
    ),
    st.lists(st.sampled_from(["26", "TC", "59", "RT"]), max_size=3, unique=True).map(tuple),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(9999), places=3),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    st.integers(0, 60),
    st.sampled_from(["11", "22", "12"]),
    st.lists(_diagnoses, min_size=1, max_size=3, unique=True).map(tuple),
    st.decimals(min_value=Decimal(0), max_value=Decimal(99999), places=2),
)
_requests = st.builds(
    lambda lines, urgency, category, same, lob: _request(
        service_lines=tuple(lines),
        urgency=urgency,
        category=category,
        servicing_provider=Provider(npi=_npi(1), name="Dr Who")
        if same
        else Provider(npi=_npi(3), name="Clinic", kind="organization", taxonomy="207Q00000X"),
        coverage=_request().coverage.model_copy(update={"line_of_business": lob}),
    ),
    st.lists(_lines, min_size=1, max_size=4),
    st.sampled_from(list(Urgency)),
    st.sampled_from(list(ServiceCategory)),
    st.booleans(),
    st.sampled_from(list(LineOfBusiness)),
)

_PAIRS = [
    (Decision.APPROVED, "A1"),
    (Decision.APPROVED, "NA"),
    (Decision.MODIFIED, "A2"),
    (Decision.MODIFIED, "A6"),
    (Decision.DENIED, "A3"),
    (Decision.PENDED, "A4"),
    (Decision.PENDED, "CT"),
]


@st.composite
def _determinations(draw: st.DrawFn) -> LineDetermination:
    decision, code = draw(st.sampled_from(_PAIRS))
    start = draw(st.none() | st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)))
    reason_code = draw(st.none() | st.sampled_from(["AL", "CI", "MP"]))
    reason_text = draw(
        st.none()
        | st.text(st.characters(min_codepoint=0x20), min_size=1, max_size=40).filter(
            lambda t: t.strip() == t
        )
    )
    if decision is Decision.DENIED and not (reason_code or reason_text):
        reason_code = "AL"
    return LineDetermination(
        decision=decision,
        x12_action=code,
        certification_number=draw(st.none() | st.from_regex(r"[A-Z0-9]{4,12}", fullmatch=True)),
        authorized_units=draw(
            st.none() | st.decimals(min_value=Decimal(0), max_value=Decimal(999), places=2)
        ),
        valid_from=start,
        valid_to=start + timedelta(days=draw(st.integers(0, 90))) if start else None,
        reason_code=reason_code,
        reason_text=reason_text,
    )


_PAS_FIELDS = (
    "patient",
    "coverage",
    "requesting_provider",
    "servicing_provider",
    "service_lines",
    "urgency",
)


# --- round trips ---------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_requests)
def test_request_round_trip(request: AuthorizationRequest) -> None:
    """AuthorizationRequest -> PAS Bundle -> parse -> domain gives back every PAS-carried field."""
    bundle = build_request_bundle(request, submission_id="sub-1", submitted_at=AT)
    issues, legacy = check_bundle(bundle, BundleKind.REQUEST, allow_legacy=False)
    assert issues == []
    assert not legacy
    parsed = parse_request_bundle(json.loads(json.dumps(bundle)), allow_legacy=False)
    back = parsed.to_authorization_request(
        organization_id=request.organization_id, category=request.category, at=AT
    )
    assert back.id == request.id
    for name in _PAS_FIELDS:
        assert getattr(back, name) == getattr(request, name), name


@settings(max_examples=40, deadline=None)
@given(st.lists(_determinations(), min_size=1, max_size=3))
def test_response_round_trip(determinations: list[LineDetermination]) -> None:
    """Determinations -> PAS response Bundle -> parse gives the same determinations."""
    line = _request().service_lines[0]
    request = _request(service_lines=(line,) * len(determinations))
    request_bundle = build_request_bundle(request, submission_id="sub-2", submitted_at=AT)
    by_sequence = dict(enumerate(determinations, start=1))
    bundle = build_response_bundle(request_bundle, by_sequence, response_id="resp-1", created=AT)
    assert check_bundle(bundle, BundleKind.RESPONSE, allow_legacy=False) == ([], False)
    parsed = parse_response_bundle(json.loads(json.dumps(bundle)), allow_legacy=False)
    assert parsed.line_determinations() == dict(enumerate(determinations))


def test_builder_is_deterministic() -> None:
    """The same submission id yields the identical Bundle, so a retry resends the same bytes."""
    one = build_request_bundle(_request(), submission_id="s", submitted_at=AT)
    two = build_request_bundle(_request(), submission_id="s", submitted_at=AT)
    assert one == two
    assert one != build_request_bundle(_request(), submission_id="t", submitted_at=AT)


def test_request_bundle_shape() -> None:
    """The Claim is first, preauthorization, with priority, profile and certificationType I."""
    bundle = build_request_bundle(
        _request(urgency=Urgency.EXPEDITED), submission_id="s", submitted_at=AT
    )
    claim = bundle["entry"][0]["resource"]
    assert claim["use"] == "preauthorization"
    assert claim["priority"]["coding"][0]["code"] == "stat"
    assert claim["meta"]["profile"] == [
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claim"
    ]
    cert = claim["item"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]
    assert cert["code"] == CertificationType.INITIAL
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types.count("ServiceRequest") == 1
    assert "Condition" in types
    for entry in bundle["entry"]:
        assert model_issues(entry["resource"], "r") == []


def test_cancel_bundle_names_replaced_claim() -> None:
    """A cancel carries certificationType 3 and the identifier of the Claim it cancels."""
    bundle = build_cancel_bundle(
        _request(), submission_id="c", submitted_at=AT, replaces_claim="auth-1"
    )
    parsed = parse_request_bundle(bundle, allow_legacy=False)
    assert parsed.replaces_claim == "auth-1"
    assert {i.certification_type for i in parsed.items} == {CertificationType.CANCEL}


def test_questionnaire_response_is_supporting_info() -> None:
    """A DTR QuestionnaireResponse goes in the Bundle and is referenced from supportingInfo."""
    qr = {"resourceType": "QuestionnaireResponse", "status": "completed"}
    bundle = build_request_bundle(
        _request(), submission_id="q", submitted_at=AT, questionnaire_responses=[qr]
    )
    parsed = parse_request_bundle(bundle, allow_legacy=False)
    assert [q["status"] for q in parsed.questionnaire_responses] == ["completed"]


def test_modified_approval_via_add_item() -> None:
    """A substitution is written as addItem and read back as a modification with the new code."""
    request_bundle = build_request_bundle(_request(), submission_id="m", submitted_at=AT)
    d = LineDetermination(decision=Decision.MODIFIED, x12_action="A6", authorized_units=Decimal(2))
    bundle = build_response_bundle(
        request_bundle,
        {1: d},
        response_id="r",
        created=AT,
        substitutions={1: ("http://www.ama-assn.org/go/cpt", "70551")},
    )
    parsed = parse_response_bundle(bundle, allow_legacy=False)
    item = parsed.items[0]
    assert item.authorized_code == ("http://www.ama-assn.org/go/cpt", "70551")
    assert item.determination == d


def test_response_builder_refuses_control_characters() -> None:
    """A reason text FHIR could not carry is refused, naming the determination."""
    request_bundle = build_request_bundle(_request(), submission_id="s", submitted_at=AT)
    bad = LineDetermination(decision=Decision.DENIED, reason_text="no\x07bell")
    with pytest.raises(FhirCodecError) as caught:
        build_response_bundle(request_bundle, {1: bad}, response_id="r", created=AT)
    assert caught.value.issues[0].location == "determinations[1].reason_text"


def test_response_builder_rejects_inconsistent_code() -> None:
    """An X12 action that contradicts the decision is refused by the builder."""
    request_bundle = build_request_bundle(_request(), submission_id="x", submitted_at=AT)
    bad = LineDetermination(decision=Decision.APPROVED, x12_action="A3")
    with pytest.raises(FhirCodecError) as caught:
        build_response_bundle(request_bundle, {1: bad}, response_id="r", created=AT)
    assert caught.value.issues[0].location == "determinations[1]"


def test_to_domain_reports_bad_code_location(fhir_fixtures: Path) -> None:
    """A Claim coded in X12 service types cannot become a domain request; the item is named."""
    data = json.loads((fhir_fixtures / "conformant_pas_bundle_v110.json").read_text())
    parsed = parse_request_bundle(data)
    with pytest.raises(FhirCodecError) as caught:
        parsed.to_authorization_request(organization_id="o", category=ServiceCategory.OTHER, at=AT)
    locations = [i.location for i in caught.value.issues]
    assert "Bundle.entry[0].resource.item[0].productOrService" in locations


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "location"),
    [
        ([], "Bundle"),
        ("text", "Bundle"),
        ({"resourceType": "Patient"}, "Bundle.resourceType"),
        ({"resourceType": "Bundle", "type": "collection", "entry": "x"}, "Bundle.entry"),
    ],
)
def test_malformed_input_is_located(data: object, location: str) -> None:
    """Wrong shapes and resource types fail with the codec error at the named location."""
    with pytest.raises(FhirCodecError) as caught:
        parse_request_bundle(data, allow_legacy=False)
    assert location in [i.location for i in caught.value.issues]


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["valid_pa_response_bundle.json", "valid_pa_response_bundle_denial.json"]),
    control=st.sampled_from(["\x00", "\x01", "\x1b", "\x1f"]),
    pick=st.integers(min_value=0),
)
def test_control_characters_in_a_payer_response_are_located(
    name: str, control: str, pick: int
) -> None:
    """FHIR strings may not hold controls below U+0020 (but tab, CR, LF); the path is named."""
    data = json.loads((FHIR_FIXTURES / name).read_text())
    strings = [
        (resource_index, key)
        for resource_index, entry in enumerate(data["entry"])
        for key, value in entry["resource"].items()
        if isinstance(value, str) and key != "resourceType"
    ]
    resource_index, key = strings[pick % len(strings)]
    data["entry"][resource_index]["resource"][key] += control
    with pytest.raises(FhirCodecError) as caught:
        parse_response_bundle(data)
    expected = f"Bundle.entry[{resource_index}].resource.{key}"
    messages = [i.message for i in caught.value.issues if i.location == expected]
    assert f"a FHIR string may not hold the control character U+{ord(control):04X}" in messages
    data["entry"][resource_index]["resource"][key] = "tab\tand\r\nbreaks"
    assert not [i for i in check_bundle(data, BundleKind.RESPONSE)[0] if "control" in i.message]


def _good_bundle() -> dict[str, Any]:
    return build_request_bundle(_request(), submission_id="g", submitted_at=AT)


def test_missing_claim_is_located() -> None:
    """A Bundle whose first entry is not a Claim names entry[0]'s resourceType."""
    bundle = _good_bundle()
    bundle["entry"] = bundle["entry"][1:]
    with pytest.raises(FhirCodecError) as caught:
        parse_request_bundle(bundle)
    assert "Bundle.entry[0].resource.resourceType" in [i.location for i in caught.value.issues]


def test_unresolved_and_duplicate_are_located() -> None:
    """A dangling reference and a repeated resource are both reported where they occur."""
    bundle = _good_bundle()
    bundle["entry"][0]["resource"]["insurer"] = {"reference": "urn:uuid:nowhere"}
    bundle["entry"].append(copy.deepcopy(bundle["entry"][1]))
    issues, _ = check_bundle(bundle, BundleKind.REQUEST, allow_legacy=False)
    locations = {i.location for i in issues if i.is_error}
    assert "Bundle.entry[0].resource.insurer" in locations
    assert f"Bundle.entry[{len(bundle['entry']) - 1}].resource" in locations


def test_missing_identifier_and_timestamp() -> None:
    """A PAS-profiled request without identifier and timestamp fails on both."""
    bundle = _good_bundle()
    del bundle["identifier"], bundle["timestamp"]
    issues, _ = check_bundle(bundle, BundleKind.REQUEST)
    assert {"Bundle.identifier", "Bundle.timestamp"} <= {i.location for i in issues if i.is_error}


def test_mixed_full_url_forms() -> None:
    """Mixing RESTful fullUrls with urn:uuid ones is an error."""
    bundle = _good_bundle()
    patient = bundle["entry"][1]
    old = patient["fullUrl"]
    patient["fullUrl"] = f"https://ehr.example/fhir/Patient/{patient['resource']['id']}"
    text = json.dumps(bundle).replace(
        f'"reference": "{old}"', f'"reference": "{patient["fullUrl"]}"'
    )
    issues, _ = check_bundle(json.loads(text), BundleKind.REQUEST)
    assert any("mix" in i.message for i in issues if i.is_error)


def _mutate(node: Any, path: list[int], value: Any) -> Any:
    """Replace the ``path``-th value (depth-first, wrapping) in ``node`` with ``value``."""
    counter = [path[0]]

    def walk(n: Any) -> Any:
        if isinstance(n, dict):
            return {k: walk(v) for k, v in n.items()}
        if isinstance(n, list):
            return [walk(v) for v in n]
        counter[0] -= 1
        return value if counter[0] == 0 else n

    return walk(node)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(
        [
            "conformant_pas_bundle_v110.json",
            "valid_pa_response_bundle.json",
            "GrantedResponse.json",
            "ClaimUpdate1.json",
        ]
    ),
    st.integers(1, 400),
    st.one_of(
        st.none(), st.integers(), st.text(max_size=5), st.just({}), st.just([]), st.booleans()
    ),
)
def test_mutated_fixtures_raise_only_codec_errors(name: str, position: int, value: Any) -> None:
    """One fixture scalar replaced by junk yields a result or a FhirCodecError, nothing else."""
    folder = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "fhir"
    data = _mutate(json.loads((folder / name).read_text()), [position], value)
    for parse in (parse_request_bundle, parse_response_bundle):
        issues: tuple[Any, ...] = ()
        try:
            parse(data)
        except FhirCodecError as exc:
            issues = exc.issues
        assert all(i.location.startswith("Bundle") for i in issues)


# --- OperationOutcome and Subscription -----------------------------------------------


def test_operation_outcome_carries_expressions() -> None:
    """Codec issues become OperationOutcome issues with severity, code and FHIRPath expression."""
    with pytest.raises(FhirCodecError) as caught:
        parse_request_bundle({"resourceType": "Bundle", "type": "collection", "entry": []})
    outcome = operation_outcome(caught.value.issues)
    assert model_issues(outcome, "OperationOutcome") == []
    assert {"severity": "error", "expression": ["Bundle.entry"]}.items() <= outcome["issue"][
        -1
    ].items()


def test_operation_outcome_for_no_issues_is_valid() -> None:
    """An empty issue list still gives a valid OperationOutcome (issue is 1..*)."""
    outcome = operation_outcome([])
    assert model_issues(outcome, "OperationOutcome") == []
    assert outcome["issue"][0]["severity"] == "information"


def test_subscription_matches_pas_example(fhir_fixtures: Path) -> None:
    """The built Subscription has the topic, filter and payload shape of the PAS 2.2.1 example."""
    example = json.loads((fhir_fixtures / "PAS_Subscription_example_v221_good.json").read_text())
    built = build_subscription(
        endpoint=example["channel"]["endpoint"], organization_identifier="8189991234"
    )
    for key in ("criteria", "_criteria", "status"):
        assert built[key] == example[key]
    assert built["channel"]["_payload"] == example["channel"]["_payload"]
    assert model_issues(built, "Subscription") == []
