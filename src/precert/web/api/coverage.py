"""``POST /v1/coverage-requirements``: does this set of lines need prior authorization?

The body names one coverage, the patient facts rules use (birth date, sex) and up to
50 service lines; the answer gives, per line, the CRD coverage information, the
documentation the payer wants, the submission deadline and the rules that decided.
Unknown payers are refused with the catalog of known ones.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from precert.domain.access import Permission
from precert.domain.authorization import Icd10cm, LineOfBusiness, ServiceCategory, Sex
from precert.domain.codes import (
    CodeSystem,
    check_modifier,
    check_place_of_service,
    check_procedure_code,
)
from precert.domain.errors import InvalidInput, Problem
from precert.policy.model import LineFacts, Setting
from precert.services.discover import LineRequirement, age_on, discover_lines
from precert.web.deps import CurrentAccess, PrecertDep

router = APIRouter(tags=["coverage-requirements"])
_Strict = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CoverageIn(BaseModel):
    """The insurance the lines would be billed to."""

    model_config = _Strict
    payer_id: str = Field(min_length=1, max_length=64)
    plan: str = Field(default="", max_length=120)
    line_of_business: LineOfBusiness
    state: str = Field(pattern=r"^[A-Z]{2}$")


class PatientIn(BaseModel):
    """The patient facts rules may test."""

    model_config = _Strict
    birth_date: date
    sex: Sex = Sex.UNKNOWN


class LineIn(BaseModel):
    """One service line to judge."""

    model_config = _Strict
    code_system: CodeSystem
    code: str = Field(min_length=1, max_length=13)
    modifiers: tuple[Annotated[str, AfterValidator(check_modifier)], ...] = Field(
        default=(), max_length=4
    )
    place_of_service: Annotated[str, AfterValidator(check_place_of_service)]
    service_date: date
    units: Decimal = Field(default=Decimal(1), gt=0, max_digits=9, decimal_places=3)
    amount: Decimal = Field(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    diagnoses: tuple[Icd10cm, ...] = Field(default=(), max_length=12)
    category: ServiceCategory | None = None


class CoverageRequirementsIn(BaseModel):
    """A coverage, a patient and the lines to judge."""

    model_config = _Strict
    coverage: CoverageIn
    patient: PatientIn
    lines: list[LineIn] = Field(min_length=1, max_length=50)


class DocumentOut(BaseModel):
    """One document the payer wants, by stable id."""

    id: str
    title: str
    kind: str


class CriterionOut(BaseModel):
    """A gold-card or auto-approval criterion (FHIRPath over the request's FHIR data)."""

    id: str
    description: str
    fhirpath: str
    gold_card: bool


class LineRequirementOut(BaseModel):
    """What the payer requires for one line."""

    index: int
    category: ServiceCategory | None
    covered: str
    pa_needed: str
    doc_needed: str | None
    doc_purpose: list[str]
    documentation: list[DocumentOut]
    lead_time_business_days: int | None
    submit_by: date | None
    deadline_missed: bool
    decision_timeframe_expedited_hours: int | None
    decision_timeframe_standard_days: int | None
    decision_timeframe_extension_days: int | None
    approval_validity_days: int | None
    approval_validity_units: Decimal | None
    criteria: list[CriterionOut]
    notes: list[str]
    rule_ids: list[str]
    deciding_rule: str | None
    deciding_layer: str | None


class CoverageRequirementsOut(BaseModel):
    """The per-line answer, in the order the lines were given."""

    payer_id: str
    payer_name: str
    prior_auth_phone: str
    lines: list[LineRequirementOut]


def _line_out(found: LineRequirement, today: date) -> LineRequirementOut:
    d = found.determination
    timeframe, validity = d.decision_timeframe, d.approval_validity
    return LineRequirementOut(
        index=found.index,
        category=d.category,
        covered=d.covered.value,
        pa_needed=d.pa_needed.value,
        doc_needed=d.doc_needed.value if d.doc_needed else None,
        doc_purpose=[p.value for p in d.doc_purposes],
        documentation=[
            DocumentOut(id=i.id, title=i.title, kind=i.kind.value) for i in d.documentation
        ],
        lead_time_business_days=d.lead_time_business_days,
        submit_by=found.submit_by,
        deadline_missed=found.deadline_missed(today),
        decision_timeframe_expedited_hours=timeframe.expedited_hours if timeframe else None,
        decision_timeframe_standard_days=timeframe.standard_days if timeframe else None,
        decision_timeframe_extension_days=timeframe.extension_days if timeframe else None,
        approval_validity_days=validity.days if validity else None,
        approval_validity_units=validity.units if validity else None,
        criteria=[
            CriterionOut(
                id=c.id, description=c.description, fhirpath=c.expression, gold_card=c.gold_card
            )
            for c in d.criteria
        ],
        notes=list(d.notes),
        rule_ids=list(d.rule_ids),
        deciding_rule=d.deciding_rule,
        deciding_layer=d.deciding_layer.label if d.deciding_layer is not None else None,
    )


@router.post("/v1/coverage-requirements")
def coverage_requirements(
    body: CoverageRequirementsIn, precert: PrecertDep, access: CurrentAccess
) -> CoverageRequirementsOut:
    """Per-line prior-authorization requirements for one coverage."""
    access.require(Permission.DISCOVER_REQUIREMENTS)
    engine = precert.policy
    payer = engine.payers.get(body.coverage.payer_id)
    problems: list[Problem] = []
    if payer is None:
        known = ", ".join(sorted(engine.payers))
        problems.append(Problem(("coverage", "payer_id"), f"unknown payer; known payers: {known}"))
    codes: list[str] = []
    for i, line in enumerate(body.lines):
        try:
            codes.append(check_procedure_code(line.code_system, line.code))
        except ValueError as exc:
            problems.append(Problem(("lines", i, "code"), str(exc)))
    if problems or payer is None:
        raise InvalidInput(problems)
    facts = [
        LineFacts(
            Setting(
                payer.id,
                body.coverage.plan,
                body.coverage.line_of_business,
                body.coverage.state,
                line.category,
                line.code_system,
                code,
                line.modifiers,
                line.place_of_service,
            ),
            line.service_date,
            line.units,
            line.amount,
            age_on(body.patient.birth_date, line.service_date),
            body.patient.sex,
            line.diagnoses,
        )
        for line, code in zip(body.lines, codes, strict=True)
    ]
    today = precert.clock.now().date()
    return CoverageRequirementsOut(
        payer_id=payer.id,
        payer_name=payer.display_name,
        prior_auth_phone=payer.prior_auth_phone,
        lines=[_line_out(found, today) for found in discover_lines(engine, facts)],
    )
