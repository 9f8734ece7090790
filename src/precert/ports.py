"""The small protocols the services need; adapters implement them at the edge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol, Self

from precert.domain.appeals import AppealLevel
from precert.domain.authorization import (
    AuthorizationRequest,
    DomainEvent,
    LineDetermination,
    ServiceCategory,
    Status,
)
from precert.domain.documentation import Attachment
from precert.domain.errors import DomainError
from precert.domain.ledger import LedgerEntry
from precert.domain.review import ReviewItem, ReviewReason, ReviewStatus
from precert.domain.tasks import Task, TaskKind, TaskStatus
from precert.domain.tenancy import ApiKey, AuditEntry, Organization, Payer
from precert.domain.webhooks import LedgerEvent, WebhookEndpoint


class Clock(Protocol):
    """Tells the time; tests pass a controllable one."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


@dataclass(frozen=True)
class AuthorizationQuery:
    """Filters and a page position for listing one organization's requests."""

    statuses: Sequence[Status] = ()
    payer_id: str | None = None
    patient_id: str | None = None
    category: ServiceCategory | None = None
    service_from: date | None = None
    service_to: date | None = None
    after: tuple[datetime, str] | None = None  # cursor: (created_at, id) of the last item seen
    limit: int = 50


@dataclass(frozen=True)
class AuthorizationPage:
    """One page of results and the cursor of its last item when more may follow."""

    items: Sequence[AuthorizationRequest]
    next_after: tuple[datetime, str] | None


class ConcurrentUpdate(DomainError):
    """Someone else changed the request since it was loaded; reload and try again."""


class AuthorizationRepository(Protocol):
    """Stores aggregates and appends their events to the hash-chained ledger."""

    def add(self, request: AuthorizationRequest) -> None:
        """Store a new request and its pending events."""
        ...

    def get(self, organization_id: str, authorization_id: str) -> AuthorizationRequest:
        """Load one request of the organization; raise NotFound otherwise."""
        ...

    def import_request(self, request: AuthorizationRequest, history: Sequence[DomainEvent]) -> None:
        """Store a request with a history recorded elsewhere (demo data, migration)."""
        ...

    def save(self, request: AuthorizationRequest) -> None:
        """Store changes and pending events; raise ConcurrentUpdate on a stale version."""
        ...

    def list(self, organization_id: str, query: AuthorizationQuery) -> AuthorizationPage:
        """Page through the organization's requests, newest first."""
        ...

    def history(self, organization_id: str, authorization_id: str) -> Sequence[LedgerEntry]:
        """The request's events in order (raises NotFound for another organization's id)."""
        ...

    def appeal_outcomes(self, organization_id: str) -> Sequence[tuple[AppealLevel, bool]]:
        """Every decided appeal of the organization: (level, overturned)."""
        ...


class IdempotencyKeys(Protocol):
    """Remembers which request a client's Idempotency-Key created."""

    def find(self, organization_id: str, key: str) -> tuple[str, str] | None:
        """``(request fingerprint, authorization id)`` stored for the key, if any."""
        ...

    def remember(
        self, organization_id: str, key: str, fingerprint: str, authorization_id: str, at: datetime
    ) -> None:
        """Record the key; raise DuplicateKey if a concurrent request recorded it first."""
        ...


class AuditTrail(Protocol):
    """Append-only record of access to patient data."""

    def record(self, entry: AuditEntry) -> None:
        """Append one entry."""
        ...

    def entries(
        self, organization_id: str, *, subject_id: str | None = None, limit: int = 100
    ) -> Sequence[AuditEntry]:
        """Most recent entries first."""
        ...


class Directory(Protocol):
    """Organizations, their API keys, and the payers known to precert."""

    def organization_by_slug(self, slug: str) -> Organization | None:
        """The organization with this slug, if any."""
        ...

    def add_organization(self, organization: Organization) -> None:
        """Create a tenant."""
        ...

    def api_key(self, key_id: str) -> ApiKey | None:
        """The stored key with this id, if any."""
        ...

    def add_api_key(self, key: ApiKey) -> None:
        """Store a newly minted key."""
        ...

    def payer(self, payer_id: str) -> Payer | None:
        """The payer with this id, if known."""
        ...

    def payers(self) -> Sequence[Payer]:
        """All known payers."""
        ...

    def upsert_payer(self, payer: Payer) -> None:
        """Add or update a payer."""
        ...


class WebhookStore(Protocol):
    """Webhook endpoints and the ledger events each one has yet to receive."""

    def add(self, endpoint: WebhookEndpoint, at: datetime) -> None:
        """Register an endpoint."""
        ...

    def latest_event_id(self) -> int:
        """The newest event id in the ledger (0 when empty)."""
        ...

    def due(self, now: datetime) -> Sequence[WebhookEndpoint]:
        """Active endpoints not waiting for a retry."""
        ...

    def events_after(self, endpoint: WebhookEndpoint, limit: int) -> Sequence[LedgerEvent]:
        """The endpoint's next events, oldest first."""
        ...

    def delivered(self, endpoint_id: str, through: int) -> None:
        """Advance the cursor and clear failures."""
        ...

    def failed(self, endpoint_id: str, failures: int, retry_at: datetime, error: str) -> None:
        """Record a failed attempt and when to try again."""
        ...


class DocumentationStore(Protocol):
    """Questionnaire answers and attached documents of requests."""

    def answers(self, organization_id: str, authorization_id: str) -> dict[str, dict[str, Any]]:
        """Stored answers (JSON values) by item id."""
        ...

    def save_answers(
        self,
        organization_id: str,
        authorization_id: str,
        item_id: str,
        questionnaire: str,
        answers: Mapping[str, object],
        at: datetime,
        by: str,
    ) -> None:
        """Replace the answers of one item."""
        ...

    def attachment_counts(self, organization_id: str, authorization_id: str) -> dict[str, int]:
        """How many documents are filed under each item."""
        ...

    def add_attachment(self, attachment: Attachment, organization_id: str, content: bytes) -> bool:
        """Store a document; False when the same bytes are already filed under the item."""
        ...

    def attachments(self, organization_id: str, authorization_id: str) -> Sequence[Attachment]:
        """The request's documents, without their bytes."""
        ...

    def attachment(self, organization_id: str, attachment_id: str) -> tuple[Attachment, bytes]:
        """One document and its bytes."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every store; commit or nothing."""

    @property
    def authorizations(self) -> AuthorizationRepository:
        """Authorization requests and their event ledger."""
        ...

    @property
    def idempotency(self) -> IdempotencyKeys:
        """Idempotency keys of creates."""
        ...

    @property
    def audit(self) -> AuditTrail:
        """The access audit trail."""
        ...

    @property
    def directory(self) -> Directory:
        """Organizations, API keys and payers."""
        ...

    @property
    def webhooks(self) -> WebhookStore:
        """Webhook endpoints and their delivery cursors."""
        ...

    @property
    def documentation(self) -> DocumentationStore:
        """Questionnaire answers and attachments."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make everything done in this unit durable."""
        ...

    def rollback(self) -> None:
        """Discard everything done in this unit."""
        ...


# --- payers: connections, gateways, eligibility, submission records ----------------------


class PayerFormat(StrEnum):
    """The wire format a payer connection speaks."""

    FHIR_PAS = "fhir-pas"
    X12_278 = "x12-278"


@dataclass(frozen=True)
class PayerAuth:
    """How precert authenticates to a payer endpoint.

    ``oauth2-client-credentials`` fetches bearer tokens from ``token_url`` (cached until
    they expire); ``none`` is for the sandbox and clearinghouses authenticated by network.
    """

    kind: str = "none"
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None


@dataclass(frozen=True)
class PayerConnection:
    """An organization's settings for reaching one payer electronically."""

    id: str
    organization_id: str
    payer_id: str
    format: PayerFormat
    endpoint: str
    auth: PayerAuth
    organization_identifier: str
    timeout_seconds: float
    max_attempts: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PayerAnswer:
    """What a payer said to one submission, cancel or inquiry.

    ``determinations`` are keyed by 0-based service line, as ``record_determination``
    takes them; ``cancelled_lines`` are lines the payer reports cancelled.
    """

    determinations: Mapping[int, LineDetermination]
    payer_reference: str | None
    outcome: str | None
    cancelled_lines: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()


class PayerRejected(DomainError):
    """The payer refused the message itself (4xx OperationOutcome, X12 999/AAA): not retryable."""

    def __init__(self, code: str, problems: Sequence[str]) -> None:
        self.code = code
        self.problems = tuple(problems)
        super().__init__(f"payer rejected the submission ({code}): " + "; ".join(self.problems))


class PayerUnavailable(DomainError):
    """The payer could not answer (5xx, timeout, connection refused, garbled reply): retryable."""


class PayerGateway(Protocol):
    """One payer endpoint, spoken in one format; each call is one attempt (no retries)."""

    @property
    def channel(self) -> str:
        """The submission channel recorded on the authorization (``fhir-pas``, ``x12-278``)."""
        ...

    def submit(
        self, request: AuthorizationRequest, *, idempotency_key: str, at: datetime
    ) -> PayerAnswer:
        """Send the request; the same key always names the same submission at the payer."""
        ...

    def cancel(
        self, request: AuthorizationRequest, *, idempotency_key: str, at: datetime
    ) -> PayerAnswer:
        """Withdraw a submitted request at the payer."""
        ...

    def inquire(self, request: AuthorizationRequest, *, at: datetime) -> PayerAnswer:
        """Ask the payer where a submitted request stands."""
        ...

    def subscribe(
        self, *, notification_endpoint: str, organization_identifier: str, secret: str
    ) -> str:
        """Create a rest-hook subscription for pended-request updates; returns its reference."""
        ...


@dataclass(frozen=True)
class ServiceEligibility:
    """Coverage facts for one requested service (procedure code or X12 service type)."""

    service: str
    covered: bool | None
    auth_required: bool | None
    benefits: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EligibilityResult:
    """What the payer said about a member's coverage."""

    active: bool | None
    plan_start: date | None
    plan_end: date | None
    services: tuple[ServiceEligibility, ...]
    source: str
    warnings: tuple[str, ...] = ()


class EligibilityGateway(Protocol):
    """Eligibility and benefits questions to a payer (FHIR or X12 270/271)."""

    def check_eligibility(
        self, request: AuthorizationRequest, *, at: datetime
    ) -> EligibilityResult:
        """Is the member's coverage active for the request's services, and is auth required."""
        ...


@dataclass(frozen=True)
class SubmissionAttempt:
    """One call to a payer on behalf of an authorization, successful or not."""

    organization_id: str
    authorization_id: str
    connection_id: str
    idempotency_key: str
    operation: str
    attempt: int
    channel: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    detail: str = ""
    http_status: int | None = None
    payer_reference: str | None = None


@dataclass(frozen=True)
class PayerSubscription:
    """A rest-hook subscription precert holds at a payer; only the secret's hash is kept."""

    id: str
    organization_id: str
    connection_id: str
    reference: str
    secret_hash: str
    created_at: datetime
    last_notification_at: datetime | None = None
    notifications: int = 0


class PayerStore(Protocol):
    """Payer connections, submission attempts and subscriptions of every organization."""

    def connection(self, organization_id: str, payer_id: str) -> PayerConnection | None:
        """The organization's connection to ``payer_id``, if configured."""
        ...

    def connections(self, organization_id: str) -> Sequence[PayerConnection]:
        """All of the organization's connections, by payer id."""
        ...

    def save_connection(self, connection: PayerConnection) -> None:
        """Insert or replace a connection (one per organization and payer)."""
        ...

    def delete_connection(self, organization_id: str, payer_id: str) -> bool:
        """Remove a connection; False when there was none."""
        ...

    def record_attempt(self, attempt: SubmissionAttempt) -> None:
        """Append one attempt."""
        ...

    def attempts(self, organization_id: str, authorization_id: str) -> Sequence[SubmissionAttempt]:
        """The authorization's attempts, oldest first."""
        ...

    def subscription(self, organization_id: str, connection_id: str) -> PayerSubscription | None:
        """The subscription held for a connection, if any."""
        ...

    def subscription_by_reference(self, reference: str) -> PayerSubscription | None:
        """The subscription a notification names (its payer-side reference)."""
        ...

    def save_subscription(self, subscription: PayerSubscription) -> None:
        """Insert or replace the connection's subscription."""
        ...

    def authorization_for_reference(self, organization_id: str, reference: str) -> str | None:
        """The authorization a payer reference or our Claim identifier names, if any."""
        ...


class PayerUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also reaches the payer store, in the same transaction."""

    @property
    def payers(self) -> PayerStore:
        """Payer connections, attempts and subscriptions."""
        ...


# --- follow-up workflow: tasks and the review queue --------------------------------------


class TaskSort(StrEnum):
    """Work-queue orders: by due time (then revenue at risk), or by priority first."""

    DUE = "due"
    PRIORITY = "priority"


@dataclass(frozen=True)
class TaskQuery:
    """Filters of the work queue. ``actionable_at`` shows open tasks and elapsed snoozes."""

    statuses: Sequence[TaskStatus] = ()
    kinds: Sequence[TaskKind] = ()
    assignee: str | None = None
    unassigned: bool = False
    authorization_id: str | None = None
    due_before: datetime | None = None
    actionable_at: datetime | None = None
    sort: TaskSort = TaskSort.DUE
    offset: int = 0
    limit: int = 100


class TaskRepository(Protocol):
    """Follow-up tasks, unique per (request, occurrence key)."""

    def add(self, task: Task) -> None:
        """Store a new task."""
        ...

    def update(self, task: Task) -> None:
        """Store a changed task."""
        ...

    def get(self, organization_id: str, task_id: str) -> Task:
        """One task of the organization; raise NotFound otherwise."""
        ...

    def for_authorization(self, organization_id: str, authorization_id: str) -> Sequence[Task]:
        """Every task the request ever had."""
        ...

    def queue(self, organization_id: str, query: TaskQuery) -> Sequence[Task]:
        """The work queue, filtered and sorted."""
        ...

    def timezone_of(self, organization_id: str) -> str:
        """The organization's timezone (IANA name), which its deadlines run in."""
        ...


@dataclass(frozen=True)
class ReviewQuery:
    """Filters of the review queue."""

    statuses: Sequence[ReviewStatus] = ()
    reasons: Sequence[ReviewReason] = ()
    authorization_id: str | None = None
    offset: int = 0
    limit: int = 100


class ReviewQueue(Protocol):
    """Cases for a person, unique per (organization, problem key)."""

    def add(self, item: ReviewItem) -> bool:
        """Store a new item; False when an item with its key exists already."""
        ...

    def update(self, item: ReviewItem) -> None:
        """Store a changed item."""
        ...

    def get(self, organization_id: str, item_id: str) -> ReviewItem:
        """One item of the organization; raise NotFound otherwise."""
        ...

    def find(self, organization_id: str, key: str) -> ReviewItem | None:
        """The item for a problem key, if any."""
        ...

    def list(self, organization_id: str, query: ReviewQuery) -> Sequence[ReviewItem]:
        """Items, longest waiting first."""
        ...


class WorkflowUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also reaches follow-up tasks and the review queue."""

    @property
    def tasks(self) -> TaskRepository:
        """Follow-up tasks."""
        ...

    @property
    def review(self) -> ReviewQueue:
        """The review queue."""
        ...
