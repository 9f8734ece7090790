"""PAS submissions to decision through the real gateway and a real sandbox payer.

Auto-decidable requests (a gold-card practitioner's MRI) are submitted at a steady
rate through ``submit_electronically`` (SQLite persistence of attempts, events and
audit included) to a sandbox payer running in its own process. Prints throughput and
p50/p95/p99 from each submission's scheduled time to its recorded decision, and the
ratio to a peer measured in the same run: a bare httpx POST of a PAS Bundle to the
same sandbox. Goal: p99 <= 1 s. ``--format x12-278`` runs the same through the X12
gateway and the sandbox's ``/x12/278`` (the peer then POSTs the 278 interchange).

    .venv/bin/python bench/pas.py [--rate 50] [--seconds 30] [--format fhir-pas|x12-278]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

from precert.adapters.payers.registry import GatewayRegistry
from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.adapters.payers.x12 import interchange, submitter_id
from precert.bootstrap import bootstrap
from precert.config import Settings
from precert.domain.authorization import Actor, LineOfBusiness, Role
from precert.domain.tenancy import Payer
from precert.interop.fhir.pas import build_request_bundle
from precert.interop.x12.mapping import review_request
from precert.interop.x12.writer import write_278
from precert.ports import PayerAuth, PayerConnection, PayerFormat
from precert.sandbox.server import free_port
from precert.services.access import AccessContext
from precert.services.authorizations import (
    MarkReady,
    NewAuthorization,
    act_on_authorization,
    open_authorization,
)
from precert.services.submission import SubmissionSettings, submit_electronically
from precert.services.tenancy import ensure_organization

GOLD_CARD_NPI = "1588667638"
BODY = {
    "patient": {
        "id": "MRN-BENCH",
        "given_name": "Bench",
        "family_name": "Patient",
        "birth_date": "1970-05-01",
        "sex": "female",
        "member_id": "NW-BENCH-1",
    },
    "coverage": {
        "payer_id": "northwind-health",
        "plan": "Northwind Choice PPO",
        "line_of_business": "commercial",
        "member_id": "NW-BENCH-1",
        "state": "MO",
        "effective_from": "2026-01-01",
    },
    "requesting_provider": {"npi": GOLD_CARD_NPI, "name": "Dr. Gold Card"},
    "servicing_provider": {"npi": "1245319599", "name": "Example Imaging", "kind": "organization"},
    "service_lines": [
        {
            "code_system": "CPT",
            "code": "72148",
            "units": "1",
            "service_start": "2026-12-20",
            "service_end": "2026-12-20",
            "place_of_service": "22",
            "diagnoses": ["M54.50"],
            "estimated_amount": "1850.00",
        }
    ],
    "category": "advanced_imaging",
}


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def paced(count: int, rate: float, work: object) -> tuple[list[float], float]:
    """Run ``work(i)`` ``count`` times at ``rate`` per second; latency from each scheduled time."""
    latencies: list[float] = [0.0] * count
    start = time.perf_counter() + 0.2

    def one(i: int) -> None:
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        work(i)  # type: ignore[operator]
        latencies[i] = time.perf_counter() - scheduled

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(one, range(count)))
    return latencies, time.perf_counter() - start


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--format", type=PayerFormat, default=PayerFormat.FHIR_PAS, choices=list(PayerFormat)
    )
    args = parser.parse_args()
    x12 = args.format is PayerFormat.X12_278
    count = int(args.rate * args.seconds)
    work_dir = Path(tempfile.mkdtemp(prefix="precert-bench-pas-"))
    port = free_port()
    sandbox = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("precert")),
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{work_dir / 'sandbox.db'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/sandbox/scenarios", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        precert = bootstrap(Settings(database_url=f"sqlite:///{work_dir / 'precert.db'}"))
        with SqlPayerUnitOfWork(precert.engine) as uow:
            org = ensure_organization(uow, "bench", "Bench clinic")
            uow.directory.upsert_payer(
                Payer(
                    "northwind-health",
                    "Northwind",
                    "555-0100",
                    "NWH01",
                    (LineOfBusiness.COMMERCIAL,),
                )
            )
            now = datetime.now(UTC)
            uow.payers.save_connection(
                PayerConnection(
                    str(uuid.uuid4()),
                    org.id,
                    "northwind-health",
                    args.format,
                    f"{base}/x12" if x12 else f"{base}/fhir",
                    PayerAuth(),
                    GOLD_CARD_NPI,
                    10.0,
                    4,
                    now,
                    now,
                )
            )
            uow.commit()
        context = AccessContext(org.id, Actor(id="bench", role=Role.COORDINATOR), "bench")
        command = NewAuthorization.model_validate(BODY)
        ids = []
        for _ in range(count + 1):
            with precert.uow() as uow:
                opened = open_authorization(uow, context, command, precert.clock)
            with precert.uow() as uow:
                act_on_authorization(uow, context, opened.request.id, MarkReady(), precert.clock)
            ids.append(opened.request.id)
        registry = GatewayRegistry()
        settings = SubmissionSettings(gateways=registry.gateway)
        statuses: dict[str, str] = {}
        lock = threading.Lock()

        def submit(i: int) -> None:
            request = submit_electronically(
                lambda: SqlPayerUnitOfWork(precert.engine), context, ids[i], settings, precert.clock
            )
            with lock:
                statuses[ids[i]] = request.status.value

        # One untimed submission first: the first use loads the FHIR model classes and the
        # payer's connection (a few hundred ms once), which is start-up, not steady state.
        submit(count)
        statuses.pop(ids[count])
        latencies, elapsed = paced(count, args.rate, submit)
        approved = sum(1 for s in statuses.values() if s == "approved")

        # Peer: the same PAS exchange with no precert around it, at the same rate.
        with precert.uow() as uow:
            sample = uow.authorizations.get(org.id, ids[0])
        client = httpx.Client(timeout=10)
        peer_count = min(count, int(args.rate * 10))

        def bare(i: int) -> None:
            key = f"peer-{i}-{uuid.uuid4()}"
            if x12:
                review = review_request(sample, submitter_id=submitter_id(GOLD_CARD_NPI))
                text = interchange(
                    "278",
                    write_278(review._replace(reference=key)),
                    sender=GOLD_CARD_NPI,
                    receiver="northwind-health",
                    key=key,
                    at=datetime.now(UTC),
                )
                client.post(f"{base}/x12/278", content=text).raise_for_status()
                return
            bundle = build_request_bundle(sample, submission_id=key, submitted_at=datetime.now(UTC))
            client.post(f"{base}/fhir/Claim/$submit", json=bundle).raise_for_status()

        peer, _ = paced(peer_count, args.rate, bare)
        registry.close()
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
    peer50, peer99 = percentile(peer, 50), percentile(peer, 99)
    print(f"submissions: {count} at {args.rate:g}/s target over {args.format}; {approved} approved")
    print(f"throughput:  {count / elapsed:.1f} decisions/s")
    print(f"latency:     p50 {p50 * 1000:.0f} ms  p95 {p95 * 1000:.0f} ms  p99 {p99 * 1000:.0f} ms")
    operation = "278" if x12 else "$submit"
    print(
        f"peer (bare httpx POST {operation}, {peer_count}): p50 {peer50 * 1000:.0f} ms  "
        f"p99 {peer99 * 1000:.0f} ms"
    )
    print(f"ratio precert/peer: p50 {p50 / peer50:.2f}x  p99 {p99 / peer99:.2f}x")
    print(
        f"goal p99 <= 1 s: {'met' if p99 <= 1.0 else 'NOT met'}; "
        f"mean {statistics.mean(latencies) * 1000:.0f} ms"
    )
    return 0 if approved == count else 1


if __name__ == "__main__":
    sys.exit(main())
