"""Code-system checks: NPI check digit, ICD-10-CM existence and billability, formats."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from precert.domain.codes import (
    CodeSystem,
    check_icd10cm,
    check_npi,
    check_procedure_code,
    npi_check_digit,
)


def test_known_valid_npi() -> None:
    """The CMS example NPI 1234567893 passes."""
    assert check_npi("1234567893") == "1234567893"


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_is_valid(first_nine: str) -> None:
    """For any nine digits, exactly one tenth digit makes a valid NPI."""
    valid = []
    for d in "0123456789":
        try:
            check_npi(first_nine + d)
            valid.append(d)
        except ValueError:
            pass
    assert valid == [npi_check_digit(first_nine)]


def test_icd_accepts_with_or_without_dot() -> None:
    """M54.50 and M5450 are the same billable code."""
    assert check_icd10cm("M5450") == check_icd10cm("m54.50") == "M54.50"


def test_icd_header_is_not_billable() -> None:
    """A category header is refused with a more specific suggestion."""
    with pytest.raises(ValueError, match=r"category header.*M54\.0"):
        check_icd10cm("M54")


@pytest.mark.parametrize(
    ("system", "code", "normalized"),
    [
        (CodeSystem.CPT, "72148", "72148"),
        (CodeSystem.CPT, "0042t", "0042T"),
        (CodeSystem.HCPCS, "j1745", "J1745"),
        (CodeSystem.NDC, "0002-1433-80", "00002143380"),
        (CodeSystem.NDC, "12345678901", "12345678901"),
    ],
)
def test_procedure_codes_normalize(system: CodeSystem, code: str, normalized: str) -> None:
    """Valid codes come back normalized (upper case, NDC in 5-4-2 billing form)."""
    assert check_procedure_code(system, code) == normalized


@pytest.mark.parametrize(
    ("system", "code"),
    [(CodeSystem.CPT, "7214"), (CodeSystem.HCPCS, "W1234"), (CodeSystem.NDC, "123-45")],
)
def test_malformed_procedure_codes_fail(system: CodeSystem, code: str) -> None:
    """Malformed codes are reported, never guessed."""
    with pytest.raises(ValueError, match=code):
        check_procedure_code(system, code)
