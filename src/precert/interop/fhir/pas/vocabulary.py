"""Da Vinci PAS 2.2.1 vocabulary: profile and extension URLs, code systems, X12 code maps.

The facts were checked against the PAS IG sources (profiles, extensions, Bundle rules):
reviewAction is a complex extension on ``ClaimResponse.item.adjudication`` (also
``addItem.adjudication``) with sub-extensions ``code`` (url ``extension-reviewActionCode``,
X12 306 = HCR01), ``number``, ``reasonCode`` (HCR02) and ``secondSurgicalOpinionFlag``;
certificationType is X12 1322 (UM02); levelOfServiceCode X12 1338 (UM06).
"""

from __future__ import annotations

from collections.abc import Mapping

from precert.domain.authorization import Decision, Urgency
from precert.domain.codes import CodeSystem

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"

PROFILE_REQUEST_BUNDLE = PAS + "profile-pas-request-bundle"
PROFILE_INQUIRY_REQUEST_BUNDLE = PAS + "profile-pas-inquiry-request-bundle"
PROFILE_RESPONSE_BUNDLE = PAS + "profile-pas-response-bundle"
PROFILE_INQUIRY_RESPONSE_BUNDLE = PAS + "profile-pas-inquiry-response-bundle"
PROFILE_CLAIM = PAS + "profile-claim"
PROFILE_CLAIM_UPDATE = PAS + "profile-claim-update"
PROFILE_CLAIM_INQUIRY = PAS + "profile-claim-inquiry"
PROFILE_CLAIM_RESPONSE = PAS + "profile-claimresponse"
PROFILE_BENEFICIARY = PAS + "profile-beneficiary"
PROFILE_COVERAGE = PAS + "profile-coverage"
PROFILE_INSURER = PAS + "profile-insurer"
PROFILE_REQUESTOR = PAS + "profile-requestor"
PROFILE_PRACTITIONER = PAS + "profile-practitioner"
PROFILE_CONDITION = PAS + "profile-condition"
PROFILE_SUBSCRIPTION = PAS + "profile-subscription"
PROFILE_BY_REQUEST_TYPE: Mapping[str, str] = {
    "ServiceRequest": PAS + "profile-servicerequest",
    "DeviceRequest": PAS + "profile-devicerequest",
    "MedicationRequest": PAS + "profile-medicationrequest",
}
PAS_BUNDLE_PROFILES = frozenset(
    {
        PROFILE_REQUEST_BUNDLE,
        PROFILE_INQUIRY_REQUEST_BUNDLE,
        PROFILE_RESPONSE_BUNDLE,
        PROFILE_INQUIRY_RESPONSE_BUNDLE,
    }
)

EXT_CERTIFICATION_TYPE = PAS + "extension-certificationType"
EXT_LEVEL_OF_SERVICE = PAS + "extension-levelOfServiceCode"
EXT_REQUESTED_SERVICE = PAS + "extension-requestedService"
EXT_ITEM_TRACE_NUMBER = PAS + "extension-itemTraceNumber"
EXT_REVIEW_ACTION = PAS + "extension-reviewAction"
EXT_REVIEW_ACTION_CODE = PAS + "extension-reviewActionCode"
EXT_REVIEW_ACTION_REASON_LEGACY = PAS + "extension-reviewActionReason"
EXT_PREAUTH_ISSUE_DATE = PAS + "extension-itemPreAuthIssueDate"
EXT_PREAUTH_PERIOD = PAS + "extension-itemPreAuthPeriod"
EXT_AUTHORIZED_DETAIL = PAS + "extension-itemAuthorizedDetail"
EXT_ITEM_CANCELLED_LEGACY = PAS + "extension-itemCancelled"
EXT_INFO_CANCELLED = PAS + "modifierextension-infoCancelled"

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
PROFILE_BACKPORT_SUBSCRIPTION = BACKPORT + "backport-subscription"
PROFILE_BACKPORT_NOTIFICATION = BACKPORT + "backport-subscription-notification-r4"
PROFILE_BACKPORT_STATUS = BACKPORT + "backport-subscription-status-r4"
EXT_BACKPORT_FILTER = BACKPORT + "backport-filter-criteria"
EXT_BACKPORT_PAYLOAD = BACKPORT + "backport-payload-content"
PAS_SUBSCRIPTION_TOPIC = "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic"

# Code systems. X12 code systems appear with both schemes in published examples; we write
# https (PAS 2.2.1) and accept either.
X12 = "https://codesystem.x12.org/005010/"
X12_HTTP = "http://codesystem.x12.org/005010/"
X12_CERTIFICATION_TYPE = X12 + "1322"
X12_LEVEL_OF_SERVICE = X12 + "1338"
X12_REVIEW_ACTION = X12 + "306"
X12_ENTITY_CODE = X12 + "98"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
NDC = "http://hl7.org/fhir/sid/ndc"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
NUCC_TAXONOMY = "http://nucc.org/provider-taxonomy"
PLACE_OF_SERVICE = (
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
)
PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
MEMBER_ID_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
SUPPORTING_INFO_TYPE = "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASSupportingInfoType"

# precert's own identifier systems and extensions, for facts PAS has no element for.
PRECERT = "https://precert.dev/fhir/"
PRECERT_AUTHORIZATION_ID = PRECERT + "sid/authorization-id"
PRECERT_BUNDLE_ID = PRECERT + "sid/submission"
PRECERT_PATIENT_ID = PRECERT + "sid/patient-mrn"
PRECERT_PAYER_ID = PRECERT + "sid/payer-id"
PRECERT_LINE_OF_BUSINESS = PRECERT + "CodeSystem/line-of-business"
PRECERT_EXT_PLAN_STATE = PRECERT + "StructureDefinition/coverage-plan-state"

#: Code system URIs for each procedure code system, and the ones read as each.
SYSTEM_URI: Mapping[CodeSystem, str] = {
    CodeSystem.CPT: CPT,
    CodeSystem.HCPCS: HCPCS,
    CodeSystem.NDC: NDC,
}
SYSTEM_BY_URI: Mapping[str, CodeSystem] = {
    CPT: CodeSystem.CPT,
    HCPCS: CodeSystem.HCPCS,
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": CodeSystem.HCPCS,
    "urn:oid:2.16.840.1.113883.6.285": CodeSystem.HCPCS,
    NDC: CodeSystem.NDC,
}


class CertificationType:
    """X12 1322 certification type codes (UM02) that precert sends."""

    INITIAL = "I"
    CANCEL = "3"
    REVISED = "S"


#: X12 306 (HCR01) action codes and the decision each means. ``C`` (cancelled) is
#: handled separately: it is not a decision about the service.
REVIEW_ACTION_DECISION: Mapping[str, Decision] = {
    "A1": Decision.APPROVED,  # certified in total
    "A2": Decision.MODIFIED,  # certified, partial
    "A3": Decision.DENIED,  # not certified
    "A4": Decision.PENDED,  # pended
    "A6": Decision.MODIFIED,  # modified
    "CT": Decision.PENDED,  # contact payer: a person must act before there is a decision
    "NA": Decision.APPROVED,  # no action required: the service may go ahead
}
REVIEW_ACTION_CANCELLED = "C"
REVIEW_ACTION_DISPLAY: Mapping[str, str] = {
    "A1": "Certified in total",
    "A2": "Certified - partial",
    "A3": "Not Certified",
    "A4": "Pended",
    "A6": "Modified",
    "C": "Cancelled",
    "CT": "Contact Payer",
    "NA": "No Action Required",
}
#: The code precert sends for a decision when the determination names none.
DEFAULT_REVIEW_ACTION: Mapping[Decision, str] = {
    Decision.APPROVED: "A1",
    Decision.MODIFIED: "A6",
    Decision.DENIED: "A3",
    Decision.PENDED: "A4",
}

PRIORITY_BY_URGENCY: Mapping[Urgency, str] = {
    Urgency.STANDARD: "normal",
    Urgency.EXPEDITED: "stat",
}
URGENCY_BY_PRIORITY: Mapping[str, Urgency] = {
    "normal": Urgency.STANDARD,
    "deferred": Urgency.STANDARD,
    "stat": Urgency.EXPEDITED,
    "urgent": Urgency.EXPEDITED,
}
#: X12 1338 level of service: U urgent, E elective.
LEVEL_OF_SERVICE_BY_URGENCY: Mapping[Urgency, tuple[str, str]] = {
    Urgency.STANDARD: ("E", "Elective"),
    Urgency.EXPEDITED: ("U", "Urgent"),
}


def is_x12_system(system: str, element: str) -> bool:
    """Whether ``system`` is the X12 code system for data element ``element`` (either scheme)."""
    return system in (X12 + element, X12_HTTP + element)
