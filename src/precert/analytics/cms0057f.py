"""The CMS-0057-F yearly public report on prior authorization, and its text, CSV and JSON forms.

Exactly the rule's items, for one calendar year:

1. the list of items and services that require prior authorization: from the
   policy packs, every rule in force during the year that names codes and says
   prior authorization is needed (``auth-needed``) or may be (``conditional``);
2. for **standard** requests, the percentage approved, denied, approved after
   appeal, and approved after an extended review;
3. for **expedited** requests, the percentage approved and denied;
4. the average and median time from submission to decision, for standard and
   for expedited requests.

Scope: only the requests the rule governs. CMS-0057-F applies to Medicare
Advantage, Medicaid (and CHIP) managed care and exchange (QHP) plans, so requests
whose coverage's line of business is ``commercial`` are left out; and it excludes
drugs, so *drug requests* are left out too: those of the ``specialty_drug``
category and those with any service line coded as NDC (one NDC line excludes the
whole request, whose decision and decision time cannot be split by line). The
list of items from the packs is not filtered: it lists what the packs require.

Counting (the metric conventions of ``precert.analytics.metrics``): requests
count in the year of their first submission; percentages are over the
requests decided; *approved* is approved or modified, *denied* is denied or
partially approved; *approved after appeal* means the initial decision denied
(in whole or part) and an appeal overturned it; *approved after an extended
review* means the payer extended the standard clock (an ``authorization.extension``
event before the decision) and then approved. Decision times are in hours:
the average over exact elapsed time, the median over whole hours (nearest rank).
Every percentage is published with its numerator and denominator.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from precert.analytics import queries
from precert.analytics.facts import APPROVING_STATUSES, AuthorizationFacts
from precert.analytics.metrics import (
    Measure,
    MetricFilter,
    Period,
    Rate,
    Tally,
    approval_rate,
    decided_count,
    decision_hours,
    denial_rate,
    tally_facts,
)
from precert.domain.authorization import LineOfBusiness, Urgency
from precert.policy import PolicyEngine
from precert.policy.model import PaNeeded

#: The report's serialization formats.
FORMATS = ("text", "csv", "json")
#: What the figures count, as the text report states it.
SCOPE = (
    "Requests counted: Medicare Advantage, Medicaid and exchange plans; commercial plans\n"
    "and drug requests (specialty-drug category or any NDC-coded line) are excluded."
)
#: The lines of business CMS-0057-F governs (commercial plans are outside the rule).
REGULATED_LINES = frozenset(
    {LineOfBusiness.MEDICARE_ADVANTAGE, LineOfBusiness.MEDICAID, LineOfBusiness.EXCHANGE}
)


@dataclass(frozen=True)
class PriorAuthItem:
    """An item or service requiring prior authorization, as a policy pack states it."""

    payers: tuple[str, ...]
    description: str
    codes: tuple[str, ...]
    conditional: bool
    source: str


@dataclass(frozen=True)
class UrgencyFigures:
    """The report's figures for standard or for expedited requests."""

    decided: int
    approved: Rate
    denied: Rate
    approved_after_appeal: Rate | None
    approved_after_extension: Rate | None
    average_decision_hours: float | None
    median_decision_hours: int | None


@dataclass(frozen=True)
class Cms0057fReport:
    """The public report for one calendar year."""

    year: int
    items: tuple[PriorAuthItem, ...]
    standard: UrgencyFigures
    expedited: UrgencyFigures


def items_from_packs(engine: PolicyEngine, year: int) -> tuple[PriorAuthItem, ...]:
    """Rules in force during ``year`` that name codes and require (or may require) PA."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    found = []
    for pack in engine.packs:
        for rule in pack.rules:
            needed = rule.outcome.pa_needed
            if needed not in (PaNeeded.AUTH_NEEDED, PaNeeded.CONDITIONAL):
                continue
            if not rule.match.has_codes:
                continue
            window = pack.info.effective.intersect(rule.match.service_dates)
            if (window.start and window.start > last) or (window.end and window.end < first):
                continue
            payers = rule.match.payers or (
                frozenset({pack.payer.id}) if pack.payer else frozenset({"all payers"})
            )
            codes = sorted(rule.match.codes) + [str(r) for r in rule.match.code_ranges]
            found.append(
                PriorAuthItem(
                    payers=tuple(sorted(payers)),
                    description=rule.description,
                    codes=tuple(codes),
                    conditional=needed is PaNeeded.CONDITIONAL,
                    source=f"{pack.info.id} {pack.info.version}: rule {rule.id}",
                )
            )
    return tuple(sorted(found, key=lambda item: (item.payers, item.description, item.source)))


def figures(tally: Tally, *, standard: bool) -> UrgencyFigures:
    """One urgency's figures from a tally of that urgency's requests."""
    decided = decided_count(tally)
    hours = decision_hours(tally)
    approved_extended = sum(
        n
        for (label, _), n in tally.by_label(Measure.EXTENDED_DECISION).items()
        if label in {s.value for s in APPROVING_STATUSES}
    )
    return UrgencyFigures(
        decided=decided,
        approved=approval_rate(tally),
        denied=denial_rate(tally),
        approved_after_appeal=(
            Rate.of(tally.total(Measure.APPROVED_AFTER_APPEAL), decided) if standard else None
        ),
        approved_after_extension=Rate.of(approved_extended, decided) if standard else None,
        average_decision_hours=hours.mean,
        median_decision_hours=hours.median,
    )


def scope_filter(year: int, urgency: Urgency, payer_id: str | None = None) -> MetricFilter:
    """The requests one urgency's figures count: the rule's lines of business, no drugs."""
    return MetricFilter(
        payer_id=payer_id,
        urgency=urgency,
        period=Period.year(year),
        lines_of_business=REGULATED_LINES,
        exclude_drugs=True,
    )


def _filters(year: int, payer_id: str | None) -> tuple[MetricFilter, MetricFilter]:
    return (
        scope_filter(year, Urgency.STANDARD, payer_id),
        scope_filter(year, Urgency.EXPEDITED, payer_id),
    )


def report_from_facts(
    facts: Iterable[AuthorizationFacts],
    year: int,
    items: tuple[PriorAuthItem, ...],
    *,
    payer_id: str | None = None,
) -> Cms0057fReport:
    """The report computed in memory from facts (the reference for the SQL path)."""
    listed = list(facts)
    standard, expedited = _filters(year, payer_id)
    return Cms0057fReport(
        year=year,
        items=items,
        standard=figures(tally_facts(listed, standard), standard=True),
        expedited=figures(tally_facts(listed, expedited), standard=False),
    )


def build_report(
    connection: Connection,
    organization_id: str,
    year: int,
    items: tuple[PriorAuthItem, ...],
    *,
    payer_id: str | None = None,
) -> Cms0057fReport:
    """The report for one organization and year, from the rollups."""
    standard, expedited = _filters(year, payer_id)
    return Cms0057fReport(
        year=year,
        items=items,
        standard=figures(queries.tally(connection, organization_id, standard), standard=True),
        expedited=figures(queries.tally(connection, organization_id, expedited), standard=False),
    )


# --- renderings --------------------------------------------------------------------------


def _percent(rate: Rate | None) -> str:
    if rate is None or rate.value is None:
        return "n/a"
    return f"{rate.value * 100:.1f}% ({rate.numerator} of {rate.denominator})"


def _hours(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    return f"{value} h" if isinstance(value, int) else f"{value:.1f} h"


def _rows(report: Cms0057fReport) -> list[tuple[str, str, Rate | None, float | int | None]]:
    """(request type, measure, rate or None, hours or None) for every figure."""
    rows: list[tuple[str, str, Rate | None, float | int | None]] = []
    for kind, figures_ in (("standard", report.standard), ("expedited", report.expedited)):
        rows += [
            (kind, "approved", figures_.approved, None),
            (kind, "denied", figures_.denied, None),
        ]
        if figures_.approved_after_appeal is not None:
            rows.append((kind, "approved after appeal", figures_.approved_after_appeal, None))
        if figures_.approved_after_extension is not None:
            rows.append(
                (kind, "approved after extended review", figures_.approved_after_extension, None)
            )
        rows += [
            (kind, "average decision time (hours)", None, figures_.average_decision_hours),
            (kind, "median decision time (hours)", None, figures_.median_decision_hours),
        ]
    return rows


def render_text(report: Cms0057fReport) -> str:
    """The report as plain text for a terminal or a notice."""
    lines = [
        f"CMS-0057-F prior authorization report, {report.year}",
        "",
        "Items and services requiring prior authorization:",
    ]
    for item in report.items:
        flag = " (conditional)" if item.conditional else ""
        lines.append(f"  - {', '.join(item.payers)}: {item.description}{flag}")
        lines.append(f"      codes: {', '.join(item.codes)}")
    if not report.items:
        lines.append("  (none in the policy packs for this year)")
    lines += ["", SCOPE, ""]
    for kind, figures_ in (("Standard", report.standard), ("Expedited", report.expedited)):
        lines.append(f"{kind} requests decided: {figures_.decided}")
    lines.append("")
    for kind, measure, rate, hours in _rows(report):
        value = _percent(rate) if rate is not None or hours is None else _hours(hours)
        lines.append(f"  {kind:<10} {measure:<32} {value}")
    return "\n".join(lines) + "\n"


def render_csv(report: Cms0057fReport) -> str:
    """The report as CSV: one row per figure, then one row per listed item."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["year", "section", "request_type", "measure", "value", "numerator", "denominator"]
    )
    for kind, measure, rate, hours in _rows(report):
        if rate is not None:
            value = "" if rate.value is None else f"{rate.value * 100:.2f}"
            writer.writerow(
                [
                    report.year,
                    "figures",
                    kind,
                    f"{measure} (%)",
                    value,
                    rate.numerator,
                    rate.denominator,
                ]
            )
        else:
            value = "" if hours is None else f"{hours:.2f}"
            writer.writerow([report.year, "figures", kind, measure, value, "", ""])
    for item in report.items:
        writer.writerow(
            [
                report.year,
                "prior authorization required",
                "; ".join(item.payers),
                item.description + (" (conditional)" if item.conditional else ""),
                " ".join(item.codes),
                "",
                "",
            ]
        )
    return out.getvalue()


def report_document(report: Cms0057fReport) -> dict[str, Any]:
    """The report as a JSON-ready dictionary."""
    document: dict[str, Any] = asdict(report)
    return document


def render_json(report: Cms0057fReport) -> str:
    """The report as JSON."""
    return json.dumps(report_document(report), indent=2) + "\n"


def render(report: Cms0057fReport, form: str) -> str:
    """The report in ``form``: text, csv or json."""
    if form == "text":
        return render_text(report)
    if form == "csv":
        return render_csv(report)
    if form == "json":
        return render_json(report)
    raise ValueError(f"unknown report format {form!r}; choose one of {', '.join(FORMATS)}")
