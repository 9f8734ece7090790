"""DTR-style FHIR Questionnaires for documentation items, pre-filled with FHIRPath.

The richest items have a hand-written Questionnaire shipped here as FHIR JSON
(``<item-id>.json``); every other item gets one generated from its title, so no
requirement is ever without a form. ``initialExpression`` (SDC) expressions run
over the request's own PAS Bundle, so what the request already says is never
typed twice. Answers go back as a QuestionnaireResponse, which PAS carries as
``supportingInfo``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

from fhirpathpy import evaluate

from precert.domain.documentation import Answer, Question, Questionnaire, QuestionType
from precert.interop.fhir.common import FhirCodecError, FhirIssue, Severity

INITIAL_EXPRESSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression"
)
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
BASE_URL = "https://precert.example/fhir/Questionnaire/"
_DIAGNOSES = (
    "entry.resource.ofType(Condition).code.coding"
    ".where(system='http://hl7.org/fhir/sid/icd-10-cm').code"
)
_SERVICES = "entry.resource.ofType(Claim).item.productOrService.coding.code"


def _problem(location: str, message: str) -> FhirCodecError:
    return FhirCodecError([FhirIssue(Severity.ERROR, location, message)])


def from_fhir(resource: Mapping[str, Any]) -> Questionnaire:
    """Read a FHIR Questionnaire (the subset precert uses), naming any unsupported item."""
    if resource.get("resourceType") != "Questionnaire":
        raise _problem("Questionnaire", "not a Questionnaire resource")
    questions: list[Question] = []
    needs_attachment = False
    for i, item in enumerate(resource.get("item", [])):
        where = f"Questionnaire.item[{i}]"
        kind = item.get("type")
        if kind == "attachment":
            needs_attachment = needs_attachment or bool(item.get("required"))
            continue
        try:
            question_type = QuestionType(kind)
        except ValueError as exc:
            raise _problem(f"{where}.type", f"item type {kind!r} is not supported") from exc
        expression = next(
            (
                e["valueExpression"]["expression"]
                for e in item.get("extension", [])
                if e.get("url") == INITIAL_EXPRESSION
            ),
            None,
        )
        minimum = next(
            (
                Decimal(str(e.get("valueInteger", e.get("valueDecimal"))))
                for e in item.get("extension", [])
                if e.get("url") == MIN_VALUE
            ),
            None,
        )
        questions.append(
            Question(
                link_id=item["linkId"],
                text=item.get("text", item["linkId"]),
                type=question_type,
                required=bool(item.get("required")),
                options=tuple(o["valueCoding"]["code"] for o in item.get("answerOption", [])),
                repeats=bool(item.get("repeats")),
                read_only=bool(item.get("readOnly")),
                initial_expression=expression,
                minimum=minimum,
            )
        )
    item_id = str(resource.get("id", ""))
    return Questionnaire(
        url=str(resource["url"]),
        version=str(resource.get("version", "1")),
        item_id=item_id,
        title=str(resource.get("title", item_id)),
        questions=tuple(questions),
        needs_attachment=needs_attachment,
    )


def to_fhir(questionnaire: Questionnaire) -> dict[str, Any]:
    """The Questionnaire as FHIR R4 JSON."""
    items: list[dict[str, Any]] = []
    for q in questionnaire.questions:
        item: dict[str, Any] = {"linkId": q.link_id, "text": q.text, "type": q.type.value}
        if q.required:
            item["required"] = True
        if q.repeats:
            item["repeats"] = True
        if q.read_only:
            item["readOnly"] = True
        if q.options:
            item["answerOption"] = [{"valueCoding": {"code": o}} for o in q.options]
        extensions: list[dict[str, Any]] = []
        if q.initial_expression:
            extensions.append(
                {
                    "url": INITIAL_EXPRESSION,
                    "valueExpression": {
                        "language": "text/fhirpath",
                        "expression": q.initial_expression,
                    },
                }
            )
        if q.minimum is not None:
            extensions.append({"url": MIN_VALUE, "valueInteger": int(q.minimum)})
        if extensions:
            item["extension"] = extensions
        items.append(item)
    if questionnaire.needs_attachment:
        items.append(
            {"linkId": "document", "text": "The document", "type": "attachment", "required": True}
        )
    return {
        "resourceType": "Questionnaire",
        "id": questionnaire.item_id,
        "url": questionnaire.url,
        "version": questionnaire.version,
        "title": questionnaire.title,
        "status": "active",
        "subjectType": ["Patient"],
        "item": items,
    }


@cache
def _shipped() -> dict[str, Questionnaire]:
    found: dict[str, Questionnaire] = {}
    for entry in files(__name__).iterdir():
        if entry.name.endswith(".json"):
            questionnaire = from_fhir(json.loads(entry.read_text(encoding="utf-8")))
            found[questionnaire.item_id] = questionnaire
    return found


def generic(item_id: str, title: str) -> Questionnaire:
    """The form for an item without a hand-written one: date, summary, the document."""
    return Questionnaire(
        url=BASE_URL + item_id,
        version="generated-1",
        item_id=item_id,
        title=title,
        questions=(
            Question(
                "diagnoses",
                "Diagnoses on the request",
                QuestionType.STRING,
                repeats=True,
                read_only=True,
                initial_expression=_DIAGNOSES,
            ),
            Question(
                "services",
                "Services requested",
                QuestionType.STRING,
                repeats=True,
                read_only=True,
                initial_expression=_SERVICES,
            ),
            Question("document-date", "Date of the document", QuestionType.DATE, required=True),
            Question(
                "summary", f"What the document shows ({title})", QuestionType.TEXT, required=True
            ),
        ),
    )


def questionnaire_for(item_id: str, title: str) -> Questionnaire:
    """The shipped Questionnaire for a documentation item, else a generated one."""
    return _shipped().get(item_id) or generic(item_id, title)


def prefill(questionnaire: Questionnaire, bundle: Mapping[str, Any]) -> dict[str, Answer]:
    """Answers computed from the request's FHIR Bundle by each initialExpression."""
    answers: dict[str, Answer] = {}
    for question in questionnaire.questions:
        if not question.initial_expression:
            continue
        values = [v for v in evaluate(dict(bundle), question.initial_expression) if v is not None]
        if not values:
            continue
        if question.repeats:
            answers[question.link_id] = tuple(str(v) for v in dict.fromkeys(values))
        elif question.type is QuestionType.DATE:
            answers[question.link_id] = date.fromisoformat(str(values[0])[:10])
        else:
            answers[question.link_id] = str(values[0])
    return answers


def _answer_values(question: Question, value: Answer) -> list[dict[str, Any]]:
    if question.type is QuestionType.CHOICE:
        return [{"valueCoding": {"code": code}} for code in value]  # type: ignore[union-attr]
    if isinstance(value, tuple):
        return [{"valueString": v} for v in value]
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    if isinstance(value, int):
        return [{"valueInteger": value}]
    if isinstance(value, Decimal):
        return [{"valueDecimal": float(value)}]
    if isinstance(value, date):
        return [{"valueDate": value.isoformat()}]
    return [{"valueString": value}]


def response(
    questionnaire: Questionnaire,
    answers: Mapping[str, Answer],
    *,
    patient_reference: str,
    authored: datetime,
    complete: bool,
) -> dict[str, Any]:
    """A QuestionnaireResponse carrying ``answers``."""
    items = [
        {"linkId": q.link_id, "text": q.text, "answer": _answer_values(q, answers[q.link_id])}
        for q in questionnaire.questions
        if q.link_id in answers
    ]
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{questionnaire.url}|{questionnaire.version}",
        "status": "completed" if complete else "in-progress",
        "subject": {"reference": patient_reference},
        "authored": authored.isoformat(),
        "item": items,
    }
