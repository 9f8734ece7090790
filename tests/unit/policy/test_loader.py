"""Loading packs: schema errors with file, line and column; semantic errors with the rule id."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from precert.policy.loader import PackError, load_pack, load_packs, pack_schema, parse_pack
from tests.unit.policy.builders import pack_document

GOOD_RULE = {
    "id": "mri",
    "description": "MRI",
    "match": {"code_system": "CPT", "codes": ["70551-70553"]},
    "outcome": {"pa_needed": "auth-needed"},
}


def problems_of(text: str) -> list[str]:
    """The problems ``parse_pack`` reports for ``text``, as strings."""
    with pytest.raises(PackError) as caught:
        parse_pack(text, "bad.yaml")
    return [str(p) for p in caught.value.problems]


def test_malformed_yaml_is_located() -> None:
    """A YAML syntax error names the file, line and column."""
    problems = problems_of("pack:\n  id: [unclosed\nrules: []\n")
    assert len(problems) == 1
    assert problems[0].startswith("bad.yaml:3:")
    assert "malformed YAML" in problems[0]


def test_unknown_key_is_located_with_rule_id() -> None:
    """An unknown key inside a rule is reported at its line with the rule's id."""
    document = pack_document(
        [{**GOOD_RULE, "outcome": {"pa_needed": "auth-needed", "lead_days": 3}}]
    )
    text = yaml.safe_dump(document, sort_keys=False)
    (problem,) = problems_of(text)
    expected_line = next(i for i, row in enumerate(text.splitlines(), 1) if "pa_needed" in row)
    assert problem.startswith(f"bad.yaml:{expected_line}:")
    assert "unknown key" in problem
    assert "lead_days" in problem
    assert problem.endswith("(rule mri)")


def test_range_start_after_end_is_rejected() -> None:
    """A code range whose start sorts after its end is an error, not an empty range."""
    rule = {**GOOD_RULE, "match": {"codes": ["70553-70551"]}}
    (problem,) = problems_of(yaml.safe_dump(pack_document([rule])))
    assert "starts after it ends" in problem
    assert "(rule mri)" in problem


def test_malformed_codes_and_mixed_ranges_are_rejected() -> None:
    """Codes must fit their system, and a range may not mix formats."""
    rule = {**GOOD_RULE, "match": {"code_system": "HCPCS", "codes": ["70551", "E0100-K0001"]}}
    problems = problems_of(yaml.safe_dump(pack_document([rule])))
    assert any("'70551' is not a well-formed HCPCS code" in p for p in problems)
    mixed = {**GOOD_RULE, "match": {"codes": ["E0100-70551"]}}
    assert any(
        "mixes code formats" in p for p in problems_of(yaml.safe_dump(pack_document([mixed])))
    )


def test_fhirpath_that_does_not_compile_is_reported_at_load_time() -> None:
    """A broken FHIRPath criterion fails the load and names the rule and criterion."""
    criteria = [
        {"id": "gold", "description": "gold card", "fhirpath": "%practitioner.identifier.where("}
    ]
    rule = {**GOOD_RULE, "outcome": {"pa_needed": "auth-needed", "criteria": criteria}}
    (problem,) = problems_of(yaml.safe_dump(pack_document([rule])))
    assert "FHIRPath does not compile" in problem
    assert "'gold'" in problem
    assert problem.endswith("(rule mri)")


def test_trailing_garbage_in_fhirpath_is_reported() -> None:
    """An expression followed by stray words is not silently truncated."""
    criteria = [{"id": "gold", "description": "g", "fhirpath": "%order.exists() banana"}]
    rule = {**GOOD_RULE, "outcome": {"criteria": criteria}}
    (problem,) = problems_of(yaml.safe_dump(pack_document([rule])))
    assert "after the end" in problem


def test_duplicate_rule_ids_and_inverted_windows() -> None:
    """Duplicate ids within a pack and windows that end before they start are errors."""
    rules = [
        GOOD_RULE,
        {
            **GOOD_RULE,
            "match": {
                "codes": ["70450"],
                "service_dates": {"from": "2026-05-01", "to": "2026-04-01"},
            },
        },
    ]
    problems = problems_of(yaml.safe_dump(pack_document(rules)))
    assert any("duplicate rule id 'mri'" in p for p in problems)
    assert any("service_dates end before they start" in p for p in problems)


def test_payer_pack_needs_a_payer_and_dates_are_real() -> None:
    """A payer-layer pack without its payer, or with an impossible date, is refused."""
    document = pack_document([GOOD_RULE])
    del document["payer"]
    document["pack"]["effective_from"] = "2026-02-30"
    problems = problems_of(yaml.safe_dump(document))
    assert any("must describe its payer" in p for p in problems)
    assert any("not a calendar date" in p for p in problems)


def test_pack_ids_and_rule_ids_unique_across_files(tmp_path: Path) -> None:
    """Two files reusing a pack id or a rule id are reported together."""
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(pack_document([GOOD_RULE])))
    with pytest.raises(PackError) as caught:
        load_packs(sorted(tmp_path.glob("*.yaml")))
    messages = " ".join(str(p) for p in caught.value.problems)
    assert "pack id 'test-pack' is also used" in messages
    assert "rule id 'mri' is also used" in messages


def test_missing_file_is_a_pack_error(tmp_path: Path) -> None:
    """A path that cannot be read is reported as a problem, not an OSError."""
    with pytest.raises(PackError, match="cannot read"):
        load_pack(tmp_path / "absent.yaml")


def test_schema_is_published_and_strict() -> None:
    """The shipped JSON Schema forbids unknown top-level keys."""
    schema = pack_schema()
    assert schema["additionalProperties"] is False
    assert {"pack", "rules"} <= set(schema["required"])
