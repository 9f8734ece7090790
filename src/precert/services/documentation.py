"""The documentation checklist: what each payer rule asks for, pre-filled, answered, attached."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from precert.domain.access import Permission
from precert.domain.authorization import AuthorizationRequest
from precert.domain.documentation import (
    Answer,
    Attachment,
    Checklist,
    ItemProgress,
    Questionnaire,
    answers_to_json,
    attachment_type,
    check_answers,
    checklist,
    item_progress,
)
from precert.domain.errors import NotFound
from precert.interop.fhir.pas import build_request_bundle
from precert.interop.fhir.questionnaires import prefill, questionnaire_for
from precert.policy.engine import PolicyEngine
from precert.ports import Clock, UnitOfWork
from precert.services.access import AccessContext, audit
from precert.services.discover import LineRequirement, discover

SUBJECT = "authorization"


@dataclass(frozen=True)
class DocumentationItemView:
    """One required item: its form, current answers (stored, else pre-filled), progress."""

    questionnaire: Questionnaire
    kind: str
    answers: dict[str, Answer]
    prefilled: bool
    progress: ItemProgress


@dataclass(frozen=True)
class DocumentationView:
    """The whole checklist of a request."""

    items: tuple[DocumentationItemView, ...]
    checklist: Checklist
    requirements: tuple[LineRequirement, ...]


def required_items(requirements: list[LineRequirement]) -> dict[str, tuple[str, str]]:
    """Documentation items (id -> title, kind) of every line that needs authorization."""
    items: dict[str, tuple[str, str]] = {}
    for requirement in requirements:
        if not requirement.determination.needs_auth:
            continue
        for item in requirement.determination.documentation:
            items.setdefault(item.id, (item.title, item.kind.value))
    return items


def documentation_view(
    uow: UnitOfWork,
    request: AuthorizationRequest,
    engine: PolicyEngine,
    clock: Clock,
) -> DocumentationView:
    """Build the checklist for a loaded request (no audit: callers audit their own read)."""
    requirements = discover(engine, request)
    stored = uow.documentation.answers(request.organization_id, request.id)
    counts = uow.documentation.attachment_counts(request.organization_id, request.id)
    bundle: Mapping[str, Any] | None = None
    views: list[DocumentationItemView] = []
    for item_id, (title, kind) in required_items(requirements).items():
        questionnaire = questionnaire_for(item_id, title)
        if bundle is None:  # built once, for the first item
            bundle = build_request_bundle(
                request, submission_id=f"prefill-{request.id}", submitted_at=clock.now()
            )
        computed = prefill(questionnaire, bundle)
        if item_id in stored:
            # Read-only context always shows the request as it is now; the rest is what
            # people answered.
            read_only = {q.link_id for q in questionnaire.questions if q.read_only}
            answers = {k: v for k, v in computed.items() if k in read_only}
            answers |= check_answers(questionnaire, stored[item_id])
            prefilled = False
        else:
            answers, prefilled = computed, True
        progress = item_progress(questionnaire, kind, answers, counts.get(item_id, 0))
        views.append(DocumentationItemView(questionnaire, kind, answers, prefilled, progress))
    return DocumentationView(
        tuple(views), checklist([v.progress for v in views]), tuple(requirements)
    )


def read_documentation(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    engine: PolicyEngine,
    clock: Clock,
) -> DocumentationView:
    """The request's checklist; an audited read."""
    context.require(Permission.READ_AUTHORIZATIONS)
    request = uow.authorizations.get(context.organization_id, authorization_id)
    view = documentation_view(uow, request, engine, clock)
    audit(uow, context, clock.now(), "read", SUBJECT, [request.id], view="documentation")
    uow.commit()
    return view


def answer_item(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    item_id: str,
    raw_answers: Mapping[str, object],
    engine: PolicyEngine,
    clock: Clock,
) -> DocumentationView:
    """Store the answers of one required item (validated against its questionnaire)."""
    context.require(Permission.CREATE_AUTHORIZATIONS)
    now = clock.now()
    request = uow.authorizations.get(context.organization_id, authorization_id)
    items = required_items(discover(engine, request))
    if item_id not in items:
        raise NotFound(
            f"documentation item {item_id!r} is not required for this request; "
            f"required: {', '.join(items) or 'none'}"
        )
    questionnaire = questionnaire_for(item_id, items[item_id][0])
    answers = check_answers(questionnaire, raw_answers)
    uow.documentation.save_answers(
        context.organization_id,
        request.id,
        item_id,
        f"{questionnaire.url}|{questionnaire.version}",
        answers_to_json(answers),
        now,
        context.actor.id,
    )
    view = documentation_view(uow, request, engine, clock)
    done = next(v.progress.complete for v in view.items if v.questionnaire.item_id == item_id)
    request.record_note(
        context.actor,
        now,
        "authorization.documentation_updated",
        item=item_id,
        complete=done,
        score=str(view.checklist.score),
    )
    uow.authorizations.save(request)
    audit(uow, context, now, "write", SUBJECT, [request.id], item=item_id)
    uow.commit()
    return view


def attach_document(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    *,
    item_id: str,
    filename: str,
    content: bytes,
    clock: Clock,
) -> tuple[Attachment, bool]:
    """File a document under an item; returns it and whether it was new (same bytes twice
    are stored once)."""
    context.require(Permission.CREATE_AUTHORIZATIONS)
    now = clock.now()
    request = uow.authorizations.get(context.organization_id, authorization_id)
    media_type = attachment_type(filename, content)
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(
        str(uuid.uuid4()),
        request.id,
        item_id,
        filename[:255],
        media_type,
        len(content),
        digest,
        now,
        context.actor.id,
    )
    stored = uow.documentation.add_attachment(attachment, context.organization_id, content)
    if stored:
        request.record_note(
            context.actor,
            now,
            "authorization.document_attached",
            item=item_id,
            sha256=digest,
            bytes=len(content),
            content_type=media_type,
        )
        uow.authorizations.save(request)
    else:
        attachment = next(
            a
            for a in uow.documentation.attachments(context.organization_id, request.id)
            if a.sha256 == digest and a.item_id == item_id
        )
    audit(uow, context, now, "write", SUBJECT, [request.id], attachment=attachment.id)
    uow.commit()
    return attachment, stored


def read_attachment(
    uow: UnitOfWork,
    context: AccessContext,
    authorization_id: str,
    attachment_id: str,
    clock: Clock,
) -> tuple[Attachment, bytes]:
    """One document's bytes; an audited read."""
    context.require(Permission.READ_AUTHORIZATIONS)
    attachment, content = uow.documentation.attachment(context.organization_id, attachment_id)
    if attachment.authorization_id != authorization_id:
        raise NotFound(f"attachment {attachment_id} not found")
    audit(uow, context, clock.now(), "read", SUBJECT, [authorization_id], attachment=attachment_id)
    uow.commit()
    return attachment, content
