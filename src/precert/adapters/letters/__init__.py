"""Letters to payers, rendered to PDF with WeasyPrint from a Jinja2 template."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, select_autoescape

from precert.domain.appeals import AppealLetter


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("precert.adapters.letters", "templates"),
        autoescape=select_autoescape(["html"]),
    )


def appeal_letter_html(letter: AppealLetter) -> str:
    """The letter as a standalone HTML document (also what the PDF is made from)."""
    stylesheet = files("precert.adapters.letters").joinpath("templates/letter.css").read_text()
    return (
        _environment()
        .get_template("appeal_letter.html")
        .render(letter=letter, stylesheet=stylesheet)
    )


def appeal_letter_pdf(letter: AppealLetter) -> bytes:
    """The letter as PDF bytes."""
    from weasyprint import HTML  # heavy import (pango); only when a letter is made

    pdf: bytes = HTML(string=appeal_letter_html(letter)).write_pdf()
    return pdf
