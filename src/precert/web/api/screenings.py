"""``/v1/screenings``: screen a whole schedule file as a background job.

``POST`` takes the file as the raw body (``text/csv`` or ``application/x-ndjson``, up to
50 MB, far past the JSON limit), keeps it and answers 202 with the screening's id; the
worker's sweep picks up the ``screen`` job and runs the same screening as
``precert screen``. ``GET /v1/screenings/{id}`` shows status, rows done of the total and
the summary; ``GET /v1/screenings/{id}/result.csv`` downloads the annotated CSV.
Another organization's screening is not found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel

from precert.domain.access import Permission
from precert.services.screening import (
    FORMATS,
    Screening,
    get_screening,
    screening_result,
    start_screening,
)
from precert.web.deps import CurrentAccess, PrecertDep, UnitOfWorkDep

router = APIRouter(tags=["screenings"])
#: The upload route; ``BodyGuard`` gives it the schedule size limit.
SCREENINGS_PATH = "/v1/screenings"


class ScreeningOut(BaseModel):
    """Where a screening stands, and where its result will be."""

    id: str
    status: str
    rows_total: int | None
    rows_done: int
    summary: dict[str, Any] | None
    error: str | None
    result_url: str | None
    created_at: datetime
    updated_at: datetime


def _out(screening: Screening) -> ScreeningOut:
    done = screening.status == "done"
    return ScreeningOut(
        id=screening.id,
        status=screening.status,
        rows_total=screening.rows_total,
        rows_done=screening.rows_done,
        summary=dict(screening.summary) if screening.summary is not None else None,
        error=screening.error,
        result_url=f"{SCREENINGS_PATH}/{screening.id}/result.csv" if done else None,
        created_at=screening.created_at,
        updated_at=screening.updated_at,
    )


async def _schedule(request: Request) -> bytes:
    """The raw body; read here so the route itself can stay synchronous (database work)."""
    return await request.body()


@router.post(SCREENINGS_PATH, status_code=202)
def create_screening(
    request: Request,
    response: Response,
    schedule: Annotated[bytes, Depends(_schedule)],
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    access: CurrentAccess,
) -> ScreeningOut:
    """Accept a schedule file for screening; poll the Location for progress and result."""
    access.require(Permission.DISCOVER_REQUIREMENTS)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    file_format = FORMATS.get(media_type)
    if file_format is None:
        raise HTTPException(
            status_code=415,
            detail=f"send the schedule as {' or '.join(FORMATS)} "
            f"(got {media_type or 'no content type'})",
        )
    screening = start_screening(uow, access, schedule, file_format, precert.clock)
    response.headers["Location"] = f"{SCREENINGS_PATH}/{screening.id}"
    return _out(screening)


@router.get(SCREENINGS_PATH + "/{screening_id}")
def show_screening(
    screening_id: str, uow: UnitOfWorkDep, precert: PrecertDep, access: CurrentAccess
) -> ScreeningOut:
    """Status, progress (rows done of the total) and, once done, the summary."""
    return _out(get_screening(uow, access, screening_id, precert.clock))


@router.get(
    SCREENINGS_PATH + "/{screening_id}/result.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def download_screening(
    screening_id: str, uow: UnitOfWorkDep, precert: PrecertDep, access: CurrentAccess
) -> Response:
    """The annotated CSV; 409 while the screening has not finished."""
    annotated = screening_result(uow, access, screening_id, precert.clock)
    if annotated is None:
        raise HTTPException(status_code=409, detail="the screening has not finished yet")
    return Response(
        content=annotated,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="screening-{screening_id}.csv"'},
    )
