"""The SQL side of the metrics: keep facts and rollups current as history is written, read them.

SQLAlchemy Core, one code path for SQLite and PostgreSQL (only the upsert's
``INSERT`` construct is chosen per dialect; both speak ``ON CONFLICT DO UPDATE``).

Write path (called by the repository in the same transaction as the events):
``record_history`` folds a request's new events into its stored facts
(``analytics_facts``) and adds the *difference* between the request's old and
new contributions to the rollups (``analytics_counts``, ``analytics_observations``).
Rollup rows are upserted in key order, so concurrent writers lock them in the
same order and cannot deadlock each other.

Read path: ``tally`` sums the rollups for a filter (a few thousand rows however
many requests there are), ``snapshots`` reads the two things that depend on
"now" (pending amounts near their service date, overdue decisions) through
indexes; ``dashboard`` and ``scorecards`` feed them to the same metric functions
the pure path uses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from precert.adapters.db import tables as t
from precert.analytics.facts import (
    PENDING_STATUSES,
    AuthorizationFacts,
    HistoryEvent,
    RequestSummary,
    advance,
)
from precert.analytics.metrics import (
    AT_RISK_WINDOW_DAYS,
    TREND_COUNTS,
    TREND_OBSERVATIONS,
    Dashboard,
    Measure,
    MetricFilter,
    PayerScorecard,
    Snapshot,
    Tally,
    build_dashboard,
    build_scorecards,
    contributions,
)
from precert.domain.authorization import AuthorizationRequest, DomainEvent

#: (organization, measure, label, detail, month, payer, category, urgency, line of business,
#: drug): the primary key
CountRowKey = tuple[str, str, str, str, date, str, str, str, str, bool]
#: (organization, measure, label, value, month, payer, category, urgency, line of business,
#: drug): the primary key
ObservationRowKey = tuple[str, str, str, int, date, str, str, str, str, bool]
_DIMENSIONS = ("month", "payer_id", "category", "urgency", "line_of_business", "drug")
_BATCH = 5000


# --- write path ------------------------------------------------------------------------


def organization_timezone(connection: Connection, organization_id: str) -> ZoneInfo:
    """The organization's timezone, which sets its months and its business days."""
    name = connection.execute(
        select(t.organizations.c.timezone).where(t.organizations.c.id == organization_id)
    ).scalar_one_or_none()
    # An unknown organization cannot store requests (its foreign key fails); UTC keeps the
    # fold total until that error surfaces.
    return ZoneInfo(name or "UTC")


def record_history(
    connection: Connection, request: AuthorizationRequest, events: Sequence[DomainEvent]
) -> None:
    """Fold a request's newly recorded events into its facts and the rollups."""
    tz = organization_timezone(connection, request.organization_id)
    stored = connection.execute(
        select(t.analytics_facts.c.document).where(
            t.analytics_facts.c.authorization_id == request.id
        )
    ).scalar_one_or_none()
    previous = None if stored is None else AuthorizationFacts.model_validate(stored)
    facts = advance(previous, RequestSummary.of(request), [HistoryEvent.of(e) for e in events], tz)
    counts, observations = rollup_rows(facts)
    if previous is not None:
        old_counts, old_observations = rollup_rows(previous)
        for key, value in old_counts.items():
            counts[key] = counts.get(key, 0) - value
        for obs_key, n in old_observations.items():
            observations[obs_key] = observations.get(obs_key, 0) - n
    _replace(connection, t.analytics_facts, "authorization_id", [facts_row(facts)])
    _add(connection, t.analytics_counts, "detail", "value", counts)
    _add(connection, t.analytics_observations, "value", "count", observations)


def facts_row(facts: AuthorizationFacts) -> dict[str, Any]:
    """The ``analytics_facts`` row of a request's facts."""
    return {
        "authorization_id": facts.id,
        "organization_id": facts.organization_id,
        "payer_id": facts.payer_id,
        "category": facts.category.value,
        "urgency": facts.urgency.value,
        "line_of_business": facts.line_of_business.value,
        "drug": facts.drug,
        "cohort_month": facts.cohort_month,
        "decision_due_at": facts.decision_due if facts.awaiting_decision else None,
        "document": facts.model_dump(mode="json"),
    }


def rollup_rows(
    facts: AuthorizationFacts,
) -> tuple[dict[CountRowKey, int], dict[ObservationRowKey, int]]:
    """A request's contributions as rollup keys and values."""
    counts: dict[CountRowKey, int] = defaultdict(int)
    observations: dict[ObservationRowKey, int] = defaultdict(int)
    month = facts.cohort_month
    if month is None:
        return counts, observations
    org = facts.organization_id
    dimensions = (
        month,
        facts.payer_id,
        facts.category.value,
        facts.urgency.value,
        facts.line_of_business.value,
        facts.drug,
    )
    found, observed = contributions(facts)
    for c in found:
        counts[(org, c.measure.value, c.label, c.detail, *dimensions)] += c.value
    for o in observed:
        observations[(org, o.measure.value, o.label, o.value, *dimensions)] += 1
    return counts, observations


def _insert(connection: Connection, table: Table) -> Insert:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement: Insert = dialect.insert(table)
    return statement


def _replace(
    connection: Connection, table: Table, key: str, rows: Sequence[dict[str, Any]]
) -> None:
    statement: Any = _insert(connection, table)
    updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name != key}
    connection.execute(statement.on_conflict_do_update(index_elements=[key], set_=updates), rows)


def _add(
    connection: Connection,
    table: Table,
    last_key: str,
    amount: str,
    deltas: dict[Any, int],
) -> None:
    """Add each non-zero delta to its rollup row, creating rows as needed, in key order."""
    names = ("organization_id", "measure", "label", last_key, *_DIMENSIONS)
    rows = [
        {**dict(zip(names, key, strict=True)), amount: value}
        for key, value in sorted(deltas.items())
        if value
    ]
    if not rows:
        return
    statement: Any = _insert(connection, table)
    upsert = statement.on_conflict_do_update(
        index_elements=list(names), set_={amount: table.c[amount] + statement.excluded[amount]}
    )
    connection.execute(upsert, rows)


def store_facts(connection: Connection, facts: Iterable[AuthorizationFacts]) -> int:
    """Insert facts of requests that have none yet, and add their rollups (bulk; returns count).

    For loading in bulk (a rebuild, the benchmark): rollups are summed in memory
    and written once, instead of one upsert per request.
    """
    counts: dict[CountRowKey, int] = defaultdict(int)
    observations: dict[ObservationRowKey, int] = defaultdict(int)
    stored = 0
    batch: list[dict[str, Any]] = []
    for item in facts:
        batch.append(facts_row(item))
        found, observed = rollup_rows(item)
        for key, value in found.items():
            counts[key] += value
        for obs_key, n in observed.items():
            observations[obs_key] += n
        if len(batch) >= _BATCH:
            connection.execute(t.analytics_facts.insert(), batch)
            stored += len(batch)
            batch = []
    if batch:
        connection.execute(t.analytics_facts.insert(), batch)
        stored += len(batch)
    add_rollups(connection, counts, observations)
    return stored


def add_rollups(
    connection: Connection,
    counts: dict[CountRowKey, int],
    observations: dict[ObservationRowKey, int],
) -> None:
    """Add summed contributions to the rollups, in batches, in key order."""
    for table, last_key, amount, deltas in (
        (t.analytics_counts, "detail", "value", counts),
        (t.analytics_observations, "value", "count", observations),
    ):
        items: list[tuple[Any, int]] = sorted(deltas.items())
        for start in range(0, len(items), _BATCH):
            _add(connection, table, last_key, amount, dict(items[start : start + _BATCH]))


def rebuild_facts(connection: Connection, organization_id: str | None = None) -> int:
    """Recompute every request's facts and the rollups from the stored history.

    For the migration that creates the tables, and to repair them after a change
    of metric definitions. Streams requests and events; returns the request count.
    """
    for table in (t.analytics_facts, t.analytics_counts, t.analytics_observations):
        statement = delete(table)
        if organization_id is not None:
            statement = statement.where(table.c.organization_id == organization_id)
        connection.execute(statement)
    return store_facts(connection, _stored_facts(connection, organization_id))


def _stored_facts(
    connection: Connection, organization_id: str | None
) -> Iterator[AuthorizationFacts]:
    a, e = t.authorizations.c, t.events.c
    zones = {
        row.id: ZoneInfo(row.timezone)
        for row in connection.execute(select(t.organizations.c.id, t.organizations.c.timezone))
    }
    requests = select(a.id, a.organization_id, a.document).order_by(a.id)
    history = select(e.authorization_id, e.type, e.occurred_at, e.payload).order_by(
        e.authorization_id, e.sequence
    )
    if organization_id is not None:
        requests = requests.where(a.organization_id == organization_id)
        history = history.where(e.organization_id == organization_id)
    # Materialized before iterating: SQLite cannot stream two result sets on one connection
    # while rows are written on it, and a migration's history fits in memory.
    events: dict[str, list[HistoryEvent]] = defaultdict(list)
    for event in connection.execute(history):
        events[event.authorization_id].append(
            HistoryEvent(event.type, event.occurred_at, event.payload)
        )
    for row in connection.execute(requests).all():
        summary = RequestSummary.of(AuthorizationRequest.model_validate(row.document))
        tz = zones.get(row.organization_id, ZoneInfo("UTC"))
        yield advance(None, summary, events.pop(row.id, []), tz)


# --- read path -------------------------------------------------------------------------


def _rollup_conditions(table: Table, organization_id: str, flt: MetricFilter) -> list[Any]:
    c = table.c
    conditions: list[Any] = [c.organization_id == organization_id]
    if flt.period is not None:
        conditions.append(c.month.between(flt.period.first_month, flt.period.last_month))
    if flt.payer_id is not None:
        conditions.append(c.payer_id == flt.payer_id)
    if flt.category is not None:
        conditions.append(c.category == flt.category.value)
    if flt.urgency is not None:
        conditions.append(c.urgency == flt.urgency.value)
    conditions += _scope_conditions(table, flt)
    return conditions


def _scope_conditions(table: Table, flt: MetricFilter) -> list[Any]:
    """The line-of-business and drug conditions on a table that has both columns."""
    conditions: list[Any] = []
    if flt.lines_of_business is not None:
        lines = sorted(line.value for line in flt.lines_of_business)
        conditions.append(table.c.line_of_business.in_(lines))
    if flt.exclude_drugs:
        conditions.append(table.c.drug.is_(False))
    return conditions


def tally(
    connection: Connection,
    organization_id: str,
    flt: MetricFilter,
    *,
    by_payer: bool = False,
    monthly: bool = False,
) -> Tally:
    """The rollups summed for the requests ``flt`` admits (split by payer when asked; with
    the monthly sums of the trend measures when asked)."""
    result = Tally()
    counts, observations = t.analytics_counts, t.analytics_observations
    count_groups = [counts.c.measure, counts.c.label, counts.c.detail]
    observation_groups = [observations.c.measure, observations.c.label, observations.c.value]
    if by_payer:
        count_groups.append(counts.c.payer_id)
        observation_groups.append(observations.c.payer_id)
    for row in _sums(connection, counts, counts.c.value, count_groups, organization_id, flt):
        payer = row.payer_id if by_payer else ""
        result.add_count(Measure(row.measure), (payer, row.label, row.detail), int(row.total))
    for row in _sums(
        connection, observations, observations.c.count, observation_groups, organization_id, flt
    ):
        payer = row.payer_id if by_payer else ""
        key = (payer, row.label, row.value)
        result.add_observations(Measure(row.measure), key, int(row.total))
    if not monthly:
        return result
    for row in _sums(
        connection,
        counts,
        counts.c.value,
        [counts.c.measure, counts.c.label, counts.c.detail, counts.c.month],
        organization_id,
        flt,
        TREND_COUNTS,
    ):
        month_key = (row.month, row.label, row.detail)
        result.add_monthly_count(Measure(row.measure), month_key, int(row.total))
    for row in _sums(
        connection,
        observations,
        observations.c.count,
        [observations.c.measure, observations.c.label, observations.c.value, observations.c.month],
        organization_id,
        flt,
        TREND_OBSERVATIONS,
    ):
        observation_key = (row.month, row.label, row.value)
        result.add_monthly_observations(Measure(row.measure), observation_key, int(row.total))
    return result


def _sums(
    connection: Connection,
    table: Table,
    amount: Any,
    groups: list[Any],
    organization_id: str,
    flt: MetricFilter,
    measures: frozenset[Measure] | None = None,
) -> Any:
    conditions = _rollup_conditions(table, organization_id, flt)
    if measures is not None:
        conditions.append(table.c.measure.in_(sorted(m.value for m in measures)))
    return connection.execute(
        select(*groups, func.sum(amount).label("total")).where(*conditions).group_by(*groups)
    )


def snapshots(
    connection: Connection,
    organization_id: str,
    flt: MetricFilter,
    as_of: datetime,
    tz: ZoneInfo,
) -> dict[str, Snapshot]:
    """Per payer: pending requests with service within the window, and overdue decisions."""
    a, f = t.authorizations.c, t.analytics_facts.c
    today = as_of.astimezone(tz).date()
    pending_conditions: list[Any] = [
        a.organization_id == organization_id,
        a.first_service_date.between(today, today + timedelta(days=AT_RISK_WINDOW_DAYS)),
        a.status.in_(sorted(s.value for s in PENDING_STATUSES)),
    ]
    overdue_conditions: list[Any] = [
        f.organization_id == organization_id,
        f.decision_due_at < as_of,
    ]
    for column, value in (
        ("payer_id", flt.payer_id),
        ("category", flt.category.value if flt.category else None),
        ("urgency", flt.urgency.value if flt.urgency else None),
    ):
        if value is not None:
            pending_conditions.append(t.authorizations.c[column] == value)
            overdue_conditions.append(t.analytics_facts.c[column] == value)
    if flt.period is not None:
        overdue_conditions.append(
            f.cohort_month.between(flt.period.first_month, flt.period.last_month)
        )
    scope = _scope_conditions(t.analytics_facts, flt)
    overdue_conditions += scope
    pending_query = select(a.payer_id, func.count(), func.sum(a.total_amount))
    if scope:
        # Only the facts know the line of business and the drug flag: join them only
        # when the filter needs them, so the unfiltered dashboard stays one indexed read.
        pending_query = pending_query.join(t.analytics_facts, f.authorization_id == a.id)
        pending_conditions += scope
    found: dict[str, Snapshot] = defaultdict(Snapshot)
    pending = connection.execute(pending_query.where(*pending_conditions).group_by(a.payer_id))
    for payer, count, amount in pending:
        found[payer] += Snapshot(int(count), round(amount * 100), 0)
    overdue = connection.execute(
        select(f.payer_id, func.count()).where(*overdue_conditions).group_by(f.payer_id)
    )
    for payer, count in overdue:
        found[payer] += Snapshot(0, 0, int(count))
    return dict(found)


def dashboard(
    connection: Connection,
    organization_id: str,
    flt: MetricFilter,
    as_of: datetime,
    tz: ZoneInfo,
) -> Dashboard:
    """Every dashboard metric for the filter, from the rollups and two indexed reads."""
    snapshot = sum(snapshots(connection, organization_id, flt, as_of, tz).values(), Snapshot())
    sums = tally(connection, organization_id, flt, monthly=True)
    return build_dashboard(sums, snapshot, flt, as_of)


def scorecards(
    connection: Connection,
    organization_id: str,
    flt: MetricFilter,
    as_of: datetime,
    tz: ZoneInfo,
) -> tuple[PayerScorecard, ...]:
    """One scorecard per payer for the filter."""
    return build_scorecards(
        tally(connection, organization_id, flt, by_payer=True),
        snapshots(connection, organization_id, flt, as_of, tz),
    )
