"""Documentation and readiness: the checklist, answers, attachments, and moving to ready."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from precert.domain.documentation import answers_to_json
from precert.domain.readiness import BlockerCode
from precert.interop.fhir.questionnaires import to_fhir
from precert.services import documentation as service
from precert.services import readiness
from precert.services.documentation import DocumentationView
from precert.web.api.authorizations import AuthorizationResource, resource
from precert.web.deps import CurrentAccess, PrecertDep, UnitOfWorkDep

router = APIRouter(prefix="/v1/authorizations/{authorization_id}", tags=["documentation"])


class ItemOut(BaseModel):
    """One documentation item: its FHIR Questionnaire, answers and progress."""

    item_id: str
    title: str
    kind: str
    questionnaire: dict[str, Any]
    answers: dict[str, Any]
    prefilled: bool
    missing_answers: list[str]
    attachments: int
    needs_attachment: bool
    complete: bool


class ChecklistOut(BaseModel):
    """The checklist: every item, the share complete, and what is missing."""

    score: Decimal
    missing: list[str]
    items: list[ItemOut]


class AnswersIn(BaseModel):
    """Answers by question linkId (JSON values; choices as a list of codes)."""

    model_config = ConfigDict(extra="forbid")
    answers: dict[str, Any] = Field(max_length=200)


class AttachmentOut(BaseModel):
    """A stored document."""

    id: str
    item_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    new: bool


class BlockerOut(BaseModel):
    """One reason the request cannot be submitted yet."""

    code: BlockerCode
    message: str


class ReadinessOut(BaseModel):
    """Ready or not, and why."""

    ready: bool
    blockers: list[BlockerOut]
    documentation_score: Decimal


class ReadyIn(BaseModel):
    """Move to ready; with blockers, a manager must give a reason."""

    model_config = ConfigDict(extra="forbid")
    override_reason: str | None = Field(default=None, min_length=10, max_length=1000)


def _checklist(view: DocumentationView) -> ChecklistOut:
    return ChecklistOut(
        score=view.checklist.score,
        missing=list(view.checklist.missing),
        items=[
            ItemOut(
                item_id=v.questionnaire.item_id,
                title=v.questionnaire.title,
                kind=v.kind,
                questionnaire=to_fhir(v.questionnaire),
                answers=answers_to_json(v.answers),
                prefilled=v.prefilled,
                missing_answers=list(v.progress.missing_answers),
                attachments=v.progress.attachments,
                needs_attachment=v.progress.needs_attachment,
                complete=v.progress.complete,
            )
            for v in view.items
        ],
    )


@router.get("/documentation", response_model=ChecklistOut)
def read_documentation(
    authorization_id: str, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> ChecklistOut:
    """What the payer's rules ask for, pre-filled from the request, and how far along it is."""
    return _checklist(
        service.read_documentation(uow, access, authorization_id, precert.policy, precert.clock)
    )


@router.put("/documentation/{item_id}", response_model=ChecklistOut)
def answer_item(
    authorization_id: str,
    item_id: str,
    body: AnswersIn,
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> ChecklistOut:
    """Answer one item's questions (replaces earlier answers of that item)."""
    return _checklist(
        service.answer_item(
            uow, access, authorization_id, item_id, body.answers, precert.policy, precert.clock
        )
    )


@router.post(
    "/attachments",
    status_code=201,
    response_model=AttachmentOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/pdf": {},
                "image/png": {},
                "image/jpeg": {},
                "image/tiff": {},
                "application/cda+xml": {},
                "application/octet-stream": {},
            },
        }
    },
)
async def attach_document(
    authorization_id: str,
    item_id: Annotated[str, Query(min_length=1, max_length=100)],
    filename: Annotated[str, Query(min_length=1, max_length=255)],
    request: Request,
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> AttachmentOut:
    """Upload one document as the raw body (PDF, PNG, JPEG, TIFF or CDA; checked by content)."""
    content = await request.body()
    attachment, new = service.attach_document(
        uow,
        access,
        authorization_id,
        item_id=item_id,
        filename=filename,
        content=content,
        clock=precert.clock,
    )
    return AttachmentOut(
        id=attachment.id,
        item_id=attachment.item_id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256,
        uploaded_at=attachment.uploaded_at,
        new=new,
    )


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"description": "The document's bytes"}},
)
def read_attachment(
    authorization_id: str,
    attachment_id: str,
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """Download one document."""
    attachment, content = service.read_attachment(
        uow, access, authorization_id, attachment_id, precert.clock
    )
    return Response(
        content, media_type=attachment.content_type, headers={"X-Content-SHA256": attachment.sha256}
    )


@router.get("/readiness", response_model=ReadinessOut)
def read_readiness(
    authorization_id: str, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> ReadinessOut:
    """Coverage verified, codes valid, documentation complete, lead time respected?"""
    result = readiness.assess_readiness(
        uow, access, authorization_id, precert.policy, precert.clock
    )
    return ReadinessOut(
        ready=result.ready,
        blockers=[BlockerOut(code=b.code, message=b.message) for b in result.blockers],
        documentation_score=result.documentation.checklist.score,
    )


@router.post("/ready", response_model=AuthorizationResource)
def mark_ready(
    authorization_id: str,
    body: ReadyIn,
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> AuthorizationResource:
    """Move to ready: refused with the blockers listed, unless a manager overrides with a reason."""
    return resource(
        readiness.mark_ready(
            uow,
            access,
            authorization_id,
            precert.policy,
            precert.clock,
            override_reason=body.override_reason,
        )
    )
