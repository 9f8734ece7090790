"""The authorization aggregate: its state machine, derived status and events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from precert.domain.appeals import AppealLevel
from precert.domain.authorization import (
    TRANSITIONS,
    Decision,
    LineDetermination,
    Status,
)
from precert.domain.errors import DomainError, IllegalTransition
from tests.conftest import T0
from tests.factories import COORDINATOR, PAYER, REQUEST_BODY, draft, request_body

APPROVE = LineDetermination(decision=Decision.APPROVED, certification_number="AUTH1")
DENY = LineDetermination(decision=Decision.DENIED, reason_code="0U", reason_text="no notes")
PEND = LineDetermination(decision=Decision.PENDED)


def two_lines() -> list[dict[str, object]]:
    line = REQUEST_BODY["service_lines"][0]
    return [line, {**line, "code": "72149"}]


def submitted(**changes: object):  # type: ignore[no-untyped-def]
    request = draft(T0, **changes)
    request.mark_ready(COORDINATOR, T0)
    request.submit(COORDINATOR, T0, channel="portal", attempt_key="k1")
    return request


def test_open_records_created_event() -> None:
    """Opening a request makes a draft and records who created it and when."""
    request = draft(T0)
    assert request.status is Status.DRAFT
    [event] = request.pending_events
    assert event.type == "authorization.created"
    assert event.actor == COORDINATOR
    assert event.payload["amount"] == "1850.00"


def test_happy_path_records_one_event_per_move() -> None:
    """Ready, submit and approve each append one event in order."""
    request = submitted()
    request.record_determination(PAYER, T0 + timedelta(hours=5), {0: APPROVE})
    assert request.status is Status.APPROVED
    assert request.decided_at == T0 + timedelta(hours=5)
    types = [e.type for e in request.drain_events()]
    assert types == [
        "authorization.created",
        "authorization.ready",
        "authorization.submitted",
        "authorization.determination_recorded",
    ]
    assert request.pending_events == ()


def test_illegal_transition_names_state_and_allowed_moves() -> None:
    """Approving a draft is refused with the current state and the allowed moves."""
    request = draft(T0)
    with pytest.raises(IllegalTransition) as caught:
        request.record_determination(PAYER, T0, {0: APPROVE})
    message = str(caught.value)
    assert "'draft'" in message
    assert "ready" in message
    assert "cancelled" in message
    assert request.status is Status.DRAFT
    assert request.service_lines[0].determination is None


def test_final_states_allow_nothing() -> None:
    """Cancelled and expired are final: every move is refused."""
    request = draft(T0)
    request.cancel(COORDINATOR, T0, "duplicate")
    with pytest.raises(IllegalTransition, match="none \\(final state\\)"):
        request.mark_ready(COORDINATOR, T0)
    assert {s for s, moves in TRANSITIONS.items() if not moves} == {
        Status.CANCELLED,
        Status.EXPIRED,
    }


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        ({0: APPROVE, 1: APPROVE}, Status.APPROVED),
        ({0: DENY, 1: DENY}, Status.DENIED),
        ({0: APPROVE, 1: DENY}, Status.PARTIALLY_APPROVED),
        ({0: APPROVE, 1: LineDetermination(decision=Decision.MODIFIED)}, Status.MODIFIED),
        ({0: APPROVE, 1: PEND}, Status.PENDED),
        ({0: APPROVE}, Status.PENDED),
        ({0: APPROVE, 1: LineDetermination(decision=Decision.CANCELLED)}, Status.APPROVED),
        (
            {i: LineDetermination(decision=Decision.CANCELLED) for i in (0, 1)},
            Status.CANCELLED,
        ),
    ],
)
def test_overall_status_follows_line_decisions(
    decisions: dict[int, LineDetermination], expected: Status
) -> None:
    """The request's status is derived from its lines' decisions."""
    request = submitted(service_lines=two_lines())
    assert request.record_determination(PAYER, T0, decisions) is expected


def test_pended_then_decided() -> None:
    """A pended request may be pended again (more information) and then decided."""
    request = submitted()
    request.record_determination(PAYER, T0, {0: PEND})
    request.record_determination(PAYER, T0, {0: PEND})
    assert request.status is Status.PENDED
    assert request.decided_at is None
    request.record_determination(PAYER, T0, {0: APPROVE})
    assert request.status is Status.APPROVED


def test_determination_for_missing_line_is_refused() -> None:
    """A decision naming a line the request does not have changes nothing."""
    request = submitted()
    with pytest.raises(DomainError, match="line\\(s\\) \\[3\\]"):
        request.record_determination(PAYER, T0, {3: APPROVE})
    assert request.status is Status.SUBMITTED


def test_denial_needs_a_reason() -> None:
    """CMS-0057-F: a denial without a specific reason is not a valid determination."""
    with pytest.raises(ValidationError, match="specific reason"):
        LineDetermination(decision=Decision.DENIED)


def test_appeal_levels_climb_and_never_repeat() -> None:
    """A denial is appealed level by level; a level already tried cannot be tried again."""
    request = submitted()
    request.record_determination(PAYER, T0, {0: DENY})
    request.appeal(COORDINATOR, T0, AppealLevel.FIRST_LEVEL, reason="notes attached")
    assert request.status is Status.APPEAL_FIRST_LEVEL
    request.record_appeal_outcome(PAYER, T0, overturned=False)
    assert request.status is Status.DENIED
    with pytest.raises(DomainError, match="not open"):
        request.appeal(COORDINATOR, T0, AppealLevel.FIRST_LEVEL, reason="again")
    request.appeal(COORDINATOR, T0, AppealLevel.SECOND_LEVEL, reason="skip peer review")
    request.record_appeal_outcome(PAYER, T0, overturned=True)
    assert request.status is Status.APPROVED
    assert request.appeal_levels_attempted == (AppealLevel.FIRST_LEVEL, AppealLevel.SECOND_LEVEL)


def test_appeal_outcome_without_appeal_is_illegal() -> None:
    """An appeal outcome needs an open appeal."""
    request = submitted()
    with pytest.raises(IllegalTransition):
        request.record_appeal_outcome(PAYER, T0, overturned=True)


def test_rejected_submission_returns_to_ready() -> None:
    """A payer's outright rejection (not a denial) sends the request back for correction."""
    request = submitted()
    request.reject_submission(PAYER, T0, reason="member id not found", code="75")
    assert request.status is Status.READY


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("requesting_provider", "npi"), "1234567890", "check digit"),
        (("service_lines", 0, "diagnoses", 0), "M54", "category header"),
        (("service_lines", 0, "diagnoses", 0), "Q99.99", "not an ICD-10-CM code"),
        (("service_lines", 0, "units"), "0", "greater than 0"),
        (("service_lines", 0, "service_end"), "2026-03-01", "before service_start"),
        (("service_lines", 0, "code"), "7214", "not a CPT code"),
    ],
)
def test_bad_values_are_refused_with_their_location(
    path: tuple[str | int, ...], value: str, message: str
) -> None:
    """Each invalid field fails validation at its own location with a readable message."""
    body = request_body()
    target = body
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    with pytest.raises(ValidationError) as caught:
        draft(T0, **{k: body[k] for k in body})
    errors = caught.value.errors()
    assert any(message in e["msg"] for e in errors), errors
    assert any(tuple(e["loc"][: len(path) - 1]) == path[:-1] for e in errors), errors
