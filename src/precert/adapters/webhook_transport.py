"""Webhook delivery over HTTP (httpx), with a short timeout so one slow receiver cannot stall."""

from __future__ import annotations

import httpx


class HttpWebhookTransport:
    """Posts deliveries; transport failures surface as OSError for the delivery service."""

    def __init__(self, timeout_seconds: float = 5.0) -> None:
        self._client = httpx.Client(timeout=timeout_seconds, follow_redirects=False)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """Send one delivery; returns the status code."""
        try:
            return self._client.post(url, content=body, headers=headers).status_code
        except httpx.HTTPError as exc:
            raise ConnectionError(str(exc)) from exc

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
