"""X12 5010 codec: 278 (X217), 270/271 (X279A1) and 999 (X231A1), pure Python, no I/O.

``parse`` reads a document and collects every problem as an ``X12Error``;
``transactions`` turns parsed sets into typed views; ``writer`` generates X12;
``mapping`` converts between the 278/271 and precert's domain model.
"""

from precert.interop.x12.errors import Level, Severity, X12Error
from precert.interop.x12.model import Delimiters, Document, Loop, Segment, TransactionSet
from precert.interop.x12.parser import parse, parse_strict

__all__ = [
    "Delimiters",
    "Document",
    "Level",
    "Loop",
    "Segment",
    "Severity",
    "TransactionSet",
    "X12Error",
    "parse",
    "parse_strict",
]
