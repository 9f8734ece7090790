"""Analytics on both backends: rollups kept by the write path equal the pure metrics.

Requests are written the way the services write them (open, then one save per
step), so the incremental maintenance of facts and rollups is exercised; the
reference is the pure fold of each request's stored history in one pass.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from typer.testing import CliRunner

from precert.adapters.db import tables as t
from precert.analytics import cms0057f, metrics, queries
from precert.analytics.facts import (
    AuthorizationFacts,
    AuthorizationHistory,
    HistoryEvent,
    RequestSummary,
    derive_facts,
)
from precert.analytics.metrics import MetricFilter, Period
from precert.bootstrap import Precert
from precert.cli import app as cli
from precert.demo import generate_demo
from precert.domain.appeals import AppealLevel
from precert.domain.authorization import (
    Decision,
    LineDetermination,
    LineOfBusiness,
    Role,
    ServiceCategory,
    Urgency,
)
from precert.policy import shipped_engine
from tests.factories import COORDINATOR, PAYER, REQUEST_BODY, draft
from tests.integration.conftest import Tenant

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
APPROVE = LineDetermination(decision=Decision.APPROVED, certification_number="C1")
PEND = LineDetermination(decision=Decision.PENDED, reason_code="more_information")
DENY = LineDetermination(
    decision=Decision.DENIED, reason_code="medical_necessity", reason_text="Not necessary"
)
FILTERS = [
    MetricFilter(),
    MetricFilter(payer_id="northwind-health"),
    MetricFilter(category=ServiceCategory.ADVANCED_IMAGING),
    MetricFilter(urgency=Urgency.EXPEDITED),
    MetricFilter(period=Period.last_months(NOW.date(), 3)),
    MetricFilter(lines_of_business=frozenset({LineOfBusiness.COMMERCIAL})),
    MetricFilter(
        lines_of_business=frozenset({LineOfBusiness.MEDICARE_ADVANTAGE, LineOfBusiness.MEDICAID}),
        exclude_drugs=True,
    ),
]
#: The integration histories' lines of business: the surgery (appealed and overturned) is
#: Medicare Advantage, the expedited one Medicaid; the others keep the factory's commercial.
MEDICARE = {**REQUEST_BODY["coverage"], "line_of_business": "medicare_advantage"}
MEDICAID = {**REQUEST_BODY["coverage"], "line_of_business": "medicaid"}


def _write_histories(precert: Precert, organization_id: str) -> None:
    """A few requests written step by step, plus an imported demo data set."""
    start = NOW - timedelta(days=40)
    with precert.uow() as uow:
        repo = uow.authorizations

        def step(request_id: str, act: object) -> None:
            request = repo.get(organization_id, request_id)
            assert callable(act)
            act(request)
            repo.save(request)
            uow.commit()

        plain = draft(start, organization_id)
        pended = draft(start, organization_id, category="elective_surgery", coverage=MEDICARE)
        urgent = draft(start, organization_id, urgency="expedited", coverage=MEDICAID)
        waiting = draft(start + timedelta(days=30), organization_id)
        for request in (plain, pended, urgent, waiting):
            repo.add(request)
            uow.commit()
            step(request.id, lambda r, s=start: r.mark_ready(COORDINATOR, s + timedelta(hours=1)))
            step(
                request.id,
                lambda r, s=request.created_at: r.submit(
                    COORDINATOR, s + timedelta(hours=2), channel="sandbox", attempt_key=r.id
                ),
            )
        later = start + timedelta(days=1)
        step(
            plain.id, lambda r: r.record_note(COORDINATOR, later, "authorization.touch", minutes=25)
        )
        step(plain.id, lambda r: r.record_determination(PAYER, later, {0: APPROVE}))
        step(pended.id, lambda r: r.record_determination(PAYER, later, {0: PEND}))
        step(
            pended.id,
            lambda r: r.record_note(PAYER, later, "authorization.extension", days=14),
        )
        step(
            pended.id, lambda r: r.record_determination(PAYER, later + timedelta(days=9), {0: DENY})
        )
        step(
            pended.id,
            lambda r: r.appeal(
                COORDINATOR, later + timedelta(days=12), AppealLevel.FIRST_LEVEL, reason="notes"
            ),
        )
        step(
            pended.id,
            lambda r: r.record_appeal_outcome(PAYER, later + timedelta(days=20), overturned=True),
        )
        step(urgent.id, lambda r: r.reject_submission(PAYER, later, reason="bad", code="15"))
        step(
            urgent.id,
            lambda r: r.submit(
                COORDINATOR, later + timedelta(hours=1), channel="sandbox", attempt_key="2"
            ),
        )
        step(
            urgent.id, lambda r: r.record_determination(PAYER, later + timedelta(days=4), {0: DENY})
        )
        for request, history in generate_demo(
            seed=5, size=120, now=NOW, organization_id=organization_id
        ).requests:
            # Demo ids repeat with the seed; each test's tenant needs its own.
            repo.import_request(request.model_copy(update={"id": str(uuid.uuid4())}), history)
        uow.commit()


def _reference_facts(precert: Precert, organization_id: str) -> list[AuthorizationFacts]:
    """Each request's facts folded in one pass from its stored history."""
    with precert.uow() as uow:
        tz = queries.organization_timezone(uow.connection, organization_id)
        ids = uow.connection.execute(
            select(t.authorizations.c.id).where(
                t.authorizations.c.organization_id == organization_id
            )
        ).scalars()
        facts = []
        for request_id in ids:
            request = uow.authorizations.get(organization_id, request_id)
            events = tuple(
                HistoryEvent(e.type, e.at, e.payload)
                for e in uow.authorizations.history(organization_id, request_id)
            )
            facts.append(derive_facts(AuthorizationHistory(RequestSummary.of(request), events), tz))
        return facts


@pytest.fixture
def written(precert: Precert, tenant: Tenant) -> list[AuthorizationFacts]:
    """The tenant's histories written, and their reference facts."""
    _write_histories(precert, tenant.organization_id)
    return _reference_facts(precert, tenant.organization_id)


def _connection(precert: Precert) -> Connection:
    return precert.engine.connect()


@pytest.mark.parametrize(
    "flt",
    FILTERS,
    ids=["all", "payer", "category", "urgency", "period", "commercial", "ma-medicaid-no-drugs"],
)
def test_sql_dashboard_equals_pure(
    precert: Precert, tenant: Tenant, written: list[AuthorizationFacts], flt: MetricFilter
) -> None:
    """Every dashboard metric read from the rollups equals the pure computation."""
    with _connection(precert) as connection:
        tz = queries.organization_timezone(connection, tenant.organization_id)
        sql = queries.dashboard(connection, tenant.organization_id, flt, NOW, tz)
    pure = metrics.dashboard(written, flt, NOW, tz)
    assert sql == pure
    assert flt != FILTERS[0] or sql.submitted > 100


def test_sql_scorecards_and_report_equal_pure(
    precert: Precert, tenant: Tenant, written: list[AuthorizationFacts]
) -> None:
    """Payer scorecards and the CMS-0057-F report from SQL equal the pure ones."""
    items = cms0057f.items_from_packs(shipped_engine(), 2026)
    with _connection(precert) as connection:
        tz = queries.organization_timezone(connection, tenant.organization_id)
        cards = queries.scorecards(connection, tenant.organization_id, MetricFilter(), NOW, tz)
        report = cms0057f.build_report(connection, tenant.organization_id, 2026, items)
    assert cards == metrics.scorecards(written, MetricFilter(), NOW, tz)
    assert len(cards) >= 5
    assert report == cms0057f.report_from_facts(written, 2026, items)
    assert report.standard.approved_after_appeal is not None
    assert report.standard.approved_after_appeal.numerator >= 1


def test_sql_report_counts_only_the_rules_scope(
    precert: Precert, tenant: Tenant, written: list[AuthorizationFacts]
) -> None:
    """Commercial and drug requests are absent from the SQL report, and present in the data."""
    in_scope = [
        f
        for f in written
        if f.line_of_business is not LineOfBusiness.COMMERCIAL
        and f.category is not ServiceCategory.SPECIALTY_DRUG
        and not f.drug
    ]
    out_of_scope = [f for f in written if f.line_of_business is LineOfBusiness.COMMERCIAL or f.drug]
    with _connection(precert) as connection:
        report = cms0057f.build_report(connection, tenant.organization_id, 2026, ())
    # The reference: the in-scope requests picked by hand, tallied with no scope filter.
    for urgency, figures in (
        (Urgency.STANDARD, report.standard),
        (Urgency.EXPEDITED, report.expedited),
    ):
        flt = MetricFilter(urgency=urgency, period=Period.year(2026))
        expected = cms0057f.figures(
            metrics.tally_facts(in_scope, flt), standard=urgency is Urgency.STANDARD
        )
        assert figures == expected
    decided_outside = [
        f for f in out_of_scope if f.decision is not None and f.cohort_month is not None
    ]
    assert any(f.line_of_business is LineOfBusiness.COMMERCIAL for f in decided_outside)
    assert any(f.drug for f in decided_outside)
    all_decided = sum(
        1
        for f in written
        if f.decision is not None and f.cohort_month and f.cohort_month.year == 2026
    )
    assert report.standard.decided + report.expedited.decided < all_decided


def test_incremental_rollups_equal_a_rebuild(
    precert: Precert, tenant: Tenant, written: list[AuthorizationFacts]
) -> None:
    """Rebuilding facts and rollups from the events changes no metric."""
    with precert.engine.begin() as connection:
        tz = queries.organization_timezone(connection, tenant.organization_id)
        before = queries.dashboard(connection, tenant.organization_id, MetricFilter(), NOW, tz)
        rebuilt = queries.rebuild_facts(connection, tenant.organization_id)
        after = queries.dashboard(connection, tenant.organization_id, MetricFilter(), NOW, tz)
    assert rebuilt == len(written)
    assert after == before


def test_touch_and_extension_reach_the_metrics(
    precert: Precert, tenant: Tenant, written: list[AuthorizationFacts]
) -> None:
    """The touch's 25 minutes and the extended surgery request show in the SQL results."""
    flt = MetricFilter(payer_id="northwind-health")
    with _connection(precert) as connection:
        tz = queries.organization_timezone(connection, tenant.organization_id)
        board = queries.dashboard(connection, tenant.organization_id, flt, NOW, tz)
        sums = queries.tally(connection, tenant.organization_id, flt)
    imaging = {s.category: s for s in board.staff_time}[ServiceCategory.ADVANCED_IMAGING]
    assert (imaging.touches, imaging.minutes) == (1, 25)
    assert sums.total(metrics.Measure.EXTENDED_DECISION) == 1
    assert board.revenue_at_risk.denied_amount >= Decimal(0)


def test_api_dashboard_scorecards_and_report(
    client: TestClient, precert: Precert, tenant: Tenant, written: list[AuthorizationFacts]
) -> None:
    """Managers read JSON and CSV; the report run is audited; clinicians are refused."""
    headers = tenant.auth(Role.MANAGER)
    board = client.get("/v1/analytics/dashboard", headers=headers)
    assert board.status_code == 200, board.text
    assert board.json()["submitted"] > 100
    assert board.json()["first_pass_target"] == 0.95
    trend = client.get(
        "/v1/analytics/dashboard",
        params={"format": "csv", "chart": "trend", "from": "2026-09", "to": "2026-11"},
        headers=headers,
    )
    assert trend.status_code == 200
    assert trend.headers["content-type"].startswith("text/csv")
    assert trend.text.startswith("month,submitted,first_pass_rate")
    cards = client.get("/v1/analytics/scorecards", headers=headers)
    assert {c["payer_id"] for c in cards.json()} >= {"northwind-health"}
    named = {c["payer_id"]: c["payer_name"] for c in cards.json()}
    assert named["northwind-health"] == "Northwind Health Plan"
    commercial = client.get(
        "/v1/analytics/dashboard", params={"line_of_business": "commercial"}, headers=headers
    )
    assert 0 < commercial.json()["submitted"] < board.json()["submitted"]
    report = client.get("/v1/analytics/cms-0057-f", params={"year": 2026}, headers=headers)
    assert report.status_code == 200
    assert report.json()["standard"]["decided"] > 0
    assert report.json()["items"]
    with precert.uow() as uow:
        entries = uow.audit.entries(tenant.organization_id, subject_id="cms-0057-f:2026")
    assert [e.subject_type for e in entries] == ["report"]
    text = client.get(
        "/v1/analytics/cms-0057-f", params={"year": 2026, "format": "text"}, headers=headers
    )
    assert cms0057f.SCOPE in text.text
    refused = client.get("/v1/analytics/dashboard", headers=tenant.auth(Role.CLINICIAN))
    assert refused.status_code == 403
    bad = client.get("/v1/analytics/dashboard", params={"from": "2026-05"}, headers=headers)
    assert bad.status_code == 400


def test_cli_report_formats(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``precert report cms-0057-f`` prints text, CSV and JSON for the demo organization."""
    monkeypatch.setenv("PRECERT_DATABASE_URL", fresh_database_url)
    runner = CliRunner()
    loaded = runner.invoke(cli, ["demo", "load", "--size", "60", "--seed", "3"])
    assert loaded.exit_code == 0, loaded.output
    year = str(datetime.now(UTC).year)
    text = runner.invoke(cli, ["report", "cms-0057-f", "--year", year])
    assert text.exit_code == 0, text.output
    assert f"CMS-0057-F prior authorization report, {year}" in text.stdout
    csv_out = runner.invoke(cli, ["report", "cms-0057-f", "--year", year, "--format", "csv"])
    assert csv_out.stdout.startswith("year,section,request_type,measure")
    json_out = runner.invoke(cli, ["report", "cms-0057-f", "--year", year, "--format", "json"])
    assert '"expedited"' in json_out.stdout
    missing = runner.invoke(cli, ["report", "cms-0057-f", "--year", year, "--org", "nope-x"])
    assert missing.exit_code == 2
