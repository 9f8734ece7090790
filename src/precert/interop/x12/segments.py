"""Segment dictionary and element-level validation.

Each segment the codec knows has a ``SegmentSpec``: its elements in order with
type, length, requirement, code list and repetition, plus the X12 syntax
rules between elements (paired and conditional). ``explain_segment`` validates
one split segment against its spec and appends IK4-shaped ``X12Error``\\ s.

A valid segment never comes here: ``segment_checks.py``, generated from these specs
by ``checkgen.py``, says yes to it first. So this interpreter runs only for segments
with something to report, and its job is to name every problem exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from precert.interop.x12 import codes as x12codes
from precert.interop.x12.errors import X12Error, element_error

# Element kinds. Integers, so the hot loop compares small ints, not strings.
AN, ID, DT, TM, N0, R, COMPOSITE = range(7)


class ElementSpec:
    """One data element (or component) position: kind, length, requirement, codes."""

    __slots__ = ("codes", "components", "hi", "kind", "lo", "name", "repeat", "required")

    def __init__(
        self,
        kind: int,
        lo: int,
        hi: int,
        *,
        required: bool = False,
        codes: frozenset[str] | None = None,
        repeat: int = 1,
        components: tuple[ElementSpec, ...] = (),
        name: str = "",
    ) -> None:
        self.kind = kind
        self.lo = lo
        self.hi = hi
        self.required = required
        self.codes = codes
        self.repeat = repeat
        self.components = components
        self.name = name


class SegmentSpec:
    """A segment's elements and the syntax rules between them."""

    __slots__ = ("conditional", "elements", "paired", "segment_id")

    def __init__(
        self,
        segment_id: str,
        elements: tuple[ElementSpec, ...],
        *,
        paired: tuple[tuple[int, ...], ...] = (),
        conditional: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.segment_id = segment_id
        self.elements = elements
        # X12 "P" rules: if any element of the group is present, all are required.
        self.paired = paired
        # X12 "C" rules: if the first element is present, the second is required.
        self.conditional = conditional


def _c(text: str) -> frozenset[str]:
    return frozenset(text.split())


def an(lo: int, hi: int, req: bool = False) -> ElementSpec:
    """An alphanumeric string element."""
    return ElementSpec(AN, lo, hi, required=req)


def idc(
    lo: int, hi: int, codes: str | frozenset[str] = "", req: bool = False, rep: int = 1
) -> ElementSpec:
    """An identifier element, checked against ``codes`` when given."""
    code_set = _c(codes) if isinstance(codes, str) else codes
    return ElementSpec(ID, lo, hi, required=req, codes=code_set or None, repeat=rep)


def dt(req: bool = False) -> ElementSpec:
    """A CCYYMMDD date element."""
    return ElementSpec(DT, 8, 8, required=req)


def tm(req: bool = False) -> ElementSpec:
    """An HHMM[SS[d..]] time element."""
    return ElementSpec(TM, 4, 8, required=req)


def n0(lo: int, hi: int, req: bool = False) -> ElementSpec:
    """An integer element."""
    return ElementSpec(N0, lo, hi, required=req)


def r(lo: int, hi: int, req: bool = False) -> ElementSpec:
    """A decimal element."""
    return ElementSpec(R, lo, hi, required=req)


def comp(*parts: ElementSpec, req: bool = False, rep: int = 1) -> ElementSpec:
    """A composite element made of ``parts``."""
    return ElementSpec(COMPOSITE, 0, 0, required=req, components=parts, repeat=rep)


def _procedure(req: bool = True) -> ElementSpec:
    # C003 composite medical procedure identifier.
    return comp(
        idc(2, 2, "AD ER HC HP IV N4 NU WK ZZ", req=True),
        an(1, 48, req=True),
        an(2, 2),
        an(2, 2),
        an(2, 2),
        an(2, 2),
        an(1, 80),
        an(1, 48),
        req=req,
    )


def _health_code(req: bool) -> ElementSpec:
    # C022 composite health care code information (diagnoses and conditions).
    return comp(
        idc(1, 3, "ABF ABJ ABK ABN APR BF BJ BK BN BP BO BQ BR BZ DR LOI PR", req=True),
        an(1, 30, req=True),
        idc(2, 3, "D8 RD8"),
        an(1, 35),
        r(1, 18),
        r(1, 15),
        an(1, 30),
        req=req,
    )


_SPECS: dict[str, SegmentSpec] = {}


def _seg(
    segment_id: str,
    *elements: ElementSpec,
    paired: tuple[tuple[int, ...], ...] = (),
    conditional: tuple[tuple[int, int], ...] = (),
) -> None:
    _SPECS[segment_id] = SegmentSpec(segment_id, elements, paired=paired, conditional=conditional)


_NAME_ID_QUALIFIERS = "24 34 46 FI II MI PI SV XV XX ZZ"

# Transaction-set level (X12 5010 base dictionary, narrowed where the TR3s require).
_seg("ST", idc(3, 3, req=True), an(4, 9, req=True), an(1, 35))
_seg("SE", n0(1, 10, req=True), an(4, 9, req=True))
_seg(
    "BHT",
    idc(4, 4, "0007 0022 0078", req=True),
    # The union of the conventions' BHT02 values; each grammar narrows it (grammar.py).
    idc(2, 2, "01 06 11 13 28 36", req=True),
    an(1, 50),
    dt(req=True),
    tm(),
    idc(2, 2),
)
_seg(
    "HL", an(1, 12, req=True), an(1, 12), idc(1, 2, "20 21 22 23 EV SS", req=True), idc(1, 1, "0 1")
)
_seg(
    "NM1",
    idc(2, 3, req=True),
    idc(1, 1, "1 2", req=True),
    an(1, 60),
    an(1, 35),
    an(1, 25),
    an(1, 10),
    an(1, 10),
    idc(1, 2, _NAME_ID_QUALIFIERS),
    an(2, 80),
    idc(2, 2),
    idc(2, 3),
    an(1, 60),
    paired=((8, 9),),
)
_seg("N3", an(1, 55, req=True), an(1, 55))
# N401 is optional in the base standard but required by every TR3 usage we implement.
_seg("N4", an(2, 30, req=True), idc(2, 2), idc(3, 15), idc(2, 3), idc(1, 2), an(1, 30), an(1, 3))
_seg(
    "PER",
    idc(2, 2, "IC", req=True),
    an(1, 60),
    idc(2, 2, "EM EX FX TE UR"),
    an(1, 256),
    idc(2, 2, "EM EX FX TE UR"),
    an(1, 256),
    idc(2, 2, "EM EX FX TE UR"),
    an(1, 256),
    paired=((3, 4), (5, 6), (7, 8)),
)
_seg(
    "REF", idc(2, 3, req=True), an(1, 50), an(1, 80), comp(idc(2, 3, req=True), an(1, 50, req=True))
)
_seg("PRV", idc(1, 3, req=True), idc(2, 3, "PXC ZZ"), an(1, 50), paired=((2, 3),))
_seg("DMG", idc(2, 3, "D8"), an(1, 35), idc(1, 1, "F M U"), paired=((1, 2),))
_seg("INS", idc(1, 1, "N Y", req=True), idc(2, 2, req=True), idc(3, 3), idc(2, 3))
_seg("TRN", idc(1, 2, "1 2", req=True), an(1, 50, req=True), an(10, 10), an(1, 50))
_seg(
    "UM",
    idc(1, 2, frozenset(x12codes.REQUEST_CATEGORIES), req=True),
    idc(1, 1, frozenset(x12codes.CERTIFICATION_TYPES)),
    idc(1, 2, frozenset(x12codes.SERVICE_TYPES)),
    comp(
        an(1, 2, req=True),
        idc(1, 2, frozenset(x12codes.FACILITY_CODE_QUALIFIERS), req=True),
        an(1, 1),
    ),
    comp(idc(2, 3, "AA EM OA", req=True), idc(2, 3), idc(2, 3), idc(2, 2), idc(2, 3)),
    idc(1, 3, frozenset(x12codes.LEVELS_OF_SERVICE)),
    idc(1, 1),
    idc(1, 1),
    idc(1, 1, "A I M N O Y"),
    idc(1, 2),
)
_seg(
    "HCR",
    idc(1, 2, frozenset(x12codes.HCR_ACTIONS), req=True),
    an(1, 50),
    an(1, 30),
    idc(1, 1, "N Y"),
)
_seg("HI", _health_code(True), *(_health_code(False) for _ in range(11)))
_seg(
    "HSD",
    idc(1, 2),
    r(1, 15),
    idc(2, 2),
    r(1, 6),
    idc(1, 2),
    n0(1, 3),
    idc(1, 1),
    idc(1, 1),
    paired=((1, 2), (5, 6)),
)
_seg("DTP", idc(3, 3, req=True), idc(2, 3, "D8 RD8", req=True), an(1, 35, req=True))
_seg(
    "SV1",
    _procedure(),
    r(1, 18),
    idc(2, 2, "MJ UN"),
    r(1, 15),
    an(1, 2),
    idc(1, 2),
    comp(n0(1, 2, req=True), n0(1, 2), n0(1, 2), n0(1, 2)),
    paired=((3, 4),),
)
_seg(
    "SV2",
    an(1, 48),
    _procedure(req=False),
    r(1, 18),
    idc(2, 2, "DA UN"),
    r(1, 15),
    r(1, 10),
    r(1, 18),
    idc(1, 1),
    idc(1, 1),
    idc(1, 2),
    paired=((4, 5),),
)
_seg(
    "SV3",
    _procedure(),
    r(1, 18),
    an(1, 2),
    comp(an(1, 2), an(1, 2), an(1, 2), an(1, 2), an(1, 2)),
    idc(1, 1),
    an(1, 80),
    idc(1, 1),
    idc(1, 1),
    idc(1, 1),
    comp(n0(1, 2), n0(1, 2)),
    n0(1, 15),
)
_seg(
    "TOO",
    idc(1, 3, "JP", req=True),
    an(1, 30, req=True),
    comp(idc(1, 2, req=True), idc(1, 2), idc(1, 2), idc(1, 2), idc(1, 2)),
)
_seg(
    "CRC",
    idc(2, 2, req=True),
    idc(1, 1, "N Y", req=True),
    idc(2, 3, req=True),
    idc(2, 3),
    idc(2, 3),
    idc(2, 3),
    idc(2, 3),
)
_seg("CL1", idc(1, 1), idc(1, 2), idc(1, 2), idc(1, 2))
_seg("MSG", an(1, 264, req=True), idc(2, 2), n0(1, 9))
_seg(
    "AAA",
    idc(1, 1, "N Y", req=True),
    idc(2, 2),
    idc(2, 2, frozenset(x12codes.REJECT_REASONS)),
    idc(1, 1, frozenset(x12codes.FOLLOW_UP_ACTIONS)),
)
_seg(
    "PWK",
    idc(2, 2, req=True),
    idc(1, 2, "AA BM EL EM FT FX VO"),
    n0(1, 2),
    n0(1, 2),
    idc(1, 2),
    an(2, 80),
    an(1, 80),
    paired=((5, 6),),
)
_seg(
    "EQ",
    idc(1, 2, frozenset(x12codes.SERVICE_TYPES), rep=99),
    _procedure(req=False),
    idc(3, 3),
    idc(1, 3),
    comp(n0(1, 2, req=True), n0(1, 2), n0(1, 2), n0(1, 2)),
)
_seg(
    "EB",
    idc(1, 2, frozenset(x12codes.BENEFIT_INFORMATION), req=True),
    idc(3, 3),
    idc(1, 2, frozenset(x12codes.SERVICE_TYPES), rep=99),
    idc(1, 3),
    an(1, 50),
    idc(1, 2),
    r(1, 18),
    r(1, 10),
    idc(2, 2),
    r(1, 15),
    idc(1, 1, "N U Y"),
    idc(1, 1, "N U W Y"),
    _procedure(req=False),
    comp(n0(1, 2, req=True), n0(1, 2), n0(1, 2), n0(1, 2)),
    paired=((9, 10),),
)
_seg("III", idc(1, 3), an(1, 30), idc(1, 2), an(1, 264))
_seg("LS", an(1, 4, req=True))
_seg("LE", an(1, 4, req=True))
# 999 acknowledgment segments (005010X231A1).
_seg("AK1", idc(2, 2, req=True), n0(1, 9, req=True), an(1, 12))
_seg("AK2", idc(3, 3, req=True), an(4, 9, req=True), an(1, 35))
_seg(
    "IK3",
    idc(2, 3, req=True),
    n0(1, 10, req=True),
    an(1, 4),
    idc(1, 3, frozenset(x12codes.SEGMENT_SYNTAX_ERRORS), req=True),
)
_seg(
    "IK4",
    comp(n0(1, 2, req=True), n0(1, 2), n0(1, 4), req=True),
    an(1, 4),
    idc(1, 3, frozenset(x12codes.ELEMENT_SYNTAX_ERRORS), req=True),
    an(1, 99),
)
_seg(
    "CTX",
    comp(an(1, 35, req=True), an(1, 35), req=True, rep=10),
    idc(2, 3),
    n0(1, 10),
    an(1, 4),
    comp(n0(1, 2, req=True), n0(1, 2), n0(1, 4)),
    comp(an(1, 4, req=True), an(1, 4)),
)
_set_errors = frozenset(x12codes.TRANSACTION_SET_ERRORS)
_seg("IK5", idc(1, 1, "A E M R W X", req=True), *(idc(1, 3, _set_errors) for _ in range(5)))
_group_errors = frozenset(x12codes.GROUP_ERRORS)
_seg(
    "AK9",
    idc(1, 1, "A E M P R W X", req=True),
    n0(1, 6, req=True),
    n0(1, 6, req=True),
    n0(1, 6, req=True),
    *(idc(1, 3, _group_errors) for _ in range(5)),
)

#: Every segment the codec can validate, by segment id.
SEGMENT_SPECS: Mapping[str, SegmentSpec] = MappingProxyType(_SPECS)

# The last day of each month (February as in a leap year), by two-digit month. Once a
# value is known to be ASCII digits, comparing two-digit strings compares their numbers,
# which is cheaper than converting them.
_LAST_DAY: Final = {
    f"{month:02d}": f"{days:02d}"
    for month, days in enumerate((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1)
}


def valid_date(value: str) -> bool:
    """Whether ``value`` is a real CCYYMMDD calendar date."""
    # isascii: str.isdigit also accepts characters like '²' that int() rejects.
    if len(value) != 8 or not (value.isascii() and value.isdigit()):
        return False
    # An unknown month has no last day, and no day lies between "01" and "".
    if not "01" <= value[6:] <= _LAST_DAY.get(value[4:6], ""):
        return False
    if value[4:] == "0229":
        year = int(value[:4])
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return True


def valid_time(value: str) -> bool:
    """Whether ``value`` is a valid HHMM, HHMMSS or HHMMSSd[d] time."""
    if not 4 <= len(value) <= 8 or len(value) == 5 or not (value.isascii() and value.isdigit()):
        return False
    # Two ASCII digits compare as strings the way their numbers do.
    return value[:2] <= "23" and value[2:4] <= "59" and (len(value) < 6 or value[4:6] <= "59")


def numeric_length(value: str, decimal: bool) -> int:
    """Digits in a numeric value (sign and decimal point do not count), or -1 if malformed."""
    if not value.isascii():
        return -1
    body = value[1:] if value[:1] == "-" else value
    if decimal and "." in body:
        whole, _, fraction = body.partition(".")
        if not (whole.isdigit() or not whole) or not (fraction.isdigit() or not fraction):
            return -1
        digits = len(whole) + len(fraction)
        return digits if digits else -1
    return len(body) if body.isdigit() else -1


def _check_value(
    value: str,
    spec: ElementSpec,
    segment_id: str,
    position: int,
    loop: str,
    element: int,
    component: int,
    repetition: int,
    out: list[X12Error],
) -> None:
    kind = spec.kind
    if kind in (N0, R):
        length = numeric_length(value, kind == R)
        if length < 0:
            out.append(
                element_error(
                    f"{segment_id}{element:02d} must be numeric, got {value!r}",
                    "6",
                    segment_id=segment_id,
                    position=position,
                    loop=loop,
                    element=element,
                    component=component,
                    repetition=repetition,
                    bad_value=value,
                )
            )
            return
    else:
        length = len(value)
    if length < spec.lo:
        out.append(
            element_error(
                f"{segment_id}{element:02d} is shorter than {spec.lo} characters: {value!r}",
                "4",
                segment_id=segment_id,
                position=position,
                loop=loop,
                element=element,
                component=component,
                repetition=repetition,
                bad_value=value,
            )
        )
        return
    if length > spec.hi:
        out.append(
            element_error(
                f"{segment_id}{element:02d} is longer than {spec.hi} characters: {value!r}",
                "5",
                segment_id=segment_id,
                position=position,
                loop=loop,
                element=element,
                component=component,
                repetition=repetition,
                bad_value=value,
            )
        )
        return
    if kind == ID:
        if spec.codes is not None and value not in spec.codes:
            out.append(
                element_error(
                    f"{segment_id}{element:02d} has the invalid code {value!r}",
                    "7",
                    segment_id=segment_id,
                    position=position,
                    loop=loop,
                    element=element,
                    component=component,
                    repetition=repetition,
                    bad_value=value,
                )
            )
    elif kind == DT:
        if not valid_date(value):
            out.append(
                element_error(
                    f"{segment_id}{element:02d} is not a valid CCYYMMDD date: {value!r}",
                    "8",
                    segment_id=segment_id,
                    position=position,
                    loop=loop,
                    element=element,
                    component=component,
                    repetition=repetition,
                    bad_value=value,
                )
            )
    elif kind == TM and not valid_time(value):
        out.append(
            element_error(
                f"{segment_id}{element:02d} is not a valid HHMM time: {value!r}",
                "9",
                segment_id=segment_id,
                position=position,
                loop=loop,
                element=element,
                component=component,
                repetition=repetition,
                bad_value=value,
            )
        )


def _check_composite(
    value: str,
    spec: ElementSpec,
    component_separator: str,
    segment_id: str,
    position: int,
    loop: str,
    element: int,
    repetition: int,
    out: list[X12Error],
) -> None:
    parts = value.split(component_separator)
    specs = spec.components
    if len(parts) > len(specs):
        out.append(
            element_error(
                f"{segment_id}{element:02d} has {len(parts)} components, "
                f"at most {len(specs)} allowed",
                "13",
                segment_id=segment_id,
                position=position,
                loop=loop,
                element=element,
                component=len(specs) + 1,
                repetition=repetition,
                bad_value=value,
            )
        )
    for index, part_spec in enumerate(specs, 1):
        part = parts[index - 1] if index <= len(parts) else ""
        if not part:
            if part_spec.required:
                out.append(
                    element_error(
                        f"{segment_id}{element:02d}-{index} is required",
                        "1",
                        segment_id=segment_id,
                        position=position,
                        loop=loop,
                        element=element,
                        component=index,
                        repetition=repetition,
                    )
                )
            continue
        _check_value(part, part_spec, segment_id, position, loop, element, index, repetition, out)


def explain_segment(
    elements: tuple[str, ...],
    spec: SegmentSpec,
    component_separator: str,
    repetition_separator: str,
    position: int,
    loop: str,
    out: list[X12Error],
) -> None:
    """The interpreted check: append every problem of a segment its fast check refused."""
    segment_id = spec.segment_id
    specs = spec.elements
    count = len(elements) - 1
    if count > len(specs):
        out.append(
            element_error(
                f"{segment_id} has {count} elements, at most {len(specs)} allowed",
                "3",
                segment_id=segment_id,
                position=position,
                loop=loop,
                element=len(specs) + 1,
                bad_value=elements[len(specs) + 1],
            )
        )
        count = len(specs)
    for index, es in enumerate(specs, 1):
        value = elements[index] if index <= count else ""
        if not value:
            if es.required:
                out.append(
                    element_error(
                        f"{segment_id}{index:02d} is required",
                        "1",
                        segment_id=segment_id,
                        position=position,
                        loop=loop,
                        element=index,
                    )
                )
            continue
        if es.repeat == 1 and es.kind != COMPOSITE:
            _check_value(value, es, segment_id, position, loop, index, 0, 0, out)
        else:
            _check_complex(
                value,
                es,
                component_separator,
                repetition_separator,
                segment_id,
                position,
                loop,
                index,
                out,
            )
    for group in spec.paired:
        present = [i for i in group if i <= count and elements[i]]
        if present and len(present) != len(group):
            missing = next(i for i in group if i not in present)
            out.append(
                element_error(
                    f"{segment_id}{missing:02d} is required when "
                    f"{segment_id}{present[0]:02d} is present",
                    "2",
                    segment_id=segment_id,
                    position=position,
                    loop=loop,
                    element=missing,
                )
            )
    for first, then in spec.conditional:
        if first <= count and elements[first] and not (then <= count and elements[then]):
            out.append(
                element_error(
                    f"{segment_id}{then:02d} is required when {segment_id}{first:02d} is present",
                    "2",
                    segment_id=segment_id,
                    position=position,
                    loop=loop,
                    element=then,
                )
            )


def _check_complex(
    value: str,
    spec: ElementSpec,
    component_separator: str,
    repetition_separator: str,
    segment_id: str,
    position: int,
    loop: str,
    element: int,
    out: list[X12Error],
) -> None:
    repetitions = (
        value.split(repetition_separator) if repetition_separator and spec.repeat > 1 else [value]
    )
    if len(repetitions) > spec.repeat:
        out.append(
            element_error(
                f"{segment_id}{element:02d} repeats {len(repetitions)} times, "
                f"at most {spec.repeat}",
                "12",
                segment_id=segment_id,
                position=position,
                loop=loop,
                element=element,
                bad_value=value,
            )
        )
    for number, item in enumerate(repetitions, 1):
        rep_index = number if spec.repeat > 1 else 0
        if not item:
            continue
        if spec.kind == COMPOSITE:
            _check_composite(
                item, spec, component_separator, segment_id, position, loop, element, rep_index, out
            )
        else:
            _check_value(item, spec, segment_id, position, loop, element, 0, rep_index, out)


def complex_ok(value: str, spec: ElementSpec, component: str, repetition: str) -> bool:
    """Whether a repeating or composite element value is valid (no position is reported)."""
    found: list[X12Error] = []
    _check_complex(value, spec, component, repetition, "", 0, "", 0, found)
    return not found
