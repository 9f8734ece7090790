"""``/v1/authorizations``: create (idempotent), read, list with cursor, and state moves."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response
from pydantic import BaseModel

from precert.adapters.db.repository import DuplicateKey
from precert.domain.authorization import (
    AuthorizationRequest,
    ServiceCategory,
    Status,
)
from precert.domain.ledger import LedgerEntry
from precert.ports import AuthorizationQuery
from precert.services import authorizations as service
from precert.web.deps import CurrentAccess, PrecertDep, UnitOfWorkDep

router = APIRouter(prefix="/v1/authorizations", tags=["authorizations"])


class TimelineEvent(BaseModel):
    """One event of the request's history."""

    sequence: int
    type: str
    at: datetime
    actor_id: str
    actor_role: str
    payload: dict[str, Any]
    hash: str


class AuthorizationResource(AuthorizationRequest):
    """A request as the API returns it, with the moves it allows next."""

    next_statuses: list[Status]
    timeline: list[TimelineEvent] | None = None


class AuthorizationList(BaseModel):
    """One page of requests; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[AuthorizationResource]
    next_cursor: str | None


def resource(
    request: AuthorizationRequest, history: list[LedgerEntry] | None = None
) -> AuthorizationResource:
    timeline = (
        [
            TimelineEvent(
                sequence=e.sequence,
                type=e.type,
                at=e.at,
                actor_id=e.actor_id,
                actor_role=e.actor_role,
                payload=dict(e.payload),
                hash=e.hash,
            )
            for e in history
        ]
        if history is not None
        else None
    )
    return AuthorizationResource(
        **dict(request), next_statuses=list(request.allowed_moves), timeline=timeline
    )


def _encode_cursor(after: tuple[datetime, str]) -> str:
    raw = json.dumps([after[0].isoformat(), after[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, last_id = json.loads(raw)
        return datetime.fromisoformat(created), str(last_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise HTTPException(
            400, "cursor is not one this API issued; start again without it"
        ) from exc


@router.post(
    "",
    status_code=201,
    response_model=AuthorizationResource,
    responses={200: {"description": "Replay of an earlier create with the same Idempotency-Key"}},
)
def create_authorization(
    body: service.NewAuthorization,
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> AuthorizationResource:
    """Open a draft request. With ``Idempotency-Key``, a retry returns the first result."""
    try:
        opened = service.open_authorization(
            uow, access, body, precert.clock, idempotency_key=idempotency_key
        )
    except DuplicateKey:
        uow.rollback()
        assert idempotency_key is not None  # DuplicateKey is raised only when a key was given
        opened = service.replay_after_race(uow, access, body, idempotency_key)
    if not opened.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/authorizations/{opened.request.id}"
    return resource(opened.request)


@router.get("", response_model=AuthorizationList)
def list_authorizations(
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    status: Annotated[list[Status] | None, Query()] = None,
    payer: str | None = None,
    category: ServiceCategory | None = None,
    service_from: date | None = None,
    service_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> AuthorizationList:
    """The organization's requests, newest first, filtered and paginated by cursor."""
    if service_from and service_to and service_to < service_from:
        raise HTTPException(400, f"service_to {service_to} is before service_from {service_from}")
    query = AuthorizationQuery(
        statuses=status or (),
        payer_id=payer,
        category=category,
        service_from=service_from,
        service_to=service_to,
        after=_decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    page = service.list_authorizations(uow, access, query, precert.clock)
    return AuthorizationList(
        items=[resource(r) for r in page.items],
        next_cursor=_encode_cursor(page.next_after) if page.next_after else None,
    )


@router.get("/{authorization_id}", response_model=AuthorizationResource)
def get_authorization(
    authorization_id: str, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> AuthorizationResource:
    """One request with its timeline of events."""
    view = service.read_authorization(uow, access, authorization_id, precert.clock)
    return resource(view.request, list(view.history))


def _action_route(path: str, model: type[BaseModel], summary: str) -> None:
    def act(
        authorization_id: str,
        body: model,  # type: ignore[valid-type]
        access: CurrentAccess,
        uow: UnitOfWorkDep,
        precert: PrecertDep,
    ) -> AuthorizationResource:
        request = service.act_on_authorization(uow, access, authorization_id, body, precert.clock)
        return resource(request)

    # Annotations are strings under `from __future__ import annotations`; give FastAPI the
    # real class, since `model` is local to this function and cannot be resolved by name.
    act.__annotations__["body"] = model
    act.__name__ = f"authorization_{path.replace('-', '_')}"
    act.__doc__ = summary
    router.add_api_route(
        f"/{{authorization_id}}/{path}",
        act,
        methods=["POST"],
        response_model=AuthorizationResource,
        summary=summary,
    )


for _path, _model in (
    ("reopen", service.Reopen),
    ("submission", service.RecordSubmission),
    ("determination", service.RecordDetermination),
    ("cancel", service.Cancel),
    ("appeal", service.Appeal),
    ("appeal-outcome", service.AppealOutcome),
):
    _action_route(_path, _model, (_model.__doc__ or "").strip())
