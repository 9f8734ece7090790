"""Durable jobs: the database row is the truth, the task queue only delivers the key.

A job is recorded under an idempotency key before it is enqueued. A worker
*claims* the row (pending and due, or running with a lapsed lease), runs the
job's handler with the key, and records the result. So:

- a job enqueued twice (two scans, a retry and a sweep) runs once at a time and
  finishes once: a claim is a conditional update only one worker wins;
- a worker killed mid-job (SIGKILL, OOM, a lost node) leaves the row running;
  when its lease lapses the sweep hands it out again and the job resumes with
  the same key, which the handler passes to the payer as the submission's
  idempotency key, so the payer never sees a second submission;
- a handler that raises ``Retry`` (or a payer-unavailable error) is retried on
  the domain's exponential backoff with jitter, then given up and routed to
  the review queue: never dropped silently.

The periodic work (follow-up scans, approval expiry, notification fall-backs)
lives here too, independent of the queue library, so tests can run it directly.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from precert.adapters.db.unit_of_work import SqlUnitOfWork
from precert.adapters.db.workflow import Job, SqlJobs, organization_timezones
from precert.adapters.payers.registry import GatewayRegistry
from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import Precert
from precert.domain.authorization import Actor, AuthorizationRequest, Role, Status
from precert.domain.retry import Backoff
from precert.domain.review import notification_overdue, payer_unreachable
from precert.domain.tasks import approval_lapsed, notification_overdue_since
from precert.ports import AuthorizationQuery, PayerUnavailable
from precert.services.access import AccessContext, audit
from precert.services.follow_up import ScanReport, TimeframeSource, payer_timeframes
from precert.services.follow_up import scan_follow_ups as scan_organization
from precert.services.review import route_to_review
from precert.services.screening import SCREEN, run_screening
from precert.services.submission import (
    NoPayerConnection,
    SubmissionSettings,
    inquire_request,
)
from precert.services.webhooks import DeliveryReport, WebhookTransport, deliver_pending

log = structlog.get_logger(__name__)

#: The actor background work acts as.
WORKER = Actor(id="worker", role=Role.SYSTEM)
#: How long a claimed job belongs to its worker before another may take it over.
DEFAULT_LEASE = timedelta(minutes=5)
#: The notification fall-back's job kind.
INQUIRE = "inquire"


class Retry(Exception):
    """Raised by a handler: this attempt failed in a way worth retrying later."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the wiring, the job (its key is the idempotency key), the attempt."""

    precert: Precert
    job: Job
    submission: SubmissionSettings

    @property
    def idempotency_key(self) -> str:
        """The key to send with any payer call: the same on every attempt of this job."""
        return self.job.key

    def access(self, channel: str) -> AccessContext:
        """The worker's access context in the job's organization."""
        return AccessContext(self.job.organization_id, WORKER, f"job: {channel}")


Handler = Callable[[JobContext], Mapping[str, Any]]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind`` (integrators add their own)."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def is_retryable(error: Exception) -> bool:
    """Failures worth another attempt: ours, the gateways' payer-unavailable, network errors."""
    return isinstance(error, (Retry, ConnectionError, TimeoutError, PayerUnavailable))


@dataclass(frozen=True)
class Outcome:
    """What running a job did: finished, will retry after ``delay``, gave up, or nothing."""

    key: str
    state: str
    delay: timedelta | None = None
    result: Mapping[str, Any] | None = None


class JobRunner:
    """Creates, runs, retries and recovers durable jobs on one ``Precert`` wiring."""

    def __init__(
        self,
        precert: Precert,
        *,
        backoff: Backoff | None = None,
        lease: timedelta = DEFAULT_LEASE,
        jitter: Callable[[], float] = random.random,
        timeframes: TimeframeSource = payer_timeframes,
        submission: SubmissionSettings | None = None,
    ) -> None:
        self.precert = precert
        # Payer calls from jobs (inquiries) go through the same gateways as the API's.
        self.submission = submission or SubmissionSettings(gateways=GatewayRegistry().gateway)
        self.backoff = backoff or Backoff()
        self.lease = lease
        self._jitter = jitter
        self._timeframes = timeframes

    # --- jobs ------------------------------------------------------------------------

    def create(
        self,
        key: str,
        kind: str,
        organization_id: str,
        *,
        authorization_id: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> bool:
        """Record a job under its idempotency key; False if that key was recorded before."""
        if kind not in HANDLERS:
            raise ValueError(f"no handler for job kind {kind!r}; known: {sorted(HANDLERS)}")
        with self.precert.engine.begin() as connection:
            return SqlJobs(connection).create(
                key=key,
                kind=kind,
                organization_id=organization_id,
                authorization_id=authorization_id,
                payload=payload or {},
                now=self.precert.clock.now(),
            )

    def job(self, key: str) -> Job | None:
        """The job recorded under ``key``."""
        with self.precert.engine.connect() as connection:
            return SqlJobs(connection).get(key)

    def runnable(self) -> list[str]:
        """Keys a worker should run now: due pending jobs and jobs of dead workers."""
        with self.precert.engine.connect() as connection:
            return SqlJobs(connection).runnable(self.precert.clock.now())

    def run(self, key: str) -> Outcome:
        """Claim and run one job; a job someone else holds or finished is left alone."""
        now = self.precert.clock.now()
        with self.precert.engine.begin() as connection:
            job = SqlJobs(connection).claim(key, now, self.lease)
        if job is None:
            return Outcome(key, "skipped")
        work = HANDLERS.get(job.kind)
        try:
            if work is None:
                raise LookupError(f"no handler for job kind {job.kind!r} in this worker")
            result = dict(work(JobContext(self.precert, job, self.submission)))
        except Exception as error:
            return self._failed(job, error)
        with self.precert.engine.begin() as connection:
            SqlJobs(connection).finish(key, result, self.precert.clock.now())
        log.info("job done", key=key, kind=job.kind, attempt=job.attempts)
        return Outcome(key, "done", result=result)

    def _failed(self, job: Job, error: Exception) -> Outcome:
        now = self.precert.clock.now()
        text = f"{error.__class__.__name__}: {error}"
        if is_retryable(error) and not self.backoff.gives_up_after(job.attempts):
            delay = self.backoff.delay(job.attempts, self._jitter())
            with self.precert.engine.begin() as connection:
                SqlJobs(connection).retry_at(job.key, text, now + delay, now)
            log.warning("job will retry", key=job.key, attempt=job.attempts, delay=str(delay))
            return Outcome(job.key, "retry", delay=delay)
        with self.precert.uow() as uow:
            SqlJobs(uow.connection).fail(job.key, text, now)
            context = AccessContext(job.organization_id, WORKER, f"job: {job.kind}")
            # Never dropped silently: a job that gave up is a case for a person.
            route_to_review(
                uow,
                context,
                payer_unreachable(job.authorization_id, job.attempts, text),
                self.precert.clock,
            )
        log.error("job failed", key=job.key, attempts=job.attempts, error=text)
        return Outcome(job.key, "failed")

    # --- periodic work ------------------------------------------------------------------

    def deliver_webhooks(self, transport: WebhookTransport) -> DeliveryReport:
        """Send every subscriber its pending status-change events, in order."""
        with self.precert.uow() as uow:
            return deliver_pending(uow, transport, self.precert.clock)

    def scan_follow_ups(self) -> dict[str, ScanReport]:
        """Run the follow-up scan for every organization."""
        reports = {}
        for organization_id in self._organizations():
            with self.precert.uow() as uow:
                context = AccessContext(organization_id, WORKER, "job: follow-up scan")
                reports[organization_id] = scan_organization(
                    uow, context, self.precert.clock, timeframes=self._timeframes
                )
        return reports

    def expire_approvals(self) -> list[str]:
        """Move approvals whose validity ended to EXPIRED; returns the expired request ids."""
        expired: list[str] = []
        now = self.precert.clock.now()
        for organization_id, zone in self._organizations().items():
            tz = ZoneInfo(zone)
            context = AccessContext(organization_id, WORKER, "job: approval expiry")
            with self.precert.uow() as uow:
                for request in _requests(
                    uow,
                    organization_id,
                    (Status.APPROVED, Status.PARTIALLY_APPROVED, Status.MODIFIED),
                ):
                    if not approval_lapsed(request, now, tz=tz):
                        continue
                    request.expire(WORKER, now)
                    uow.authorizations.save(request)
                    audit(uow, context, now, "write", "authorization", [request.id], event="expire")
                    uow.commit()
                    expired.append(request.id)
        return expired

    def plan_inquiries(self) -> list[str]:
        """Record a fall-back inquiry job for each request whose payer notification is overdue.

        The job key names the silence (request and the instant the message was
        due), so each silence leads to one inquiry however often this runs.
        """
        created: list[str] = []
        now = self.precert.clock.now()
        for organization_id, zone in self._organizations().items():
            tz = ZoneInfo(zone)
            with self.precert.uow() as uow:
                for request in _requests(uow, organization_id, (Status.SUBMITTED, Status.PENDED)):
                    history = uow.authorizations.history(organization_id, request.id)
                    since = notification_overdue_since(
                        request, history, tz=tz, timeframes=self._timeframes(request)
                    )
                    if since is None or since > now:
                        continue
                    key = f"{INQUIRE}:{request.id}:{since.isoformat()}"
                    if self.create(
                        key,
                        INQUIRE,
                        organization_id,
                        authorization_id=request.id,
                        payload={"expected_by": since.isoformat()},
                    ):
                        created.append(key)
        return created

    def _organizations(self) -> dict[str, str]:
        with self.precert.engine.connect() as connection:
            return organization_timezones(connection)


def _requests(
    uow: SqlUnitOfWork, organization_id: str, statuses: tuple[Status, ...]
) -> list[AuthorizationRequest]:
    found: list[AuthorizationRequest] = []
    after: tuple[datetime, str] | None = None
    while True:
        page = uow.authorizations.list(
            organization_id, AuthorizationQuery(statuses=statuses, after=after, limit=200)
        )
        found.extend(page.items)
        if page.next_after is None:
            return found
        after = page.next_after


@handler(INQUIRE)
def inquire_fallback(context: JobContext) -> Mapping[str, Any]:
    """No notification came: ask the payer with ``$inquire``; if the payer has no
    electronic connection, route the case to a person who will call."""
    job = context.job
    precert = context.precert
    assert job.authorization_id is not None  # inquiry jobs are always about one request
    access = context.access(INQUIRE)
    with precert.uow() as uow:
        request = uow.authorizations.get(job.organization_id, job.authorization_id)
        if request.status not in (Status.SUBMITTED, Status.PENDED):
            return {"skipped": f"the payer answered meanwhile ({request.status.value})"}
    try:
        inquiry = inquire_request(
            lambda: SqlPayerUnitOfWork(precert.engine),
            job.organization_id,
            job.authorization_id,
            context.submission,
            precert.clock,
        )
    except NoPayerConnection as exc:
        with precert.uow() as uow:
            expected_by = datetime.fromisoformat(str(job.payload["expected_by"]))
            item = route_to_review(
                uow,
                access,
                notification_overdue(request.id, expected_by, str(exc)),
                precert.clock,
            )
        return {"review_item": item.id}
    if inquiry.error is not None:
        raise Retry(inquiry.error)  # the payer did not answer: back off and ask again
    return {"inquired": True, "status": inquiry.status.value, "changed": inquiry.changed}


@handler(SCREEN)
def screen_schedule(context: JobContext) -> Mapping[str, Any]:
    """Screen a schedule uploaded to ``POST /v1/screenings`` and store the annotated CSV."""
    screening_id = str(context.job.payload["screening_id"])
    return run_screening(context.precert, context.access(SCREEN), screening_id)
