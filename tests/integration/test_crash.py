"""SIGKILL in the middle of writes loses no committed request and leaves no half-written one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select, text

from precert.adapters.db import tables
from precert.adapters.db.engine import make_engine
from precert.adapters.db.repository import SqlLedger
from precert.services.ledger import verify_ledger
from tests.conftest import REPO

ORDER = ["draft", "ready", "submitted"]


@pytest.mark.slow
def test_sigkill_mid_write_keeps_every_commit(fresh_database_url: str, unique_slug: str) -> None:
    """Kill a busy writer; every commit it announced is there, and every chain is whole."""
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.crash_writer", fresh_database_url, unique_slug],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert writer.stdout is not None
    announced: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while len(announced) < 25 and time.monotonic() < deadline:
        line = writer.stdout.readline()
        if not line:
            break
        _, request_id, status = line.split()
        announced[request_id] = status
    # Kill at an arbitrary point inside the next writes, not between them.
    time.sleep(0.013)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL
    assert len(announced) >= 25, "the writer never got going"

    engine = make_engine(fresh_database_url)
    try:
        with engine.connect() as connection:
            stored = dict(
                connection.execute(
                    select(tables.authorizations.c.id, tables.authorizations.c.status)
                ).all()
            )
            for request_id, status in announced.items():
                assert request_id in stored, f"committed request {request_id} was lost"
                assert ORDER.index(stored[request_id]) >= ORDER.index(status)
            report = verify_ledger(SqlLedger(connection).chains())
            assert report.broken is None, report.broken
            assert report.authorizations == len(stored)
            orphans = connection.execute(
                text(
                    "SELECT count(*) FROM events e WHERE NOT EXISTS "
                    "(SELECT 1 FROM authorizations a WHERE a.id = e.authorization_id)"
                )
            ).scalar_one()
            assert orphans == 0
            keys = connection.execute(text("SELECT count(*) FROM idempotency_keys")).scalar_one()
            assert keys == len(stored), "a request without its idempotency key, or the reverse"
    finally:
        engine.dispose()
