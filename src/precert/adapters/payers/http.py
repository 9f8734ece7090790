"""What every HTTP payer gateway shares: OAuth2 bearer tokens and the retryable/final split.

The PAS IG's rule, applied to every payer endpoint: a 4xx answer (with its
OperationOutcome) refuses the message and must not be retried unchanged; 5xx
answers, timeouts and broken connections are transient and may be retried with the
same idempotency key. 408 and 429 are transient by HTTP's own definition.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from precert.ports import PayerAuth, PayerConnection, PayerRejected, PayerUnavailable

#: Tokens are renewed this long before the payer says they expire, to absorb clock skew.
TOKEN_MARGIN_SECONDS = 30.0
_TRANSIENT_4XX = frozenset({408, 425, 429})


#: Connections kept open per gateway: every concurrent submission keeps its TCP connection
#: (httpx keeps 20 by default, so a burst beyond that paid a new handshake per request).
KEEPALIVE_CONNECTIONS = 64


def client_for(connection: PayerConnection) -> httpx.Client:
    """The HTTP client a gateway keeps for ``connection`` (its timeout, a large idle pool)."""
    return httpx.Client(
        timeout=httpx.Timeout(connection.timeout_seconds),
        limits=httpx.Limits(
            max_connections=KEEPALIVE_CONNECTIONS, max_keepalive_connections=KEEPALIVE_CONNECTIONS
        ),
    )


class TokenCache:
    """OAuth2 client-credentials bearer tokens, fetched once and reused until they expire."""

    def __init__(
        self,
        auth: PayerAuth,
        client: httpx.Client,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._auth = auth
        self._client = client
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetched = 0

    def headers(self) -> dict[str, str]:
        """The Authorization header to send (empty when the connection uses no auth)."""
        if self._auth.kind != "oauth2-client-credentials":
            return {}
        with self._lock:
            if self._token is None or self._monotonic() >= self._expires_at:
                self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        """Forget the token (the payer refused it); the next call fetches a new one."""
        with self._lock:
            self._token = None

    def _fetch(self) -> None:
        auth = self._auth
        if not (auth.token_url and auth.client_id and auth.client_secret):
            raise PayerRejected(
                "auth-config", ["oauth2-client-credentials needs token_url, client_id and secret"]
            )
        form = {"grant_type": "client_credentials"}
        if auth.scope:
            form["scope"] = auth.scope
        try:
            response = self._client.post(
                auth.token_url, data=form, auth=(auth.client_id, auth.client_secret)
            )
        except httpx.HTTPError as exc:
            raise PayerUnavailable(f"token endpoint unreachable: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code in _TRANSIENT_4XX:
            raise PayerUnavailable(f"token endpoint answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PayerRejected(
                f"HTTP {response.status_code}",
                [f"token endpoint refused the client credentials: {response.text[:200]}"],
            )
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as exc:
            raise PayerUnavailable(f"token endpoint sent no usable token: {exc!r}") from exc
        self._token = token
        self._expires_at = self._monotonic() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS)
        self.fetched += 1


def outcome_problems(body: object) -> list[str]:
    """``expression: diagnostics`` for each issue of an OperationOutcome (JSON)."""
    problems: list[str] = []
    issues = body.get("issue") if isinstance(body, Mapping) else None
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, Mapping):
            continue
        where = issue.get("expression") or issue.get("location") or []
        place = ", ".join(str(w) for w in where) if isinstance(where, list) else str(where)
        text = str(issue.get("diagnostics") or issue.get("code") or "unspecified")
        problems.append(f"{place}: {text}" if place else text)
    return problems


def send(
    client: httpx.Client,
    tokens: TokenCache,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    content: bytes,
) -> httpx.Response:
    """One HTTP exchange, classified: a 2xx response, or PayerRejected / PayerUnavailable.

    A 401 is answered once by fetching a fresh token (the payer may have revoked the
    cached one early) before it counts as a refusal.
    """
    for renewed in (False, True):
        try:
            response = client.request(
                method, url, headers={**headers, **tokens.headers()}, content=content
            )
        except httpx.TimeoutException as exc:
            raise PayerUnavailable(f"no answer from {url} in time ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise PayerUnavailable(f"could not reach {url}: {exc!r}") from exc
        if response.status_code == 401 and not renewed and tokens.headers():
            tokens.invalidate()
            continue
        break
    status = response.status_code
    if status < 300:
        return response
    if status >= 500 or status in _TRANSIENT_4XX:
        raise PayerUnavailable(f"{url} answered HTTP {status}")
    problems = outcome_problems(_json_or_none(response)) or [response.text[:500] or "no detail"]
    raise PayerRejected(f"HTTP {status}", problems)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
