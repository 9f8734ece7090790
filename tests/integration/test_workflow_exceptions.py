"""Exception handling: every path a case cannot be decided on lands in the review queue, coded."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from fastapi.testclient import TestClient

from precert.adapters.queue.jobs import JobRunner
from precert.bootstrap import Precert
from precert.clock import FrozenClock
from precert.domain.authorization import Actor, Role
from precert.domain.review import EligibilityAnswer, eligibility_mismatch, payer_rejection
from precert.policy import PolicyEngine
from precert.policy.loader import parse_pack
from precert.services.access import AccessContext
from precert.services.review import route_to_review, screen_policy
from tests.factories import request_body
from tests.integration.conftest import Tenant
from tests.integration.test_workflow import submitted_request

#: Two equally ranked rules that disagree on the lumbar MRI, and one that leaves the
#: knee MRI to a medical director. Nothing names or classifies 0999T.
PACK = """
pack:
  id: workflow-test
  version: 1.0.0
  title: Workflow test pack
  publisher: tests
  source: illustrative example
  fictional: true
  layer: plan
  effective_from: "2026-01-01"
scope: {payers: [northwind-health], plans: [Northwind Choice PPO]}
rules:
  - id: wf-a
    description: One bulletin says the lumbar MRI needs approval.
    match: {code_system: CPT, codes: ["72148"]}
    outcome: {pa_needed: auth-needed}
  - id: wf-b
    description: Another says it does not.
    match: {code_system: CPT, codes: ["72148"]}
    outcome: {pa_needed: no-auth}
  - id: wf-manual
    description: The knee MRI goes to a medical director.
    match: {code_system: CPT, codes: ["73721"]}
    outcome: {pa_needed: conditional, note: medical director review}
"""


def test_each_exception_path_lands_in_the_review_queue(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """Conflicting rules, unknown codes, eligibility, AAA rejection, manual review, silence."""
    line = request_body()["service_lines"][0]
    lines = [line, {**line, "code": "73721"}, {**line, "code": "0999T"}]
    rid = submitted_request(client, tenant, service_lines=lines)
    context = AccessContext(
        tenant.organization_id, Actor(id="screen", role=Role.SYSTEM), "test: screening"
    )
    engine = PolicyEngine([parse_pack(PACK)])
    with precert.uow() as uow:
        request = uow.authorizations.get(tenant.organization_id, rid)
        exceptions = [
            *screen_policy(request, engine),
            eligibility_mismatch(request, EligibilityAnswer(active=False)),
            payer_rejection(rid, ["72", "15"], "invalid member id; missing data"),
        ]
        for exception in exceptions:
            assert exception is not None
            route_to_review(uow, context, exception, precert.clock)
    # No notification came: the fall-back job routes the silence to a person.
    cast(FrozenClock, precert.clock).advance(timedelta(hours=2))
    runner = JobRunner(precert)
    # Other tests' organizations share the database: look at this request's inquiry only.
    (key,) = [k for k in runner.plan_inquiries() if rid in k]
    assert runner.run(key).state == "done"
    assert [k for k in runner.plan_inquiries() if rid in k] == [], "one inquiry per silence"

    queue = client.get("/v1/review-queue", headers=tenant.auth()).json()["items"]
    by_reason = {item["reason"]: item for item in queue}
    assert sorted(by_reason) == [
        "conflicting_rules",
        "eligibility_mismatch",
        "manual_review_rule",
        "notification_overdue",
        "payer_rejection",
        "unknown_code",
    ]
    assert all(item["authorization_id"] == rid for item in queue)
    assert by_reason["payer_rejection"]["codes"] == ["72", "15"]
    assert by_reason["unknown_code"]["codes"] == ["0999T"]
    assert by_reason["conflicting_rules"]["codes"] == ["wf-a", "wf-b"]


def test_routing_twice_counts_and_resolving_closes(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """The same rejection routed twice is one item seen twice; resolving takes it off the queue."""
    rid = submitted_request(client, tenant)
    context = AccessContext(
        tenant.organization_id, Actor(id="gateway", role=Role.SYSTEM), "test: gateway"
    )
    with precert.uow() as uow:
        for _ in range(2):
            item = route_to_review(uow, context, payer_rejection(rid, ["75"]), precert.clock)
    assert item.occurrences == 2
    resolved = client.post(
        f"/v1/review-queue/{item.id}/resolve",
        json={"resolution": "member id corrected, resubmitted"},
        headers=tenant.auth(),
    )
    assert resolved.json()["status"] == "resolved"
    assert client.get("/v1/review-queue", headers=tenant.auth()).json()["items"] == []
    listed = client.get("/v1/review-queue?status=resolved", headers=tenant.auth()).json()
    assert [i["id"] for i in listed["items"]] == [item.id]
