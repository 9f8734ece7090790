"""Reading X12: delimiters, envelopes, control checks, loop trees, element validation.

``parse`` never raises for bad input: it returns a ``Document`` whose
``problems()`` list every ``X12Error`` found, so one pass yields a complete
999. ``parse_strict`` raises one ``X12Error`` carrying them all instead.

Speed comes from doing each piece of work once: the text is split on the
segment terminator in one call, each segment on the element separator once,
components and repetitions only for composite or repeating elements, and the
loop placement is a dictionary lookup per segment against precomputed
grammar tables (no regular expressions per segment).

Tolerance (see docs/x12.md): a UTF-8 byte order mark, whitespace or line
breaks around segment terminators, an ISA12 of 00401 on 5010 content, a GS08
that disagrees with ST03, and the pre-addenda X279/X231 conventions are
accepted with a warning. Everything else the TR3s forbid is an error.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from functools import lru_cache
from operator import itemgetter
from typing import Final

from precert.interop.x12 import codes as x12codes
from precert.interop.x12 import native
from precert.interop.x12.errors import Level, Severity, X12Error, element_error, segment_error
from precert.interop.x12.grammar import CONVENTION_GRAMMARS, GRAMMARS, Grammar, LoopSpec
from precert.interop.x12.model import (
    Delimiters,
    Document,
    FunctionalGroup,
    Interchange,
    Loop,
    Segment,
    TransactionSet,
)
from precert.interop.x12.segment_checks import ACCEPTS
from precert.interop.x12.segments import SEGMENT_SPECS, explain_segment, valid_date

_WHITESPACE = " \t\r\n"
_ISA_LENGTH = 106
# A pathological input (fuzzing, a wrong file) could produce one error per
# element; past this many per transaction set the rest add nothing to a 999.
MAX_ERRORS_PER_SET: Final = 200
_HL_LEVELS: Final = SEGMENT_SPECS["HL"].elements[2].codes or frozenset()
_BHT_PURPOSES: Final = SEGMENT_SPECS["BHT"].elements[1].codes or frozenset()
_ST_SPEC: Final = SEGMENT_SPECS["ST"]
_FUNCTIONAL_IDS: Final = frozenset(x12codes.FUNCTIONAL_IDS.values())
# The segment ids that end a transaction set's body: its SE, or an envelope segment.
_SET_ENDS: Final = frozenset(("SE", "ST", "GE", "GS", "IEA", "ISA"))
# A 278 response (BHT02 11) alone carries the decision and the request validation (HCR,
# AAA), and it may stop at the level it rejects with AAA, so of the required HL levels only
# the first is required of it (X12 RFI 2445).
_RESPONSE_SET: Final = "278"
_RESPONSE_PURPOSE: Final = "11"
_RESPONSE_ONLY: Final = frozenset(("HCR", "AAA"))
_RESPONSE_REQUIRED_LEVELS: Final = 1
#: The C reader of clean interchanges when the compiled wheel has it (see native.py).
NATIVE_READER: Final = native.load(
    response_set=_RESPONSE_SET,
    response_purpose=_RESPONSE_PURPOSE,
    response_only=_RESPONSE_ONLY,
    response_levels=_RESPONSE_REQUIRED_LEVELS,
)
_segment_id: Final = itemgetter(0)
_ACCEPTS_ST: Final = ACCEPTS["ST"]
_ACCEPTS_DTP: Final = ACCEPTS["DTP"]
_ACCEPTS_DMG: Final = ACCEPTS["DMG"]


def _period_ok(fmt: str, value: str) -> bool:
    """Whether DTP03 ``value`` is a real date (D8) or an ordered date range (RD8)."""
    if fmt == "D8":
        return valid_date(value)
    if fmt == "RD8":
        start, dash, end = value.partition("-")
        return bool(dash) and valid_date(start) and valid_date(end) and start <= end
    return True


def _birth_date_ok(fmt: str, value: str) -> bool:
    """Whether DMG02 ``value`` is a real date when DMG01 says it is one (D8)."""
    return fmt != "D8" or not value or valid_date(value)


def _dtp_check(elements: tuple[str, ...], component: str, repetition: str) -> bool:
    # A DTP the generated check accepts has exactly its three elements.
    return _ACCEPTS_DTP(elements, component, repetition) and _period_ok(elements[2], elements[3])


def _dmg_check(elements: tuple[str, ...], component: str, repetition: str) -> bool:
    # DMG01 and DMG02 are paired, so an accepted DMG with DMG01 also has DMG02.
    return _ACCEPTS_DMG(elements, component, repetition) and (
        len(elements) < 3 or _birth_date_ok(elements[1], elements[2])
    )


#: The parser's check per segment id for a placed segment: the generated "all valid?"
#: function, with the date checks that depend on a qualifier folded in for DTP and DMG,
#: so a valid segment costs one lookup and one call. False sends it to ``_explain``.
_PLACED_CHECKS: Final[dict[str, Callable[[tuple[str, ...], str, str], bool]]] = {
    **ACCEPTS,
    "DTP": _dtp_check,
    "DMG": _dmg_check,
}


def _interchange_error(message: str, code: str, severity: Severity = Severity.ERROR) -> X12Error:
    return X12Error(
        message, level=Level.INTERCHANGE, interchange_code=code, severity=severity, segment_id="ISA"
    )


def _decode(data: str | bytes) -> str:
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            # X12 is ASCII-based; latin-1 maps every byte, so the codec can still
            # report where the unexpected characters are instead of refusing the file.
            return data.decode("latin-1")
    return data


def read_delimiters(isa: str) -> tuple[Delimiters | None, list[X12Error]]:
    """The delimiters an ISA segment declares (``isa`` starts at ``ISA``), or the problems."""
    problems: list[X12Error] = []
    if len(isa) < 4 or not isa.startswith("ISA"):
        return None, [_interchange_error("the input does not start with an ISA segment", "022")]
    element = isa[3]
    if element.isalnum() or element in _WHITESPACE:
        return None, [_interchange_error(f"invalid element separator {element!r}", "026")]
    # ISA16 follows the 16th element separator; the segment terminator follows it.
    at = 3
    for _ in range(15):
        at = isa.find(element, at + 1)
        if at < 0:
            return None, [_interchange_error("the ISA segment is truncated", "023")]
    if at + 2 >= len(isa):
        return None, [_interchange_error("the ISA segment is truncated", "023")]
    component = isa[at + 1]
    terminator = isa[at + 2]
    fields = isa[: at + 1].split(element)
    repetition = fields[11] if len(fields) > 11 else ""
    version = fields[12] if len(fields) > 12 else ""
    if version < "00402" or len(repetition) != 1 or repetition.isalnum():
        # Before 00402 ISA11 was the standards identifier ("U"), not a separator.
        repetition = ""
    if component.isalnum() or component in (element, terminator) or component in _WHITESPACE:
        return None, [_interchange_error(f"invalid component separator {component!r}", "027")]
    if terminator.isalnum() or terminator == element:
        return None, [_interchange_error(f"invalid segment terminator {terminator!r}", "004")]
    if at + 3 != _ISA_LENGTH:
        problems.append(
            _interchange_error(
                f"the ISA segment is {at + 3} characters long, not {_ISA_LENGTH}", "022"
            )
        )
    return Delimiters(element, component, repetition, terminator), problems


def parse(data: str | bytes, *, accelerated: bool = True) -> Document:
    """Read every interchange in ``data``; collect all problems rather than stopping.

    Where the native reader is built, a clean interchange is read by it and anything
    else by the Python parser; ``accelerated=False`` uses the Python parser alone.
    """
    # Parsing allocates many small objects and creates no reference cycles (loops hold
    # only their children), so the cyclic garbage collector's passes are pure overhead
    # here, about a third of the run time on large batches.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse(data, accelerated)
    finally:
        if collecting:
            gc.enable()


def _prepare(data: str | bytes) -> tuple[str, Delimiters | None, list[X12Error]]:
    """The text from its first ISA on, and the delimiters it declares or the problems."""
    text = _decode(data)
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.lstrip(_WHITESPACE)
    delimiters, problems = read_delimiters(text)
    return text, delimiters, problems


def read_clean(data: str | bytes) -> Document | None:
    """The native reader's document for ``data``, or None when it declines or is not built.

    ``parse`` uses it first; tests and benchmarks call it to see what it accepts.
    """
    text, delimiters, problems = _prepare(data)
    if NATIVE_READER is None or delimiters is None or problems:
        return None
    return NATIVE_READER(text, delimiters)


def _parse(data: str | bytes, accelerated: bool) -> Document:
    document = Document()
    text, delimiters, problems = _prepare(data)
    document.errors.extend(problems)
    if delimiters is None:
        return document
    if accelerated and not problems and NATIVE_READER is not None:
        clean = NATIVE_READER(text, delimiters)
        if clean is not None:
            return clean
    terminator = delimiters.segment
    raw = text.split(terminator)
    strip_set = "".join(c for c in _WHITESPACE if c not in (delimiters.element, terminator))
    if any(c in text for c in "\r\n\t") or (terminator + " ") in text:
        raw = [s.strip(strip_set) for s in raw]
    segments = list(filter(None, raw))  # without empty segments, e.g. after the last terminator
    _read_interchanges(segments, delimiters, document)
    control, refused = _control_characters(delimiters)
    if _holds_any(text, control, refused):
        _report_control_characters(document, control)
    return document


@lru_cache(maxsize=16)
def _control_characters(delimiters: Delimiters) -> tuple[re.Pattern[str], bytes]:
    """C0 controls and DEL that are not this interchange's delimiters or line breaks.

    The X12 basic and extended character sets hold no control characters, and a NUL
    would also be refused by PostgreSQL when the message is stored. Returned as a
    pattern (to find them) and as the same characters in bytes (to test a whole text).
    """
    allowed = {*"\t\r\n", delimiters.element, delimiters.segment}
    allowed |= {delimiters.component, delimiters.repetition}
    codes = "".join(chr(c) for c in (*range(0x20), 0x7F) if chr(c) not in allowed)
    return re.compile("[" + re.escape(codes) + "]"), codes.encode("ascii")


def _holds_any(text: str, control: re.Pattern[str], refused: bytes) -> bool:
    """Whether ``text`` holds a character of ``control`` (``refused`` as bytes)."""
    try:
        # Latin-1 maps each character to the byte of the same value, so deleting the
        # refused bytes shortens the text exactly when it holds one; this C loop is
        # about five times quicker than the pattern's search over a clean text.
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        return control.search(text) is not None
    return len(data.translate(None, refused)) != len(data)


def _report_control_characters(document: Document, control: re.Pattern[str]) -> None:
    """Name each element holding a control character (IK403 6: invalid character).

    Runs only when the whole-text search found one, so clean input pays one search.
    """
    located = False
    for interchange in document.interchanges:
        if any(control.search(value) for value in interchange.header):
            interchange.errors.append(
                _interchange_error("the ISA segment holds a control character", "024")
            )
            located = True
        for group in interchange.groups:
            for transaction in group.transactions:
                found = _control_character_errors(transaction, control)
                located = located or bool(found)
                if found and not any(e.set_code == "5" for e in transaction.errors):
                    found.append(_set_error(transaction, "one or more segments are in error", "5"))
                transaction.errors.extend(found)
    if not located:
        document.errors.append(
            _interchange_error("an envelope segment holds a control character", "024")
        )


def _control_character_errors(
    transaction: TransactionSet, control: re.Pattern[str]
) -> list[X12Error]:
    errors: list[X12Error] = []
    for loop in transaction.root.walk():
        for segment in loop.segments:
            for index, value in enumerate(segment.elements[1:], 1):
                match = control.search(value)
                if match is None:
                    continue
                errors.append(
                    element_error(
                        f"{segment.id}{index:02d} holds the control character "
                        f"U+{ord(match.group()):04X}, outside the X12 character set",
                        "6",
                        segment_id=segment.id,
                        position=segment.position,
                        loop=loop.loop_id,
                        element=index,
                        bad_value=value,
                    )
                )
    return errors


def parse_strict(data: str | bytes) -> Document:
    """Like ``parse`` but raise one ``X12Error`` (carrying all of them) on any error."""
    document = parse(data)
    document.raise_for_errors()
    return document


def _read_interchanges(raw: list[str], first: Delimiters, document: Document) -> None:
    count = len(raw)
    i = 0
    while i < count:
        text = raw[i]
        if not text.startswith("ISA"):
            document.errors.append(
                _interchange_error(f"expected an ISA segment, found {text[:3]!r}", "022")
            )
            i += 1
            while i < count and not raw[i].startswith("ISA"):
                i += 1
            continue
        delimiters, problems = read_delimiters(text + first.segment)
        if delimiters is None or delimiters.segment != first.segment:
            document.errors.extend(
                problems
                or [_interchange_error("an interchange uses a different segment terminator", "004")]
            )
            return
        interchange = Interchange(text.split(delimiters.element), delimiters)
        interchange.errors.extend(problems)
        _check_isa(interchange)
        document.interchanges.append(interchange)
        i = _read_groups(raw, i + 1, interchange)


def _check_isa(interchange: Interchange) -> None:
    header = interchange.header
    errors = interchange.errors
    if len(header) != 17:
        errors.append(_interchange_error(f"ISA has {len(header) - 1} elements, not 16", "022"))
        return
    version = header[12]
    if version != "00501":
        if len(version) == 5 and version.isdigit() and "00200" <= version <= "00501":
            errors.append(
                _interchange_error(
                    f"ISA12 is {version}; the interchange is read as 00501 (same ISA layout)",
                    "017",
                    Severity.WARNING,
                )
            )
        else:
            errors.append(_interchange_error(f"ISA12 {version!r} is not supported", "017"))
    if not (len(header[9]) == 6 and header[9].isdigit() and valid_date("20" + header[9])):
        errors.append(_interchange_error(f"ISA09 {header[9]!r} is not a YYMMDD date", "014"))
    if not (len(header[13]) == 9 and header[13].isdigit()):
        errors.append(_interchange_error(f"ISA13 {header[13]!r} is not 9 digits", "018"))
    if header[15] not in ("P", "T"):
        errors.append(_interchange_error(f"ISA15 {header[15]!r} is not P or T", "020"))


def _read_groups(raw: list[str], i: int, interchange: Interchange) -> int:
    separator = interchange.delimiters.element
    count = len(raw)
    groups = 0
    while i < count:
        elements = raw[i].split(separator)
        sid = elements[0]
        if sid == "GS":
            group = FunctionalGroup(elements)
            interchange.groups.append(group)
            groups += 1
            i = _read_transactions(raw, i + 1, interchange, group)
        elif sid == "IEA":
            trailer_count = elements[1] if len(elements) > 1 else ""
            trailer_control = elements[2] if len(elements) > 2 else ""
            if trailer_control != interchange.control_number:
                interchange.errors.append(
                    _interchange_error(
                        f"IEA02 {trailer_control!r} does not match ISA13 "
                        f"{interchange.control_number!r}",
                        "001",
                    )
                )
            if trailer_count != str(groups):
                interchange.errors.append(
                    _interchange_error(
                        f"IEA01 says {trailer_count!r} functional groups, found {groups}", "021"
                    )
                )
            return i + 1
        elif sid == "ISA":
            break
        else:
            interchange.errors.append(
                _interchange_error(f"segment {sid!r} is outside any functional group", "024")
            )
            i += 1
    interchange.errors.append(_interchange_error("the IEA trailer is missing", "023"))
    return i


def _group_error(
    group: FunctionalGroup, message: str, code: str, severity: Severity = Severity.ERROR
) -> None:
    group.errors.append(
        X12Error(
            message,
            level=Level.GROUP,
            segment_id="GS",
            group_code=code,
            control_number=group.control_number,
            severity=severity,
        )
    )


def _read_transactions(
    raw: list[str], i: int, interchange: Interchange, group: FunctionalGroup
) -> int:
    delimiters = interchange.delimiters
    separator = delimiters.element
    count = len(raw)
    if group.functional_id not in _FUNCTIONAL_IDS:
        _group_error(
            group,
            f"GS01 functional identifier {group.functional_id!r} is not "
            "supported (HI, HS, HB or FA)",
            "1",
        )
    seen_controls: set[str] = set()
    while i < count:
        elements = raw[i].split(separator)
        sid = elements[0]
        if sid == "ST":
            body = [tuple(elements)]
            append = body.append
            i += 1
            closed = False
            while i < count:
                seg = tuple(raw[i].split(separator))
                if seg[0] in _SET_ENDS:
                    # SE closes the set; an envelope segment ends it unclosed.
                    if seg[0] == "SE":
                        append(seg)
                        i += 1
                        closed = True
                    break
                append(seg)
                i += 1
            transaction = parse_transaction(body, delimiters, closed)
            if transaction.control_number in seen_controls:
                transaction.errors.append(
                    _set_error(
                        transaction, "ST02 control number is not unique within the group", "23"
                    )
                )
            seen_controls.add(transaction.control_number)
            _check_group_fit(group, transaction)
            group.transactions.append(transaction)
        elif sid == "GE":
            trailer_count = elements[1] if len(elements) > 1 else ""
            trailer_control = elements[2] if len(elements) > 2 else ""
            if trailer_control != group.control_number:
                _group_error(
                    group,
                    f"GE02 {trailer_control!r} does not match GS06 {group.control_number!r}",
                    "4",
                )
            if trailer_count != str(len(group.transactions)):
                _group_error(
                    group,
                    f"GE01 says {trailer_count!r} transaction sets, found "
                    f"{len(group.transactions)}",
                    "5",
                )
            return i + 1
        elif sid in ("GS", "IEA", "ISA"):
            break
        else:
            _group_error(group, f"segment {sid!r} is outside any transaction set", "3")
            i += 1
    _group_error(group, "the GE trailer is missing", "3")
    return i


def _check_group_fit(group: FunctionalGroup, transaction: TransactionSet) -> None:
    expected = x12codes.FUNCTIONAL_IDS.get(transaction.set_id)
    if expected and group.functional_id in _FUNCTIONAL_IDS and group.functional_id != expected:
        transaction.errors.append(
            _set_error(
                transaction,
                f"a {transaction.set_id} belongs in a GS01 {expected} group, not "
                f"{group.functional_id}",
                "18",
            )
        )
    if group.version and transaction.convention and group.version != transaction.convention:
        transaction.errors.append(
            _set_error(
                transaction,
                f"GS08 {group.version} differs from ST03 {transaction.convention}; ST03 governs",
                "",
                Severity.WARNING,
            )
        )


def _set_error(
    transaction: TransactionSet, message: str, code: str, severity: Severity = Severity.ERROR
) -> X12Error:
    return X12Error(
        message,
        level=Level.TRANSACTION,
        set_code=code,
        severity=severity,
        segment_id="ST",
        position=1,
        set_id=transaction.set_id,
        control_number=transaction.control_number,
    )


def parse_transaction(
    body: list[tuple[str, ...]], delimiters: Delimiters, closed: bool = True
) -> TransactionSet:
    """Build and validate one transaction set from its split segments (ST first)."""
    header = body[0]
    set_id = header[1] if len(header) > 1 else ""
    control = header[2] if len(header) > 2 else ""
    convention = header[3] if len(header) > 3 else ""
    transaction = TransactionSet(set_id, control, convention, delimiters)
    transaction.segment_count = len(body)
    errors = transaction.errors
    grammar = GRAMMARS.get(set_id)
    if not _ACCEPTS_ST(header, delimiters.component, delimiters.repetition):
        explain_segment(
            header, _ST_SPEC, delimiters.component, delimiters.repetition, 1, "", errors
        )
    if grammar is None:
        errors.append(_set_error(transaction, f"transaction set {set_id!r} is not supported", "1"))
        transaction.root = Loop("HEADER", tuple([Segment(e, n) for n, e in enumerate(body, 1)]))
        return transaction
    if convention != x12codes.CONVENTIONS[set_id]:  # the expected one needs no more
        variants = CONVENTION_GRAMMARS.get((set_id, convention))
        if variants is None:
            _check_convention(transaction)
        else:
            # Another convention of the same set (the X215 278 inquiry): its grammar by BHT02.
            bht = body[1] if len(body) > 1 else []
            purpose = bht[2] if len(bht) > 2 and bht[0] == "BHT" else ""
            grammar = variants.get(purpose) or variants[""]
    if closed:
        trailer = body[-1]
        stated = trailer[1] if len(trailer) > 1 else ""
        if stated != str(len(body)):
            errors.append(
                _set_error(
                    transaction, f"SE01 says {stated!r} segments, the set has {len(body)}", "4"
                )
            )
        trailer_control = trailer[2] if len(trailer) > 2 else ""
        if trailer_control != control:
            errors.append(
                _set_error(
                    transaction, f"SE02 {trailer_control!r} does not match ST02 {control!r}", "3"
                )
            )
        content = body[1:-1]
    else:
        errors.append(_set_error(transaction, "the SE trailer is missing", "2"))
        content = body[1:]
    _LoopBuilder(transaction, grammar, delimiters).build(content)
    if errors and any(e.level in (Level.SEGMENT, Level.ELEMENT) and e.is_error for e in errors):
        errors.append(_set_error(transaction, "one or more segments are in error", "5"))
    return transaction


def _check_convention(transaction: TransactionSet) -> None:
    expected = x12codes.CONVENTIONS[transaction.set_id]
    convention = transaction.convention
    if not convention:
        transaction.errors.append(
            element_error(
                "ST03 (implementation convention reference) is required",
                "1",
                segment_id="ST",
                position=1,
                loop="",
                element=3,
            )
        )
    elif convention != expected:
        tolerated = x12codes.TOLERATED_CONVENTIONS.get(transaction.set_id, frozenset())
        if convention in tolerated:
            transaction.errors.append(
                _set_error(
                    transaction, f"ST03 {convention} is read as {expected}", "", Severity.WARNING
                )
            )
        else:
            transaction.errors.append(
                _set_error(
                    transaction,
                    f"implementation convention {convention!r} is not supported "
                    f"(expected {expected})",
                    "I6",
                )
            )


class _OpenLoop:
    """A loop while its set is being read: segments and child loops may still come (a
    parent HL gains children after later HLs), so the ``Loop`` is made once the set ends."""

    __slots__ = ("children", "loop_id", "segments")

    def __init__(self, loop_id: str, segments: list[Segment]) -> None:
        self.loop_id = loop_id
        self.segments = segments
        self.children: list[_OpenLoop] = []

    def finished(self) -> Loop:
        """This loop and those below it as ``Loop``s. The recursion is as deep as the
        loops nest: a few levels in a valid set, and no deeper than the error cap allows
        HLs under a parent of the wrong level."""
        children = self.children
        return Loop(
            self.loop_id,
            tuple(self.segments),
            tuple([c.finished() for c in children]) if children else (),
        )


#: What ``_LoopBuilder`` records per HL01: level code, loop, HL segment, segment counts.
_HLEntry = tuple[str, _OpenLoop, Segment, dict[str, int]]
_NO_PLACEMENT: Final[tuple[None, frozenset[str]]] = (None, frozenset())


class _LoopBuilder:
    """Places each segment in its loop and validates it; one instance per transaction set.

    The per-segment loop in ``build`` is the codec's hot path. It keeps the innermost
    open loop in local variables (its member table, counts and ``append``) and refreshes
    them only when a segment opens, closes or leaves a loop, so the common case, one more
    member of the current loop, costs three dictionary lookups (member limit, count,
    check) and one generated check call; opening a child loop or a sibling of the current
    one is handled inline too. Everything unusual (HL, restricted codes, the closing LE,
    misplaced segments, errors) goes through the slower methods below, which carry the
    detailed messages.
    """

    __slots__ = (
        "component",
        "errors",
        "grammar",
        "hl_ids",
        "parents_seen",
        "repetition",
        "root",
        "set_id",
        "stack",
        "transaction",
    )

    def __init__(
        self, transaction: TransactionSet, grammar: Grammar, delimiters: Delimiters
    ) -> None:
        self.transaction = transaction
        self.grammar = grammar
        self.set_id = grammar.set_id
        self.errors = transaction.errors
        self.component = delimiters.component
        self.repetition = delimiters.repetition
        self.root = _OpenLoop("HEADER", [])
        # The open loops, innermost last: (spec, loop, segment counts).
        self.stack: list[tuple[LoopSpec, _OpenLoop, dict[str, int]]] = [
            (grammar.header, self.root, {})
        ]
        # HL01 -> (level code, loop, HL segment, segment counts) for parent lookup and the
        # closing checks.
        self.hl_ids: dict[str, _HLEntry] = {}
        # The loops (by identity) some later HL sits under, recorded while placing HLs so
        # the HL04 check needs no walk over every loop's children.
        self.parents_seen: set[int] = set()

    def build(self, content: list[tuple[str, ...]]) -> None:
        """Place and validate ``content`` (the segments between ST and SE), then check loops."""
        errors = self.errors
        checks = _PLACED_CHECKS
        component = self.component
        repetition = self.repetition
        hierarchical = bool(self.grammar.levels)
        stack = self.stack
        spec, loop, counts = stack[-1]
        members, opens, append, loop_id = (
            spec.members,
            spec.opens,
            loop.segments.append,
            spec.loop_id,
        )
        for position, elements in enumerate(content, 2):
            segment = Segment(elements, position)
            sid = elements[0]
            limit = members.get(sid)
            if limit is not None:
                used = counts.get(sid, 0) + 1
                counts[sid] = used
                append(segment)
                placed = loop_id
                if used <= limit:
                    # The common case, one more member of the innermost open loop: no
                    # error can arise but from the segment's own check, so only a failed
                    # check needs the error cap tested.
                    check = checks.get(sid)
                    if check is None or check(elements, component, repetition):
                        continue
                    self._explain(segment, placed)
                    if len(errors) > MAX_ERRORS_PER_SET:
                        break
                    continue
                self._after_append(spec, segment, used)
                spec, loop, counts = stack[-1]
            else:
                table = opens.get(sid)
                child = None
                if table is not None and sid != spec.trigger:
                    # The next most common case: a trigger opening a child of this loop.
                    child = table.get(elements[1] if len(elements) > 1 else "") or table.get("")
                elif (
                    sid == spec.trigger
                    and len(stack) > 1
                    and loop_id != "HEADER"
                    and not (sid == "HL" and hierarchical)
                    and (
                        spec.qualifiers is None
                        or (len(elements) > 1 and elements[1] in spec.qualifiers)
                    )
                ):
                    # The loop again (another EB, another provider): close it and open a
                    # sibling, as the first step of ``_place`` would.
                    del stack[-1]
                    child = spec
                    loop = stack[-1][1]
                if child is not None:
                    placed = child.loop_id
                    opened = _OpenLoop(placed, [segment])
                    loop.children.append(opened)
                    spec, loop, counts = child, opened, {}
                    stack.append((spec, loop, counts))
                else:
                    if sid == "HL" and hierarchical:
                        placed = self._place_hl(segment)
                    else:
                        placed = self._place(segment)
                    spec, loop, counts = stack[-1]
            members, opens, append, loop_id = (
                spec.members,
                spec.opens,
                loop.segments.append,
                spec.loop_id,
            )
            if placed:
                check = checks.get(sid)
                if check is not None and not check(elements, component, repetition):
                    self._explain(segment, placed)
            # Checked after each segment rather than before the next: the same cut-off.
            if len(errors) > MAX_ERRORS_PER_SET:
                break
        self.transaction.root = self.root.finished()
        self._check_required()
        # map/itemgetter keep the common case (no HCR or AAA at all) in C.
        if self.grammar.set_id == _RESPONSE_SET and not _RESPONSE_ONLY.isdisjoint(
            map(_segment_id, content)
        ):
            self._check_response_only()

    def _explain(self, segment: Segment, loop_id: str) -> None:
        """Report every problem of a placed segment its fast check refused."""
        elements = segment.elements
        sid = elements[0]
        component = self.component
        repetition = self.repetition
        if not ACCEPTS[sid](elements, component, repetition):
            explain_segment(
                elements,
                SEGMENT_SPECS[sid],
                component,
                repetition,
                segment.position,
                loop_id,
                self.errors,
            )
        if sid == "DTP":
            self._check_period(segment, loop_id)
        elif sid == "DMG" and elements[1:2] == ("D8",):
            self._check_birth_date(segment, loop_id)

    # --- placement ------------------------------------------------------------------

    def _place(self, segment: Segment) -> str:
        """Put ``segment`` in the right open loop; return that loop's id ("" if misplaced)."""
        elements = segment.elements
        sid = elements[0]
        stack = self.stack
        depth = len(stack)
        while depth:
            spec, loop, counts = stack[depth - 1]
            if (
                sid == spec.trigger
                and depth > 1
                and spec.accepts_trigger(elements)
                and (spec.loop_id != "HEADER")
            ):
                # The same loop again: close this occurrence and open a sibling.
                del stack[depth - 1 :]
                parent = stack[-1][1]
                return self._open(spec, parent, segment)
            children = spec.triggers.get(sid)
            if children:
                for child in children:
                    if child.accepts_trigger(elements):
                        del stack[depth:]
                        return self._open(child, loop, segment)
            if sid in spec.segments:
                del stack[depth:]
                used = counts.get(sid, 0) + 1
                counts[sid] = used
                loop.segments.append(segment)
                self._after_append(spec, segment, used)
                return spec.loop_id
            depth -= 1
        return self._misplaced(segment)

    def _misplaced(self, segment: Segment) -> str:
        elements = segment.elements
        sid = elements[0]
        # A trigger whose qualifier fits no loop: open the nearest loop it could start and
        # report the qualifier, which keeps the rest of the structure readable.
        for depth in range(len(self.stack), 0, -1):
            spec, loop, _ = self.stack[depth - 1]
            children = spec.triggers.get(sid)
            if children:
                child = children[0]
                del self.stack[depth:]
                self.errors.append(
                    element_error(
                        f"{sid}01 {segment.get(1)!r} is not valid in loop {child.loop_id} "
                        f"(allowed: {', '.join(sorted(child.qualifiers or ()))})",
                        "7",
                        segment_id=sid,
                        position=segment.position,
                        loop=child.loop_id,
                        element=1,
                        bad_value=segment.get(1),
                    )
                )
                return self._open(child, loop, segment)
        current = self.stack[-1][0].loop_id
        if not ((2 <= len(sid) <= 3 and sid.isalnum() and sid.isupper()) or sid.isdigit()):
            code, what = "1", "is not a segment identifier"
        elif sid not in self.grammar.known_segments:
            code, what = "6", f"is not part of the {self.set_id} transaction set"
        else:
            code, what = "2", f"is not expected in loop {current}"
        self.errors.append(
            segment_error(
                f"segment {sid!r} {what}",
                code,
                segment_id=sid[:3],
                position=segment.position,
                loop=current,
            )
        )
        return ""

    def _open(self, spec: LoopSpec, parent: _OpenLoop, segment: Segment) -> str:
        loop = _OpenLoop(spec.loop_id, [segment])
        parent.children.append(loop)
        self.stack.append((spec, loop, {}))
        return spec.loop_id

    def _after_append(self, spec: LoopSpec, segment: Segment, used: int) -> None:
        """Maximum use, loop-specific codes and loop closing for a segment just appended."""
        sid = segment.elements[0]
        if used > spec.segments[sid]:
            self.errors.append(
                segment_error(
                    f"{sid} occurs {used} times in loop {spec.loop_id}, at most "
                    f"{spec.segments[sid]}",
                    "5",
                    segment_id=sid,
                    position=segment.position,
                    loop=spec.loop_id,
                )
            )
        self._restrict(spec, segment)
        if sid == spec.closer:
            # The stack is mutated in place so the caller's reference stays valid.
            del self.stack[-1]

    def _restrict(self, spec: LoopSpec, segment: Segment) -> None:
        rules = spec.restrictions.get(segment.elements[0])
        if not rules:
            return
        for index, allowed in rules:
            value = segment.get(index)
            if value and value not in allowed:
                self.errors.append(
                    element_error(
                        f"{segment.id}{index:02d} {value!r} is not allowed in loop {spec.loop_id}",
                        "I6",
                        segment_id=segment.id,
                        position=segment.position,
                        loop=spec.loop_id,
                        element=index,
                        bad_value=value,
                    )
                )

    def _place_hl(self, segment: Segment) -> str:
        elements = segment.elements
        if len(elements) < 5:
            elements = (*elements, "", "", "", "")
        hl_id, parent_id, level = elements[1], elements[2], elements[3]
        hl_ids = self.hl_ids
        spec, allowed = self.grammar.placements.get(level, _NO_PLACEMENT)
        if parent_id:
            parent_entry = hl_ids.get(parent_id)
            # None (no such HL) is in no ``allowed`` set, so it also takes the slow path.
            parent_level = parent_entry[0] if parent_entry is not None else None
        else:
            parent_entry = None
            parent_level = ""
        if spec is None or parent_level not in allowed or hl_id != str(len(hl_ids) + 1):
            # Something is off: report it precisely (this may also invent a loop spec).
            spec = self._hl_problems(segment, hl_id, parent_id, level, spec, parent_entry)
        if parent_entry is not None:
            parent_loop = parent_entry[1]
            self.parents_seen.add(id(parent_loop))
        else:
            parent_loop = self.root
        loop = _OpenLoop(spec.loop_id, [segment])
        parent_loop.children.append(loop)
        counts: dict[str, int] = {}
        hl_ids[hl_id] = (level, loop, segment, counts)
        stack = self.stack
        del stack[1:]
        stack.append((spec, loop, counts))
        return spec.loop_id

    def _hl_problems(
        self,
        segment: Segment,
        hl_id: str,
        parent_id: str,
        level: str,
        spec: LoopSpec | None,
        parent_entry: _HLEntry | None,
    ) -> LoopSpec:
        """Report what is wrong with an HL; return the loop spec to read its level with."""
        position = segment.position
        expected_id = str(len(self.hl_ids) + 1)
        if hl_id != expected_id:
            self.errors.append(
                element_error(
                    f"HL01 should be {expected_id} (numbered from 1 in order), got {hl_id!r}",
                    "I12",
                    segment_id="HL",
                    position=position,
                    loop="",
                    element=1,
                    bad_value=hl_id,
                )
            )
        if spec is None and level in _HL_LEVELS:
            # Codes outside the X12 list are reported by the HL segment check itself.
            self.errors.append(
                element_error(
                    f"HL03 level {level!r} is not used in a {self.set_id}",
                    "7",
                    segment_id="HL",
                    position=position,
                    loop="",
                    element=3,
                    bad_value=level,
                )
            )
        if spec is None:
            # Keep reading: an unknown level becomes an empty loop nothing fits in.
            spec = LoopSpec(f"HL{level}"[:6], "HL", {})
        parent_level = parent_entry[0] if parent_entry else ""
        allowed = self.grammar.parents.get(level, frozenset())
        if parent_id and parent_entry is None:
            self.errors.append(
                element_error(
                    f"HL02 {parent_id!r} names no earlier HL",
                    "7",
                    segment_id="HL",
                    position=position,
                    loop=spec.loop_id,
                    element=2,
                    bad_value=parent_id,
                )
            )
        elif allowed and parent_level not in allowed:
            want = " or ".join(sorted(x or "none" for x in allowed))
            self.errors.append(
                segment_error(
                    f"an HL at level {level} must sit under level {want}, not "
                    f"{parent_level or 'none'}",
                    "7",
                    segment_id="HL",
                    position=position,
                    loop=spec.loop_id,
                )
            )
        return spec

    # --- checks ---------------------------------------------------------------------

    def _check_period(self, segment: Segment, loop_id: str) -> None:
        fmt, value = segment.get(2), segment.get(3)
        if not _period_ok(fmt, value):
            self.errors.append(
                element_error(
                    f"DTP03 {value!r} is not a valid {fmt} value",
                    "8",
                    segment_id="DTP",
                    position=segment.position,
                    loop=loop_id,
                    element=3,
                    bad_value=value,
                )
            )

    def _check_birth_date(self, segment: Segment, loop_id: str) -> None:
        value = segment.get(2)
        if not _birth_date_ok("D8", value):
            self.errors.append(
                element_error(
                    f"DMG02 {value!r} is not a valid CCYYMMDD date",
                    "8",
                    segment_id="DMG",
                    position=segment.position,
                    loop=loop_id,
                    element=2,
                    bad_value=value,
                )
            )

    def _check_response_only(self) -> None:
        """A 278 that is not a response (BHT02 other than 11) carries no decision (HCR) and
        no request validation (AAA): the TR3s place both in the response only."""
        root = self.transaction.root
        bht = root.first("BHT")
        if bht is None or bht.get(2) == _RESPONSE_PURPOSE:
            return
        for loop in root.walk():
            for segment in loop.segments:
                if segment.id in _RESPONSE_ONLY:
                    self.errors.append(
                        segment_error(
                            f"{segment.id} is used only in a 278 response (BHT02 11), "
                            f"not in one with BHT02 {bht.get(2)!r}",
                            "2",
                            segment_id=segment.id,
                            position=segment.position,
                            loop=loop.loop_id,
                        )
                    )

    def _check_required(self) -> None:
        grammar = self.grammar
        hl_ids = self.hl_ids
        required = grammar.required_levels
        bht = self.transaction.root.first("BHT") if grammar.purposes else None
        if bht is not None:
            purpose = bht.get(2)
            # A value outside the element's code list was already reported by its check.
            if purpose in _BHT_PURPOSES and purpose not in grammar.purposes:
                self.errors.append(
                    element_error(
                        f"BHT02 {purpose!r} is not used in this {grammar.set_id} "
                        f"(allowed: {', '.join(sorted(grammar.purposes))})",
                        "I6",
                        segment_id="BHT",
                        position=bht.position,
                        loop="HEADER",
                        element=2,
                        bad_value=purpose,
                    )
                )
        if required:
            # From the final table, not from every HL seen: a repeated HL01 replaces its entry.
            levels_seen = {entry[0] for entry in hl_ids.values()}
            response = bht is not None and bht.get(2) == _RESPONSE_PURPOSE
            if grammar.set_id == _RESPONSE_SET and response:
                required = required[:_RESPONSE_REQUIRED_LEVELS]
            for level in required:
                if level not in levels_seen:
                    loop_id = grammar.levels[level].loop_id
                    self.errors.append(
                        segment_error(
                            f"loop {loop_id} (HL level {level}) is required",
                            "I7",
                            segment_id="HL",
                            position=self.transaction.segment_count,
                            loop=loop_id,
                        )
                    )
        self._check_loop(grammar.header, self.root, self.stack[0][2])
        with_children = self.parents_seen
        levels = grammar.levels
        for level, loop, hl, counts in hl_ids.values():
            spec = levels.get(level)
            if spec is None:
                continue
            for need, is_loop in spec.required_kinds:
                # Inline for the usual case, the required child loop opened first.
                children = loop.children
                if not (is_loop and children and children[0].loop_id == need):
                    self._check_loop(spec, loop, counts)
                    break
            elements = hl.elements
            flag = elements[4] if len(elements) > 4 else ""
            if not flag:
                continue
            # Every child HL loop was attached through its HL02, which _place_hl recorded.
            has_children = id(loop) in with_children
            if (flag == "1") != has_children:
                self.errors.append(
                    element_error(
                        f"HL04 is {flag} but the level {'has' if has_children else 'has no'} "
                        "subordinate levels",
                        "7",
                        segment_id="HL",
                        position=hl.position,
                        loop=loop.loop_id,
                        element=4,
                        bad_value=flag,
                    )
                )

    def _check_loop(self, spec: LoopSpec, loop: _OpenLoop, counts: dict[str, int]) -> None:
        """Report the required segments and child loops ``loop`` lacks.

        ``counts`` holds every segment of the loop but its first (the trigger, placed
        when the loop was opened), so a required segment is looked up, not searched for.
        """
        segments = loop.segments
        for need, is_loop in spec.required_kinds:
            if is_loop:
                for child in loop.children:
                    if child.loop_id == need:
                        break
                else:
                    self._missing(spec, loop, need)
            elif need not in counts and not (segments and segments[0].elements[0] == need):
                self._missing(spec, loop, need)

    def _missing(self, spec: LoopSpec, loop: _OpenLoop, need: str) -> None:
        first = loop.segments[0] if loop.segments else None
        self.errors.append(
            segment_error(
                f"{need} is required in loop {spec.loop_id}",
                "3",
                segment_id=need[:3],
                position=first.position if first else 1,
                loop=spec.loop_id,
            )
        )
