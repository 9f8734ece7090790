"""Every PAS file of the shared FHIR corpus, sent to a real sandbox payer over loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from precert.adapters.payers.fhir import answer_from_bundle
from precert.domain.authorization import Decision
from precert.interop.fhir.pas import parse_response_bundle
from precert.interop.x12 import TransactionSet, parse
from precert.interop.x12.mapping import coverage_from_271, determinations_from_review
from precert.interop.x12.transactions import Acknowledgment, Eligibility, HealthCareReview, read
from precert.sandbox.app import SandboxConfig
from precert.sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """A policy-scenario sandbox deciding pended items after 0.2 s."""
    db = tmp_path_factory.mktemp("fixtures") / "sandbox.db"
    config = SandboxConfig(database_url=f"sqlite:///{db}", decision_delay_seconds=0.2)
    with SandboxServer(config) as server:
        yield server


def _post(sandbox: SandboxServer, operation: str, body: bytes, key: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/fhir+json"}
    if key:
        headers["Idempotency-Key"] = key
    return httpx.post(f"{sandbox.fhir_base}/Claim/{operation}", content=body, headers=headers)


@pytest.mark.parametrize(
    ("name", "decisions"),
    [
        ("conformant_pas_bundle_v110.json", {1: Decision.PENDED}),
        ("conformant_pas_bundle_v110_multiple_items.json", {1: Decision.PENDED}),
        ("bundle-prior-auth.json", {}),
        ("ClaimUpdate1.json", {2: Decision.PENDED}),
    ],
)
def test_request_bundles_are_answered(
    sandbox: SandboxServer, fhir_fixtures: Path, name: str, decisions: dict[int, Decision]
) -> None:
    """Each request Bundle is accepted and answered with a PAS response precert can read."""
    answer = _post(sandbox, "$submit", (fhir_fixtures / name).read_bytes(), f"fixture-{name}")
    assert answer.status_code == 200, answer.text
    response = parse_response_bundle(answer.json())
    found = {d.item_sequence: d.determination.decision for d in response.items if d.determination}
    assert found == decisions
    if name == "ClaimUpdate1.json":  # the update's first item is cancelled
        assert [d.item_sequence for d in response.items if d.cancelled] == [1]


@pytest.mark.parametrize(
    ("name", "location"),
    [
        (
            "missing_referenced_resource_request_bundle.json",
            "Bundle.entry[0].resource.careTeam[0].provider",
        ),
        ("nonconformant_pas_bundle_v110.json", "Bundle.entry"),
    ],
)
def test_broken_bundles_get_a_400_outcome_with_the_fhirpath(
    sandbox: SandboxServer, fhir_fixtures: Path, name: str, location: str
) -> None:
    """The two broken Bundles are refused with an OperationOutcome naming the exact element."""
    answer = _post(sandbox, "$submit", (fhir_fixtures / name).read_bytes(), None)
    assert answer.status_code == 400
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome"
    assert [i["expression"] for i in body["issue"] if i["severity"] == "error"] == [[location]]


def test_inquiry_returns_the_later_decision(sandbox: SandboxServer, fhir_fixtures: Path) -> None:
    """The inquiry fixture finds the submitted Claim and, once reviewed, its approval."""
    submitted = (fhir_fixtures / "conformant_pas_bundle_v110.json").read_bytes()
    _post(sandbox, "$submit", submitted, "fixture-conformant_pas_bundle_v110.json")
    inquiry = (fhir_fixtures / "conformant_pas_inquire_bundle_v110.json").read_bytes()
    deadline = time.monotonic() + 5
    decision = None
    while time.monotonic() < deadline:
        answer = _post(sandbox, "$inquire", inquiry, None)
        assert answer.status_code == 200, answer.text
        decision = answer_from_bundle(answer.json()).determinations[0].decision
        if decision is Decision.APPROVED:
            break
        time.sleep(0.1)
    assert decision is Decision.APPROVED


def test_a_key_reused_for_another_request_is_refused(
    sandbox: SandboxServer, fhir_fixtures: Path
) -> None:
    """The two conformant fixtures share a Bundle identifier: the second is a 422, not a claim."""
    first = (fhir_fixtures / "conformant_pas_bundle_v110.json").read_bytes()
    second = (fhir_fixtures / "conformant_pas_bundle_v110_multiple_items.json").read_bytes()
    assert _post(sandbox, "$submit", first, "shared-key").status_code == 200
    refused = _post(sandbox, "$submit", second, "shared-key")
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["code"] == "duplicate"


def _x12(sandbox: SandboxServer, path: str, body: bytes) -> list[TransactionSet]:
    """POST an X12 body; the transaction sets of the answer, 999 first."""
    answer = httpx.post(f"{sandbox.base_url}/x12/{path}", content=body)
    assert answer.status_code == 200, answer.text
    return parse(answer.content).transactions


@pytest.mark.parametrize(
    "name", ["subscriber-health-benefit-check.270", "dependent-health-benefit-check.270"]
)
def test_270_fixtures_are_answered_with_a_271(
    sandbox: SandboxServer, x12_fixtures: Path, name: str
) -> None:
    """Each published 270 gets an accepting 999 and a 271 with active coverage this year."""
    sets = _x12(sandbox, "270", (x12_fixtures / name).read_bytes())
    assert [t.set_id for t in sets] == ["999", "271"]
    ack = read(sets[0])
    assert isinstance(ack, Acknowledgment)
    assert ack.status == "A"
    eligibility = read(sets[1])
    assert isinstance(eligibility, Eligibility)
    facts = coverage_from_271(eligibility)
    assert facts.active is True
    assert facts.plan_begin is not None
    assert facts.plan_begin.year == time.gmtime().tm_year


@pytest.mark.parametrize(
    "name",
    [
        "X217-referral-request-for-review.edi",
        "X217-emergency-admission-request-for-review.edi",
        "Example_3_1_1_Request.txt",
    ],
)
def test_278_fixtures_with_non_npi_requesters_get_aaa_33(
    sandbox: SandboxServer, x12_fixtures: Path, name: str
) -> None:
    """The TR3 examples' requesters carry 9-digit ids, not NPIs: 999 A, then AAA 33 in 2010C."""
    sets = _x12(sandbox, "278", (x12_fixtures / name).read_bytes())
    assert [t.set_id for t in sets] == ["999", "278"]
    assert all(t.accepted for t in sets)
    review = read(sets[1])
    assert isinstance(review, HealthCareReview)
    rejections = determinations_from_review(review).rejections
    assert [(r.loop, r.reason_code, r.follow_up_code) for r in rejections] == [("2010C", "33", "C")]


def test_278_response_fixture_is_not_a_request(sandbox: SandboxServer, x12_fixtures: Path) -> None:
    """A 278 response sent to the request endpoint is refused with a 400 naming the problem."""
    body = (x12_fixtures / "X217-referral-response-to-request-for-review.edi").read_bytes()
    answer = httpx.post(f"{sandbox.base_url}/x12/278", content=body)
    assert answer.status_code == 400
    assert "278 request" in answer.text
