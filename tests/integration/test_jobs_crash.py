"""SIGKILL mid-job: the job resumes on another worker and the payer sees one submission."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from precert.adapters.db.engine import make_engine
from precert.adapters.db.migrate import upgrade
from precert.adapters.db.workflow import JobStatus
from precert.adapters.queue.jobs import JobRunner
from precert.adapters.queue.worker import build_queue, make_huey
from precert.bootstrap import Precert
from precert.config import Settings
from precert.domain.authorization import Actor, Role
from precert.services.access import AccessContext
from precert.services.authorizations import (
    MarkReady,
    NewAuthorization,
    act_on_authorization,
    open_authorization,
)
from precert.services.tenancy import ensure_organization
from tests.conftest import REPO
from tests.factories import request_body
from tests.integration.conftest import NORTHWIND
from tests.integration.test_jobs import REDIS_URL, redis_available
from tests.integration.test_jobs_payer_handler import KIND


class Payer:
    """A payer that deduplicates submissions by Idempotency-Key and stalls its first answer."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.submissions: dict[str, str] = {}
        self.first_call = threading.Event()
        self.release = threading.Event()


def serve(payer: Payer) -> ThreadingHTTPServer:
    """Start the payer on a loopback port."""

    class Handle(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            key = self.headers["Idempotency-Key"]
            self.rfile.read(int(self.headers["Content-Length"]))
            payer.calls.append(key)
            reference = payer.submissions.setdefault(key, f"REF-{len(payer.submissions) + 1}")
            if len(payer.calls) == 1:
                # Stall the first answer: the worker dies waiting for it.
                payer.first_call.set()
                payer.release.wait(30)
            body = json.dumps({"reference": reference}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the caller was killed; nobody is listening

        def log_message(self, *args: object) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def payer() -> Iterator[tuple[Payer, str]]:
    """The payer and its submission URL."""
    state = Payer()
    server = serve(state)
    yield state, f"http://127.0.0.1:{server.server_address[1]}/submit"
    state.release.set()
    server.shutdown()


def start_worker(database_url: str, queue: dict[str, str]) -> subprocess.Popen[bytes]:
    """A real ``precert worker`` process with the test's job kind loaded."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PRECERT_DATABASE_URL": database_url}
    env.pop("PRECERT_REDIS_URL", None)
    if queue.get("redis_url"):
        env["PRECERT_REDIS_URL"] = queue["redis_url"]
    command = [
        sys.executable,
        "-c",
        "from precert.cli import main; main()",
        "worker",
        "--workers=1",
        "--no-periodic",
        f"--queue-file={queue['file']}",
        f"--queue-name={queue['name']}",
        "--lease-seconds=2",
        "--handlers=tests.integration.test_jobs_payer_handler",
    ]
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_sigkill_mid_submission_resumes_without_a_second_submission(
    backend: str, tmp_path: Path, payer: tuple[Payer, str]
) -> None:
    """Kill the worker while the payer holds its answer; a new worker finishes the same job."""
    if backend == "redis":
        redis_available(REDIS_URL)
    state, payer_url = payer
    database_url = f"sqlite:///{tmp_path / 'precert.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    precert = Precert(settings=Settings(database_url=database_url), engine=engine)
    with precert.uow() as uow:
        organization = ensure_organization(uow, "crash", "Crash Test Clinic")
        uow.directory.upsert_payer(NORTHWIND)
        uow.commit()
        context = AccessContext(organization.id, Actor(id="t", role=Role.SYSTEM), "test")
        command = NewAuthorization.model_validate(request_body())
        request = open_authorization(uow, context, command, precert.clock).request
        act_on_authorization(uow, context, request.id, MarkReady(), precert.clock)
    queue_settings = {
        "file": str(tmp_path / "queue.db"),
        "name": f"crash-{uuid.uuid4().hex[:8]}",
        "redis_url": REDIS_URL if backend == "redis" else "",
    }
    huey = make_huey(
        queue_settings["redis_url"] or None,
        name=queue_settings["name"],
        queue_file=Path(queue_settings["file"]),
    )
    queue = build_queue(huey, JobRunner(precert))
    key = f"submit:{request.id}:1"
    assert queue.submit(
        key, KIND, organization.id, authorization_id=request.id, payload={"payer_url": payer_url}
    )

    first = start_worker(database_url, queue_settings)
    workers = [first]
    try:
        assert state.first_call.wait(60), "the worker never called the payer"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert first.returncode == -signal.SIGKILL
        job = queue.runner.job(key)
        assert job is not None
        assert job.status == JobStatus.RUNNING, "killed mid-job, before recording anything"
        time.sleep(2.2)  # let the dead worker's lease lapse
        workers.append(start_worker(database_url, queue_settings))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = queue.runner.job(key)
            if job is not None and job.status == JobStatus.DONE:
                break
            time.sleep(0.2)
    finally:
        state.release.set()
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(15)
                except subprocess.TimeoutExpired:
                    worker.kill()
        huey.flush()

    assert job is not None
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert job.result == {"payer_reference": "REF-1"}
    assert state.calls == [key, key], "the resumed job called again with the same key"
    assert list(state.submissions) == [key], "and the payer recorded one submission"
    with precert.uow() as uow:
        history = uow.authorizations.history(organization.id, request.id)
    assert [e.type for e in history].count("authorization.submitted") == 1
    engine.dispose()
