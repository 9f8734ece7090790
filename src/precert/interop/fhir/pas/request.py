"""PAS request Bundles: build one from an ``AuthorizationRequest``, and read one back.

Building writes ``urn:uuid`` fullUrls derived from the submission id (uuid5), so the same
submission always yields the same Bundle and a retry is byte-identical. Reading accepts
any conformant PAS request Bundle (and legacy ones, with warnings) into a
``PasClaimRequest``: the facts PAS carries, loosely typed because payers' codes need
not satisfy precert's domain rules; ``to_authorization_request`` applies those rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from precert.domain.authorization import (
    AuthorizationRequest,
    Coverage,
    LineOfBusiness,
    Patient,
    Provider,
    ServiceCategory,
    ServiceLine,
    Sex,
    Urgency,
)
from precert.domain.codes import CodeSystem
from precert.interop.fhir.common import (
    FhirCodecError,
    FhirIssue,
    as_dict,
    as_list,
    as_str,
    concept,
    error,
    extension,
    first_code,
    json_number,
    parse_date,
    parse_decimal,
    parse_instant,
    raise_on_errors,
    warning,
)
from precert.interop.fhir.pas import vocabulary as v
from precert.interop.fhir.pas.rules import BundleIndex, BundleKind, Entry, check_bundle

_NAMESPACE = uuid.UUID("6f1c56a6-3a43-4b0e-9a53-8f3f7f0c2b8e")


def _urn(submission_id: str, role: str) -> tuple[str, str]:
    """A stable (id, fullUrl) pair for the resource playing ``role`` in a submission."""
    rid = str(uuid.uuid5(_NAMESPACE, f"{submission_id}/{role}"))
    return rid, f"urn:uuid:{rid}"


# --- building ------------------------------------------------------------------------


def build_request_bundle(
    request: AuthorizationRequest,
    *,
    submission_id: str,
    submitted_at: datetime,
    certification_type: str = v.CertificationType.INITIAL,
    replaces_claim: str | None = None,
    questionnaire_responses: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The PAS ``Claim/$submit`` Bundle (JSON) for ``request``.

    ``submission_id`` identifies this submission attempt (Bundle.identifier, and the seed of
    every resource id). ``certification_type`` is X12 1322 (``I`` initial, ``S`` revised,
    ``3`` cancel); for an update or a cancel, ``replaces_claim`` is the identifier of the
    Claim it supersedes. ``questionnaire_responses`` (DTR documentation) are attached as
    ``supportingInfo``.
    """
    if submitted_at.tzinfo is None:
        raise FhirCodecError([error("Bundle.timestamp", "submitted_at needs a time zone")])
    if certification_type != v.CertificationType.INITIAL and not replaces_claim:
        raise FhirCodecError(
            [
                error(
                    "Bundle.entry[0].resource.related",
                    "an update or cancel must name the Claim it replaces",
                )
            ]
        )
    ids = {role: _urn(submission_id, role) for role in ("claim", "patient", "coverage", "insurer")}
    entries: list[dict[str, Any]] = []

    def add(full_url: str, resource: dict[str, Any]) -> None:
        entries.append({"fullUrl": full_url, "resource": resource})

    def ref(role: str) -> dict[str, str]:
        return {"reference": ids[role][1]}

    providers: dict[str, tuple[str, str]] = {}
    for role, provider in (
        ("requester", request.requesting_provider),
        ("servicer", request.servicing_provider),
    ):
        key = f"{provider.kind}/{provider.npi}"
        if key not in providers:  # one resource per provider, even when both roles are one
            providers[key] = _urn(submission_id, key)
        ids[role] = providers[key]

    diagnoses: list[str] = []
    for line in request.service_lines:
        diagnoses.extend(d for d in line.diagnoses if d not in diagnoses)
    for code in diagnoses:
        ids[f"condition/{code}"] = _urn(submission_id, f"condition/{code}")

    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "id": ids["claim"][0],
        "meta": {
            "profile": [
                v.PROFILE_CLAIM
                if certification_type == v.CertificationType.INITIAL
                else v.PROFILE_CLAIM_UPDATE
            ]
        },
        "extension": [
            {
                "url": v.EXT_LEVEL_OF_SERVICE,
                "valueCodeableConcept": concept(
                    v.X12_LEVEL_OF_SERVICE, *v.LEVEL_OF_SERVICE_BY_URGENCY[request.urgency]
                ),
            }
        ],
        "identifier": [{"system": v.PRECERT_AUTHORIZATION_ID, "value": request.id}],
        "status": "active",
        "type": concept(
            v.CLAIM_TYPE,
            "institutional"
            if request.category is ServiceCategory.INPATIENT_ADMISSION
            else "professional",
        ),
        "use": "preauthorization",
        "patient": ref("patient"),
        "created": submitted_at.isoformat(),
        "insurer": ref("insurer"),
        "provider": ref("requester"),
        "priority": concept(v.PROCESS_PRIORITY, v.PRIORITY_BY_URGENCY[request.urgency]),
        "careTeam": [
            {
                "sequence": 1,
                "provider": ref("servicer"),
                "role": concept(v.X12_ENTITY_CODE, "SJ", "Service Provider"),
            }
        ],
        "diagnosis": [
            {"sequence": i + 1, "diagnosisCodeableConcept": concept(v.ICD10CM, code)}
            for i, code in enumerate(diagnoses)
        ],
        "insurance": [{"sequence": 1, "focal": True, "coverage": ref("coverage")}],
        "item": [],
    }
    if replaces_claim:
        claim["related"] = [
            {
                "claim": {
                    "identifier": {"system": v.PRECERT_AUTHORIZATION_ID, "value": replaces_claim}
                }
            }
        ]
    add(ids["claim"][1], claim)
    add(ids["patient"][1], _patient(ids["patient"][0], request.patient))
    add(
        ids["coverage"][1],
        _coverage(ids["coverage"][0], request.coverage, ref("patient"), ref("insurer")),
    )
    add(ids["insurer"][1], _insurer(ids["insurer"][0], request.coverage.payer_id))
    for key, (rid, full_url) in providers.items():
        provider = next(
            p
            for p in (request.requesting_provider, request.servicing_provider)
            if f"{p.kind}/{p.npi}" == key
        )
        add(full_url, _provider(rid, provider))
    for code in diagnoses:
        rid, full_url = ids[f"condition/{code}"]
        add(
            full_url,
            {
                "resourceType": "Condition",
                "id": rid,
                "meta": {"profile": [v.PROFILE_CONDITION]},
                "code": concept(v.ICD10CM, code),
                "subject": ref("patient"),
            },
        )
    for n, line in enumerate(request.service_lines, start=1):
        order_id, order_url = _urn(submission_id, f"item/{n}")
        order = _order(
            order_id, line, request.category, ref("patient"), ref("requester"), ref("servicer")
        )
        order["reasonReference"] = [{"reference": ids[f"condition/{d}"][1]} for d in line.diagnoses]
        add(order_url, order)
        claim["item"].append(_item(n, line, certification_type, order_url, diagnoses))
    for n, qr in enumerate(questionnaire_responses, start=1):
        rid, full_url = _urn(submission_id, f"documentation/{n}")
        add(full_url, {**dict(qr), "id": rid})
        claim.setdefault("supportingInfo", []).append(
            {
                "sequence": n,
                "category": concept(v.SUPPORTING_INFO_TYPE, "additionalInformation"),
                "valueReference": {"reference": full_url},
            }
        )
    return {
        "resourceType": "Bundle",
        "id": _urn(submission_id, "bundle")[0],
        "meta": {"profile": [v.PROFILE_REQUEST_BUNDLE]},
        "identifier": {"system": v.PRECERT_BUNDLE_ID, "value": submission_id},
        "type": "collection",
        "timestamp": submitted_at.isoformat(),
        "entry": entries,
    }


def build_update_bundle(
    request: AuthorizationRequest,
    *,
    submission_id: str,
    submitted_at: datetime,
    replaces_claim: str,
    questionnaire_responses: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A ``$submit`` Bundle revising an earlier request (certificationType ``S``)."""
    return build_request_bundle(
        request,
        submission_id=submission_id,
        submitted_at=submitted_at,
        certification_type=v.CertificationType.REVISED,
        replaces_claim=replaces_claim,
        questionnaire_responses=questionnaire_responses,
    )


def build_cancel_bundle(
    request: AuthorizationRequest,
    *,
    submission_id: str,
    submitted_at: datetime,
    replaces_claim: str,
) -> dict[str, Any]:
    """A ``$submit`` Bundle cancelling an earlier request (certificationType ``3``)."""
    return build_request_bundle(
        request,
        submission_id=submission_id,
        submitted_at=submitted_at,
        certification_type=v.CertificationType.CANCEL,
        replaces_claim=replaces_claim,
    )


def _patient(rid: str, patient: Patient) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": rid,
        "meta": {"profile": [v.PROFILE_BENEFICIARY]},
        "identifier": [
            {
                "type": concept(v.MEMBER_ID_TYPE, "MR"),
                "system": v.PRECERT_PATIENT_ID,
                "value": patient.id,
            },
            {"type": concept(v.MEMBER_ID_TYPE, "MB"), "value": patient.member_id},
        ],
        "name": [{"family": patient.family_name, "given": [patient.given_name]}],
        "gender": patient.sex.value,
        "birthDate": patient.birth_date.isoformat(),
    }


def _coverage(
    rid: str, coverage: Coverage, patient: dict[str, str], insurer: dict[str, str]
) -> dict[str, Any]:
    period = {"start": coverage.effective_from.isoformat()}
    if coverage.effective_to:
        period["end"] = coverage.effective_to.isoformat()
    classes = [{"type": concept(v.COVERAGE_CLASS, "plan"), "value": coverage.plan}]
    if coverage.group_number:
        classes.append({"type": concept(v.COVERAGE_CLASS, "group"), "value": coverage.group_number})
    return {
        "resourceType": "Coverage",
        "id": rid,
        "meta": {"profile": [v.PROFILE_COVERAGE]},
        "extension": [{"url": v.PRECERT_EXT_PLAN_STATE, "valueCode": coverage.state}],
        "status": "active",
        "type": concept(v.PRECERT_LINE_OF_BUSINESS, coverage.line_of_business.value),
        "subscriberId": coverage.member_id,
        "beneficiary": patient,
        "period": period,
        "payor": [insurer],
        "class": classes,
    }


def _insurer(rid: str, payer_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": rid,
        "meta": {"profile": [v.PROFILE_INSURER]},
        "identifier": [{"system": v.PRECERT_PAYER_ID, "value": payer_id}],
        "active": True,
        "type": [concept(v.X12_ENTITY_CODE, "PR", "Payer")],
        "name": payer_id,
    }


def _provider(rid: str, provider: Provider) -> dict[str, Any]:
    npi = [{"system": v.NPI, "value": provider.npi}]
    if provider.kind == "organization":
        org: dict[str, Any] = {
            "resourceType": "Organization",
            "id": rid,
            "meta": {"profile": [v.PROFILE_REQUESTOR]},
            "identifier": npi,
            "active": True,
            "name": provider.name,
        }
        if provider.taxonomy:
            org["type"] = [concept(v.NUCC_TAXONOMY, provider.taxonomy)]
        return org
    practitioner: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": rid,
        "meta": {"profile": [v.PROFILE_PRACTITIONER]},
        "identifier": npi,
        "name": [{"text": provider.name}],
    }
    if provider.taxonomy:
        practitioner["qualification"] = [{"code": concept(v.NUCC_TAXONOMY, provider.taxonomy)}]
    return practitioner


def _order(
    rid: str,
    line: ServiceLine,
    category: ServiceCategory,
    patient: dict[str, str],
    requester: dict[str, str],
    performer: dict[str, str],
) -> dict[str, Any]:
    code = concept(v.SYSTEM_URI[line.code_system], line.code)
    period = {"start": line.service_start.isoformat(), "end": line.service_end.isoformat()}
    base: dict[str, Any] = {"id": rid, "status": "active", "intent": "order", "subject": patient}
    if line.code_system is CodeSystem.NDC:
        return {
            "resourceType": "MedicationRequest",
            **base,
            "meta": {"profile": [v.PROFILE_BY_REQUEST_TYPE["MedicationRequest"]]},
            "medicationCodeableConcept": code,
            "requester": requester,
            "dispenseRequest": {
                "quantity": {"value": json_number(line.units)},
                "validityPeriod": period,
            },
        }
    if category is ServiceCategory.DME:
        return {
            "resourceType": "DeviceRequest",
            **base,
            "meta": {"profile": [v.PROFILE_BY_REQUEST_TYPE["DeviceRequest"]]},
            "codeCodeableConcept": code,
            "occurrencePeriod": period,
            "requester": requester,
            "performer": performer,
        }
    return {
        "resourceType": "ServiceRequest",
        **base,
        "meta": {"profile": [v.PROFILE_BY_REQUEST_TYPE["ServiceRequest"]]},
        "code": code,
        "quantityQuantity": {"value": json_number(line.units)},
        "occurrencePeriod": period,
        "requester": requester,
        "performer": [performer],
    }


def _item(
    sequence: int, line: ServiceLine, certification_type: str, order_url: str, diagnoses: list[str]
) -> dict[str, Any]:
    system = v.SYSTEM_URI[line.code_system]
    item: dict[str, Any] = {
        "extension": [
            {
                "url": v.EXT_CERTIFICATION_TYPE,
                "valueCodeableConcept": concept(v.X12_CERTIFICATION_TYPE, certification_type),
            },
            {"url": v.EXT_REQUESTED_SERVICE, "valueReference": {"reference": order_url}},
        ],
        "sequence": sequence,
        "careTeamSequence": [1],
        "diagnosisSequence": [diagnoses.index(d) + 1 for d in line.diagnoses],
        "productOrService": concept(system, line.code),
        "servicedPeriod": {
            "start": line.service_start.isoformat(),
            "end": line.service_end.isoformat(),
        },
        "locationCodeableConcept": concept(v.PLACE_OF_SERVICE, line.place_of_service),
        "quantity": {"value": json_number(line.units)},
        "net": {"value": json_number(line.estimated_amount), "currency": "USD"},
    }
    if line.modifiers:
        item["modifier"] = [concept(system, m) for m in line.modifiers]
    return item


# --- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderFacts:
    """A provider as a PAS Bundle names it."""

    location: str
    npi: str | None
    name: str | None
    kind: str
    taxonomy: str | None


@dataclass(frozen=True)
class ClaimItem:
    """One ``Claim.item``: the service requested, as sent (codes not yet checked)."""

    location: str
    sequence: int
    code_system_uri: str | None
    code: str | None
    code_system: CodeSystem | None
    modifiers: tuple[str, ...]
    quantity: Decimal | None
    service_start: date | None
    service_end: date | None
    place_of_service: str | None
    diagnoses: tuple[str, ...]
    net: Decimal | None
    certification_type: str | None
    requested_service_type: str | None
    cancelled: bool


@dataclass(frozen=True)
class PasClaimRequest:
    """What a PAS request Bundle says, ready for adjudication or conversion to the domain."""

    bundle_identifier: str | None
    timestamp: datetime | None
    claim_identifier: str | None
    replaces_claim: str | None
    urgency: Urgency
    patient_location: str
    patient_id: str | None
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    sex: Sex | None
    member_id: str | None
    coverage_location: str
    payer_id: str | None
    plan: str | None
    line_of_business: LineOfBusiness | None
    group_number: str | None
    plan_state: str | None
    coverage_start: date | None
    coverage_end: date | None
    requesting_provider: ProviderFacts | None
    servicing_provider: ProviderFacts | None
    items: tuple[ClaimItem, ...]
    questionnaire_responses: tuple[dict[str, Any], ...]
    legacy: bool
    issues: tuple[FhirIssue, ...] = field(default=())

    def to_authorization_request(
        self,
        *,
        organization_id: str,
        category: ServiceCategory,
        at: datetime,
        authorization_id: str | None = None,
    ) -> AuthorizationRequest:
        """The domain request this Claim asks for; raises ``FhirCodecError`` naming each bad field.

        ``category`` is precert's service category (PAS has no such element), and
        ``authorization_id`` defaults to the Claim's precert identifier.
        """
        problems: list[FhirIssue] = []

        def build(
            location: str, fields_to_paths: Mapping[str, str], factory: Any, **kwargs: Any
        ) -> Any:
            try:
                return factory(**kwargs)
            except ValidationError as exc:
                for e in exc.errors():
                    name = str(e["loc"][0]) if e["loc"] else ""
                    suffix = fields_to_paths.get(name, "")
                    problems.append(error(location + suffix, f"{name}: {e['msg']}", "value"))
                return None

        patient = build(
            self.patient_location,
            {
                "id": ".identifier",
                "birth_date": ".birthDate",
                "sex": ".gender",
                "member_id": ".identifier",
            },
            Patient,
            id=self.patient_id or self.member_id,
            given_name=self.given_name,
            family_name=self.family_name,
            birth_date=self.birth_date,
            sex=self.sex,
            member_id=self.member_id,
        )
        coverage = build(
            self.coverage_location,
            {
                "payer_id": ".payor",
                "plan": ".class",
                "line_of_business": ".type",
                "state": ".extension",
                "effective_from": ".period.start",
                "effective_to": ".period.end",
                "member_id": ".subscriberId",
            },
            Coverage,
            payer_id=self.payer_id,
            plan=self.plan,
            line_of_business=self.line_of_business,
            member_id=self.member_id,
            group_number=self.group_number,
            state=self.plan_state,
            effective_from=self.coverage_start,
            effective_to=self.coverage_end,
        )
        providers: list[Provider | None] = []
        for facts, where in (
            (self.requesting_provider, "Bundle.entry[0].resource.provider"),
            (self.servicing_provider, "Bundle.entry[0].resource.careTeam[0].provider"),
        ):
            if facts is None:
                problems.append(error(where, "the provider is missing", "required"))
                providers.append(None)
                continue
            providers.append(
                build(
                    facts.location,
                    {"npi": ".identifier", "name": ".name", "taxonomy": ".qualification"},
                    Provider,
                    npi=facts.npi,
                    name=facts.name,
                    kind=facts.kind,
                    taxonomy=facts.taxonomy,
                )
            )
        lines = []
        for item in self.items:
            if item.code_system is None:
                problems.append(
                    error(
                        f"{item.location}.productOrService",
                        f"code system {item.code_system_uri!r} is not CPT, HCPCS or NDC",
                        "code-invalid",
                    )
                )
                continue
            lines.append(
                build(
                    item.location,
                    {
                        "code": ".productOrService",
                        "modifiers": ".modifier",
                        "units": ".quantity",
                        "service_start": ".servicedPeriod",
                        "service_end": ".servicedPeriod",
                        "place_of_service": ".locationCodeableConcept",
                        "diagnoses": ".diagnosisSequence",
                        "estimated_amount": ".net",
                    },
                    ServiceLine,
                    code_system=item.code_system,
                    code=item.code,
                    modifiers=item.modifiers,
                    units=item.quantity,
                    service_start=item.service_start,
                    service_end=item.service_end,
                    place_of_service=item.place_of_service,
                    diagnoses=item.diagnoses,
                    estimated_amount=item.net if item.net is not None else Decimal(0),
                )
            )
        raise_on_errors(problems)
        fields: dict[str, Any] = {}
        ident = authorization_id or self.claim_identifier
        if ident:
            fields["id"] = ident
        try:
            return AuthorizationRequest(
                organization_id=organization_id,
                patient=patient,
                coverage=coverage,
                requesting_provider=providers[0],
                servicing_provider=providers[1],
                service_lines=tuple(lines),
                urgency=self.urgency,
                category=category,
                created_at=at,
                updated_at=at,
                **fields,
            )
        except ValidationError as exc:
            raise FhirCodecError(
                [error("Bundle.entry[0].resource", f"{e['loc']}: {e['msg']}") for e in exc.errors()]
            ) from None


def parse_request_bundle(data: object, *, allow_legacy: bool = True) -> PasClaimRequest:
    """Read a PAS request Bundle (JSON); raises ``FhirCodecError`` listing every rule broken.

    With ``allow_legacy`` a Bundle that declares no PAS profile is read with warnings
    (in ``issues``) instead of failing on the rules legacy PAS did not have.
    """
    issues, legacy = check_bundle(data, BundleKind.REQUEST, allow_legacy=allow_legacy)
    raise_on_errors(issues)
    bundle = as_dict(data) or {}
    index = BundleIndex.of(bundle)
    claim_entry = index.entries[0]
    claim = claim_entry.resource
    where = claim_entry.location

    def follow(ref_holder: object) -> Entry | None:
        ref = as_str((as_dict(ref_holder) or {}).get("reference"))
        return index.resolve(ref, claim_entry) if ref else None

    patient_entry = follow(claim.get("patient"))
    patient = patient_entry.resource if patient_entry else {}
    insurance = [i for i in as_list(claim.get("insurance")) if isinstance(i, dict)]
    focal = next(
        (i for i in insurance if i.get("focal") is True), insurance[0] if insurance else {}
    )
    coverage_entry = follow(focal.get("coverage"))
    coverage = coverage_entry.resource if coverage_entry else {}
    payors = [p for p in as_list(coverage.get("payor")) if isinstance(p, dict)]
    insurer_entry = follow(claim.get("insurer")) or (follow(payors[0]) if payors else None)
    requester_entry = follow(claim.get("provider"))
    care_team = [c for c in as_list(claim.get("careTeam")) if isinstance(c, dict)]
    servicer_entry = follow(care_team[0].get("provider")) if care_team else requester_entry

    diagnosis_by_sequence: dict[int, str] = {}
    for d in as_list(claim.get("diagnosis")):
        if not isinstance(d, dict) or not isinstance(d.get("sequence"), int):
            continue
        coded = first_code(d.get("diagnosisCodeableConcept"))
        if coded is None:
            condition = follow(d.get("diagnosisReference"))
            coded = first_code(condition.resource.get("code")) if condition else None
        if coded is not None:
            diagnosis_by_sequence[d["sequence"]] = coded[1]

    items = tuple(
        _read_item(f"{where}.item[{i}]", raw, diagnosis_by_sequence, index, claim_entry, issues)
        for i, raw in enumerate(as_list(claim.get("item")))
        if isinstance(raw, dict)
    )
    questionnaires = tuple(
        dict(e.resource)
        for info in as_list(claim.get("supportingInfo"))
        if isinstance(info, dict)
        and (e := follow(info.get("valueReference"))) is not None
        and e.resource.get("resourceType") == "QuestionnaireResponse"
    )
    priority = first_code(claim.get("priority"))
    urgency = (
        v.URGENCY_BY_PRIORITY.get(priority[1], Urgency.STANDARD) if priority else Urgency.STANDARD
    )
    related = [r for r in as_list(claim.get("related")) if isinstance(r, dict)]
    replaces = None
    if related:
        claim_ref = as_dict(related[0].get("claim")) or {}
        replaces = as_str((as_dict(claim_ref.get("identifier")) or {}).get("value")) or as_str(
            claim_ref.get("reference")
        )
        if replaces is None and as_str(related[0].get("id")):
            # The reference implementation put the replaced Claim's id in related.id.
            replaces = related[0]["id"]
            issues.append(warning(f"{where}.related[0].id", "replaced Claim named by element id"))
    patient_ids = _identifiers(patient)
    sex = as_str(patient.get("gender"))
    period = as_dict(coverage.get("period")) or {}
    classes = {
        code[1]: as_str(c.get("value"))
        for c in as_list(coverage.get("class"))
        if isinstance(c, dict) and (code := first_code(c.get("type"))) is not None
    }
    lob = first_code(coverage.get("type"), [v.PRECERT_LINE_OF_BUSINESS])
    state_ext = extension(coverage, v.PRECERT_EXT_PLAN_STATE)
    bundle_ident = as_dict(bundle.get("identifier")) or {}
    claim_ident = next((i for i in as_list(claim.get("identifier")) if isinstance(i, dict)), {})
    return PasClaimRequest(
        bundle_identifier=as_str(bundle_ident.get("value")),
        timestamp=parse_instant(bundle.get("timestamp")),
        claim_identifier=as_str(claim_ident.get("value")),
        replaces_claim=replaces,
        urgency=urgency,
        patient_location=patient_entry.location if patient_entry else f"{where}.patient",
        patient_id=patient_ids.get("MR"),
        given_name=next(iter(_names(patient, "given")), None),
        family_name=next(iter(_names(patient, "family")), None),
        birth_date=parse_date(patient.get("birthDate")),
        sex=Sex(sex) if sex in {s.value for s in Sex} else None,
        member_id=as_str(coverage.get("subscriberId"))
        or patient_ids.get("MB")
        or patient_ids.get(""),
        coverage_location=coverage_entry.location if coverage_entry else f"{where}.insurance",
        payer_id=_identifiers(insurer_entry.resource).get("") if insurer_entry else None,
        plan=classes.get("plan"),
        line_of_business=LineOfBusiness(lob[1])
        if lob and lob[1] in {x.value for x in LineOfBusiness}
        else None,
        group_number=classes.get("group"),
        plan_state=as_str(state_ext.get("valueCode")) if state_ext else None,
        coverage_start=parse_date(period.get("start")),
        coverage_end=parse_date(period.get("end")),
        requesting_provider=_provider_facts(requester_entry),
        servicing_provider=_provider_facts(servicer_entry),
        items=items,
        questionnaire_responses=questionnaires,
        legacy=legacy,
        issues=tuple(issues),
    )


def _identifiers(resource: Mapping[str, Any]) -> dict[str, str]:
    """Identifier values by v2-0203 type code (``""`` for the first untyped one)."""
    out: dict[str, str] = {}
    for ident in as_list(resource.get("identifier")):
        if not isinstance(ident, dict) or not as_str(ident.get("value")):
            continue
        typed = first_code(ident.get("type"))
        out.setdefault(typed[1] if typed else "", ident["value"])
    return out


def _names(resource: Mapping[str, Any], part: str) -> list[str]:
    values: list[str] = []
    for name in as_list(resource.get("name")):
        if isinstance(name, dict):
            value = name.get(part)
            values.extend(
                x
                for x in (value if isinstance(value, list) else [value])
                if isinstance(x, str) and x
            )
    return values


def _provider_facts(entry: Entry | None) -> ProviderFacts | None:
    if entry is None:
        return None
    resource = entry.resource
    npi = next(
        (
            i["value"]
            for i in as_list(resource.get("identifier"))
            if isinstance(i, dict) and i.get("system") == v.NPI and as_str(i.get("value"))
        ),
        None,
    )
    organization = resource.get("resourceType") == "Organization"
    name = as_str(resource.get("name")) if organization else None
    if not organization:
        names = [n for n in as_list(resource.get("name")) if isinstance(n, dict)]
        if names:
            given = " ".join(g for g in as_list(names[0].get("given")) if isinstance(g, str))
            name = (
                as_str(names[0].get("text"))
                or " ".join(p for p in (given, as_str(names[0].get("family")) or "") if p)
                or None
            )
    taxonomy_sources = (
        as_list(resource.get("type"))
        if organization
        else [q.get("code") for q in as_list(resource.get("qualification")) if isinstance(q, dict)]
    )
    taxonomy = next(
        (c[1] for src in taxonomy_sources if (c := first_code(src, [v.NUCC_TAXONOMY])) is not None),
        None,
    )
    return ProviderFacts(
        entry.location, npi, name, "organization" if organization else "individual", taxonomy
    )


def _read_item(
    where: str,
    item: dict[str, Any],
    diagnosis_by_sequence: Mapping[int, str],
    index: BundleIndex,
    claim_entry: Entry,
    issues: list[FhirIssue],
) -> ClaimItem:
    coded = first_code(item.get("productOrService"))
    system_uri, code = coded if coded else (None, None)
    code_system = v.SYSTEM_BY_URI.get(system_uri or "")
    if code_system is CodeSystem.CPT and code and code[:1].isalpha():
        # Legacy senders file HCPCS Level II codes (a letter and 4 digits) under the CPT system.
        code_system = CodeSystem.HCPCS
        issues.append(
            warning(
                f"{where}.productOrService", f"{code} is a HCPCS code sent under the CPT system"
            )
        )
    period = as_dict(item.get("servicedPeriod")) or {}
    start = parse_date(period.get("start")) or parse_date(item.get("servicedDate"))
    end = parse_date(period.get("end")) or start
    diagnoses = []
    for n in as_list(item.get("diagnosisSequence")):
        if isinstance(n, int) and n in diagnosis_by_sequence:
            diagnoses.append(diagnosis_by_sequence[n])
        else:
            issues.append(
                error(
                    f"{where}.diagnosisSequence",
                    f"no Claim.diagnosis with sequence {n!r}",
                    "not-found",
                )
            )
    cert = extension(item, v.EXT_CERTIFICATION_TYPE)
    cert_code = first_code(cert.get("valueCodeableConcept")) if cert else None
    requested = extension(item, v.EXT_REQUESTED_SERVICE)
    requested_entry = (
        index.resolve(
            as_str((as_dict(requested.get("valueReference")) or {}).get("reference")) or "",
            claim_entry,
        )
        if requested
        else None
    )
    cancelled = any(
        isinstance(m, dict)
        and m.get("url") in (v.EXT_INFO_CANCELLED, v.EXT_ITEM_CANCELLED_LEGACY)
        and m.get("valueBoolean") is True
        for m in as_list(item.get("modifierExtension"))
    )
    location = first_code(item.get("locationCodeableConcept"))
    quantity = as_dict(item.get("quantity")) or {}
    net = as_dict(item.get("net")) or {}
    sequence = item.get("sequence")
    return ClaimItem(
        location=where,
        sequence=sequence if isinstance(sequence, int) else 0,
        code_system_uri=system_uri,
        code=code,
        code_system=code_system,
        modifiers=tuple(
            c for m in as_list(item.get("modifier")) if (cc := first_code(m)) for c in [cc[1]]
        ),
        quantity=parse_decimal(quantity.get("value")),
        service_start=start,
        service_end=end,
        place_of_service=location[1] if location else None,
        diagnoses=tuple(diagnoses),
        net=parse_decimal(net.get("value")),
        certification_type=cert_code[1] if cert_code else None,
        requested_service_type=as_str(requested_entry.resource.get("resourceType"))
        if requested_entry
        else None,
        cancelled=cancelled,
    )
