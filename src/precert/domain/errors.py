"""Errors the business rules raise. They name what is wrong in the domain's words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class DomainError(Exception):
    """Base class for every rule violation the domain reports."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (a path of keys and indexes) and what."""

    path: tuple[str | int, ...]
    message: str

    @property
    def pointer(self) -> str:
        """The path as an RFC 6901 JSON pointer, e.g. ``/service_lines/0/units``."""
        if not self.path:
            return ""
        return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in self.path)


class InvalidInput(DomainError):
    """Input that breaks a business rule; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.pointer or '/'}: {p.message}" for p in self.problems))


class IllegalTransition(DomainError):
    """A state change the authorization state machine does not allow from its current state."""

    def __init__(self, current: str, attempted: str, allowed: Sequence[str]) -> None:
        self.current = current
        self.attempted = attempted
        self.allowed = tuple(allowed)
        moves = ", ".join(self.allowed) if self.allowed else "none (final state)"
        super().__init__(
            f"cannot move an authorization from '{current}' to '{attempted}'; "
            f"allowed from '{current}': {moves}"
        )


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller's organization)."""
