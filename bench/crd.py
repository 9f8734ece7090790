"""CRD hook latency: a running server under 200 order-sign requests/s for 60 s.

The server runs in its own process (uvicorn, one worker) and serves precert's whole app
on a fresh SQLite database, so each call pays what production pays: the API-key check,
the audit entry for the patient the hook carries, parsing, policy evaluation, FHIRPath
criteria and response building. This process is the load generator: an open loop that
sends each request at its scheduled time, so a slow server cannot slow the offered rate
down.

The request is the CRD IG's order-sign example (``CRDServiceRequest.json``) with its
coverage pointed at the fictional Northwind payer, so real rules fire. The peer, measured
in the same run at the same rate, is ``GET /cds-services`` on the same server: the
framework's floor. Prints p50/p95/p99 for both and the ratio of the p99s.

Run: ``.venv/bin/python bench/crd.py`` (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

RATE = 200
CONNECTIONS = 16
DURATION = 60.0
PEER_DURATION = 15.0
FIXTURE = (
    Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "fhir" / "CRDServiceRequest.json"
)


def build_app() -> Any:
    """precert's app on the database named by PRECERT_DATABASE_URL (set by ``main``)."""
    from precert.bootstrap import bootstrap
    from precert.web.app import create_app

    precert = bootstrap()
    precert.policy  # noqa: B018 - compile the packs before the first request, not during it
    return create_app(precert)


def integration_key(database_url: str) -> str:
    """An organization and an integration key on a fresh database."""
    from precert.bootstrap import bootstrap
    from precert.config import Settings
    from precert.domain.authorization import Role
    from precert.services.tenancy import ensure_organization, issue_api_key

    precert = bootstrap(Settings(database_url=database_url))
    with precert.uow() as uow:
        ensure_organization(uow, "bench", "Bench Clinic")
        return issue_api_key(
            uow, organization_slug="bench", role=Role.INTEGRATION, name="bench", clock=precert.clock
        )


def serve(port: int) -> None:
    """Server process entry: serve the app on loopback until killed."""
    import uvicorn

    uvicorn.run(build_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


class Connection:
    """One keep-alive HTTP/1.1 connection: the load generator's own minimal client.

    httpx's pool spends quadratic time on queued requests at this rate and became the
    bottleneck, so the generator speaks HTTP/1.1 directly over a fixed set of sockets.
    """

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.token = token

    @classmethod
    async def open(cls, port: int, token: str) -> Connection:
        """Connect to the server on loopback."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, token)

    async def request(self, method: str, path: str, body: bytes | None) -> int:
        """Send one request, read the whole response, return its status code."""
        content = body or b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(content)}\r\n\r\n"
        )
        self.writer.write(head.encode() + content)
        await self.writer.drain()
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])


async def load(
    port: int, token: str, method: str, path: str, body: bytes | None, seconds: float
) -> tuple[list[float], int]:
    """Open-loop load at ``RATE`` per second over ``CONNECTIONS`` sockets.

    Latency runs from each request's scheduled time, so waiting for a free connection
    counts (no coordinated omission). Returns latencies in ms and the error count.
    """
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        idle.put_nowait(await Connection.open(port, token))
    latencies: list[float] = []
    errors = 0

    async def one(scheduled: float) -> None:
        nonlocal errors
        connection = await idle.get()
        try:
            if await connection.request(method, path, body) != 200:
                errors += 1
        finally:
            idle.put_nowait(connection)
        latencies.append((time.perf_counter() - scheduled) * 1000)

    tasks = []
    begin = time.perf_counter()
    for i in range(int(RATE * seconds)):
        scheduled = begin + i / RATE
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait().writer.close()
    return latencies, errors


def report(name: str, latencies: list[float], errors: int, seconds: float) -> float:
    """Print one phase's figures; return its p99."""
    p50, p95, p99 = (percentile(latencies, q) for q in (0.50, 0.95, 0.99))
    print(
        f"{name:<28} {len(latencies) / seconds:7.1f} req/s offered  "
        f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms  errors {errors}"
    )
    return p99


async def run(port: int, token: str) -> None:
    """Warm up, then measure order-sign and the peer."""
    body = json.loads(FIXTURE.read_text(encoding="utf-8"))
    coverage = body["prefetch"]["coverage"]["entry"][0]["resource"]
    coverage["payor"] = [{"reference": "Organization/northwind-health"}]
    payload = json.dumps(body).encode()
    service = "/cds-services/precert-crd-order-sign"
    warm = await Connection.open(port, token)
    for _ in range(100):
        await warm.request("POST", service, payload)
    warm.writer.close()
    sign, sign_errors = await load(port, token, "POST", service, payload, DURATION)
    peer, peer_errors = await load(port, token, "GET", "/cds-services", None, PEER_DURATION)
    sign_p99 = report("order-sign (CRD)", sign, sign_errors, DURATION)
    peer_p99 = report("GET /cds-services (peer)", peer, peer_errors, PEER_DURATION)
    print(f"p99 ratio order-sign / peer: {sign_p99 / peer_p99:.2f}x (goal: p99 <= 100 ms)")


def main() -> None:
    """Start the server process, load it from this one, stop it."""
    if not FIXTURE.exists():
        sys.exit(f"the CRD fixture {FIXTURE} is missing")
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="precert-crd-bench-"))
    database_url = f"sqlite:///{workdir / 'precert.db'}"
    token = integration_key(database_url)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        env={**os.environ, "PRECERT_DATABASE_URL": database_url},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/cds-services", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            sys.exit("the server did not start")
        asyncio.run(run(port, token))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    else:
        main()
