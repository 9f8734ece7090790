"""Every published X12 fixture has an expected outcome (see ../shared/fixtures/x12/SOURCES.md).

Tolerance policy (docs/x12.md): BOM, whitespace after terminators, ISA12 00401/00405
headers, GS08 disagreeing with ST03 and the pre-addenda X279/X231 conventions are
warnings; everything else the TR3s forbid is an error that rejects the set or group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from precert.interop.x12 import parse
from precert.interop.x12.transactions import Acknowledgment, Eligibility, HealthCareReview, read
from precert.interop.x12.writer import Envelope, envelope, serialize


@dataclass(frozen=True)
class Expected:
    """What a fixture must produce."""

    set_id: str
    valid: bool
    # (level, code) pairs that must be among the error-level problems.
    errors: tuple[tuple[str, str], ...] = ()
    actions: tuple[str, ...] = ()  # HCR01 values, event then services, in order
    rejections: tuple[str, ...] = ()  # AAA03 values in document order
    benefits: int = -1  # number of EB segments, -1 = not checked
    warnings: tuple[str, ...] = field(default=())  # interchange/transaction warning codes


CORPUS: dict[str, Expected] = {
    "DHS_Wisconsin_Sample.txt": Expected("999", False, (("element", "4"),)),
    "Example1_IG.txt": Expected("270", True, warnings=("017",)),
    "Example1_IG_0x1D.txt": Expected("270", True, warnings=("017",)),
    "Example_3_1_1_Request.txt": Expected("278", True, warnings=("017",)),
    "Example_3_1_2.txt": Expected(
        "271",
        False,
        (("group", "1"), ("transaction", "4"), ("element", "I6")),
        rejections=("80", "79", "79", "80", "41", "41", "42", "51", "60"),
        benefits=6,
    ),
    "Example_3_1_3.txt": Expected(
        "271", False, (("group", "1"), ("element", "7")), rejections=("50",)
    ),
    "Example_3_3_2_Response.txt": Expected(
        "278", False, (("element", "5"), ("element", "2"), ("element", "4")), actions=("A4",)
    ),
    "Example_ErrorWithoutBenefitInfo.txt": Expected(
        "271",
        False,
        (("group", "1"), ("element", "I6")),
        rejections=("80", "79", "79", "80", "41", "41", "42"),
        benefits=0,
    ),
    "FromImplementationGuide_1.txt": Expected("275", False, (("group", "1"), ("transaction", "1"))),
    "From_georgiosd.txt": Expected("271", True, rejections=("42",), benefits=1),
    "ValidationForReceiverName.txt": Expected(
        "271", False, (("group", "1"), ("transaction", "4")), rejections=("43", "44", "45", "47")
    ),
    "ValidationForSubscriberName.txt": Expected(
        "271",
        False,
        (("group", "1"), ("transaction", "4"), ("element", "1")),
        rejections=("72", "75"),
    ),
    "ValidationOnAll.txt": Expected(
        "271",
        False,
        (("group", "1"), ("transaction", "4"), ("element", "7")),
        rejections=("79", "42", "79", "80", "41", "41", "42", "35", "52", "60"),
    ),
    "X217-admission-request-for-review.edi": Expected("278", False, (("transaction", "4"),)),
    "X217-admission-response-to-request-for-review.edi": Expected(
        "278", True, actions=("A6", "A1")
    ),
    "X217-emergency-admission-request-for-review.edi": Expected("278", True),
    "X217-emergency-admission-response-to-request-for-review.edi": Expected(
        "278", True, actions=("A4",)
    ),
    "X217-referral-request-for-review.edi": Expected("278", True),
    "X217-referral-response-to-request-for-review.edi": Expected("278", True, actions=("A1",)),
    "X217-request-for-medical-services-reservation.edi": Expected("278", True),
    "X217-response-to-medical-services-reservation.edi": Expected("278", True, actions=("A1",)),
    "aurelian-x217-error-response.edi": Expected(
        "278", False, (("element", "1"), ("segment", "6"), ("transaction", "18"), ("segment", "I7"))
    ),
    "aurelian-x217-inpatient-response-denied.edi": Expected(
        "278", False, (("element", "1"), ("segment", "6"), ("transaction", "18"), ("segment", "I7"))
    ),
    "dependent-health-benefit-check.270": Expected("270", True),
    "dependent-health-benefit-check.271": Expected("271", True, benefits=5),
    "subscriber-health-benefit-check-error.271": Expected(
        "271", False, (("transaction", "3"),), rejections=("50",)
    ),
    "subscriber-health-benefit-check.270": Expected("270", True),
    "subscriber-health-benefit-check.271": Expected("271", True, benefits=5),
}


def test_every_fixture_has_an_expectation(x12_fixtures: Path) -> None:
    """The table covers exactly the data files in the shared corpus."""
    files = {p.name for p in x12_fixtures.iterdir() if p.name != "SOURCES.md"}
    assert files == set(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_fixture_outcome(name: str, x12_fixtures: Path) -> None:
    """Each fixture parses to its transaction type and decisions, or fails with its error."""
    expected = CORPUS[name]
    document = parse((x12_fixtures / name).read_bytes())
    transactions = document.transactions
    assert [t.set_id for t in transactions] == [expected.set_id]
    assert document.valid is expected.valid, [p.describe() for p in document.rejections]
    found = {(e.level.value, e.code) for e in document.rejections}
    missing = [pair for pair in expected.errors if pair not in found]
    assert not missing, f"missing {missing}; found {sorted(found)}"
    warned = {w.interchange_code for w in document.warnings}
    assert set(expected.warnings) <= warned
    if expected.set_id == "275":
        return
    typed = read(transactions[0])
    if isinstance(typed, HealthCareReview):
        actions = tuple(
            o.action
            for e in typed.events
            for o in (e.outcome, *(s.outcome for s in e.services))
            if o
        )
        assert actions == expected.actions
    elif isinstance(typed, Eligibility):
        members = [m for m in (typed.subscriber, typed.dependent) if m is not None]
        reasons = (
            [r.reason for r in typed.rejections]
            + [r.reason for r in typed.source.rejections]
            + [r.reason for r in typed.receiver.rejections]
            + [r.reason for m in members for r in m.party.rejections]
            + [r.reason for m in members for b in m.benefits for r in b.rejections]
        )
        assert sorted(reasons) == sorted(expected.rejections)
        if expected.benefits >= 0:
            assert sum(len(m.benefits) for m in members) == expected.benefits
    else:
        assert isinstance(typed, Acknowledgment)
        assert [s.status for s in typed.sets] == ["A", "R", "R"]
        assert typed.sets[1].segments[0].elements[0].code == "1"


@pytest.mark.parametrize("name", sorted(n for n, e in CORPUS.items() if e.set_id != "275"))
def test_parse_generate_parse_is_stable(name: str, x12_fixtures: Path) -> None:
    """Regenerating each corpus set and parsing it again gives the same loop tree."""
    first = parse((x12_fixtures / name).read_bytes())
    transaction = first.transactions[0]
    text = envelope(
        [(transaction.set_id, serialize(transaction))],
        Envelope("A", "B", "20240601", "0930"),
        first.interchanges[0].delimiters,
    )
    again = parse(text).transactions[0]
    assert again.root.signature() == transaction.root.signature()
    assert read(again) == read(transaction)
