"""``/v1/claims``: the billing system asks before it sends a claim, and tells us when it posts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from precert.domain.claims import ClaimLine, ClaimLineCheck, ClaimVerdict
from precert.domain.codes import CodeSystem
from precert.services import claims as service
from precert.web.deps import CurrentAccess, PrecertDep, UnitOfWorkDep

router = APIRouter(prefix="/v1/claims", tags=["billing"])


class ClaimLineIn(BaseModel):
    """One claim line."""

    model_config = ConfigDict(extra="forbid")
    code_system: CodeSystem
    code: str = Field(min_length=1, max_length=13)
    service_date: date
    units: Decimal = Field(gt=0)


class ClaimIn(BaseModel):
    """A claim for one patient and payer."""

    model_config = ConfigDict(extra="forbid")
    patient_id: str = Field(min_length=1, max_length=64)
    payer_id: str = Field(min_length=1, max_length=64)
    lines: list[ClaimLineIn] = Field(min_length=1, max_length=100)


class PostedClaimIn(ClaimIn):
    """A claim that has been sent; its reference makes posting idempotent."""

    claim_reference: str = Field(min_length=1, max_length=80)


class ClaimLineOut(BaseModel):
    """The verdict for one claim line."""

    covered: bool
    verdict: ClaimVerdict
    reason: str
    authorization_id: str | None
    certification_number: str | None
    units_remaining: Decimal | None


class ClaimOut(BaseModel):
    """Whether the whole claim is covered, line by line."""

    covered: bool
    lines: list[ClaimLineOut]


def _out(checks: list[ClaimLineCheck]) -> ClaimOut:
    return ClaimOut(
        covered=all(c.covered for c in checks),
        lines=[
            ClaimLineOut(
                covered=c.covered,
                verdict=c.verdict,
                reason=c.reason,
                authorization_id=c.authorization_id,
                certification_number=c.certification_number,
                units_remaining=c.units_remaining,
            )
            for c in checks
        ],
    )


def _lines(body: ClaimIn) -> list[ClaimLine]:
    return [
        ClaimLine(line.code_system, line.code.strip().upper(), line.service_date, line.units)
        for line in body.lines
    ]


@router.post("/check", response_model=ClaimOut)
def check_claim(
    body: ClaimIn, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> ClaimOut:
    """Is each line covered by a valid authorization (code, dates, units remaining)?"""
    return _out(
        service.check_claim(
            uow,
            access,
            patient_id=body.patient_id,
            payer_id=body.payer_id,
            lines=_lines(body),
            clock=precert.clock,
        )
    )


@router.post("/post", response_model=ClaimOut)
def post_claim(
    body: PostedClaimIn, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> ClaimOut:
    """The claim posted: use its units (all lines or none; a repeat changes nothing)."""
    return _out(
        service.post_claim(
            uow,
            access,
            claim_reference=body.claim_reference,
            patient_id=body.patient_id,
            payer_id=body.payer_id,
            lines=_lines(body),
            clock=precert.clock,
        )
    )
