"""Run the sandbox payer: in the foreground (CLI), or on a background thread (tests, ``run``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import uvicorn

from precert.config import Settings
from precert.sandbox.app import Sandbox, SandboxConfig, create_sandbox_app


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class SandboxServer:
    """A real uvicorn server for one ``Sandbox``, on its own thread."""

    def __init__(
        self,
        config: SandboxConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``now`` is the payer's clock: training scenarios and tests may set it."""
        self.host = host
        self.port = port or free_port(host)
        self.sandbox = Sandbox(config, now=now)
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_sandbox_app(self.sandbox),
                host=self.host,
                port=self.port,
                log_level="warning",
                lifespan="on",
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def fhir_base(self) -> str:
        """The FHIR base URL (``…/fhir``)."""
        return f"{self.base_url}/fhir"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Start serving and wait until the socket accepts connections."""
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the sandbox did not start on {self.base_url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Shut down and wait for the thread, then close the store."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.sandbox.store.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def serve_in_background(settings: Settings, *, scenario: str = "policy") -> SandboxServer:
    """Start the sandbox payer on ``settings.host:settings.sandbox_port`` for ``precert run``."""
    config = SandboxConfig(database_url=settings.sandbox_database_url, scenario=scenario)
    return SandboxServer(config, host=settings.host, port=settings.sandbox_port).start()


def serve(config: SandboxConfig, *, host: str, port: int) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.run(create_sandbox_app(Sandbox(config)), host=host, port=port, log_level="info")
