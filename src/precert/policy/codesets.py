"""Which codes exist: HCPCS Level II from the CMS file, ICD-10-CM from simple-icd-10-cm.

CPT is validated by format only (its descriptors are licensed by the AMA), so a
well-formed CPT code is never reported as unknown. HCPCS Level II comes from a trimmed
copy of the CMS alpha-numeric HCPCS file (``hcpcs-2020.tsv``; its header says where it
comes from and what was trimmed): a code absent from that release is reported with the
release named, since codes CMS added later are absent too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import simple_icd_10_cm as icd

from precert.domain.codes import CodeSystem

HCPCS_FILE = "hcpcs-2020.tsv"


@dataclass(frozen=True, slots=True)
class HcpcsCode:
    """One HCPCS Level II code as the CMS file lists it."""

    code: str
    short_description: str
    added: date
    terminated: date | None


@dataclass(frozen=True)
class HcpcsRelease:
    """A CMS alpha-numeric HCPCS release: when CMS published it and its codes."""

    title: str
    released: date
    effective: date
    codes: dict[str, HcpcsCode]


def _day(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


@cache
def hcpcs_release() -> HcpcsRelease:
    """The shipped HCPCS Level II release, read once.

    The header lines (``#``) carry ``release``, ``released`` and ``effective`` entries;
    the rows are code, short description, add date and termination date (or empty).
    """
    text = resources.files("precert.policy").joinpath(HCPCS_FILE).read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    codes: dict[str, HcpcsCode] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
            continue
        code, short, added, terminated = line.split("\t")
        codes[code] = HcpcsCode(code, short, _day(added), _day(terminated) if terminated else None)
    return HcpcsRelease(
        title=meta["release"],
        released=date.fromisoformat(meta["released"]),
        effective=date.fromisoformat(meta["effective"]),
        codes=codes,
    )


def unknown_procedure_code(system: CodeSystem | None, code: str) -> str | None:
    """Why ``code`` is not known to exist, or None when it is (or cannot be checked)."""
    looks_hcpcs = code[:1].isalpha() and len(code) == 5
    if system is CodeSystem.HCPCS or (system is None and looks_hcpcs):
        release = hcpcs_release()
        if code not in release.codes:
            return (
                f"HCPCS {code} is not in {release.title} (released {release.released}); "
                "codes CMS added later are not known to precert"
            )
    return None


def terminated_procedure_code(code: str, on: date) -> str | None:
    """Why HCPCS ``code`` can no longer be billed on ``on``, or None while it can."""
    listed = hcpcs_release().codes.get(code)
    if listed is None or listed.terminated is None or listed.terminated >= on:
        return None
    return f"HCPCS {code} ({listed.short_description}) was terminated on {listed.terminated}"


def unknown_diagnosis(entry: str) -> str | None:
    """Why an ICD-10-CM code, prefix or category is not in the code set, or None."""
    code = entry.replace(".", "").upper()
    candidates = {code, icd.add_dot(code) if len(code) > 3 else code}
    if any(icd.is_valid_item(c) for c in candidates):
        return None
    return f"ICD-10-CM {entry} is not a code or category in the code set"
