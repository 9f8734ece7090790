"""``precert x12 parse | validate | build`` on the published corpus and on built requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from precert.cli import app
from precert.interop.x12 import parse_strict
from precert.interop.x12.transactions import HealthCareReview, ReviewInquiry, read
from tests.factories import draft

runner = CliRunner()
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_parse_summarizes_a_valid_file(x12_fixtures: Path) -> None:
    """A valid 278 request: exit 0, one accepted set, its kind and services in the JSON."""
    result = runner.invoke(app, ["x12", "parse", str(x12_fixtures / "Example_3_1_1_Request.txt")])
    assert result.exit_code == 0, result.output
    assert "278" in result.output
    as_json = runner.invoke(
        app, ["x12", "parse", "--json", str(x12_fixtures / "Example_3_1_1_Request.txt")]
    )
    answer = json.loads(as_json.output)
    assert answer["valid"] is True
    [transaction] = answer["transactions"]
    assert (transaction["set_id"], transaction["kind"], transaction["accepted"]) == (
        "278",
        "278 request",
        True,
    )
    assert all(p["severity"] == "warning" for p in answer["problems"])  # tolerated only


def test_parse_exits_1_with_the_errors_of_an_invalid_file(x12_fixtures: Path) -> None:
    """A published 271 with real mistakes: exit 1, each error located in the JSON."""
    result = runner.invoke(
        app, ["x12", "parse", "--json", str(x12_fixtures / "Example_ErrorWithoutBenefitInfo.txt")]
    )
    assert result.exit_code == 1
    answer = json.loads(result.output)
    assert answer["valid"] is False
    errors = [p for p in answer["problems"] if p["severity"] == "error"]
    assert errors
    assert all(p["segment_id"] for p in errors)


def test_validate_prints_a_999_that_parses(x12_fixtures: Path, tmp_path: Path) -> None:
    """The 999 printed for a rejected file is itself valid X12 and says the set was rejected."""
    source = x12_fixtures / "Example_ErrorWithoutBenefitInfo.txt"
    result = runner.invoke(app, ["x12", "validate", str(source)])
    assert result.exit_code == 1
    ack_text = result.stdout
    document = parse_strict(ack_text)
    [ack] = [read(t) for t in document.transactions]
    assert ack.status == "R"  # type: ignore[union-attr]
    clean = runner.invoke(app, ["x12", "validate", str(x12_fixtures / "Example1_IG.txt")])
    assert clean.exit_code == 0
    assert read(parse_strict(clean.stdout).transactions[0]).status == "A"  # type: ignore[union-attr]


def test_build_writes_a_request_and_an_inquiry_that_parse_strictly(tmp_path: Path) -> None:
    """``build`` turns a stored request into a 278 (X217) or a status inquiry (X215)."""
    request_file = tmp_path / "request.json"
    request_file.write_text(draft(AT).model_dump_json())
    built = runner.invoke(app, ["x12", "build", str(request_file)])
    assert built.exit_code == 0, built.output
    [review] = [read(t) for t in parse_strict(built.stdout).transactions]
    assert isinstance(review, HealthCareReview)
    assert not review.is_response
    asked = runner.invoke(app, ["x12", "build", "--type", "278-inquiry", str(request_file)])
    assert asked.exit_code == 0, asked.output
    document = parse_strict(asked.stdout)
    assert document.transactions[0].convention == "005010X215"
    [inquiry] = [read(t) for t in document.transactions]
    assert isinstance(inquiry, ReviewInquiry)
    assert not inquiry.is_response
    refused = runner.invoke(app, ["x12", "build", "--type", "270", str(request_file)])
    assert refused.exit_code == 2
    assert "278-inquiry" in refused.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": 1}')
    assert runner.invoke(app, ["x12", "build", str(broken)]).exit_code == 1
