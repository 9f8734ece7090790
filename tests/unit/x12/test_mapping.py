"""Domain <-> X12 round trips and the mapping of 278 responses and 271s."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precert.domain.authorization import AuthorizationRequest, Decision, LineDetermination
from precert.interop.x12 import X12Error, parse
from precert.interop.x12.mapping import (
    RequestContext,
    determinations_from_review,
    request_from_review,
    review_request,
    review_response,
)
from precert.interop.x12.transactions import HealthCareReview, read
from precert.interop.x12.writer import Envelope, envelope, wrap_set, write_278
from tests.unit.x12.strategies import CREATED, determinations, requests

CASES = Path(__file__).resolve().parents[2] / "x12_cases"
SUBMITTER = "1999999999"
ENV = Envelope(sender="PRECERT", receiver="PAYER", date="20240601", time="0930")


def _through_x12(review: HealthCareReview) -> HealthCareReview:
    text = envelope([("278", wrap_set("278", "0001", write_278(review)))], ENV)
    document = parse(text)
    document.raise_for_errors()
    typed = read(document.transactions[0])
    assert isinstance(typed, HealthCareReview)
    return typed


@settings(max_examples=150, deadline=None, database=None)
@given(requests())
def test_request_round_trips(pair: tuple[AuthorizationRequest, RequestContext]) -> None:
    """A request written as a 278 and read back equals the original."""
    request, context = pair
    back = request_from_review(
        _through_x12(review_request(request, submitter_id=SUBMITTER)), context
    )
    assert back == request


@settings(max_examples=150, deadline=None, database=None)
@given(requests(), st.data())
def test_response_round_trips(
    pair: tuple[AuthorizationRequest, RequestContext], data: st.DataObject
) -> None:
    """Determinations written as a 278 response and read back equal the originals."""
    request, _ = pair
    decided = {i: data.draw(determinations()) for i in range(len(request.service_lines))}
    review = review_response(request, decided, submitter_id=SUBMITTER, answered_at=CREATED)
    result = determinations_from_review(_through_x12(review))
    assert dict(result.lines) == decided


def _review(name: str) -> HealthCareReview:
    document = parse((CASES / name).read_bytes())
    assert document.valid, [p.describe() for p in document.problems()]
    typed = read(document.transactions[0])
    assert isinstance(typed, HealthCareReview)
    return typed


@pytest.mark.parametrize(
    ("name", "event_decision", "line_decisions"),
    [
        ("278-response-A2-partial.edi", Decision.MODIFIED, [Decision.APPROVED, Decision.MODIFIED]),
        ("278-response-A3-denied.edi", Decision.DENIED, [Decision.DENIED]),
        ("278-response-CT-contact-payer.edi", Decision.PENDED, []),
        ("278-response-D-deferred.edi", Decision.PENDED, []),
        ("278-response-IP-in-process.edi", Decision.PENDED, []),
        ("278-response-NA-no-action.edi", Decision.APPROVED, []),
    ],
)
def test_authored_responses_map_to_decisions(
    name: str, event_decision: Decision, line_decisions: list[Decision]
) -> None:
    """Each authored HCR01 action maps to the domain decision documented in mapping.py."""
    result = determinations_from_review(_review(name))
    assert result.event is not None
    assert result.event.decision is event_decision
    assert [result.lines[i].decision for i in sorted(result.lines)] == line_decisions


def test_partial_certification_carries_units_dates_and_text() -> None:
    """A2 at a service line keeps its certification number, units and message."""
    result = determinations_from_review(_review("278-response-A2-partial.edi"))
    first, second = result.lines[0], result.lines[1]
    assert (first.valid_from, first.valid_to) == (
        CREATED.date().replace(day=10),
        CREATED.date().replace(month=7, day=10),
    )
    assert second.certification_number == "CERT7002"
    assert second.authorized_units == 6
    assert second.reason_text is not None
    assert "6 OF 12" in second.reason_text


def test_denial_carries_its_reason_text() -> None:
    """A3 without HCR03 still yields a denial with the payer's MSG as its reason."""
    line = determinations_from_review(_review("278-response-A3-denied.edi")).lines[0]
    assert line.reason_text is not None
    assert line.reason_text.startswith("NOT MEDICALLY")


def test_cancellation_is_a_cancelled_decision() -> None:
    """HCR01 C maps to Decision.CANCELLED, for the event and the lines it covers."""
    result = determinations_from_review(_review("278-response-C-cancelled.edi"))
    assert result.event is not None
    assert result.event.decision is Decision.CANCELLED
    assert result.event.x12_action == "C"
    assert all(d.decision is Decision.CANCELLED for d in result.lines.values())
    assert result.cancelled_lines == tuple(sorted(result.lines))


@settings(max_examples=25, deadline=None, database=None)
@given(requests())
def test_cancelled_line_next_to_an_approved_one(
    pair: tuple[AuthorizationRequest, RequestContext],
) -> None:
    """A cancelled line is reported as such; the approved line keeps its decision."""
    request, _ = pair
    line = request.service_lines[0]
    request = request.model_copy(update={"service_lines": (line, line)})
    decided = {
        0: LineDetermination(decision=Decision.APPROVED, x12_action="A1"),
        1: LineDetermination(decision=Decision.CANCELLED, x12_action="C"),
    }
    review = review_response(request, decided, submitter_id=SUBMITTER, answered_at=CREATED)
    result = determinations_from_review(_through_x12(review))
    assert dict(result.lines) == decided
    assert result.cancelled_lines == (1,)


@settings(max_examples=25, deadline=None, database=None)
@given(requests())
def test_substituted_procedure_code_becomes_authorized_code(
    pair: tuple[AuthorizationRequest, RequestContext],
) -> None:
    """A response SV1 code that differs from the request's is the authorized code."""
    request, _ = pair
    requested = request.service_lines[0].code
    substitute = "72141" if requested != "72141" else "72148"
    decided = {
        0: LineDetermination(
            decision=Decision.MODIFIED, x12_action="A6", authorized_code=substitute
        )
    }
    review = review_response(request, decided, submitter_id=SUBMITTER, answered_at=CREATED)
    response = _through_x12(review)
    procedure = response.events[0].services[0].procedure
    assert procedure is not None
    assert procedure.code == substitute
    result = determinations_from_review(response, request=request)
    assert result.lines[0] == decided[0]


@settings(max_examples=25, deadline=None, database=None)
@given(requests())
def test_unchanged_procedure_code_is_no_substitution(
    pair: tuple[AuthorizationRequest, RequestContext],
) -> None:
    """The echoed request code, or no request to compare with, leaves authorized_code empty."""
    request, _ = pair
    decided = {0: LineDetermination(decision=Decision.APPROVED, x12_action="A1")}
    review = review_response(request, decided, submitter_id=SUBMITTER, answered_at=CREATED)
    response = _through_x12(review)
    assert determinations_from_review(response, request=request).lines[0].authorized_code is None
    substituted = review_response(
        request,
        {0: LineDetermination(decision=Decision.MODIFIED, authorized_code="99999")},
        submitter_id=SUBMITTER,
        answered_at=CREATED,
    )
    assert determinations_from_review(_through_x12(substituted)).lines[0].authorized_code is None


@pytest.mark.parametrize(
    ("name", "loop", "code", "follow_up", "resubmit"),
    [
        ("278-response-AAA-2010A.edi", "2010A", "42", "Y", False),
        ("278-response-AAA-2010B.edi", "2010B", "51", "C", True),
        ("278-response-AAA-2010C.edi", "2010C", "75", "C", True),
        ("278-response-AAA-2000E.edi", "2000E", "AF", "C", True),
    ],
)
def test_authored_rejections(
    name: str, loop: str, code: str, follow_up: str, resubmit: bool
) -> None:
    """AAA at each loop becomes a PayerRejection naming loop, reason and follow-up."""
    result = determinations_from_review(_review(name))
    assert [(r.loop, r.reason_code, r.follow_up_code) for r in result.rejections] == [
        (loop, code, follow_up)
    ]
    assert result.rejections[0].resubmit_allowed is resubmit
    assert not result.lines


def test_submitter_id_must_fit_trn03() -> None:
    """A submitter id that is not 10 characters cannot become TRN03 and is refused."""
    with pytest.raises(X12Error, match="TRN03"):
        review_request(_minimal_request(), submitter_id="short")


def test_too_many_diagnoses_per_line_are_refused() -> None:
    """A service line pointing at five diagnoses does not fit SV107 and is refused."""
    request = _minimal_request()
    line = request.service_lines[0].model_copy(
        update={"diagnoses": ("I10", "E11.9", "J45.909", "M54.16", "K21.9")}
    )
    request.service_lines = (line,)
    with pytest.raises(X12Error, match="SV107"):
        review_request(request, submitter_id=SUBMITTER)


def _minimal_request() -> AuthorizationRequest:
    return AuthorizationRequest.model_validate(
        {
            "organization_id": "org",
            "category": "other",
            "created_at": CREATED,
            "updated_at": CREATED,
            "patient": {
                "id": "p1",
                "given_name": "JOE",
                "family_name": "SMITH",
                "birth_date": "1970-01-01",
                "sex": "male",
                "member_id": "M1",
            },
            "coverage": {
                "payer_id": "P1",
                "plan": "GOLD",
                "line_of_business": "commercial",
                "member_id": "M1",
                "state": "MO",
                "effective_from": "2024-01-01",
            },
            "requesting_provider": {"npi": "1234567893", "name": "ANA RIVERA"},
            "servicing_provider": {"npi": "1245319599", "name": "LI CHEN"},
            "service_lines": [
                {
                    "code_system": "CPT",
                    "code": "72148",
                    "units": "1",
                    "service_start": "2024-06-10",
                    "service_end": "2024-06-10",
                    "place_of_service": "22",
                    "diagnoses": ["I10"],
                }
            ],
        }
    )
