"""Between X12 and precert's domain: 278 <-> AuthorizationRequest, 278 response ->
per-line determinations, 271 -> coverage facts, and a 270 from domain objects.

What the 278 does not carry (the plan's name, line of business, state and
dates, and our own timestamps) comes in through ``RequestContext``; the rest
round-trips. Where X12 is coarser than the domain the mapping says so:
administrative sex ``other`` is sent as ``U`` (unknown), and a provider's
individual name is split at its first space into first and last name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from pydantic import ValidationError

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
from precert.domain.codes import CodeSystem
from precert.interop.x12 import codes as x12codes
from precert.interop.x12.errors import Level, X12Error
from precert.interop.x12.transactions import (
    Benefit,
    Diagnosis,
    Eligibility,
    HealthCareReview,
    Member,
    Outcome,
    Party,
    PatientEvent,
    Period,
    Procedure,
    Quantity,
    Rejection,
    Review,
    ReviewInquiry,
    Service,
    Trace,
)

#: Service category <-> (UM01 request category, UM03 service type code).
CATEGORY_CODES: Mapping[ServiceCategory, tuple[str, str]] = {
    ServiceCategory.ELECTIVE_SURGERY: ("HS", "2"),
    ServiceCategory.ADVANCED_IMAGING: ("HS", "62"),
    ServiceCategory.SPECIALTY_DRUG: ("HS", "88"),
    ServiceCategory.DME: ("HS", "12"),
    ServiceCategory.BEHAVIORAL_HEALTH: ("HS", "MH"),
    ServiceCategory.INPATIENT_ADMISSION: ("AR", "48"),
    ServiceCategory.OTHER: ("HS", "1"),
}
_CATEGORY_BY_SERVICE_TYPE = {code: category for category, (_, code) in CATEGORY_CODES.items()}

#: HCR01 action -> the domain's decision.
ACTION_DECISIONS: Mapping[str, Decision] = {
    "A1": Decision.APPROVED,
    "A2": Decision.MODIFIED,  # certified in part: less than asked for
    "A3": Decision.DENIED,
    "A4": Decision.PENDED,
    "A6": Decision.MODIFIED,
    "C": Decision.CANCELLED,  # the request (or line) was cancelled
    "CT": Decision.PENDED,  # contact the payer: still open, a human must act
    "D": Decision.PENDED,
    "IP": Decision.PENDED,
    "NA": Decision.APPROVED,  # no review needed: the service may proceed
}
_DEFAULT_ACTION = {
    Decision.APPROVED: "A1",
    Decision.MODIFIED: "A6",
    Decision.DENIED: "A3",
    Decision.PENDED: "A4",
    Decision.CANCELLED: "C",
}
_SEX_CODES = {Sex.FEMALE: "F", Sex.MALE: "M", Sex.OTHER: "U", Sex.UNKNOWN: "U"}
_SEX_BY_CODE = {"F": Sex.FEMALE, "M": Sex.MALE, "U": Sex.UNKNOWN}
_NO_REASON = "Not certified; the payer's response gave no reason"


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a 278 request does not carry and the receiver supplies from its own records."""

    plan: str
    line_of_business: LineOfBusiness
    state: str
    effective_from: date
    created_at: datetime
    updated_at: datetime
    effective_to: date | None = None


@dataclass(frozen=True, slots=True)
class PayerRejection:
    """An AAA rejection: the payer could not process (part of) the request."""

    loop: str
    reason_code: str
    reason: str
    follow_up_code: str
    follow_up: str

    @property
    def resubmit_allowed(self) -> bool:
        """Whether the follow-up action permits sending the request again."""
        return self.follow_up_code not in ("N", "Y", "S")


@dataclass(frozen=True, slots=True)
class ReviewResult:
    """A 278 response in the domain's terms: a determination per service line, or rejections.

    ``lines`` is keyed by service line index (0-based, 2000F order). ``event`` is the
    patient-event level decision, which applies to lines without their own. A
    cancellation (HCR01 C) is a determination like any other (``Decision.CANCELLED``).
    """

    lines: Mapping[int, LineDetermination] = field(default_factory=dict)
    event: LineDetermination | None = None
    rejections: tuple[PayerRejection, ...] = ()
    payer_reference: str | None = None

    @property
    def cancelled_lines(self) -> tuple[int, ...]:
        """The lines the payer cancelled, in order (what ``PayerAnswer`` reports apart)."""
        return tuple(i for i, d in sorted(self.lines.items()) if d.decision is Decision.CANCELLED)


@dataclass(frozen=True, slots=True)
class BenefitFact:
    """One EB answer for the service types it names."""

    code: str
    description: str
    service_types: tuple[str, ...]
    authorization_required: bool | None
    in_network: bool | None
    plan: str
    amount: Decimal | None
    percent: Decimal | None
    messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CoverageFacts:
    """What a 271 says about a member's coverage."""

    active: bool | None
    plan: str
    plan_begin: date | None
    plan_end: date | None
    benefits: tuple[BenefitFact, ...]
    rejections: tuple[PayerRejection, ...]

    def authorization_required(self, service_type: str) -> bool | None:
        """EB11 for ``service_type``: True, False, or None when the payer did not say."""
        answers = [
            b.authorization_required
            for b in self.benefits
            if service_type in b.service_types and b.authorization_required is not None
        ]
        if not answers:
            return None
        return any(answers)


def _mapping_error(message: str) -> X12Error:
    return X12Error(message, level=Level.TRANSACTION, set_code="5")


def _d8(day: date) -> str:
    return day.strftime("%Y%m%d")


def _date(text: str) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as exc:
        raise _mapping_error(f"{text!r} is not a CCYYMMDD date") from exc


def _period(qualifier: str, start: date, end: date) -> Period:
    if start == end:
        return Period(qualifier, "D8", _d8(start))
    return Period(qualifier, "RD8", f"{_d8(start)}-{_d8(end)}")


def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text not in ("-0", "") else "0"


def _decimal(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise _mapping_error(f"{text!r} is not a number") from exc


def _fit(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise _mapping_error(f"{what} is {len(value)} characters; X12 allows {limit}")
    return value


def _provider_party(provider: Provider, entity: str, role: str) -> Party:
    if provider.kind == "organization":
        last, first, entity_type = provider.name, "", "2"
    else:
        first, _, last = provider.name.partition(" ")
        if not last:
            first, last = "", first
        entity_type = "1"
    return Party(
        entity=entity,
        entity_type=entity_type,
        last_name=_fit(last, 60, "provider name"),
        first_name=_fit(first, 35, "provider first name"),
        id_qualifier="XX",
        identifier=provider.npi,
        provider_role=role if provider.taxonomy else "",
        taxonomy=provider.taxonomy or "",
    )


def _provider(party: Party) -> Provider:
    if party.entity_type == "2":
        return Provider(
            npi=party.identifier,
            name=party.last_name,
            kind="organization",
            taxonomy=party.taxonomy or None,
        )
    name = f"{party.first_name} {party.last_name}" if party.first_name else party.last_name
    return Provider(
        npi=party.identifier, name=name, kind="individual", taxonomy=party.taxonomy or None
    )


def _diagnosis_code(code: str) -> str:
    return code.replace(".", "")


def review_request(request: AuthorizationRequest, *, submitter_id: str) -> HealthCareReview:
    """The 278 request for ``request``. ``submitter_id`` is TRN03: '1' + the submitter's EIN."""
    if len(submitter_id) != 10:
        raise _mapping_error("the submitter id (TRN03) must be 10 characters")
    category, service_type = CATEGORY_CODES[request.category]
    level = "U" if request.urgency is Urgency.EXPEDITED else "E"
    diagnoses: list[str] = []
    for line in request.service_lines:
        for code in line.diagnoses:
            if code not in diagnoses:
                diagnoses.append(code)
    if len(diagnoses) > 12:
        raise _mapping_error(
            f"a 278 carries at most 12 diagnoses (HI); the request has {len(diagnoses)}"
        )
    services = []
    for line in request.service_lines:
        if len(line.diagnoses) > 4:
            raise _mapping_error("a 278 service line points at most 4 diagnoses (SV107)")
        services.append(
            Service(
                review=Review("HS", "I", service_type, line.place_of_service, "B"),
                periods=(_period("472", line.service_start, line.service_end),),
                procedure=Procedure(
                    segment="SV1",
                    qualifier="N4" if line.code_system is CodeSystem.NDC else "HC",
                    code=line.code,
                    modifiers=line.modifiers,
                    amount=_number(line.estimated_amount),
                    unit_basis="UN",
                    units=_number(line.units),
                    diagnosis_pointers=tuple(str(diagnoses.index(c) + 1) for c in line.diagnoses),
                ),
            )
        )
    patient, coverage = request.patient, request.coverage
    references = [("EJ", _fit(patient.id, 50, "patient id"))]
    if coverage.group_number:
        references.append(("6P", coverage.group_number))
    if patient.member_id != coverage.member_id:
        references.append(("1W", patient.member_id))
    event = PatientEvent(
        traces=(
            Trace(
                "1", request.id, submitter_id, _fit(request.organization_id, 50, "organization id")
            ),
        ),
        review=Review(
            category, "I", service_type, request.service_lines[0].place_of_service, "B", level
        ),
        diagnoses=tuple(
            Diagnosis("ABK" if i == 0 else "ABF", _diagnosis_code(code))
            for i, code in enumerate(diagnoses)
        ),
        providers=(_provider_party(request.servicing_provider, "SJ", "PE"),),
        services=tuple(services),
    )
    return HealthCareReview(
        purpose="13",
        reference=_fit(request.id, 50, "request id"),
        created_date=_d8(request.created_at.date()),
        created_time=request.created_at.strftime("%H%M"),
        umo=Party(
            "X3",
            "2",
            last_name=_fit(coverage.payer_id, 60, "payer id"),
            id_qualifier="PI",
            identifier=coverage.payer_id,
        ),
        requester=_provider_party(request.requesting_provider, "1P", "RF"),
        subscriber=Party(
            "IL",
            "1",
            last_name=_fit(patient.family_name, 60, "family name"),
            first_name=_fit(patient.given_name, 35, "given name"),
            id_qualifier="MI",
            identifier=coverage.member_id,
            references=tuple(references),
            birth_date=_d8(patient.birth_date),
            sex=_SEX_CODES[patient.sex],
        ),
        events=(event,),
    )


def request_from_review(review: HealthCareReview, context: RequestContext) -> AuthorizationRequest:
    """The ``AuthorizationRequest`` a 278 request describes (plan facts from ``context``)."""
    if review.is_response or not review.events:
        raise _mapping_error("a 278 request (BHT02 13) with a patient event is required")
    event = review.events[0]
    if event.review is None:
        raise _mapping_error("the patient event has no UM segment")
    trace = next((t for t in event.traces if t.kind == "1"), None)
    subscriber = review.subscriber
    if event.review.category == "AR":
        category = ServiceCategory.INPATIENT_ADMISSION
    else:
        category = _CATEGORY_BY_SERVICE_TYPE.get(event.review.service_type, ServiceCategory.OTHER)
    codes = [d.code for d in event.diagnoses]
    lines = []
    for service in event.services:
        procedure = service.procedure
        if procedure is None or service.review is None:
            raise _mapping_error("every 2000F service needs a UM and an SV1/SV2/SV3")
        dates = next((p for p in service.periods if p.qualifier == "472"), None)
        if dates is None:
            raise _mapping_error("every 2000F service needs a DTP*472 service date")
        if procedure.qualifier == "N4":
            system = CodeSystem.NDC
        elif procedure.code[:1].isalpha():
            system = CodeSystem.HCPCS
        else:
            system = CodeSystem.CPT
        try:
            pointed = tuple(codes[int(p) - 1] for p in procedure.diagnosis_pointers)
        except (ValueError, IndexError) as exc:
            raise _mapping_error("SV107 points at a diagnosis the HI segment lacks") from exc
        lines.append(
            {
                "code_system": system,
                "code": procedure.code,
                "modifiers": procedure.modifiers,
                "units": _decimal(procedure.units) or Decimal(1),
                "service_start": dates.start,
                "service_end": dates.end,
                "place_of_service": service.review.facility_code,
                "diagnoses": pointed,
                "estimated_amount": _decimal(procedure.amount) or Decimal(0),
            }
        )
    umo = review.umo
    try:
        return AuthorizationRequest(
            id=trace.number if trace else review.reference,
            organization_id=trace.supplemental if trace else "",
            patient=Patient(
                id=subscriber.reference("EJ") or subscriber.identifier,
                given_name=subscriber.first_name,
                family_name=subscriber.last_name,
                birth_date=_date(subscriber.birth_date),
                sex=_SEX_BY_CODE.get(subscriber.sex, Sex.UNKNOWN),
                member_id=subscriber.reference("1W") or subscriber.identifier,
            ),
            coverage=Coverage(
                payer_id=umo.identifier or umo.last_name,
                plan=context.plan,
                line_of_business=context.line_of_business,
                member_id=subscriber.identifier,
                group_number=subscriber.reference("6P") or None,
                state=context.state,
                effective_from=context.effective_from,
                effective_to=context.effective_to,
            ),
            requesting_provider=_provider(review.requester),
            servicing_provider=_provider(event.providers[0])
            if event.providers
            else _provider(review.requester),
            service_lines=tuple(ServiceLine(**line) for line in lines),
            urgency=Urgency.EXPEDITED
            if event.review.level_of_service in ("U", "03")
            else Urgency.STANDARD,
            category=category,
            created_at=context.created_at,
            updated_at=context.updated_at,
        )
    except ValidationError as exc:
        raise _mapping_error(f"the 278 does not make a valid authorization request: {exc}") from exc


def _outcome_for(determination: LineDetermination) -> Outcome:
    action = determination.x12_action or _DEFAULT_ACTION[determination.decision]
    return Outcome(
        action, determination.certification_number or "", determination.reason_code or ""
    )


def _validity(determination: LineDetermination) -> tuple[Period, ...]:
    start, end = determination.valid_from, determination.valid_to
    if start and end:
        return (
            _period("AAH", start, end)
            if start != end
            else Period("AAH", "RD8", f"{_d8(start)}-{_d8(end)}"),
        )
    if start:
        return (Period("AAH", "D8", _d8(start)),)
    if end:
        return (Period("036", "D8", _d8(end)),)
    return ()


def review_response(
    request: AuthorizationRequest,
    determinations: Mapping[int, LineDetermination],
    *,
    submitter_id: str,
    answered_at: datetime,
) -> HealthCareReview:
    """The 278 response answering ``request`` with ``determinations`` per line index."""
    asked = review_request(request, submitter_id=submitter_id)
    return asked._replace(
        purpose="11",
        created_date=_d8(answered_at.date()),
        created_time=answered_at.strftime("%H%M"),
        events=(_answered_event(asked.events[0], determinations),),
    )


def _answered_event(
    event: PatientEvent, determinations: Mapping[int, LineDetermination]
) -> PatientEvent:
    """``event`` as a response gives it back: each line with its determination, the trace
    echoed (TRN01 2) and the event's overall action."""
    services = []
    for index, service in enumerate(event.services):
        determination = determinations.get(index)
        if determination is None:
            services.append(service)
            continue
        if determination.reason_text and len(determination.reason_text) > 264:
            raise _mapping_error("a reason text longer than 264 characters does not fit MSG01")
        procedure = service.procedure
        if procedure is not None and determination.authorized_code:
            # A substituted code goes back in the line's SV1, where the requester compares it.
            procedure = procedure._replace(code=determination.authorized_code)
        services.append(
            Service(
                traces=service.traces,
                review=service.review,
                outcome=_outcome_for(determination),
                references=service.references,
                periods=service.periods + _validity(determination),
                procedure=procedure,
                quantity=Quantity("FL", _number(determination.authorized_units))
                if determination.authorized_units is not None
                else None,
                message=determination.reason_text or "",
            )
        )
    actions = {s.outcome.action for s in services if s.outcome is not None}
    if len(actions) == 1:
        overall = actions.pop()
    elif any(d.decision is Decision.PENDED for d in determinations.values()):
        overall = "A4"
    else:
        overall = "A2"
    return PatientEvent(
        traces=tuple(Trace("2", t.number, t.originator, t.supplemental) for t in event.traces),
        review=event.review,
        outcome=Outcome(overall),
        references=event.references,
        diagnoses=event.diagnoses,
        providers=event.providers,
        services=tuple(services),
    )


# --- 278 inquiry (005010X215) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InquiredLine:
    """One service line a 278 inquiry asks about: its code, dates and certification."""

    code: str
    service_start: date
    service_end: date
    certification_number: str | None = None


@dataclass(frozen=True, slots=True)
class StatusInquiry:
    """What a 278 inquiry asks, in the domain's terms: which request, whose, at which payer,
    and the payer's numbers for it (the request's and each line's certification)."""

    request_id: str
    organization_id: str
    payer_id: str
    member_id: str
    requester_npi: str
    payer_reference: str | None
    lines: tuple[InquiredLine, ...]


def status_inquiry(request: AuthorizationRequest) -> StatusInquiry:
    """The status question precert asks about ``request`` (what ``review_inquiry`` sends)."""
    return StatusInquiry(
        request_id=request.id,
        organization_id=request.organization_id,
        payer_id=request.coverage.payer_id,
        member_id=request.coverage.member_id,
        requester_npi=request.requesting_provider.npi,
        payer_reference=request.payer_reference,
        lines=tuple(
            InquiredLine(
                line.code,
                line.service_start,
                line.service_end,
                line.determination.certification_number if line.determination else None,
            )
            for line in request.service_lines
        ),
    )


def review_inquiry(
    request: AuthorizationRequest, *, submitter_id: str, asked_at: datetime
) -> ReviewInquiry:
    """The 278 inquiry (X215, BHT02 28) asking the payer for the status of ``request``.

    It names the request as the 278 request did (the same parties, the patient event trace
    TRN*1 with the request id, UM, the servicing provider) and adds the payer's numbers:
    ``payer_reference`` as REF*BB at the event and each decided line's certification number
    as REF*BB at its service, with the line's dates (DTP*472) and code (SV1).
    """
    asked = review_request(request, submitter_id=submitter_id)
    event = asked.events[0]
    services = []
    for line, service in zip(request.service_lines, event.services, strict=True):
        number = line.determination.certification_number if line.determination else None
        procedure = service.procedure
        services.append(
            Service(
                references=(("BB", _fit(number, 50, "certification number")),) if number else (),
                periods=service.periods,
                procedure=procedure._replace(amount="", diagnosis_pointers=())
                if procedure is not None
                else None,
            )
        )
    reference = request.payer_reference
    return ReviewInquiry(
        purpose="28",
        reference=asked.reference,
        created_date=_d8(asked_at.date()),
        created_time=asked_at.strftime("%H%M"),
        umo=asked.umo,
        requester=asked.requester,
        subscriber=asked.subscriber,
        events=(
            PatientEvent(
                traces=event.traces,
                review=event.review,
                references=(("BB", _fit(reference, 50, "payer reference")),) if reference else (),
                providers=event.providers,
                services=tuple(services),
            ),
        ),
    )


def inquiry_from_review(inquiry: ReviewInquiry) -> StatusInquiry:
    """What a 278 inquiry asks about, read back into the domain's terms."""
    if inquiry.is_response or not inquiry.events:
        raise _mapping_error("a 278 inquiry (BHT02 28) with a patient event is required")
    event = inquiry.events[0]
    trace = next((t for t in event.traces if t.kind == "1"), None)
    if trace is None:
        raise _mapping_error("the inquiry's patient event has no trace number (TRN*1)")
    lines = []
    for service in event.services:
        dates = next((p for p in service.periods if p.qualifier == "472"), None)
        if service.procedure is None or dates is None:
            raise _mapping_error("every inquired service needs an SV1/SV2/SV3 and a DTP*472")
        lines.append(
            InquiredLine(
                service.procedure.code,
                dates.start,
                dates.end,
                next((v for q, v in service.references if q == "BB"), None),
            )
        )
    umo = inquiry.umo
    return StatusInquiry(
        request_id=trace.number,
        organization_id=trace.supplemental,
        payer_id=umo.identifier or umo.last_name,
        member_id=inquiry.subscriber.identifier,
        requester_npi=inquiry.requester.identifier,
        payer_reference=next((v for q, v in event.references if q == "BB"), None),
        lines=tuple(lines),
    )


def inquiry_response(
    request: AuthorizationRequest,
    determinations: Mapping[int, LineDetermination],
    *,
    submitter_id: str,
    answered_at: datetime,
) -> ReviewInquiry:
    """The payer's X215 response to ``review_inquiry(request)``: the inquiry's loops with
    ``determinations`` per line index (HCR, dates, units, message), as in a 278 response."""
    asked = review_inquiry(request, submitter_id=submitter_id, asked_at=answered_at)
    return asked._replace(purpose="11", events=(_answered_event(asked.events[0], determinations),))


def _rejection(r: Rejection) -> PayerRejection:
    return PayerRejection(
        loop=r.loop,
        reason_code=r.reason,
        reason=x12codes.REJECT_REASONS.get(r.reason, "unknown reason code"),
        follow_up_code=r.follow_up,
        follow_up=x12codes.FOLLOW_UP_ACTIONS.get(r.follow_up, ""),
    )


def _determination(
    outcome: Outcome,
    periods: Sequence[Period],
    quantity: Quantity | None,
    message: str,
    authorized_code: str | None = None,
) -> LineDetermination | None:
    decision = ACTION_DECISIONS.get(outcome.action)
    if decision is None:
        return None
    valid_from = valid_to = None
    for period in periods:
        if period.qualifier == "AAH":
            valid_from = period.start
            valid_to = period.end if period.format == "RD8" else valid_to
        elif period.qualifier == "036":
            valid_to = period.end
    reason_text = message or None
    if decision is Decision.DENIED and not (outcome.reason or reason_text):
        reason_text = _NO_REASON
    try:
        return LineDetermination(
            decision=decision,
            certification_number=outcome.certification_number or None,
            authorized_units=_decimal(quantity.quantity) if quantity else None,
            valid_from=valid_from,
            valid_to=valid_to,
            reason_code=outcome.reason or None,
            reason_text=reason_text,
            x12_action=outcome.action,
            authorized_code=authorized_code,
        )
    except ValidationError as exc:
        raise _mapping_error(f"the 278 response has an inconsistent determination: {exc}") from exc


def _substituted_code(
    procedure: Procedure | None, request: AuthorizationRequest | None, index: int
) -> str | None:
    """The response's procedure code for line ``index`` when it differs from the request's."""
    if procedure is None or request is None or not procedure.code:
        return None
    if index >= len(request.service_lines):
        return None
    return procedure.code if procedure.code != request.service_lines[index].code else None


def determinations_from_review(
    review: HealthCareReview | ReviewInquiry, *, request: AuthorizationRequest | None = None
) -> ReviewResult:
    """Per-line determinations and rejections from a 278 response (X217, or X215 answering
    an inquiry: the same loops and segments).

    With the ``request`` it answers, a service line whose SV1/SV2/SV3 code differs
    from the requested code reports the payer's code as ``authorized_code`` (the
    payer approved a different service); without it no substitution can be seen.
    """
    if not review.is_response:
        raise _mapping_error("a 278 response (BHT02 11) is required")
    rejections = [
        *review.rejections,
        *review.umo.rejections,
        *review.requester.rejections,
        *review.subscriber.rejections,
    ]
    if review.dependent is not None:
        rejections.extend(review.dependent.rejections)
    lines: dict[int, LineDetermination] = {}
    event_determination: LineDetermination | None = None
    reference: str | None = None
    for event in review.events:
        rejections.extend(event.rejections)
        for provider in event.providers:
            rejections.extend(provider.rejections)
        if event.outcome is not None:
            reference = event.outcome.certification_number or reference
            event_determination = _determination(
                event.outcome, event.periods, event.quantity, event.message
            )
        for index, service in enumerate(event.services):
            rejections.extend(service.rejections)
            outcome = service.outcome or event.outcome
            if outcome is None:
                continue
            own = service.outcome is not None
            determination = _determination(
                outcome,
                service.periods if own else (*event.periods, *service.periods),
                service.quantity or (None if own else event.quantity),
                service.message or ("" if own else event.message),
                _substituted_code(service.procedure, request, index),
            )
            if determination is not None:
                lines[index] = determination
    return ReviewResult(
        lines=lines,
        event=event_determination,
        rejections=tuple(_rejection(r) for r in rejections),
        payer_reference=reference,
    )


def _flag(value: str) -> bool | None:
    return {"Y": True, "N": False}.get(value)


def _benefit_fact(benefit: Benefit) -> BenefitFact:
    return BenefitFact(
        code=benefit.code,
        description=x12codes.BENEFIT_INFORMATION.get(benefit.code, ""),
        service_types=benefit.service_types,
        authorization_required=_flag(benefit.authorization_required),
        in_network=_flag(benefit.in_network),
        plan=benefit.plan,
        amount=_decimal(benefit.amount),
        percent=_decimal(benefit.percent),
        messages=benefit.messages,
    )


def coverage_from_271(eligibility: Eligibility) -> CoverageFacts:
    """Coverage facts for the patient of a 271 (the dependent when there is one)."""
    if eligibility.set_id != "271":
        raise _mapping_error("a 271 is required")
    member = eligibility.dependent or eligibility.subscriber
    rejections = [
        *eligibility.rejections,
        *eligibility.source.rejections,
        *eligibility.receiver.rejections,
    ]
    benefits: tuple[Benefit, ...] = ()
    periods: tuple[Period, ...] = ()
    if member is not None:
        rejections.extend(member.party.rejections)
        benefits = member.benefits
        periods = member.periods
        for benefit in benefits:
            rejections.extend(benefit.rejections)
    codes = {b.code for b in benefits}
    if codes & x12codes.ACTIVE_BENEFIT_CODES:
        active: bool | None = True
    elif codes & x12codes.INACTIVE_BENEFIT_CODES:
        active = False
    else:
        active = None
    begin = end = None
    for period in periods:
        if period.qualifier in ("346", "356", "291", "307"):
            begin = period.start
            if period.format == "RD8":
                end = period.end
        elif period.qualifier in ("347", "357"):
            end = period.end
    plan = next(
        (b.plan for b in benefits if b.code in x12codes.ACTIVE_BENEFIT_CODES and b.plan), ""
    )
    return CoverageFacts(
        active=active,
        plan=plan,
        plan_begin=begin,
        plan_end=end,
        benefits=tuple(_benefit_fact(b) for b in benefits),
        rejections=tuple(_rejection(r) for r in rejections),
    )


def eligibility_inquiry(
    patient: Patient,
    coverage: Coverage,
    provider: Provider,
    *,
    service_types: Sequence[str],
    on: date,
    reference: str,
    submitter_id: str,
    created_at: datetime,
) -> Eligibility:
    """A 270 asking whether ``patient`` is covered on ``on`` for ``service_types``."""
    unknown = [t for t in service_types if t not in x12codes.SERVICE_TYPES]
    if unknown or not service_types:
        raise _mapping_error(f"service type codes {unknown or '(none)'} are not X12 1365 codes")
    return Eligibility(
        set_id="270",
        purpose="13",
        reference=reference,
        created_date=_d8(created_at.date()),
        created_time=created_at.strftime("%H%M"),
        source=Party(
            "PR", "2", last_name=coverage.payer_id, id_qualifier="PI", identifier=coverage.payer_id
        ),
        receiver=_provider_party(provider, "1P", "RF"),
        subscriber=Member(
            party=Party(
                "IL",
                "1",
                last_name=patient.family_name,
                first_name=patient.given_name,
                id_qualifier="MI",
                identifier=coverage.member_id,
                birth_date=_d8(patient.birth_date),
                sex=_SEX_CODES[patient.sex],
            ),
            traces=(Trace("1", reference, submitter_id),),
            periods=(Period("291", "D8", _d8(on)),),
            inquiries=(tuple(service_types),),
        ),
    )


def eligibility_response(
    inquiry: Eligibility, facts: CoverageFacts, *, answered_at: datetime
) -> Eligibility:
    """The 271 answering ``inquiry`` with ``facts`` (the sandbox payer's side)."""
    if inquiry.subscriber is None:
        raise _mapping_error("the 270 names no subscriber")
    asked = inquiry.subscriber
    periods: tuple[Period, ...] = ()
    if facts.plan_begin and facts.plan_end:
        periods = (
            _period("346", facts.plan_begin, facts.plan_begin),
            _period("347", facts.plan_end, facts.plan_end),
        )
    elif facts.plan_begin:
        periods = (_period("346", facts.plan_begin, facts.plan_begin),)
    benefits = tuple(
        Benefit(
            code=b.code,
            service_types=b.service_types,
            plan=b.plan,
            amount=_number(b.amount) if b.amount is not None else "",
            percent=_number(b.percent) if b.percent is not None else "",
            authorization_required={True: "Y", False: "N"}.get(b.authorization_required, "")
            if b.authorization_required is not None
            else "",
            in_network={True: "Y", False: "N"}.get(b.in_network, "")
            if b.in_network is not None
            else "",
            messages=b.messages,
        )
        for b in facts.benefits
    )
    return Eligibility(
        set_id="271",
        purpose="11",
        reference=inquiry.reference,
        created_date=_d8(answered_at.date()),
        created_time=answered_at.strftime("%H%M"),
        source=inquiry.source,
        receiver=inquiry.receiver,
        subscriber=Member(
            party=asked.party,
            traces=tuple(Trace("2", t.number, t.originator, t.supplemental) for t in asked.traces),
            periods=periods,
            benefits=benefits,
        ),
    )
