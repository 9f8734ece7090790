"""X12 5010 over HTTP to a clearinghouse-style endpoint: 278 review requests and 270 eligibility.

Transport (what precert sends and expects, documented in docs/integration-guide.md):

- ``POST {endpoint}/278`` (or ``/270``) with ``Content-Type: application/edi-x12`` and one
  interchange (ISA..IEA) holding one transaction set.
- A 2xx answer is ``application/edi-x12`` holding two interchanges back to back: first the
  999 acknowledging what was received, then, when the 999 accepted it, the 278 (or 271)
  response. X12 is self-delimiting (each ISA declares its delimiters and IEA closes it), so
  a receiver splits them without any MIME framing, each keeps its own control numbers for
  archiving, and a translator reads the pair as an ordinary batch.
- 4xx is a refusal of the HTTP message (not retried); 5xx, timeouts and a 2xx body that
  holds no readable 999 are transient (retried with the same bytes).

Idempotency: BHT03 (the submitter's reference of the transaction) is the submission's
idempotency key, and the interchange and group control numbers are derived from it, so a
retry is byte-identical and a payer that de-duplicates on either sees one request.

Pended reviews: X12 has no rest-hook. ``inquire`` re-sends the original 278 request (same
patient-event trace ``TRN02``, a new BHT03); payers answer a request for a case they
already hold with that case's current status, which is how the later decision arrives.
The 278 inquiry (005010X215) is not offered because few payers implement it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import httpx

from precert.adapters.payers.http import TokenCache, client_for, send
from precert.domain.authorization import AuthorizationRequest, Decision, LineDetermination
from precert.interop.x12 import X12Error, parse
from precert.interop.x12 import codes as x12codes
from precert.interop.x12.mapping import (
    CATEGORY_CODES,
    CoverageFacts,
    PayerRejection,
    coverage_from_271,
    determinations_from_review,
    eligibility_inquiry,
    review_request,
)
from precert.interop.x12.model import Document, TransactionSet
from precert.interop.x12.transactions import (
    Acknowledgment,
    Eligibility,
    HealthCareReview,
    read,
)
from precert.interop.x12.writer import (
    Envelope,
    Segments,
    envelope,
    wrap_set,
    write_278,
    write_eligibility,
)
from precert.ports import (
    EligibilityResult,
    PayerAnswer,
    PayerConnection,
    PayerRejected,
    PayerUnavailable,
    ServiceEligibility,
)

EDI_X12 = "application/edi-x12"
#: HCR01 codes that leave a line waiting for the payer (a later answer will follow).
_OPEN_ACTIONS = frozenset({"A4", "CT", "D", "IP"})


def control_number(key: str) -> int:
    """A 9-digit interchange/group control number fixed by the idempotency key (never 0)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) % 999_999_999 + 1


def submitter_id(organization_identifier: str) -> str:
    """TRN03 (10 characters): the submitter's identifier, zero-padded or cut to fit."""
    return organization_identifier[:10].rjust(10, "0")


def interchange(
    set_id: str, body: Segments, *, sender: str, receiver: str, key: str, at: datetime
) -> str:
    """One ISA..IEA interchange with one set, control numbers derived from ``key``."""
    number = control_number(key)
    return envelope(
        [(set_id, wrap_set(set_id, "0001", body))],
        Envelope(
            sender=sender[:15],
            receiver=receiver[:15],
            date=at.strftime("%Y%m%d"),
            time=at.strftime("%H%M"),
            interchange_control=number,
            group_control=number,
        ),
    )


def _sets(document: Document, set_id: str) -> list[TransactionSet]:
    return [t for t in document.transactions if t.set_id == set_id]


def _acknowledgment_problems(ack: Acknowledgment) -> list[str]:
    problems = [f"999 AK9 {ack.status}: functional group codes {list(ack.group_codes)}"]
    for response in ack.sets:
        if response.status == "A":
            continue
        problems.append(
            f"999 IK5 {response.status} for ST02 {response.control_number}: "
            f"codes {list(response.codes)}"
        )
        for note in response.segments:
            where = f"{note.segment_id} at position {note.position} (loop {note.loop or '-'})"
            problems.append(f"999 IK3 {where}: code {note.code or '-'}")
            problems.extend(
                f"999 IK4 {note.segment_id}{e.position}: code {e.code} value {e.bad_value!r}"
                for e in note.elements
            )
    return problems


def read_reply(body: bytes, answer_set: str) -> TransactionSet:
    """The ``answer_set`` (278 or 271) of a clearinghouse reply, after checking its 999.

    Raises PayerUnavailable when the body holds no readable 999 (garbled or cut short: a
    retry fetches the stored answer again) and PayerRejected when the 999 rejected the
    request or no answer followed an accepted 999.
    """
    document = parse(body)
    acks = _sets(document, "999")
    if not acks or not acks[0].accepted:
        raise PayerUnavailable("the clearinghouse reply holds no readable 999 acknowledgment")
    ack = read(acks[0])
    if not isinstance(ack, Acknowledgment):  # pragma: no cover - read() types by set id
        raise PayerUnavailable("the 999 could not be read")
    if ack.status not in ("A", "E") or any(s.status not in ("A", "E") for s in ack.sets):
        raise PayerRejected("999", _acknowledgment_problems(ack))
    answers = _sets(document, answer_set)
    if not answers or not answers[0].accepted:
        # The payer acknowledged the request, so an answer that is missing or broken is a
        # transmission problem: the same key fetches it again.
        raise PayerUnavailable(f"the 999 accepted the request but no readable {answer_set} came")
    return answers[0]


def _rejection_text(rejection: PayerRejection) -> str:
    again = "correct and resubmit" if rejection.resubmit_allowed else "do not resubmit"
    return (
        f"AAA {rejection.reason_code} in loop {rejection.loop}: {rejection.reason}; "
        f"follow-up {rejection.follow_up_code} {rejection.follow_up} ({again})"
    )


def answer_from_278(review: HealthCareReview, lines: int) -> PayerAnswer:
    """A 278 response as a ``PayerAnswer``; AAA rejections raise PayerRejected with the AAA03."""
    try:
        result = determinations_from_review(review)
    except X12Error as exc:
        raise PayerUnavailable(f"unreadable 278 response: {exc}") from exc
    if result.rejections:
        raise PayerRejected(
            result.rejections[0].reason_code, [_rejection_text(r) for r in result.rejections]
        )
    cancelled = tuple(i for i in result.cancelled_lines if 0 <= i < lines)
    decisions: dict[int, LineDetermination] = {
        i: d
        for i, d in result.lines.items()
        if 0 <= i < lines and i not in cancelled and d.decision is not Decision.CANCELLED
    }
    event = result.event
    if event is not None and event.decision is Decision.CANCELLED:
        if not decisions:
            cancelled = tuple(range(lines))
    elif event is not None:
        # The patient-event decision applies to every line without one of its own.
        for index in range(lines):
            if index not in decisions and index not in cancelled:
                decisions[index] = event
    numbers = [d.certification_number for d in decisions.values() if d.certification_number]
    pending = any(
        d.decision is Decision.PENDED or d.x12_action in _OPEN_ACTIONS for d in decisions.values()
    )
    return PayerAnswer(
        determinations=decisions,
        payer_reference=result.payer_reference or next(iter(numbers), None),
        outcome="queued" if pending else "complete",
        cancelled_lines=cancelled,
    )


def _cancel_review(review: HealthCareReview) -> HealthCareReview:
    """The same 278 with certification type 3 (cancel) on the event and every service."""
    events = []
    for event in review.events:
        services = tuple(
            s._replace(review=s.review._replace(certification_type="3")) if s.review else s
            for s in event.services
        )
        review_um = event.review._replace(certification_type="3") if event.review else None
        events.append(event._replace(review=review_um, services=services))
    return review._replace(events=tuple(events))


class X12Gateway:
    """A clearinghouse endpoint speaking X12 278 and 270/271 over HTTP."""

    channel = "x12-278"

    def __init__(self, connection: PayerConnection, client: httpx.Client | None = None) -> None:
        self._base = connection.endpoint.rstrip("/")
        self._payer_id = connection.payer_id
        self._sender = connection.organization_identifier
        self._submitter = submitter_id(connection.organization_identifier)
        self._client = client or client_for(connection)
        self.tokens = TokenCache(connection.auth, self._client)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def _exchange(self, path: str, set_id: str, body: Segments, *, key: str, at: datetime) -> str:
        text = interchange(
            set_id, body, sender=self._sender, receiver=self._payer_id, key=key, at=at
        )
        response = send(
            self._client,
            self.tokens,
            "POST",
            f"{self._base}/{path}",
            headers={"Content-Type": EDI_X12, "Accept": EDI_X12},
            content=text.encode(),
        )
        return response.text

    def _review(
        self, review: HealthCareReview, lines: int, *, key: str, at: datetime
    ) -> PayerAnswer:
        reply = self._exchange("278", "278", write_278(review), key=key, at=at)
        answer = read(read_reply(reply.encode(), "278"))
        if not isinstance(answer, HealthCareReview) or not answer.is_response:
            raise PayerUnavailable("the clearinghouse answered with something other than a 278")
        return answer_from_278(answer, lines)

    def _request(self, request: AuthorizationRequest, reference: str) -> HealthCareReview:
        try:
            review = review_request(request, submitter_id=self._submitter)
        except X12Error as exc:
            # The request cannot be expressed in X12 (too many diagnoses, long names...):
            # nothing was sent, and sending again would not help.
            raise PayerRejected("x12-mapping", [str(exc)]) from exc
        return review._replace(reference=reference)

    def submit(
        self, request: AuthorizationRequest, *, idempotency_key: str, at: datetime
    ) -> PayerAnswer:
        """Send the 278 request; BHT03 and the control numbers carry ``idempotency_key``."""
        review = self._request(request, idempotency_key)
        return self._review(review, len(request.service_lines), key=idempotency_key, at=at)

    def cancel(
        self, request: AuthorizationRequest, *, idempotency_key: str, at: datetime
    ) -> PayerAnswer:
        """Send the same 278 with certification type 3 (cancel)."""
        review = _cancel_review(self._request(request, idempotency_key))
        return self._review(review, len(request.service_lines), key=idempotency_key, at=at)

    def inquire(self, request: AuthorizationRequest, *, at: datetime) -> PayerAnswer:
        """Re-send the 278 (same TRN02, new BHT03): the payer answers with the current status."""
        key = f"inquiry-{uuid.uuid4()}"
        review = self._request(request, key)
        return self._review(review, len(request.service_lines), key=key, at=at)

    def subscribe(
        self, *, notification_endpoint: str, organization_identifier: str, secret: str
    ) -> str:
        """X12 has no subscriptions; pended reviews are followed up by ``inquire``."""
        raise PayerRejected("not-supported", ["X12 connections have no rest-hook subscriptions"])

    def check_eligibility(
        self, request: AuthorizationRequest, *, at: datetime
    ) -> EligibilityResult:
        """A 270 for the request's service type, read from the 271."""
        service_type = CATEGORY_CODES[request.category][1]
        reference = uuid.uuid4().hex
        try:
            inquiry = eligibility_inquiry(
                request.patient,
                request.coverage,
                request.requesting_provider,
                service_types=(service_type,),
                on=request.service_lines[0].service_start,
                reference=reference,
                submitter_id=self._submitter,
                created_at=at,
            )
        except X12Error as exc:
            raise PayerRejected("x12-mapping", [str(exc)]) from exc
        reply = self._exchange("270", "270", write_eligibility(inquiry), key=reference, at=at)
        answer = read(read_reply(reply.encode(), "271"))
        if not isinstance(answer, Eligibility):
            raise PayerUnavailable("the clearinghouse answered with something other than a 271")
        try:
            facts = coverage_from_271(answer)
        except X12Error as exc:
            raise PayerUnavailable(f"unreadable 271: {exc}") from exc
        if facts.rejections:
            raise PayerRejected(
                facts.rejections[0].reason_code, [_rejection_text(r) for r in facts.rejections]
            )
        return eligibility_result(request, facts, service_type)


def eligibility_result(
    request: AuthorizationRequest, facts: CoverageFacts, service_type: str
) -> EligibilityResult:
    """A 271's facts as precert stores them: per requested line, by its procedure code.

    A 271 answers by service type (X12 1365), so each line gets the answer for the
    request's service type: covered when an active benefit names it (or the plan-level
    ``30``), not covered when an inactive one does, auth required from EB11.
    """
    named = [b for b in facts.benefits if service_type in b.service_types]
    codes = {b.code for b in named} or {b.code for b in facts.benefits if "30" in b.service_types}
    covered: bool | None = None
    if codes & x12codes.ACTIVE_BENEFIT_CODES:
        covered = True
    elif codes & x12codes.INACTIVE_BENEFIT_CODES:
        covered = False
    auth = facts.authorization_required(service_type)
    benefits = tuple((b.code, b.description) for b in named)
    return EligibilityResult(
        active=facts.active,
        plan_start=facts.plan_begin,
        plan_end=facts.plan_end,
        services=tuple(
            ServiceEligibility(
                service=line.code, covered=covered, auth_required=auth, benefits=benefits
            )
            for line in request.service_lines
        ),
        source="x12",
    )
