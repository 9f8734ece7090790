"""Typed views of the supported transaction sets, read from a parsed loop tree.

``read`` turns a ``TransactionSet`` into a ``HealthCareReview`` (278, X217),
``ReviewInquiry`` (278 inquiry and response, X215),
``Eligibility`` (270/271) or ``Acknowledgment`` (999). Values stay strings
exactly as sent (the mapping layer converts to dates and decimals), so a
typed object written back by ``writer`` and read again compares equal.

The typed views carry what precert uses; the loop tree keeps every segment,
so nothing is lost for validation or for regenerating the original.
"""

from __future__ import annotations

import gc
from datetime import date
from typing import Final, NamedTuple, TypeVar

from precert.interop.x12 import native
from precert.interop.x12.codes import INQUIRY_CONVENTION
from precert.interop.x12.errors import Level, X12Error
from precert.interop.x12.model import Loop, Segment, TransactionSet

# --- shared pieces ----------------------------------------------------------------------


class Rejection(NamedTuple):
    """An AAA segment: the request (or part of it) could not be processed."""

    loop: str
    valid: str  # AAA01: Y = request valid but rejected, N = request invalid
    reason: str  # AAA03, X12 element 901
    follow_up: str  # AAA04, X12 element 889


class Party(NamedTuple):
    """An NM1 loop: who, identified how, with address, contact, taxonomy and demographics."""

    entity: str
    entity_type: str = "1"
    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    suffix: str = ""
    id_qualifier: str = ""
    identifier: str = ""
    references: tuple[tuple[str, str], ...] = ()
    street: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    phone: str = ""
    provider_role: str = ""
    taxonomy: str = ""
    birth_date: str = ""
    sex: str = ""
    relationship: str = ""
    rejections: tuple[Rejection, ...] = ()

    def reference(self, qualifier: str) -> str:
        """The REF02 value for ``qualifier``, or ``""``."""
        for q, value in self.references:
            if q == qualifier:
                return value
        return ""


class Trace(NamedTuple):
    """A TRN segment: a trace number and who assigned it."""

    kind: str
    number: str
    originator: str = ""
    supplemental: str = ""


class Period(NamedTuple):
    """A DTP segment: qualified date or date range."""

    qualifier: str
    format: str
    value: str

    @property
    def start(self) -> date:
        """The first (or only) date."""
        text = self.value.split("-")[0]
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))

    @property
    def end(self) -> date:
        """The last (or only) date."""
        text = self.value.split("-")[-1]
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


class Diagnosis(NamedTuple):
    """One HI composite: qualifier (ABK principal ICD-10-CM, ABF other...) and code."""

    qualifier: str
    code: str
    date_format: str = ""
    date: str = ""


class Quantity(NamedTuple):
    """An HSD segment: how much, of what, over which period."""

    qualifier: str = ""
    quantity: str = ""
    unit: str = ""
    sample_size: str = ""
    period: str = ""
    period_count: str = ""


class Review(NamedTuple):
    """A UM segment: what kind of review is asked for."""

    category: str
    certification_type: str = ""
    service_type: str = ""
    facility_code: str = ""
    facility_qualifier: str = ""
    level_of_service: str = ""
    release_of_information: str = ""


class Outcome(NamedTuple):
    """An HCR segment: the reviewer's action, certification number and reason."""

    action: str
    certification_number: str = ""
    reason: str = ""
    second_opinion: str = ""


class Procedure(NamedTuple):
    """An SV1, SV2 or SV3 segment: the service asked for."""

    segment: str  # SV1 professional, SV2 institutional, SV3 dental
    qualifier: str
    code: str
    modifiers: tuple[str, ...] = ()
    amount: str = ""
    unit_basis: str = ""
    units: str = ""
    place_of_service: str = ""
    revenue_code: str = ""
    diagnosis_pointers: tuple[str, ...] = ()


class Attachment(NamedTuple):
    """A PWK segment: documentation requested or supplied."""

    report_type: str
    transmission: str = ""
    control_number: str = ""


class Service(NamedTuple):
    """Loop 2000F: one service line with its review, outcome and providers."""

    traces: tuple[Trace, ...] = ()
    review: Review | None = None
    outcome: Outcome | None = None
    references: tuple[tuple[str, str], ...] = ()
    periods: tuple[Period, ...] = ()
    procedure: Procedure | None = None
    quantity: Quantity | None = None
    attachments: tuple[Attachment, ...] = ()
    message: str = ""
    providers: tuple[Party, ...] = ()
    rejections: tuple[Rejection, ...] = ()


class PatientEvent(NamedTuple):
    """Loop 2000E: the episode under review, with diagnoses and its service lines."""

    traces: tuple[Trace, ...] = ()
    review: Review | None = None
    outcome: Outcome | None = None
    references: tuple[tuple[str, str], ...] = ()
    periods: tuple[Period, ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()
    quantity: Quantity | None = None
    admission_type: str = ""
    attachments: tuple[Attachment, ...] = ()
    message: str = ""
    providers: tuple[Party, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    services: tuple[Service, ...] = ()


class HealthCareReview(NamedTuple):
    """A 278 request (BHT02 13) or response (BHT02 11), 005010X217."""

    purpose: str
    reference: str
    created_date: str
    created_time: str = ""
    transaction_type: str = ""
    umo: Party = Party("X3", "2")
    requester: Party = Party("1P")
    subscriber: Party = Party("IL")
    dependent: Party | None = None
    events: tuple[PatientEvent, ...] = ()
    rejections: tuple[Rejection, ...] = ()

    @property
    def is_response(self) -> bool:
        """True for a response (BHT02 = 11)."""
        return self.purpose == "11"


class ReviewInquiry(NamedTuple):
    """A 278 inquiry (BHT02 28) or its response (BHT02 11), 005010X215.

    The loops are those of ``HealthCareReview`` (X217), read into the same parts; an
    inquiry names what it asks about by trace number (TRN) and the payer's review
    numbers (REF BB certification, REF NT administrative reference), and the response
    answers with each event's and service's HCR, dates and AAA rejections.
    """

    purpose: str
    reference: str
    created_date: str
    created_time: str = ""
    transaction_type: str = ""
    umo: Party = Party("X3", "2")
    requester: Party = Party("1P")
    subscriber: Party = Party("IL")
    dependent: Party | None = None
    events: tuple[PatientEvent, ...] = ()
    rejections: tuple[Rejection, ...] = ()

    @property
    def is_response(self) -> bool:
        """True for a response (BHT02 = 11)."""
        return self.purpose == "11"

    @property
    def trace_numbers(self) -> tuple[str, ...]:
        """The patient event trace numbers (TRN02), in document order."""
        return tuple(t.number for e in self.events for t in e.traces)

    @property
    def review_numbers(self) -> tuple[str, ...]:
        """The payer's review numbers asked about or answered: REF BB and NT, then HCR02."""
        found: list[str] = []
        for event in self.events:
            parts: tuple[PatientEvent | Service, ...] = (event, *event.services)
            for part in parts:
                found.extend(v for q, v in part.references if q in _REVIEW_NUMBER_QUALIFIERS)
                if part.outcome is not None and part.outcome.certification_number:
                    found.append(part.outcome.certification_number)
        return tuple(dict.fromkeys(found))


# REF01 qualifiers naming an earlier review: BB authorization (certification) number,
# NT administrative reference number.
_REVIEW_NUMBER_QUALIFIERS: Final = frozenset({"BB", "NT"})


class Benefit(NamedTuple):
    """Loop 2110C/D EB: one eligibility or benefit fact."""

    code: str
    coverage_level: str = ""
    service_types: tuple[str, ...] = ()
    insurance_type: str = ""
    plan: str = ""
    period: str = ""
    amount: str = ""
    percent: str = ""
    quantity_qualifier: str = ""
    quantity: str = ""
    authorization_required: str = ""
    in_network: str = ""
    periods: tuple[Period, ...] = ()
    messages: tuple[str, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    related: tuple[Party, ...] = ()


class Member(NamedTuple):
    """Loop 2000C/D with 2100C/D: a subscriber or dependent and what is asked or answered."""

    party: Party
    traces: tuple[Trace, ...] = ()
    periods: tuple[Period, ...] = ()
    inquiries: tuple[tuple[str, ...], ...] = ()  # 270 EQ01 service types per EQ
    benefits: tuple[Benefit, ...] = ()


class Eligibility(NamedTuple):
    """A 270 inquiry or 271 response, 005010X279A1."""

    set_id: str
    purpose: str
    reference: str
    created_date: str
    created_time: str = ""
    source: Party = Party("PR", "2")
    receiver: Party = Party("1P")
    subscriber: Member | None = None
    dependent: Member | None = None
    rejections: tuple[Rejection, ...] = ()


class ElementNote(NamedTuple):
    """A 999 IK4: one element in error."""

    position: str
    component: str
    repetition: str
    reference: str
    code: str
    bad_value: str = ""


class SegmentNote(NamedTuple):
    """A 999 IK3: one segment in error, with its element notes."""

    segment_id: str
    position: str
    loop: str
    code: str
    elements: tuple[ElementNote, ...] = ()


class SetResponse(NamedTuple):
    """A 999 AK2..IK5: the verdict on one transaction set."""

    set_id: str
    control_number: str
    convention: str
    status: str
    codes: tuple[str, ...] = ()
    segments: tuple[SegmentNote, ...] = ()


class Acknowledgment(NamedTuple):
    """A 999 implementation acknowledgment, 005010X231A1."""

    functional_id: str
    group_control_number: str
    version: str
    status: str
    included: str
    received: str
    accepted: str
    sets: tuple[SetResponse, ...] = ()
    group_codes: tuple[str, ...] = ()


Typed = HealthCareReview | ReviewInquiry | Eligibility | Acknowledgment
_View = TypeVar("_View", HealthCareReview, ReviewInquiry)


# --- reading ----------------------------------------------------------------------------
#
# Reading is the other half of the codec's cost, so it is written for speed:
# - each loop's segments are read in one pass that dispatches on the segment id, filling
#   locals (first occurrence where the view holds one, document order where it holds
#   many), instead of one helper call and lookup per field;
# - a segment's elements are padded once (``_padded``) and then read by plain indexing,
#   instead of a method call per element;
# - the views are NamedTuples, built with one positional call each (a frozen dataclass
#   sets every field through ``object.__setattr__``, about four times slower);
# - the cyclic garbage collector is paused, as in ``parse``: the views hold no cycles.

_BLANK: Final[tuple[str, ...]] = ("",) * 16
# By n, n blanks: padding a segment takes one concatenation, not a slice of ``_BLANK`` first.
_PADS: Final[tuple[tuple[str, ...], ...]] = tuple(_BLANK[:n] for n in range(len(_BLANK) + 1))
# ``_new(View, *fields)`` is what a NamedTuple's generated ``__new__`` does, without that
# Python-level frame: about half the cost of ``View(fields...)``; built natively, it also
# skips the intermediate fields tuple. Every field is passed, in declaration order.
_new: Final = native.record_maker()


def _padded(elements: tuple[str, ...], size: int) -> tuple[str, ...]:
    """``elements`` extended with ``""`` to at least ``size`` entries (index = element number)."""
    missing = size - len(elements)
    return elements + _PADS[missing] if missing > 0 else elements


def _first_in(segments: tuple[Segment, ...], segment_id: str, size: int) -> tuple[str, ...] | None:
    """The first ``segment_id`` segment's elements, padded to ``size`` entries, or None."""
    for segment in segments:
        elements = segment.elements
        if elements[0] == segment_id:
            return _padded(elements, size)
    return None


def read(transaction: TransactionSet) -> Typed:
    """The typed view of a parsed transaction set (270, 271, 278 X217 or X215, or 999)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read(transaction)
    finally:
        if collecting:
            gc.enable()


def _read(transaction: TransactionSet) -> Typed:
    set_id = transaction.set_id
    try:
        if set_id == "278":
            if transaction.convention == INQUIRY_CONVENTION:
                return _read_278(transaction, ReviewInquiry)
            return _read_278(transaction, HealthCareReview)
        if set_id in ("270", "271"):
            return _read_eligibility(transaction)
        if set_id == "999":
            return _read_999(transaction)
    except (IndexError, ValueError) as exc:
        # Only reachable for sets the parser already rejected; say so in our own terms.
        raise X12Error(
            f"the {set_id} is too malformed to read: {exc}",
            level=Level.TRANSACTION,
            set_id=set_id,
            control_number=transaction.control_number,
            set_code="5",
        ) from exc
    raise X12Error(
        f"transaction set {set_id!r} has no typed view",
        level=Level.TRANSACTION,
        set_id=set_id,
        control_number=transaction.control_number,
        set_code="1",
    )


def _rejection(loop_id: str, elements: tuple[str, ...]) -> Rejection:
    e = _padded(elements, 5)
    return _new(Rejection, loop_id, e[1], e[3], e[4])


def _rejections(loop: Loop) -> tuple[Rejection, ...]:
    loop_id = loop.loop_id
    return tuple([_rejection(loop_id, s.elements) for s in loop.segments if s.elements[0] == "AAA"])


def _period(elements: tuple[str, ...]) -> Period:
    e = _padded(elements, 4)
    return _new(Period, e[1], e[2], e[3])


def _name_only(nm1: tuple[str, ...]) -> Party:
    """The ``Party`` an NM1 (padded to 10 entries) names, with nothing else known."""
    return _new(Party,
        nm1[1], nm1[2], nm1[3], nm1[4], nm1[5], nm1[7], nm1[8], nm1[9],
        (), "", "", "", "", "", "", "", "", "", "", "", (),
    )  # fmt: skip


def _party(loop: Loop) -> Party:
    """The ``Party`` of a name loop (NM1 first)."""
    segments = loop.segments
    nm1 = _padded(segments[0].elements, 10)
    if len(segments) == 1:
        # Most name loops are a lone NM1: nothing else to read.
        return _name_only(nm1)
    references: list[tuple[str, str]] = []
    rejections: list[Rejection] = []
    per = n3 = n4 = prv = dmg = ins = None
    # The NM1, read above, matches none of the branches: a plain loop over a tuple beats
    # skipping it with islice.
    for segment in segments:
        e = segment.elements
        sid = e[0]
        if sid == "REF":
            e = _padded(e, 3)
            references.append((e[1], e[2]))
        elif sid == "N3":
            if n3 is None:
                n3 = e
        elif sid == "N4":
            if n4 is None:
                n4 = e
        elif sid == "PER":
            if per is None:
                per = e
        elif sid == "PRV":
            if prv is None:
                prv = e
        elif sid == "DMG":
            if dmg is None:
                dmg = e
        elif sid == "INS":
            if ins is None:
                ins = e
        elif sid == "AAA":
            rejections.append(_rejection(loop.loop_id, e))
    phone = ""
    if per is not None:
        contact = _padded(per, 9)
        for i in (3, 5, 7):
            if contact[i] == "TE":
                phone = contact[i + 1]
                break
    n3 = _BLANK if n3 is None else _padded(n3, 3)
    n4 = _BLANK if n4 is None else _padded(n4, 4)
    prv = _BLANK if prv is None else _padded(prv, 4)
    dmg = _BLANK if dmg is None else _padded(dmg, 4)
    ins = _BLANK if ins is None else _padded(ins, 3)
    return _new(Party,
        nm1[1], nm1[2], nm1[3], nm1[4], nm1[5], nm1[7], nm1[8], nm1[9],
        tuple(references),
        n3[1], n3[2], n4[1], n4[2], n4[3],
        phone,
        prv[1], prv[3],
        dmg[2], dmg[3],
        ins[2],
        tuple(rejections),
    )  # fmt: skip


def _name_loop(level: Loop | None) -> Loop | None:
    if level is None:
        return None
    for child in level.children:
        if child.segments[0].elements[0] == "NM1":
            return child
    return None


def _levels(transaction: TransactionSet) -> dict[str, list[Loop]]:
    """HL loops by level code (HL03), depth first in document order.

    HL loops only ever sit under the root or under other HL loops (the parser attaches
    each to the loop its HL02 names), so other branches are not descended into.
    """
    found: dict[str, list[Loop]] = {}
    _gather_levels(transaction.root, found)
    return found


def _gather_levels(parent: Loop, found: dict[str, list[Loop]]) -> None:
    for loop in parent.children:
        segments = loop.segments
        if segments and segments[0].elements[0] == "HL":
            elements = segments[0].elements
            level = elements[3] if len(elements) > 3 else ""
            same = found.get(level)
            if same is None:
                found[level] = [loop]
            else:
                same.append(loop)
            if loop.children:
                _gather_levels(loop, found)


def _party_at(levels: dict[str, list[Loop]], level: str, default: str) -> Party:
    loops = levels.get(level)
    name = _name_loop(loops[0]) if loops else None
    if name is None:
        return Party(default)
    return _party(name)


def _review(elements: tuple[str, ...], component: str) -> Review:
    um = _padded(elements, 10)
    facility = um[4].split(component) if um[4] else [""]
    return _new(
        Review,
        um[1],
        um[2],
        um[3],
        facility[0],
        facility[1] if len(facility) > 1 else "",
        um[6],
        um[9],
    )


def _providers(loop: Loop) -> tuple[Party, ...]:
    return tuple([_party(c) for c in loop.children if c.segments[0].elements[0] == "NM1"])


def _procedure(elements: tuple[str, ...], component: str) -> Procedure:
    sid = elements[0]
    e = _padded(elements, 12)
    code_index = 2 if sid == "SV2" else 1
    parts = e[code_index].split(component) if e[code_index] else []
    if sid == "SV1":
        amount, basis, units, place = e[2], e[3], e[4], e[5]
        pointers = tuple(e[7].split(component)) if e[7] else ()
    elif sid == "SV2":
        amount, basis, units, place, pointers = e[3], e[4], e[5], "", ()
    else:
        amount, basis, units, place, pointers = e[2], "", e[11], e[3], ()
    return _new(
        Procedure,
        sid,
        parts[0] if parts else "",
        parts[1] if len(parts) > 1 else "",
        tuple([m for m in parts[2:6] if m]),
        amount,
        basis,
        units,
        place,
        e[1] if sid == "SV2" else "",
        pointers,
    )


def _diagnoses(elements: tuple[str, ...], component: str) -> tuple[Diagnosis, ...]:
    diagnoses: list[Diagnosis] = []
    for value in elements[1:]:
        parts = value.split(component)
        count = len(parts)
        if count >= 2:
            diagnoses.append(
                _new(
                    Diagnosis,
                    parts[0],
                    parts[1],
                    parts[2] if count > 2 else "",
                    parts[3] if count > 3 else "",
                )
            )
    return tuple(diagnoses)


#: What one pass over a 2000E or 2000F loop finds, in this order: traces, review, outcome,
#: references, periods, diagnoses, procedure, quantity, admission type, attachments,
#: message, rejections. A plain tuple, unpacked by each view (cheaper than a NamedTuple).
_ReviewLevel = tuple[
    tuple[Trace, ...],
    Review | None,
    Outcome | None,
    tuple[tuple[str, str], ...],
    tuple[Period, ...],
    tuple[Diagnosis, ...],
    Procedure | None,
    Quantity | None,
    str,
    tuple[Attachment, ...],
    str,
    tuple[Rejection, ...],
]


def _review_level(loop: Loop, component: str) -> _ReviewLevel:
    """Read a 2000E (patient event) or 2000F (service) loop's own segments in one pass."""
    loop_id = loop.loop_id
    traces: list[Trace] = []
    references: list[tuple[str, str]] = []
    periods: list[Period] = []
    # Rare in these loops: grown as tuples, so the usual empty case allocates nothing.
    attachments: tuple[Attachment, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    um = hcr = hsd = hi = cl1 = msg = sv1 = sv2 = sv3 = None
    # The HL trigger holds nothing the views read, and matches none of the branches.
    for segment in loop.segments:
        e = segment.elements
        sid = e[0]
        if sid == "TRN":
            e = _padded(e, 5)
            traces.append(_new(Trace, e[1], e[2], e[3], e[4]))
        elif sid == "DTP":
            periods.append(_period(e))
        elif sid == "UM":
            if um is None:
                um = e
        elif sid == "HCR":
            if hcr is None:
                hcr = e
        elif sid == "REF":
            e = _padded(e, 3)
            references.append((e[1], e[2]))
        elif sid == "HI":
            if hi is None:
                hi = e
        elif sid == "HSD":
            if hsd is None:
                hsd = e
        elif sid == "SV1":
            if sv1 is None:
                sv1 = e
        elif sid == "SV2":
            if sv2 is None:
                sv2 = e
        elif sid == "SV3":
            if sv3 is None:
                sv3 = e
        elif sid == "AAA":
            rejections += (_rejection(loop_id, e),)
        elif sid == "PWK":
            e = _padded(e, 7)
            attachments += (_new(Attachment, e[1], e[2], e[6]),)
        elif sid == "MSG":
            if msg is None:
                msg = e
        elif sid == "CL1" and cl1 is None:
            cl1 = e
    outcome = quantity = None
    if hcr is not None:
        hcr = _padded(hcr, 5)
        outcome = _new(Outcome, hcr[1], hcr[2], hcr[3], hcr[4])
    if hsd is not None:
        hsd = _padded(hsd, 7)
        quantity = _new(Quantity, hsd[1], hsd[2], hsd[3], hsd[4], hsd[5], hsd[6])
    # One procedure per line: SV1 before SV2 before SV3, whatever their order.
    service = sv1 if sv1 is not None else sv2 if sv2 is not None else sv3
    return (
        tuple(traces),
        None if um is None else _review(um, component),
        outcome,
        tuple(references),
        tuple(periods),
        () if hi is None else _diagnoses(hi, component),
        None if service is None else _procedure(service, component),
        quantity,
        cl1[1] if cl1 is not None and len(cl1) > 1 else "",
        attachments,
        msg[1] if msg is not None and len(msg) > 1 else "",
        rejections,
    )


def _service(loop: Loop, component: str) -> Service:
    (
        traces, review, outcome, references, periods, _,
        procedure, quantity, _, attachments, message, rejections,
    ) = _review_level(loop, component)  # fmt: skip
    return _new(
        Service,
        traces,
        review,
        outcome,
        references,
        periods,
        procedure,
        quantity,
        attachments,
        message,
        _providers(loop),
        rejections,
    )


def _event(loop: Loop, component: str) -> PatientEvent:
    (
        traces, review, outcome, references, periods, diagnoses,
        _, quantity, admission_type, attachments, message, rejections,
    ) = _review_level(loop, component)  # fmt: skip
    return _new(
        PatientEvent,
        traces,
        review,
        outcome,
        references,
        periods,
        diagnoses,
        quantity,
        admission_type,
        attachments,
        message,
        _providers(loop),
        rejections,
        tuple([_service(c, component) for c in loop.children if c.loop_id == "2000F"]),
    )


def _read_278(transaction: TransactionSet, view: type[_View]) -> _View:
    """A 278 as ``view``: X217 and X215 share their loops, so one reading serves both."""
    component = transaction.delimiters.component
    bht = _first_in(transaction.root.segments, "BHT", 7) or _BLANK
    levels = _levels(transaction)
    umo_levels = levels.get("20")
    dependent_levels = levels.get("23")
    dependent_name = _name_loop(dependent_levels[0]) if dependent_levels else None
    return _new(
        view,
        bht[2],
        bht[3],
        bht[4],
        bht[5],
        bht[6],
        _party_at(levels, "20", "X3"),
        _party_at(levels, "21", "1P"),
        _party_at(levels, "22", "IL"),
        _party(dependent_name) if dependent_name else None,
        tuple([_event(event, component) for event in levels.get("EV", ())]),
        _rejections(umo_levels[0]) if umo_levels else (),
    )


def _benefit(loop: Loop, repetition: str) -> Benefit:
    segments = loop.segments
    eb = _padded(segments[0].elements, 13)
    loop_id = loop.loop_id
    # A few at most, and most EB loops hold none: grown as tuples, nothing allocated
    # for the usual empty case.
    periods: tuple[Period, ...] = ()
    messages: tuple[str, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    related: tuple[Party, ...] = ()
    # The EB trigger, read above, matches none of the branches.
    for segment in segments:
        e = segment.elements
        sid = e[0]
        if sid == "DTP":
            periods += (_period(e),)
        elif sid == "MSG":
            messages += (e[1] if len(e) > 1 else "",)
        elif sid == "AAA":
            rejections += (_rejection(loop_id, e),)
    for wrapper in loop.children:
        for segment in wrapper.segments:
            e = segment.elements
            if e[0] == "NM1":
                related += (_name_only(_padded(e, 10)),)
    service_types = eb[3]
    return _new(
        Benefit,
        eb[1],
        eb[2],
        (tuple(service_types.split(repetition)) if repetition else (service_types,))
        if service_types
        else (),
        eb[4],
        eb[5],
        eb[6],
        eb[7],
        eb[8],
        eb[9],
        eb[10],
        eb[11],
        eb[12],
        periods,
        messages,
        rejections,
        related,
    )


def _member(level: Loop | None, repetition: str) -> Member | None:
    name = _name_loop(level)
    if level is None or name is None:
        return None
    inquiries: list[tuple[str, ...]] = []
    benefits: list[Benefit] = []
    for child in name.children:
        head = child.segments[0].elements
        if head[0] == "EQ":
            types = head[1] if len(head) > 1 else ""
            if not types:
                inquiries.append(())
            else:
                inquiries.append(tuple(types.split(repetition)) if repetition else (types,))
        elif head[0] == "EB":
            benefits.append(_benefit(child, repetition))
    traces = [_padded(s.elements, 5) for s in level.segments if s.elements[0] == "TRN"]
    return _new(
        Member,
        _party(name),
        tuple([_new(Trace, e[1], e[2], e[3], e[4]) for e in traces]),
        tuple([_period(s.elements) for s in name.segments if s.elements[0] == "DTP"]),
        tuple(inquiries),
        tuple(benefits),
    )


def _read_eligibility(transaction: TransactionSet) -> Eligibility:
    repetition = transaction.delimiters.repetition
    bht = _first_in(transaction.root.segments, "BHT", 6) or _BLANK
    levels = _levels(transaction)
    source_levels = levels.get("20")
    subscribers = levels.get("22")
    dependents = levels.get("23")
    return _new(
        Eligibility,
        transaction.set_id,
        bht[2],
        bht[3],
        bht[4],
        bht[5],
        _party_at(levels, "20", "PR"),
        _party_at(levels, "21", "1P"),
        _member(subscribers[0], repetition) if subscribers else None,
        _member(dependents[0], repetition) if dependents else None,
        _rejections(source_levels[0]) if source_levels else (),
    )


def _read_999(transaction: TransactionSet) -> Acknowledgment:
    root = transaction.root
    component = transaction.delimiters.component
    ak1 = root.first("AK1")
    ak9 = root.first("AK9")
    sets: list[SetResponse] = []
    for response in root.loops("2000"):
        ak2 = response.segments[0]
        ik5 = response.first("IK5")
        notes: list[SegmentNote] = []
        for seg_loop in response.loops("2100"):
            ik3 = seg_loop.segments[0]
            elements: list[ElementNote] = []
            for el_loop in seg_loop.loops("2110"):
                ik4 = el_loop.segments[0]
                where = ik4.components(1, component)
                elements.append(
                    ElementNote(
                        position=where[0] if where else "",
                        component=where[1] if len(where) > 1 else "",
                        repetition=where[2] if len(where) > 2 else "",
                        reference=ik4.get(2),
                        code=ik4.get(3),
                        bad_value=ik4.get(4),
                    )
                )
            notes.append(
                SegmentNote(ik3.get(1), ik3.get(2), ik3.get(3), ik3.get(4), tuple(elements))
            )
        sets.append(
            SetResponse(
                set_id=ak2.get(1),
                control_number=ak2.get(2),
                convention=ak2.get(3),
                status=ik5.get(1) if ik5 else "",
                codes=tuple(c for c in (ik5.elements[2:] if ik5 else []) if c),
                segments=tuple(notes),
            )
        )
    return Acknowledgment(
        functional_id=ak1.get(1) if ak1 else "",
        group_control_number=ak1.get(2) if ak1 else "",
        version=ak1.get(3) if ak1 else "",
        status=ak9.get(1) if ak9 else "",
        included=ak9.get(2) if ak9 else "",
        received=ak9.get(3) if ak9 else "",
        accepted=ak9.get(4) if ak9 else "",
        sets=tuple(sets),
        group_codes=tuple(c for c in (ak9.elements[5:] if ak9 else []) if c),
    )
