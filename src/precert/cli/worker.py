"""``precert worker``: run background jobs (follow-up scans, expiry, payer fall-backs)."""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from precert.adapters.queue.jobs import JobRunner
from precert.adapters.queue.worker import (
    DEFAULT_QUEUE_FILE,
    DEFAULT_QUEUE_NAME,
    build_queue,
    make_huey,
    run_consumer,
)
from precert.bootstrap import bootstrap


def worker(
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker threads")] = 2,
    periodic: Annotated[
        bool,
        typer.Option(help="Run the periodic scans here (turn off on all but one node if you like)"),
    ] = True,
    queue_file: Annotated[
        Path, typer.Option(help="SQLite queue file, used when PRECERT_REDIS_URL is not set")
    ] = DEFAULT_QUEUE_FILE,
    queue_name: Annotated[
        str, typer.Option(help="Queue name; workers sharing a Redis must share it")
    ] = DEFAULT_QUEUE_NAME,
    lease_seconds: Annotated[
        int, typer.Option(min=1, help="How long a job belongs to a worker before a takeover")
    ] = 300,
    handlers: Annotated[
        list[str] | None,
        typer.Option("--handlers", help="Import this module to register more job kinds"),
    ] = None,
) -> None:
    """Run the job worker on PRECERT_DATABASE_URL, with Redis if PRECERT_REDIS_URL is set."""
    for module in handlers or ():
        importlib.import_module(module)
    precert = bootstrap()
    huey = make_huey(precert.settings.redis_url, name=queue_name, queue_file=queue_file)
    runner = JobRunner(precert, lease=timedelta(seconds=lease_seconds))
    run_consumer(build_queue(huey, runner), workers=workers, periodic=periodic)
