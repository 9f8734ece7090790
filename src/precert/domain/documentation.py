"""Documentation a payer wants, as questions to answer and documents to attach.

Each documentation item a policy rule requires has a questionnaire (DTR-style).
An item is complete when every required question has a valid answer and, if the
item needs a document, at least one attachment is filed under it. The checklist's
score is the share of items complete; what is missing is listed by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from precert.domain.errors import InvalidInput, Problem

Answer = bool | int | Decimal | date | str | tuple[str, ...]


class QuestionType(StrEnum):
    """FHIR Questionnaire item types precert uses."""

    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    STRING = "string"
    TEXT = "text"
    CHOICE = "choice"


@dataclass(frozen=True)
class Question:
    """One question; ``initial_expression`` is FHIRPath over the request's FHIR Bundle."""

    link_id: str
    text: str
    type: QuestionType
    required: bool = False
    options: tuple[str, ...] = ()
    repeats: bool = False
    read_only: bool = False
    initial_expression: str | None = None
    minimum: Decimal | None = None


@dataclass(frozen=True)
class Questionnaire:
    """The questions for one documentation item."""

    url: str
    version: str
    item_id: str
    title: str
    questions: tuple[Question, ...]
    needs_attachment: bool = True


def check_answers(questionnaire: Questionnaire, raw: Mapping[str, object]) -> dict[str, Answer]:
    """Validate raw answers (JSON values) against the questions; every problem is reported
    with the pointer ``/answers/<linkId>``."""
    by_id = {q.link_id: q for q in questionnaire.questions}
    problems: list[Problem] = []
    answers: dict[str, Answer] = {}
    for link_id, value in raw.items():
        question = by_id.get(link_id)
        if question is None:
            problems.append(
                Problem(("answers", link_id), f"no question {link_id!r} in {questionnaire.item_id}")
            )
            continue
        if value is None or value == "" or value == []:
            continue
        try:
            answers[link_id] = _typed(question, value)
        except ValueError as exc:
            problems.append(Problem(("answers", link_id), str(exc)))
    if problems:
        raise InvalidInput(problems)
    return answers


def _typed(question: Question, value: object) -> Answer:
    kind = question.type
    if kind is QuestionType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError(f"{question.text!r} takes true or false")
        return value
    if kind in (QuestionType.INTEGER, QuestionType.DECIMAL):
        if isinstance(value, bool):
            raise ValueError(f"{question.text!r} takes a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError(f"{question.text!r} takes a number, not {value!r}") from exc
        if kind is QuestionType.INTEGER and number != number.to_integral_value():
            raise ValueError(f"{question.text!r} takes a whole number, not {value!r}")
        if question.minimum is not None and number < question.minimum:
            raise ValueError(f"{question.text!r} must be at least {question.minimum}")
        return int(number) if kind is QuestionType.INTEGER else number
    if kind is QuestionType.DATE:
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise ValueError(f"{question.text!r} takes a date (YYYY-MM-DD), not {value!r}") from exc
    if kind is QuestionType.CHOICE:
        chosen = tuple(value) if isinstance(value, list | tuple) else (str(value),)
        if len(chosen) > 1 and not question.repeats:
            raise ValueError(f"{question.text!r} takes one choice")
        unknown = [c for c in chosen if c not in question.options]
        if unknown:
            raise ValueError(
                f"{unknown[0]!r} is not a choice of {question.text!r}: "
                f"{', '.join(question.options)}"
            )
        return tuple(str(c) for c in chosen)
    if question.repeats:
        values = value if isinstance(value, list | tuple) else [value]
        return tuple(_text(question, v) for v in values)
    if isinstance(value, list | tuple | dict):
        raise ValueError(f"{question.text!r} takes one text answer")
    return _text(question, value)


def _text(question: Question, value: object) -> str:
    text = str(value).strip()
    if len(text) > 20000:
        raise ValueError(f"{question.text!r} is limited to 20,000 characters")
    return text


@dataclass(frozen=True)
class ItemProgress:
    """How far one documentation item is."""

    item_id: str
    title: str
    kind: str
    missing_answers: tuple[str, ...]  # the texts of required questions still unanswered
    attachments: int
    needs_attachment: bool

    @property
    def complete(self) -> bool:
        """Every required answer given and, if needed, a document attached."""
        return not self.missing_answers and (self.attachments > 0 or not self.needs_attachment)


def item_progress(
    questionnaire: Questionnaire, kind: str, answers: Mapping[str, Answer], attachments: int
) -> ItemProgress:
    """Progress of one item from its answers and attachment count."""
    missing = tuple(
        q.text for q in questionnaire.questions if q.required and q.link_id not in answers
    )
    return ItemProgress(
        questionnaire.item_id,
        questionnaire.title,
        kind,
        missing,
        attachments,
        questionnaire.needs_attachment,
    )


@dataclass(frozen=True)
class Checklist:
    """Every documentation item a request needs, and the share complete."""

    items: tuple[ItemProgress, ...]

    @property
    def score(self) -> Decimal:
        """Share of items complete, 0 to 1 (1 when nothing is required)."""
        if not self.items:
            return Decimal(1)
        done = sum(1 for item in self.items if item.complete)
        return (Decimal(done) / Decimal(len(self.items))).quantize(Decimal("0.01"))

    @property
    def missing(self) -> tuple[str, ...]:
        """Human-readable list of what is still missing."""
        found: list[str] = []
        for item in self.items:
            found.extend(f"{item.title}: {text}" for text in item.missing_answers)
            if item.needs_attachment and item.attachments == 0:
                found.append(f"{item.title}: attach the document")
        return tuple(found)


def checklist(progress: Sequence[ItemProgress]) -> Checklist:
    """A checklist over items (one entry per item id, first wins)."""
    seen: dict[str, ItemProgress] = {}
    for item in progress:
        seen.setdefault(item.item_id, item)
    return Checklist(tuple(seen.values()))


def answers_to_json(answers: Mapping[str, Answer]) -> dict[str, object]:
    """Answers as JSON values (dates ISO, decimals as strings, choices as lists)."""
    encoded: dict[str, object] = {}
    for link_id, value in answers.items():
        if isinstance(value, tuple):
            encoded[link_id] = list(value)
        elif isinstance(value, date | Decimal):
            encoded[link_id] = str(value) if isinstance(value, Decimal) else value.isoformat()
        else:
            encoded[link_id] = value
    return encoded


# --- attachments ------------------------------------------------------------------------

#: Documents payers accept as attachments, recognised by their first bytes, not by the name.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """A stored document (its bytes are kept by the adapter, checked by SHA-256)."""

    id: str
    authorization_id: str
    item_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str


def attachment_type(filename: str, content: bytes, max_bytes: int = MAX_ATTACHMENT_BYTES) -> str:
    """The content type of an upload, decided by its bytes; refuses anything else.

    Accepts PDF, PNG, JPEG, TIFF and HL7 CDA (XML whose root is ClinicalDocument).
    """
    problems: list[Problem] = []
    if not content:
        problems.append(Problem(("file",), f"{filename!r} is empty"))
    elif len(content) > max_bytes:
        problems.append(
            Problem(
                ("file",), f"{filename!r} is {len(content):,} bytes; the limit is {max_bytes:,}"
            )
        )
    if problems:
        raise InvalidInput(problems)
    for signature, media_type in _SIGNATURES:
        if content.startswith(signature):
            return media_type
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") and b"ClinicalDocument" in head and b"urn:hl7-org:v3" in head:
        return "application/cda+xml"
    raise InvalidInput(
        [
            Problem(
                ("file",),
                f"{filename!r} is not a PDF, PNG, JPEG, TIFF or CDA "
                "document (judged by its content, not its name)",
            )
        ]
    )
