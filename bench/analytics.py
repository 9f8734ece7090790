"""Benchmark: every dashboard metric over 1,000,000 authorizations, on SQLite and PostgreSQL.

Generates synthetic request histories (shaped like the demo data: five payers,
seven categories, pends, rejections, denials, appeals, cancellations, staff
touches) and bulk-inserts the requests, their events and their analytics facts
and rollups, computed with the same fold and contributions the repository uses
(``precert.analytics``). The aggregate is not walked one request at a time,
and event hashes are placeholders: the ledger is not what is measured here.

Then, per backend, it times the reads each metric needs and the whole dashboard
(``queries.dashboard``), a filtered dashboard, the payer scorecards and the
CMS-0057-F report; and a peer measured in the same run: the naive way, reading
the raw events of a subset of requests and folding them in Python (scaled to
the full size), to show what the maintained rollups save.

    .venv/bin/python bench/analytics.py [--size 1000000] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select, text

from precert.adapters.db import tables as t
from precert.adapters.db.engine import make_engine
from precert.adapters.db.migrate import upgrade
from precert.analytics import cms0057f, metrics, queries
from precert.analytics.facts import (
    AuthorizationFacts,
    HistoryEvent,
    RequestSummary,
    advance,
)
from precert.domain.authorization import LineOfBusiness, ServiceCategory, Status, Urgency
from precert.policy import shipped_engine

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
ORGANIZATION = "bench-organization"
PAYERS = (
    ("northwind-health", 0.30),
    ("cascade-mutual", 0.22),
    ("gateway-medicare", 0.20),
    ("showme-medicaid", 0.15),
    ("summit-exchange", 0.13),
)
# category: (share, amount range, decision hours range, expedited share)
#: Lines of business and their shares (a mixed book: the CMS report counts three of four).
LINES_OF_BUSINESS = (
    (LineOfBusiness.COMMERCIAL, 0.45),
    (LineOfBusiness.MEDICARE_ADVANTAGE, 0.30),
    (LineOfBusiness.MEDICAID, 0.15),
    (LineOfBusiness.EXCHANGE, 0.10),
)
CATEGORIES: dict[ServiceCategory, tuple[float, tuple[int, int], tuple[int, int], float]] = {
    ServiceCategory.ADVANCED_IMAGING: (0.33, (1_500, 5_000), (24, 48), 0.02),
    ServiceCategory.ELECTIVE_SURGERY: (0.15, (15_000, 50_000), (72, 170), 0.0),
    ServiceCategory.SPECIALTY_DRUG: (0.15, (3_000, 25_000), (120, 330), 0.03),
    ServiceCategory.DME: (0.10, (500, 5_000), (72, 230), 0.0),
    ServiceCategory.BEHAVIORAL_HEALTH: (0.08, (2_000, 15_000), (24, 100), 0.15),
    ServiceCategory.INPATIENT_ADMISSION: (0.07, (10_000, 40_000), (24, 70), 0.25),
    ServiceCategory.OTHER: (0.12, (300, 3_000), (48, 170), 0.0),
}
REASONS = (
    ("medical_necessity", "Medical necessity criteria not met for the requested service."),
    ("documentation", "Clinical documentation does not support the request; notes missing."),
    ("step_therapy", "Step therapy not documented: preferred alternatives not tried first."),
    ("not_covered", "The service is not a covered benefit under the member's plan."),
    ("out_of_network", "The servicing provider is out of network for this plan."),
)
LEVELS = ("first_level", "peer_to_peer", "second_level", "external_review")
CHUNK = 20_000
STATUSES = frozenset(s.value for s in Status)
SCHEMA = "bench_analytics"


@dataclass
class Generated:
    """One chunk of generated rows, and the facts computed from them."""

    authorizations: list[dict[str, Any]]
    events: list[dict[str, Any]]
    facts: list[AuthorizationFacts]


class Histories:
    """Draws synthetic request histories, reproducibly."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.categories = list(CATEGORIES)
        self.category_weights = [CATEGORIES[c][0] for c in self.categories]

    def chunk(self, count: int) -> Generated:
        """``count`` requests with their events and facts."""
        out = Generated([], [], [])
        for _ in range(count):
            self._one(out)
        return out

    def _one(self, out: Generated) -> None:
        rng = self.rng
        request_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        payer = rng.choices([p for p, _ in PAYERS], weights=[w for _, w in PAYERS])[0]
        category = rng.choices(self.categories, weights=self.category_weights)[0]
        line_of_business = rng.choices(
            [lob for lob, _ in LINES_OF_BUSINESS], weights=[w for _, w in LINES_OF_BUSINESS]
        )[0]
        _, amounts, hours, expedited_share = CATEGORIES[category]
        urgency = Urgency.EXPEDITED if rng.random() < expedited_share else Urgency.STANDARD
        lines = (Decimal(rng.randint(*amounts)),)
        if rng.random() < 0.15:
            lines = (lines[0], Decimal(rng.randint(100, 2_000)))
        created = NOW - timedelta(days=rng.uniform(0, 365))
        service = (created.astimezone(TZ) + timedelta(days=rng.randint(2, 30))).date()
        events: list[tuple[str, datetime, dict[str, Any]]] = [
            ("authorization.created", created, {"category": category.value, "payer_id": payer}),
        ]
        status = Status.DRAFT

        def step(kind: str, at: datetime, payload: dict[str, Any]) -> bool:
            nonlocal status
            if at > NOW:
                return False
            events.append((kind, at, payload))
            if kind == "authorization.determination_recorded":
                status = Status(payload["status"])
            elif kind.removeprefix("authorization.") in STATUSES:
                status = Status(kind.removeprefix("authorization."))
            return True

        walk = self._timeline(rng, status, hours, urgency, lines, created)
        submitted_at = decided_at = None
        for kind, at, payload in walk:
            if not step(kind, at, payload):
                break
            if kind == "authorization.submitted":
                submitted_at = at
            if kind == "authorization.determination_recorded" and payload["status"] != "pended":
                decided_at = decided_at or at
        summary = RequestSummary(
            id=request_id,
            organization_id=ORGANIZATION,
            payer_id=payer,
            category=category,
            urgency=urgency,
            line_of_business=line_of_business,
            # Bench lines are CPT or HCPCS: only the specialty-drug category makes a drug.
            drug=category is ServiceCategory.SPECIALTY_DRUG,
            coverage_state="MO",
            status=status,
            created_at=created,
            first_service_date=service,
            line_amounts=lines,
        )
        facts = advance(None, summary, [HistoryEvent(k, a, p) for k, a, p in events], TZ)
        out.facts.append(facts)
        out.authorizations.append(
            {
                "id": request_id,
                "organization_id": ORGANIZATION,
                "status": status.value,
                "urgency": urgency.value,
                "category": category.value,
                "payer_id": payer,
                "patient_id": f"BENCH-{rng.randint(0, 10**8)}",
                "first_service_date": service,
                "last_service_date": service,
                "total_amount": sum(lines, Decimal(0)),
                "created_at": created,
                "updated_at": events[-1][1],
                "submitted_at": submitted_at,
                "decided_at": decided_at,
                "version": 1,
                "event_count": len(events),
                "last_event_hash": "0" * 64,
                "document": {"bench": True},
            }
        )
        for sequence, (kind, at, payload) in enumerate(events, start=1):
            out.events.append(
                {
                    "authorization_id": request_id,
                    "organization_id": ORGANIZATION,
                    "sequence": sequence,
                    "type": kind,
                    "occurred_at": at,
                    "actor_id": "bench",
                    "actor_role": "coordinator",
                    "payload": payload,
                    "previous_hash": "0" * 64,
                    "hash": "0" * 64,
                }
            )

    @staticmethod
    def _timeline(
        rng: random.Random,
        status: Status,
        hours: tuple[int, int],
        urgency: Urgency,
        lines: tuple[Decimal, ...],
        created: datetime,
    ) -> Iterator[tuple[str, datetime, dict[str, Any]]]:
        at = created + timedelta(minutes=rng.randint(5, 240))
        if rng.random() < 0.10:
            at += timedelta(days=rng.randint(1, 3))
        yield "authorization.ready", at, {"previous": "draft"}
        at += timedelta(minutes=rng.randint(2, 180))
        yield "authorization.submitted", at, {"previous": "ready", "channel": "fhir-pas"}
        if rng.random() < 0.02:
            at += timedelta(minutes=rng.randint(1, 60))
            yield "authorization.ready", at, {"previous": "submitted", "code": "15"}
            at += timedelta(days=1)
            yield "authorization.submitted", at, {"previous": "ready", "channel": "fhir-pas"}
        if rng.random() < 0.3:
            yield "authorization.touch", at, {"minutes": rng.randint(5, 30)}
        low, high = (4, 71) if urgency is Urgency.EXPEDITED else hours
        span = timedelta(hours=rng.uniform(low, high))
        if rng.random() < 0.03:
            yield "authorization.cancelled", at + span / 3, {"previous": "submitted"}
            return
        if rng.random() < 0.15:
            yield (
                "authorization.determination_recorded",
                at + span / 3,
                {
                    "previous": "submitted",
                    "status": "pended",
                    "lines": {str(i): {"decision": "pended"} for i in range(len(lines))},
                },
            )
        if urgency is Urgency.STANDARD and rng.random() < 0.02:
            yield "authorization.extension", at + span / 2, {"days": 14}
        at += span
        denied = rng.random() < 0.064
        reason = rng.choice(REASONS)
        decisions = {
            str(i): (
                {"decision": "denied", "reason_code": reason[0], "reason_text": reason[1]}
                if denied and (i == len(lines) - 1 or rng.random() < 0.5)
                else {"decision": "approved"}
            )
            for i in range(len(lines))
        }
        kinds = {d["decision"] for d in decisions.values()}
        outcome = "denied" if kinds == {"denied"} else "partially_approved"
        outcome = "approved" if kinds == {"approved"} else outcome
        yield (
            "authorization.determination_recorded",
            at,
            {"previous": "pended", "status": outcome, "lines": decisions},
        )
        if outcome == "approved" or rng.random() > 0.117:
            return
        for depth, level in enumerate(LEVELS):
            at += timedelta(days=rng.randint(5, 25))
            yield f"authorization.appeal_{level}", at, {"level": level, "previous": outcome}
            at += timedelta(days=rng.randint(15, 60))
            overturned = rng.random() < 0.8 or depth == len(LEVELS) - 1
            kind = "authorization.approved" if overturned else "authorization.denied"
            yield kind, at, {"level": level, "overturned": overturned}
            if overturned or rng.random() < 0.5:
                return
            outcome = "denied"


# --- loading -----------------------------------------------------------------------------


def prepare(engine: Engine) -> None:
    """Migrate and create the benchmark organization."""
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            t.organizations.insert().values(
                id=ORGANIZATION, slug="bench", name="Bench", timezone=TZ.key, created_at=NOW
            )
        )


def load_chunk(connection: Connection, chunk: Generated) -> None:
    """Insert one chunk's requests, events and facts (rollups are added at the end)."""
    if connection.dialect.name == "postgresql":
        _copy(connection, "authorizations", chunk.authorizations)
        _copy(connection, "events", chunk.events)
        _copy(connection, "analytics_facts", [queries.facts_row(f) for f in chunk.facts])
    else:
        _sqlite_insert(connection, "authorizations", chunk.authorizations)
        _sqlite_insert(connection, "events", chunk.events)
        _sqlite_insert(connection, "analytics_facts", [queries.facts_row(f) for f in chunk.facts])


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy stores it on SQLite (UTC instants as text, JSON as text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _sqlite_insert(connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Plain DB-API executemany: SQLAlchemy's per-value type processing is the slow part."""
    columns = list(rows[0])
    raw: Any = connection.connection.dbapi_connection
    marks = ", ".join("?" for _ in columns)
    raw.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608 (our names)
        [tuple(_sqlite_value(row[c]) for c in columns) for row in rows],
    )


def _copy(connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY: the bulk path PostgreSQL offers, several times faster than INSERT."""
    columns = list(rows[0])
    raw: Any = connection.connection.dbapi_connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(
                [json.dumps(v) if isinstance(v, dict) else v for v in (row[c] for c in columns)]
            )


def load(engines: dict[str, Engine], size: int, seed: int) -> None:
    """Generate ``size`` requests in chunks and load every backend."""
    histories = Histories(seed)
    counts: dict[Any, int] = defaultdict(int)
    observations: dict[Any, int] = defaultdict(int)
    connections = {name: engine.connect() for name, engine in engines.items()}
    try:
        for connection in connections.values():
            connection.begin()
        started, generating = time.perf_counter(), 0.0
        done = 0
        while done < size:
            count = min(CHUNK, size - done)
            tick = time.perf_counter()
            chunk = histories.chunk(count)
            for item in chunk.facts:
                found, observed = queries.rollup_rows(item)
                for key, value in found.items():
                    counts[key] += value
                for key, n in observed.items():
                    observations[key] += n
            generating += time.perf_counter() - tick
            for connection in connections.values():
                load_chunk(connection, chunk)
            done += count
            print(f"  loaded {done:,}/{size:,} ({time.perf_counter() - started:.0f} s)", end="\r")
        print()
        for name, connection in connections.items():
            queries.add_rollups(connection, counts, observations)
            connection.commit()
            if connection.dialect.name == "postgresql":
                connection.execute(text("ANALYZE"))
                connection.commit()
            rows = connection.execute(
                select(t.analytics_observations.c.value).where(
                    t.analytics_observations.c.organization_id == ORGANIZATION
                )
            ).all()
            print(f"  {name}: {len(counts):,} count rows, {len(rows):,} distribution rows")
        print(
            f"  generated and folded in {generating:.0f} s, loaded in "
            f"{time.perf_counter() - started:.0f} s in total"
        )
    finally:
        for connection in connections.values():
            connection.close()


# --- measuring ---------------------------------------------------------------------------


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The median of ``runs`` timings of ``work``, in seconds (after one warm-up run)."""
    work()
    timings = []
    for _ in range(runs):
        tick = time.perf_counter()
        work()
        timings.append(time.perf_counter() - tick)
    return statistics.median(timings)


def measure(name: str, engine: Engine, size: int, peer_share: int) -> float:
    """Print per-metric and whole-dashboard timings on one backend; return the dashboard's."""
    everything = metrics.MetricFilter()
    narrow = metrics.MetricFilter(
        payer_id="gateway-medicare",
        category=ServiceCategory.ADVANCED_IMAGING,
        period=metrics.Period.last_months(NOW.date(), 3),
    )
    print(f"\n{name}")
    with engine.connect() as connection:
        tally = queries.tally(connection, ORGANIZATION, everything)
        snapshot = sum(
            queries.snapshots(connection, ORGANIZATION, everything, NOW, TZ).values(),
            metrics.Snapshot(),
        )
        reads: list[tuple[str, Callable[[], object]]] = [
            (
                "read: rollup sums and distributions",
                lambda: queries.tally(connection, ORGANIZATION, everything),
            ),
            (
                "read: pending revenue and overdue",
                lambda: queries.snapshots(connection, ORGANIZATION, everything, NOW, TZ),
            ),
        ]
        computations: list[tuple[str, Callable[[], object]]] = [
            ("first-pass approval rate", lambda: metrics.first_pass_rate(tally)),
            (
                "approval and denial rates",
                lambda: (metrics.approval_rate(tally), metrics.denial_rate(tally)),
            ),
            ("decision time (hours, business days)", lambda: metrics.decision_time(tally)),
            ("top denial reasons", lambda: metrics.top_denial_reasons(tally)),
            ("appeal overturn by level", lambda: metrics.appeal_overturn_by_level(tally)),
            ("staff minutes by category", lambda: metrics.staff_time_by_category(tally)),
            ("revenue at risk", lambda: metrics.revenue_at_risk(tally, snapshot)),
            ("bottlenecks", lambda: metrics.bottlenecks(tally)),
            ("pended share", lambda: metrics.pended_share(tally)),
            ("missed regulatory clocks", lambda: metrics.clock_compliance(tally, snapshot)),
            ("monthly trend", lambda: metrics.trend(tally)),
        ]
        for label, work in reads + computations:
            print(f"  {label:<44} {best_of(5, work) * 1000:9.2f} ms")
        whole = best_of(5, lambda: queries.dashboard(connection, ORGANIZATION, everything, NOW, TZ))
        print(f"  {'WHOLE DASHBOARD (all metrics, all requests)':<44} {whole * 1000:9.2f} ms")
        filtered = best_of(5, lambda: queries.dashboard(connection, ORGANIZATION, narrow, NOW, TZ))
        print(f"  {'dashboard, one payer+category, 3 months':<44} {filtered * 1000:9.2f} ms")
        cards = best_of(
            3, lambda: queries.scorecards(connection, ORGANIZATION, everything, NOW, TZ)
        )
        print(f"  {'payer scorecards':<44} {cards * 1000:9.2f} ms")
        items = cms0057f.items_from_packs(shipped_engine(), 2026)
        report = best_of(3, lambda: cms0057f.build_report(connection, ORGANIZATION, 2026, items))
        print(f"  {'CMS-0057-F report (2026)':<44} {report * 1000:9.2f} ms")
        peer = best_of(1, lambda: naive_dashboard(connection, peer_share))
        scaled = peer * peer_share
        print(
            f"  peer: raw event scan + fold of 1/{peer_share} of the requests: {peer:.2f} s, "
            f"scaled to all {size:,}: {scaled:.1f} s"
        )
        print(f"  ratio peer / maintained rollups: {scaled / whole:,.0f}x")
        verdict = "OK" if whole <= 1.0 else "OVER"
        print(f"  goal whole dashboard <= 1 s: {verdict} ({whole:.3f} s)")
    return whole


def naive_dashboard(connection: Connection, share: int) -> metrics.Dashboard:
    """The peer: read raw events of 1/``share`` of the requests, fold them, compute."""
    a, e = t.authorizations.c, t.events.c
    # Request ids are random UUIDs: a leading-hex-digit range is a uniform sample.
    bound = f"{16 // share:x}"
    summaries = {
        row.id: row
        for row in connection.execute(
            select(
                a.id,
                a.payer_id,
                a.category,
                a.urgency,
                a.status,
                a.created_at,
                a.first_service_date,
                a.total_amount,
            ).where(a.organization_id == ORGANIZATION, a.id < bound)
        )
    }
    history: dict[str, list[HistoryEvent]] = defaultdict(list)
    for row in connection.execute(
        select(e.authorization_id, e.type, e.occurred_at, e.payload)
        .where(e.organization_id == ORGANIZATION, e.authorization_id < bound)
        .order_by(e.authorization_id, e.sequence)
    ):
        history[row.authorization_id].append(HistoryEvent(row.type, row.occurred_at, row.payload))
    facts = [
        advance(
            None,
            RequestSummary(
                id=s.id,
                organization_id=ORGANIZATION,
                payer_id=s.payer_id,
                category=ServiceCategory(s.category),
                urgency=Urgency(s.urgency),
                # The bench's request documents are stubs; the unfiltered dashboard the
                # peer computes does not read the line of business.
                line_of_business=LineOfBusiness.COMMERCIAL,
                drug=s.category == ServiceCategory.SPECIALTY_DRUG.value,
                coverage_state="MO",
                status=Status(s.status),
                created_at=s.created_at,
                first_service_date=s.first_service_date,
                line_amounts=(s.total_amount,),
            ),
            history[s.id],
            TZ,
        )
        for s in summaries.values()
    ]
    return metrics.dashboard(facts, metrics.MetricFilter(), NOW, TZ)


def main() -> None:
    """Parse arguments, load both backends, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="authorizations to generate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--sqlite",
        type=Path,
        default=Path("/tmp/precert-bench-analytics.db"),  # noqa: S108 (a throwaway file)
    )
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://root@127.0.0.1:5432/test",
        help="PostgreSQL database; the benchmark uses a schema of its own in it",
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="time the databases a previous run loaded (same --size) without reloading",
    )
    parser.add_argument(
        "--peer-share", type=int, default=8, choices=(2, 4, 8, 16), help="peer reads 1/N"
    )
    args = parser.parse_args()

    if not args.measure_only:
        args.sqlite.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{args.sqlite}{suffix}").unlink(missing_ok=True)
    engines = {"SQLite": make_engine(f"sqlite:///{args.sqlite}")}
    if not args.skip_postgres:
        if not args.measure_only:
            admin = make_engine(args.postgres)
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
            admin.dispose()
        separator = "&" if "?" in args.postgres else "?"
        url = f"{args.postgres}{separator}options=-csearch_path%3D{SCHEMA}"
        engines["PostgreSQL"] = make_engine(url)
    if not args.measure_only:
        for engine in engines.values():
            prepare(engine)
        print(f"generating and loading {args.size:,} authorizations with their events")
        load(engines, args.size, args.seed)
    results = {
        name: measure(name, engine, args.size, args.peer_share) for name, engine in engines.items()
    }
    for engine in engines.values():
        engine.dispose()
    print("\nwhole dashboard: " + ", ".join(f"{n} {s * 1000:.0f} ms" for n, s in results.items()))
    if any(s > 1.0 for s in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
