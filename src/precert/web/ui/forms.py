"""HTML form fields to service commands, and validation errors back to the fields.

Form fields are named by their path in the command (``patient.birth_date``,
``service_lines.0.code``), so an error's location names the field to mark.
Blank optional fields are left out rather than sent as empty strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from precert.domain.appeals import AppealLevel
from precert.domain.authorization import LineOfBusiness, ServiceCategory, Sex
from precert.domain.codes import CodeSystem
from precert.domain.documentation import Questionnaire, QuestionType
from precert.domain.errors import InvalidInput
from precert.policy.model import LineFacts, Setting
from precert.services import authorizations as service
from precert.services.discover import age_on

#: How many service lines one form may carry (the aggregate allows 50).
MAX_FORM_LINES = 50
_LINE_FIELD = re.compile(r"^service_lines\.(\d+)\.")
_LIST_SPLIT = re.compile(r"[,\s]+")

ACTIONS: TypeAdapter[Any] = TypeAdapter(service.AuthorizationAction)


@dataclass
class FormErrors:
    """Messages by field name, plus ones that belong to no single field."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, location: tuple[str | int, ...], message: str) -> None:
        """Attach a message to the field at ``location`` (the first message per field wins)."""
        name = ".".join(str(p) for p in location)
        if name:
            self.fields.setdefault(name, message)
        else:
            self.general.append(message)


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "missing":
        return "required"
    return message.removeprefix("Value error, ")


def errors_of(exc: ValidationError | InvalidInput, *, drop: tuple[str, ...] = ()) -> FormErrors:
    """Field messages from a validation failure; location parts in ``drop`` are skipped."""
    errors = FormErrors()
    if isinstance(exc, InvalidInput):
        for problem in exc.problems:
            errors.add(problem.path, problem.message)
        return errors
    for error in exc.errors():
        location = tuple(p for p in error["loc"] if p not in drop)
        errors.add(location, _message(error))
    return errors


def _text(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, "", ()):
        target[key] = value


def _codes(value: str | None) -> list[str]:
    return [part for part in _LIST_SPLIT.split(value or "") if part]


def line_indexes(form: Mapping[str, str]) -> list[int]:
    """The service-line indexes present in a submitted form, in order."""
    found = {int(m.group(1)) for name in form if (m := _LINE_FIELD.match(name))}
    return sorted(i for i in found if i < MAX_FORM_LINES)


def new_authorization_payload(form: Mapping[str, str]) -> dict[str, Any]:
    """The JSON-shaped body of a NewAuthorization from the new-request form's fields."""
    member_id = _text(form, "patient.member_id")
    patient: dict[str, Any] = {"member_id": member_id}
    for name in ("id", "given_name", "family_name", "birth_date", "sex"):
        _put(patient, name, _text(form, f"patient.{name}"))
    coverage: dict[str, Any] = {"member_id": member_id}
    for name in (
        "payer_id",
        "plan",
        "line_of_business",
        "group_number",
        "state",
        "effective_from",
        "effective_to",
    ):
        _put(coverage, name, _text(form, f"coverage.{name}"))
    if "state" in coverage:
        coverage["state"] = coverage["state"].upper()
    providers: dict[str, dict[str, Any]] = {}
    for role in ("requesting_provider", "servicing_provider"):
        provider: dict[str, Any] = {}
        for name in ("npi", "name", "kind"):
            _put(provider, name, _text(form, f"{role}.{name}"))
        providers[role] = provider
    lines: list[dict[str, Any]] = []
    for index in line_indexes(form):
        prefix = f"service_lines.{index}."
        line: dict[str, Any] = {}
        for name in (
            "code_system",
            "code",
            "units",
            "service_start",
            "service_end",
            "place_of_service",
            "estimated_amount",
        ):
            _put(line, name, _text(form, prefix + name))
        if "service_start" in line and "service_end" not in line:
            line["service_end"] = line["service_start"]  # a one-day service is the usual case
        line["diagnoses"] = _codes(_text(form, prefix + "diagnoses"))
        line["modifiers"] = _codes(_text(form, prefix + "modifiers"))
        lines.append(line)
    body: dict[str, Any] = {
        "patient": patient,
        "coverage": coverage,
        **providers,
        "service_lines": lines,
    }
    for name in ("urgency", "category", "notes"):
        _put(body, name, _text(form, name))
    return body


def parse_new_authorization(
    form: Mapping[str, str],
) -> tuple[service.NewAuthorization | None, FormErrors]:
    """The command the form describes, or the errors to show beside its fields."""
    body = new_authorization_payload(form)
    try:
        return service.NewAuthorization.model_validate(body), FormErrors()
    except ValidationError as exc:
        errors = errors_of(exc)
        # The form has one member id field, shown with the patient.
        if "coverage.member_id" in errors.fields:
            errors.fields.setdefault("patient.member_id", errors.fields.pop("coverage.member_id"))
        return None, errors


def action_payload(action: str, form: Mapping[str, str], line_count: int) -> dict[str, Any]:
    """The JSON-shaped body of one state-machine action from its form on the request page."""
    body: dict[str, Any] = {"action": action}
    if action in ("reopen", "cancel", "appeal"):
        _put(body, "reason", _text(form, "reason"))
    if action == "submit":
        _put(body, "channel", _text(form, "channel"))
        _put(body, "reference", _text(form, "reference"))
    if action == "appeal":
        _put(body, "level", _text(form, "level"))
    if action == "appeal-outcome":
        _put(body, "overturned", _text(form, "overturned"))
        _put(body, "note", _text(form, "note"))
    if action == "determination":
        lines: dict[str, dict[str, Any]] = {}
        for index in range(line_count):
            prefix = f"lines.{index}."
            decision = _text(form, prefix + "decision")
            if decision is None:
                continue  # lines without a decision keep their previous one
            line: dict[str, Any] = {"decision": decision}
            for name in (
                "certification_number",
                "authorized_units",
                "valid_from",
                "valid_to",
                "reason_code",
                "reason_text",
                "authorized_code",
            ):
                _put(line, name, _text(form, prefix + name))
            lines[str(index)] = line
        body["lines"] = lines
        _put(body, "payer_reference", _text(form, "payer_reference"))
    return body


def parse_action(
    action: str, form: Mapping[str, str], line_count: int
) -> tuple[BaseModel | None, FormErrors]:
    """The action command a request-page form describes, or the errors to show with it."""
    body = action_payload(action, form, line_count)
    try:
        command: BaseModel = ACTIONS.validate_python(body)
    except ValidationError as exc:
        errors = errors_of(exc, drop=(action,))
        if action == "determination" and not body["lines"]:
            errors.general.append("choose a decision for at least one service line")
        return None, errors
    return command, FormErrors()


_DISCOVERY_NEEDS = {
    "coverage.payer_id": "the payer",
    "coverage.line_of_business": "the line of business",
    "coverage.state": "the plan state",
    "patient.birth_date": "the date of birth",
}


def discovery_facts(form: Mapping[str, str]) -> tuple[list[LineFacts], list[str]]:
    """The policy engine's facts for each complete line of a half-filled new-request form.

    Returns the facts and, when there are none, what is still missing to ask the
    question. Lines without a code or a service date are skipped; a line without a
    diagnosis is asked without one (diagnosis-conditioned rules then stay conditional).
    """
    missing = [label for name, label in _DISCOVERY_NEEDS.items() if not _text(form, name)]
    try:
        line_of_business = LineOfBusiness(_text(form, "coverage.line_of_business") or "")
        birth_date = date.fromisoformat(_text(form, "patient.birth_date") or "")
    except ValueError:
        line_of_business, birth_date = None, None
    if missing or line_of_business is None or birth_date is None:
        return [], missing or ["a valid date of birth and line of business"]
    sex_value = _text(form, "patient.sex") or Sex.UNKNOWN.value
    sex = Sex(sex_value) if sex_value in {s.value for s in Sex} else Sex.UNKNOWN
    indexes = line_indexes(form)
    category_value = _text(form, "category")
    # As the discover service does: only a single-line request lends its category to the line.
    category = (
        ServiceCategory(category_value)
        if len(indexes) == 1 and category_value in {c.value for c in ServiceCategory}
        else None
    )
    facts: list[LineFacts] = []
    for index in indexes:
        prefix = f"service_lines.{index}."
        code = (_text(form, prefix + "code") or "").upper()
        system_value = _text(form, prefix + "code_system") or CodeSystem.CPT.value
        try:
            service_date = date.fromisoformat(_text(form, prefix + "service_start") or "")
            system = CodeSystem(system_value)
            units = Decimal(_text(form, prefix + "units") or "1")
            amount = Decimal(_text(form, prefix + "estimated_amount") or "0")
        except (ValueError, ArithmeticError):
            continue
        if not code:
            continue
        setting = Setting(
            _text(form, "coverage.payer_id") or "",
            _text(form, "coverage.plan") or "",
            line_of_business,
            (_text(form, "coverage.state") or "").upper(),
            category,
            system,
            code,
            tuple(m.upper() for m in _codes(_text(form, prefix + "modifiers"))),
            _text(form, prefix + "place_of_service") or "",
        )
        diagnoses = tuple(d.upper() for d in _codes(_text(form, prefix + "diagnoses")))
        facts.append(
            LineFacts(
                setting,
                service_date,
                units,
                amount,
                age_on(birth_date, service_date),
                sex,
                diagnoses,
            )
        )
    if not facts:
        return [], ["a procedure code and a service date"]
    return facts, []


# --- documentation checklist --------------------------------------------------------------

#: Form fields of a checklist item are named ``answer.<linkId>`` (several for multi-choice).
ANSWER_PREFIX = "answer."


def questionnaire_answers(
    questionnaire: Questionnaire, form: Mapping[str, str], lists: Mapping[str, list[str]]
) -> dict[str, object]:
    """Raw answers from an item's form, for the service to validate against the questions.

    Browsers send text only, so booleans arrive as "yes"/"no" and repeating choices as
    several values; blanks are dropped (an unanswered question, not an empty answer).
    Read-only questions are context computed from the request, never taken from a form.
    """
    raw: dict[str, object] = {}
    for question in questionnaire.questions:
        if question.read_only:
            continue
        name = ANSWER_PREFIX + question.link_id
        if question.type is QuestionType.CHOICE and question.repeats:
            chosen = [v for v in lists.get(name, []) if v]
            if chosen:
                raw[question.link_id] = chosen
            continue
        value = (form.get(name) or "").strip()
        if not value:
            continue
        if question.type is QuestionType.BOOLEAN:
            raw[question.link_id] = {"yes": True, "no": False}.get(value, value)
        else:
            raw[question.link_id] = value
    return raw


def answer_field_errors(exc: InvalidInput) -> FormErrors:
    """The service's problems (``/answers/<linkId>``) on the fields that caused them."""
    errors = FormErrors()
    for problem in exc.problems:
        path = tuple(problem.path)
        if len(path) == 2 and path[0] == "answers":
            errors.add((ANSWER_PREFIX + str(path[1]),), problem.message)
        else:
            errors.general.append(problem.message)
    return errors


# --- appeal letter ------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterRequest:
    """What the drafted appeal letter argues and encloses."""

    level: AppealLevel
    clinical_rationale: str
    enclosures: tuple[str, ...]


def parse_letter(
    values: Mapping[str, str], levels: Sequence[AppealLevel]
) -> tuple[LetterRequest | None, FormErrors]:
    """The letter form: a level still open, a rationale of 20+ characters, enclosures by line."""
    errors = FormErrors()
    chosen = {level.value: level for level in levels}.get(values.get("letter_level", ""))
    if chosen is None:
        errors.add(("letter_level",), "choose an appeal level that is still open")
    rationale = values.get("clinical_rationale", "").strip()
    if not 20 <= len(rationale) <= 20000:
        errors.add(
            ("clinical_rationale",), "explain the clinical rationale (20 to 20,000 characters)"
        )
    enclosures = tuple(
        line.strip() for line in values.get("enclosures", "").splitlines() if line.strip()
    )
    if len(enclosures) > 50:
        errors.add(("enclosures",), "list at most 50 enclosures")
    if errors or chosen is None:
        return None, errors
    return LetterRequest(chosen, rationale, enclosures), errors
