"""The shipped HCPCS Level II release: its provenance, its integrity, and lookups against it."""

from __future__ import annotations

import re
from datetime import date
from importlib import resources

from precert.domain.codes import CodeSystem
from precert.policy.codesets import (
    HCPCS_FILE,
    hcpcs_release,
    terminated_procedure_code,
    unknown_procedure_code,
)


def test_release_names_its_source_and_dates() -> None:
    """The header says which CMS release this is, when it was published and took effect."""
    release = hcpcs_release()
    assert release.title == "the CMS 2020 alpha-numeric HCPCS file (HCPC2020_ANWEB)"
    assert release.released == date(2019, 11, 2)
    assert release.effective == date(2020, 1, 1)


def test_every_row_is_well_formed_and_in_code_order() -> None:
    """Codes are unique, in order and shaped like Level II; dates are real days before release."""
    text = resources.files("precert.policy").joinpath(HCPCS_FILE).read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    assert len(rows) == len(hcpcs_release().codes) == 6710
    codes = [row[0] for row in rows]
    assert codes == sorted(set(codes))
    assert all(re.fullmatch(r"[A-V]\d{4}", code) for code in codes)
    for code in hcpcs_release().codes.values():
        assert 1 <= len(code.short_description) <= 28  # CMS's short-description width
        assert code.short_description == code.short_description.strip()
        assert code.added <= hcpcs_release().effective, code
        assert code.terminated is None or code.terminated > code.added, code
    # Every Level II section of 2020 is present (U codes only began in 2020, after release).
    assert {code[0] for code in codes} == set("ABCEGHJKLMPQRSTV")


def test_rows_carry_the_cms_values() -> None:
    """Spot checks against the CMS file itself, including a terminated code."""
    codes = hcpcs_release().codes
    assert codes["A0021"].short_description == "Outside state ambulance serv"
    assert codes["A4414"].short_description == "Ost sknbar w/o conv<=4 sq in"
    assert codes["A4466"].added == date(2010, 1, 1)
    assert codes["A4466"].terminated == date(2016, 12, 31)
    assert codes["L2622"].short_description == "Hip joint adjustable flexion"
    assert codes["J9271"].short_description == "Inj pembrolizumab"
    assert codes["V5364"].short_description == "Dysphagia screening"


def test_lookups() -> None:
    """Absent codes name the release; CPT is never checked; termination depends on the date."""
    assert unknown_procedure_code(CodeSystem.HCPCS, "J9271") is None
    missing = unknown_procedure_code(CodeSystem.HCPCS, "J9998")
    assert missing is not None
    assert "HCPCS J9998 is not in the CMS 2020" in missing
    assert "released 2019-11-02" in missing
    assert unknown_procedure_code(None, "E9999") is not None  # shaped like HCPCS: checked
    assert unknown_procedure_code(CodeSystem.CPT, "99999") is None
    assert terminated_procedure_code("J9310", date(2018, 12, 31)) is None
    assert terminated_procedure_code("J9310", date(2019, 1, 1)) == (
        "HCPCS J9310 (Rituximab injection) was terminated on 2018-12-31"
    )
    assert terminated_procedure_code("J9271", date(2026, 1, 1)) is None
    assert terminated_procedure_code("J9998", date(2026, 1, 1)) is None  # unknown, not retired
