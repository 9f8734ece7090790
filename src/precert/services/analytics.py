"""Analytics for the web UI, the API and the CLI: dashboard, payer scorecards, CMS-0057-F report.

Every function requires ``Permission.READ_ANALYTICS``. Metrics are aggregates,
not patient data, so reading them is not audited per patient; running the
CMS-0057-F public report is audited once, as ``subject_type="report"``.
Each chart's data has a CSV rendering (``dashboard_csv``, ``scorecards_csv``).

Typical use::

    with precert.uow() as uow:
        board = dashboard(uow, context, MetricFilter(period=Period.year(2026)), precert.clock)
        csv_text = dashboard_csv(board, Chart.TREND)
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Connection

from precert.analytics import cms0057f, queries
from precert.analytics.cms0057f import Cms0057fReport
from precert.analytics.metrics import (
    Dashboard,
    MetricFilter,
    PayerScorecard,
    Rate,
    Summary,
)
from precert.domain.access import Permission
from precert.policy import PolicyEngine, shipped_engine
from precert.ports import Clock, UnitOfWork
from precert.services.access import AccessContext, audit

REPORT_SUBJECT = "report"


class AnalyticsUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also exposes its database connection (the SQL unit of work does)."""

    @property
    def connection(self) -> Connection:
        """The open connection the metrics are read on."""
        ...


def dashboard(
    uow: AnalyticsUnitOfWork, context: AccessContext, flt: MetricFilter, clock: Clock
) -> Dashboard:
    """Every dashboard metric for the caller's organization, filtered, as of now."""
    context.require(Permission.READ_ANALYTICS)
    tz = queries.organization_timezone(uow.connection, context.organization_id)
    return queries.dashboard(uow.connection, context.organization_id, flt, clock.now(), tz)


def payer_scorecards(
    uow: AnalyticsUnitOfWork, context: AccessContext, flt: MetricFilter, clock: Clock
) -> tuple[PayerScorecard, ...]:
    """One scorecard per payer (decision time, first pass, denials, pends, missed clocks),
    named as the payer directory names it (a payer no longer listed keeps its id only)."""
    context.require(Permission.READ_ANALYTICS)
    tz = queries.organization_timezone(uow.connection, context.organization_id)
    cards = queries.scorecards(uow.connection, context.organization_id, flt, clock.now(), tz)
    named = []
    for card in cards:
        payer = uow.directory.payer(card.payer_id)
        named.append(dataclasses.replace(card, payer_name=payer.name if payer else None))
    return tuple(named)


def cms_report(
    uow: AnalyticsUnitOfWork,
    context: AccessContext,
    year: int,
    clock: Clock,
    *,
    payer_id: str | None = None,
    policy: PolicyEngine | None = None,
) -> Cms0057fReport:
    """The CMS-0057-F public report for ``year``; the run is audited and committed.

    The list of items requiring prior authorization comes from ``policy`` (the
    shipped policy packs by default).
    """
    context.require(Permission.READ_ANALYTICS)
    items = cms0057f.items_from_packs(policy or shipped_engine(), year)
    report = cms0057f.build_report(
        uow.connection, context.organization_id, year, items, payer_id=payer_id
    )
    audit(
        uow,
        context,
        clock.now(),
        "read",
        REPORT_SUBJECT,
        [f"cms-0057-f:{year}"],
        payer=payer_id or "all",
    )
    uow.commit()
    return report


# --- CSV for every chart -------------------------------------------------------------


class Chart(StrEnum):
    """The dashboard's charts, each with a CSV download."""

    RATES = "rates"
    TREND = "trend"
    DECISION_TIME = "decision-time"
    DENIAL_REASONS = "denial-reasons"
    APPEALS = "appeals"
    STAFF_TIME = "staff-time"
    REVENUE_AT_RISK = "revenue-at-risk"
    BOTTLENECKS = "bottlenecks"


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue()


def _rate(name: str, rate: Rate) -> tuple[object, ...]:
    return (name, rate.numerator, rate.denominator, rate.value)


def _summary(unit: str, summary: Summary) -> tuple[object, ...]:
    return (unit, summary.count, summary.mean, summary.median, summary.p90)


def dashboard_csv(board: Dashboard, chart: Chart) -> str:
    """The data behind one dashboard chart, as CSV with a header row."""
    if chart is Chart.RATES:
        return _csv(
            ("metric", "numerator", "denominator", "value"),
            [
                _rate("first_pass_approval", board.first_pass),
                ("first_pass_target", None, None, board.first_pass_target),
                _rate("approval", board.approval),
                _rate("denial", board.denial),
                _rate("pended", board.pended),
                _rate("missed_regulatory_clock", board.clocks.missed),
                ("overdue_now", board.clocks.overdue_now, None, None),
            ],
        )
    if chart is Chart.TREND:
        return _csv(
            (
                "month",
                "submitted",
                "first_pass_rate",
                "denial_rate",
                "decision_hours_mean",
                "decision_hours_median",
                "decision_hours_p90",
            ),
            [
                (
                    p.month.isoformat(),
                    p.submitted,
                    p.first_pass.value,
                    p.denial.value,
                    p.decision_hours.mean,
                    p.decision_hours.median,
                    p.decision_hours.p90,
                )
                for p in board.trend
            ],
        )
    if chart is Chart.DECISION_TIME:
        return _csv(
            ("unit", "count", "mean", "median", "p90"),
            [
                _summary("calendar_hours", board.decision_time.hours),
                _summary("business_days", board.decision_time.business_days),
            ],
        )
    if chart is Chart.DENIAL_REASONS:
        return _csv(
            ("code", "text", "count"),
            [(r.code, r.text, r.count) for r in board.top_denial_reasons],
        )
    if chart is Chart.APPEALS:
        return _csv(
            ("level", "filed", "decided", "overturned", "overturn_rate"),
            [
                (
                    a.level.value,
                    a.filed,
                    a.overturn.denominator,
                    a.overturn.numerator,
                    a.overturn.value,
                )
                for a in board.appeals
            ],
        )
    if chart is Chart.STAFF_TIME:
        return _csv(
            ("category", "requests", "touches", "minutes", "minutes_per_request"),
            [
                (s.category.value, s.requests, s.touches, s.minutes, s.minutes_per_request)
                for s in board.staff_time
            ],
        )
    if chart is Chart.REVENUE_AT_RISK:
        risk = board.revenue_at_risk
        return _csv(
            ("kind", "requests", "amount"),
            [
                (
                    f"pending_service_within_{risk.window_days}_days",
                    risk.pending_requests,
                    risk.pending_amount,
                ),
                ("denied", risk.denied_requests, risk.denied_amount),
            ],
        )
    return _csv(
        ("state", "requests", "median_hours", "mean_hours"),
        [(s.state.value, s.requests, s.median_hours, s.mean_hours) for s in board.bottlenecks],
    )


def scorecards_csv(cards: Sequence[PayerScorecard]) -> str:
    """The payer scorecards as CSV, one row per payer."""
    return _csv(
        (
            "payer_id",
            "payer_name",
            "submitted",
            "decision_hours_mean",
            "decision_hours_median",
            "decision_hours_p90",
            "decision_business_days_median",
            "first_pass_rate",
            "denial_rate",
            "pended_share",
            "missed_clocks",
            "missed_clock_rate",
            "overdue_now",
            "top_denial_reason",
        ),
        [
            (
                c.payer_id,
                c.payer_name,
                c.submitted,
                c.decision_time.hours.mean,
                c.decision_time.hours.median,
                c.decision_time.hours.p90,
                c.decision_time.business_days.median,
                c.first_pass.value,
                c.denial.value,
                c.pended.value,
                c.clocks.missed.numerator,
                c.clocks.missed.value,
                c.clocks.overdue_now,
                c.top_denial_reasons[0].code if c.top_denial_reasons else None,
            )
            for c in cards
        ],
    )
