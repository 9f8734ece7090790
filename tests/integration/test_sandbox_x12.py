"""The X12 gateway's reading of clearinghouse replies, against the sandbox's real answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from precert.adapters.payers.x12 import control_number, interchange, read_reply
from precert.interop.x12.mapping import review_request
from precert.interop.x12.writer import write_278
from precert.ports import PayerRejected, PayerUnavailable
from precert.sandbox.server import SandboxServer
from tests.factories import draft
from tests.integration.test_submission import fast_sandbox

BROKEN_278 = (
    "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*NWH01          *260101*1200*^*"
    "00501*000000001*0*T*:~GS*HI*SUBMITTER*NWH01*20260101*1200*1*X*005010X217~"
    "ST*278*0001*005010X217~BHT*0007*13*REF1*20260101*1200~SE*99*0001~GE*1*1~"
    "IEA*1*000000001~"
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """A sandbox payer for this module."""
    with fast_sandbox(tmp_path_factory.mktemp("sandbox-x12-replies")) as server:
        yield server


def request_278(key: str) -> str:
    """A valid 278 request interchange for a test request, keyed ``key``."""
    request = draft(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    review = review_request(request, submitter_id="1234567893")._replace(reference=key)
    return interchange(
        "278",
        write_278(review),
        sender="1234567893",
        receiver="NWH01",
        key=key,
        at=request.created_at,
    )


def test_a_rejecting_999_is_a_final_refusal(sandbox: SandboxServer) -> None:
    """A reply whose 999 rejects the set raises PayerRejected with the IK5 and IK3 notes."""
    reply = httpx.post(f"{sandbox.base_url}/x12/278", content=BROKEN_278).content
    with pytest.raises(PayerRejected) as caught:
        read_reply(reply, "278")
    assert caught.value.code == "999"
    assert any("IK5 R" in p for p in caught.value.problems)


def test_a_cut_reply_is_transient(sandbox: SandboxServer) -> None:
    """A reply cut inside the 278 response (after an accepting 999) is retryable."""
    reply = httpx.post(f"{sandbox.base_url}/x12/278", content=request_278("cut-1")).content
    assert read_reply(reply, "278").set_id == "278"
    with pytest.raises(PayerUnavailable):
        read_reply(reply[: len(reply) - 40], "278")


def test_the_same_bht03_is_one_case(sandbox: SandboxServer) -> None:
    """Two receipts of one BHT03 store one case: the second is a replay."""
    body = request_278("same-key-1")
    first = httpx.post(f"{sandbox.base_url}/x12/278", content=body)
    second = httpx.post(f"{sandbox.base_url}/x12/278", content=body)
    assert first.content.split(b"~IEA")[1:] == second.content.split(b"~IEA")[1:]
    claims = [
        c
        for c in httpx.get(f"{sandbox.base_url}/sandbox/claims").json()
        if "same-key-1" in c["key"]
    ]
    assert [[r[2] for r in c["receipts"]] for c in claims] == [["", "replay"]]


def test_control_numbers_follow_the_key() -> None:
    """The interchange control number is fixed by the key and fits ISA13's nine digits."""
    assert control_number("k") == control_number("k")
    assert control_number("k") != control_number("l")
    assert 0 < control_number("k") < 1_000_000_000
