"""Writing X12: typed transactions to segments, envelopes, and 999s for what we received.

Element values are written as given; empty trailing elements and components
are dropped, as X12 requires. ``serialize`` regenerates a parsed set from its
loop tree (document order, segment counts recomputed), which is what the
parse -> generate -> parse stability tests rely on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from precert.interop.x12.codes import CONVENTIONS, FUNCTIONAL_IDS
from precert.interop.x12.errors import Level, X12Error
from precert.interop.x12.grammar import GRAMMARS
from precert.interop.x12.model import Delimiters, FunctionalGroup, Loop, TransactionSet
from precert.interop.x12.transactions import (
    Acknowledgment,
    ElementNote,
    Eligibility,
    HealthCareReview,
    Member,
    Party,
    PatientEvent,
    Period,
    Quantity,
    Rejection,
    Review,
    ReviewInquiry,
    SegmentNote,
    Service,
    SetResponse,
    Trace,
)

Segments = list[list[str]]

#: The delimiters precert writes unless told otherwise.
DEFAULT_DELIMITERS = Delimiters()


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who sends to whom, when, under which control numbers."""

    sender: str
    receiver: str
    date: str  # CCYYMMDD
    time: str  # HHMM
    interchange_control: int = 1
    group_control: int = 1
    usage: str = "P"  # ISA15: P production, T test
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"


def _trim(elements: list[str]) -> list[str]:
    end = len(elements)
    while end > 1 and not elements[end - 1]:
        end -= 1
    return elements[:end]


def _join(parts: Sequence[str], separator: str) -> str:
    items = list(parts)
    while items and not items[-1]:
        items.pop()
    return separator.join(items)


def render(segments: Segments, delimiters: Delimiters) -> str:
    """Segments as X12 text, one terminator after each."""
    element = delimiters.element
    terminator = delimiters.segment
    return "".join(element.join(_trim(s)) + terminator for s in segments)


def wrap_set(
    set_id: str, control_number: str, body: Segments, convention: str | None = None
) -> Segments:
    """ST + ``body`` + SE with the right count, for a set we generate.

    ST03 is the set's default convention (``codes.CONVENTIONS``) unless ``convention``
    names another, e.g. ``codes.INQUIRY_CONVENTION`` for a 278 inquiry.
    """
    header = ["ST", set_id, control_number, convention or CONVENTIONS[set_id]]
    return [header, *body, ["SE", str(len(body) + 2), control_number]]


def envelope(
    sets: Sequence[tuple[str, Segments]],
    env: Envelope,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    convention: str | None = None,
) -> str:
    """ISA/GS around complete sets (each ST..SE), all of one functional group.

    GS08 is the sets' default convention unless ``convention`` names another.
    """
    if not sets:
        raise X12Error(
            "an interchange needs at least one transaction set",
            level=Level.INTERCHANGE,
            interchange_code="024",
        )
    functional_ids = {FUNCTIONAL_IDS.get(s[0], "") for s in sets}
    if len(functional_ids) != 1 or "" in functional_ids:
        raise X12Error(
            "all transaction sets of a group must share one supported functional id",
            level=Level.GROUP,
            group_code="1",
        )
    set_id = sets[0][0]
    isa = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        env.sender_qualifier,
        env.sender[:15].ljust(15),
        env.receiver_qualifier,
        env.receiver[:15].ljust(15),
        env.date[2:],
        env.time[:4],
        delimiters.repetition or "U",
        "00501",
        f"{env.interchange_control:09d}",
        "0",
        env.usage,
        delimiters.component,
    ]
    gs = [
        "GS",
        functional_ids.pop(),
        env.sender,
        env.receiver,
        env.date,
        env.time,
        str(env.group_control),
        "X",
        convention or CONVENTIONS[set_id],
    ]
    body: Segments = []
    for _, segments in sets:
        body.extend(segments)
    trailer: Segments = [
        ["GE", str(len(sets)), str(env.group_control)],
        ["IEA", "1", f"{env.interchange_control:09d}"],
    ]
    # ISA is fixed-width and never trimmed.
    return (
        delimiters.element.join(isa)
        + delimiters.segment
        + render([gs, *body, *trailer], delimiters)
    )


def serialize(transaction: TransactionSet) -> Segments:
    """A parsed set back to segments (ST..SE), from its loop tree."""
    if transaction.set_id not in GRAMMARS:
        return [list(s.elements) for s in transaction.root.segments]
    body: Segments = []

    def emit(loop: Loop) -> None:
        body.extend(list(s.elements) for s in loop.segments)
        for child in loop.children:
            emit(child)

    emit(transaction.root)
    header = ["ST", transaction.set_id, transaction.control_number]
    if transaction.convention:
        header.append(transaction.convention)
    return [header, *body, ["SE", str(len(body) + 2), transaction.control_number]]


# --- typed writers ----------------------------------------------------------------------


def _party(party: Party, d: Delimiters, *, aaa: bool = True) -> Segments:
    out: Segments = [
        [
            "NM1",
            party.entity,
            party.entity_type,
            party.last_name,
            party.first_name,
            party.middle_name,
            "",
            party.suffix,
            party.id_qualifier,
            party.identifier,
        ]
    ]
    out.extend(["REF", q, v] for q, v in party.references)
    if party.street:
        out.append(["N3", party.street, party.street2])
    if party.city or party.state or party.postal_code:
        out.append(["N4", party.city, party.state, party.postal_code])
    if party.phone:
        out.append(["PER", "IC", "", "TE", party.phone])
    if aaa:
        out.extend(_aaa(party.rejections))
    if party.taxonomy:
        out.append(["PRV", party.provider_role, "PXC", party.taxonomy])
    if party.birth_date or party.sex:
        out.append(["DMG", "D8" if party.birth_date else "", party.birth_date, party.sex])
    if party.relationship:
        out.append(["INS", "Y" if party.relationship == "18" else "N", party.relationship])
    return out


def _aaa(rejections: Sequence[Rejection]) -> Segments:
    return [["AAA", r.valid, "", r.reason, r.follow_up] for r in rejections]


def _traces(traces: Sequence[Trace]) -> Segments:
    return [["TRN", t.kind, t.number, t.originator, t.supplemental] for t in traces]


def _periods(periods: Sequence[Period]) -> Segments:
    return [["DTP", p.qualifier, p.format, p.value] for p in periods]


def _review(review: Review | None, d: Delimiters) -> Segments:
    if review is None:
        return []
    facility = _join([review.facility_code, review.facility_qualifier], d.component)
    return [
        [
            "UM",
            review.category,
            review.certification_type,
            review.service_type,
            facility,
            "",
            review.level_of_service,
            "",
            "",
            review.release_of_information,
        ]
    ]


def _quantity(quantity: Quantity | None) -> Segments:
    if quantity is None:
        return []
    q = quantity
    return [["HSD", q.qualifier, q.quantity, q.unit, q.sample_size, q.period, q.period_count]]


def _hl(number: int, parent: int | None, level: str, has_children: bool) -> list[str]:
    return ["HL", str(number), str(parent) if parent else "", level, "1" if has_children else "0"]


def _service(service: Service, d: Delimiters) -> Segments:
    out: Segments = _traces(service.traces)
    out.extend(_aaa(service.rejections))
    out.extend(_review(service.review, d))
    if service.outcome is not None:
        o = service.outcome
        out.append(["HCR", o.action, o.certification_number, o.reason, o.second_opinion])
    out.extend(["REF", q, v] for q, v in service.references)
    out.extend(_periods(service.periods))
    p = service.procedure
    if p is not None:
        code = _join([p.qualifier, p.code, *p.modifiers], d.component)
        if p.segment == "SV1":
            pointers = _join(p.diagnosis_pointers, d.component)
            out.append(
                ["SV1", code, p.amount, p.unit_basis, p.units, p.place_of_service, "", pointers]
            )
        elif p.segment == "SV2":
            out.append(["SV2", p.revenue_code, code, p.amount, p.unit_basis, p.units])
        else:
            out.append(
                ["SV3", code, p.amount, p.place_of_service, "", "", "", "", "", "", "", p.units]
            )
    out.extend(_quantity(service.quantity))
    out.extend(
        [
            "PWK",
            a.report_type,
            a.transmission,
            "",
            "",
            "AC" if a.control_number else "",
            a.control_number,
        ]
        for a in service.attachments
    )
    if service.message:
        out.append(["MSG", service.message])
    for provider in service.providers:
        out.extend(_party(provider, d))
    return out


def _event(event: PatientEvent, d: Delimiters) -> Segments:
    out: Segments = _traces(event.traces)
    out.extend(_aaa(event.rejections))
    out.extend(_review(event.review, d))
    if event.outcome is not None:
        o = event.outcome
        out.append(["HCR", o.action, o.certification_number, o.reason, o.second_opinion])
    out.extend(["REF", q, v] for q, v in event.references)
    out.extend(_periods(event.periods))
    if event.diagnoses:
        out.append(
            [
                "HI",
                *(
                    _join([x.qualifier, x.code, x.date_format, x.date], d.component)
                    for x in event.diagnoses
                ),
            ]
        )
    out.extend(_quantity(event.quantity))
    if event.admission_type:
        out.append(["CL1", event.admission_type])
    out.extend(
        [
            "PWK",
            a.report_type,
            a.transmission,
            "",
            "",
            "AC" if a.control_number else "",
            a.control_number,
        ]
        for a in event.attachments
    )
    if event.message:
        out.append(["MSG", event.message])
    for provider in event.providers:
        out.extend(_party(provider, d))
    return out


def write_278(
    review: HealthCareReview | ReviewInquiry, d: Delimiters = DEFAULT_DELIMITERS
) -> Segments:
    """The body (between ST and SE) of a 278: request or response (X217), inquiry or its
    response (X215, wrapped with ``codes.INQUIRY_CONVENTION``); the loops are the same."""
    out: Segments = [
        [
            "BHT",
            "0007",
            review.purpose,
            review.reference,
            review.created_date,
            review.created_time,
            review.transaction_type,
        ]
    ]
    out.append(_hl(1, None, "20", True))
    out.extend(_aaa(review.rejections))
    out.extend(_party(review.umo, d))
    out.append(_hl(2, 1, "21", True))
    out.extend(_party(review.requester, d))
    # A response may stop at the subscriber or dependent it rejects: HL04 says so.
    out.append(_hl(3, 2, "22", review.dependent is not None or bool(review.events)))
    out.extend(_party(review.subscriber, d))
    number, event_parent = 3, 3
    if review.dependent is not None:
        number = 4
        out.append(_hl(4, 3, "23", bool(review.events)))
        out.extend(_party(review.dependent, d))
        event_parent = 4
    for event in review.events:
        number += 1
        event_number = number
        out.append(_hl(event_number, event_parent, "EV", bool(event.services)))
        out.extend(_event(event, d))
        for service in event.services:
            number += 1
            out.append(_hl(number, event_number, "SS", False))
            out.extend(_service(service, d))
    return out


def _member(member: Member, d: Delimiters, response: bool) -> Segments:
    out: Segments = _traces(member.traces)
    out.extend(_party(member.party, d, aaa=response))
    out.extend(_periods(member.periods))
    for inquiry in member.inquiries:
        out.append(["EQ", d.repetition.join(inquiry) if d.repetition else inquiry[0]])
    for b in member.benefits:
        types = d.repetition.join(b.service_types) if d.repetition else "".join(b.service_types[:1])
        out.append(
            [
                "EB",
                b.code,
                b.coverage_level,
                types,
                b.insurance_type,
                b.plan,
                b.period,
                b.amount,
                b.percent,
                b.quantity_qualifier,
                b.quantity,
                b.authorization_required,
                b.in_network,
            ]
        )
        out.extend(_periods(b.periods))
        out.extend(_aaa(b.rejections))
        out.extend(["MSG", m] for m in b.messages)
        if b.related:
            out.append(["LS", "2120"])
            for party in b.related:
                out.extend(_party(party, d, aaa=False))
            out.append(["LE", "2120"])
    return out


def write_eligibility(eligibility: Eligibility, d: Delimiters = DEFAULT_DELIMITERS) -> Segments:
    """The body of a 270 inquiry or 271 response."""
    response = eligibility.set_id == "271"
    e = eligibility
    out: Segments = [["BHT", "0022", e.purpose, e.reference, e.created_date, e.created_time]]
    out.append(_hl(1, None, "20", True))
    out.extend(_aaa(e.rejections))
    out.extend(_party(e.source, d, aaa=response))
    has_subscriber = e.subscriber is not None
    out.append(_hl(2, 1, "21", has_subscriber))
    out.extend(_party(e.receiver, d, aaa=response))
    if e.subscriber is not None:
        out.append(_hl(3, 2, "22", e.dependent is not None))
        out.extend(_member(e.subscriber, d, response))
        if e.dependent is not None:
            out.append(_hl(4, 3, "23", False))
            out.extend(_member(e.dependent, d, response))
    return out


def write_999(ack: Acknowledgment, d: Delimiters = DEFAULT_DELIMITERS) -> Segments:
    """The body of a 999 acknowledgment."""
    out: Segments = [["AK1", ack.functional_id, ack.group_control_number, ack.version]]
    for response in ack.sets:
        out.append(["AK2", response.set_id, response.control_number, response.convention])
        for note in response.segments:
            out.append(["IK3", note.segment_id, note.position, note.loop, note.code])
            for element in note.elements:
                where = _join(
                    [element.position, element.component, element.repetition], d.component
                )
                out.append(["IK4", where, element.reference, element.code, element.bad_value])
        out.append(["IK5", response.status, *response.codes[:5]])
    out.append(["AK9", ack.status, ack.included, ack.received, ack.accepted, *ack.group_codes[:5]])
    return out


# --- acknowledging what we received -----------------------------------------------------


def _clean(value: str) -> str:
    # IK404 carries the bad value; keep it free of anything that looks like a delimiter.
    return "".join(c for c in value if c.isalnum() or c in " .-/")[:99]


def acknowledge(group: FunctionalGroup) -> Acknowledgment:
    """The 999 for one received functional group, built from the problems the parser found."""
    responses: list[SetResponse] = []
    accepted = 0
    for transaction in group.transactions:
        notes: dict[tuple[int, str], tuple[str, str, list[ElementNote]]] = {}
        set_codes: list[str] = []
        for error in transaction.errors:
            if not error.is_error:
                continue
            if error.level is Level.TRANSACTION:
                if error.set_code:
                    set_codes.append(error.set_code)
                continue
            key = (error.position, error.segment_id)
            _, _, elements = notes.setdefault(key, (error.loop, error.segment_code, []))
            if error.level is Level.ELEMENT:
                elements.append(
                    ElementNote(
                        str(error.element),
                        str(error.component or ""),
                        str(error.repetition or ""),
                        "",
                        error.element_code,
                        _clean(error.bad_value),
                    )
                )
        segment_notes = tuple(
            SegmentNote(sid, str(position), loop[:4] if loop.isalnum() else "", code, tuple(els))
            for (position, sid), (loop, code, els) in sorted(notes.items())
        )
        if segment_notes and "5" not in set_codes:
            set_codes.append("5")
        status = "R" if (set_codes or segment_notes) else "A"
        if status == "A":
            accepted += 1
        responses.append(
            SetResponse(
                transaction.set_id,
                transaction.control_number,
                transaction.convention,
                status,
                tuple(dict.fromkeys(set_codes)),
                segment_notes,
            )
        )
    group_codes = tuple(
        dict.fromkeys(e.group_code for e in group.errors if e.is_error and e.group_code)
    )
    included = len(group.transactions)
    if group_codes or accepted == 0:
        status = "R"
    elif accepted < included:
        status = "P"
    else:
        status = "A"
    return Acknowledgment(
        functional_id=group.functional_id,
        group_control_number=group.control_number,
        version=group.version,
        status=status,
        included=str(included),
        received=str(included),
        accepted=str(accepted),
        sets=tuple(responses),
        group_codes=group_codes,
    )
