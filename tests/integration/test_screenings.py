"""``/v1/screenings``: schedule files screened as durable ``screen`` jobs, on both backends.

The job is run synchronously through ``JobRunner``, as the worker would run it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from precert.adapters.db import tables
from precert.adapters.queue.jobs import JobRunner
from precert.bootstrap import Precert
from precert.domain.authorization import Role
from precert.services.screening import screen_csv
from tests.conftest import T0
from tests.integration.conftest import Tenant, make_tenant

HEADER = (
    "payer_id,plan,line_of_business,state,code_system,code,modifiers,place_of_service,"
    "service_date,units,amount,birth_date,sex,diagnoses,category"
)
#: (code system, code, whether Northwind requires PA for it)
CODES = [("CPT", "70553", True), ("CPT", "99213", False), ("HCPCS", "J9271", True)]
#: Row index (0-based, after the header) that carries a malformed procedure code.
BAD_INDEX = 2
CSV = {"Content-Type": "text/csv"}


def schedule(rows: int) -> bytes:
    """A CSV schedule of ``rows`` Northwind lines, one of them (``BAD_INDEX``) malformed."""
    lines = [HEADER]
    for i in range(rows):
        system, code, _ = CODES[i % len(CODES)]
        if i == BAD_INDEX:
            code = "7055"
        lines.append(
            f"northwind-health,Standard,commercial,MO,{system},{code},,11,2026-06-15,1,2500,"
            "1970-06-15,female,M17.11;I10,"
        )
    return ("\n".join(lines) + "\n").encode()


def submit(client: TestClient, tenant: Tenant, body: bytes, headers: dict[str, str]) -> str:
    """POST a schedule; return the screening id after checking the 202 answer."""
    response = client.post("/v1/screenings", content=body, headers={**tenant.auth(), **headers})
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["status"] == "pending"
    assert answer["rows_done"] == 0
    assert answer["result_url"] is None
    assert response.headers["Location"] == f"/v1/screenings/{answer['id']}"
    return str(answer["id"])


def run(precert: Precert, screening_id: str) -> None:
    """Run the screening's job the way the worker does."""
    outcome = JobRunner(precert).run(f"screen:{screening_id}")
    assert outcome.state == "done", outcome


def show(client: TestClient, tenant: Tenant, screening_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/screenings/{screening_id}", headers=tenant.auth())
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_csv_schedule_is_screened_with_a_bad_row_reported(
    client: TestClient, precert: Precert, tenant: Tenant, tmp_path: Path
) -> None:
    """Every good row is judged; the bad one is named by line, counted and annotated."""
    body = schedule(30)
    screening_id = submit(client, tenant, body, CSV)
    before = client.get(f"/v1/screenings/{screening_id}/result.csv", headers=tenant.auth())
    assert before.status_code == 409

    run(precert, screening_id)

    answer = show(client, tenant, screening_id)
    assert answer["status"] == "done"
    assert (answer["rows_total"], answer["rows_done"]) == (30, 30)
    assert answer["result_url"] == f"/v1/screenings/{screening_id}/result.csv"
    summary = answer["summary"]
    assert (summary["lines"], summary["rejected"]) == (29, 1)
    assert len(summary["errors"]) == 1
    assert summary["errors"][0]["line"] == BAD_INDEX + 2  # the header is line 1
    assert "'7055'" in summary["errors"][0]["reason"]
    needing = sum(CODES[i % 3][2] for i in range(30) if i != BAD_INDEX)
    assert summary["needing_auth"] == needing
    assert sum(group["lines"] for group in summary["by_payer_and_category"]) == 29

    download = client.get(answer["result_url"], headers=tenant.auth())
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 30
    assert rows[BAD_INDEX]["error"] == summary["errors"][0]["reason"]
    assert not rows[BAD_INDEX]["pa_needed"]
    assert all(r["pa_needed"] for i, r in enumerate(rows) if i != BAD_INDEX)
    assert all(r["pa_needed"] == "no-auth" for r in rows if r["code"] == "99213")

    # The job runs the very code ``precert screen`` runs: the same file gives the same CSV.
    source, out = tmp_path / "schedule.csv", tmp_path / "screened.csv"
    source.write_bytes(body)
    screen_csv(source, out, precert.policy, T0.date())
    assert download.content == out.read_bytes()


def test_ndjson_orders_are_screened(client: TestClient, precert: Precert, tenant: Tenant) -> None:
    """NDJSON FHIR Bundles are screened per billing code; a line that is not JSON is rejected."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}},
            {
                "resource": {
                    "resourceType": "Coverage",
                    "id": "c1",
                    "status": "active",
                    "beneficiary": {"reference": "Patient/p1"},
                    "payor": [{"reference": "Organization/summit-exchange"}],
                }
            },
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "id": "o1",
                    "status": "draft",
                    "intent": "order",
                    "subject": {"reference": "Patient/p1"},
                    "occurrenceDateTime": "2026-06-01",
                    "code": {
                        "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "27447"}]
                    },
                }
            },
        ],
    }
    body = (json.dumps(bundle) + "\n{not json\n").encode()
    screening_id = submit(client, tenant, body, {"Content-Type": "application/x-ndjson"})
    run(precert, screening_id)
    summary = show(client, tenant, screening_id)["summary"]
    assert (summary["lines"], summary["rejected"]) == (1, 1)
    assert summary["errors"][0]["line"] == 2
    download = client.get(f"/v1/screenings/{screening_id}/result.csv", headers=tenant.auth())
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert rows[0]["code"] == "27447"
    assert rows[0]["pa_needed"] == "auth-needed"
    assert rows[1]["error"].startswith("not JSON")


def test_schedule_beyond_the_json_limit_is_accepted_and_progress_counts_rows(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """A schedule over the 1 MiB JSON limit is taken; progress ends at every row done."""
    body = schedule(12_000) + b"\n"  # a trailing blank line is no row
    assert len(body) > precert.settings.max_body_bytes
    screening_id = submit(client, tenant, body, CSV)
    run(precert, screening_id)
    answer = show(client, tenant, screening_id)
    assert (answer["rows_total"], answer["rows_done"]) == (12_000, 12_000)
    assert answer["summary"]["lines"] == 11_999


def test_other_types_and_empty_files_are_refused(client: TestClient, tenant: Tenant) -> None:
    """Only CSV and NDJSON are screened; an empty file is a 422, not a job."""
    as_json = client.post(
        "/v1/screenings",
        content=b'{"rows": []}',
        headers={**tenant.auth(), "Content-Type": "application/json"},
    )
    assert as_json.status_code == 415
    empty = client.post("/v1/screenings", content=b"\n", headers={**tenant.auth(), **CSV})
    assert empty.status_code == 422


def test_screenings_are_tenant_isolated_permission_checked_and_audited(
    client: TestClient, precert: Precert, tenant: Tenant, unique_slug: str
) -> None:
    """Another organization's screening is not found; an auditor may not screen; all audited."""
    screening_id = submit(client, tenant, schedule(3), CSV)
    run(precert, screening_id)
    other = make_tenant(precert, f"{unique_slug}-other")
    for path in (f"/v1/screenings/{screening_id}", f"/v1/screenings/{screening_id}/result.csv"):
        assert client.get(path, headers=other.auth()).status_code == 404
    auditor = tenant.auth(Role.AUDITOR)
    assert (
        client.post("/v1/screenings", content=schedule(3), headers={**auditor, **CSV}).status_code
        == 403
    )
    assert client.get(f"/v1/screenings/{screening_id}", headers=auditor).status_code == 403

    show(client, tenant, screening_id)
    assert client.get(f"/v1/screenings/{screening_id}/result.csv", headers=tenant.auth()).is_success
    log = tables.audit_log.c
    with precert.engine.connect() as connection:
        entries = connection.execute(
            select(log.organization_id, log.action, log.actor_id).where(
                log.subject_type == "screening", log.subject_id == screening_id
            )
        ).all()
    assert {e.organization_id for e in entries} == {tenant.organization_id}
    assert sorted(e.action for e in entries) == ["create", "read", "read", "write"]
    assert "worker" in {e.actor_id for e in entries}
