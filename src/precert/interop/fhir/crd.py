"""Da Vinci CRD (2.2.1) CDS Hooks codec: hook requests in, cards and coverage information out.

Pure: JSON-shaped dicts in and out, no network, no clock (callers pass ``today``).

* ``parse_hook_request`` reads an ``order-select``, ``order-sign``, ``order-dispatch``,
  ``appointment-book``, ``encounter-start`` or ``encounter-discharge`` request: the
  orders (ServiceRequest, DeviceRequest, MedicationRequest, NutritionOrder,
  Appointment) with their billing codes, dates, diagnoses and place of service, and
  the prefetched Patient, Coverage and Practitioner. A malformed request raises
  ``HookRequestError`` naming the JSON path of the problem.
* ``build_response`` turns per-order assessments into cards and ``update``
  systemActions that add ``ext-coverage-information`` to each order.
* ``discovery_document`` is the ``GET /cds-services`` answer.
* ``read_coverage_information`` reads the extension back (used on response fixtures).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from precert.domain.codes import CodeSystem, check_icd10cm, check_procedure_code
from precert.domain.errors import DomainError
from precert.policy.model import Covered, Determination, PaNeeded, PayerProfile

HOOKS = (
    "order-select",
    "order-sign",
    "order-dispatch",
    "appointment-book",
    "encounter-start",
    "encounter-discharge",
)
ORDER_TYPES = frozenset(
    {"ServiceRequest", "DeviceRequest", "MedicationRequest", "NutritionOrder", "Appointment"}
)
COVERAGE_INFORMATION = (
    "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
)
BILLING_OPTIONS = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-billing-options"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
POS_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
CARD_TYPE = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"

#: Code-system URIs seen for each billing code system (HCPCS has several in the wild).
BILLING_SYSTEMS: Mapping[str, CodeSystem] = {
    "http://www.ama-assn.org/go/cpt": CodeSystem.CPT,
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": CodeSystem.HCPCS,
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": CodeSystem.HCPCS,
    "https://bluebutton.cms.gov/resources/codesystem/hcpcs": CodeSystem.HCPCS,
    "http://terminology.hl7.org/CodeSystem/HCPCS": CodeSystem.HCPCS,
    "http://hl7.org/fhir/sid/ndc": CodeSystem.NDC,
}
SYSTEM_URI: Mapping[CodeSystem, str] = {
    CodeSystem.CPT: "http://www.ama-assn.org/go/cpt",
    CodeSystem.HCPCS: "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    CodeSystem.NDC: "http://hl7.org/fhir/sid/ndc",
}
#: Encounter class (v3 ActCode) to CMS place of service, for orders that carry none.
ENCOUNTER_POS = {"IMP": "21", "ACUTE": "21", "EMER": "23", "AMB": "22", "HH": "12", "VR": "02"}


class HookRequestError(DomainError):
    """A CDS Hooks request precert cannot read; ``path`` is the JSON path of the problem."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class BillingCode:
    """One code an order may be billed under."""

    system: CodeSystem
    code: str


@dataclass(frozen=True)
class HookOrder:
    """One order from the hook context, with what the policy engine needs to judge it."""

    reference: str
    resource: Mapping[str, Any]
    billing_codes: tuple[BillingCode, ...]
    service_date: date | None
    diagnoses: tuple[str, ...]
    place_of_service: str | None
    units: Decimal
    unreadable_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HookRequest:
    """A parsed CRD hook request."""

    hook: str
    hook_instance: str
    patient_id: str
    orders: tuple[HookOrder, ...]
    unresolved: tuple[str, ...]
    patient: Mapping[str, Any] | None
    coverage: Mapping[str, Any] | None
    practitioner: Mapping[str, Any] | None
    encounter_class: str | None


@dataclass(frozen=True)
class CodeAssessment:
    """The engine's determination for one billing code of an order."""

    billing_code: BillingCode
    determination: Determination
    gold_carded_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderAssessment:
    """Everything the response says about one order."""

    order: HookOrder
    codes: tuple[CodeAssessment, ...]
    payer: PayerProfile | None
    deadline: date | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)


# --- reading ---------------------------------------------------------------------------


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HookRequestError(path, "must be a JSON object")
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise HookRequestError(path, "must be a non-empty string")
    return value


def _bundle_resources(bundle: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """The (path, resource) pairs of a Bundle's entries."""
    found: list[tuple[str, dict[str, Any]]] = []
    if bundle is None:
        return found
    bundle = _obj(bundle, path)
    if bundle.get("resourceType") != "Bundle":
        raise HookRequestError(f"{path}.resourceType", "must be 'Bundle'")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise HookRequestError(f"{path}.entry", "must be an array")
    for i, entry in enumerate(entries):
        resource = _obj(
            _obj(entry, f"{path}.entry[{i}]").get("resource"), f"{path}.entry[{i}].resource"
        )
        _text(resource.get("resourceType"), f"{path}.entry[{i}].resource.resourceType")
        found.append((f"{path}.entry[{i}].resource", resource))
    return found


def _first_of_type(prefetch: Mapping[str, Any], resource_type: str) -> dict[str, Any] | None:
    """The first resource of ``resource_type`` among the prefetch values (bare or in a Bundle)."""
    for key, value in prefetch.items():
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == resource_type:
            return value
        if value.get("resourceType") == "Bundle":
            for _, resource in _bundle_resources(value, f"$.prefetch.{key}"):
                if resource.get("resourceType") == resource_type:
                    return resource
    return None


def _concept_codes(concept: Any) -> list[tuple[str, str]]:
    if not isinstance(concept, dict):
        return []
    return [
        (c.get("system", ""), c["code"])
        for c in concept.get("coding", [])
        if isinstance(c, dict) and isinstance(c.get("code"), str)
    ]


def _order_concepts(resource: Mapping[str, Any]) -> list[Any]:
    kind = resource["resourceType"]
    if kind == "ServiceRequest":
        return [resource.get("code")]
    if kind == "DeviceRequest":
        return [resource.get("codeCodeableConcept")]
    if kind == "MedicationRequest":
        return [resource.get("medicationCodeableConcept")]
    if kind == "Appointment":
        return [*resource.get("serviceType", []), resource.get("appointmentType")]
    if kind == "NutritionOrder":
        return [*(resource.get("oralDiet", {}) or {}).get("type", [])]
    return []


def _billing_codes(resource: Mapping[str, Any]) -> tuple[tuple[BillingCode, ...], tuple[str, ...]]:
    """Billing codes from the order's code and its CRD billing-options extensions."""
    found: list[BillingCode] = []
    unreadable: list[str] = []
    candidates: list[tuple[str, str]] = []
    for concept in _order_concepts(resource):
        candidates.extend(_concept_codes(concept))
        if isinstance(concept, dict):
            for ext in concept.get("extension", []):
                if isinstance(ext, dict) and ext.get("url") == BILLING_OPTIONS:
                    candidates.extend(_concept_codes(ext.get("valueCodeableConcept")))
    for system_uri, code in candidates:
        system = BILLING_SYSTEMS.get(system_uri)
        if system is None:
            continue
        try:
            billing = BillingCode(system, check_procedure_code(system, code))
        except ValueError:
            unreadable.append(f"{system.value} {code!r}")
            continue
        if billing not in found:
            found.append(billing)
    return tuple(found), tuple(unreadable)


def _fhir_date(value: Any) -> date | None:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _service_date(resource: Mapping[str, Any]) -> date | None:
    period = resource.get("occurrencePeriod") or {}
    timing = (resource.get("occurrenceTiming") or {}).get("repeat", {}).get("boundsPeriod", {})
    validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
    for value in (
        resource.get("occurrenceDateTime"),
        period.get("start") if isinstance(period, dict) else None,
        timing.get("start") if isinstance(timing, dict) else None,
        validity.get("start") if isinstance(validity, dict) else None,
        resource.get("start"),  # Appointment
        resource.get("dateTime"),  # NutritionOrder
    ):
        found = _fhir_date(value)
        if found:
            return found
    return None


def _diagnoses(resource: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for concept in resource.get("reasonCode", []):
        for system, code in _concept_codes(concept):
            if system != ICD10CM:
                continue
            try:
                found.append(check_icd10cm(code))
            except ValueError:
                continue
    return tuple(dict.fromkeys(found))


def _units(resource: Mapping[str, Any]) -> Decimal:
    quantity = resource.get("quantityQuantity") or (resource.get("dispenseRequest") or {}).get(
        "quantity"
    )
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
        try:
            value = Decimal(str(quantity["value"]))
        except InvalidOperation:
            return Decimal(1)
        return value if value > 0 else Decimal(1)
    return Decimal(1)


def _place_of_service(resource: Mapping[str, Any]) -> str | None:
    for concept in resource.get("locationCode", []):
        for system, code in _concept_codes(concept):
            if system == POS_SYSTEM:
                return code
    return None


def _order(resource: dict[str, Any]) -> HookOrder:
    codes, unreadable = _billing_codes(resource)
    return HookOrder(
        reference=f"{resource['resourceType']}/{resource.get('id', '')}",
        resource=resource,
        billing_codes=codes,
        service_date=_service_date(resource),
        diagnoses=_diagnoses(resource),
        place_of_service=_place_of_service(resource),
        units=_units(resource),
        unreadable_codes=unreadable,
    )


def _reference_tail(reference: str) -> str:
    """``http://x/fhir/ServiceRequest/1`` -> ``ServiceRequest/1``."""
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def parse_hook_request(body: Any) -> HookRequest:
    """Read a CRD hook request. Raises ``HookRequestError`` with the JSON path of a problem."""
    request = _obj(body, "$")
    hook = _text(request.get("hook"), "$.hook")
    if hook not in HOOKS:
        raise HookRequestError(
            "$.hook", f"unsupported hook {hook!r}; supported: {', '.join(HOOKS)}"
        )
    hook_instance = _text(request.get("hookInstance"), "$.hookInstance")
    if "context" not in request:
        raise HookRequestError("$.context", "is required")
    context = _obj(request["context"], "$.context")
    patient_id = _text(context.get("patientId"), "$.context.patientId")
    prefetch = request.get("prefetch") or {}
    prefetch = _obj(prefetch, "$.prefetch")

    orders: list[HookOrder] = []
    unresolved: list[str] = []
    if hook in ("order-select", "order-sign"):
        if "draftOrders" not in context:
            raise HookRequestError("$.context.draftOrders", "is required for " + hook)
        resources = _bundle_resources(context["draftOrders"], "$.context.draftOrders")
        selections = context.get("selections")
        if hook == "order-select" and selections is not None:
            if not isinstance(selections, list):
                raise HookRequestError("$.context.selections", "must be an array")
            chosen = {_reference_tail(str(s)) for s in selections}
            resources = [
                (p, r) for p, r in resources if f"{r['resourceType']}/{r.get('id', '')}" in chosen
            ]
        orders = [_order(r) for _, r in resources if r["resourceType"] in ORDER_TYPES]
    elif hook == "appointment-book":
        if "appointments" not in context:
            raise HookRequestError("$.context.appointments", "is required for appointment-book")
        resources = _bundle_resources(context["appointments"], "$.context.appointments")
        orders = [_order(r) for _, r in resources if r["resourceType"] in ORDER_TYPES]
    elif hook == "order-dispatch":
        dispatched = context.get("dispatchedOrders")
        if not isinstance(dispatched, list) or not dispatched:
            raise HookRequestError("$.context.dispatchedOrders", "must be a non-empty array")
        available = {
            f"{r['resourceType']}/{r.get('id', '')}": r
            for key, value in prefetch.items()
            if isinstance(value, dict)
            for _, r in (
                _bundle_resources(value, f"$.prefetch.{key}")
                if value.get("resourceType") == "Bundle"
                else [("", value)]
            )
            if isinstance(r.get("resourceType"), str)
        }
        for i, reference in enumerate(dispatched):
            tail = _reference_tail(_text(reference, f"$.context.dispatchedOrders[{i}]"))
            if tail in available and available[tail]["resourceType"] in ORDER_TYPES:
                orders.append(_order(available[tail]))
            else:
                unresolved.append(tail)

    encounter = _first_of_type(prefetch, "Encounter")
    encounter_class = None
    if encounter and isinstance(encounter.get("class"), dict):
        encounter_class = encounter["class"].get("code")
    practitioner = _first_of_type(prefetch, "Practitioner")
    return HookRequest(
        hook=hook,
        hook_instance=hook_instance,
        patient_id=patient_id,
        orders=tuple(orders),
        unresolved=tuple(unresolved),
        patient=_first_of_type(prefetch, "Patient"),
        coverage=_first_of_type(prefetch, "Coverage"),
        practitioner=practitioner,
        encounter_class=encounter_class,
    )


def order_place_of_service(request: HookRequest, order: HookOrder) -> str:
    """The order's place of service: its own, else implied by the encounter, else office (11)."""
    return order.place_of_service or ENCOUNTER_POS.get(request.encounter_class or "", "11")


# --- writing ----------------------------------------------------------------------------


def coverage_assertion_id(
    request: HookRequest, order: HookOrder, codes: Sequence[CodeAssessment]
) -> str:
    """A stable trace id: the same request, order and rules give the same id."""
    material = "|".join(
        [
            request.hook_instance,
            order.reference,
            *(f"{c.billing_code.code}:{','.join(c.determination.rule_ids)}" for c in codes),
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _ext(url: str, **value: Any) -> dict[str, Any]:
    return {"url": url, **value}


def _coverage_reference(request: HookRequest) -> str:
    coverage = request.coverage
    if coverage and coverage.get("id"):
        return f"Coverage/{coverage['id']}"
    return "Coverage/unknown"


def _information(
    request: HookRequest,
    order: HookOrder,
    group: Sequence[CodeAssessment],
    today: date,
) -> dict[str, Any]:
    """One ext-coverage-information for a group of billing codes that share an answer."""
    decided = group[0].determination
    pa_needed = decided.pa_needed
    reasons: list[dict[str, Any]] = []
    if group[0].gold_carded_by and decided.needs_auth:
        pa_needed = PaNeeded.NO_AUTH
        reasons.append(
            _ext(
                "reason",
                valueCodeableConcept={
                    "coding": [{"system": CARD_TYPE, "code": "gold-card"}],
                    "text": "Prior authorization waived: " + "; ".join(group[0].gold_carded_by),
                },
            )
        )
    parts: list[dict[str, Any]] = [
        _ext("coverage", valueReference={"reference": _coverage_reference(request)}),
        _ext("covered", valueCode=decided.covered.value),
    ]
    # crd-ci-q2: a not-covered assertion carries no pa-needed.
    if decided.covered is not Covered.NOT_COVERED:
        parts.append(_ext("pa-needed", valueCode=pa_needed.value))
    if decided.doc_needed is not None:
        parts.append(_ext("doc-needed", valueCode=decided.doc_needed.value))
    parts.extend(_ext("doc-purpose", valueCode=p.value) for p in decided.doc_purposes)
    conditional = "conditional" in (decided.covered.value, pa_needed.value, decided.doc_needed)
    # crd-ci-q3: info-needed only alongside a conditional answer.
    if conditional:
        parts.extend(_ext("info-needed", valueCode=i.value) for i in decided.info_needed)
    parts.extend(
        _ext(
            "billingCode",
            valueCoding={"system": SYSTEM_URI[c.billing_code.system], "code": c.billing_code.code},
        )
        for c in group
    )
    parts.extend(reasons)
    parts.extend(_ext("reason", valueCodeableConcept={"text": note}) for note in decided.notes)
    if decided.rule_ids:
        parts.append(
            _ext(
                "reason",
                valueCodeableConcept={"text": "precert rules: " + ", ".join(decided.rule_ids)},
            )
        )
    parts.append(_ext("date", valueDate=today.isoformat()))
    parts.append(
        _ext("coverage-assertion-id", valueString=coverage_assertion_id(request, order, group))
    )
    return {"url": COVERAGE_INFORMATION, "extension": parts}


def _indeterminate(
    request: HookRequest, assessment: OrderAssessment, today: date
) -> dict[str, Any]:
    """Coverage information for an order no billing code could be judged for."""
    order = assessment.order
    parts = [
        _ext("coverage", valueReference={"reference": _coverage_reference(request)}),
        _ext("covered", valueCode=Covered.INDETERMINATE.value),
        _ext("pa-needed", valueCode=PaNeeded.INDETERMINATE.value),
        *(_ext("reason", valueCodeableConcept={"text": p}) for p in assessment.problems),
        _ext("date", valueDate=today.isoformat()),
        _ext("coverage-assertion-id", valueString=coverage_assertion_id(request, order, ())),
    ]
    return {"url": COVERAGE_INFORMATION, "extension": parts}


def _groups(codes: Sequence[CodeAssessment]) -> list[list[CodeAssessment]]:
    groups: dict[tuple[Any, ...], list[CodeAssessment]] = {}
    for c in codes:
        d = c.determination
        key = (d.covered, d.pa_needed, d.doc_needed, d.doc_purposes, d.rule_ids, c.gold_carded_by)
        groups.setdefault(key, []).append(c)
    return list(groups.values())


def _card(assessment: OrderAssessment, today: date) -> dict[str, Any] | None:
    needs = [c for c in assessment.codes if c.determination.needs_auth and not c.gold_carded_by]
    payer = assessment.payer
    label = payer.display_name if payer else "precert coverage requirements"
    if needs:
        first = needs[0].determination
        codes = ", ".join(c.billing_code.code for c in needs)
        lines = [f"Prior authorization is required for {codes} ({first.pa_needed.value})."]
        if first.documentation:
            lines.append("Documentation: " + "; ".join(d.title for d in first.documentation) + ".")
        if first.lead_time_business_days is not None:
            lines.append(
                f"Submit at least {first.lead_time_business_days} business days before the service"
                + (f" (by {assessment.deadline.isoformat()})." if assessment.deadline else ".")
            )
        if payer:
            lines.append(f"Prior authorization line: {payer.prior_auth_phone}.")
        indicator = "warning"
        summary = f"Prior authorization needed: {codes}"
    elif assessment.problems:
        lines = list(assessment.problems)
        indicator = "info"
        summary = "Coverage requirements could not be determined"
    else:
        return None
    return {
        "uuid": hashlib.sha256(
            f"{assessment.order.reference}|{summary}|{today}".encode()
        ).hexdigest()[:32],
        "summary": summary[:140],
        "indicator": indicator,
        "detail": " ".join(lines),
        "source": {
            "label": label,
            "topic": {
                "system": CARD_TYPE,
                "code": "coverage-info",
                "display": "Coverage Information",
            },
        },
        "extension": {
            "davinci-crd.associated-resource": [{"reference": assessment.order.reference}]
        },
    }


def build_response(
    request: HookRequest, assessments: Sequence[OrderAssessment], today: date
) -> dict[str, Any]:
    """The CDS Hooks response: cards for what needs attention, and an ``update`` systemAction
    adding coverage information to every order (indeterminate when nothing could be judged)."""
    cards: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    for assessment in assessments:
        card = _card(assessment, today)
        if card:
            cards.append(card)
        # A shallow copy suffices: only the top-level extension list is replaced, so the
        # caller's resource is never mutated and nested elements are shared, not copied.
        resource = dict(assessment.order.resource)
        information = (
            [_information(request, assessment.order, g, today) for g in _groups(assessment.codes)]
            if assessment.codes
            else [_indeterminate(request, assessment, today)]
        )
        resource["extension"] = [*resource.get("extension", []), *information]
        actions.append(
            {
                "type": "update",
                "description": f"Added coverage information to {assessment.order.reference}.",
                "resource": resource,
            }
        )
    for reference in request.unresolved:
        cards.append(
            {
                "uuid": hashlib.sha256(f"{reference}|unresolved|{today}".encode()).hexdigest()[:32],
                "summary": f"{reference} was not in the request; coverage not determined",
                "indicator": "info",
                "detail": "The dispatched order was neither in the context nor in the prefetch, "
                "so no coverage information could be computed for it.",
                "source": {"label": "precert coverage requirements"},
            }
        )
    return {"cards": cards, "systemActions": actions}


def discovery_document() -> dict[str, Any]:
    """The ``GET /cds-services`` document: one CRD service per supported hook."""
    prefetch = {
        "patient": "Patient/{{context.patientId}}",
        "coverage": "Coverage?patient={{context.patientId}}&status=active",
    }
    return {
        "services": [
            {
                "hook": hook,
                "id": f"precert-crd-{hook}",
                "title": f"precert coverage requirements ({hook})",
                "description": "Says whether each order needs prior authorization, which "
                "documentation the payer wants and by when (Da Vinci CRD 2.2.1).",
                "prefetch": {
                    **prefetch,
                    **(
                        {"encounter": "Encounter/{{context.encounterId}}"}
                        if hook.startswith("encounter") or hook in ("order-sign", "order-select")
                        else {}
                    ),
                },
            }
            for hook in HOOKS
        ]
    }


def service_hook(service_id: str) -> str | None:
    """The hook a service id from ``discovery_document`` answers, or None if unknown."""
    prefix = "precert-crd-"
    hook = service_id.removeprefix(prefix)
    return hook if service_id.startswith(prefix) and hook in HOOKS else None


def read_coverage_information(resource: Mapping[str, Any]) -> list[dict[str, list[Any]]]:
    """The coverage-information extensions of a resource, each as {sub-extension url: [values]}."""
    found: list[dict[str, list[Any]]] = []
    for ext in resource.get("extension", []):
        if not isinstance(ext, dict) or ext.get("url") != COVERAGE_INFORMATION:
            continue
        values: dict[str, list[Any]] = {}
        for part in ext.get("extension", []):
            value = next(
                (v for k, v in part.items() if k.startswith("value")), part.get("extension")
            )
            values.setdefault(part.get("url", ""), []).append(value)
        found.append(values)
    return found
