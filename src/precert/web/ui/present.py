"""How the screens word things: labels for statuses, categories and events, the work queue's
rows, and the plain-language status a patient reads. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from precert.domain.appeals import SEED_APPEAL_DEFAULTS, AppealLevel
from precert.domain.authorization import (
    AuthorizationRequest,
    Decision,
    ServiceCategory,
    Status,
    Urgency,
)
from precert.domain.deadlines import (
    Deadline,
    DeadlineKind,
    approval_validity_end,
    decision_due,
    next_deadline,
)
from precert.domain.documentation import Answer, Question, Questionnaire, QuestionType
from precert.domain.ledger import LedgerEntry
from precert.domain.tenancy import Organization, Payer
from precert.services.documentation import DocumentationItemView, DocumentationView

#: Pending amounts whose service starts within this many days are revenue at risk (issue 7).
AT_RISK_HORIZON = timedelta(days=14)

STATUS_LABELS: Mapping[Status, str] = {
    Status.DRAFT: "Draft",
    Status.READY: "Ready to submit",
    Status.SUBMITTED: "Submitted",
    Status.PENDED: "Pended",
    Status.APPROVED: "Approved",
    Status.PARTIALLY_APPROVED: "Partially approved",
    Status.MODIFIED: "Approved with changes",
    Status.DENIED: "Denied",
    Status.CANCELLED: "Cancelled",
    Status.EXPIRED: "Expired",
    Status.APPEAL_FIRST_LEVEL: "Appeal: first level",
    Status.APPEAL_PEER_TO_PEER: "Appeal: peer-to-peer",
    Status.APPEAL_SECOND_LEVEL: "Appeal: second level",
    Status.APPEAL_EXTERNAL_REVIEW: "Appeal: external review",
}

#: The badge tone of each status: what the coordinator should feel at a glance.
STATUS_TONES: Mapping[Status, str] = {
    Status.DRAFT: "neutral",
    Status.READY: "info",
    Status.SUBMITTED: "info",
    Status.PENDED: "warn",
    Status.APPROVED: "good",
    Status.PARTIALLY_APPROVED: "warn",
    Status.MODIFIED: "warn",
    Status.DENIED: "bad",
    Status.CANCELLED: "neutral",
    Status.EXPIRED: "neutral",
    Status.APPEAL_FIRST_LEVEL: "warn",
    Status.APPEAL_PEER_TO_PEER: "warn",
    Status.APPEAL_SECOND_LEVEL: "warn",
    Status.APPEAL_EXTERNAL_REVIEW: "warn",
}

#: Statuses someone still has to act on or watch: the work queue's default.
OPEN_STATUSES: tuple[Status, ...] = (
    Status.DRAFT,
    Status.READY,
    Status.SUBMITTED,
    Status.PENDED,
    Status.DENIED,
    Status.PARTIALLY_APPROVED,
    Status.MODIFIED,
    Status.APPEAL_FIRST_LEVEL,
    Status.APPEAL_PEER_TO_PEER,
    Status.APPEAL_SECOND_LEVEL,
    Status.APPEAL_EXTERNAL_REVIEW,
)
_AWAITING_PAYER = (Status.DRAFT, Status.READY, Status.SUBMITTED, Status.PENDED)
_STATUS_VALUES = frozenset(s.value for s in Status)

CATEGORY_LABELS: Mapping[ServiceCategory, str] = {
    ServiceCategory.ELECTIVE_SURGERY: "Elective surgery",
    ServiceCategory.ADVANCED_IMAGING: "Advanced imaging",
    ServiceCategory.SPECIALTY_DRUG: "Specialty drug",
    ServiceCategory.DME: "Durable medical equipment",
    ServiceCategory.BEHAVIORAL_HEALTH: "Behavioral health",
    ServiceCategory.INPATIENT_ADMISSION: "Inpatient admission",
    ServiceCategory.OTHER: "Other service",
}

#: What a patient reads for each category (CPT descriptions are AMA-licensed: none shipped).
CATEGORY_PLAIN: Mapping[ServiceCategory, str] = {
    ServiceCategory.ELECTIVE_SURGERY: "a planned surgery",
    ServiceCategory.ADVANCED_IMAGING: "an imaging test (such as an MRI, CT or PET scan)",
    ServiceCategory.SPECIALTY_DRUG: "a specialty medicine",
    ServiceCategory.DME: "medical equipment",
    ServiceCategory.BEHAVIORAL_HEALTH: "behavioral health care",
    ServiceCategory.INPATIENT_ADMISSION: "a hospital stay",
    ServiceCategory.OTHER: "a medical service",
}

DECISION_LABELS: Mapping[Decision, str] = {
    Decision.APPROVED: "Approved",
    Decision.MODIFIED: "Approved with changes",
    Decision.DENIED: "Denied",
    Decision.PENDED: "Pended",
    Decision.CANCELLED: "Cancelled",
}

APPEAL_LABELS: Mapping[AppealLevel, str] = {
    AppealLevel.FIRST_LEVEL: "First-level appeal",
    AppealLevel.PEER_TO_PEER: "Peer-to-peer review",
    AppealLevel.SECOND_LEVEL: "Second-level appeal",
    AppealLevel.EXTERNAL_REVIEW: "External (independent) review",
}

_EVENT_LABELS: Mapping[str, str] = {
    "authorization.created": "Request created",
    "authorization.ready": "Marked ready to submit",
    "authorization.draft": "Reopened for edits",
    "authorization.submitted": "Submitted to the payer",
    "authorization.determination_recorded": "Determination recorded",
    "authorization.cancelled": "Cancelled",
    "authorization.expired": "Approval expired",
    "authorization.approved": "Approved on appeal",
    "authorization.denied": "Denial upheld on appeal",
    "authorization.appeal_first_level": "First-level appeal filed",
    "authorization.appeal_peer_to_peer": "Peer-to-peer review requested",
    "authorization.appeal_second_level": "Second-level appeal filed",
    "authorization.appeal_external_review": "External review requested",
    "authorization.documentation_attached": "Documentation attached",
    "authorization.document_attached": "Document attached",
    "authorization.documentation_updated": "Checklist answers saved",
    "authorization.eligibility_checked": "Eligibility verified with the payer",
    "authorization.appeal_letter_drafted": "Appeal letter drafted",
    "authorization.peer_to_peer_scheduled": "Peer-to-peer call scheduled",
    "authorization.peer_to_peer_held": "Peer-to-peer call held",
}

_PAYLOAD_LABELS: Mapping[str, str] = {
    "channel": "Channel",
    "attempt_key": "Reference",
    "reason": "Reason",
    "code": "Code",
    "level": "Level",
    "note": "Note",
    "payer_reference": "Payer reference",
    "overturned": "Overturned",
    "item": "Checklist item",
    "content_type": "Type",
}


def status_label(status: Status | str) -> str:
    """A status as coordinators say it."""
    return STATUS_LABELS[Status(status)]


def money(amount: Decimal | float | int) -> str:
    """US dollars without cents: ``$1,850``."""
    return f"${Decimal(amount):,.0f}"


def local(moment: datetime, tz: ZoneInfo) -> str:
    """An instant in the organization's timezone, e.g. ``Mar 2, 2026 8:30 AM``."""
    at = moment.astimezone(tz)
    return f"{at:%b} {at.day}, {at.year} {at.hour % 12 or 12}:{at:%M} {at:%p}"


def day(value: date) -> str:
    """A date as ``Mar 20, 2026``."""
    return f"{value:%b} {value.day}, {value.year}"


def long_day(value: date) -> str:
    """A date as a patient reads it: ``Friday, March 20, 2026``."""
    return f"{value:%A, %B} {value.day}, {value.year}"


# --- work queue -----------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    """One request as the work queue lists it."""

    request: AuthorizationRequest
    payer_name: str
    deadline: Deadline | None
    revenue_at_risk: Decimal

    @property
    def deadline_label(self) -> str:
        """Which clock the next deadline belongs to."""
        if self.deadline is None:
            return ""
        return {
            DeadlineKind.SUBMISSION: "Submit by",
            DeadlineKind.DECISION: "Decision due",
            DeadlineKind.APPROVAL_EXPIRY: "Approval ends",
        }[self.deadline.kind]


def revenue_at_risk(request: AuthorizationRequest, today: date) -> Decimal:
    """The request's amount at risk: pending with service within 14 days, or denied."""
    if request.status in _AWAITING_PAYER and request.first_service_date - today <= AT_RISK_HORIZON:
        return request.total_amount
    if request.status is Status.DENIED:
        return request.total_amount
    if request.status in (Status.PARTIALLY_APPROVED, Status.MODIFIED):
        return sum(
            (
                line.estimated_amount
                for line in request.service_lines
                if line.determination and line.determination.decision is Decision.DENIED
            ),
            Decimal(0),
        )
    return Decimal(0)


def queue_rows(
    requests: Sequence[AuthorizationRequest],
    payers: Mapping[str, Payer],
    now: datetime,
    tz: ZoneInfo,
    sort: str,
    lead_times: Mapping[str, int],
) -> list[QueueRow]:
    """Rows for the queue, sorted by next deadline (soonest first) or revenue at risk.

    ``lead_times`` gives each request's submission lead time in business days (by id).
    """
    today = now.astimezone(tz).date()
    rows = [
        QueueRow(
            request=r,
            payer_name=payers[r.coverage.payer_id].name
            if r.coverage.payer_id in payers
            else r.coverage.payer_id,
            deadline=next_deadline(r, now, tz=tz, lead_time_business_days=lead_times.get(r.id, 0)),
            revenue_at_risk=revenue_at_risk(r, today),
        )
        for r in requests
    ]
    if sort == "revenue":
        rows.sort(key=lambda row: (-row.revenue_at_risk, row.request.first_service_date))
    else:
        far = datetime.max.replace(tzinfo=tz)
        rows.sort(key=lambda row: (row.deadline.due if row.deadline else far, row.request.id))
    return rows


# --- timeline -------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineItem:
    """One event of a request's history, worded for the request page."""

    title: str
    at: datetime
    actor: str
    details: tuple[tuple[str, str], ...]
    tone: str


def actor_label(actor_id: str, names: Mapping[str, str], payers: Mapping[str, Payer]) -> str:
    """Who did it, by name where precert knows one."""
    if actor_id in names:
        return names[actor_id]
    if actor_id.startswith("payer:") and actor_id[6:] in payers:
        return payers[actor_id[6:]].name
    if actor_id.startswith("apikey:"):
        return f"API key {actor_id[7:]}"
    return actor_id


def _line_summaries(lines: Mapping[str, Any]) -> list[tuple[str, str]]:
    details: list[tuple[str, str]] = []
    for index, decision in sorted(lines.items(), key=lambda item: int(item[0])):
        words = [DECISION_LABELS.get(Decision(decision["decision"]), decision["decision"])]
        if decision.get("certification_number"):
            words.append(f"number {decision['certification_number']}")
        if decision.get("reason_text") or decision.get("reason_code"):
            words.append(f"reason: {decision.get('reason_text') or decision.get('reason_code')}")
        details.append((f"Line {int(index) + 1}", ", ".join(words)))
    return details


def eligibility_details(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The payer's eligibility answer as label/value pairs (coverage, plan dates, services)."""
    active = payload.get("active")
    coverage = "active" if active is True else "not active" if active is False else "unknown"
    details = [("Coverage", coverage)]
    if payload.get("plan_start") or payload.get("plan_end"):
        details.append(
            (
                "Plan dates",
                f"{payload.get('plan_start') or '…'} to {payload.get('plan_end') or '…'}",
            )
        )
    for service in payload.get("services", []):
        facts = []
        if service.get("covered") is not None:
            facts.append("covered" if service["covered"] else "not covered")
        if service.get("auth_required") is not None:
            facts.append("auth required" if service["auth_required"] else "no auth required")
        details.append((f"Service {service.get('service', '')}", ", ".join(facts) or "no answer"))
    return details


def timeline(
    history: Sequence[LedgerEntry], names: Mapping[str, str], payers: Mapping[str, Payer]
) -> list[TimelineItem]:
    """The request's events, newest first, each with a title and the details that matter."""
    items: list[TimelineItem] = []
    for entry in history:
        payload = dict(entry.payload)
        title = _EVENT_LABELS.get(entry.type, entry.type.removeprefix("authorization."))
        tone = "neutral"
        details: list[tuple[str, str]] = []
        if entry.type == "authorization.determination_recorded":
            status = Status(payload["status"])
            title = f"Determination recorded: {status_label(status)}"
            tone = STATUS_TONES[status]
            details.extend(_line_summaries(payload.get("lines", {})))
        elif entry.type == "authorization.eligibility_checked":
            details.extend(eligibility_details(payload))
            tone = (
                "good"
                if payload.get("active") is True
                else "bad"
                if payload.get("active") is False
                else "neutral"
            )
        elif entry.type.startswith("authorization.") and payload.get("previous"):
            moved_to = entry.type.removeprefix("authorization.")
            if moved_to in _STATUS_VALUES:
                tone = STATUS_TONES[Status(moved_to)]
        for key, label in _PAYLOAD_LABELS.items():
            value = payload.get(key)
            if value not in (None, ""):
                if key == "level":
                    value = APPEAL_LABELS.get(AppealLevel(value), value)
                if key == "overturned":
                    value = "yes" if value else "no"
                details.append((label, str(value)))
        items.append(
            TimelineItem(
                title=title,
                at=entry.at,
                actor=actor_label(entry.actor_id, names, payers),
                details=tuple(details),
                tone=tone,
            )
        )
    items.reverse()
    return items


# --- the patient's page ---------------------------------------------------------------

_PATIENT_HEADLINES: Mapping[Status, str] = {
    Status.DRAFT: "Being prepared",
    Status.READY: "Being prepared",
    Status.SUBMITTED: "Waiting for your insurer",
    Status.PENDED: "Waiting for your insurer",
    Status.APPROVED: "Approved",
    Status.PARTIALLY_APPROVED: "Partly approved",
    Status.MODIFIED: "Approved with changes",
    Status.DENIED: "Not approved",
    Status.CANCELLED: "Withdrawn",
    Status.EXPIRED: "Approval ended",
}


@dataclass(frozen=True)
class PatientSummary:
    """The four things a patient's status page says, in plain language, and a headline."""

    asked: str
    headline: str
    stands: str
    next: str
    tone: str


def patient_summary(
    request: AuthorizationRequest,
    payer: Payer | None,
    organization: Organization,
    now: datetime,
) -> PatientSummary:
    """What was asked, where it stands, and what happens next, without jargon or codes."""
    tz = ZoneInfo(organization.timezone)
    insurer = payer.name if payer else "your insurance plan"
    service = CATEGORY_PLAIN[request.category]
    asked = (
        f"{organization.name} asked {insurer} to approve {service} planned for "
        f"{long_day(request.first_service_date)}."
    )
    status = request.status
    tone = STATUS_TONES[status]
    headline = _PATIENT_HEADLINES.get(status, "Under appeal")
    if status in (Status.DRAFT, Status.READY):
        stands = (
            "Your care team is preparing the request. It has not been sent to your insurer yet."
        )
        clock = "72 hours" if request.urgency is Urgency.EXPEDITED else "7 days"
        following = (
            f"Once it is sent, {insurer} should decide within {clock}. "
            "You do not need to do anything now."
        )
    elif status in (Status.SUBMITTED, Status.PENDED) and request.submitted_at:
        sent = long_day(request.submitted_at.astimezone(tz).date())
        due = decision_due(request.submitted_at, request.urgency, tz=tz).due
        stands = f"We sent the request to {insurer} on {sent}."
        if status is Status.PENDED:
            stands += f" {insurer} asked for more information, and your care team is answering."
        following = (
            f"{insurer} should decide by {long_day(due.astimezone(tz).date())}. "
            "We will contact you when they answer."
        )
    elif status is Status.APPROVED:
        ends = approval_validity_end(request)
        stands = f"{insurer} approved this care."
        following = "Keep your appointment as planned."
        if ends:
            following = f"The approval is good through {long_day(ends)}. " + following
        numbers = sorted(
            {
                line.determination.certification_number
                for line in request.service_lines
                if line.determination and line.determination.certification_number
            }
        )
        if numbers:
            stands += f" Approval number: {', '.join(numbers)}."
    elif status in (Status.PARTIALLY_APPROVED, Status.MODIFIED):
        stands = f"{insurer} approved part of this care, or approved it with changes."
        following = "Your care team is reviewing the decision and will talk with you about it."
    elif status is Status.DENIED:
        stands = f"{insurer} did not approve this care."
        following = (
            "Your care team is reviewing the decision and may appeal it. "
            "They will contact you about your options."
        )
    elif status in (
        Status.APPEAL_FIRST_LEVEL,
        Status.APPEAL_PEER_TO_PEER,
        Status.APPEAL_SECOND_LEVEL,
        Status.APPEAL_EXTERNAL_REVIEW,
    ):
        level = request.appeal_levels_attempted[-1]
        low, high = SEED_APPEAL_DEFAULTS[level].decision_days
        stands = f"Your care team has asked {insurer} to reconsider its decision."
        following = f"Reviews like this usually take {low} to {high} days. We will contact you."
    elif status is Status.CANCELLED:
        stands = "This request was withdrawn."
        following = "If you still need this care, please call your care team."
    else:
        stands = "The approval ended before the care took place."
        following = "Please call your care team to plan the next step."
    return PatientSummary(asked=asked, headline=headline, stands=stands, next=following, tone=tone)


# --- the documentation checklist --------------------------------------------------------


@dataclass(frozen=True)
class QuestionView:
    """One question as the form shows it: its field, input kind and current value(s)."""

    link_id: str
    name: str
    label: str
    input: str  # text, textarea, number, date, yes-no, select, checkboxes, read-only
    required: bool
    options: tuple[str, ...]
    value: str
    values: tuple[str, ...]
    step: str
    minimum: str


@dataclass(frozen=True)
class ChecklistItemView:
    """One required item: its questions, progress, and whether answers were pre-filled."""

    item_id: str
    title: str
    kind: str
    questions: tuple[QuestionView, ...]
    prefilled: bool
    complete: bool
    missing_answers: tuple[str, ...]
    attachments: int
    needs_attachment: bool


_INPUTS: Mapping[QuestionType, str] = {
    QuestionType.BOOLEAN: "yes-no",
    QuestionType.INTEGER: "number",
    QuestionType.DECIMAL: "number",
    QuestionType.DATE: "date",
    QuestionType.STRING: "text",
    QuestionType.TEXT: "textarea",
    QuestionType.CHOICE: "select",
}


def answer_text(answer: Answer | None) -> str:
    """An answer as a form value: yes/no, ISO dates, plain numbers, choices joined."""
    if answer is None:
        return ""
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    if isinstance(answer, tuple):
        return ", ".join(answer)
    if isinstance(answer, date):
        return answer.isoformat()
    return str(answer)


def _question(question: Question, answer: Answer | None) -> QuestionView:
    kind = _INPUTS[question.type]
    if question.read_only:
        kind = "read-only"
    elif question.type is QuestionType.CHOICE and question.repeats:
        kind = "checkboxes"
    return QuestionView(
        link_id=question.link_id,
        name=f"answer.{question.link_id}",
        label=question.text,
        input=kind,
        required=question.required,
        options=question.options,
        value=answer_text(answer),
        values=answer if isinstance(answer, tuple) else (),
        step="1" if question.type is QuestionType.INTEGER else "any",
        minimum="" if question.minimum is None else str(question.minimum),
    )


def checklist(
    view: DocumentationView, context: Callable[[Questionnaire], Mapping[str, Answer]]
) -> list[ChecklistItemView]:
    """The checklist's items for the request page, in the order the payer rules list them.

    Read-only questions are context computed from the request; once an item's answers are
    saved they are no longer stored with it, so ``context`` computes them again for display.
    """
    items: list[ChecklistItemView] = []
    for item in view.items:
        answers = dict(item.answers)
        if not item.prefilled and any(q.read_only for q in item.questionnaire.questions):
            computed = context(item.questionnaire)
            for question in item.questionnaire.questions:
                if question.read_only and question.link_id in computed:
                    answers.setdefault(question.link_id, computed[question.link_id])
        items.append(_item_view(item, answers))
    return items


def _item_view(item: DocumentationItemView, answers: Mapping[str, Answer]) -> ChecklistItemView:
    return ChecklistItemView(
        item_id=item.questionnaire.item_id,
        title=item.questionnaire.title,
        kind=item.kind,
        questions=tuple(_question(q, answers.get(q.link_id)) for q in item.questionnaire.questions),
        prefilled=item.prefilled,
        complete=item.progress.complete,
        missing_answers=item.progress.missing_answers,
        attachments=item.progress.attachments,
        needs_attachment=item.progress.needs_attachment,
    )
