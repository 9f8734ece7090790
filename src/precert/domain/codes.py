"""Code-system checks: NPI, ICD-10-CM, CPT, HCPCS Level II, NDC, place of service.

Each ``check_*`` function returns the normalized code or raises ``ValueError``
with a message a coordinator can act on. They are the one place these rules live;
pydantic validators, the policy engine and the codecs all call them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

import simple_icd_10_cm as icd


class CodeSystem(StrEnum):
    """Code systems a service line may be coded in."""

    CPT = "CPT"
    HCPCS = "HCPCS"
    NDC = "NDC"


_CPT = re.compile(r"^\d{4}[0-9FTU]$")  # Category I (5 digits), II (####F), III (####T), PLA (####U)
_HCPCS = re.compile(r"^[A-V]\d{4}$")
_NDC_11 = re.compile(r"^\d{11}$")
_NDC_DASHED = re.compile(r"^(\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d{1})$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
_NPI = re.compile(r"^\d{10}$")
_POS = re.compile(r"^\d{2}$")


def check_npi(value: str) -> str:
    """Validate an NPI: 10 digits, the last a Luhn check over '80840' + the first nine."""
    npi = value.strip()
    if not _NPI.fullmatch(npi):
        raise ValueError(f"NPI must be exactly 10 digits, got {value!r}")
    total = 0
    # The CMS rule: prefix 80840, then Luhn over the 9 leading digits, doubling from the right.
    for i, ch in enumerate(reversed("80840" + npi[:9])):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    expected = (10 - total % 10) % 10
    if int(npi[9]) != expected:
        raise ValueError(f"NPI {npi} fails its check digit (expected last digit {expected})")
    return npi


def npi_check_digit(first_nine: str) -> str:
    """The tenth digit that makes ``first_nine`` a valid NPI (used to mint synthetic NPIs)."""
    for d in "0123456789":
        try:
            return check_npi(first_nine + d)[-1]
        except ValueError:
            continue
    raise AssertionError("unreachable: one of ten digits always satisfies Luhn")


@lru_cache(maxsize=65536)
def check_icd10cm(value: str) -> str:
    """Validate an ICD-10-CM diagnosis: it must exist and be billable. Returns the dotted form."""
    code = value.strip().upper()
    if not code:
        raise ValueError("ICD-10-CM code is empty")
    if not icd.is_valid_item(code):
        raise ValueError(f"{value!r} is not an ICD-10-CM code")
    dotted = icd.add_dot(icd.remove_dot(code))
    if not icd.is_leaf(dotted):
        children = icd.get_children(dotted)
        hint = f"; use a more specific code such as {children[0]}" if children else ""
        raise ValueError(f"{dotted} is a category header, not a billable ICD-10-CM code{hint}")
    return str(dotted)


def icd10cm_description(code: str) -> str:
    """The official short description of a valid ICD-10-CM code."""
    return str(icd.get_description(icd.add_dot(icd.remove_dot(code.strip().upper()))))


def icd10cm_chapter(code: str) -> str:
    """The chapter number (``"1"``..``"22"``) an ICD-10-CM code belongs to."""
    ancestors = icd.get_ancestors(icd.add_dot(icd.remove_dot(code.strip().upper())))
    return str(ancestors[-1]) if ancestors else code


def check_procedure_code(system: CodeSystem, value: str) -> str:
    """Validate a procedure, item or drug code by its system's format. Returns it normalized."""
    code = value.strip().upper()
    if system is CodeSystem.CPT:
        if not _CPT.fullmatch(code):
            raise ValueError(
                f"{value!r} is not a CPT code (five characters: 4 digits then a digit, F, T or U)"
            )
        return code
    if system is CodeSystem.HCPCS:
        if not _HCPCS.fullmatch(code):
            raise ValueError(f"{value!r} is not a HCPCS Level II code (a letter A-V and 4 digits)")
        return code
    if _NDC_11.fullmatch(code):
        return code
    if _NDC_DASHED.fullmatch(code):
        labeler, product, package = code.split("-")
        # Normalize to the 5-4-2 billing form by left-padding the short segment.
        return labeler.zfill(5) + product.zfill(4) + package.zfill(2)
    raise ValueError(f"{value!r} is not an NDC (11 digits, or 4-4-2 / 5-3-2 / 5-4-1 with dashes)")


def check_modifier(value: str) -> str:
    """Validate a CPT/HCPCS modifier (two alphanumerics)."""
    mod = value.strip().upper()
    if not _MODIFIER.fullmatch(mod):
        raise ValueError(f"{value!r} is not a procedure modifier (two letters or digits)")
    return mod


def check_place_of_service(value: str) -> str:
    """Validate a CMS place-of-service code (two digits, 01-99)."""
    pos = value.strip()
    if not _POS.fullmatch(pos) or pos == "00":
        raise ValueError(f"{value!r} is not a place-of-service code (two digits 01-99)")
    return pos
