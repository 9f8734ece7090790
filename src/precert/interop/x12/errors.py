"""The codec's one error type, shaped like a 999 acknowledgment entry.

Every problem the X12 codec finds, from a broken ISA header to a bad element
value, is an ``X12Error``. It carries exactly what a 999 needs (segment
position within the transaction set, segment id, loop, element and component
index, the IK304 / IK403 / IK502 / AK905 codes, or the TA1 note code for
interchange-level problems) plus a plain message, so one object serves the
log line, the CLI report and the generated acknowledgment.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class Level(StrEnum):
    """Where in the envelope a problem sits, which decides the 999 (or TA1) segment reporting it."""

    INTERCHANGE = "interchange"  # TA1: ISA/IEA problems
    GROUP = "group"  # AK9 / AK905-AK909: GS/GE problems
    TRANSACTION = "transaction"  # IK5 / IK502-IK506: ST/SE problems
    SEGMENT = "segment"  # IK3: segment-level syntax
    ELEMENT = "element"  # IK3 + IK4: element-level syntax


class Severity(StrEnum):
    """Errors reject what they sit in; warnings record a tolerated deviation."""

    ERROR = "error"
    WARNING = "warning"


class X12Error(Exception):
    """One problem found by the X12 codec, in the shape of a 999 IK3/IK4/IK5/AK9 entry.

    ``errors`` holds every problem when a whole document is refused at once
    (``Document.raise_for_errors``); otherwise it is just ``(self,)``.
    """

    def __init__(
        self,
        message: str,
        *,
        level: Level,
        severity: Severity = Severity.ERROR,
        segment_id: str = "",
        position: int = 0,
        loop: str = "",
        element: int = 0,
        component: int = 0,
        repetition: int = 0,
        element_ref: str = "",
        bad_value: str = "",
        segment_code: str = "",
        element_code: str = "",
        set_code: str = "",
        group_code: str = "",
        interchange_code: str = "",
        set_id: str = "",
        control_number: str = "",
        errors: Sequence[X12Error] = (),
    ) -> None:
        self.message = message
        self.level = level
        self.severity = severity
        self.segment_id = segment_id
        self.position = position
        self.loop = loop
        self.element = element
        self.component = component
        self.repetition = repetition
        self.element_ref = element_ref
        self.bad_value = bad_value
        self.segment_code = segment_code
        self.element_code = element_code
        self.set_code = set_code
        self.group_code = group_code
        self.interchange_code = interchange_code
        self.set_id = set_id
        self.control_number = control_number
        self.errors: tuple[X12Error, ...] = tuple(errors) or (self,)
        super().__init__(self.describe())

    @property
    def is_error(self) -> bool:
        """True for a rejecting problem, False for a tolerated deviation (a warning)."""
        return self.severity is Severity.ERROR

    @property
    def where(self) -> str:
        """A short locator such as ``NM1#9 (loop 2010EA) element 8``."""
        parts: list[str] = []
        if self.segment_id:
            parts.append(f"{self.segment_id}#{self.position}" if self.position else self.segment_id)
        if self.loop:
            parts.append(f"(loop {self.loop})")
        if self.element:
            parts.append(f"element {self.element:02d}")
            if self.component:
                parts.append(f"component {self.component}")
            if self.repetition:
                parts.append(f"repetition {self.repetition}")
        return " ".join(parts)

    @property
    def code(self) -> str:
        """The most specific 999/TA1 code this problem maps to."""
        return (
            self.element_code
            or self.segment_code
            or self.set_code
            or self.group_code
            or self.interchange_code
        )

    def describe(self) -> str:
        """The problem as one line: where, what, and the acknowledgment code."""
        where = self.where
        prefix = f"{where}: " if where else ""
        code = f" [{self.level.value} code {self.code}]" if self.code else ""
        extra = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        return f"{prefix}{self.message}{code}{extra}"

    def to_dict(self) -> dict[str, str | int]:
        """A JSON-friendly form for the CLI and APIs."""
        return {
            "severity": self.severity.value,
            "level": self.level.value,
            "message": self.message,
            "set_id": self.set_id,
            "control_number": self.control_number,
            "segment_id": self.segment_id,
            "position": self.position,
            "loop": self.loop,
            "element": self.element,
            "component": self.component,
            "repetition": self.repetition,
            "segment_code": self.segment_code,
            "element_code": self.element_code,
            "set_code": self.set_code,
            "group_code": self.group_code,
            "interchange_code": self.interchange_code,
        }


def element_error(
    message: str,
    code: str,
    *,
    segment_id: str,
    position: int,
    loop: str,
    element: int,
    component: int = 0,
    repetition: int = 0,
    bad_value: str = "",
) -> X12Error:
    """An IK4-shaped problem (the segment is reported with IK304 = 8)."""
    return X12Error(
        message,
        level=Level.ELEMENT,
        segment_id=segment_id,
        position=position,
        loop=loop,
        element=element,
        component=component,
        repetition=repetition,
        element_ref=f"{segment_id}{element:02d}",
        bad_value=bad_value,
        segment_code="8",
        element_code=code,
    )


def segment_error(
    message: str, code: str, *, segment_id: str, position: int, loop: str
) -> X12Error:
    """An IK3-shaped problem."""
    return X12Error(
        message,
        level=Level.SEGMENT,
        segment_id=segment_id,
        position=position,
        loop=loop,
        segment_code=code,
    )
