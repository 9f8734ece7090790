"""``/v1/scheduling/check``: the scheduling system asks before it confirms an appointment."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from precert.services import scheduling as service
from precert.web.deps import CurrentAccess, PrecertDep, UnitOfWorkDep

router = APIRouter(prefix="/v1/scheduling", tags=["scheduling"])


class LineGateOut(BaseModel):
    """One line of the appointment."""

    index: int
    needs_authorization: bool
    covered: bool
    reason: str
    submit_by: date | None
    authorization_id: str | None


class AppointmentCheckOut(BaseModel):
    """``confirm``, or ``hold`` until ``authorization_id`` is approved (then check again)."""

    verdict: service.Verdict
    authorization_id: str | None
    lines: list[LineGateOut]


@router.post("/check", response_model=AppointmentCheckOut)
def check_appointment(
    body: service.Appointment, access: CurrentAccess, uow: UnitOfWorkDep, precert: PrecertDep
) -> AppointmentCheckOut:
    """May the appointment be confirmed? A hold opens the draft request it waits on, once."""
    result = service.check_appointment(uow, access, body, precert.policy, precert.clock)
    return AppointmentCheckOut(
        verdict=result.verdict,
        authorization_id=result.authorization_id,
        lines=[LineGateOut(**vars(g)) for g in result.lines],
    )
