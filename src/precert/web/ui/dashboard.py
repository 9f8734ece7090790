"""Analytics screens: the dashboard, payer scorecards and the CMS-0057-F public report.

The numbers come from ``precert.services.analytics`` (metrics are defined once
there); this module only lays them out as Plotly figures and tables. Each chart
has a CSV download of exactly the data it plots. Figures are built here as
JSON and drawn by ``static/charts.js`` with the Plotly bundle served from the
installed Python package, so the pages work offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import plotly.graph_objects as go
from fastapi import APIRouter, Request, Response

from precert.analytics import cms0057f
from precert.analytics.metrics import Dashboard, MetricFilter, PayerScorecard, Period, Rate
from precert.domain.authorization import ServiceCategory, Urgency
from precert.domain.errors import NotFound
from precert.services import analytics
from precert.web.deps import PrecertDep, UnitOfWorkDep
from precert.web.ui import present
from precert.web.ui.frame import UiRoute, ViewerDep, page

router = APIRouter(route_class=UiRoute, include_in_schema=False)

#: Months the dashboard covers unless a year is chosen.
DEFAULT_MONTHS = 12
_BLUE, _GREEN, _RED, _AMBER, _GREY = "#1d4ed8", "#15803d", "#b91c1c", "#b45309", "#64748b"


@dataclass(frozen=True)
class ChartView:
    """One chart on a page: its id, title, a text summary for screen readers, and the figure."""

    id: str
    title: str
    summary: str
    figure: str
    csv: str
    wide: bool = False


def _percent(rate: Rate | None) -> str:
    return "—" if rate is None or rate.value is None else f"{rate.value:.1%}"


def _short(text: str, limit: int = 44) -> str:
    # Long payer reason texts squeeze a bar chart; the CSV and the hover keep them whole.
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _figure(fig: go.Figure, *, height: int = 320, percent_axis: bool = False) -> str:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 48, "r": 16, "t": 32, "b": 48},
        font={"family": "system-ui, sans-serif", "size": 13, "color": "#1f2933"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    # Long payer and state names need room: let the axes size their own margins.
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    if percent_axis:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return str(fig.to_json())


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters as chosen on the page (and carried into its CSV links)."""

    payer: str
    category: str
    urgency: str
    year: str

    def metric_filter(self, today: date) -> MetricFilter:
        """The analytics filter these choices mean."""
        period = (
            Period.year(int(self.year))
            if self.year.isdigit()
            else Period.last_months(today, DEFAULT_MONTHS)
        )
        return MetricFilter(
            payer_id=self.payer or None,
            category=ServiceCategory(self.category) if self.category else None,
            urgency=Urgency(self.urgency) if self.urgency else None,
            period=period,
        )

    @property
    def query(self) -> str:
        """The filters as a query string for links."""
        parts = {"payer": self.payer, "category": self.category, "urgency": self.urgency}
        parts["year"] = self.year
        return "&".join(f"{k}={v}" for k, v in parts.items() if v)


def _filters(payer: str, category: str, urgency: str, year: str, payer_ids: set[str]) -> Filters:
    return Filters(
        payer=payer if payer in payer_ids else "",
        category=category if category in {c.value for c in ServiceCategory} else "",
        urgency=urgency if urgency in {u.value for u in Urgency} else "",
        year=year if year.isdigit() and 2000 <= int(year) <= 2100 else "",
    )


def dashboard_charts(board: Dashboard, query: str) -> list[ChartView]:
    """The dashboard's charts: trend, decision time, denials, appeals, staff time, risk, waits."""
    csv = f"/ui/dashboard.csv?{query}&chart=" if query else "/ui/dashboard.csv?chart="
    months = [p.month.isoformat() for p in board.trend]
    trend = go.Figure()
    trend.add_bar(
        x=months, y=[p.submitted for p in board.trend], name="Submitted", marker_color="#93c5fd"
    )
    trend.add_scatter(
        x=months,
        y=[p.first_pass.value for p in board.trend],
        name="First-pass approval",
        yaxis="y2",
        mode="lines+markers",
        line={"color": _GREEN, "width": 3},
    )
    trend.add_scatter(
        x=months,
        y=[p.denial.value for p in board.trend],
        name="Denial rate",
        yaxis="y2",
        mode="lines+markers",
        line={"color": _RED, "width": 3, "dash": "dot"},
    )
    trend.update_layout(
        yaxis={"title": "Requests submitted"},
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%", "range": [0, 1]},
        shapes=[
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y2",
                "y0": board.first_pass_target,
                "y1": board.first_pass_target,
                "line": {"color": _GREEN, "dash": "dash", "width": 1},
            }
        ],
    )
    hours = board.decision_time.hours
    decision = go.Figure(
        go.Bar(
            x=["Mean", "Median", "90th percentile"],
            y=[hours.mean, hours.median, hours.p90],
            marker_color=_BLUE,
            text=[
                f"{v:.0f} h" if v is not None else "" for v in (hours.mean, hours.median, hours.p90)
            ],
            textposition="outside",
        )
    )
    decision.add_hline(y=72, line_dash="dash", line_color=_RED, annotation_text="72 h expedited")
    decision.add_hline(
        y=168, line_dash="dash", line_color=_AMBER, annotation_text="7 days standard"
    )
    decision.update_yaxes(title="Hours, submission to decision")
    reasons = list(reversed(board.top_denial_reasons))
    denials = go.Figure(
        go.Bar(
            y=[_short(r.text) for r in reasons],
            customdata=[r.code for r in reasons],
            hovertemplate="%{y} (%{customdata}): %{x}<extra></extra>",
            x=[r.count for r in reasons],
            orientation="h",
            marker_color=_RED,
        )
    )
    denials.update_yaxes(automargin=True)
    denials.update_xaxes(title="Denials", dtick=1 if reasons and reasons[-1].count < 10 else None)
    appeals = go.Figure(
        go.Bar(
            x=[present.APPEAL_LABELS[a.level] for a in board.appeals],
            y=[a.overturn.value for a in board.appeals],
            marker_color=_GREEN,
            customdata=[a.filed for a in board.appeals],
            hovertemplate="%{x}: %{y:.0%} overturned of %{customdata} filed<extra></extra>",
        )
    )
    staff = go.Figure(
        go.Bar(
            x=[present.CATEGORY_LABELS[s.category] for s in board.staff_time],
            y=[s.minutes_per_request for s in board.staff_time],
            marker_color=_BLUE,
        )
    )
    staff.update_yaxes(title="Staff minutes per request")
    risk = board.revenue_at_risk
    revenue = go.Figure(
        go.Bar(
            x=[f"Pending, service within {risk.window_days} days", "Denied"],
            y=[float(risk.pending_amount), float(risk.denied_amount)],
            marker_color=[_AMBER, _RED],
            text=[present.money(risk.pending_amount), present.money(risk.denied_amount)],
            textposition="outside",
        )
    )
    revenue.update_yaxes(title="US dollars", tickprefix="$")
    waits = go.Figure(
        go.Bar(
            x=[present.status_label(s.state) for s in board.bottlenecks],
            y=[s.median_hours for s in board.bottlenecks],
            marker_color=_GREY,
        )
    )
    waits.update_yaxes(title="Median hours in state")
    top = board.top_denial_reasons[0] if board.top_denial_reasons else None
    slowest = max(board.bottlenecks, key=lambda s: s.median_hours or 0, default=None)
    return [
        ChartView(
            "trend",
            "Monthly volume, first-pass approval and denials",
            f"First-pass approval {_percent(board.first_pass)} against a target of "
            f"{board.first_pass_target:.0%}; denial rate {_percent(board.denial)}.",
            _figure(trend, height=360),
            csv + analytics.Chart.TREND.value,
            wide=True,
        ),
        ChartView(
            "decision-time",
            "Decision time against the regulatory clocks",
            f"Median {hours.median} hours, 90th percentile {hours.p90} hours, over "
            f"{hours.count} decisions.",
            _figure(decision),
            csv + analytics.Chart.DECISION_TIME.value,
        ),
        ChartView(
            "denial-reasons",
            "Top denial reasons",
            f"Most frequent: {top.text} ({top.count})." if top else "No denials in the period.",
            _figure(denials),
            csv + analytics.Chart.DENIAL_REASONS.value,
            wide=True,
        ),
        ChartView(
            "appeals",
            "Appeal overturn rate by level",
            "; ".join(
                f"{present.APPEAL_LABELS[a.level]}: {_percent(a.overturn)} overturned of "
                f"{a.filed} filed"
                for a in board.appeals
                if a.filed
            )
            or "No appeals in the period.",
            _figure(appeals, percent_axis=True),
            csv + analytics.Chart.APPEALS.value,
        ),
        ChartView(
            "staff-time",
            "Staff minutes per request by service category",
            "; ".join(
                f"{present.CATEGORY_LABELS[s.category]} {s.minutes_per_request or 0:.0f} min"
                for s in board.staff_time
            ),
            _figure(staff),
            csv + analytics.Chart.STAFF_TIME.value,
        ),
        ChartView(
            "revenue-at-risk",
            "Revenue at risk",
            f"{present.money(risk.pending_amount)} pending with service within "
            f"{risk.window_days} days; {present.money(risk.denied_amount)} denied.",
            _figure(revenue),
            csv + analytics.Chart.REVENUE_AT_RISK.value,
        ),
        ChartView(
            "bottlenecks",
            "Where requests wait (median hours in each state)",
            f"Longest wait: {present.status_label(slowest.state)}, median "
            f"{slowest.median_hours} hours."
            if slowest
            else "No waits recorded.",
            _figure(waits),
            csv + analytics.Chart.BOTTLENECKS.value,
        ),
    ]


@router.get("/ui/dashboard")
def dashboard_page(
    request: Request,
    viewer: ViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    payer: str = "",
    category: str = "",
    urgency: str = "",
    year: str = "",
) -> Response:
    """The revenue-cycle manager's Monday view: rates, clocks, denials, risk and waits."""
    payers = {p.id: p for p in uow.directory.payers()}
    chosen = _filters(payer, category, urgency, year, set(payers))
    today = precert.clock.now().astimezone(viewer.tz).date()
    board = analytics.dashboard(uow, viewer.context, chosen.metric_filter(today), precert.clock)
    return page(
        request,
        viewer,
        "dashboard.html",
        board=board,
        charts=dashboard_charts(board, chosen.query),
        filters=chosen,
        payers=sorted(payers.values(), key=lambda p: p.name),
        categories=list(ServiceCategory),
        years=list(range(today.year, today.year - 4, -1)),
        percent=_percent,
    )


@router.get("/ui/dashboard.csv")
def dashboard_csv(
    viewer: ViewerDep,
    uow: UnitOfWorkDep,
    precert: PrecertDep,
    chart: str,
    payer: str = "",
    category: str = "",
    urgency: str = "",
    year: str = "",
) -> Response:
    """The data behind one dashboard chart, as a CSV download."""
    try:
        which = analytics.Chart(chart)
    except ValueError as exc:
        raise NotFound(f"no chart {chart!r}") from exc
    payer_ids = {p.id for p in uow.directory.payers()}
    chosen = _filters(payer, category, urgency, year, payer_ids)
    today = precert.clock.now().astimezone(viewer.tz).date()
    board = analytics.dashboard(uow, viewer.context, chosen.metric_filter(today), precert.clock)
    return _download(analytics.dashboard_csv(board, which), f"precert-{which.value}.csv")


def _download(text: str, filename: str, media_type: str = "text/csv") -> Response:
    return Response(
        text,
        media_type=f"{media_type}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def scorecard_charts(cards: tuple[PayerScorecard, ...], names: dict[str, str]) -> list[ChartView]:
    """Payers side by side: first pass and denials, and decision time against the clocks."""
    labels = [names.get(c.payer_id, c.payer_id) for c in cards]
    rates = go.Figure()
    rates.add_bar(
        x=labels,
        y=[c.first_pass.value for c in cards],
        name="First-pass approval",
        marker_color=_GREEN,
    )
    rates.add_bar(
        x=labels, y=[c.denial.value for c in cards], name="Denial rate", marker_color=_RED
    )
    rates.add_bar(
        x=labels, y=[c.pended.value for c in cards], name="Pended share", marker_color=_AMBER
    )
    times = go.Figure()
    times.add_bar(
        x=labels, y=[c.decision_time.hours.median for c in cards], name="Median", marker_color=_BLUE
    )
    times.add_bar(
        x=labels,
        y=[c.decision_time.hours.p90 for c in cards],
        name="90th percentile",
        marker_color="#93c5fd",
    )
    times.add_hline(y=168, line_dash="dash", line_color=_AMBER, annotation_text="7 days")
    times.update_yaxes(title="Hours, submission to decision")
    best = max(cards, key=lambda c: c.first_pass.value or 0, default=None)
    return [
        ChartView(
            "payer-rates",
            "First-pass approval, denials and pends by payer",
            f"Highest first-pass approval: {names.get(best.payer_id, best.payer_id)} "
            f"{_percent(best.first_pass)}."
            if best
            else "No submissions in the period.",
            _figure(rates, percent_axis=True),
            "/ui/scorecards.csv",
        ),
        ChartView(
            "payer-decision-time",
            "Decision time by payer",
            "; ".join(
                f"{names.get(c.payer_id, c.payer_id)} median {c.decision_time.hours.median} h"
                for c in cards
            ),
            _figure(times),
            "/ui/scorecards.csv",
        ),
    ]


@router.get("/ui/scorecards")
def scorecards_page(
    request: Request, viewer: ViewerDep, uow: UnitOfWorkDep, precert: PrecertDep
) -> Response:
    """One scorecard per payer: speed, first pass, denials, pends, missed clocks."""
    names = {p.id: p.name for p in uow.directory.payers()}
    today = precert.clock.now().astimezone(viewer.tz).date()
    flt = MetricFilter(period=Period.last_months(today, DEFAULT_MONTHS))
    cards = analytics.payer_scorecards(uow, viewer.context, flt, precert.clock)
    return page(
        request,
        viewer,
        "scorecards.html",
        cards=cards,
        names=names,
        charts=scorecard_charts(cards, names),
        percent=_percent,
        months=DEFAULT_MONTHS,
    )


@router.get("/ui/scorecards.csv")
def scorecards_csv(viewer: ViewerDep, uow: UnitOfWorkDep, precert: PrecertDep) -> Response:
    """The payer scorecards as a CSV download."""
    today = precert.clock.now().astimezone(viewer.tz).date()
    flt = MetricFilter(period=Period.last_months(today, DEFAULT_MONTHS))
    cards = analytics.payer_scorecards(uow, viewer.context, flt, precert.clock)
    return _download(analytics.scorecards_csv(cards), "precert-payer-scorecards.csv")


def _report_year(year: str, today: date) -> int:
    # The report covers a finished year by default: last year's is the one to publish.
    return int(year) if year.isdigit() and 2000 <= int(year) <= today.year else today.year - 1


@router.get("/ui/reports/cms-0057-f")
def cms_report_page(
    request: Request, viewer: ViewerDep, uow: UnitOfWorkDep, precert: PrecertDep, year: str = ""
) -> Response:
    """The CMS-0057-F public report for a year, with CSV and JSON downloads."""
    today = precert.clock.now().astimezone(viewer.tz).date()
    chosen = _report_year(year, today)
    report = analytics.cms_report(uow, viewer.context, chosen, precert.clock)
    return page(
        request,
        viewer,
        "cms_report.html",
        report=report,
        years=list(range(today.year, today.year - 5, -1)),
        percent=_percent,
        hours=lambda value: "—" if value is None else f"{value:.1f}",
    )


@router.get("/ui/reports/cms-0057-f.{form}")
def cms_report_download(
    form: str, viewer: ViewerDep, uow: UnitOfWorkDep, precert: PrecertDep, year: str = ""
) -> Response:
    """The report as CSV or JSON."""
    if form not in ("csv", "json"):
        raise NotFound(f"no report format {form!r}")
    today = precert.clock.now().astimezone(viewer.tz).date()
    chosen = _report_year(year, today)
    report = analytics.cms_report(uow, viewer.context, chosen, precert.clock)
    media = "text/csv" if form == "csv" else "application/json"
    return _download(cms0057f.render(report, form), f"cms-0057-f-{chosen}.{form}", media)
