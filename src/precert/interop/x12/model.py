"""The parsed shape of an X12 document: envelopes, transaction sets, loops, segments.

These are deliberately small slotted classes: the parser creates one
``Segment`` per segment and one ``Loop`` per loop occurrence, so their cost
is the codec's cost. Typed, domain-shaped views (278 review, 271 benefits,
999 acknowledgment) are built from these in ``transactions.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from precert.interop.x12.errors import Severity, X12Error


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four separators an interchange declares in its ISA segment."""

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"


class Segment:
    """One segment: its elements (index 0 is the segment id) and 1-based position in its set.

    The elements are a tuple of strings, so a segment refers to nothing that could lead
    back to it: the native reader takes its segments out of the cyclic GC's care.
    """

    __slots__ = ("elements", "position")

    def __init__(self, elements: tuple[str, ...], position: int) -> None:
        self.elements = elements
        self.position = position

    @property
    def id(self) -> str:
        """The segment identifier, e.g. ``NM1``."""
        return self.elements[0]

    def get(self, index: int) -> str:
        """Element ``index`` (1-based), or ``""`` when absent."""
        elements = self.elements
        return elements[index] if index < len(elements) else ""

    def components(self, index: int, separator: str) -> list[str]:
        """The components of composite element ``index``."""
        value = self.get(index)
        return value.split(separator) if value else []

    def repetitions(self, index: int, separator: str) -> list[str]:
        """The repetitions of element ``index`` (one item when it does not repeat)."""
        value = self.get(index)
        if not value:
            return []
        return value.split(separator) if separator else [value]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Segment) and self.elements == other.elements

    def __hash__(self) -> int:
        return hash(tuple(self.elements))

    def __repr__(self) -> str:
        return f"Segment({'*'.join(self.elements)!r} @ {self.position})"


class Loop:
    """One loop occurrence: its own segments (trigger first) and its child loops.

    A loop is built whole, once its set has been read, and holds tuples: like a segment,
    it refers to nothing that could lead back to it, so the native reader takes the whole
    tree out of the cyclic GC's care.
    """

    __slots__ = ("children", "loop_id", "segments")

    def __init__(
        self, loop_id: str, segments: tuple[Segment, ...] = (), children: tuple[Loop, ...] = ()
    ) -> None:
        self.loop_id = loop_id
        self.segments = segments
        self.children = children

    def first(self, segment_id: str) -> Segment | None:
        """The first segment with ``segment_id`` in this loop (not its children)."""
        for segment in self.segments:
            if segment.elements[0] == segment_id:
                return segment
        return None

    def all(self, segment_id: str) -> list[Segment]:
        """Every segment with ``segment_id`` in this loop (not its children)."""
        return [s for s in self.segments if s.elements[0] == segment_id]

    def loops(self, loop_id: str) -> list[Loop]:
        """Direct child loops with ``loop_id``."""
        return [c for c in self.children if c.loop_id == loop_id]

    def child(self, loop_id: str) -> Loop | None:
        """The first direct child loop with ``loop_id``."""
        for c in self.children:
            if c.loop_id == loop_id:
                return c
        return None

    def walk(self) -> Iterator[Loop]:
        """This loop and every loop below it, depth first, in document order."""
        yield self
        for c in self.children:
            yield from c.walk()

    def signature(self) -> tuple[object, ...]:
        """A comparable form of the whole subtree (loop ids and segment elements)."""
        return (
            self.loop_id,
            tuple(tuple(s.elements) for s in self.segments),
            tuple(c.signature() for c in self.children),
        )


def new_segment(elements: tuple[str, ...], position: int) -> Segment:
    """``Segment(elements, position)`` as a plain function.

    The native reader creates one per segment; a compiled function takes its arguments
    as they are (vectorcall), where calling the compiled class first packs them in a
    tuple and then parses that.
    """
    return Segment(elements, position)


def new_loop(loop_id: str, segments: tuple[Segment, ...], children: tuple[Loop, ...]) -> Loop:
    """``Loop(...)`` as a plain function, for the native reader (see ``new_segment``)."""
    return Loop(loop_id, segments, children)


class TransactionSet:
    """One ST..SE transaction set with its loop tree and the problems found in it."""

    __slots__ = (
        "control_number",
        "convention",
        "delimiters",
        "errors",
        "root",
        "segment_count",
        "set_id",
    )

    def __init__(
        self,
        set_id: str,
        control_number: str,
        convention: str,
        delimiters: Delimiters,
    ) -> None:
        self.set_id = set_id
        self.control_number = control_number
        self.convention = convention
        self.delimiters = delimiters
        self.root = Loop("HEADER")
        self.errors: list[X12Error] = []
        self.segment_count = 0

    @property
    def accepted(self) -> bool:
        """True when no error-level problem was found in the set."""
        return not any(e.severity is Severity.ERROR for e in self.errors)


class FunctionalGroup:
    """One GS..GE functional group."""

    __slots__ = (
        "control_number",
        "date",
        "errors",
        "functional_id",
        "receiver",
        "sender",
        "time",
        "transactions",
        "version",
    )

    def __init__(self, header: list[str]) -> None:
        def at(i: int) -> str:
            return header[i] if i < len(header) else ""

        self.functional_id = at(1)
        self.sender = at(2)
        self.receiver = at(3)
        self.date = at(4)
        self.time = at(5)
        self.control_number = at(6)
        self.version = at(8)
        self.transactions: list[TransactionSet] = []
        self.errors: list[X12Error] = []


class Interchange:
    """One ISA..IEA interchange."""

    __slots__ = ("control_number", "delimiters", "errors", "groups", "header")

    def __init__(self, header: list[str], delimiters: Delimiters) -> None:
        self.header = header
        self.delimiters = delimiters
        self.control_number = header[13] if len(header) > 13 else ""
        self.groups: list[FunctionalGroup] = []
        self.errors: list[X12Error] = []

    @property
    def sender(self) -> str:
        """ISA06, trimmed."""
        return self.header[6].strip() if len(self.header) > 6 else ""

    @property
    def receiver(self) -> str:
        """ISA08, trimmed."""
        return self.header[8].strip() if len(self.header) > 8 else ""

    @property
    def version(self) -> str:
        """ISA12, the interchange control version number."""
        return self.header[12] if len(self.header) > 12 else ""


class Document:
    """Everything read from one input: its interchanges and every problem found."""

    __slots__ = ("errors", "interchanges")

    def __init__(self) -> None:
        self.interchanges: list[Interchange] = []
        self.errors: list[X12Error] = []

    @property
    def transactions(self) -> list[TransactionSet]:
        """Every transaction set, in document order."""
        return [t for i in self.interchanges for g in i.groups for t in g.transactions]

    def problems(self) -> list[X12Error]:
        """Every problem (errors and warnings) at every level, in document order."""
        found = list(self.errors)
        for interchange in self.interchanges:
            found.extend(interchange.errors)
            for group in interchange.groups:
                found.extend(group.errors)
                for transaction in group.transactions:
                    found.extend(transaction.errors)
        return found

    @property
    def rejections(self) -> list[X12Error]:
        """The error-level problems only."""
        return [p for p in self.problems() if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[X12Error]:
        """The tolerated deviations only."""
        return [p for p in self.problems() if p.severity is Severity.WARNING]

    @property
    def valid(self) -> bool:
        """True when nothing was rejected."""
        return not self.rejections

    def raise_for_errors(self) -> None:
        """Raise one ``X12Error`` carrying every error-level problem, if there is any."""
        errors = self.rejections
        if errors:
            first = errors[0]
            raise X12Error(
                first.message,
                level=first.level,
                segment_id=first.segment_id,
                position=first.position,
                loop=first.loop,
                element=first.element,
                component=first.component,
                repetition=first.repetition,
                element_ref=first.element_ref,
                bad_value=first.bad_value,
                segment_code=first.segment_code,
                element_code=first.element_code,
                set_code=first.set_code,
                group_code=first.group_code,
                interchange_code=first.interchange_code,
                set_id=first.set_id,
                control_number=first.control_number,
                errors=errors,
            )
