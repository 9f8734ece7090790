"""Huey wiring: the queue transport, the periodic schedule, and the consumer.

Why Huey: one small library with an embedded backend (SQLite file, no server:
the default, like precert's database) and a multi-node backend (Redis: N
workers on N machines) behind one API, with a scheduler for periodic work and
delayed retries. The durable record of each job is precert's own ``jobs``
table (see ``jobs.py``), so the transport may lose a message (a worker killed
after dequeuing) without losing the work: the sweep re-delivers it.

Periodic work: every minute the sweep re-delivers due and abandoned jobs;
every five minutes the follow-up scan, the notification fall-back planning
and approval expiry run, under a Huey lock so several workers never scan at
once (they would only repeat the work, which is idempotent, but waste it).
Every minute, signed webhooks go out to subscribers, under a lock of their own so
each endpoint's events leave in order from one worker at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from huey.exceptions import TaskLockedException

from precert.adapters.queue.jobs import JobRunner, Outcome
from precert.adapters.webhook_transport import HttpWebhookTransport

log = structlog.get_logger(__name__)

DEFAULT_QUEUE_FILE = Path("var") / "queue.db"
DEFAULT_QUEUE_NAME = "precert"
SCAN_LOCK = "precert-periodic-scan"
WEBHOOK_LOCK = "precert-webhooks"


def make_huey(
    redis_url: str | None,
    *,
    name: str = DEFAULT_QUEUE_NAME,
    queue_file: Path = DEFAULT_QUEUE_FILE,
) -> Huey:
    """Redis storage when ``redis_url`` is given (PRECERT_REDIS_URL), else a SQLite file."""
    if redis_url:
        return RedisHuey(name, url=redis_url, utc=True)
    queue_file.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(queue_file), utc=True)


@dataclass
class Queue:
    """Huey plus the job runner, with precert's tasks registered on it."""

    huey: Huey
    runner: JobRunner
    run_job: Any
    sweep: Any
    periodic: Any
    webhooks: Any

    def enqueue(self, key: str) -> None:
        """Deliver a recorded job's key to a worker."""
        self.run_job(key)

    def submit(self, key: str, kind: str, organization_id: str, **fields: Any) -> bool:
        """Record a job and deliver it; False (nothing delivered) if the key was seen before."""
        created = self.runner.create(key, kind, organization_id, **fields)
        if created:
            self.enqueue(key)
        return created


def build_queue(huey: Huey, runner: JobRunner) -> Queue:
    """Register precert's tasks on ``huey``; the same call in API and worker processes."""

    # Huey's decorators are untyped; applying them as calls keeps the functions typed.
    def run_job(key: str) -> str:
        outcome: Outcome = runner.run(key)
        if outcome.state == "retry" and outcome.delay is not None:
            # The retry time is recorded on the job too, so a lost message is swept up later.
            deliver.schedule(args=(key,), delay=outcome.delay.total_seconds())
        return outcome.state

    def sweep() -> int:
        keys = runner.runnable()
        for key in keys:
            deliver(key)
        return len(keys)

    def periodic() -> dict[str, int]:
        try:
            with huey.lock_task(SCAN_LOCK):
                scans = runner.scan_follow_ups()
                expired = runner.expire_approvals()
                inquiries = runner.plan_inquiries()
        except TaskLockedException:
            log.info("periodic scan already running on another worker")
            return {}
        for key in inquiries:
            deliver(key)
        return {
            "opened": sum(r.opened for r in scans.values()),
            "closed": sum(r.closed for r in scans.values()),
            "expired": len(expired),
            "inquiries": len(inquiries),
        }

    def webhooks() -> int:
        try:
            with huey.lock_task(WEBHOOK_LOCK):
                return runner.deliver_webhooks(transport).delivered
        except TaskLockedException:
            return 0

    transport = HttpWebhookTransport()
    deliver: Any = huey.task(name="precert.run_job")(run_job)
    sweeper: Any = huey.periodic_task(crontab(minute="*"), name="precert.sweep")(sweep)
    scanner: Any = huey.periodic_task(crontab(minute="*/5"), name="precert.periodic")(periodic)

    notifier: Any = huey.periodic_task(crontab(minute="*"), name="precert.webhooks")(webhooks)
    return Queue(
        huey=huey,
        runner=runner,
        run_job=deliver,
        sweep=sweeper,
        periodic=scanner,
        webhooks=notifier,
    )


def run_consumer(queue: Queue, *, workers: int = 2, periodic: bool = True) -> None:
    """Run the Huey consumer until SIGINT/SIGTERM; abandoned jobs are swept on start."""
    for key in queue.runner.runnable():
        queue.enqueue(key)
    consumer = Consumer(queue.huey, workers=workers, periodic=periodic, worker_type="thread")
    consumer.run()
