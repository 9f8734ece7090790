"""``/v1/analytics``: the dashboard, payer scorecards and the CMS-0057-F report, as JSON or CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response

from precert.analytics import cms0057f
from precert.analytics.cms0057f import Cms0057fReport
from precert.analytics.metrics import Dashboard, MetricFilter, PayerScorecard, Period
from precert.domain.authorization import LineOfBusiness, ServiceCategory, Urgency
from precert.services import analytics as service
from precert.web.deps import CurrentAccess, PrecertDep, UnitOfWorkDep

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
_CSV = {"content": {"text/csv": {}}, "description": "The same data as CSV (format=csv)"}


def _month(value: str) -> date:
    year, month = value.split("-")
    return date(int(year), int(month), 1)


def _filter(
    payer: str | None,
    category: ServiceCategory | None,
    urgency: Urgency | None,
    first_month: str | None,
    last_month: str | None,
    line_of_business: LineOfBusiness | None = None,
) -> MetricFilter:
    period = None
    if first_month or last_month:
        if not (first_month and last_month):
            raise HTTPException(400, "give both 'from' and 'to' (YYYY-MM), or neither")
        try:
            period = Period(_month(first_month), _month(last_month))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
    return MetricFilter(
        payer_id=payer,
        category=category,
        urgency=urgency,
        period=period,
        lines_of_business=None if line_of_business is None else frozenset({line_of_business}),
    )


Payer = Annotated[str | None, Query(description="Only this payer's requests")]
Category = Annotated[ServiceCategory | None, Query(description="Only this service category")]
UrgencyFilter = Annotated[Urgency | None, Query(description="Only standard or expedited")]
LineFilter = Annotated[
    LineOfBusiness | None, Query(description="Only this line of business (coverage's product)")
]
FromMonth = Annotated[
    str | None,
    Query(alias="from", pattern=_MONTH, description="First month of first submission, YYYY-MM"),
]
ToMonth = Annotated[
    str | None, Query(alias="to", pattern=_MONTH, description="Last month (inclusive), YYYY-MM")
]


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/dashboard", response_model=Dashboard, responses={200: _CSV})
def get_dashboard(
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    payer: Payer = None,
    category: Category = None,
    urgency: UrgencyFilter = None,
    line_of_business: LineFilter = None,
    first_month: FromMonth = None,
    last_month: ToMonth = None,
    form: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    chart: Annotated[
        service.Chart, Query(description="Which chart's data, for format=csv")
    ] = service.Chart.RATES,
) -> Dashboard | Response:
    """Every dashboard metric; with ``format=csv``, the data of one ``chart``."""
    flt = _filter(payer, category, urgency, first_month, last_month, line_of_business)
    board = service.dashboard(uow, access, flt, precert.clock)
    if form == "csv":
        return _csv(service.dashboard_csv(board, chart), f"dashboard-{chart.value}")
    return board


@router.get("/scorecards", response_model=list[PayerScorecard], responses={200: _CSV})
def get_scorecards(
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    category: Category = None,
    urgency: UrgencyFilter = None,
    line_of_business: LineFilter = None,
    first_month: FromMonth = None,
    last_month: ToMonth = None,
    form: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> list[PayerScorecard] | Response:
    """One scorecard per payer: decision time, first pass, denial reasons, pends, clocks."""
    flt = _filter(None, category, urgency, first_month, last_month, line_of_business)
    cards = service.payer_scorecards(uow, access, flt, precert.clock)
    if form == "csv":
        return _csv(service.scorecards_csv(cards), "payer-scorecards")
    return list(cards)


@router.get(
    "/cms-0057-f",
    response_model=Cms0057fReport,
    responses={200: {"content": {"text/csv": {}, "text/plain": {}}}},
)
def get_cms_report(
    access: CurrentAccess,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    year: Annotated[int, Query(ge=2000, le=2100, description="Calendar year reported")],
    payer: Payer = None,
    form: Annotated[Literal["json", "csv", "text"], Query(alias="format")] = "json",
) -> Cms0057fReport | Response:
    """The CMS-0057-F public report for a year (the run is audited)."""
    report = service.cms_report(uow, access, year, precert.clock, payer_id=payer)
    if form == "csv":
        return _csv(cms0057f.render_csv(report), f"cms-0057-f-{year}")
    if form == "text":
        return Response(cms0057f.render_text(report), media_type="text/plain; charset=utf-8")
    return report
