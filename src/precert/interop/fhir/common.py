"""Shared FHIR codec bits: issues with FHIRPath locations, the codec error, OperationOutcome.

Every FHIR codec reports what is wrong as ``FhirIssue`` values (severity, FHIRPath-style
location, message, OperationOutcome issue type) so a gateway can show them to a
coordinator and the sandbox can return them as an OperationOutcome unchanged.

R4 models: ``fhir.resources`` 8 ships R5 at the top level plus ``R4B`` and ``STU3``
subpackages, but no plain R4. PAS 2.2.1 and CRD are R4 (4.0.1); R4B (4.3.0) left the
resources PAS uses (Bundle, Claim, ClaimResponse, Coverage, Patient, Subscription,
CoverageEligibility*) structurally the same as R4, so R4B is the closest available.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from precert.domain.errors import DomainError


class Severity(StrEnum):
    """OperationOutcome.issue.severity values, worst first."""

    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


@dataclass(frozen=True)
class FhirIssue:
    """One problem found in FHIR content: where (FHIRPath), how bad, what, and its issue type."""

    severity: Severity
    location: str
    message: str
    code: str = "invalid"

    @property
    def is_error(self) -> bool:
        """Whether the issue stops the content from being accepted."""
        return self.severity in (Severity.FATAL, Severity.ERROR)


class FhirCodecError(DomainError):
    """FHIR content the codec cannot accept; ``issues`` holds every problem found."""

    def __init__(self, issues: Sequence[FhirIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__(
            "; ".join(f"{i.location}: {i.message}" for i in self.issues if i.is_error)
            or "; ".join(f"{i.location}: {i.message}" for i in self.issues)
        )


def error(location: str, message: str, code: str = "invalid") -> FhirIssue:
    """An error-severity issue."""
    return FhirIssue(Severity.ERROR, location, message, code)


def warning(location: str, message: str, code: str = "invalid") -> FhirIssue:
    """A warning-severity issue: reported, but the content is still read."""
    return FhirIssue(Severity.WARNING, location, message, code)


def raise_on_errors(issues: Iterable[FhirIssue]) -> None:
    """Raise ``FhirCodecError`` with all issues when any of them is an error."""
    collected = tuple(issues)
    if any(i.is_error for i in collected):
        raise FhirCodecError(collected)


def operation_outcome(issues: Iterable[FhirIssue]) -> dict[str, Any]:
    """An R4 OperationOutcome (as JSON) listing ``issues`` with their FHIRPath expressions."""
    entries = [
        {
            "severity": i.severity.value,
            "code": i.code,
            "diagnostics": i.message,
            "expression": [i.location],
        }
        for i in issues
    ]
    if not entries:
        # OperationOutcome.issue is 1..*: an empty result is reported as an explicit all-clear.
        entries = [{"severity": "information", "code": "informational", "diagnostics": "ok"}]
    return {"resourceType": "OperationOutcome", "issue": entries}


def fhirpath(base: str, loc: Iterable[str | int]) -> str:
    """Join a path of keys and list indexes onto ``base`` in FHIRPath style (``a.b[0].c``)."""
    out = base
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


# FHIR strings "SHALL NOT contain Unicode character points below 32, except for u0009
# (horizontal tab), u000D (carriage return) and u000A (line feed)" (R4 datatypes, string).
_FORBIDDEN_CONTROLS = frozenset(chr(c) for c in range(0x20)) - {"\t", "\r", "\n"}


def control_character_issues(value: object, location: str) -> Iterator[FhirIssue]:
    """Every string (or key) in ``value`` holding a control character FHIR forbids.

    Always an error, whatever the severity of other rules: a NUL cannot even be stored.
    """
    if isinstance(value, str):
        bad = next((c for c in value if c in _FORBIDDEN_CONTROLS), None)
        if bad is not None:
            yield error(
                location, f"a FHIR string may not hold the control character U+{ord(bad):04X}"
            )
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from control_character_issues(item, f"{location}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from control_character_issues(key, location)
            yield from control_character_issues(item, f"{location}.{key}")


def model_issues(
    resource: Mapping[str, Any], location: str, severity: Severity = Severity.ERROR
) -> list[FhirIssue]:
    """Structural R4 (R4B model) validation of one resource, as located issues."""
    controls = list(control_character_issues(dict(resource), location))
    if controls:
        return controls
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return [FhirIssue(severity, location, "resourceType is missing", "structure")]
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return [
            FhirIssue(
                severity, f"{location}.resourceType", f"unknown resourceType {resource_type!r}"
            )
        ]
    try:
        model.model_validate(dict(resource))
    except ValidationError as exc:
        return [
            FhirIssue(
                severity,
                fhirpath(location, [p for p in e["loc"] if isinstance(p, str | int)]),
                e["msg"],
                "structure",
            )
            for e in exc.errors()
        ]
    except (TypeError, ValueError) as exc:  # fhir.resources raises these for some primitives
        return [FhirIssue(severity, location, str(exc), "structure")]
    return []


# --- typed, located reads over JSON --------------------------------------------------


def as_dict(value: object) -> dict[str, Any] | None:
    """``value`` if it is a JSON object, else None."""
    return value if isinstance(value, dict) else None


def as_list(value: object) -> list[Any]:
    """``value`` if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def as_str(value: object) -> str | None:
    """``value`` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def parse_date(value: object) -> date | None:
    """A FHIR date or dateTime as a ``date`` (the day part), or None when absent or invalid."""
    text = as_str(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def parse_instant(value: object) -> datetime | None:
    """A FHIR instant/dateTime with time zone as a ``datetime``, or None."""
    text = as_str(value)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_decimal(value: object) -> Decimal | None:
    """A JSON number as an exact ``Decimal`` (via its text, so 0.1 stays 0.1), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number that reads back to the same Decimal through ``str``."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def extensions(element: Mapping[str, Any], url: str) -> list[tuple[int, dict[str, Any]]]:
    """The (index, extension) pairs of ``element.extension`` with ``url``."""
    return [
        (i, ext)
        for i, ext in enumerate(as_list(element.get("extension")))
        if isinstance(ext, dict) and ext.get("url") == url
    ]


def extension(element: Mapping[str, Any], url: str) -> dict[str, Any] | None:
    """The first extension of ``element`` with ``url``, or None."""
    found = extensions(element, url)
    return found[0][1] if found else None


def codings(concept: object) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (an empty list for anything else)."""
    cc = as_dict(concept)
    return [c for c in as_list(cc.get("coding")) if isinstance(c, dict)] if cc else []


def first_code(concept: object, systems: Iterable[str] | None = None) -> tuple[str, str] | None:
    """The first (system, code) of a CodeableConcept, optionally only from ``systems``."""
    allowed = set(systems) if systems is not None else None
    for coding in codings(concept):
        code, system = as_str(coding.get("code")), as_str(coding.get("system")) or ""
        if code and (allowed is None or system in allowed):
            return system, code
    return None


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding."""
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}
