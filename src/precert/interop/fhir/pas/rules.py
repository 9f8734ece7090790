"""The PAS Bundle rules, checked on any Bundle, ours or received.

Rules (PAS 2.2.1 request/response Bundle profiles and the IG's Bundle guidance): type
``collection``; ``identifier`` (requests) and ``timestamp`` present; the Claim (or
ClaimResponse) is the first entry, with ``use = preauthorization``; every entry has a
``fullUrl`` and a resource; every reference resolves inside the Bundle; each resource
appears once; fullUrls are absolute (RESTful URL ending ``Type/id``, or ``urn:uuid:``)
and all of one form; every resource passes structural R4 validation.

Legacy PAS (no PAS Bundle profile declared, as the reference implementation's files)
is read tolerantly when the caller allows it: rule breaks that do not stop us reading
the Claim become warnings, and one warning says the Bundle was read as legacy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from precert.interop.fhir.common import (
    FhirIssue,
    Severity,
    as_dict,
    as_list,
    as_str,
    error,
    model_issues,
    parse_instant,
    warning,
)
from precert.interop.fhir.pas.vocabulary import PAS_BUNDLE_PROFILES

_RESTFUL = re.compile(
    r"^(?P<base>https?://\S+?)/(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})$"
)
_RELATIVE = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})$")
_URN = re.compile(r"^urn:(uuid|oid):\S+$")


class BundleKind(StrEnum):
    """Which PAS Bundle a check is for: the first entry and required fields differ."""

    REQUEST = "request"
    RESPONSE = "response"


FIRST_RESOURCE: Mapping[BundleKind, str] = {
    BundleKind.REQUEST: "Claim",
    BundleKind.RESPONSE: "ClaimResponse",
}


@dataclass(frozen=True)
class Entry:
    """One Bundle entry that carries a resource."""

    index: int
    full_url: str | None
    resource: dict[str, Any]

    @property
    def location(self) -> str:
        """FHIRPath of the entry's resource."""
        return f"Bundle.entry[{self.index}].resource"

    @property
    def type_and_id(self) -> str | None:
        """``Type/id`` of the resource, when it has an id."""
        rid = as_str(self.resource.get("id"))
        rtype = as_str(self.resource.get("resourceType"))
        return f"{rtype}/{rid}" if rid and rtype else None


@dataclass
class BundleIndex:
    """The entries of a Bundle, findable by fullUrl and by ``Type/id``."""

    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def of(cls, bundle: Mapping[str, Any]) -> BundleIndex:
        """Index every entry of ``bundle`` that has a resource object."""
        index = cls()
        for i, raw in enumerate(as_list(bundle.get("entry"))):
            entry = as_dict(raw)
            resource = as_dict(entry.get("resource")) if entry else None
            if entry is not None and resource is not None:
                index.entries.append(Entry(i, as_str(entry.get("fullUrl")), resource))
        return index

    def resolve(self, reference: str, referrer: Entry | None) -> Entry | None:
        """The entry ``reference`` points at, following the Bundle resolution rules.

        Absolute references match fullUrls; a relative ``Type/id`` resolves against the
        referrer's RESTful base. Legacy Bundles carry bare ids as fullUrls, so a ``Type/id``
        match on the resource itself is the last resort.
        """
        for entry in self.entries:
            if entry.full_url == reference:
                return entry
        relative = _RELATIVE.match(reference)
        if relative is None:
            return None
        base = _RESTFUL.match(referrer.full_url or "") if referrer else None
        if base is not None:
            absolute = f"{base['base']}/{reference}"
            for entry in self.entries:
                if entry.full_url == absolute:
                    return entry
        for entry in self.entries:
            if entry.type_and_id == reference:
                return entry
        return None

    def first(self, resource_type: str) -> Entry | None:
        """The first entry holding a ``resource_type``."""
        return next(
            (e for e in self.entries if e.resource.get("resourceType") == resource_type), None
        )


def references(node: object, path: str) -> Iterator[tuple[str, str]]:
    """Every (FHIRPath, reference string) inside a resource, skipping contained (``#``) ones."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                if not value.startswith("#"):
                    yield path, value
            elif key != "contained":
                yield from references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from references(item, f"{path}[{i}]")


def is_legacy(bundle: Mapping[str, Any]) -> bool:
    """Whether a Bundle declares no PAS Bundle profile (as the reference implementation's files)."""
    meta = as_dict(bundle.get("meta")) or {}
    return not any(p in PAS_BUNDLE_PROFILES for p in as_list(meta.get("profile")))


def check_bundle(
    data: object, kind: BundleKind, *, allow_legacy: bool = True
) -> tuple[list[FhirIssue], bool]:
    """Check ``data`` against the PAS Bundle rules for ``kind``: (issues, read as legacy)."""
    bundle = as_dict(data)
    if bundle is None:
        return [error("Bundle", "expected a JSON object (a FHIR Bundle)", "structure")], False
    if bundle.get("resourceType") != "Bundle":
        found = bundle.get("resourceType")
        return [
            error("Bundle.resourceType", f"expected 'Bundle', found {found!r}", "structure")
        ], False
    legacy = allow_legacy and is_legacy(bundle)
    # Rule breaks that a legacy Bundle may have are reported at this severity.
    soft = Severity.WARNING if legacy else Severity.ERROR
    issues: list[FhirIssue] = []
    if legacy:
        issues.append(
            warning("Bundle.meta.profile", "no PAS Bundle profile declared; read as legacy PAS")
        )
    if bundle.get("type") != "collection":
        issues.append(
            error("Bundle.type", f"expected 'collection', found {bundle.get('type')!r}", "value")
        )
    if kind is BundleKind.REQUEST:
        ident = as_dict(bundle.get("identifier"))
        if ident is None or not as_str(ident.get("value")):
            issues.append(
                FhirIssue(
                    soft,
                    "Bundle.identifier",
                    "a PAS request Bundle needs an identifier",
                    "required",
                )
            )
    if bundle.get("timestamp") is None:
        issues.append(
            FhirIssue(soft, "Bundle.timestamp", "a PAS Bundle needs a timestamp", "required")
        )
    elif parse_instant(bundle.get("timestamp")) is None:
        issues.append(error("Bundle.timestamp", "timestamp is not a valid instant", "value"))

    raw_entries = bundle.get("entry")
    if not isinstance(raw_entries, list) or not raw_entries:
        want = FIRST_RESOURCE[kind]
        issues.append(
            error(
                "Bundle.entry", f"the Bundle has no entries; the first must be a {want}", "required"
            )
        )
        return issues, legacy
    issues.extend(_entry_shape(raw_entries, soft))
    index = BundleIndex.of(bundle)
    issues.extend(_first_entry(raw_entries[0], kind))
    issues.extend(_full_urls(index, soft))
    issues.extend(_uniqueness(index, soft))
    issues.extend(_references(index, soft, kind))
    for entry in index.entries:
        issues.extend(model_issues(entry.resource, entry.location, soft))
    return issues, legacy


def _entry_shape(raw_entries: list[Any], soft: Severity) -> Iterator[FhirIssue]:
    for i, raw in enumerate(raw_entries):
        where = f"Bundle.entry[{i}]"
        entry = as_dict(raw)
        if entry is None:
            yield error(where, "an entry must be a JSON object", "structure")
            continue
        resource = as_dict(entry.get("resource"))
        if resource is None:
            yield error(f"{where}.resource", "the entry has no resource", "required")
        elif not as_str(resource.get("resourceType")):
            yield error(
                f"{where}.resource.resourceType", "the resource has no resourceType", "required"
            )
        if not as_str(entry.get("fullUrl")):
            yield FhirIssue(soft, f"{where}.fullUrl", "the entry has no fullUrl", "required")
        for forbidden in ("search", "request", "response"):
            if forbidden in entry:
                yield error(
                    f"{where}.{forbidden}", f"entry.{forbidden} is not allowed in PAS", "structure"
                )


def _first_entry(raw: object, kind: BundleKind) -> Iterator[FhirIssue]:
    resource = as_dict((as_dict(raw) or {}).get("resource"))
    if resource is None:
        return
    want = FIRST_RESOURCE[kind]
    found = resource.get("resourceType")
    if found != want:
        yield error(
            "Bundle.entry[0].resource.resourceType",
            f"the first entry must be a {want}, found {found!r}",
            "structure",
        )
        return
    if resource.get("use") != "preauthorization":
        yield error(
            "Bundle.entry[0].resource.use",
            f"expected 'preauthorization', found {resource.get('use')!r}",
            "value",
        )


def _full_urls(index: BundleIndex, soft: Severity) -> Iterator[FhirIssue]:
    forms: dict[str, int] = {}
    for entry in index.entries:
        url = entry.full_url
        if url is None:
            continue
        where = f"Bundle.entry[{entry.index}].fullUrl"
        restful = _RESTFUL.match(url)
        if restful is not None:
            forms.setdefault("url", entry.index)
            if entry.type_and_id and f"{restful['type']}/{restful['id']}" != entry.type_and_id:
                yield FhirIssue(
                    soft, where, f"fullUrl {url} does not end with {entry.type_and_id}", "value"
                )
        elif _URN.match(url):
            forms.setdefault("urn", entry.index)
        else:
            yield FhirIssue(
                soft, where, f"fullUrl {url!r} is neither a RESTful URL nor a urn:uuid", "value"
            )
    if len(forms) > 1:
        yield FhirIssue(
            soft,
            f"Bundle.entry[{max(forms.values())}].fullUrl",
            "fullUrls mix RESTful URLs and urn:uuid forms",
            "value",
        )


def _uniqueness(index: BundleIndex, soft: Severity) -> Iterator[FhirIssue]:
    seen_urls: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for entry in index.entries:
        # Legacy Bundles reuse one bare id as the fullUrl of a Claim and its ClaimResponse;
        # a repeated Type/id is ambiguous in any Bundle.
        checks = ((seen_ids, entry.type_and_id, Severity.ERROR), (seen_urls, entry.full_url, soft))
        for seen, value, severity in checks:
            if value is None:
                continue
            if value in seen:
                yield FhirIssue(
                    severity,
                    entry.location,
                    f"{value} already appears at Bundle.entry[{seen[value]}]; each resource once",
                    "duplicate",
                )
                break
            seen[value] = entry.index


def _references(index: BundleIndex, soft: Severity, kind: BundleKind) -> Iterator[FhirIssue]:
    for entry in index.entries:
        # A request Claim's own references must resolve even in legacy Bundles: we read them.
        severity = Severity.ERROR if entry.index == 0 and kind is BundleKind.REQUEST else soft
        for path, ref in references(entry.resource, entry.location):
            if index.resolve(ref, entry) is None:
                yield FhirIssue(
                    severity,
                    path,
                    f"reference {ref!r} does not resolve inside the Bundle",
                    "not-found",
                )
