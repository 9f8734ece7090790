"""Which codes exist: HCPCS Level II from the shipped subset, ICD-10-CM from simple-icd-10-cm.

CPT is validated by format only (its descriptors are licensed by the AMA), so a
well-formed CPT code is never reported as unknown. See ``hcpcs-subset.csv`` for where
the HCPCS entries come from and what they do not cover.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import simple_icd_10_cm as icd

from precert.domain.codes import CodeSystem

HCPCS_FILE = "hcpcs-subset.csv"


@cache
def hcpcs_codes() -> dict[str, str]:
    """The shipped HCPCS Level II codes and their short descriptions."""
    text = resources.files("precert.policy").joinpath(HCPCS_FILE).read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {row["code"]: row["short_description"] for row in rows}


def unknown_procedure_code(system: CodeSystem | None, code: str) -> str | None:
    """Why ``code`` is not known to exist, or None when it is (or cannot be checked)."""
    looks_hcpcs = code[:1].isalpha() and len(code) == 5
    if (system is CodeSystem.HCPCS or (system is None and looks_hcpcs)) and (
        code not in hcpcs_codes()
    ):
        return f"HCPCS {code} is not in the shipped HCPCS list ({HCPCS_FILE})"
    return None


def unknown_diagnosis(entry: str) -> str | None:
    """Why an ICD-10-CM code, prefix or category is not in the code set, or None."""
    code = entry.replace(".", "").upper()
    candidates = {code, icd.add_dot(code) if len(code) > 3 else code}
    if any(icd.is_valid_item(c) for c in candidates):
        return None
    return f"ICD-10-CM {entry} is not a code or category in the code set"
