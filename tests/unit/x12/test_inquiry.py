"""The 278 inquiry and its response (005010X215): parse, generate, map, and reject.

The X215 files under tests/x12_cases/ (278-inquiry-*.edi) are authored for precert from
the structure established in docs/x12.md, not published examples: no public X215 sample
with a licence we could copy was found.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precert.domain.authorization import AuthorizationRequest, Decision, LineDetermination
from precert.interop.x12 import X12Error, parse
from precert.interop.x12.codes import INQUIRY_CONVENTION
from precert.interop.x12.mapping import (
    RequestContext,
    determinations_from_review,
    inquiry_from_review,
    inquiry_response,
    review_inquiry,
    status_inquiry,
)
from precert.interop.x12.transactions import HealthCareReview, ReviewInquiry, read
from precert.interop.x12.writer import (
    Envelope,
    acknowledge,
    envelope,
    render,
    serialize,
    wrap_set,
    write_278,
)
from tests.unit.x12.strategies import CREATED, determinations, requests

CASES = Path(__file__).resolve().parents[2] / "x12_cases"
INQUIRIES = sorted(p.name for p in CASES.glob("278-inquiry-*.edi"))
SUBMITTER = "1999999999"
ASKED_AT = datetime(2024, 7, 15, 10, 15, tzinfo=UTC)
ENV = Envelope(sender="PRECERT", receiver="PAYER", date="20240715", time="1015")


def _text(name: str) -> str:
    return (CASES / name).read_text()


def _inquiry(text: str) -> ReviewInquiry:
    document = parse(text)
    assert document.valid, [p.describe() for p in document.problems()]
    typed = read(document.transactions[0])
    assert isinstance(typed, ReviewInquiry)
    return typed


def _through_x12(inquiry: ReviewInquiry) -> ReviewInquiry:
    body = wrap_set("278", "0001", write_278(inquiry), INQUIRY_CONVENTION)
    return _inquiry(envelope([("278", body)], ENV, convention=INQUIRY_CONVENTION))


def _errors(text: str) -> list[X12Error]:
    return [e for e in parse(text).problems() if e.is_error]


# --- reading ----------------------------------------------------------------------------


def test_inquiry_reads_requester_patient_trace_and_review_numbers() -> None:
    """The authored inquiry names the requester, the subscriber, its trace and the payer's
    certification numbers it asks about."""
    inquiry = _inquiry(_text("278-inquiry-by-certification.edi"))
    assert not inquiry.is_response
    assert inquiry.purpose == "28"
    assert inquiry.requester.identifier == "1234567893"
    assert (inquiry.subscriber.identifier, inquiry.subscriber.birth_date) == (
        "W123456789",
        "19800115",
    )
    assert inquiry.trace_numbers == ("REQ20240601A",)
    assert inquiry.review_numbers == ("CERT7001", "CERT7002")
    service = inquiry.events[0].services[0]
    assert service.procedure is not None
    assert service.procedure.code == "97110"


def test_dependent_inquiry_reads_the_patient_and_administrative_reference() -> None:
    """An inquiry for a dependent keeps the dependent apart and reads REF*NT."""
    inquiry = _inquiry(_text("278-inquiry-dependent.edi"))
    assert inquiry.dependent is not None
    assert inquiry.dependent.first_name == "SAM"
    assert inquiry.review_numbers == ("ADM55120",)


def test_response_reads_each_services_decision_dates_and_certification() -> None:
    """The response's HCR, dates, units and message map to per-line determinations."""
    response = _inquiry(_text("278-inquiry-response-A2-partial.edi"))
    assert response.is_response
    result = determinations_from_review(response)
    line = result.lines[0]
    assert line.decision is Decision.MODIFIED
    assert line.certification_number == "CERT7002"
    assert (line.valid_from, line.valid_to) == (date(2024, 6, 10), date(2024, 6, 30))
    assert line.authorized_units == 6
    assert result.payer_reference == "CERT7001"


def test_response_rejection_at_the_subscriber_is_read() -> None:
    """A response may stop at the subscriber it rejects; the AAA is a payer rejection."""
    response = _inquiry(_text("278-inquiry-response-AAA-2010C.edi"))
    assert response.events == ()
    result = determinations_from_review(response)
    assert [(r.loop, r.reason_code, r.follow_up_code) for r in result.rejections] == [
        ("2010C", "75", "C")
    ]


def test_x217_files_still_read_as_reviews() -> None:
    """Dispatch is by ST03: a 005010X217 278 is still a ``HealthCareReview``."""
    document = parse(_text("278-response-A2-partial.edi"))
    assert isinstance(read(document.transactions[0]), HealthCareReview)


@pytest.mark.parametrize("name", INQUIRIES)
def test_parse_generate_parse_is_stable(name: str) -> None:
    """Every authored X215 file regenerates to text that parses to the same view."""
    document = parse(_text(name))
    transaction = document.transactions[0]
    again = parse(
        envelope(
            [("278", serialize(transaction))],
            ENV,
            document.interchanges[0].delimiters,
            convention=INQUIRY_CONVENTION,
        )
    )
    assert again.valid, [p.describe() for p in again.problems()]
    assert read(again.transactions[0]) == read(transaction)


@pytest.mark.parametrize("name", INQUIRIES)
def test_typed_view_writes_back_to_the_same_view(name: str) -> None:
    """read -> write_278 -> read gives the view back (values as sent)."""
    typed = _inquiry(_text(name))
    assert _through_x12(typed) == typed


# --- domain round trips -----------------------------------------------------------------


def _decided(
    request: AuthorizationRequest, numbers: list[str | None], reference: str | None
) -> AuthorizationRequest:
    lines = tuple(
        line.model_copy(
            update={
                "determination": LineDetermination(
                    decision=Decision.APPROVED, certification_number=number
                )
                if number
                else None
            }
        )
        for line, number in zip(request.service_lines, numbers, strict=False)
    )
    return request.model_copy(update={"service_lines": lines, "payer_reference": reference})


_NUMBER = st.one_of(st.none(), st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1))


@settings(max_examples=150, deadline=None, database=None)
@given(requests(), st.lists(_NUMBER, min_size=3, max_size=3), _NUMBER)
def test_inquiry_round_trips_through_x12(
    pair: tuple[AuthorizationRequest, RequestContext],
    numbers: list[str | None],
    reference: str | None,
) -> None:
    """domain -> X215 inquiry -> domain: the status question comes back unchanged."""
    request = _decided(pair[0], numbers, reference)
    inquiry = review_inquiry(request, submitter_id=SUBMITTER, asked_at=ASKED_AT)
    assert inquiry_from_review(_through_x12(inquiry)) == status_inquiry(request)


@settings(max_examples=150, deadline=None, database=None)
@given(requests(), st.data())
def test_inquiry_response_round_trips_through_x12(
    pair: tuple[AuthorizationRequest, RequestContext], data: st.DataObject
) -> None:
    """Determinations written as an X215 response and read back equal the originals."""
    request, _ = pair
    decided = {i: data.draw(determinations()) for i in range(len(request.service_lines))}
    response = inquiry_response(request, decided, submitter_id=SUBMITTER, answered_at=CREATED)
    assert dict(determinations_from_review(_through_x12(response)).lines) == decided


# --- bad input --------------------------------------------------------------------------


def _without(text: str, segment: str) -> str:
    """``text`` less the one segment starting with ``segment``, SE01 kept right."""
    lines = text.splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(segment)]
    assert len(kept) == len(lines) - 1
    count = re.search(r"^SE\*(\d+)\*", text, re.MULTILINE)
    assert count is not None
    return re.sub(r"^SE\*\d+\*", f"SE*{int(count[1]) - 1}*", "".join(kept), flags=re.MULTILINE)


def test_missing_trace_is_a_required_segment_at_the_event() -> None:
    """An inquiry's patient event without TRN: IK304 3 for TRN at the event's HL."""
    errors = _errors(_without(_text("278-inquiry-by-certification.edi"), "TRN*1"))
    [missing] = [e for e in errors if e.segment_id == "TRN"]
    assert (missing.segment_code, missing.loop, missing.position) == ("3", "2000E", 10)


def test_segment_out_of_order_is_unexpected_where_it_lands() -> None:
    """An SV1 moved above its service's HL lands in the event's provider loop: IK304 2."""
    text = _text("278-inquiry-by-certification.edi").replace("SV1*HC:97110~\n", "")
    text = text.replace("HL*5*4*SS*0~", "SV1*HC:97110~\nHL*5*4*SS*0~")
    [error] = [e for e in _errors(text) if e.segment_id == "SV1"]
    assert (error.segment_code, error.loop, error.position) == ("2", "2010EA", 15)


def test_bad_hl_parent_is_reported_at_the_hl() -> None:
    """A service level under the subscriber, and an HL02 naming no HL, are HL errors."""
    text = _text("278-inquiry-by-certification.edi")
    under = _errors(text.replace("HL*5*4*SS*0~", "HL*5*3*SS*0~"))
    assert any(
        (e.segment_id, e.segment_code, e.position, e.loop) == ("HL", "7", 15, "2000F")
        for e in under
    )
    missing = _errors(text.replace("HL*5*4*SS*0~", "HL*5*9*SS*0~"))
    assert any(
        (e.segment_id, e.element, e.element_code, e.bad_value) == ("HL", 2, "7", "9")
        for e in missing
    )


def test_inquiry_purpose_must_be_28() -> None:
    """BHT02 13 (an X217 request) in an X215 set: IK403 I6 at BHT02."""
    text = _text("278-inquiry-by-certification.edi").replace("BHT*0007*28*", "BHT*0007*13*")
    [error] = [e for e in _errors(text) if e.segment_id == "BHT"]
    assert (error.element, error.element_code, error.bad_value) == (2, "I6", "13")


def test_x217_keeps_refusing_the_inquiry_purpose() -> None:
    """BHT02 28 stays an error in an X217 278 (the element list now holds it for X215)."""
    text = _text("278-response-A2-partial.edi").replace("BHT*0007*11*", "BHT*0007*28*")
    assert any((e.segment_id, e.element, e.element_code) == ("BHT", 2, "I6") for e in _errors(text))


def test_rejected_inquiry_is_acknowledged_with_its_convention() -> None:
    """The 999 for a rejected inquiry names X215 in AK2 and the missing TRN in IK3."""
    document = parse(_without(_text("278-inquiry-by-certification.edi"), "TRN*1"))
    ack = acknowledge(document.interchanges[0].groups[0])
    [answer] = ack.sets
    assert (answer.convention, answer.status) == (INQUIRY_CONVENTION, "R")
    assert any((n.segment_id, n.code) == ("TRN", "3") for n in answer.segments)
    assert "ST*278*0001*005010X215~" in render(
        wrap_set("278", "0001", [], INQUIRY_CONVENTION), document.interchanges[0].delimiters
    )
