"""Da Vinci PAS 2.2.1 codec: request and response Bundles, rules, subscriptions (pure)."""

from precert.interop.fhir.common import FhirCodecError, FhirIssue, Severity, operation_outcome
from precert.interop.fhir.pas.request import (
    ClaimItem,
    PasClaimRequest,
    ProviderFacts,
    build_cancel_bundle,
    build_request_bundle,
    build_update_bundle,
    parse_request_bundle,
)
from precert.interop.fhir.pas.response import (
    ItemDecision,
    PasResponse,
    build_response_bundle,
    parse_response_bundle,
)
from precert.interop.fhir.pas.rules import BundleKind, check_bundle
from precert.interop.fhir.pas.subscription import (
    PasNotification,
    build_subscription,
    parse_notification,
)
from precert.interop.fhir.pas.vocabulary import CertificationType

__all__ = [
    "BundleKind",
    "CertificationType",
    "ClaimItem",
    "FhirCodecError",
    "FhirIssue",
    "ItemDecision",
    "PasClaimRequest",
    "PasNotification",
    "PasResponse",
    "ProviderFacts",
    "Severity",
    "build_cancel_bundle",
    "build_request_bundle",
    "build_response_bundle",
    "build_subscription",
    "build_update_bundle",
    "check_bundle",
    "operation_outcome",
    "parse_notification",
    "parse_request_bundle",
    "parse_response_bundle",
]
