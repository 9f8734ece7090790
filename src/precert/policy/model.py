"""The policy vocabulary: packs, rules, what a rule matches and what it yields.

A policy pack is a versioned document published by one authority at one layer
(federal, state, payer, plan). Its rules say, for service lines that match, what
the CRD coverage information is (``covered``, ``pa-needed``, ``doc-needed``), which
documents the payer wants, how early to submit, how fast the payer must decide,
how long an approval lasts, and which FHIRPath criteria exempt the line (gold card).

Everything here is an immutable value; ``precert.policy.loader`` builds them from
YAML and ``precert.policy.engine`` compiles them into indexed matchers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import NamedTuple

from precert.domain.authorization import LineOfBusiness, ServiceCategory, Sex
from precert.domain.codes import CodeSystem


class Layer(IntEnum):
    """Who published a pack; a higher value is more specific and overrides a lower one."""

    FEDERAL = 0
    STATE = 1
    PAYER = 2
    PLAN = 3

    @property
    def label(self) -> str:
        """The layer's name as packs spell it."""
        return self.name.lower()


class Covered(StrEnum):
    """CRD ``covered``: whether the service is a covered benefit."""

    COVERED = "covered"
    NOT_COVERED = "not-covered"
    CONDITIONAL = "conditional"
    INDETERMINATE = "indeterminate"


class PaNeeded(StrEnum):
    """CRD ``pa-needed``: whether prior authorization is required."""

    NO_AUTH = "no-auth"
    AUTH_NEEDED = "auth-needed"
    SATISFIED = "satisfied"
    PERFORMPA = "performpa"
    CONDITIONAL = "conditional"
    INDETERMINATE = "indeterminate"


class DocNeeded(StrEnum):
    """CRD ``doc-needed``: whether (and which kind of) documentation is required."""

    NO_DOC = "no-doc"
    CLINICAL = "clinical"
    ADMIN = "admin"
    PATIENT = "patient"
    CONDITIONAL = "conditional"
    INDETERMINATE = "indeterminate"


class DocPurpose(StrEnum):
    """CRD ``doc-purpose``: when the documentation is needed."""

    WITH_PA = "withpa"
    WITH_CLAIM = "withclaim"
    WITH_ORDER = "withorder"
    RETAIN_DOC = "retain-doc"
    OR = "OR"


class InfoNeeded(StrEnum):
    """CRD ``info-needed``: information the payer needs before it can answer definitively."""

    PERFORMER = "performer"
    LOCATION = "location"
    TIMEFRAME = "timeframe"
    CONTRACT_WINDOW = "contract-window"
    DETAIL_CODE = "detail-code"
    OTHER = "OTH"


#: A range end that sorts after every code of the same length (codes are [0-9A-Z]).
_AFTER_EVERY_CODE = "\x7f"


@dataclass(frozen=True, order=True)
class CodeRange:
    """An inclusive range of procedure codes of one format, such as ``70551-70553``."""

    low: str
    high: str

    def __contains__(self, code: object) -> bool:
        return (
            isinstance(code, str) and len(code) == len(self.low) and self.low <= code <= self.high
        )

    @property
    def stop(self) -> str:
        """The smallest string sorting after every code in the range (half-open upper bound)."""
        return self.high + _AFTER_EVERY_CODE

    def __str__(self) -> str:
        return self.low if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True)
class NumberRange:
    """An inclusive numeric window; either end may be open."""

    minimum: Decimal | None = None
    maximum: Decimal | None = None

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float | Decimal):
            return False
        return (self.minimum is None or value >= self.minimum) and (
            self.maximum is None or value <= self.maximum
        )


@dataclass(frozen=True)
class DateWindow:
    """The days a rule or pack is in force: ``start`` inclusive, ``end`` inclusive, open if None."""

    start: date | None = None
    end: date | None = None

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def intersect(self, other: DateWindow) -> DateWindow:
        """The days both windows are in force."""
        starts = [d for d in (self.start, other.start) if d is not None]
        ends = [d for d in (self.end, other.end) if d is not None]
        return DateWindow(max(starts) if starts else None, min(ends) if ends else None)


@dataclass(frozen=True)
class DiagnosisSet:
    """Diagnoses a rule applies to: codes or code prefixes, category ranges, chapters."""

    prefixes: tuple[str, ...] = ()
    ranges: tuple[CodeRange, ...] = ()
    chapters: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    """What a rule applies to; an empty field matches anything."""

    payers: frozenset[str] = frozenset()
    plans: frozenset[str] = frozenset()
    lines_of_business: frozenset[LineOfBusiness] = frozenset()
    states: frozenset[str] = frozenset()
    categories: frozenset[ServiceCategory] = frozenset()
    code_system: CodeSystem | None = None
    codes: frozenset[str] = frozenset()
    code_ranges: tuple[CodeRange, ...] = ()
    modifiers: frozenset[str] = frozenset()
    places_of_service: frozenset[str] = frozenset()
    units: NumberRange | None = None
    amount: NumberRange | None = None
    age: NumberRange | None = None
    sexes: frozenset[Sex] = frozenset()
    diagnoses: DiagnosisSet | None = None
    service_dates: DateWindow = DateWindow()

    @property
    def has_codes(self) -> bool:
        """Whether the rule names codes (and so is indexed by code)."""
        return bool(self.codes or self.code_ranges)

    @property
    def specificity(self) -> int:
        """How many dimensions the rule constrains: a tie-breaker within one layer and priority."""
        return sum(
            1
            for present in (
                self.payers,
                self.plans,
                self.lines_of_business,
                self.states,
                self.categories,
                self.code_system,
                self.has_codes,
                self.modifiers,
                self.places_of_service,
                self.units,
                self.amount,
                self.age,
                self.sexes,
                self.diagnoses,
            )
            if present
        )


@dataclass(frozen=True)
class DocumentationItem:
    """One document the payer wants; ``id`` is stable so checklists can reference it."""

    id: str
    title: str
    kind: DocNeeded = DocNeeded.CLINICAL


@dataclass(frozen=True)
class DecisionTimeframe:
    """How long the payer has to decide: expedited hours, standard days, extension days."""

    expedited_hours: int
    standard_days: int
    extension_days: int = 0


@dataclass(frozen=True)
class ApprovalValidity:
    """How long an approval lasts and how many units it covers."""

    days: int
    units: Decimal | None = None


@dataclass(frozen=True)
class Criterion:
    """An auto-approval or gold-card criterion: a FHIRPath expression over the request's data.

    The expression is evaluated against a Bundle of the request's FHIR resources,
    with ``%order``, ``%patient``, ``%coverage`` and ``%practitioner`` bound; it is
    satisfied when it yields exactly ``true``.
    """

    id: str
    description: str
    expression: str
    gold_card: bool = False


@dataclass(frozen=True)
class Outcome:
    """What a rule yields for the lines it matches; None means "leave to other rules"."""

    covered: Covered | None = None
    pa_needed: PaNeeded | None = None
    doc_needed: DocNeeded | None = None
    doc_purposes: tuple[DocPurpose, ...] | None = None
    info_needed: tuple[InfoNeeded, ...] | None = None
    documentation: tuple[DocumentationItem, ...] | None = None
    lead_time_business_days: int | None = None
    decision_timeframe: DecisionTimeframe | None = None
    approval_validity: ApprovalValidity | None = None
    criteria: tuple[Criterion, ...] | None = None
    note: str | None = None


@dataclass(frozen=True)
class Rule:
    """One policy statement: when ``match`` holds, ``outcome`` applies."""

    id: str
    pack_id: str
    layer: Layer
    description: str
    match: Match
    outcome: Outcome
    priority: int = 0
    order: int = 0
    source: str | None = None

    @property
    def precedence(self) -> tuple[bool, int, int, int, int]:
        """Sort key: later (greater) overrides earlier, field by field.

        A negative priority marks a fallback (a payer's "everything else" rule): it
        ranks below every non-negative rule of every layer, so a payer's catch-all
        never overrides a state rule that names the service.
        """
        return (
            self.priority >= 0,
            int(self.layer),
            self.priority,
            self.match.specificity,
            self.order,
        )


@dataclass(frozen=True)
class PayerProfile:
    """A payer as its pack describes it: the catalog entry the API and UI show."""

    id: str
    display_name: str
    prior_auth_phone: str
    lines_of_business: tuple[LineOfBusiness, ...]
    x12_payer_id: str
    lead_time_business_days: dict[ServiceCategory, int]
    service_categories: tuple[ServiceCategory, ...]
    fictional: bool
    website: str | None = None


@dataclass(frozen=True)
class PackInfo:
    """A pack's metadata."""

    id: str
    version: str
    title: str
    publisher: str
    source: str
    layer: Layer
    effective: DateWindow
    fictional: bool
    path: str


@dataclass(frozen=True)
class PolicyPack:
    """A loaded pack: metadata, optional payer profile, code classification and rules."""

    info: PackInfo
    rules: tuple[Rule, ...]
    payer: PayerProfile | None = None
    classification: dict[ServiceCategory, tuple[CodeRange, ...]] = field(default_factory=dict)


class Setting(NamedTuple):
    """Who pays for what, where: the facts many lines of a schedule share.

    Lines with equal settings have the same candidate rules, so the engine memoizes
    on the setting. ``category`` may be None, in which case the engine classifies the code.
    """

    payer_id: str
    plan: str
    line_of_business: LineOfBusiness
    state: str
    category: ServiceCategory | None
    code_system: CodeSystem
    code: str
    modifiers: tuple[str, ...]
    place_of_service: str


class LineFacts(NamedTuple):
    """The facts about one service line that rules match on: its setting and the rest."""

    setting: Setting
    service_date: date
    units: Decimal
    amount: Decimal
    age: int
    sex: Sex
    diagnoses: tuple[str, ...]


@dataclass(frozen=True)
class Determination:
    """The engine's answer for one line: CRD coverage information plus the rules that decided."""

    covered: Covered
    pa_needed: PaNeeded
    doc_needed: DocNeeded | None
    doc_purposes: tuple[DocPurpose, ...]
    info_needed: tuple[InfoNeeded, ...]
    documentation: tuple[DocumentationItem, ...]
    lead_time_business_days: int | None
    decision_timeframe: DecisionTimeframe | None
    approval_validity: ApprovalValidity | None
    criteria: tuple[Criterion, ...]
    notes: tuple[str, ...]
    category: ServiceCategory | None
    rule_ids: tuple[str, ...]
    deciding_rule: str | None
    deciding_layer: Layer | None

    @property
    def needs_auth(self) -> bool:
        """Whether a prior-authorization request must (or may have to) be made."""
        return self.pa_needed in (PaNeeded.AUTH_NEEDED, PaNeeded.PERFORMPA, PaNeeded.CONDITIONAL)
