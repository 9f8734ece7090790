"""PAS response Bundles: read a payer's decisions per item, and build them (for the sandbox).

Each ``ClaimResponse.item`` carries the decision in ``adjudication.extension-reviewAction``:
its ``code`` sub-extension is X12 306 (HCR01), ``number`` the certification number and
``reasonCode`` the HCR02 reason; ``extension-itemPreAuthPeriod`` bounds the approval,
``extension-itemAuthorizedDetail`` the authorized quantity, ``processNote`` (via
``noteNumber``) the text, and ``addItem`` the substituted service of a modified approval.
Legacy PAS put a plain ``valueString`` reviewAction on the ClaimResponse itself; that is
read, with a warning, as the decision for every item of the Claim echoed in the Bundle.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from precert.domain.authorization import Decision, LineDetermination
from precert.interop.fhir.common import (
    FhirCodecError,
    FhirIssue,
    as_dict,
    as_list,
    as_str,
    concept,
    control_character_issues,
    error,
    extension,
    extensions,
    first_code,
    json_number,
    parse_date,
    parse_decimal,
    raise_on_errors,
    warning,
)
from precert.interop.fhir.pas import vocabulary as v
from precert.interop.fhir.pas.rules import BundleIndex, BundleKind, Entry, check_bundle

X12_REVIEW_REASON = v.X12.replace("005010/", "external/886")
_NO_REASON = "the payer gave no specific reason (X12 306 {code})"


@dataclass(frozen=True)
class ItemDecision:
    """The payer's answer for one Claim item (``item_sequence`` is the Claim's, from 1)."""

    item_sequence: int
    determination: LineDetermination | None
    cancelled: bool = False
    authorized_code: tuple[str, str] | None = None


@dataclass(frozen=True)
class PasResponse:
    """What a PAS ClaimResponse says: outcome, references and a decision per item."""

    outcome: str | None
    disposition: str | None
    pre_auth_ref: str | None
    request_identifier: str | None
    items: tuple[ItemDecision, ...]
    error_codes: tuple[str, ...]
    legacy: bool
    issues: tuple[FhirIssue, ...] = field(default=())

    def line_determinations(self) -> dict[int, LineDetermination]:
        """Determinations by 0-based service-line index, as ``record_determination`` takes them."""
        return {
            d.item_sequence - 1: d.determination
            for d in self.items
            if d.determination is not None and d.item_sequence >= 1
        }


def parse_response_bundle(data: object, *, allow_legacy: bool = True) -> PasResponse:
    """Read a PAS response Bundle (JSON); raises ``FhirCodecError`` listing every rule broken."""
    issues, legacy = check_bundle(data, BundleKind.RESPONSE, allow_legacy=allow_legacy)
    raise_on_errors(issues)
    index = BundleIndex.of(as_dict(data) or {})
    response = read_claim_response(index.entries[0], index, issues, legacy=legacy)
    raise_on_errors(response.issues)
    return response


def read_claim_response(
    entry: Entry, index: BundleIndex, issues: list[FhirIssue], *, legacy: bool
) -> PasResponse:
    """Read one ClaimResponse entry of ``index`` (a response or notification Bundle)."""
    cr = entry.resource
    where = entry.location
    outcome = as_str(cr.get("outcome"))
    if outcome == "queued":
        issues.append(
            warning(f"{where}.outcome", "outcome 'queued' is pre-2.2 PAS; read as pended", "value")
        )
    elif outcome not in ("complete", "error", "partial"):
        issues.append(
            error(f"{where}.outcome", f"expected complete, error or partial, found {outcome!r}")
        )
    notes = {
        n["number"]: n["text"]
        for n in as_list(cr.get("processNote"))
        if isinstance(n, dict) and isinstance(n.get("number"), int) and as_str(n.get("text"))
    }
    pre_auth_ref = as_str(cr.get("preAuthRef"))
    decisions: dict[int, ItemDecision] = {}
    for i, item in enumerate(as_list(cr.get("item"))):
        if not isinstance(item, dict):
            continue
        decision = _read_item(f"{where}.item[{i}]", item, notes, pre_auth_ref, issues)
        if decision is not None:
            decisions[decision.item_sequence] = decision
    for i, added in enumerate(as_list(cr.get("addItem"))):
        if isinstance(added, dict):
            _apply_add_item(f"{where}.addItem[{i}]", added, decisions, notes, pre_auth_ref, issues)
    legacy_action = extension(cr, v.EXT_REVIEW_ACTION)
    if legacy_action is not None and as_str(legacy_action.get("valueString")):
        issues.append(
            warning(
                f"{where}.extension",
                "reviewAction is a plain string on the ClaimResponse (legacy PAS); "
                "applied to every item of the echoed Claim",
                "value",
            )
        )
        _apply_legacy(
            where, cr, legacy_action["valueString"], index, decisions, pre_auth_ref, issues
        )
    request = as_dict(cr.get("request")) or {}
    request_ident = as_str((as_dict(request.get("identifier")) or {}).get("value"))
    own_ident = next((i for i in as_list(cr.get("identifier")) if isinstance(i, dict)), {})
    error_codes = tuple(
        c[1]
        for e in as_list(cr.get("error"))
        if isinstance(e, dict) and (c := first_code(e.get("code"))) is not None
    )
    return PasResponse(
        outcome=outcome,
        disposition=as_str(cr.get("disposition")),
        pre_auth_ref=pre_auth_ref,
        request_identifier=request_ident or as_str(own_ident.get("value")),
        items=tuple(decisions[k] for k in sorted(decisions)),
        error_codes=error_codes,
        legacy=legacy or outcome == "queued",
        issues=tuple(issues),
    )


def _review_action(
    holder: Mapping[str, Any],
) -> tuple[str | None, str | None, str | None, str | None]:
    """(code, display, number, reasonCode) of the first reviewAction on ``holder.adjudication``.

    Older PAS put the extension on the item itself; that placement is read too.
    """
    places = [a for a in as_list(holder.get("adjudication")) if isinstance(a, dict)] + [holder]
    for place in places:
        for _, ext in extensions(place, v.EXT_REVIEW_ACTION):
            code = display = number = reason = None
            for sub in as_list(ext.get("extension")):
                if not isinstance(sub, dict):
                    continue
                if sub.get("url") in (v.EXT_REVIEW_ACTION_CODE, "code"):
                    cc = as_dict(sub.get("valueCodeableConcept")) or {}
                    coding = next((c for c in as_list(cc.get("coding")) if isinstance(c, dict)), {})
                    code, display = as_str(coding.get("code")), as_str(coding.get("display"))
                elif sub.get("url") == "number":
                    number = as_str(sub.get("valueString"))
                elif sub.get("url") == "reasonCode":
                    found = first_code(sub.get("valueCodeableConcept"))
                    reason = found[1] if found else None
            return code, display, number, reason
    return None, None, None, None


def _determination(
    where: str,
    code: str,
    *,
    number: str | None,
    reason_code: str | None,
    reason_text: str | None,
    units: Decimal | None,
    period: Mapping[str, Any],
    issues: list[FhirIssue],
) -> LineDetermination | None:
    decision = v.REVIEW_ACTION_DECISION.get(code)
    if decision is None:
        issues.append(
            warning(
                where,
                f"review action {code!r} is not an X12 306 code; treated as pended for a person "
                "to review",
                "code-invalid",
            )
        )
        decision = Decision.PENDED
    if decision is Decision.DENIED and not (reason_code or reason_text):
        issues.append(
            warning(where, "denial without a specific reason (CMS-0057-F requires one)", "required")
        )
        reason_text = _NO_REASON.format(code=code)
    try:
        return LineDetermination(
            decision=decision,
            certification_number=number,
            authorized_units=units,
            valid_from=parse_date(period.get("start")),
            valid_to=parse_date(period.get("end")),
            reason_code=reason_code,
            reason_text=reason_text,
            x12_action=code if len(code) <= 3 else None,
        )
    except ValidationError as exc:
        issues.extend(error(where, e["msg"], "value") for e in exc.errors())
        return None


def _read_item(
    where: str,
    item: dict[str, Any],
    notes: Mapping[int, str],
    pre_auth_ref: str | None,
    issues: list[FhirIssue],
) -> ItemDecision | None:
    sequence = item.get("itemSequence")
    if not isinstance(sequence, int):
        issues.append(error(f"{where}.itemSequence", "itemSequence is missing", "required"))
        return None
    code, _, number, reason = _review_action(item)
    if code is None:
        issues.append(
            error(f"{where}.adjudication", "no extension-reviewAction code on the item", "required")
        )
        return None
    if code == v.REVIEW_ACTION_CANCELLED:
        return ItemDecision(sequence, None, cancelled=True)
    detail = extension(item, v.EXT_AUTHORIZED_DETAIL) or {}
    units = None
    authorized_code = None
    for sub in as_list(detail.get("extension")):
        if isinstance(sub, dict) and sub.get("url") == "quantity":
            units = parse_decimal((as_dict(sub.get("valueQuantity")) or {}).get("value"))
        elif isinstance(sub, dict) and sub.get("url") == "productOrServiceCode":
            authorized_code = first_code(sub.get("valueCodeableConcept"))
    period_ext = extension(item, v.EXT_PREAUTH_PERIOD) or {}
    texts = [notes[n] for n in as_list(item.get("noteNumber")) if isinstance(n, int) and n in notes]
    determination = _determination(
        f"{where}.adjudication",
        code,
        number=number or pre_auth_ref,
        reason_code=reason,
        reason_text="\n".join(texts) or None,
        units=units,
        period=as_dict(period_ext.get("valuePeriod")) or {},
        issues=issues,
    )
    return ItemDecision(sequence, determination, authorized_code=authorized_code)


def _apply_add_item(
    where: str,
    added: dict[str, Any],
    decisions: dict[int, ItemDecision],
    notes: Mapping[int, str],
    pre_auth_ref: str | None,
    issues: list[FhirIssue],
) -> None:
    """A modified approval: the payer authorizes ``addItem`` in place of the items it names."""
    code, _, number, reason = _review_action(added)
    service = first_code(added.get("productOrService"))
    units = parse_decimal((as_dict(added.get("quantity")) or {}).get("value"))
    texts = [
        notes[n] for n in as_list(added.get("noteNumber")) if isinstance(n, int) and n in notes
    ]
    for sequence in as_list(added.get("itemSequence")):
        if not isinstance(sequence, int):
            continue
        previous = decisions.get(sequence)
        base = previous.determination if previous else None
        action = code or (base.x12_action if base else None) or "A6"
        # An approved substitute is a modification of what was asked for.
        if v.REVIEW_ACTION_DECISION.get(action) is Decision.APPROVED:
            action = "A6"
        determination = _determination(
            f"{where}.adjudication",
            action,
            number=number or (base.certification_number if base else None) or pre_auth_ref,
            reason_code=reason or (base.reason_code if base else None),
            reason_text="\n".join(texts) or (base.reason_text if base else None),
            units=units if units is not None else (base.authorized_units if base else None),
            period={
                "start": base.valid_from.isoformat() if base and base.valid_from else None,
                "end": base.valid_to.isoformat() if base and base.valid_to else None,
            },
            issues=issues,
        )
        decisions[sequence] = ItemDecision(sequence, determination, authorized_code=service)


def _apply_legacy(
    where: str,
    cr: Mapping[str, Any],
    code: str,
    index: BundleIndex,
    decisions: dict[int, ItemDecision],
    pre_auth_ref: str | None,
    issues: list[FhirIssue],
) -> None:
    reason_ext = extension(cr, v.EXT_REVIEW_ACTION_REASON_LEGACY) or {}
    reason = as_str(reason_ext.get("valueString"))
    claim = index.first("Claim")
    items = [i for i in as_list(claim.resource.get("item")) if isinstance(i, dict)] if claim else []
    sequences = []
    for item in items:
        cancelled = any(
            isinstance(m, dict)
            and m.get("url") in (v.EXT_ITEM_CANCELLED_LEGACY, v.EXT_INFO_CANCELLED)
            and m.get("valueBoolean") is True
            for m in as_list(item.get("modifierExtension"))
        )
        if isinstance(item.get("sequence"), int):
            sequences.append((item["sequence"], cancelled))
    if not sequences:
        issues.append(
            warning(f"{where}.item", "no Claim echoed in the Bundle; decision taken as item 1")
        )
        sequences = [(1, False)]
    for sequence, cancelled in sequences:
        if sequence in decisions:
            continue
        if cancelled:
            decisions[sequence] = ItemDecision(sequence, None, cancelled=True)
            continue
        determination = _determination(
            f"{where}.extension",
            code,
            number=pre_auth_ref,
            reason_code=reason,
            reason_text=as_str(cr.get("disposition")) if reason is None else None,
            units=None,
            period={},
            issues=issues,
        )
        decisions[sequence] = ItemDecision(sequence, determination)


# --- building (sandbox payer) --------------------------------------------------------


def build_response_bundle(
    request_bundle: Mapping[str, Any],
    determinations: Mapping[int, LineDetermination],
    *,
    response_id: str,
    created: datetime,
    substitutions: Mapping[int, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The PAS response Bundle (JSON) answering ``request_bundle`` with ``determinations``.

    ``determinations`` are keyed by Claim item sequence (from 1). ``substitutions`` map an
    item sequence to the (system, code) the payer authorizes instead, written as ``addItem``.
    The Patient, insurer and requestor are echoed with their request fullUrls (PAS asks
    responses to echo them unchanged). Outcome is ``partial`` while any item is pended.
    """
    if created.tzinfo is None:
        raise FhirCodecError([error("Bundle.timestamp", "created needs a time zone")])
    index = BundleIndex.of(request_bundle)
    claim_entry = index.entries[0] if index.entries else None
    if claim_entry is None or claim_entry.resource.get("resourceType") != "Claim":
        raise FhirCodecError(
            [error("Bundle.entry[0].resource", "the request Bundle has no Claim first", "required")]
        )
    claim = claim_entry.resource
    problems: list[FhirIssue] = []
    sequences = {
        i["sequence"]
        for i in as_list(claim.get("item"))
        if isinstance(i, dict) and isinstance(i.get("sequence"), int)
    }
    echoed: list[Entry] = []
    refs: dict[str, dict[str, str]] = {}
    for element in ("patient", "insurer", "provider"):
        ref = as_str((as_dict(claim.get(element)) or {}).get("reference"))
        target = index.resolve(ref, claim_entry) if ref else None
        if target is None or target.full_url is None:
            problems.append(
                error(f"{claim_entry.location}.{element}", "not resolvable to echo", "not-found")
            )
            continue
        refs[element] = {"reference": target.full_url}
        if target not in echoed:
            echoed.append(target)
    items: list[dict[str, Any]] = []
    adjudications: dict[int, list[dict[str, Any]]] = {}
    notes: list[dict[str, Any]] = []
    for sequence in sorted(determinations):
        where = f"determinations[{sequence}]"
        if sequence not in sequences:
            problems.append(error(where, f"the Claim has no item {sequence}", "not-found"))
            continue
        d = determinations[sequence]
        code = d.x12_action or v.DEFAULT_REVIEW_ACTION[d.decision]
        if v.REVIEW_ACTION_DECISION.get(code) is not d.decision:
            problems.append(error(where, f"X12 action {code} does not mean {d.decision.value}"))
            continue
        item: dict[str, Any] = {"extension": [], "itemSequence": sequence}
        review: list[dict[str, Any]] = [
            {
                "url": v.EXT_REVIEW_ACTION_CODE,
                "valueCodeableConcept": concept(
                    v.X12_REVIEW_ACTION, code, v.REVIEW_ACTION_DISPLAY.get(code)
                ),
            }
        ]
        if d.certification_number:
            review.append({"url": "number", "valueString": d.certification_number})
        if d.reason_code:
            review.append(
                {
                    "url": "reasonCode",
                    "valueCodeableConcept": concept(X12_REVIEW_REASON, d.reason_code),
                }
            )
        if d.valid_from or d.valid_to:
            period = {
                k: day.isoformat()
                for k, day in (("start", d.valid_from), ("end", d.valid_to))
                if day is not None
            }
            item["extension"].append({"url": v.EXT_PREAUTH_PERIOD, "valuePeriod": period})
        if d.authorized_units is not None:
            item["extension"].append(
                {
                    "url": v.EXT_AUTHORIZED_DETAIL,
                    "extension": [
                        {
                            "url": "quantity",
                            "valueQuantity": {"value": json_number(d.authorized_units)},
                        }
                    ],
                }
            )
        if not item["extension"]:
            del item["extension"]
        if d.reason_text:
            problems.extend(control_character_issues(d.reason_text, f"{where}.reason_text"))
            number = len(notes) + 1
            notes.append({"number": number, "type": "display", "text": d.reason_text})
            item["noteNumber"] = [number]
        item["adjudication"] = [
            {
                "extension": [{"url": v.EXT_REVIEW_ACTION, "extension": review}],
                "category": concept(v.ADJUDICATION, "submitted"),
            }
        ]
        items.append(item)
        adjudications[sequence] = item["adjudication"]
    raise_on_errors(problems)
    claim_ident = next((i for i in as_list(claim.get("identifier")) if isinstance(i, dict)), None)
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": response_id,
        "meta": {"profile": [v.PROFILE_CLAIM_RESPONSE]},
        "status": "active",
        "type": claim.get("type") or concept(v.CLAIM_TYPE, "professional"),
        "use": "preauthorization",
        "patient": refs["patient"],
        "created": created.isoformat(),
        "insurer": refs["insurer"],
        "requestor": refs["provider"],
        "outcome": "partial"
        if any(d.decision is Decision.PENDED for d in determinations.values())
        else "complete",
        "item": items,
    }
    if claim_ident is not None:
        response["identifier"] = [claim_ident]
        response["request"] = {"identifier": claim_ident}
    # Readers fall back on preAuthRef for items without a number, so it is written only
    # when one number covers every item.
    numbers = {d.certification_number for d in determinations.values()}
    if len(numbers) == 1 and None not in numbers:
        response["preAuthRef"] = numbers.pop()
    if notes:
        response["processNote"] = notes
    added = [
        {
            "itemSequence": [sequence],
            "productOrService": concept(system, code),
            "adjudication": adjudications[sequence],
            **(
                {"quantity": {"value": json_number(units)}}
                if (units := determinations[sequence].authorized_units) is not None
                else {}
            ),
        }
        for sequence, (system, code) in sorted((substitutions or {}).items())
        if sequence in adjudications
    ]
    if added:
        response["addItem"] = added
    # The ClaimResponse's fullUrl takes the request's form, so the echoed entries match it.
    base = re.match(r"^(https?://\S+)/Claim/[^/]+$", claim_entry.full_url or "")
    if base is not None:
        response_url = f"{base[1]}/ClaimResponse/{response_id}"
    else:
        response["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, response_id))
        response_url = f"urn:uuid:{response['id']}"
    return {
        "resourceType": "Bundle",
        "id": response["id"],
        "meta": {"profile": [v.PROFILE_RESPONSE_BUNDLE]},
        "identifier": {"system": v.PRECERT_BUNDLE_ID, "value": response_id},
        "type": "collection",
        "timestamp": created.isoformat(),
        "entry": [
            {"fullUrl": response_url, "resource": response},
            *({"fullUrl": e.full_url, "resource": e.resource} for e in echoed),
        ],
    }
