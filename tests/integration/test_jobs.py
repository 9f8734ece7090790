"""Durable jobs through Huey on the embedded (SQLite) and the Redis backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from huey import Huey

from precert.adapters.db.workflow import JobStatus, SqlJobs
from precert.adapters.queue.jobs import JobContext, JobRunner, Retry, handler
from precert.adapters.queue.worker import Queue, build_queue, make_huey
from precert.bootstrap import Precert
from precert.clock import FrozenClock
from precert.domain.retry import Backoff
from precert.domain.review import ReviewReason
from precert.ports import ReviewQuery
from tests.conftest import require_service
from tests.integration.conftest import Tenant

REDIS_URL = os.environ.get("PRECERT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CALLS: list[str] = []


@handler("test-count")
def count(context: JobContext) -> Mapping[str, Any]:
    """Remember that the job ran, under its idempotency key."""
    CALLS.append(context.idempotency_key)
    return {"calls": len(CALLS)}


@handler("test-flaky")
def flaky(context: JobContext) -> Mapping[str, Any]:
    """A payer that never answers."""
    raise Retry(f"payer unavailable (attempt {context.job.attempts})")


def redis_available(url: str) -> None:
    """Skip, or fail in CI, when Redis does not answer."""
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        require_service("Redis", f"{url}: {exc}")


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def huey(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Huey]:
    """A Huey queue of its own on each backend."""
    name = f"precert-test-{uuid.uuid4().hex[:10]}"
    if request.param == "redis":
        redis_available(REDIS_URL)
        queue = make_huey(REDIS_URL, name=name)
    else:
        queue = make_huey(None, name=name, queue_file=tmp_path / "queue.db")
    yield queue
    queue.flush()


def clock_of(precert: Precert) -> FrozenClock:
    """The test's controllable clock."""
    return cast(FrozenClock, precert.clock)


def deliver_one(queue: Queue) -> Any:
    """Take one message off the queue and run it, as a consumer thread would."""
    task = queue.huey.dequeue()
    assert task is not None, "nothing was enqueued"
    return queue.huey.execute(task)


def test_job_delivered_once_per_key(huey: Huey, precert: Precert, tenant: Tenant) -> None:
    """A key submitted twice is one job, delivered through the queue and run once."""
    queue = build_queue(huey, JobRunner(precert))
    key = f"count:{uuid.uuid4()}"
    assert queue.submit(key, "test-count", tenant.organization_id)
    assert not queue.submit(key, "test-count", tenant.organization_id)
    assert huey.pending_count() == 1
    assert deliver_one(queue) == "done"
    assert CALLS.count(key) == 1
    assert queue.runner.run(key).state == "skipped"
    job = queue.runner.job(key)
    assert job is not None
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)


def test_payer_call_retries_with_backoff_then_goes_to_review(
    huey: Huey, precert: Precert, tenant: Tenant
) -> None:
    """Failures wait 7.5 s then 15 s (base 10, half jitter), then the case goes to a person."""
    runner = JobRunner(
        precert,
        backoff=Backoff(base_seconds=10, cap_seconds=100, max_attempts=3),
        jitter=lambda: 0.5,
    )
    queue = build_queue(huey, runner)
    key = f"flaky:{uuid.uuid4()}"
    queue.submit(key, "test-flaky", tenant.organization_id)
    assert deliver_one(queue) == "retry"
    retry = huey.dequeue()
    assert retry is not None, "the retry is on the queue"
    assert retry.eta is not None, "with the backoff's delay"
    assert runner.run(key).state == "skipped", "not due before its backoff"
    clock_of(precert).advance(timedelta(seconds=7.5))
    second = runner.run(key)
    assert (second.state, second.delay) == ("retry", timedelta(seconds=15))
    clock_of(precert).advance(timedelta(seconds=15))
    assert runner.run(key).state == "failed"
    job = runner.job(key)
    assert job is not None
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
    with precert.uow() as uow:
        items = uow.review.list(tenant.organization_id, ReviewQuery())
    assert [i.reason for i in items] == [ReviewReason.PAYER_UNREACHABLE]
    assert "attempt 3" in items[0].summary


def test_abandoned_job_is_swept_after_its_lease(
    huey: Huey, precert: Precert, tenant: Tenant
) -> None:
    """A job left running by a dead worker is re-delivered once its lease lapses."""
    runner = JobRunner(precert, lease=timedelta(seconds=30))
    queue = build_queue(huey, runner)
    key = f"count:{uuid.uuid4()}"
    runner.create(key, "test-count", tenant.organization_id)
    with precert.engine.begin() as connection:
        assert SqlJobs(connection).claim(key, precert.clock.now(), runner.lease) is not None
    assert key not in runner.runnable()
    clock_of(precert).advance(timedelta(seconds=31))
    assert key in runner.runnable()
    queue.sweep.call_local()
    assert deliver_one(queue) == "done"
    job = runner.job(key)
    assert job is not None
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)


def test_periodic_work_runs_under_a_lock(huey: Huey, precert: Precert, tenant: Tenant) -> None:
    """The periodic task scans, expires and plans inquiries; a held lock makes it step aside."""
    queue = build_queue(huey, JobRunner(precert))
    # The database is shared with other tests' organizations: check the shape, not the counts.
    report = queue.periodic.call_local()
    assert sorted(report) == ["closed", "expired", "inquiries", "opened"]
    assert all(isinstance(n, int) and n >= 0 for n in report.values())
    with huey.lock_task("precert-periodic-scan"):
        assert queue.periodic.call_local() == {}
