"""The work queue on SQLite and PostgreSQL: scans open tasks, people work them, touches count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from fastapi.testclient import TestClient

from precert.adapters.queue.jobs import JobRunner
from precert.bootstrap import Precert
from precert.clock import FrozenClock
from precert.domain.authorization import Role
from tests.factories import request_body
from tests.integration.conftest import READY_OVERRIDE, Tenant, make_tenant


def clock_of(precert: Precert) -> FrozenClock:
    """The test's controllable clock."""
    return cast(FrozenClock, precert.clock)


def submitted_request(client: TestClient, tenant: Tenant, **changes: Any) -> str:
    """Create a request through the API and record its submission through the portal."""
    created = client.post("/v1/authorizations", json=request_body(**changes), headers=tenant.auth())
    assert created.status_code == 201, created.text
    rid = str(created.json()["id"])
    for path, body in [
        ("ready", READY_OVERRIDE),
        ("submission", {"channel": "portal", "reference": "P-1"}),
    ]:
        moved = client.post(
            f"/v1/authorizations/{rid}/{path}", json=body, headers=tenant.auth(Role.MANAGER)
        )
        assert moved.status_code == 200, moved.text
    return rid


def test_overdue_decision_becomes_a_task_worked_with_touches(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """A decision overdue opens one task; snooze, reassign and complete record staff minutes."""
    rid = submitted_request(client, tenant)
    assert client.post("/v1/tasks/scan", headers=tenant.auth()).json()["opened"] == 0
    clock_of(precert).advance(timedelta(days=9))
    scan = client.post("/v1/tasks/scan", headers=tenant.auth()).json()
    assert scan["opened"] == 1
    again = client.post("/v1/tasks/scan", headers=tenant.auth()).json()
    assert again["opened"] == again["closed"] == 0

    (task,) = client.get("/v1/tasks", headers=tenant.auth()).json()["items"]
    assert (task["kind"], task["authorization_id"]) == ("decision_overdue", rid)
    assert task["deadline"]["kind"] == "decision"
    assert task["deadline"]["overdue"] is True
    assert task["deadline"]["at_risk"] is True
    assert task["revenue_at_risk"] == "1850.00"

    tid = task["id"]
    until = (precert.clock.now() + timedelta(hours=4)).isoformat()
    snoozed = client.post(
        f"/v1/tasks/{tid}/snooze", json={"until": until, "minutes": 5}, headers=tenant.auth()
    )
    assert snoozed.json()["status"] == "snoozed"
    assert client.get("/v1/tasks", headers=tenant.auth()).json()["items"] == []
    listed = client.get("/v1/tasks?status=snoozed", headers=tenant.auth()).json()["items"]
    assert [t["id"] for t in listed] == [tid]

    reassigned = client.post(
        f"/v1/tasks/{tid}/reassign", json={"assignee": "user:sam"}, headers=tenant.auth()
    )
    assert reassigned.json()["assignee"] == "user:sam"
    done = client.post(
        f"/v1/tasks/{tid}/complete",
        json={"minutes": 12, "note": "called payer"},
        headers=tenant.auth(),
    ).json()
    assert (done["status"], done["staff_minutes"]) == ("done", 17)

    timeline = client.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()["timeline"]
    touches = [e["payload"]["minutes"] for e in timeline if e["type"] == "authorization.touch"]
    assert touches == [5, 12]
    again = client.post(f"/v1/tasks/{tid}/complete", json={"minutes": 1}, headers=tenant.auth())
    assert again.status_code == 422
    with precert.uow() as uow:
        entries = uow.audit.entries(tenant.organization_id, subject_id=rid)
    assert {"task.snooze", "task.complete", "follow-up scan"} <= {
        e.detail.get("event") for e in entries
    }


def test_queue_filters_sort_and_deadline(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """The queue sorts by due time then revenue, filters by kind and shows each deadline."""
    small = submitted_request(client, tenant)
    line = {**request_body()["service_lines"][0], "estimated_amount": "25000.00"}
    big = submitted_request(client, tenant, service_lines=[line])
    clock_of(precert).advance(timedelta(days=9))
    client.post("/v1/tasks/scan", headers=tenant.auth())
    items = client.get("/v1/tasks", headers=tenant.auth()).json()["items"]
    assert [i["authorization_id"] for i in items] == [big, small]
    assert items[0]["priority"] < items[1]["priority"]
    none = client.get("/v1/tasks?kind=approval_expiring", headers=tenant.auth()).json()
    assert none["items"] == []
    deadline = client.get(f"/v1/authorizations/{small}/deadline", headers=tenant.auth())
    assert deadline.json()["kind"] == "decision"


def test_tasks_of_another_organization_are_invisible(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """Another tenant neither lists nor touches this tenant's tasks."""
    submitted_request(client, tenant)
    clock_of(precert).advance(timedelta(days=9))
    client.post("/v1/tasks/scan", headers=tenant.auth())
    (task,) = client.get("/v1/tasks", headers=tenant.auth()).json()["items"]
    other = make_tenant(precert, tenant.slug + "-other")
    assert client.get("/v1/tasks", headers=other.auth()).json()["items"] == []
    stolen = client.post(
        f"/v1/tasks/{task['id']}/complete", json={"minutes": 1}, headers=other.auth()
    )
    assert stolen.status_code == 404
    auditor = client.post(
        f"/v1/tasks/{task['id']}/complete", json={"minutes": 1}, headers=tenant.auth(Role.AUDITOR)
    )
    assert auditor.status_code == 403


def test_expiry_job_moves_lapsed_approvals(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """An approval whose validity ended is moved to expired by the background job, once."""
    rid = submitted_request(client, tenant)
    decided = client.post(
        f"/v1/authorizations/{rid}/determination",
        json={"lines": {"0": {"decision": "approved", "valid_to": "2026-03-31"}}},
        headers=tenant.auth(),
    )
    assert decided.status_code == 200, decided.text
    runner = JobRunner(precert)
    assert rid not in runner.expire_approvals()
    clock_of(precert).advance(timedelta(days=31))
    assert rid in runner.expire_approvals()
    assert rid not in runner.expire_approvals()
    status = client.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()["status"]
    assert status == "expired"
