"""The UI's secrets: the signing key, signed cookies, CSRF tokens, and a failure rate limiter.

Cookies carry a random token and an HMAC-SHA256 signature made with the
secret key; a cookie that fails its signature is refused before any database
lookup. CSRF tokens are bound to the session (HMAC of the session token's
hash), so a token taken from one browser is useless in another. Before sign-in
there is no session, so the sign-in form uses a signed double-submit cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from precert.config import Settings

SESSION_COOKIE = "precert_session"
PRESESSION_COOKIE = "precert_presession"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: Where a generated key is kept when PRECERT_SECRET_KEY is unset (beside the SQLite file).
DEFAULT_KEY_FILE = Path("var") / "secret_key"


def load_secret_key(settings: Settings, key_file: Path = DEFAULT_KEY_FILE) -> bytes:
    """The signing key: PRECERT_SECRET_KEY, else the one in ``key_file``, created on first use.

    Creation is exclusive, so processes starting together on one machine agree
    on a single key; several machines must share PRECERT_SECRET_KEY instead.
    """
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    try:
        return key_file.read_bytes().strip()
    except FileNotFoundError:
        pass
    key_file.parent.mkdir(parents=True, exist_ok=True)
    generated = secrets.token_urlsafe(48).encode("ascii")
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return key_file.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(generated)
    return generated


class Signer:
    """Signs and verifies short strings with HMAC-SHA256 under the secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the secret key must be at least 16 bytes long")
        self._key = key

    def _mac(self, purpose: str, value: str) -> str:
        digest = hmac.new(self._key, f"{purpose}|{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def sign(self, purpose: str, value: str) -> str:
        """``value.signature``; the purpose keeps a session signature from passing as CSRF."""
        return f"{value}.{self._mac(purpose, value)}"

    def unsign(self, purpose: str, signed: str | None) -> str | None:
        """The value when the signature is good, otherwise None."""
        if not signed or "." not in signed:
            return None
        value, _, signature = signed.rpartition(".")
        if not value or not hmac.compare_digest(signature, self._mac(purpose, value)):
            return None
        return value

    def csrf_token(self, binding: str) -> str:
        """The CSRF token for forms of the session (or pre-session) identified by ``binding``."""
        return self._mac("csrf", binding)

    def csrf_matches(self, binding: str, presented: str | None) -> bool:
        """Whether ``presented`` is the CSRF token for ``binding`` (constant time)."""
        return presented is not None and hmac.compare_digest(presented, self.csrf_token(binding))


class FailureLimiter:
    """Counts failures per key (a client IP) in a sliding window; blocks past a limit.

    In memory and per process: each API process limits on its own, which still
    bounds guessing to ``limit`` times the number of processes per window.
    Thread-safe, as sync routes run in a thread pool.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        return times

    def blocked(self, key: str) -> bool:
        """Whether ``key`` has used up its failures in the current window."""
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            if not times:
                self._failures.pop(key, None)
            return len(times) >= self.limit

    def fail(self, key: str) -> None:
        """Count one failure for ``key``."""
        with self._lock:
            now = self._clock()
            self._recent(key, now).append(now)

    def retry_after(self, key: str) -> int:
        """Seconds until ``key``'s oldest counted failure leaves the window."""
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            if not times:
                return 0
            return max(1, int(times[0] + self.window_seconds - now) + 1)
