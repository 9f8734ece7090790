"""The sandbox payer's X12 side: 999s for what it receives, 278 and 271 answers.

A clearinghouse-style exchange: the body in is one or more interchanges; the body out
is a 999 interchange acknowledging every functional group received, followed (when the
999 accepted the set) by an interchange with the 278 response or the 271. The 278 is
adjudicated exactly like a PAS Claim: the 278 is mapped to precert's domain request,
built into the PAS request Bundle and decided by the same policy packs and scenarios,
so both formats of one request get the same decision.

A 278 carries no plan facts; the sandbox's member file puts every X12 member on a
commercial plan (``MEMBER_PLAN``) of the payer the UMO loop names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from precert.domain.authorization import AuthorizationRequest, LineDetermination, LineOfBusiness
from precert.interop.x12 import Document, X12Error, parse
from precert.interop.x12.mapping import (
    CATEGORY_CODES,
    BenefitFact,
    CoverageFacts,
    RequestContext,
    eligibility_response,
    request_from_review,
    review_response,
)
from precert.interop.x12.model import FunctionalGroup, TransactionSet
from precert.interop.x12.transactions import (
    Eligibility,
    HealthCareReview,
    Outcome,
    Rejection,
    read,
)
from precert.interop.x12.writer import (
    Envelope,
    Segments,
    acknowledge,
    envelope,
    wrap_set,
    write_278,
    write_999,
    write_eligibility,
)

EDI_X12 = "application/edi-x12"
MSG_LIMIT = 264
MEMBER_BIRTH_DATE = "19700101"
MEMBER_PLAN = "Sandbox commercial plan on file"
#: Member ids ending so are not on the payer's file: AAA 75 (subscriber not found), C.
NOT_FOUND_SUFFIX = "-NOTFOUND"
#: Service types answered "authorization required" (EB11 Y): those of precert's categories
#: that the shipped packs put under review (surgery, imaging, drugs, DME, BH, inpatient).
AUTH_SERVICE_TYPES = frozenset(code for _, code in CATEGORY_CODES.values() if code != "1")


class Received:
    """One X12 body as received: the parsed document, its 999, and the set to answer."""

    def __init__(self, body: bytes, set_id: str) -> None:
        self.text = body.decode("utf-8", "replace")
        self.document: Document = parse(body)
        groups = [g for i in self.document.interchanges for g in i.groups]
        self.group: FunctionalGroup | None = groups[0] if groups else None
        sets = [t for g in groups for t in g.transactions if t.set_id == set_id]
        self.transaction: TransactionSet | None = sets[0] if sets else None
        first = self.document.interchanges[0] if self.document.interchanges else None
        # The answer goes back the other way: the request's receiver is the sender now.
        self.sender = first.receiver if first else "SANDBOX"
        self.receiver = first.sender if first else "UNKNOWN"
        self.control = int(first.control_number) if first and first.control_number.isdigit() else 1

    @property
    def readable(self) -> bool:
        """Whether there is a functional group to acknowledge at all."""
        return self.group is not None

    @property
    def accepted(self) -> bool:
        """Whether the set to answer is there and free of errors (the 999 says ``A``)."""
        return self.transaction is not None and self.transaction.accepted

    def interchange(self, set_id: str, body: Segments, at: datetime) -> str:
        """One answering interchange, control numbers mirroring the request's."""
        return envelope(
            [(set_id, wrap_set(set_id, "0001", body))],
            Envelope(
                sender=self.sender or "SANDBOX",
                receiver=self.receiver or "UNKNOWN",
                date=at.strftime("%Y%m%d"),
                time=at.strftime("%H%M"),
                interchange_control=self.control,
                group_control=self.control,
            ),
        )

    def acknowledgment(self, at: datetime) -> str:
        """The 999 interchange for the received group."""
        assert self.group is not None  # callers answer unreadable bodies without a 999
        return self.interchange("999", write_999(acknowledge(self.group)), at)


def read_review(received: Received) -> HealthCareReview | None:
    """The 278 request received, if the set reads as one."""
    if received.transaction is None:
        return None
    try:
        review = read(received.transaction)
    except X12Error:
        return None
    if not isinstance(review, HealthCareReview) or review.is_response or not review.events:
        return None
    return review


def read_inquiry(received: Received) -> Eligibility | None:
    """The 270 received, if the set reads as one."""
    if received.transaction is None:
        return None
    try:
        inquiry = read(received.transaction)
    except X12Error:
        return None
    return inquiry if isinstance(inquiry, Eligibility) and inquiry.set_id == "270" else None


def domain_request(review: HealthCareReview, at: datetime) -> AuthorizationRequest:
    """The request a 278 describes, with the member file's plan facts. Raises X12Error.

    DMG is optional in a 278 (the payer knows its members); the member file then supplies
    the date of birth (``MEMBER_BIRTH_DATE``).
    """
    if not review.subscriber.birth_date:
        review = review._replace(
            subscriber=review.subscriber._replace(birth_date=MEMBER_BIRTH_DATE)
        )
    context = RequestContext(
        plan=MEMBER_PLAN,
        line_of_business=LineOfBusiness.COMMERCIAL,
        state="MO",
        effective_from=date(at.year, 1, 1),
        created_at=at,
        updated_at=at,
    )
    return request_from_review(review, context)


def trace_number(review: HealthCareReview) -> str:
    """The submitter's trace of the patient event (TRN02): its own request identifier."""
    for event in review.events:
        for trace in event.traces:
            if trace.kind == "1":
                return trace.number
    return review.reference


def is_cancel(review: HealthCareReview) -> bool:
    """Certification type 3 on the patient event: withdraw an earlier request."""
    return any(e.review is not None and e.review.certification_type == "3" for e in review.events)


def _fits_msg(determination: LineDetermination) -> LineDetermination:
    """The determination with its reason cut to what MSG01 holds (264 characters)."""
    text = determination.reason_text
    if text is None or len(text) <= MSG_LIMIT:
        return determination
    return determination.model_copy(update={"reason_text": text[: MSG_LIMIT - 1] + "…"})


def answer_278(
    review: HealthCareReview,
    request: AuthorizationRequest,
    by_sequence: Mapping[int, LineDetermination],
    at: datetime,
) -> HealthCareReview:
    """The 278 response for the lines decided (keyed by Claim item sequence, from 1)."""
    submitter = next(
        (t.originator for e in review.events for t in e.traces if t.kind == "1"), "0000000000"
    )
    answered = review_response(
        request,
        {sequence - 1: _fits_msg(d) for sequence, d in by_sequence.items()},
        submitter_id=submitter,
        answered_at=at,
    )
    return answered._replace(reference=review.reference)


def cancelled_278(
    review: HealthCareReview, request: AuthorizationRequest, at: datetime
) -> HealthCareReview:
    """The 278 response reporting every line cancelled (HCR01 ``C``)."""
    answered = answer_278(review, request, {}, at)
    events = tuple(
        event._replace(
            outcome=Outcome("C"),
            services=tuple(s._replace(outcome=Outcome("C")) for s in event.services),
        )
        for event in answered.events
    )
    return answered._replace(events=events)


def rejected_278(
    review: HealthCareReview, request: AuthorizationRequest | None, at: datetime, reason: str
) -> HealthCareReview:
    """A 278 response rejecting the subscriber (2010C AAA ``reason``, follow-up C)."""
    base = (
        answer_278(review, request, {}, at)
        if request is not None
        else review._replace(purpose="11")
    )
    subscriber = base.subscriber._replace(rejections=(Rejection("2010C", "N", reason, "C"),))
    events = tuple(
        e._replace(outcome=None, services=tuple(s._replace(outcome=None) for s in e.services))
        for e in base.events
    )
    return base._replace(subscriber=subscriber, events=events, reference=review.reference)


def response_text(received: Received, response: HealthCareReview, at: datetime) -> str:
    """The 278 response interchange."""
    return received.interchange("278", write_278(response), at)


def later_278(
    raw_request: str, decisions: Mapping[int, LineDetermination], at: datetime
) -> str | None:
    """The 278 response interchange once a pended review is decided (None if unreadable)."""
    received = Received(raw_request.encode(), "278")
    review = read_review(received)
    if review is None:
        return None
    try:
        request = domain_request(review, at)
        return response_text(received, answer_278(review, request, decisions, at), at)
    except X12Error:
        return None


def coverage_facts(inquiry: Eligibility, today: date) -> CoverageFacts:
    """The member's coverage: active unless the member id ends in ``-TERM``, calendar plan year."""
    member = inquiry.subscriber.party.identifier if inquiry.subscriber else ""
    active = not member.upper().endswith("-TERM")
    asked = [t for q in (inquiry.subscriber.inquiries if inquiry.subscriber else ()) for t in q]
    benefits = [
        BenefitFact(
            code="1" if active else "6",
            description="",
            service_types=("30",),
            authorization_required=None,
            in_network=None,
            plan=MEMBER_PLAN,
            amount=None,
            percent=None,
            messages=(),
        )
    ]
    if active:
        benefits.extend(
            BenefitFact(
                code="1",
                description="",
                service_types=(service_type,),
                authorization_required=service_type in AUTH_SERVICE_TYPES,
                in_network=True,
                plan=MEMBER_PLAN,
                amount=None,
                percent=None,
                messages=(),
            )
            for service_type in dict.fromkeys(asked)
            if service_type != "30"
        )
    return CoverageFacts(
        active=active,
        plan=MEMBER_PLAN,
        plan_begin=date(today.year, 1, 1),
        plan_end=date(today.year, 12, 31),
        benefits=tuple(benefits),
        rejections=(),
    )


def answer_271(received: Received, inquiry: Eligibility, at: datetime) -> str:
    """The 271 interchange answering ``inquiry``; unknown members get AAA 75."""
    member = inquiry.subscriber.party.identifier if inquiry.subscriber else ""
    facts = coverage_facts(inquiry, at.date())
    answer = eligibility_response(inquiry, facts, answered_at=at)
    if member.upper().endswith(NOT_FOUND_SUFFIX) and answer.subscriber is not None:
        party = answer.subscriber.party._replace(rejections=(Rejection("2100C", "N", "75", "C"),))
        answer = answer._replace(subscriber=answer.subscriber._replace(party=party, benefits=()))
    return received.interchange("271", write_eligibility(answer), at)
