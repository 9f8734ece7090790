"""The sandbox payer's HTTP API: PAS ``$submit`` / ``$inquire``, Subscription, eligibility.

FHIR base ``/fhir``; OAuth2 token endpoint ``/oauth/token`` (enforced only when the
server is given client credentials); X12 endpoints under ``/x12``; and ``/sandbox/…``
to inspect what the simulated payer holds (claims, receipts, notifications), which is
how tests check that retries reached the payer exactly once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from precert.interop.fhir.common import (
    FhirIssue,
    as_dict,
    as_list,
    as_str,
    error,
    first_code,
    parse_date,
)
from precert.interop.fhir.eligibility import build_eligibility_response
from precert.interop.fhir.pas import (
    FhirCodecError,
    PasClaimRequest,
    build_request_bundle,
    build_response_bundle,
    operation_outcome,
    parse_request_bundle,
)
from precert.interop.fhir.pas import vocabulary as v
from precert.interop.x12 import X12Error
from precert.interop.x12.transactions import HealthCareReview
from precert.policy import PolicyEngine, shipped_engine
from precert.sandbox.adjudication import GOLD_CARDS, adjudicate, service_facts
from precert.sandbox.bundles import (
    add_cancelled_items,
    fingerprint,
    mark_all_cancelled,
    provider_identifiers,
    resource_id,
    with_insurer,
)
from precert.sandbox.delivery import Deliverer
from precert.sandbox.scenarios import (
    SCENARIO_HEADER,
    SCENARIOS,
    Faults,
    Scenario,
    scenario_for,
)
from precert.sandbox.store import SandboxStore, StoredClaim, StoredSubscription
from precert.sandbox.x12 import (
    EDI_X12,
    NOT_FOUND_SUFFIX,
    Received,
    answer_271,
    answer_278,
    cancelled_278,
    domain_request,
    is_cancel,
    read_inquiry,
    read_review,
    rejected_278,
    response_text,
    trace_number,
)

FHIR_JSON = "application/fhir+json"
SUBSCRIPTION_FILTER = "org-identifier="


@dataclass
class SandboxConfig:
    """How a sandbox server behaves."""

    database_url: str = f"sqlite:///{Path('var') / 'sandbox.db'}"
    scenario: str = "policy"
    clients: Mapping[str, str] = field(default_factory=dict)
    token_lifetime_seconds: int = 3600
    gold_cards: Mapping[str, tuple[tuple[str, str], ...]] = field(
        default_factory=lambda: dict(GOLD_CARDS)
    )
    delivery_interval: float = 0.1
    decision_delay_seconds: float | None = None


def fhir(body: object, status: int = 200) -> JSONResponse:
    """A FHIR JSON response."""
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


def outcome(status: int, issues: list[FhirIssue]) -> JSONResponse:
    """An OperationOutcome with the FHIRPath of each problem."""
    return fhir(operation_outcome(issues), status)


class Sandbox:
    """The simulated payer: its store, policy engine, scenarios, tokens and delivery thread."""

    def __init__(
        self,
        config: SandboxConfig,
        *,
        engine: PolicyEngine | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if config.scenario not in SCENARIOS:
            raise ValueError(
                f"unknown scenario {config.scenario!r}; known: {', '.join(sorted(SCENARIOS))}"
            )
        self.config = config
        self.store = SandboxStore(config.database_url)
        self.engine = engine or shipped_engine()
        self.default = SCENARIOS[config.scenario]
        self.now = now
        self.deliverer = Deliverer(self.store, interval=config.delivery_interval, now=now)
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self.tokens_issued = 0

    # --- OAuth2 ---------------------------------------------------------------------

    def issue_token(self, authorization: str | None, form: Mapping[str, str]) -> JSONResponse:
        """Client-credentials grant: HTTP Basic client id and secret in, bearer token out."""
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        client_id, secret = _basic(authorization) or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        expected = self.config.clients.get(client_id)
        if expected is None or not hmac.compare_digest(expected, secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.config.token_lifetime_seconds
            self.tokens_issued += 1
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.config.token_lifetime_seconds,
            }
        )

    def authorized(self, authorization: str | None) -> bool:
        """Whether the request may proceed (always, unless client credentials are configured)."""
        if not self.config.clients:
            return True
        if not authorization or not authorization.startswith("Bearer "):
            return False
        with self._lock:
            expiry = self._tokens.get(authorization.removeprefix("Bearer "))
        return expiry is not None and time.monotonic() < expiry

    # --- PAS --------------------------------------------------------------------------

    def scenario(self, request: Request, member_id: str | None) -> Scenario | None:
        """The scenario the request selects (header, member id, then server default)."""
        return scenario_for(request.headers.get(SCENARIO_HEADER), member_id, self.default)

    def submit(self, request: Request, body: bytes) -> Response:
        """``Claim/$submit``: validate, de-duplicate by key, adjudicate, answer (with faults)."""
        data, problem = _json(body)
        if problem is not None:
            return problem
        try:
            claim = parse_request_bundle(data)
        except FhirCodecError as exc:
            return outcome(400, list(exc.issues))
        scenario = self.scenario(request, claim.member_id)
        if scenario is None:
            return _unknown_scenario(request)
        key = _idempotency_key(request, data, claim)
        receipt = self.store.receipts_so_far(key) + 1
        faults = scenario.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if receipt <= faults.error_first or scenario.draw(key, receipt, "5xx") < faults.error_rate:
            self.store.record(key, "submit", self.now(), 503, "5xx")
            return outcome(
                503, [error("Bundle", "the payer is temporarily unavailable", "transient")]
            )
        stored = self.store.claim(key)
        if stored is not None and fingerprint(stored.request) != fingerprint(data):
            self.store.record(key, "submit", self.now(), 422, "key-reused")
            return outcome(
                422,
                [
                    error(
                        "Bundle.identifier",
                        f"idempotency key {key!r} was used for a different request",
                        "duplicate",
                    )
                ],
            )
        created = stored is None
        if stored is None:
            answer = self._adjudicate(data, claim, scenario, key)
            if isinstance(answer, JSONResponse):
                self.store.record(key, "submit", self.now(), answer.status_code, "rejected")
                return answer
            stored = answer
        fault = _delivery_fault(receipt, faults, created)
        stored = self.store.record(key, "submit", self.now(), 200, fault, stored) or stored
        if fault == "late":
            # Stored, then answered too late: the client sees a timeout, the payer has the claim.
            time.sleep(faults.timeout_seconds)
        elif fault == "malformed":
            text = json.dumps(stored.response)
            return Response(text[: len(text) // 2], media_type=FHIR_JSON)
        return fhir(stored.response)

    def _adjudicate(
        self, data: dict[str, Any], claim: PasClaimRequest, scenario: Scenario, key: str
    ) -> StoredClaim | JSONResponse:
        now = self.now()
        cancelling = bool(claim.items) and all(
            i.certification_type == "3" or i.cancelled for i in claim.items
        )
        replaced = self.store.claims_named(claim.replaces_claim) if claim.replaces_claim else []
        if cancelling or replaced:
            # An update of a request the sandbox never saw is adjudicated as a new one.
            if not replaced:
                return outcome(
                    400,
                    [
                        error(
                            "Bundle.entry[0].resource.related[0].claim",
                            f"no earlier request {claim.replaces_claim!r} to cancel",
                            "not-found",
                        )
                    ],
                )
            for earlier in replaced:
                if earlier.status in ("pended", "decided"):
                    self.store.set_status(earlier.key, "cancelled" if cancelling else "superseded")
        result = adjudicate(
            claim,
            data,
            scenario,
            self.engine,
            key=key,
            today=now.date(),
            gold_cards=self.config.gold_cards,
        )
        response = build_response_bundle(
            with_insurer(data), result.now, response_id=resource_id(key), created=now
        )
        if result.cancelled:
            add_cancelled_items(response, result.cancelled)
        delay = self.config.decision_delay_seconds
        decide_at = now + timedelta(
            seconds=scenario.decision_delay_seconds if delay is None else delay
        )
        return StoredClaim(
            key=key,
            claim_identifier=claim.claim_identifier,
            member_id=claim.member_id,
            scenario=scenario.name,
            format="fhir",
            status="cancel" if cancelling else ("pended" if result.pended else "decided"),
            received_at=now,
            decide_at=decide_at if result.pended else None,
            request=data,
            response=response,
            current=response,
            later={
                "now": {str(s): d.model_dump(mode="json") for s, d in result.now.items()},
                "final": {str(s): d.model_dump(mode="json") for s, d in result.later.items()},
            },
            provider_identifiers=provider_identifiers(data),
        )

    def inquire(self, request: Request, body: bytes) -> Response:
        """``Claim/$inquire``: the current answer for the Claim named, for the member named."""
        data, problem = _json(body)
        if problem is not None:
            return problem
        try:
            claim = parse_request_bundle(data)
        except FhirCodecError as exc:
            return outcome(400, list(exc.issues))
        if not claim.member_id:
            return outcome(
                400,
                [error("Bundle.entry[0].resource.patient", "an inquiry must name the member id")],
            )
        self.store.record(claim.claim_identifier or "", "inquire", self.now(), 200, "")
        matches = [
            c
            for c in self.store.claims_named(claim.claim_identifier or "")
            if c.member_id == claim.member_id and c.status != "cancel"
        ]
        if not matches:
            return outcome(
                404,
                [
                    error(
                        "Bundle.entry[0].resource.identifier",
                        f"no prior authorization {claim.claim_identifier!r} for member "
                        f"{claim.member_id!r}",
                        "not-found",
                    )
                ],
            )
        current = matches[0].current
        if matches[0].status == "cancelled":
            current = json.loads(json.dumps(current))
            mark_all_cancelled(current)
        current = {**current, "meta": {"profile": [v.PROFILE_INQUIRY_RESPONSE_BUNDLE]}}
        return fhir(current)

    # --- Subscriptions -------------------------------------------------------------------

    def subscribe(self, request: Request, body: bytes) -> Response:
        """Create a rest-hook Subscription filtered by org-identifier."""
        data, problem = _json(body)
        if problem is not None:
            return problem
        issues: list[FhirIssue] = []
        if data.get("resourceType") != "Subscription":
            issues.append(error("Subscription", "expected a Subscription resource", "structure"))
        channel = as_dict(data.get("channel")) or {}
        if channel.get("type") != "rest-hook":
            issues.append(error("Subscription.channel.type", "only rest-hook is supported"))
        endpoint = as_str(channel.get("endpoint")) or ""
        if not endpoint.startswith(("http://", "https://")):
            issues.append(error("Subscription.channel.endpoint", "an http(s) URL is required"))
        filters = [
            as_str(e.get("valueString")) or ""
            for e in as_list((as_dict(data.get("_criteria")) or {}).get("extension"))
            if isinstance(e, dict) and e.get("url") == v.EXT_BACKPORT_FILTER
        ]
        org = next(
            (
                f.removeprefix(SUBSCRIPTION_FILTER)
                for f in filters
                if f.startswith(SUBSCRIPTION_FILTER)
            ),
            None,
        )
        if not org:
            issues.append(
                error("Subscription._criteria.extension", "an org-identifier filter is required")
            )
        headers: dict[str, str] = {}
        for i, raw in enumerate(as_list(channel.get("header"))):
            name, sep, value = str(raw).partition(":")
            if not sep or not name.strip():
                issues.append(error(f"Subscription.channel.header[{i}]", "expected 'Name: value'"))
                continue
            headers[name.strip()] = value.strip()
        if issues:
            return outcome(400, issues)
        sid = str(uuid.uuid4())
        reference = f"{str(request.base_url).rstrip('/')}/fhir/Subscription/{sid}"
        self.store.add_subscription(
            StoredSubscription(sid, reference, endpoint, headers, org or "", 0), self.now()
        )
        created = {**data, "id": sid, "status": "active"}
        created["channel"] = {k: val for k, val in channel.items() if k != "header"}
        return fhir(created, 201)

    # --- eligibility ---------------------------------------------------------------------

    def eligibility(self, body: bytes) -> Response:
        """CoverageEligibilityRequest in, CoverageEligibilityResponse out.

        Coverage is active unless the member id ends in ``-TERM``; the plan year is the
        calendar year; auth-required per item comes from the policy packs.
        """
        data, problem = _json(body)
        if problem is not None:
            return problem
        if data.get("resourceType") != "CoverageEligibilityRequest":
            return outcome(
                400,
                [error("CoverageEligibilityRequest", "expected a CoverageEligibilityRequest")],
            )
        contained = {c.get("id"): c for c in as_list(data.get("contained")) if isinstance(c, dict)}
        coverage = contained.get("coverage", {})
        member = as_str(coverage.get("subscriberId")) or ""
        payer = next(
            (
                as_str(i.get("value"))
                for i in as_list(contained.get("insurer", {}).get("identifier"))
                if isinstance(i, dict)
            ),
            None,
        )
        plan = next(
            (as_str(c.get("value")) for c in as_list(coverage.get("class")) if isinstance(c, dict)),
            None,
        )
        patient = contained.get("patient", {})
        today = self.now().date()
        auth_required: dict[tuple[str, str], bool] = {}
        for raw in as_list(data.get("item")):
            item = as_dict(raw) or {}
            coded = first_code(item.get("productOrService"))
            system = v.SYSTEM_BY_URI.get(coded[0]) if coded else None
            if coded is None or system is None:
                continue
            diagnoses = tuple(
                c[1]
                for d in as_list(item.get("diagnosis"))
                if isinstance(d, dict)
                and (c := first_code(d.get("diagnosisCodeableConcept"))) is not None
            )
            facts = service_facts(
                payer_id=payer,
                plan=plan,
                line_of_business=None,
                state=None,
                code_system=system,
                code=coded[1],
                day=today,
                birth_date=parse_date(patient.get("birthDate")),
                sex=None,
                diagnoses=diagnoses,
            )
            auth_required[coded] = self.engine.determine(facts).needs_auth
        response = build_eligibility_response(
            data,
            response_id=str(uuid.uuid4()),
            created=self.now(),
            active=not member.upper().endswith("-TERM"),
            plan_start=date(today.year, 1, 1),
            plan_end=date(today.year, 12, 31),
            auth_required=auth_required,
        )
        return fhir(response)

    # --- X12 ---------------------------------------------------------------------------

    def submit_278(self, request: Request, body: bytes) -> Response:
        """A 278 request in; its 999 and, when accepted, the 278 response out (with faults).

        De-duplicated by BHT03 per submitter (ISA06). A 278 for a case the payer already
        holds (same TRN02 and member) is answered with that case's current status, which is
        how a client learns the later decision of a pended review; certification type 3
        cancels the case.
        """
        now = self.now()
        received = Received(body, "278")
        if not received.readable:
            return _x12_refused(received)
        acknowledgment = received.acknowledgment(now)
        if not received.accepted:
            return _x12(acknowledgment)
        review = read_review(received)
        if review is None:
            return PlainTextResponse("expected a 278 request (BHT02 13) with a patient event", 400)
        member = review.subscriber.identifier
        scenario = self.scenario(request, member)
        if scenario is None:
            return PlainTextResponse(
                f"unknown scenario {request.headers.get(SCENARIO_HEADER)!r}", 400
            )
        key = f"x12|{received.receiver}|{review.reference}"
        receipt = self.store.receipts_so_far(key) + 1
        faults = scenario.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if receipt <= faults.error_first or scenario.draw(key, receipt, "5xx") < faults.error_rate:
            self.store.record(key, "278", now, 503, "5xx")
            return PlainTextResponse("the payer is temporarily unavailable", 503)
        stored = self.store.claim(key)
        created = stored is None
        if stored is None:
            stored = self._review_278(received, review, scenario, key, now)
            if stored.key != key:
                # A case already on file: its current status, and no new claim.
                self.store.record(key, "278", now, 200, "status")
                return _x12(acknowledgment + str(stored.current))
        fault = _delivery_fault(receipt, faults, created)
        stored = self.store.record(key, "278", now, 200, fault, stored) or stored
        current = acknowledgment + str(stored.current)
        if fault == "late":
            time.sleep(faults.timeout_seconds)
        elif fault == "malformed":
            return Response(current[: len(current) // 2], media_type=EDI_X12)
        return _x12(current)

    def _review_278(
        self,
        received: Received,
        review: HealthCareReview,
        scenario: Scenario,
        key: str,
        now: datetime,
    ) -> StoredClaim:
        """Decide a new 278 (or answer it from the case on file) and store the answer."""
        member = review.subscriber.identifier
        trace = trace_number(review)
        on_file = [
            c
            for c in self.store.claims_named(trace)
            if c.format == "x12"
            and c.member_id == member
            and c.status in ("pended", "decided", "cancelled")
        ]
        cancelling = is_cancel(review)
        if on_file and not cancelling:
            return on_file[0]
        try:
            domain = domain_request(review, now)
            bundle = build_request_bundle(domain, submission_id=resource_id(key), submitted_at=now)
            claim = parse_request_bundle(bundle)
        except (X12Error, FhirCodecError) as exc:
            # What precert's own rules refuse, the payer answers as input errors (AAA 33).
            text = response_text(received, rejected_278(review, None, now, "33"), now)
            return self._store_x12(
                key, trace, member, scenario, "rejected", now, {}, text, str(exc)
            )
        if member.upper().endswith(NOT_FOUND_SUFFIX):
            text = response_text(received, rejected_278(review, domain, now, "75"), now)
            return self._store_x12(key, trace, member, scenario, "rejected", now, bundle, text)
        if cancelling:
            text = response_text(received, cancelled_278(review, domain, now), now)
            for earlier in on_file:
                if earlier.status in ("pended", "decided"):
                    self.store.set_status(earlier.key, "cancelled", text)
            return self._store_x12(key, trace, member, scenario, "cancel", now, bundle, text)
        result = adjudicate(
            claim,
            bundle,
            scenario,
            self.engine,
            key=key,
            today=now.date(),
            gold_cards=self.config.gold_cards,
        )
        text = response_text(received, answer_278(review, domain, result.now, now), now)
        delay = self.config.decision_delay_seconds
        decide_at = now + timedelta(
            seconds=scenario.decision_delay_seconds if delay is None else delay
        )
        return StoredClaim(
            key=key,
            claim_identifier=trace,
            member_id=member,
            scenario=scenario.name,
            format="x12",
            status="pended" if result.pended else "decided",
            received_at=now,
            decide_at=decide_at if result.pended else None,
            request=bundle,
            response=text,
            current=text,
            later={
                "now": {str(s): d.model_dump(mode="json") for s, d in result.now.items()},
                "final": {str(s): d.model_dump(mode="json") for s, d in result.later.items()},
                "x12": received.text,
            },
            provider_identifiers=[],  # X12 has no rest-hook: nobody is notified
        )

    def _store_x12(
        self,
        key: str,
        trace: str,
        member: str,
        scenario: Scenario,
        status: str,
        now: datetime,
        bundle: dict[str, Any],
        text: str,
        problem: str = "",
    ) -> StoredClaim:
        return StoredClaim(
            key=key,
            claim_identifier=trace,
            member_id=member,
            scenario=scenario.name,
            format="x12",
            status=status,
            received_at=now,
            decide_at=None,
            request=bundle,
            response=text,
            current=text,
            later={"problem": problem} if problem else {},
            provider_identifiers=[],
        )

    def eligibility_270(self, body: bytes) -> Response:
        """A 270 in; its 999 and, when accepted, the 271 out."""
        now = self.now()
        received = Received(body, "270")
        if not received.readable:
            return _x12_refused(received)
        acknowledgment = received.acknowledgment(now)
        inquiry = read_inquiry(received) if received.accepted else None
        if inquiry is None:
            return _x12(acknowledgment)
        return _x12(acknowledgment + answer_271(received, inquiry, now))


# --- helpers ------------------------------------------------------------------------------


def _delivery_fault(receipt: int, faults: Faults, created: bool) -> str:
    """How receipt number ``receipt`` of a stored submission is answered (its receipt's mark)."""
    if receipt <= faults.timeout_first:
        return "late"
    if receipt <= faults.malformed_first:
        return "malformed"
    return "" if created else "replay"


def _x12(text: str) -> Response:
    return Response(text, media_type=EDI_X12)


def _x12_refused(received: Received) -> Response:
    """A body with no readable interchange: 400 naming the problems (no 999 is possible)."""
    problems = "; ".join(str(p) for p in received.document.problems()[:10]) or "empty body"
    return PlainTextResponse(f"no X12 functional group could be read: {problems}", 400)


def _json(body: bytes) -> tuple[dict[str, Any], None] | tuple[dict[str, Any], JSONResponse]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        return {}, outcome(400, [error("Bundle", f"the body is not JSON: {exc}", "structure")])
    if not isinstance(data, dict):
        return {}, outcome(400, [error("Bundle", "expected a JSON object", "structure")])
    return data, None


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.startswith("Basic "):
        return None
    try:
        raw = base64.b64decode(authorization.removeprefix("Basic ")).decode()
    except ValueError:
        return None
    client_id, _, secret = raw.partition(":")
    return client_id, secret


def _unknown_scenario(request: Request) -> JSONResponse:
    name = request.headers.get(SCENARIO_HEADER)
    return outcome(
        400,
        [
            error(
                SCENARIO_HEADER,
                f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}",
                "not-supported",
            )
        ],
    )


def _idempotency_key(request: Request, data: Mapping[str, Any], claim: PasClaimRequest) -> str:
    """The header's key, else the Bundle identifier, else a digest of the body (legacy PAS)."""
    header = request.headers.get("Idempotency-Key")
    if header:
        return header[:200]
    if claim.bundle_identifier:
        system = as_str((as_dict(data.get("identifier")) or {}).get("system")) or ""
        return f"{system}|{claim.bundle_identifier}"[-200:]
    return "sha256:" + hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# --- the app ------------------------------------------------------------------------------


def create_sandbox_app(sandbox: Sandbox) -> FastAPI:
    """The FastAPI app around ``sandbox``; the delivery thread runs while the app is up."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sandbox.deliverer.start()
        try:
            yield
        finally:
            sandbox.deliverer.stop()

    app = FastAPI(
        title="precert sandbox payer",
        description="A simulated payer speaking Da Vinci PAS and X12, for tests and training.",
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox

    def guarded(handler: Callable[[Request, bytes], Response]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            if not sandbox.authorized(request.headers.get("Authorization")):
                return outcome(
                    401, [error("Authorization", "a valid bearer token is required", "login")]
                )
            body = await request.body()
            return await run_in_threadpool(handler, request, body)

        return endpoint

    app.add_api_route("/fhir/Claim/$submit", guarded(sandbox.submit), methods=["POST"])
    app.add_api_route("/fhir/Claim/$inquire", guarded(sandbox.inquire), methods=["POST"])
    app.add_api_route("/fhir/Subscription", guarded(sandbox.subscribe), methods=["POST"])
    app.add_api_route("/x12/278", guarded(sandbox.submit_278), methods=["POST"])
    app.add_api_route(
        "/x12/270", guarded(lambda _request, body: sandbox.eligibility_270(body)), methods=["POST"]
    )
    app.add_api_route(
        "/fhir/CoverageEligibilityRequest",
        guarded(lambda _request, body: sandbox.eligibility(body)),
        methods=["POST"],
    )

    @app.post("/oauth/token")
    async def token(request: Request) -> Response:
        form = await request.form()
        return sandbox.issue_token(
            request.headers.get("Authorization"), {k: str(val) for k, val in form.items()}
        )

    @app.get("/sandbox/scenarios")
    def scenarios() -> list[dict[str, str]]:
        return [{"name": s.name, "description": s.description} for s in SCENARIOS.values()]

    @app.get("/sandbox/claims")
    def claims(member_id: str | None = None) -> list[dict[str, Any]]:
        return [
            {
                "key": c.key,
                "claim_identifier": c.claim_identifier,
                "member_id": c.member_id,
                "scenario": c.scenario,
                "format": c.format,
                "status": c.status,
                "receipts": sandbox.store.receipts_of(c.key),
                "notifications": sandbox.store.notifications_of(c.key),
            }
            for c in sandbox.store.all_claims()
            if member_id is None or c.member_id == member_id
        ]

    @app.get("/sandbox/tokens")
    def tokens() -> dict[str, int]:
        return {"issued": sandbox.tokens_issued}

    return app
