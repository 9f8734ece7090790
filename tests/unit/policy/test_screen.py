"""``precert screen``: a generated 100,000-line schedule with bad rows, and NDJSON orders."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from precert.cli.screen import app

HEADER = [
    "payer_id",
    "plan",
    "line_of_business",
    "state",
    "code_system",
    "code",
    "modifiers",
    "place_of_service",
    "service_date",
    "units",
    "amount",
    "birth_date",
    "sex",
    "diagnoses",
    "category",
]
#: (payer, line of business), codes with whether each payer requires PA for them.
PAYERS = [
    ("northwind-health", "commercial"),
    ("showme-medicaid", "medicaid"),
    ("gateway-medicare", "medicare_advantage"),
]
CODES = [
    ("CPT", "70553", True),
    ("CPT", "99213", False),
    ("HCPCS", "J9271", True),
    ("HCPCS", "K0823", True),
    ("CPT", "27447", True),
]
BAD_ROWS = {
    17: {"code": "7055"},
    5_000: {"service_date": "2026-02-30"},
    60_001: {"payer_id": "acme"},
    99_999: {"diagnoses": "NOTACODE"},
}


def write_schedule(path: Path, rows: int) -> int:
    """Write ``rows`` lines (a few deliberately bad); return how many should need PA."""
    rng = random.Random(7)
    needing = 0
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        for i in range(rows):
            payer, lob = PAYERS[i % len(PAYERS)]
            system, code, needs = CODES[i % len(CODES)]
            day = f"2026-03-{rng.randint(2, 31):02d}"
            row = {
                "payer_id": payer,
                "plan": "Standard",
                "line_of_business": lob,
                "state": "MO",
                "code_system": system,
                "code": code,
                "modifiers": "",
                "place_of_service": "11",
                "service_date": day,
                "units": "1",
                "amount": "2500",
                "birth_date": "1970-06-15",
                "sex": "female",
                "diagnoses": "M17.11;I10",
                "category": "",
            }
            row.update(BAD_ROWS.get(i, {}))
            writer.writerow(row)
            if i not in BAD_ROWS and needs:
                needing += 1
    return needing


@pytest.mark.slow
def test_screen_100k_schedule(tmp_path: Path) -> None:
    """100,000 lines are screened; bad rows are named by line, counted and never abort the run."""
    source, out = tmp_path / "schedule.csv", tmp_path / "out.csv"
    needing = write_schedule(source, 100_000)
    result = CliRunner().invoke(
        app, [str(source), "--out", str(out), "--today", "2026-03-05"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "Screened 99,996 lines (4 rows rejected)" in result.output
    for index in BAD_ROWS:
        assert f"line {index + 2}" in result.output  # header is line 1, first row line 2
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 100_000
    assert (
        sum(r["pa_needed"] in ("auth-needed", "conditional", "performpa") for r in rows) == needing
    )
    assert rows[17]["error"].startswith("'7055' is not a HCPCS Level II code")
    assert rows[60_001]["error"] == "unknown payer 'acme'"
    assert f"{needing:,}" in result.output
    late = [r for r in rows if r["submit_by"] and r["submit_by"] < "2026-03-05"]
    assert late, "services in the first March week cannot meet their lead times"
    assert all(r["deadline_missed"] == "yes" for r in late)
    assert sum(r["deadline_missed"] == "yes" for r in rows) == len(late)
    assert all(r["pa_needed"] == "no-auth" for r in rows if r["code"] == "99213" and not r["error"])


def test_screen_ndjson_orders(tmp_path: Path) -> None:
    """NDJSON Bundles of orders are screened per billing code; a bad line is reported."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "birthDate": "1970-01-01",
                    "gender": "male",
                }
            },
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
                    "occurrenceDateTime": "2026-04-01",
                    "code": {
                        "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "27447"}]
                    },
                }
            },
        ],
    }
    source, out = tmp_path / "orders.ndjson", tmp_path / "orders.csv"
    source.write_text(json.dumps(bundle) + "\n{not json\n")
    result = CliRunner().invoke(
        app, [str(source), "--out", str(out), "--today", "2026-03-05"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "line 2" in result.output
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["code"] == "27447"
    assert rows[0]["pa_needed"] == "auth-needed"
    assert rows[0]["deciding_rule"] == "sx-elective-surgery"
    assert rows[1]["error"].startswith("not JSON")
