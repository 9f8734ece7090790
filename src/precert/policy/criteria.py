"""Auto-approval and gold-card criteria: FHIRPath expressions checked and run with fhirpathpy.

fhirpathpy recovers from syntax errors silently (a broken expression compiles and
then answers nonsense), so ``syntax_errors`` runs its ANTLR grammar with a
collecting listener first; the loader reports those errors with the rule id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from antlr4 import CommonTokenStream, InputStream, Token  # type: ignore[import-untyped]
from antlr4.error.ErrorListener import ErrorListener  # type: ignore[import-untyped]
from fhirpathpy import compile as compile_fhirpath
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from precert.policy.model import Criterion


class _CollectingListener(ErrorListener):  # type: ignore[misc]
    """Keeps every syntax error instead of printing it."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []

    def syntaxError(  # noqa: N802 - ANTLR's callback name
        self, recognizer: object, symbol: object, line: int, column: int, msg: str, e: object
    ) -> None:
        self.errors.append(f"column {column + 1}: {msg}")


def syntax_errors(expression: str) -> list[str]:
    """The FHIRPath syntax errors in ``expression`` (empty when it parses completely)."""
    listener = _CollectingListener()
    lexer = FHIRPathLexer(InputStream(expression))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    parser = FHIRPathParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    parser.expression()
    token = parser.getCurrentToken()
    if not listener.errors and token.type != Token.EOF:
        listener.errors.append(
            f"column {token.column + 1}: unexpected {token.text!r} after the end"
        )
    return listener.errors


@lru_cache(maxsize=1024)
def _compiled(expression: str) -> Callable[[Any, Any], list[Any]]:
    return compile_fhirpath(expression)


@dataclass(frozen=True)
class CriterionResult:
    """Whether one criterion held for a request, and why not when it could not be evaluated."""

    criterion: Criterion
    satisfied: bool
    error: str | None = None


def assess(
    criterion: Criterion, bundle: Mapping[str, Any], variables: Mapping[str, Any]
) -> CriterionResult:
    """Evaluate ``criterion`` against ``bundle`` with ``variables`` (``%order``, ``%patient``...).

    Satisfied only when the expression yields exactly ``[true]``; an evaluation error
    (a function applied to the wrong type, say) is reported, never treated as a pass.
    """
    try:
        result = _compiled(criterion.expression)(dict(bundle), dict(variables))
    except Exception as exc:
        return CriterionResult(criterion, False, f"{type(exc).__name__}: {exc}")
    return CriterionResult(criterion, result == [True])
