"""``/v1/webhooks``: admins register endpoints that receive signed status-change events."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from precert.domain import webhooks as rules
from precert.services import webhooks as service
from precert.web.deps import CurrentAccess, PrecertDep, UnitOfWorkDep

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class EndpointIn(BaseModel):
    """Where to send events, and which ones (all status changes when empty)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000)
    event_types: list[str] = Field(default_factory=list, max_length=len(rules.SUBSCRIBABLE))


class EndpointCreated(BaseModel):
    """The new endpoint; ``secret`` is shown this once: verify every delivery with it."""

    id: str
    url: str
    event_types: list[str]
    secret: str
    signature_header: str = rules.SIGNATURE_HEADER


@router.post("", status_code=201, response_model=EndpointCreated)
def register_endpoint(
    body: EndpointIn, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> EndpointCreated:
    """Register an endpoint; events from now on are delivered to it in order, signed."""
    endpoint, secret = service.register_endpoint(
        uow, access, url=body.url, event_types=body.event_types, clock=precert.clock
    )
    return EndpointCreated(
        id=endpoint.id, url=endpoint.url, event_types=list(endpoint.event_types), secret=secret
    )
