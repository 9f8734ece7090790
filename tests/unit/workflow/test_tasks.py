"""The follow-up rules: which tasks a request needs, when they are due, and how plans apply."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from precert.domain.authorization import (
    Actor,
    AuthorizationRequest,
    Decision,
    LineDetermination,
    Role,
    Urgency,
)
from precert.domain.deadlines import end_of_day
from precert.domain.ledger import LedgerEntry
from precert.domain.tasks import (
    DECISION_EXTENDED,
    DOCUMENTATION_SENT,
    PayerTimeframes,
    Priority,
    Task,
    TaskError,
    TaskKind,
    TaskStatus,
    approval_lapsed,
    needed_tasks,
    notification_overdue_since,
    plan_tasks,
    priority_of,
    queue_order,
)
from tests.factories import COORDINATOR, PAYER, draft, request_body
from tests.unit.workflow.conftest import ledger

CHICAGO = ZoneInfo("America/Chicago")
T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # Monday
IMAGING = PayerTimeframes(lead_time_business_days=2)
SYSTEM = Actor(id="worker", role=Role.SYSTEM)


def line(**changes: object) -> dict[str, object]:
    """The factory's service line with fields replaced."""
    return {**request_body()["service_lines"][0], **changes}


def request_on(service: str, **changes: object) -> AuthorizationRequest:
    """A draft opened at T0 for a service on ``service`` (ISO date)."""
    return draft(T0, service_lines=[line(service_start=service, service_end=service)], **changes)


def submitted(
    at: datetime = T0, **changes: object
) -> tuple[AuthorizationRequest, list[LedgerEntry]]:
    """A request submitted at ``at``, with its history."""
    request = request_on("2026-03-20", **changes)
    request.mark_ready(COORDINATOR, at)
    request.submit(COORDINATOR, at, channel="portal", attempt_key="k1")
    return request, ledger(request)


def kinds(
    request: AuthorizationRequest, history: list[LedgerEntry], now: datetime
) -> list[TaskKind]:
    return [n.kind for n in needed_tasks(request, history, now, tz=CHICAGO, timeframes=IMAGING)]


def test_submission_due_only_when_at_risk() -> None:
    """A draft has no task while slack remains, and one due at the lead-time day's end after."""
    request = request_on("2026-03-20")
    history = ledger(request)
    assert kinds(request, history, T0) == []
    now = datetime(2026, 3, 18, 10, 0, tzinfo=CHICAGO)
    (need,) = needed_tasks(request, history, now, tz=CHICAGO, timeframes=IMAGING)
    assert need.kind is TaskKind.SUBMISSION_DUE
    assert need.due == end_of_day(date(2026, 3, 18), CHICAGO)


def test_submission_due_skips_weekend_and_memorial_day() -> None:
    """Lead time counts business days: a Tuesday after Memorial Day is due the Friday before."""
    request = request_on("2026-05-26")
    now = datetime(2026, 5, 22, 9, 0, tzinfo=CHICAGO)
    (need,) = needed_tasks(request, ledger(request), now, tz=CHICAGO, timeframes=PayerTimeframes(1))
    assert need.due == end_of_day(date(2026, 5, 22), CHICAGO)


def test_decision_overdue_after_seven_calendar_days() -> None:
    """A standard request's decision is overdue after the 7th day's local end, not before."""
    request, history = submitted()
    assert kinds(request, history, datetime(2026, 3, 9, 12, 0, tzinfo=CHICAGO)) == []
    late = datetime(2026, 3, 10, 0, 30, tzinfo=CHICAGO)
    (need,) = needed_tasks(request, history, late, tz=CHICAGO, timeframes=IMAGING)
    assert need.kind is TaskKind.DECISION_OVERDUE
    assert need.due == end_of_day(date(2026, 3, 9), CHICAGO)


def test_expedited_clock_counts_elapsed_hours_across_dst() -> None:
    """72 hours across the spring-forward night end one wall-clock hour later."""
    start = datetime(2026, 3, 6, 12, 0, tzinfo=CHICAGO)
    request, history = submitted(start, urgency="expedited")
    (need,) = needed_tasks(
        request, history, start + timedelta(days=4), tz=CHICAGO, timeframes=IMAGING
    )
    assert need.due == start.astimezone(UTC) + timedelta(hours=72)
    assert need.due.astimezone(CHICAGO).hour == 13


def test_extension_moves_the_decision_clock_and_closes_the_old_task() -> None:
    """A recorded extension replaces the 7-day task with nothing until day 14 ends."""
    request, history = submitted()
    now = datetime(2026, 3, 11, 9, 0, tzinfo=CHICAGO)
    (need,) = needed_tasks(request, history, now, tz=CHICAGO, timeframes=IMAGING)
    task = Task.from_need(need, "org-1", now)
    request.record_note(PAYER, now, DECISION_EXTENDED, days=14)
    history = ledger(request, history)
    plan = plan_tasks(request, history, [task], now, tz=CHICAGO, timeframes=IMAGING)
    assert plan.to_open == ()
    assert [t.resolution for t in plan.to_close] == ["resolved"]


def test_documentation_request_until_sent() -> None:
    """A pend with a reason asks for documentation; sending it closes the task."""
    request, history = submitted()
    asked = T0 + timedelta(hours=3)
    request.record_determination(
        PAYER,
        asked,
        {0: LineDetermination(decision=Decision.PENDED, reason_text="send PT notes")},
    )
    history = ledger(request, history)
    (need,) = needed_tasks(request, history, asked, tz=CHICAGO, timeframes=IMAGING)
    assert need.kind is TaskKind.DOCUMENTATION_REQUESTED
    assert "send PT notes" in need.summary
    assert need.due == end_of_day(date(2026, 3, 4), CHICAGO)
    request.record_note(COORDINATOR, asked, DOCUMENTATION_SENT, documents=2)
    assert kinds(request, ledger(request, history), asked) == []


def test_pended_too_long_without_a_request_for_information() -> None:
    """A silent pend becomes a task after the payer's pend limit in business days."""
    request, history = submitted()
    request.record_determination(PAYER, T0, {0: LineDetermination(decision=Decision.PENDED)})
    history = ledger(request, history)
    assert kinds(request, history, datetime(2026, 3, 5, 12, 0, tzinfo=CHICAGO)) == []
    assert kinds(request, history, datetime(2026, 3, 6, 8, 0, tzinfo=CHICAGO)) == [
        TaskKind.PENDED_TOO_LONG
    ]


def test_payer_error_until_resubmitted() -> None:
    """A refused submission needs correcting; resubmitting closes the need."""
    request, history = submitted()
    request.reject_submission(PAYER, T0, reason="member id invalid", code="72")
    history = ledger(request, history)
    (need,) = needed_tasks(request, history, T0, tz=CHICAGO, timeframes=IMAGING)
    assert need.kind is TaskKind.PAYER_ERROR
    assert "72 member id invalid" in need.summary
    request.submit(COORDINATOR, T0, channel="portal", attempt_key="k2")
    assert kinds(request, ledger(request, history), T0) == []


def test_approval_expiring_before_the_service() -> None:
    """An approval ending before the service does needs an extension, valued at its lines."""
    request = draft(T0, service_lines=[line(service_start="2026-03-20", service_end="2026-04-30")])
    request.mark_ready(COORDINATOR, T0)
    request.submit(COORDINATOR, T0, channel="portal", attempt_key="k")
    request.record_determination(
        PAYER,
        T0,
        {0: LineDetermination(decision=Decision.APPROVED, valid_to=date(2026, 4, 15))},
    )
    (need,) = needed_tasks(request, ledger(request), T0, tz=CHICAGO, timeframes=IMAGING)
    assert need.kind is TaskKind.APPROVAL_EXPIRING
    assert need.revenue_at_risk == Decimal("1850.00")
    assert need.due == end_of_day(date(2026, 4, 15), CHICAGO)


def test_cancelled_request_closes_its_tasks() -> None:
    """A final status needs nothing: open tasks close."""
    request, history = submitted()
    now = datetime(2026, 3, 11, tzinfo=CHICAGO)
    (need,) = needed_tasks(request, history, now, tz=CHICAGO, timeframes=IMAGING)
    task = Task.from_need(need, "org-1", now)
    request.cancel(COORDINATOR, now, "service cancelled")
    plan = plan_tasks(
        request, ledger(request, history), [task], now, tz=CHICAGO, timeframes=IMAGING
    )
    assert [t.status for t in plan.to_close] == [TaskStatus.DONE]


def test_plan_is_idempotent_and_never_reopens_done_work() -> None:
    """Applying a plan and planning again changes nothing, even after the task was done."""
    request, history = submitted()
    now = datetime(2026, 3, 11, tzinfo=CHICAGO)
    first = plan_tasks(request, history, [], now, tz=CHICAGO, timeframes=IMAGING)
    tasks = [Task.from_need(n, "org-1", now) for n in first.to_open]
    assert len(tasks) == 1
    assert plan_tasks(request, history, tasks, now, tz=CHICAGO, timeframes=IMAGING).empty
    done = [tasks[0].complete(now, 5)]
    assert plan_tasks(request, history, done, now, tz=CHICAGO, timeframes=IMAGING).empty


def test_elapsed_snooze_wakes_up() -> None:
    """A snoozed task whose time has come is refreshed back to open."""
    request, history = submitted()
    now = datetime(2026, 3, 11, 9, tzinfo=CHICAGO)
    (need,) = needed_tasks(request, history, now, tz=CHICAGO, timeframes=IMAGING)
    task = Task.from_need(need, "org-1", now).snooze(now + timedelta(hours=2), now)
    later = now + timedelta(hours=3)
    assert task.is_actionable(later)
    assert not task.is_actionable(now)
    plan = plan_tasks(request, history, [task], later, tz=CHICAGO, timeframes=IMAGING)
    assert [t.status for t in plan.to_update] == [TaskStatus.OPEN]


def test_priority_from_urgency_revenue_and_lateness() -> None:
    """Expedited, high-value and late is urgent; standard, small and on time is low."""
    due = T0 + timedelta(days=1)
    assert priority_of(Urgency.EXPEDITED, Decimal(20000), T0, T0) is Priority.URGENT
    assert priority_of(Urgency.STANDARD, Decimal(2000), due, T0) is Priority.NORMAL
    assert priority_of(Urgency.STANDARD, Decimal(100), due, T0) is Priority.LOW
    assert priority_of(Urgency.STANDARD, Decimal(16000), due, T0) is Priority.HIGH


def test_queue_order_due_then_revenue() -> None:
    """The queue sorts by due time, then by the most revenue at risk."""
    request, history = submitted()
    now = datetime(2026, 3, 11, tzinfo=CHICAGO)
    (need,) = needed_tasks(request, history, now, tz=CHICAGO, timeframes=IMAGING)
    base = Task.from_need(need, "org-1", now)
    small = replace(base, id="a", revenue_at_risk=Decimal(10))
    big = replace(base, id="b", revenue_at_risk=Decimal(5000))
    early = replace(base, id="c", due=base.due - timedelta(hours=1))
    assert [t.id for t in sorted([small, big, early], key=queue_order)] == ["c", "b", "a"]


def test_task_actions_guard_their_rules() -> None:
    """Done is final, snoozes go forward, and staff minutes stay plausible."""
    request, history = submitted()
    now = datetime(2026, 3, 11, tzinfo=CHICAGO)
    (need,) = needed_tasks(request, history, now, tz=CHICAGO, timeframes=IMAGING)
    task = Task.from_need(need, "org-1", now)
    with pytest.raises(TaskError, match="not in the future"):
        task.snooze(now, now)
    with pytest.raises(TaskError, match="between 0 and"):
        task.complete(now, 10_000)
    done = task.reassign("user:sam", now).complete(now, 12)
    assert (done.assignee, done.staff_minutes) == ("user:sam", 12)
    with pytest.raises(TaskError, match="already done"):
        done.complete(now, 1)


def test_notification_overdue_since() -> None:
    """No answer an hour after submission, or no news past the pend limit, is overdue."""
    request, history = submitted()
    assert notification_overdue_since(
        request, history, tz=CHICAGO, timeframes=IMAGING
    ) == T0 + timedelta(hours=1)
    request.record_determination(PAYER, T0, {0: LineDetermination(decision=Decision.PENDED)})
    history = ledger(request, history)
    assert notification_overdue_since(
        request, history, tz=CHICAGO, timeframes=IMAGING
    ) == end_of_day(date(2026, 3, 5), CHICAGO)


def test_approval_lapsed_only_after_every_line_ended() -> None:
    """An approval expires the day after its last valid day, not on it."""
    request = request_on("2026-03-20")
    request.mark_ready(COORDINATOR, T0)
    request.submit(COORDINATOR, T0, channel="portal", attempt_key="k")
    request.record_determination(
        PAYER, T0, {0: LineDetermination(decision=Decision.APPROVED, valid_to=date(2026, 3, 31))}
    )
    assert not approval_lapsed(request, datetime(2026, 3, 31, 23, tzinfo=CHICAGO), tz=CHICAGO)
    assert approval_lapsed(request, datetime(2026, 4, 1, 0, 5, tzinfo=CHICAGO), tz=CHICAGO)
