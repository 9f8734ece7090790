"""One gateway per payer connection, kept while the connection's settings are unchanged.

Keeping the gateway keeps its HTTP connection pool and its cached OAuth2 token.
"""

from __future__ import annotations

import threading

from precert.adapters.payers.fhir import FhirPasGateway
from precert.adapters.payers.x12 import X12Gateway
from precert.ports import PayerConnection, PayerFormat

#: A gateway that submits (``PayerGateway``) and checks eligibility (``EligibilityGateway``).
Gateway = FhirPasGateway | X12Gateway


class GatewayRegistry:
    """Builds and caches gateways by connection id and last change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gateways: dict[str, tuple[object, Gateway]] = {}

    def gateway(self, connection: PayerConnection) -> Gateway:
        """The gateway for ``connection`` in its format (rebuilt when its settings changed)."""
        version = (
            connection.updated_at,
            connection.format,
            connection.endpoint,
            connection.auth,
            connection.organization_identifier,
            connection.timeout_seconds,
        )
        with self._lock:
            cached = self._gateways.get(connection.id)
            if cached is not None and cached[0] == version:
                return cached[1]
            if cached is not None:
                cached[1].close()
            gateway: Gateway = (
                X12Gateway(connection)
                if connection.format is PayerFormat.X12_278
                else FhirPasGateway(connection)
            )
            self._gateways[connection.id] = (version, gateway)
            return gateway

    def close(self) -> None:
        """Close every gateway."""
        with self._lock:
            for _, gateway in self._gateways.values():
                gateway.close()
            self._gateways.clear()
