"""The follow-up job's fall-back: when the notification is overdue it really asks the payer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import cast

import pytest

from precert.adapters.queue.jobs import JobRunner
from precert.bootstrap import Precert
from precert.clock import FrozenClock
from precert.sandbox.server import SandboxServer
from tests.integration.conftest import Tenant
from tests.integration.test_submission import (
    Live,
    connect,
    fast_sandbox,
    member,
    ready_request,
    sandbox_claims,
    serve,
    submit,
    wait_for,
)


@pytest.fixture
def payer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """A sandbox payer deciding within a second."""
    with fast_sandbox(tmp_path_factory.mktemp("payer")) as server:
        yield server


@pytest.fixture
def served(precert: Precert) -> Iterator[Live]:
    """precert over real HTTP."""
    with serve(precert) as live:
        yield live


def test_overdue_notification_job_inquires_and_applies(
    served: Live, tenant: Tenant, payer: SandboxServer
) -> None:
    """Notifications dropped: the planned inquiry job asks $inquire and records the approval."""
    connect(served, tenant, payer.fhir_base)
    who = member("silent")
    rid = ready_request(served, tenant, who)
    assert submit(served, tenant, rid).json()["status"] == "pended"
    wait_for(lambda: sandbox_claims(payer, who)[0]["status"] == "decided")
    # The pend outlives the payer's pend limit (business days) with no notification.
    cast(FrozenClock, served.precert.clock).advance(timedelta(days=10))
    runner = JobRunner(served.precert, submission=served.settings)
    (key,) = [k for k in runner.plan_inquiries() if rid in k]
    assert runner.run(key).state == "done"
    answer = served.http.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()
    assert answer["status"] == "approved"
    assert [e["type"] for e in answer["timeline"]].count(
        "authorization.determination_recorded"
    ) == 2
