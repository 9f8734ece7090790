"""Appeal routes: price the options, draft the letter (PDF), book and record peer-to-peer calls."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from precert.adapters.letters import appeal_letter_pdf
from precert.domain.appeals import AppealLevel
from precert.services import appeals as service
from precert.web.api.authorizations import AuthorizationResource, resource
from precert.web.deps import CurrentAccess, PrecertDep, UnitOfWorkDep

router = APIRouter(prefix="/v1/authorizations/{authorization_id}", tags=["appeals"])


class AppealOption(BaseModel):
    """One level that is still open, with its expected value."""

    level: AppealLevel
    file_by: date
    decision_expected_by: date
    probability: Decimal
    probability_source: str
    amount_at_stake: Decimal
    staff_cost: Decimal
    expected_value: Decimal
    worth_appealing: bool


class LetterIn(BaseModel):
    """What the letter argues and what it encloses."""

    model_config = ConfigDict(extra="forbid")
    level: AppealLevel
    clinical_rationale: str = Field(min_length=20, max_length=20000)
    enclosures: list[str] = Field(default_factory=list, max_length=50)


class PeerToPeerIn(BaseModel):
    """A call booked with the payer's medical director."""

    model_config = ConfigDict(extra="forbid")
    at: datetime
    payer_contact: str = Field(min_length=1, max_length=200)
    physician: str = Field(min_length=1, max_length=200)


class PeerToPeerOutcomeIn(BaseModel):
    """How the call went."""

    model_config = ConfigDict(extra="forbid")
    outcome: str = Field(min_length=1, max_length=200)
    notes: str = Field(default="", max_length=4000)
    minutes: int = Field(ge=0, le=600)


@router.get("/appeal-options", response_model=list[AppealOption])
def appeal_options(
    authorization_id: str, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> list[AppealOption]:
    """The expected value of appealing at each level still open."""
    options = service.appeal_options(uow, access, authorization_id, precert.clock)
    return [AppealOption(**vars(o), worth_appealing=o.worth_appealing) for o in options]


@router.post(
    "/appeal-letter",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The letter as PDF"}},
)
def appeal_letter(
    authorization_id: str,
    body: LetterIn,
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> Response:
    """Draft the appeal letter: the denial quoted, the payer's rule cited, the rationale."""
    drafted = service.draft_appeal_letter(
        uow,
        access,
        authorization_id,
        level=body.level,
        clinical_rationale=body.clinical_rationale,
        enclosures=body.enclosures,
        clock=precert.clock,
        cite=service.policy_citations(precert.policy),
        render_pdf=appeal_letter_pdf,
    )
    filename = f"appeal-{body.level.value}-{authorization_id[:8]}.pdf"
    return Response(
        drafted.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/peer-to-peer", response_model=AuthorizationResource)
def schedule_peer_to_peer(
    authorization_id: str,
    body: PeerToPeerIn,
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> AuthorizationResource:
    """Book the peer-to-peer call."""
    return resource(
        service.schedule_peer_to_peer(
            uow,
            access,
            authorization_id,
            at=body.at,
            payer_contact=body.payer_contact,
            physician=body.physician,
            clock=precert.clock,
        )
    )


@router.post("/peer-to-peer/outcome", response_model=AuthorizationResource)
def record_peer_to_peer(
    authorization_id: str,
    body: PeerToPeerOutcomeIn,
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
) -> AuthorizationResource:
    """Record how the peer-to-peer call went."""
    return resource(
        service.record_peer_to_peer(
            uow,
            access,
            authorization_id,
            outcome=body.outcome,
            notes=body.notes,
            minutes=body.minutes,
            clock=precert.clock,
        )
    )
