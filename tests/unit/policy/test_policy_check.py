"""``precert policy check``: located schema errors, overlaps, unknown codes, expiry, summary."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from typer.testing import CliRunner

from precert.cli.policy import app
from precert.policy import load_packs, shipped_pack_paths
from precert.policy.check import Severity, check_packs
from tests.unit.policy.builders import build_pack, pack_document

RULE = {
    "id": "mri",
    "description": "MRI",
    "match": {"code_system": "CPT", "codes": ["70551-70553"]},
    "outcome": {"pa_needed": "auth-needed"},
}


def test_shipped_packs_pass(tmp_path: Path) -> None:
    """The shipped packs check clean and the summary lists every pack."""
    result = CliRunner().invoke(
        app,
        ["check", *map(str, shipped_pack_paths()), "--today", "2026-03-02"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    for pack_id in ("northwind-health", "missouri-example", "federal-timeframes"):
        assert pack_id in result.output


def test_schema_error_reported_with_line_and_column(tmp_path: Path) -> None:
    """A pack with an unknown key fails the check with file:line:column."""
    bad = tmp_path / "bad.yaml"
    document = pack_document([{**RULE, "outcom": {}}])
    bad.write_text(yaml.safe_dump(document, sort_keys=False))
    result = CliRunner().invoke(app, ["check", str(bad)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert f"{bad}:" in result.output.replace("\n", "")
    assert "unknown key" in result.output


def test_overlapping_disagreeing_rules_are_errors() -> None:
    """Two same-tier rules over overlapping ranges with different answers are reported."""
    pack = build_pack(
        [
            RULE,
            {
                **RULE,
                "id": "mri-2",
                "match": {"code_system": "CPT", "codes": ["70553-70559"]},
                "outcome": {"pa_needed": "no-auth"},
            },
            {
                **RULE,
                "id": "ct",
                "match": {"code_system": "CPT", "codes": ["70450"]},
                "outcome": {"pa_needed": "no-auth"},
            },
            {
                **RULE,
                "id": "mri-narrow",
                "match": {"code_system": "CPT", "codes": ["70551"], "places_of_service": ["22"]},
                "outcome": {"pa_needed": "no-auth"},
            },
        ]
    )
    findings = check_packs([pack], date(2026, 3, 2))
    overlaps = [f for f in findings if "overlaps" in f.message]
    assert [(f.rule_id, f.severity) for f in overlaps] == [("mri", Severity.ERROR)]
    assert "mri-2" in overlaps[0].message
    assert "pa_needed" in overlaps[0].message


def test_unknown_codes_and_expired_rules() -> None:
    """A HCPCS code missing from the CMS file and a bad ICD-10 entry are errors; a terminated
    HCPCS code and expiry warn."""
    pack = build_pack(
        [
            {**RULE, "id": "drug", "match": {"code_system": "HCPCS", "codes": ["J9998", "J9271"]}},
            {**RULE, "id": "retired", "match": {"code_system": "HCPCS", "codes": ["J9310"]}},
            {**RULE, "id": "dx", "match": {"codes": ["70450"], "diagnoses": ["U99"]}},
            {
                **RULE,
                "id": "old",
                "match": {"codes": ["70496"], "service_dates": {"to": "2026-01-31"}},
            },
        ]
    )
    findings = {(f.rule_id, f.severity): f.message for f in check_packs([pack], date(2026, 3, 2))}
    assert findings[("drug", Severity.ERROR)].startswith(
        "HCPCS J9998 is not in the CMS 2020 alpha-numeric HCPCS file"
    )
    assert ("drug", Severity.WARNING) not in findings  # J9271 exists and is current
    assert findings[("retired", Severity.WARNING)] == (
        "HCPCS J9310 (Rituximab injection) was terminated on 2018-12-31"
    )
    assert ("retired", Severity.ERROR) not in findings
    assert "U99" in findings[("dx", Severity.ERROR)]
    assert "expired on 2026-01-31" in findings[("old", Severity.WARNING)]


def test_duplicate_ids_across_files_fail(tmp_path: Path) -> None:
    """Two files sharing a pack id are reported by the check."""
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump(pack_document([RULE])))
    result = CliRunner().invoke(
        app, ["check", *map(str, sorted(tmp_path.iterdir()))], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert "also used" in result.output


def test_catalog_command_lists_payers() -> None:
    """``precert policy payers`` shows the five example payers."""
    result = CliRunner().invoke(app, ["payers"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert all(p in result.output for p in ("northwind-health", "summit-exchange", "800-555-0134"))
    assert load_packs(shipped_pack_paths())
