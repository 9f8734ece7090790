"""Use case "does this need prior authorization?": per-line requirements from the policy engine.

Three ways in, one engine:

* ``discover`` for an ``AuthorizationRequest`` (the aggregate's lines, coverage and patient);
* ``discover_lines`` for bare ``LineFacts`` (the schedule screen and the REST endpoint);
* ``assess_hook`` for a parsed CRD hook request, including the FHIRPath gold-card criteria
  evaluated over the request's FHIR data.

Each answer carries the submission deadline: the service date minus the rule's lead time in
business days (weekends and US federal holidays skipped, via ``precert.domain.deadlines``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from precert.domain.authorization import (
    AuthorizationRequest,
    Coverage,
    LineOfBusiness,
    Patient,
    ServiceCategory,
    ServiceLine,
    Sex,
)
from precert.domain.deadlines import subtract_business_days
from precert.interop.fhir.crd import (
    CodeAssessment,
    HookRequest,
    OrderAssessment,
    order_place_of_service,
)
from precert.policy.criteria import assess
from precert.policy.engine import PolicyEngine
from precert.policy.model import Determination, LineFacts, PayerProfile, Setting


@dataclass(frozen=True)
class LineRequirement:
    """What the payer requires for one line, and by when the request must be submitted."""

    index: int
    facts: LineFacts
    determination: Determination
    submit_by: date | None

    def deadline_missed(self, today: date) -> bool:
        """Whether the lead time has already run out for a line that needs authorization."""
        return (
            self.determination.needs_auth and self.submit_by is not None and self.submit_by < today
        )


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day``."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def submit_by(determination: Determination, service_date: date, state: str | None) -> date | None:
    """The last day to submit: service date minus the lead time in business days."""
    lead = determination.lead_time_business_days
    if lead is None or not determination.needs_auth:
        return None
    return _business_days_before(service_date, lead, state)


@lru_cache(maxsize=16384)
def _business_days_before(day: date, count: int, state: str | None) -> date:
    # A schedule has few distinct (date, lead time, state) triples and many lines.
    return subtract_business_days(day, count, state)


def line_facts(
    line: ServiceLine,
    coverage: Coverage,
    patient: Patient,
    category: ServiceCategory | None = None,
) -> LineFacts:
    """The engine's view of a domain service line."""
    return LineFacts(
        Setting(
            coverage.payer_id,
            coverage.plan,
            coverage.line_of_business,
            coverage.state,
            category,
            line.code_system,
            line.code,
            line.modifiers,
            line.place_of_service,
        ),
        line.service_start,
        line.units,
        line.estimated_amount,
        age_on(patient.birth_date, line.service_start),
        patient.sex,
        line.diagnoses,
    )


def discover_lines(engine: PolicyEngine, lines: Sequence[LineFacts]) -> list[LineRequirement]:
    """Requirements for bare line facts, in order."""
    answers = engine.determine_all(lines)
    return [
        LineRequirement(
            i, facts, answer, submit_by(answer, facts.service_date, facts.setting.state)
        )
        for i, (facts, answer) in enumerate(zip(lines, answers, strict=True))
    ]


def discover(engine: PolicyEngine, request: AuthorizationRequest) -> list[LineRequirement]:
    """Requirements for every line of an authorization request.

    The request's category is given to the engine only for single-line requests; a
    multi-line request (surgery plus its DME, say) lets each code be classified.
    """
    category = request.category if len(request.service_lines) == 1 else None
    facts = [
        line_facts(line, request.coverage, request.patient, category)
        for line in request.service_lines
    ]
    return discover_lines(engine, facts)


# --- CRD hooks --------------------------------------------------------------------------

#: Coverage.type codes (Source of Payment Typology) that name a line of business.
_SOPT_LINE_OF_BUSINESS = {
    "1": LineOfBusiness.MEDICARE_ADVANTAGE,
    "2": LineOfBusiness.MEDICAID,
    "5": LineOfBusiness.COMMERCIAL,
    "6": LineOfBusiness.COMMERCIAL,
}


def resolve_payer(engine: PolicyEngine, coverage: Mapping[str, Any] | None) -> PayerProfile | None:
    """The catalog payer a FHIR Coverage names (by payer id, X12 id or display name)."""
    if not coverage:
        return None
    by_key: dict[str, PayerProfile] = {}
    for payer in engine.payer_catalog():
        by_key[payer.id] = payer
        by_key[payer.x12_payer_id] = payer
        by_key[payer.display_name.casefold()] = payer
    for payor in coverage.get("payor", []):
        if not isinstance(payor, dict):
            continue
        identifier = payor.get("identifier") or {}
        keys = [
            str(identifier.get("value", "")),
            str(payor.get("reference", "")).rstrip("/").rsplit("/", 1)[-1],
            str(payor.get("display", "")).casefold(),
        ]
        for key in keys:
            if key in by_key:
                return by_key[key]
    return None


def _coverage_setting(
    coverage: Mapping[str, Any] | None, payer: PayerProfile | None
) -> tuple[str, LineOfBusiness]:
    plan = ""
    lob = payer.lines_of_business[0] if payer else LineOfBusiness.COMMERCIAL
    if coverage:
        for item in coverage.get("class", []):
            codes = [c.get("code") for c in (item.get("type") or {}).get("coding", [])]
            if "plan" in codes:
                plan = str(item.get("name") or item.get("value") or "")
        for coding in (coverage.get("type") or {}).get("coding", []):
            code = str(coding.get("code", ""))
            candidate = _SOPT_LINE_OF_BUSINESS.get(code[:1])
            is_sopt = "sopt" in str(coding.get("system", "")).lower()
            if is_sopt and candidate and (payer is None or candidate in payer.lines_of_business):
                lob = candidate
    return plan, lob


def _patient_facts(patient: Mapping[str, Any] | None, day: date) -> tuple[int, Sex, str]:
    if not patient:
        return 0, Sex.UNKNOWN, ""
    born = patient.get("birthDate")
    age = age_on(date.fromisoformat(born[:10]), day) if isinstance(born, str) else 0
    gender = patient.get("gender")
    sex = Sex(gender) if gender in {s.value for s in Sex} else Sex.UNKNOWN
    state = ""
    for address in patient.get("address", []):
        if (
            isinstance(address, dict)
            and address.get("state")
            and not address.get("period", {}).get("end")
        ):
            state = str(address["state"]).upper()[:2]
    return age, sex, state


def assess_hook(engine: PolicyEngine, request: HookRequest, today: date) -> list[OrderAssessment]:
    """Judge every order of a CRD hook request, gold-card criteria included."""
    payer = resolve_payer(engine, request.coverage)
    plan, lob = _coverage_setting(request.coverage, payer)
    assessments: list[OrderAssessment] = []
    for order in request.orders:
        day = order.service_date or today
        age, sex, state = _patient_facts(request.patient, day)
        problems = [f"Unreadable billing code {c}; not judged." for c in order.unreadable_codes]
        if payer is None:
            problems.append(
                "The coverage's payer is not one precert has policies for; "
                "coverage requirements are indeterminate."
            )
        if not order.billing_codes:
            problems.append(f"{order.reference} carries no CPT, HCPCS or NDC billing code.")
        facts = [
            LineFacts(
                Setting(
                    payer.id if payer else "",
                    plan,
                    lob,
                    state,
                    None,
                    code.system,
                    code.code,
                    (),
                    order_place_of_service(request, order),
                ),
                day,
                order.units,
                Decimal(0),
                age,
                sex,
                order.diagnoses,
            )
            for code in order.billing_codes
        ]
        answers = engine.determine_all(facts)
        codes = tuple(
            CodeAssessment(code, answer, _gold_card(answer, request, order.resource))
            for code, answer in zip(order.billing_codes, answers, strict=True)
        )
        deadlines = [
            d
            for d in (submit_by(a, day, state or None) for a in answers if a.needs_auth)
            if d is not None
        ]
        assessments.append(
            OrderAssessment(
                order, codes, payer, min(deadlines) if deadlines else None, tuple(problems)
            )
        )
    return assessments


def _gold_card(
    answer: Determination, request: HookRequest, order: Mapping[str, Any]
) -> tuple[str, ...]:
    """Descriptions of the criteria that waive authorization for this order, if any hold."""
    if not answer.criteria or not answer.needs_auth:
        return ()
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": r}
            for r in (order, request.patient, request.coverage, request.practitioner)
            if r
        ],
    }
    variables = {
        "order": order,
        "patient": request.patient or {},
        "coverage": request.coverage or {},
        "practitioner": request.practitioner or {},
    }
    return tuple(
        result.criterion.description
        for result in (assess(c, bundle, variables) for c in answer.criteria)
        if result.satisfied
    )


def needing_auth(requirements: Iterable[LineRequirement]) -> list[LineRequirement]:
    """Only the lines that need (or may need) prior authorization."""
    return [r for r in requirements if r.determination.needs_auth]
