"""``precert x12``: parse, validate and build X12 5010 files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from precert.domain.authorization import AuthorizationRequest
from precert.interop.x12 import X12Error, parse
from precert.interop.x12.codes import INQUIRY_CONVENTION
from precert.interop.x12.mapping import review_inquiry, review_request
from precert.interop.x12.model import Document
from precert.interop.x12.transactions import (
    Acknowledgment,
    Eligibility,
    HealthCareReview,
    ReviewInquiry,
    Typed,
    read,
)
from precert.interop.x12.writer import Envelope, envelope, wrap_set, write_278, write_999
from precert.interop.x12.writer import acknowledge as acknowledge_group

app = typer.Typer(
    help="Read, check and write X12 5010 278 (X217; X215 inquiries), 270/271 and 999 files.",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


def _summary(typed: Typed) -> dict[str, Any]:
    if isinstance(typed, HealthCareReview | ReviewInquiry):
        inquiry = isinstance(typed, ReviewInquiry)
        return {
            "kind": ("278 inquiry" if inquiry else "278")
            + (" response" if typed.is_response else "" if inquiry else " request"),
            **(
                {"traces": list(typed.trace_numbers), "review_numbers": list(typed.review_numbers)}
                if isinstance(typed, ReviewInquiry)
                else {}
            ),
            "events": len(typed.events),
            "services": sum(len(e.services) for e in typed.events),
            "actions": [
                o.action
                for e in typed.events
                for o in [e.outcome, *(s.outcome for s in e.services)]
                if o is not None
            ],
            "rejections": [r.reason for r in typed.rejections]
            + [
                r.reason
                for p in (typed.umo, typed.requester, typed.subscriber)
                for r in p.rejections
            ]
            + [r.reason for e in typed.events for r in e.rejections],
        }
    if isinstance(typed, Eligibility):
        members = [m for m in (typed.subscriber, typed.dependent) if m is not None]
        return {
            "kind": typed.set_id,
            "benefits": [b.code for m in members for b in m.benefits],
            "inquiries": [list(q) for m in members for q in m.inquiries],
            "rejections": [r.reason for r in typed.rejections]
            + [r.reason for p in (typed.source, typed.receiver) for r in p.rejections]
            + [r.reason for m in members for r in m.party.rejections],
        }
    assert isinstance(typed, Acknowledgment)
    return {
        "kind": "999",
        "status": typed.status,
        "sets": [(s.control_number, s.status) for s in typed.sets],
    }


def _read_all(document: Document) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for transaction in document.transactions:
        row: dict[str, Any] = {
            "set_id": transaction.set_id,
            "control_number": transaction.control_number,
            "accepted": transaction.accepted,
        }
        try:
            row.update(_summary(read(transaction)))
        except X12Error as exc:
            row["kind"] = transaction.set_id
            row["note"] = exc.message
        rows.append(row)
    return rows


@app.command("parse")
def parse_command(
    file: FileArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Parse FILE and summarize each transaction set; exit 1 with the errors if invalid."""
    document = parse(file.read_bytes())
    rows = _read_all(document)
    problems = document.problems()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "valid": document.valid,
                    "transactions": rows,
                    "problems": [p.to_dict() for p in problems],
                },
                indent=2,
            )
        )
    else:
        console = Console()
        table = Table(title=str(file))
        for column in ("set", "control", "kind", "accepted", "detail"):
            table.add_column(column)
        for row in rows:
            detail = {
                k: v
                for k, v in row.items()
                if k not in ("set_id", "control_number", "kind", "accepted")
            }
            table.add_row(
                row["set_id"],
                row["control_number"],
                str(row.get("kind", "")),
                "yes" if row["accepted"] else "no",
                json.dumps(detail),
            )
        console.print(table)
        for problem in problems:
            console.print(
                f"[{'red' if problem.is_error else 'yellow'}]{problem.severity}: "
                f"{problem.describe()}",
                markup=True,
                highlight=False,
            )
    if not document.valid:
        raise typer.Exit(1)


@app.command()
def validate(file: FileArg) -> None:
    """Validate FILE and print the 999 acknowledgment(s) it earns; exit 1 if anything fails."""
    document = parse(file.read_bytes())
    now = datetime.now(UTC)
    for problem in document.problems():
        typer.echo(f"{problem.severity}: {problem.describe()}", err=True)
    for interchange in document.interchanges:
        for group in interchange.groups:
            ack = acknowledge_group(group)
            env = Envelope(
                sender=interchange.receiver or "RECEIVER",
                receiver=interchange.sender or "SENDER",
                date=now.strftime("%Y%m%d"),
                time=now.strftime("%H%M"),
                interchange_control=1,
                group_control=1,
            )
            text = envelope([("999", wrap_set("999", "0001", write_999(ack)))], env)
            typer.echo(text.replace("~", "~\n").rstrip())
    if not document.interchanges:
        typer.echo("no interchange could be read", err=True)
    if not document.valid:
        raise typer.Exit(1)


@app.command()
def build(
    request_file: FileArg,
    kind: Annotated[
        str,
        typer.Option(
            "--type",
            help="278 (a request for review, X217) or 278-inquiry (its status, X215).",
        ),
    ] = "278",
    submitter_id: Annotated[
        str, typer.Option(help="TRN03: '1' + the submitter's EIN.")
    ] = "1000000000",
    sender: Annotated[str, typer.Option(help="ISA06/GS02 sender id.")] = "PRECERT",
    receiver: Annotated[str, typer.Option(help="ISA08/GS03 receiver id.")] = "PAYER",
) -> None:
    """Build X12 from REQUEST_FILE, an AuthorizationRequest as JSON (model_dump mode=json)."""
    if kind not in _BUILDS:
        typer.echo(f"--type {kind} is not supported; one of {', '.join(_BUILDS)}", err=True)
        raise typer.Exit(2)
    try:
        request = AuthorizationRequest.model_validate_json(request_file.read_text())
        # A request is stamped when it was made; an inquiry when it is asked.
        stamp = request.created_at if kind == "278" else datetime.now(UTC)
        review, convention = _BUILDS[kind](request, submitter_id, stamp)
    except ValidationError as exc:
        typer.echo(f"{request_file} is not a valid AuthorizationRequest: {exc}", err=True)
        raise typer.Exit(1) from exc
    except X12Error as exc:
        typer.echo(f"cannot express the request in X12: {exc.describe()}", err=True)
        raise typer.Exit(1) from exc
    env = Envelope(
        sender=sender, receiver=receiver, date=stamp.strftime("%Y%m%d"), time=stamp.strftime("%H%M")
    )
    body = wrap_set("278", "0001", write_278(review), convention)
    typer.echo(envelope([("278", body)], env, convention=convention))


def _request_for_review(
    request: AuthorizationRequest, submitter_id: str, _: datetime
) -> tuple[HealthCareReview | ReviewInquiry, str | None]:
    return review_request(request, submitter_id=submitter_id), None


def _status_inquiry(
    request: AuthorizationRequest, submitter_id: str, at: datetime
) -> tuple[HealthCareReview | ReviewInquiry, str | None]:
    inquiry = review_inquiry(request, submitter_id=submitter_id, asked_at=at)
    return inquiry, INQUIRY_CONVENTION


_BUILDS = {"278": _request_for_review, "278-inquiry": _status_inquiry}
