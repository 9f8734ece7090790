"""Schedule screening: judge every line of a schedule file and annotate it.

The same code serves ``precert screen FILE`` and the ``POST /v1/screenings`` background
job, so both accept the same files and count the same way. For the job, the uploaded
file, the progress and the result live in the ``screenings`` table (migration 0009);
the ``jobs`` table stays the truth about whether the work ran.

Input is either a CSV file with this header (order free, extra columns kept)::

    payer_id,plan,line_of_business,state,code_system,code,modifiers,place_of_service,
    service_date,units,amount,birth_date,sex,diagnoses,category

Required: ``payer_id``, ``line_of_business`` (commercial, medicare_advantage, medicaid,
exchange), ``state`` (two letters), ``code_system`` (CPT, HCPCS, NDC), ``code``,
``place_of_service`` (two digits), ``service_date`` and ``birth_date`` (YYYY-MM-DD).
Optional: ``plan``, ``modifiers`` and ``diagnoses`` (separated by ``;``), ``units``
(default 1), ``amount`` (default 0), ``sex`` (female, male, other, unknown) and
``category`` (one of the seven service categories; classified from the code if empty).

Or NDJSON (``.ndjson``/``.jsonl``): one FHIR Bundle per line holding the orders
(ServiceRequest, DeviceRequest, MedicationRequest, NutritionOrder, Appointment) plus
the Patient and Coverage; each billing code of each order becomes one output row.

The annotated CSV repeats each input row with the determination. A bad row is reported
with its line number, counted, annotated with its error and skipped; the run never
aborts on one.
"""

from __future__ import annotations

import csv
import json
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from precert.adapters.db.tables import Document, UtcDateTime, metadata
from precert.adapters.db.unit_of_work import SqlUnitOfWork
from precert.adapters.db.workflow import SqlJobs, organization_timezones
from precert.bootstrap import Precert
from precert.domain.access import Permission
from precert.domain.authorization import LineOfBusiness, ServiceCategory, Sex
from precert.domain.codes import (
    CodeSystem,
    check_icd10cm,
    check_modifier,
    check_place_of_service,
    check_procedure_code,
)
from precert.domain.errors import InvalidInput, NotFound, Problem
from precert.interop.fhir.crd import HookRequestError, parse_hook_request
from precert.policy import PolicyEngine
from precert.policy.model import Determination, LineFacts, Setting
from precert.ports import Clock
from precert.services.access import AccessContext, audit
from precert.services.discover import age_on, assess_hook, discover_lines

REQUIRED = (
    "payer_id",
    "line_of_business",
    "state",
    "code_system",
    "code",
    "place_of_service",
    "service_date",
    "birth_date",
)
RESULT_COLUMNS = (
    "category",
    "covered",
    "pa_needed",
    "doc_needed",
    "documentation",
    "lead_time_business_days",
    "submit_by",
    "deadline_missed",
    "deciding_rule",
    "rules",
    "error",
)
#: How many lines are judged per engine call (and per progress-bar step).
CHUNK = 5000


class ProgressSink(Protocol):
    """Where a run reports how far it got: a rich progress bar, or the screening job's row."""

    def add_task(self, description: str, *, total: float | None) -> Any:
        """Start counting ``total`` rows; returns the id ``advance`` takes."""

    def advance(self, task_id: Any, advance: float = 1) -> None:
        """``advance`` more rows are done."""


class BadRow(ValueError):
    """A schedule row that cannot be screened, with the reason."""


@dataclass
class ScreenSummary:
    """What a screening run found."""

    lines: int = 0
    rejected: int = 0
    needing_auth: Counter[tuple[str, str]] = field(default_factory=Counter)
    screened: Counter[tuple[str, str]] = field(default_factory=Counter)
    missed: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[tuple[int, str]] = field(default_factory=list)

    def record(self, payer_id: str, determination: Determination, missed: bool) -> None:
        """Count one judged line."""
        self.lines += 1
        category = determination.category or ServiceCategory.OTHER
        key = (payer_id, category.value)
        self.screened[key] += 1
        if determination.needs_auth:
            self.needing_auth[key] += 1
        if missed:
            self.missed[key] += 1

    def reject(self, line_number: int, reason: str) -> None:
        """Count one bad row."""
        self.rejected += 1
        self.errors.append((line_number, reason))


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace(",", ";").split(";") if part.strip())


def _day(row: dict[str, str], name: str) -> date:
    try:
        return date.fromisoformat(row[name].strip())
    except ValueError as exc:
        raise BadRow(f"{name} {row[name]!r} is not a date (YYYY-MM-DD)") from exc


def _number(row: dict[str, str], name: str, default: str) -> Decimal:
    text = (row.get(name) or "").strip() or default
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise BadRow(f"{name} {text!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise BadRow(f"{name} {text!r} must be a non-negative number")
    return value


def _choice(enum: type[Any], row: dict[str, str], name: str, default: str | None = None) -> Any:
    text = (row.get(name) or "").strip().lower() or default
    try:
        return enum(text)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in enum)
        raise BadRow(f"{name} {row.get(name)!r} is not one of: {allowed}") from exc


class RowReader:
    """Turns CSV rows into line facts, sharing one Setting object per distinct setting."""

    def __init__(self, engine: PolicyEngine) -> None:
        self.engine = engine
        self.settings: dict[Setting, Setting] = {}

    def facts(self, row: dict[str, str]) -> LineFacts:
        """The line facts of one row; raises ``BadRow`` naming the first problem."""
        missing = [name for name in REQUIRED if not (row.get(name) or "").strip()]
        if missing:
            raise BadRow(f"missing {', '.join(missing)}")
        payer = row["payer_id"].strip()
        if payer not in self.engine.payers:
            raise BadRow(f"unknown payer {payer!r}")
        try:
            system = CodeSystem(row["code_system"].strip().upper())
            code = check_procedure_code(system, row["code"])
            modifiers = tuple(check_modifier(m) for m in _split(row.get("modifiers") or ""))
            pos = check_place_of_service(row["place_of_service"])
            diagnoses = tuple(check_icd10cm(d) for d in _split(row.get("diagnoses") or ""))
        except ValueError as exc:
            raise BadRow(str(exc)) from exc
        state = row["state"].strip().upper()
        if len(state) != 2 or not state.isalpha():
            raise BadRow(f"state {row['state']!r} is not a two-letter state")
        category_text = (row.get("category") or "").strip()
        category = _choice(ServiceCategory, row, "category") if category_text else None
        service_date = _day(row, "service_date")
        units = _number(row, "units", "1")
        if units == 0:
            raise BadRow("units must be greater than zero")
        setting = Setting(
            payer,
            (row.get("plan") or "").strip(),
            _choice(LineOfBusiness, row, "line_of_business"),
            state,
            category,
            system,
            code,
            modifiers,
            pos,
        )
        return LineFacts(
            self.settings.setdefault(setting, setting),
            service_date,
            units,
            _number(row, "amount", "0"),
            age_on(_day(row, "birth_date"), service_date),
            _choice(Sex, row, "sex", "unknown"),
            diagnoses,
        )


def _annotation(d: Determination, submit_by: date | None, missed: bool) -> dict[str, str]:
    return {
        "category": d.category.value if d.category else "",
        "covered": d.covered.value,
        "pa_needed": d.pa_needed.value,
        "doc_needed": d.doc_needed.value if d.doc_needed else "",
        "documentation": ";".join(item.id for item in d.documentation),
        "lead_time_business_days": ""
        if d.lead_time_business_days is None
        else str(d.lead_time_business_days),
        "submit_by": submit_by.isoformat() if submit_by else "",
        "deadline_missed": "yes" if missed else "",
        "deciding_rule": d.deciding_rule or "",
        "rules": ";".join(d.rule_ids),
        "error": "",
    }


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield reader.line_num, {k: v for k, v in row.items() if k is not None and v is not None}


def screen_csv(
    path: Path, out: Path, engine: PolicyEngine, today: date, progress: ProgressSink | None = None
) -> ScreenSummary:
    """Screen a CSV schedule into an annotated CSV; bad rows are counted and annotated."""
    summary = ScreenSummary()
    reader = RowReader(engine)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = csv.DictReader(handle).fieldnames or []
        total = sum(1 for _ in handle)
    columns = [*header, *(c for c in RESULT_COLUMNS if c not in header)]
    task = progress.add_task("screening", total=total) if progress else None
    with out.open("w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        pending: list[tuple[int, dict[str, str], LineFacts | None]] = []

        def flush() -> None:
            judged = discover_lines(engine, [f for _, _, f in pending if f is not None])
            answers = iter(judged)
            for _, row, facts in pending:
                if facts is None:
                    writer.writerow(row)
                    continue
                found = next(answers)
                missed = found.deadline_missed(today)
                summary.record(facts.setting.payer_id, found.determination, missed)
                writer.writerow(
                    {**row, **_annotation(found.determination, found.submit_by, missed)}
                )
            if progress is not None and task is not None:
                progress.advance(task, len(pending))
            pending.clear()

        for line_number, row in _csv_rows(path):
            try:
                facts: LineFacts | None = reader.facts(row)
            except BadRow as exc:
                summary.reject(line_number, str(exc))
                row = {**row, "error": str(exc)}
                facts = None
            pending.append((line_number, row, facts))
            if len(pending) >= CHUNK:
                flush()
        flush()
    return summary


def screen_ndjson(
    path: Path, out: Path, engine: PolicyEngine, today: date, progress: ProgressSink | None = None
) -> ScreenSummary:
    """Screen NDJSON FHIR Bundles (orders + Patient + Coverage) into an annotated CSV."""
    summary = ScreenSummary()
    lines = path.read_text(encoding="utf-8").splitlines()
    task = progress.add_task("screening", total=len(lines)) if progress else None
    columns = ["line", "order", "code_system", "code", "service_date", *RESULT_COLUMNS]
    with out.open("w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fieldnames=columns)
        writer.writeheader()
        for number, text in enumerate(lines, 1):
            if progress is not None and task is not None:
                progress.advance(task)
            if not text.strip():
                continue
            try:
                rows = list(_bundle_rows(text, number, engine, today, summary))
            except (BadRow, HookRequestError) as exc:
                summary.reject(number, str(exc))
                writer.writerow({"line": str(number), "error": str(exc)})
                continue
            writer.writerows(rows)
    return summary


def _bundle_rows(
    text: str, number: int, engine: PolicyEngine, today: date, summary: ScreenSummary
) -> Iterator[dict[str, str]]:
    try:
        bundle = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRow(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadRow("each line must be a FHIR Bundle")
    resources = [e.get("resource") for e in bundle.get("entry", []) if isinstance(e, dict)]
    by_type = {r.get("resourceType"): r for r in resources if isinstance(r, dict)}
    patient, coverage = by_type.get("Patient"), by_type.get("Coverage")
    if not patient or not coverage:
        raise BadRow("the Bundle needs a Patient and a Coverage")
    request = parse_hook_request(
        {
            "hook": "order-select",
            "hookInstance": f"screen-line-{number}",
            "context": {"patientId": str(patient.get("id", "unknown")), "draftOrders": bundle},
            "prefetch": {"patient": patient, "coverage": coverage},
        }
    )
    if not request.orders:
        raise BadRow("the Bundle holds no order")
    for assessment in assess_hook(engine, request, today):
        if assessment.payer is None:
            raise BadRow("the Coverage names a payer precert has no policies for")
        day = assessment.order.service_date or today
        for code in assessment.codes:
            d = code.determination
            due = assessment.deadline if d.needs_auth else None
            missed = due is not None and due < today
            summary.record(assessment.payer.id, d, missed)
            yield {
                "line": str(number),
                "order": assessment.order.reference,
                "code_system": code.billing_code.system.value,
                "code": code.billing_code.code,
                "service_date": day.isoformat(),
                **_annotation(d, due, missed),
            }


# --- screening as a background job (``POST /v1/screenings``) ---------------------------

#: The job kind that screens an uploaded schedule.
SCREEN = "screen"
#: The largest schedule the API takes: whole schedules, far beyond the JSON body limit.
MAX_SCHEDULE_BYTES = 50 * 1024 * 1024
#: Upload media types and the file format each one means.
FORMATS: Mapping[str, str] = {"text/csv": "csv", "application/x-ndjson": "ndjson"}
#: How many rejected rows the stored summary lists; the annotated CSV marks every one.
LISTED_ERRORS = 100
#: Rows between progress writes, so an NDJSON run (one step per line) does not write per line.
PROGRESS_STEP = 1000

screenings = Table(
    "screenings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organization_id", String(36), nullable=False),
    # The job that runs it: its status, attempts and last error are the screening's.
    Column("job_key", String(200), nullable=False),
    Column("format", String(8), nullable=False),
    Column("upload", LargeBinary, nullable=False),
    # Unknown until the worker has counted the file's lines.
    Column("rows_total", Integer),
    Column("rows_done", Integer, nullable=False),
    Column("summary", Document),
    Column("result", LargeBinary),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_screenings_organization_id", "organization_id"),
)
_STATUS_COLUMNS = (
    screenings.c.id,
    screenings.c.job_key,
    screenings.c.rows_total,
    screenings.c.rows_done,
    screenings.c.summary,
    screenings.c.created_at,
    screenings.c.updated_at,
)


@dataclass(frozen=True)
class Screening:
    """Where one uploaded schedule's screening stands."""

    id: str
    #: The job's status: pending, running, done or failed.
    status: str
    rows_total: int | None
    rows_done: int
    summary: Mapping[str, Any] | None
    #: Why the last attempt failed, if it did.
    error: str | None
    created_at: datetime
    updated_at: datetime


def summary_document(summary: ScreenSummary) -> dict[str, Any]:
    """The run's summary as JSON: totals, counts by payer and category, the first bad rows."""
    return {
        "lines": summary.lines,
        "rejected": summary.rejected,
        "needing_auth": sum(summary.needing_auth.values()),
        "deadlines_missed": sum(summary.missed.values()),
        "by_payer_and_category": [
            {
                "payer_id": payer,
                "category": category,
                "lines": count,
                "needing_auth": summary.needing_auth[(payer, category)],
                "deadlines_missed": summary.missed[(payer, category)],
            }
            for (payer, category), count in sorted(summary.screened.items())
        ],
        "errors": [{"line": line, "reason": reason} for line, reason in summary.errors][
            :LISTED_ERRORS
        ],
    }


def start_screening(
    uow: SqlUnitOfWork, context: AccessContext, schedule: bytes, file_format: str, clock: Clock
) -> Screening:
    """Keep the uploaded schedule and record the ``screen`` job that will judge it.

    The job is recorded in the same transaction as the upload, so a screening never
    exists without the work that finishes it (the worker's sweep delivers it).
    """
    context.require(Permission.DISCOVER_REQUIREMENTS)
    problems = []
    if file_format not in FORMATS.values():
        problems.append(Problem((), f"format {file_format!r} is not one of: csv, ndjson"))
    if not schedule.strip():
        problems.append(Problem((), "the schedule is empty"))
    if len(schedule) > MAX_SCHEDULE_BYTES:
        problems.append(Problem((), f"the schedule exceeds {MAX_SCHEDULE_BYTES} bytes"))
    if problems:
        raise InvalidInput(problems)
    now = clock.now()
    screening_id = str(uuid.uuid4())
    key = f"{SCREEN}:{screening_id}"
    uow.connection.execute(
        insert(screenings).values(
            id=screening_id,
            organization_id=context.organization_id,
            job_key=key,
            format=file_format,
            upload=schedule,
            rows_done=0,
            created_at=now,
            updated_at=now,
        )
    )
    SqlJobs(uow.connection).create(
        key=key,
        kind=SCREEN,
        organization_id=context.organization_id,
        authorization_id=None,
        payload={"screening_id": screening_id},
        now=now,
    )
    audit(uow, context, now, "create", "screening", [screening_id], format=file_format)
    uow.commit()
    return Screening(screening_id, "pending", None, 0, None, None, now, now)


def _status_row(connection: Connection, organization_id: str, screening_id: str) -> Any:
    """The screening's row in the caller's organization; another organization's is not found."""
    row = connection.execute(
        select(*_STATUS_COLUMNS).where(
            screenings.c.id == screening_id, screenings.c.organization_id == organization_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no screening {screening_id!r}")
    return row


def get_screening(
    uow: SqlUnitOfWork, context: AccessContext, screening_id: str, clock: Clock
) -> Screening:
    """Status, progress and (once done) summary of one screening."""
    context.require(Permission.DISCOVER_REQUIREMENTS)
    row = _status_row(uow.connection, context.organization_id, screening_id)
    job = SqlJobs(uow.connection).get(row.job_key)
    audit(uow, context, clock.now(), "read", "screening", [screening_id])
    uow.commit()
    return Screening(
        id=row.id,
        status=job.status if job else "failed",
        rows_total=row.rows_total,
        rows_done=row.rows_done,
        summary=dict(row.summary) if row.summary is not None else None,
        error=job.last_error if job else "the screening's job is missing",
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def screening_result(
    uow: SqlUnitOfWork, context: AccessContext, screening_id: str, clock: Clock
) -> bytes | None:
    """The annotated CSV, or None while the screening has not finished."""
    context.require(Permission.DISCOVER_REQUIREMENTS)
    _status_row(uow.connection, context.organization_id, screening_id)
    result: bytes | None = uow.connection.execute(
        select(screenings.c.result).where(screenings.c.id == screening_id)
    ).scalar_one()
    audit(uow, context, clock.now(), "read", "screening", [screening_id], event="download")
    uow.commit()
    return result


class _StoredProgress:
    """A ``ProgressSink`` that writes rows done to the screening's row, for its GET."""

    def __init__(self, engine: Engine, screening_id: str, clock: Clock) -> None:
        self._engine = engine
        self._screening_id = screening_id
        self._clock = clock
        self._total = 0
        self.done = 0
        self._written = 0

    def add_task(self, description: str, *, total: float | None) -> Any:
        """Record how many rows the file holds; the run counts towards it."""
        self._total = int(total or 0)
        self.done = self._written = 0
        self._write(rows_total=self._total, rows_done=0)
        return description

    def advance(self, task_id: Any, advance: float = 1) -> None:
        """Count rows done, writing every ``PROGRESS_STEP`` rows and at the end."""
        self.done += int(advance)
        if self.done - self._written >= PROGRESS_STEP or self.done >= self._total:
            self._written = self.done
            self._write(rows_done=self.done)

    def _write(self, **values: int) -> None:
        # Its own short transaction, so readers see progress while the run goes on.
        with self._engine.begin() as connection:
            connection.execute(
                update(screenings)
                .where(screenings.c.id == self._screening_id)
                .values(updated_at=self._clock.now(), **values)
            )


def run_screening(precert: Precert, context: AccessContext, screening_id: str) -> dict[str, Any]:
    """The ``screen`` job: judge the uploaded schedule and store the annotated CSV and summary.

    Runs the very functions ``precert screen`` runs, on a temporary copy of the upload,
    as of today in the organization's time zone. Running it again (a retried or
    taken-over job) starts over and overwrites, so the stored result is always whole.
    """
    organization_id = context.organization_id
    with precert.engine.connect() as connection:
        row = connection.execute(
            select(screenings.c.format, screenings.c.upload).where(
                screenings.c.id == screening_id, screenings.c.organization_id == organization_id
            )
        ).one_or_none()
        zone = organization_timezones(connection).get(organization_id, "UTC")
    if row is None:
        raise NotFound(f"no screening {screening_id!r}")
    today = precert.clock.now().astimezone(ZoneInfo(zone)).date()
    progress = _StoredProgress(precert.engine, screening_id, precert.clock)
    run = screen_ndjson if row.format == "ndjson" else screen_csv
    with tempfile.TemporaryDirectory(prefix="precert-screening-") as work:
        source, target = Path(work) / f"schedule.{row.format}", Path(work) / "screened.csv"
        source.write_bytes(row.upload)
        summary = run(source, target, precert.policy, today, progress)
        annotated = target.read_bytes()
    document = summary_document(summary)
    with precert.uow() as uow:
        now = precert.clock.now()
        uow.connection.execute(
            update(screenings)
            .where(screenings.c.id == screening_id)
            # The total was counted in physical lines; rows are the exact count (a quoted
            # field may span lines, blank lines are skipped), so both end at rows done.
            .values(
                summary=document,
                result=annotated,
                rows_total=progress.done,
                rows_done=progress.done,
                updated_at=now,
            )
        )
        audit(uow, context, now, "write", "screening", [screening_id], event="screened")
        uow.commit()
    return {"screening_id": screening_id, "lines": summary.lines, "rejected": summary.rejected}
