"""Tokenizer, envelope checks, error shape, writer and 999 generation."""

from __future__ import annotations

from pathlib import Path

import pytest

from precert.interop.x12 import Level, X12Error, parse, parse_strict
from precert.interop.x12.parser import read_delimiters
from precert.interop.x12.transactions import Acknowledgment, read
from precert.interop.x12.writer import (
    Envelope,
    acknowledge,
    envelope,
    serialize,
    wrap_set,
    write_999,
)

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240601*0930*^*00501"
    "*000000001*0*T*:~"
)
BODY = [
    "GS*HS*SENDER*RECEIVER*20240601*0930*1*X*005010X279A1",
    "ST*270*0001*005010X279A1",
    "BHT*0022*13*REF1*20240601*0930",
    "HL*1**20*1",
    "NM1*PR*2*PAYER*****PI*12345",
    "HL*2*1*21*1",
    "NM1*1P*2*CLINIC*****XX*1234567893",
    "HL*3*2*22*0",
    "TRN*1*TRACE1*1999999999",
    "NM1*IL*1*DOE*JANE****MI*W1",
    "DMG*D8*19800115*F",
    "DTP*291*D8*20240601",
    "EQ*30",
    "SE*13*0001",
    "GE*1*1",
    "IEA*1*000000001",
]


def _doc(body: list[str], terminator: str = "~", joiner: str = "") -> str:
    return ISA.replace("~", terminator) + joiner + (terminator + joiner).join(body) + terminator


def test_valid_270_parses_clean() -> None:
    """A minimal conformant 270 yields one accepted set and no problems."""
    document = parse(_doc(BODY))
    assert document.valid
    assert not document.problems()
    assert [t.set_id for t in document.transactions] == ["270"]


def test_delimiters_come_from_isa() -> None:
    """Element, component, repetition and terminator are read from the ISA, not assumed."""
    delimiters, problems = read_delimiters(ISA.replace("*", "|").replace(":", "<"))
    assert delimiters is not None
    assert not problems
    assert (
        delimiters.element,
        delimiters.component,
        delimiters.repetition,
        delimiters.segment,
    ) == ("|", "<", "^", "~")


@pytest.mark.parametrize("joiner", ["\r\n", "\n   ", "\t"])
def test_terminator_followed_by_whitespace(joiner: str) -> None:
    """Line breaks and indentation after each terminator are tolerated."""
    assert parse("\ufeff" + _doc(BODY, joiner=joiner)).valid


def test_gs_terminator_0x1d() -> None:
    """The 0x1D group separator works as a segment terminator."""
    assert parse(_doc(BODY, terminator="\x1d", joiner="\r\n")).valid


def test_two_interchanges_in_one_file() -> None:
    """Several interchanges in one input are all read."""
    document = parse(_doc(BODY) + "\n" + _doc(BODY))
    assert len(document.interchanges) == 2
    assert document.valid


def test_wrong_segment_count_is_reported_as_ik5_4() -> None:
    """An SE01 that miscounts is a transaction-level error with IK502 code 4."""
    body = [s if not s.startswith("SE*") else "SE*12*0001" for s in BODY]
    errors = parse(_doc(body)).rejections
    assert [(e.level, e.set_code) for e in errors] == [(Level.TRANSACTION, "4")]


def test_element_error_names_position_loop_and_codes() -> None:
    """A bad date in DMG02 names position 10, loop 2100C, element 2 and IK403 8."""
    body = [s if not s.startswith("DMG") else "DMG*D8*19801315*F" for s in BODY]
    error = next(e for e in parse(_doc(body)).rejections if e.level is Level.ELEMENT)
    assert (
        error.segment_id,
        error.position,
        error.loop,
        error.element,
        error.element_code,
        error.segment_code,
    ) == ("DMG", 10, "2100C", 2, "8", "8")


def test_all_errors_are_collected() -> None:
    """Parsing goes on after the first error and reports every one."""
    body = [
        s.replace("DMG*D8*19800115*F", "DMG*D8*19801315*X").replace("EQ*30", "EQ*QQ") for s in BODY
    ]
    codes = sorted(e.element_code for e in parse(_doc(body)).rejections if e.element_code)
    assert codes == ["7", "7", "8"]


def test_parse_strict_raises_one_error_carrying_all() -> None:
    """parse_strict raises the codec's own error type with every problem attached."""
    body = [s.replace("EQ*30", "EQ*QQ").replace("SE*13", "SE*99") for s in BODY]
    with pytest.raises(X12Error) as caught:
        parse_strict(_doc(body))
    assert len(caught.value.errors) >= 2


def test_not_x12_is_an_interchange_error() -> None:
    """Input without an ISA header is refused at interchange level."""
    document = parse("hello world")
    assert [e.interchange_code for e in document.rejections] == ["022"]


def test_serialize_is_stable() -> None:
    """Regenerating a parsed set from its loop tree gives the same segments."""
    transaction = parse(_doc(BODY)).transactions[0]
    assert ["*".join(s) for s in serialize(transaction)] == BODY[1:14]


def test_999_for_a_rejected_set_round_trips() -> None:
    """The 999 for a set with a bad element carries IK3/IK4 and parses back to the same."""
    body = [s.replace("EQ*30", "EQ*QQ") for s in BODY]
    group = parse(_doc(body)).interchanges[0].groups[0]
    ack = acknowledge(group)
    assert ack.status == "R"
    assert ack.sets[0].segments[0].segment_id == "EQ"
    assert ack.sets[0].segments[0].elements[0].code == "7"
    text = envelope(
        [("999", wrap_set("999", "0001", write_999(ack)))],
        Envelope("RECEIVER", "SENDER", "20240601", "0931"),
    )
    back = parse(text)
    assert back.valid, [p.describe() for p in back.problems()]
    typed = read(back.transactions[0])
    assert isinstance(typed, Acknowledgment)
    assert typed == ack


def test_999_accepts_a_clean_set() -> None:
    """A clean group earns AK9 A with one accepted set."""
    ack = acknowledge(parse(_doc(BODY)).interchanges[0].groups[0])
    assert (ack.status, ack.accepted, ack.sets[0].status) == ("A", "1", "A")


def test_a_request_for_review_carries_no_decision_or_validation(x12_fixtures: Path) -> None:
    """HCR and AAA belong to the payer's response: in a request (BHT02 13) each is an
    unexpected segment (IK304 2) at its own position and loop; the clean request stays clean."""
    text = (x12_fixtures / "Example_3_1_1_Request.txt").read_text(encoding="utf-8-sig")
    assert parse(text).valid
    with_answer = text.replace("UM*SC*I*3*11:B*****Y~", "UM*SC*I*3*11:B*****Y~HCR*A1*AUTH1~")
    with_answer = with_answer.replace(
        "NM1*IL*1*SMITH*JOE****MI*12345678901~", "NM1*IL*1*SMITH*JOE****MI*12345678901~AAA*Y**72*C~"
    )
    segments = with_answer.count("~")
    se = next(s for s in with_answer.split("~") if s.lstrip().startswith("SE*"))
    count = int(se.split("*")[1])
    with_answer = with_answer.replace(se, se.replace(f"SE*{count}*", f"SE*{count + 2}*"))
    assert with_answer.count("~") == segments
    errors = [p for p in parse(with_answer).problems() if p.segment_code == "2"]
    assert [(e.segment_id, e.loop) for e in errors] == [("AAA", "2010C"), ("HCR", "2000E")]
    assert all("used only in a 278 response" in e.message for e in errors)
