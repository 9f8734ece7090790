"""The web UI: server-rendered pages for staff, and the patient's status page.

Routes are thin: they read forms, call the services (which check permissions
and audit every read of patient data), and render templates. Every page is
sent with ``Cache-Control: no-store`` because most of them show patient data.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from precert.adapters.letters import appeal_letter_pdf
from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import Precert
from precert.domain.access import ISSUABLE_ROLES, Permission
from precert.domain.appeals import AppealAssessment, next_appeal_levels
from precert.domain.authorization import (
    AuthorizationRequest,
    Decision,
    LineOfBusiness,
    Role,
    ServiceCategory,
    Sex,
    Status,
)
from precert.domain.codes import CodeSystem
from precert.domain.deadlines import next_deadline
from precert.domain.documentation import MAX_ATTACHMENT_BYTES, Answer, Questionnaire
from precert.domain.errors import DomainError, InvalidInput, NotFound
from precert.domain.tasks import TaskStatus
from precert.domain.tenancy import Payer
from precert.interop.fhir.pas import build_request_bundle
from precert.interop.fhir.questionnaires import prefill
from precert.ports import (
    AuthorizationQuery,
    PayerConnection,
    PayerFormat,
    PayerUnavailable,
    TaskQuery,
)
from precert.services import (
    appeals,
    documentation,
    follow_up,
    payer_connections,
    readiness,
    submission,
)
from precert.services import authorizations as service
from precert.services import eligibility as eligibility_service
from precert.services import users as accounts
from precert.services.access import Forbidden
from precert.services.discover import LineRequirement, discover, discover_lines
from precert.services.payer_connections import AuthSettings, ConnectionSettings
from precert.web.api.payers import (
    PayerUowDep,
    gateways,
    payer_uow_factory,
    submission_settings,
)
from precert.web.deps import PrecertDep, UnitOfWorkDep, channel_of
from precert.web.ui import dashboard, present, work
from precert.web.ui.forms import (
    FormErrors,
    answer_field_errors,
    discovery_facts,
    errors_of,
    parse_action,
    parse_letter,
    parse_new_authorization,
    questionnaire_answers,
)
from precert.web.ui.frame import (
    STATIC,
    CsrfRefused,
    FormDep,
    PostingViewerDep,
    UiRoute,
    UiStateDep,
    Viewer,
    ViewerDep,
    client_ip,
    fields_of,
    page,
    same_origin,
)
from precert.web.ui.security import (
    CSRF_FIELD,
    PRESESSION_COOKIE,
    SESSION_COOKIE,
)

router = APIRouter(route_class=UiRoute, include_in_schema=False)

router.include_router(dashboard.router)
router.include_router(work.router)

#: Requests the work queue loads at most before sorting them by deadline or revenue.
QUEUE_LIMIT = 250

# --- entry, sign-in, sign-out ----------------------------------------------------------


@router.get("/")
def home() -> RedirectResponse:
    """The work queue is the home page."""
    return RedirectResponse("/ui/queue", status_code=303)


def _safe_next(target: str | None) -> str:
    # Only our own pages: never an absolute or protocol-relative URL (open redirect).
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return "/ui/queue"


@router.get("/ui/sign-in")
def sign_in_page(request: Request, state: UiStateDep, next: str | None = None) -> Response:
    """The sign-in form, with a pre-session cookie that its CSRF token is bound to."""
    presession = state.signer.unsign("presession", request.cookies.get(PRESESSION_COOKIE))
    fresh = presession is None
    if presession is None:
        presession = secrets.token_urlsafe(24)
    response = page(
        request,
        None,
        "sign_in.html",
        next=_safe_next(next),
        csrf=state.signer.csrf_token(presession),
        organization="",
        email="",
        error=None,
    )
    if fresh:
        _set_cookie(
            request, response, PRESESSION_COOKIE, state.signer.sign("presession", presession)
        )
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.post("/ui/sign-in")
def sign_in(
    request: Request, form: FormDep, uow: UnitOfWorkDep, precert: PrecertDep, state: UiStateDep
) -> Response:
    """Check the credentials; on success start a session and go where the user was headed."""
    fields = fields_of(form)
    presession = state.signer.unsign("presession", request.cookies.get(PRESESSION_COOKIE))
    if (
        presession is None
        or not same_origin(request)
        or not state.signer.csrf_matches(presession, fields.get(CSRF_FIELD))
    ):
        raise CsrfRefused
    ip = client_ip(request)
    target = _safe_next(fields.get("next"))

    def again(status: int, error: str) -> Response:
        return page(
            request,
            None,
            "sign_in.html",
            status_code=status,
            next=target,
            csrf=state.signer.csrf_token(presession),
            organization=fields.get("organization", ""),
            email=fields.get("email", ""),
            error=error,
        )

    if state.sign_ins.blocked(ip):
        response = again(429, "Too many failed sign-ins from this computer. Wait and try again.")
        response.headers["Retry-After"] = str(state.sign_ins.retry_after(ip))
        return response
    signed_in = accounts.sign_in(
        uow,
        organization_slug=fields.get("organization", ""),
        email=fields.get("email", ""),
        password=fields.get("password", ""),
        clock=precert.clock,
    )
    if signed_in is None:
        state.sign_ins.fail(ip)
        return again(401, "The organization, email or password is not right.")
    response = RedirectResponse(target, status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, state.signer.sign("session", signed_in.token))
    response.delete_cookie(PRESESSION_COOKIE, path="/")
    return response


@router.post("/ui/sign-out")
def sign_out(
    request: Request,
    viewer: PostingViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    state: UiStateDep,
) -> Response:
    """End the session and return to the sign-in page."""
    token = state.signer.unsign("session", request.cookies.get(SESSION_COOKIE))
    if token:
        accounts.sign_out(uow, token, precert.clock)
    response = RedirectResponse("/ui/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- work queue ------------------------------------------------------------------------


def lead_time(answers: Sequence[LineRequirement]) -> int:
    """The longest submission lead time, in business days, among lines needing authorization."""
    leads = [
        answer.determination.lead_time_business_days or 0
        for answer in answers
        if answer.determination.needs_auth
    ]
    return max(leads, default=0)


def _payers(uow: UnitOfWorkDep) -> dict[str, Payer]:
    return {p.id: p for p in uow.directory.payers()}


@router.get("/ui/queue")
def work_queue(
    request: Request,
    viewer: ViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    status: str = "open",
    payer: str = "",
    category: str = "",
    sort: str = "deadline",
) -> Response:
    """The requests to work, filtered, sorted by next deadline or revenue at risk."""
    if status == "open":
        statuses: tuple[Status, ...] = present.OPEN_STATUSES
    elif status in {s.value for s in Status}:
        statuses = (Status(status),)
    else:
        status, statuses = "all", ()
    chosen_category = (
        ServiceCategory(category) if category in {c.value for c in ServiceCategory} else None
    )
    payers = _payers(uow)
    query = AuthorizationQuery(
        statuses=statuses,
        payer_id=payer if payer in payers else None,
        category=chosen_category,
        limit=QUEUE_LIMIT,
    )
    result = service.list_authorizations(uow, viewer.context, query, precert.clock)
    sort = "revenue" if sort == "revenue" else "deadline"
    engine = precert.policy
    leads = {r.id: lead_time(discover(engine, r)) for r in result.items}
    rows = present.queue_rows(result.items, payers, precert.clock.now(), viewer.tz, sort, leads)
    filters = {"status": status, "payer": query.payer_id or "", "category": category, "sort": sort}
    template = "queue_rows.html" if request.headers.get("HX-Request") else "queue.html"
    return page(
        request,
        viewer,
        template,
        rows=rows,
        filters=filters,
        payers=sorted(payers.values(), key=lambda p: p.name),
        statuses=list(Status),
        categories=list(ServiceCategory),
        truncated=result.next_after is not None,
        limit=QUEUE_LIMIT,
        tz=viewer.tz,
        local=present.local,
        total_at_risk=sum((r.revenue_at_risk for r in rows), start=Decimal(0)),
    )


# --- new request -----------------------------------------------------------------------


def _new_form(
    request: Request,
    viewer: Viewer,
    uow: UnitOfWorkDep,
    values: Mapping[str, str],
    errors: FormErrors,
    status_code: int = 200,
) -> Response:
    lines = sorted({int(k.split(".")[1]) for k in values if k.startswith("service_lines.")} or {0})
    return page(
        request,
        viewer,
        "new_request.html",
        status_code=status_code,
        values=values,
        errors=errors,
        lines=lines,
        payers=sorted(_payers(uow).values(), key=lambda p: p.name),
        categories=list(ServiceCategory),
        lines_of_business=list(LineOfBusiness),
        sexes=list(Sex),
        code_systems=list(CodeSystem),
    )


@router.get("/ui/requests/new")
def new_request_page(request: Request, viewer: ViewerDep, uow: UnitOfWorkDep) -> Response:
    """The new-request form."""
    viewer.context.require(Permission.CREATE_AUTHORIZATIONS)
    defaults = {
        "urgency": "standard",
        "coverage.state": "MO",
        "servicing_provider.kind": "organization",
        "service_lines.0.code_system": "CPT",
        "service_lines.0.units": "1",
        "service_lines.0.place_of_service": "22",
    }
    return _new_form(request, viewer, uow, defaults, FormErrors())


@router.post("/ui/requests/new")
def create_request(
    request: Request,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """Open a draft request from the form, or show the form again with its errors."""
    values = fields_of(form)
    command, errors = parse_new_authorization(values)
    if command is not None:
        try:
            opened = service.open_authorization(uow, viewer.context, command, precert.clock)
        except InvalidInput as exc:
            uow.rollback()
            for problem in exc.problems:
                errors.add(problem.path, problem.message)
        else:
            return RedirectResponse(
                f"/ui/requests/{opened.request.id}?done=created", status_code=303
            )
    return _new_form(request, viewer, uow, values, errors, status_code=422)


@router.post("/ui/requests/new/discover")
def discover_requirements(
    request: Request, viewer: PostingViewerDep, form: FormDep, precert: PrecertDep
) -> Response:
    """The live "prior authorization needed?" answer for the lines typed so far (htmx)."""
    viewer.context.require(Permission.DISCOVER_REQUIREMENTS)
    facts, missing = discovery_facts(fields_of(form))
    answers = discover_lines(precert.policy, facts) if facts else []
    return page(
        request,
        viewer,
        "pa_answer.html",
        answers=answers,
        missing=missing,
        today=precert.clock.now().astimezone(viewer.tz).date(),
    )


# --- request detail and its actions ----------------------------------------------------

_DONE = {
    "created": "Request created as a draft.",
    "ready": "Marked ready to submit.",
    "reopen": "Sent back to draft.",
    "submit": "Submission recorded.",
    "determination": "Determination recorded.",
    "cancel": "Request cancelled.",
    "appeal": "Appeal filed.",
    "appeal-outcome": "Appeal outcome recorded.",
    "link-withdrawn": "Patient link withdrawn.",
    "answers": "Checklist answers saved.",
    "attached": "Document attached.",
    "attached-again": "That document was already attached; it is kept once.",
    "eligibility": "Eligibility verified with the payer: see the timeline for the answer.",
    "sent": "Sent to the payer electronically: its answer is on the timeline.",
}

#: Done messages that are not moves of the state machine (no action form posts them).
_NOT_ACTIONS = (
    "created",
    "link-withdrawn",
    "answers",
    "attached",
    "attached-again",
    "eligibility",
    "sent",
)


def _actions(request: AuthorizationRequest, viewer: Viewer) -> list[str]:
    """The action forms to offer: moves the state machine allows and the role may make."""
    moves = set(request.allowed_moves)
    work = viewer.may(Permission.WORK_AUTHORIZATIONS)
    appeal = viewer.may(Permission.APPEAL)
    offered: list[str] = []
    if work and Status.READY in moves and request.status is Status.DRAFT:
        offered.append("ready")
    if work and Status.SUBMITTED in moves:
        offered.append("submit")
    if work and request.status in (Status.SUBMITTED, Status.PENDED):
        offered.append("determination")
    can_appeal = any(s.value.startswith("appeal_") for s in moves)
    if appeal and can_appeal and next_appeal_levels(request.appeal_levels_attempted):
        offered.append("appeal")
    if appeal and request.status.value.startswith("appeal_"):
        offered.append("appeal-outcome")
    if work and Status.DRAFT in moves:
        offered.append("reopen")
    if work and Status.CANCELLED in moves:
        offered.append("cancel")
    return offered


def _detail(
    request: Request,
    viewer: Viewer,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    authorization_id: str,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    view = service.read_authorization(uow, viewer.context, authorization_id, precert.clock)
    payers = _payers(uow)
    names = accounts.actor_names(uow, viewer.organization.id, [e.actor_id for e in view.history])
    links = accounts.patient_links(uow, viewer.context, authorization_id)
    now = precert.clock.now()
    done = request.query_params.get("done", "")
    answers = discover(precert.policy, view.request)
    blockers: list[str] = []
    if view.request.status is Status.DRAFT:  # readiness only matters before submission
        assessed = readiness.assess_readiness(
            uow, viewer.context, authorization_id, precert.policy, precert.clock
        )
        checklist = assessed.documentation
        blockers = [b.message for b in assessed.blockers]
    else:
        checklist = documentation.read_documentation(
            uow, viewer.context, authorization_id, precert.policy, precert.clock
        )
    tasks = follow_up.work_queue(
        uow,
        viewer.context,
        TaskQuery(
            authorization_id=authorization_id, statuses=(TaskStatus.OPEN, TaskStatus.SNOOZED)
        ),
        precert.clock,
    )
    options: list[AppealAssessment] = []
    if viewer.may(Permission.APPEAL) and view.request.decided_at is not None:
        try:  # the service knows which outcomes can be contested
            options = appeals.appeal_options(uow, viewer.context, authorization_id, precert.clock)
        except DomainError:
            options = []
    return page(
        request,
        viewer,
        "request.html",
        status_code=status_code,
        r=view.request,
        payer=payers.get(view.request.coverage.payer_id),
        timeline=present.timeline(view.history, names, payers),
        deadline=next_deadline(
            view.request, now, tz=viewer.tz, lead_time_business_days=lead_time(answers)
        ),
        actions=_actions(view.request, viewer),
        appeal_levels=next_appeal_levels(view.request.appeal_levels_attempted),
        decisions=list(Decision),
        links=[link for link in links if link.valid_at(now)],
        answers=answers,
        missing=[],
        today=now.astimezone(viewer.tz).date(),
        now=now,
        tz=viewer.tz,
        local=present.local,
        done=_DONE.get(done),
        action_errors=extra.pop("action_errors", None),
        failed_action=extra.pop("failed_action", None),
        values=extra.pop("values", {}),
        checklist=present.checklist(checklist, _request_context(view.request, now)),
        score=checklist.checklist.score,
        doc_missing=checklist.checklist.missing,
        blockers=blockers,
        tasks=tasks,
        task_names=accounts.actor_names(
            uow, viewer.organization.id, [t.task.assignee for t in tasks if t.task.assignee]
        ),
        appeal_options=options,
        doc_errors=extra.pop("doc_errors", FormErrors()),
        failed_item=extra.pop("failed_item", None),
        posted=extra.pop("posted", None),
        **extra,
    )


def _request_context(
    request: AuthorizationRequest, now: datetime
) -> Callable[[Questionnaire], Mapping[str, Answer]]:
    """Computes a questionnaire's pre-filled answers from the request (its FHIR Bundle is
    built once, on first need)."""
    built: list[Mapping[str, Any]] = []

    def answers(questionnaire: Questionnaire) -> Mapping[str, Answer]:
        if not built:
            built.append(
                build_request_bundle(
                    request, submission_id=f"prefill-{request.id}", submitted_at=now
                )
            )
        return prefill(questionnaire, built[0])

    return answers


@router.get("/ui/requests/{authorization_id}")
def request_page(
    request: Request,
    authorization_id: str,
    viewer: ViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """One request: summary, lines with determinations, actions, and the timeline."""
    return _detail(request, viewer, uow, precert, authorization_id)


@router.post("/ui/requests/{authorization_id}/actions/{action}")
def act(
    request: Request,
    authorization_id: str,
    action: str,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """Apply one move through the service; show the page again with errors when it fails."""
    if action not in _DONE or action in _NOT_ACTIONS:
        raise NotFound(f"no action {action!r}")
    values = fields_of(form)
    current = service.read_authorization(uow, viewer.context, authorization_id, precert.clock)
    command, errors = parse_action(action, values, len(current.request.service_lines))
    if command is not None:
        try:
            if action == "ready":  # readiness is checked, and overridden only by a manager
                readiness.mark_ready(
                    uow,
                    viewer.context,
                    authorization_id,
                    precert.policy,
                    precert.clock,
                    override_reason=(values.get("override_reason") or "").strip() or None,
                )
            else:
                service.act_on_authorization(
                    uow,
                    viewer.context,
                    authorization_id,
                    command,  # type: ignore[arg-type]  # the adapter validated the union
                    precert.clock,
                )
        except (NotFound, Forbidden):
            raise
        except DomainError as exc:  # an illegal move, a stale version, a broken rule
            uow.rollback()
            errors.general.append(str(exc))
        else:
            return RedirectResponse(
                f"/ui/requests/{authorization_id}?done={action}", status_code=303
            )
    return _detail(
        request,
        viewer,
        uow,
        precert,
        authorization_id,
        status_code=422,
        action_errors=errors,
        failed_action=action,
        values=values,
    )


@router.post("/ui/requests/{authorization_id}/patient-link")
def make_patient_link(
    request: Request,
    authorization_id: str,
    viewer: PostingViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """Create a status link for the patient; its address is shown on this response only."""
    token, link = accounts.create_patient_link(uow, viewer.context, authorization_id, precert.clock)
    address = str(request.url_for("patient_status", token=token))
    return _detail(
        request,
        viewer,
        uow,
        precert,
        authorization_id,
        new_link=address,
        new_link_expires=link.expires_at,
    )


@router.post("/ui/requests/{authorization_id}/patient-link/{link_id}/withdraw")
def withdraw_patient_link(
    authorization_id: str,
    link_id: str,
    viewer: PostingViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """End a patient link now."""
    accounts.withdraw_patient_link(uow, viewer.context, link_id, precert.clock)
    return RedirectResponse(f"/ui/requests/{authorization_id}?done=link-withdrawn", status_code=303)


# --- documentation checklist, eligibility, electronic submission, appeal letter -----------


def _questionnaire(
    uow: UnitOfWorkDep, viewer: Viewer, precert: PrecertDep, authorization_id: str, item_id: str
) -> Questionnaire:
    """The questionnaire of one item the request's payer rules require (NotFound otherwise)."""
    view = documentation.read_documentation(
        uow, viewer.context, authorization_id, precert.policy, precert.clock
    )
    for item in view.items:
        if item.questionnaire.item_id == item_id:
            return item.questionnaire
    raise NotFound(f"documentation item {item_id!r} is not required for this request")


@router.post("/ui/requests/{authorization_id}/documentation/{item_id}")
def answer_documentation(
    request: Request,
    authorization_id: str,
    item_id: str,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """Save one checklist item's answers; show them again with errors next to the fields."""
    questionnaire = _questionnaire(uow, viewer, precert, authorization_id, item_id)
    values = fields_of(form)
    lists = {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}
    try:
        documentation.answer_item(
            uow,
            viewer.context,
            authorization_id,
            item_id,
            questionnaire_answers(questionnaire, values, lists),
            precert.policy,
            precert.clock,
        )
    except InvalidInput as exc:
        uow.rollback()
        return _detail(
            request,
            viewer,
            uow,
            precert,
            authorization_id,
            status_code=422,
            doc_errors=answer_field_errors(exc),
            failed_item=item_id,
            posted=lists,
        )
    return RedirectResponse(
        f"/ui/requests/{authorization_id}?done=answers#item-{item_id}", status_code=303
    )


@router.post("/ui/requests/{authorization_id}/documentation/{item_id}/attachments")
def upload_document(
    request: Request,
    authorization_id: str,
    item_id: str,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """File an uploaded document under a checklist item (PDF, PNG, JPEG, TIFF or CDA)."""
    _questionnaire(uow, viewer, precert, authorization_id, item_id)
    upload = form.get("document")
    errors = FormErrors()
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors.add((f"upload.{item_id}",), "choose a file to upload")
    else:
        # One byte past the limit is enough for the service to refuse a file as too large.
        content = upload.file.read(MAX_ATTACHMENT_BYTES + 1)
        try:
            _, new = documentation.attach_document(
                uow,
                viewer.context,
                authorization_id,
                item_id=item_id,
                filename=upload.filename,
                content=content,
                clock=precert.clock,
            )
        except InvalidInput as exc:
            uow.rollback()
            for problem in exc.problems:
                errors.add((f"upload.{item_id}",), problem.message)
        else:
            done = "attached" if new else "attached-again"
            return RedirectResponse(
                f"/ui/requests/{authorization_id}?done={done}#item-{item_id}", status_code=303
            )
    return _detail(
        request,
        viewer,
        uow,
        precert,
        authorization_id,
        status_code=422,
        doc_errors=errors,
        failed_item=item_id,
    )


def _payer_failure(
    request: Request,
    viewer: Viewer,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    authorization_id: str,
    action: str,
    message: str,
    status_code: int = 422,
) -> Response:
    """The request page again, with why the payer exchange did not happen."""
    errors = FormErrors()
    errors.general.append(message)
    return _detail(
        request,
        viewer,
        uow,
        precert,
        authorization_id,
        status_code=status_code,
        action_errors=errors,
        failed_action=action,
    )


@router.post("/ui/requests/{authorization_id}/eligibility")
def verify_eligibility(
    request: Request,
    authorization_id: str,
    viewer: PostingViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """Ask the payer, through the organization's connection, whether coverage holds."""
    try:
        eligibility_service.verify_eligibility(
            payer_uow_factory(precert),
            viewer.context,
            authorization_id,
            gateways(request).gateway,
            precert.clock,
        )
    except PayerUnavailable as exc:
        message = f"The payer did not answer; try again in a minute. ({exc})"
        return _payer_failure(
            request, viewer, uow, precert, authorization_id, "eligibility", message, 503
        )
    except (NotFound, Forbidden):
        raise
    except DomainError as exc:  # no connection to this payer, or the payer refused the question
        return _payer_failure(
            request, viewer, uow, precert, authorization_id, "eligibility", str(exc)
        )
    return RedirectResponse(f"/ui/requests/{authorization_id}?done=eligibility", status_code=303)


@router.post("/ui/requests/{authorization_id}/send")
def send_to_payer(
    request: Request,
    authorization_id: str,
    viewer: PostingViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """Submit a ready request to its payer electronically and record the payer's answer."""
    try:
        submission.submit_electronically(
            payer_uow_factory(precert),
            viewer.context,
            authorization_id,
            submission_settings(request, precert),
            precert.clock,
        )
    except PayerUnavailable as exc:
        message = f"The payer did not answer; nothing was sent twice. Try again later. ({exc})"
        return _payer_failure(request, viewer, uow, precert, authorization_id, "send", message, 503)
    except (NotFound, Forbidden):
        raise
    except DomainError as exc:  # not ready, or no connection to this payer
        return _payer_failure(request, viewer, uow, precert, authorization_id, "send", str(exc))
    return RedirectResponse(f"/ui/requests/{authorization_id}?done=sent", status_code=303)


@router.post("/ui/requests/{authorization_id}/appeal-letter")
def draft_appeal_letter(
    request: Request,
    authorization_id: str,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """The drafted appeal letter as a PDF download: the denial, the payer's rule, the case."""
    values = fields_of(form)
    current = service.read_authorization(uow, viewer.context, authorization_id, precert.clock)
    letter, errors = parse_letter(
        values, next_appeal_levels(current.request.appeal_levels_attempted)
    )
    if letter is not None:
        try:
            drafted = appeals.draft_appeal_letter(
                uow,
                viewer.context,
                authorization_id,
                level=letter.level,
                clinical_rationale=letter.clinical_rationale,
                enclosures=letter.enclosures,
                clock=precert.clock,
                cite=appeals.policy_citations(precert.policy),
                render_pdf=appeal_letter_pdf,
            )
        except (NotFound, Forbidden):
            raise
        except DomainError as exc:
            uow.rollback()
            errors.general.append(str(exc))
        else:
            filename = f"appeal-{letter.level.value}-{authorization_id[:8]}.pdf"
            return Response(
                drafted.pdf,
                media_type="application/pdf",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
    return _detail(
        request,
        viewer,
        uow,
        precert,
        authorization_id,
        status_code=422,
        action_errors=errors,
        failed_action="letter",
        values=values,
    )


# --- the patient's status page -----------------------------------------------------------


@router.get("/ui/status/{token}", name="patient_status")
def patient_status(
    request: Request, token: str, uow: UnitOfWorkDep, precert: PrecertDep, state: UiStateDep
) -> Response:
    """One request's status in plain language; a wrong or expired link shows nothing."""
    ip = client_ip(request)
    headers = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
    if state.patient_links.blocked(ip):
        response = page(request, None, "patient_missing.html", status_code=429, limited=True)
        response.headers["Retry-After"] = str(state.patient_links.retry_after(ip))
        response.headers.update(headers)
        return response
    found = accounts.read_patient_status(uow, token, precert.clock, channel_of(request))
    if found is None:
        state.patient_links.fail(ip)
        response = page(request, None, "patient_missing.html", status_code=404, limited=False)
        response.headers.update(headers)
        return response
    summary = present.patient_summary(
        found.request, found.payer, found.organization, precert.clock.now()
    )
    response = page(
        request,
        None,
        "patient.html",
        summary=summary,
        payer=found.payer,
        organization=found.organization,
        checked_at=present.local(precert.clock.now(), ZoneInfo(found.organization.timezone)),
    )
    response.headers.update(headers)
    return response


# --- admin: API keys, users and payer connections ------------------------------------------

FORMAT_LABELS = {PayerFormat.FHIR_PAS: "Da Vinci PAS (FHIR)", PayerFormat.X12_278: "X12 278"}
AUTH_LABELS = {
    "none": "None (trusted network, e.g. the sandbox)",
    "oauth2-client-credentials": "OAuth 2.0 client credentials",
}
_CONNECTION_FIELDS = ("format", "endpoint", "organization_identifier")
_TUNING_FIELDS = ("timeout_seconds", "max_attempts")
_AUTH_FIELDS = ("kind", "token_url", "client_id", "client_secret", "scope")


@dataclass(frozen=True)
class ConnectionRow:
    """One payer connection as the admin page shows it, with its payer's name."""

    connection: PayerConnection
    payer_name: str
    secret_stored: bool


def _row(connection: PayerConnection, payer_name: str) -> ConnectionRow:
    # The secret is blanked here, so no template can ever render it back; only whether one
    # is stored is kept.
    return ConnectionRow(
        connection=replace(connection, auth=replace(connection.auth, client_secret=None)),
        payer_name=payer_name,
        secret_stored=connection.auth.client_secret is not None,
    )


def _connection_rows(uow: SqlPayerUnitOfWork, viewer: Viewer, now: datetime) -> list[ConnectionRow]:
    """The organization's connections, their reading audited like any other data read."""
    connections = payer_connections.list_connections(uow, viewer.context, now, view="admin")
    uow.commit()
    names = {p.id: p.name for p in uow.directory.payers()}
    return [_row(c, names.get(c.payer_id, c.payer_id)) for c in connections]


def _connection_values(connection: PayerConnection) -> dict[str, str]:
    """The edit form's fields for a stored connection (never its secret)."""
    auth = connection.auth
    stored = {
        "payer_id": connection.payer_id,
        "format": connection.format.value,
        "endpoint": connection.endpoint,
        "organization_identifier": connection.organization_identifier,
        "timeout_seconds": f"{connection.timeout_seconds:g}",
        "max_attempts": str(connection.max_attempts),
        "auth.kind": auth.kind,
        "auth.token_url": auth.token_url,
        "auth.client_id": auth.client_id,
        "auth.scope": auth.scope,
    }
    return {name: value for name, value in stored.items() if value is not None}


def _new_connection_values() -> dict[str, str]:
    """The add form's starting values: the API's own defaults."""
    fields = ConnectionSettings.model_fields
    return {
        "format": str(fields["format"].default),
        "timeout_seconds": f"{fields['timeout_seconds'].default:g}",
        "max_attempts": str(fields["max_attempts"].default),
        "auth.kind": str(AuthSettings.model_fields["kind"].default),
    }


def _auth_kinds() -> tuple[str, ...]:
    """The auth kinds the API accepts, read from its model so the two never differ."""
    return get_args(AuthSettings.model_fields["kind"].annotation)


def _admin(
    request: Request,
    viewer: Viewer,
    uow: SqlPayerUnitOfWork,
    precert: Precert,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    connections = _connection_rows(uow, viewer, precert.clock.now())
    editing: ConnectionRow | None = extra.pop("editing", None)
    connected = {row.connection.payer_id for row in connections}
    return page(
        request,
        viewer,
        "admin.html",
        status_code=status_code,
        keys=accounts.list_api_keys(uow, viewer.context),
        users=accounts.list_users(uow, viewer.context),
        roles=list(ISSUABLE_ROLES),
        tz=viewer.tz,
        local=present.local,
        new_token=extra.pop("new_token", None),
        key_errors=extra.pop("key_errors", FormErrors()),
        user_errors=extra.pop("user_errors", FormErrors()),
        values=extra.pop("values", {}),
        done=extra.pop("done", None),
        connections=connections,
        editing=editing,
        unconnected=[p for p in uow.directory.payers() if p.id not in connected],
        format_options=[(f.value, FORMAT_LABELS[f]) for f in PayerFormat],
        auth_options=[(kind, AUTH_LABELS.get(kind, kind)) for kind in _auth_kinds()],
        format_labels=FORMAT_LABELS,
        auth_labels=AUTH_LABELS,
        connection_values=extra.pop(
            "connection_values",
            _connection_values(editing.connection) if editing else _new_connection_values(),
        ),
        connection_errors=extra.pop("connection_errors", FormErrors()),
    )


@router.get("/ui/admin")
def admin_page(
    request: Request, viewer: ViewerDep, uow: PayerUowDep, precert: PrecertDep
) -> Response:
    """The organization's API keys, users and payer connections (admins only).

    ``?payer=ID`` opens the form on the stored connection to that payer, to edit it.
    """
    viewer.context.require(Permission.ADMINISTER)
    done = {
        "revoked": "API key revoked.",
        "user-added": "User added.",
        "user-disabled": "User disabled; their sessions ended.",
        "payer-added": "Payer connection added.",
        "payer-saved": "Payer connection saved.",
        "payer-removed": "Payer connection removed.",
    }.get(request.query_params.get("done", ""))
    editing = None
    payer_id = request.query_params.get("payer")
    if payer_id:
        editing = _editing(uow, viewer, payer_id)
    return _admin(request, viewer, uow, precert, done=done, editing=editing)


def _editing(uow: SqlPayerUnitOfWork, viewer: Viewer, payer_id: str) -> ConnectionRow:
    """The stored connection an edit form is about; NotFound when there is none."""
    connection = uow.payers.connection(viewer.organization.id, payer_id)
    if connection is None:
        raise NotFound(f"no connection to payer {payer_id!r}")
    payer = uow.directory.payer(payer_id)
    return _row(connection, payer.name if payer else payer_id)


def _role(value: str | None) -> Role | None:
    issuable = {r.value: r for r in ISSUABLE_ROLES}
    return issuable.get(value or "")


@router.post("/ui/admin/keys")
def create_key(
    request: Request,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: PayerUowDep,
    precert: PrecertDep,
) -> Response:
    """Issue an API key; the token is shown on this response only."""
    viewer.context.require(Permission.ADMINISTER)
    fields = fields_of(form)
    name = fields.get("name", "").strip()
    role = _role(fields.get("role"))
    errors = FormErrors()
    if not name or len(name) > 200:
        errors.add(("key_name",), "name what the key is for (1 to 200 characters)")
    if role is None:
        errors.add(("key_role",), "choose a role")
    if errors or role is None:
        return _admin(
            request, viewer, uow, precert, status_code=422, key_errors=errors, values=fields
        )
    token = accounts.issue_key(uow, viewer.context, name=name, role=role, clock=precert.clock)
    return _admin(request, viewer, uow, precert, new_token=token, done="API key created.")


@router.post("/ui/admin/keys/{key_id}/revoke")
def revoke_key(
    key_id: str, viewer: PostingViewerDep, uow: UnitOfWorkDep, precert: PrecertDep
) -> Response:
    """Revoke an API key."""
    accounts.revoke_key(uow, viewer.context, key_id, precert.clock)
    return RedirectResponse("/ui/admin?done=revoked", status_code=303)


@router.post("/ui/admin/users")
def create_user(
    request: Request,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: PayerUowDep,
    precert: PrecertDep,
) -> Response:
    """Add a user to the organization."""
    viewer.context.require(Permission.ADMINISTER)
    fields = fields_of(form)
    role = _role(fields.get("role"))
    errors = FormErrors()
    if role is None:
        errors.add(("role",), "choose a role")
    else:
        try:
            accounts.add_user(
                uow,
                viewer.context,
                email=fields.get("email", ""),
                name=fields.get("name", ""),
                role=role,
                password=fields.get("password", ""),
                clock=precert.clock,
            )
        except InvalidInput as exc:
            for problem in exc.problems:
                errors.add(problem.path, problem.message)
        except DomainError as exc:  # the email is taken
            uow.rollback()
            errors.add(("email",), str(exc))
    if errors:
        fields.pop("password", None)
        return _admin(
            request, viewer, uow, precert, status_code=422, user_errors=errors, values=fields
        )
    return RedirectResponse("/ui/admin?done=user-added", status_code=303)


@router.post("/ui/admin/users/{user_id}/disable")
def disable_user(
    user_id: str, viewer: PostingViewerDep, uow: UnitOfWorkDep, precert: PrecertDep
) -> Response:
    """Stop a user from signing in."""
    if user_id == viewer.user.id:
        raise Forbidden("you cannot disable your own account; ask another admin")
    accounts.disable_user(uow, viewer.context, user_id, precert.clock)
    return RedirectResponse("/ui/admin?done=user-disabled", status_code=303)


def _parse_connection(fields: Mapping[str, str]) -> tuple[ConnectionSettings | None, FormErrors]:
    """The API's connection settings from the form's fields, or the errors to show beside them.

    The API's own model validates, so the page and the API accept exactly the same
    connections. Blank fields are left out so the model's defaults and "required" apply.
    """
    body: dict[str, Any] = {
        name: value
        for name in (*_CONNECTION_FIELDS, *_TUNING_FIELDS)
        if (value := fields.get(name, "").strip())
    }
    # The secret is taken as typed (spaces may belong to it); blank means "keep the stored one".
    body["auth"] = {
        name: value if name == "client_secret" else value.strip()
        for name in _AUTH_FIELDS
        if (value := fields.get(f"auth.{name}", "")).strip()
    }
    try:
        return ConnectionSettings.model_validate(body), FormErrors()
    except ValidationError as exc:
        errors = errors_of(exc)
        for error in exc.errors():
            if error["type"] == "url_parsing":  # pydantic's wording is for programmers
                where = ".".join(str(part) for part in error["loc"])
                errors.fields[where] = "enter the full address, e.g. https://payer.example/fhir"
        return None, errors


def _store_connection(
    request: Request,
    viewer: Viewer,
    uow: SqlPayerUnitOfWork,
    precert: Precert,
    payer_id: str,
    fields: dict[str, str],
    editing: ConnectionRow | None,
    payer_problem: str | None = None,
) -> Response:
    """Validate and save a connection; the page again with 422 and the fields marked if not."""
    settings, errors = _parse_connection(fields)
    if payer_problem:
        errors.add(("payer_id",), payer_problem)
    if settings is not None and not errors:
        try:
            _, created = payer_connections.save_connection(
                uow, viewer.context, payer_id, settings, precert.clock.now()
            )
        except NotFound:
            errors.add(("payer_id",), "choose a payer from the list")
        else:
            uow.commit()
            done = "payer-added" if created else "payer-saved"
            return RedirectResponse(f"/ui/admin?done={done}", status_code=303)
    # The secret is never sent back, not even the one just typed.
    fields.pop("auth.client_secret", None)
    return _admin(
        request,
        viewer,
        uow,
        precert,
        status_code=422,
        editing=editing,
        connection_values=fields,
        connection_errors=errors,
    )


@router.post("/ui/admin/payers")
def add_connection(
    request: Request,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: PayerUowDep,
    precert: PrecertDep,
) -> Response:
    """Connect a payer the organization has no connection to yet."""
    viewer.context.require(Permission.ADMINISTER)
    fields = fields_of(form)
    payer_id = fields.get("payer_id", "").strip()
    problem = None
    if not payer_id:
        problem = "choose a payer"
    elif uow.payers.connection(viewer.organization.id, payer_id) is not None:
        # Adding never overwrites: replacing a connection is an edit, started from its row.
        problem = "this payer is already connected; use Edit on its row to change it"
    return _store_connection(request, viewer, uow, precert, payer_id, fields, None, problem)


@router.post("/ui/admin/payers/{payer_id}")
def edit_connection(
    request: Request,
    payer_id: str,
    viewer: PostingViewerDep,
    form: FormDep,
    uow: PayerUowDep,
    precert: PrecertDep,
) -> Response:
    """Replace the stored connection to ``payer_id``; a blank secret keeps the stored one."""
    viewer.context.require(Permission.ADMINISTER)
    editing = _editing(uow, viewer, payer_id)
    fields = {**fields_of(form), "payer_id": payer_id}
    return _store_connection(request, viewer, uow, precert, payer_id, fields, editing)


@router.post("/ui/admin/payers/{payer_id}/remove")
def remove_connection(
    payer_id: str, viewer: PostingViewerDep, uow: PayerUowDep, precert: PrecertDep
) -> Response:
    """Remove the connection to ``payer_id``: requests to that payer can no longer be sent."""
    payer_connections.remove_connection(uow, viewer.context, payer_id, precert.clock.now())
    uow.commit()
    return RedirectResponse("/ui/admin?done=payer-removed", status_code=303)


# --- static files ----------------------------------------------------------------------

_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}
_STATIC_FILES = ("htmx.min.js", "app.css", "app.js", "charts.js")


@cache
def _plotly_js() -> bytes:
    # Plotly ships its JavaScript inside the Python package: served from here, no CDN.
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs()).encode("utf-8")


@cache
def _static_file(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@router.get("/ui/static/{name}")
def static(name: str) -> Response:
    """The UI's scripts and styles, and Plotly's bundle; cached by browsers for a day."""
    if name == "plotly.min.js":
        body = _plotly_js()
    elif name in _STATIC_FILES:
        body = _static_file(name)
    else:
        raise NotFound(f"no static file {name!r}")
    return Response(
        body,
        media_type=_STATIC_TYPES[Path(name).suffix],
        headers={"Cache-Control": "public, max-age=86400"},
    )
