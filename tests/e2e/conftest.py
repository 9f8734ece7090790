"""A real precert server with a small demo data set, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import bootstrap
from precert.config import Settings
from precert.demo import generate_demo
from precert.domain.authorization import Actor, Role
from precert.sandbox.app import SandboxConfig
from precert.sandbox.server import SandboxServer
from precert.services import users as accounts
from precert.services.access import AccessContext
from precert.services.demo_data import connect_payers_to_sandbox, load_demo
from precert.services.follow_up import scan_follow_ups
from precert.services.tenancy import ensure_organization
from tests.conftest import REPO, require_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
PASSWORD = "browser-test-password-1"
SECRET_KEY = "browser-test-secret-key-0123456789abcdef"
DEMO_SIZE = 120


@dataclass(frozen=True)
class Account:
    """Credentials of one signed-up user."""

    organization: str
    email: str
    password: str = PASSWORD


@dataclass(frozen=True)
class LiveServer:
    """The running server's base URL and the accounts the scenarios sign in with."""

    url: str
    database_url: str
    sandbox_url: str
    organization_id: str
    coordinator: Account
    manager: Account
    outsider: Account


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _seed(database_url: str, sandbox_fhir_base: str) -> LiveServer:
    """Demo data in organization 'demo' with its payers connected to the sandbox payer, its
    users, and a second organization with a user."""
    precert = bootstrap(Settings(database_url=database_url, secret_key=SECRET_KEY))
    with precert.uow() as uow:
        demo = ensure_organization(uow, "demo", "Demo Imaging & Surgery Center")
        dataset = generate_demo(
            seed=11, size=DEMO_SIZE, now=precert.clock.now(), organization_id=demo.id
        )
        context = AccessContext(demo.id, Actor(id="cli", role=Role.SYSTEM), "test: e2e seed")
        load_demo(uow, context, dataset)
        scan_follow_ups(uow, context, precert.clock)  # what the worker does on its schedule
        ensure_organization(uow, "other-clinic", "Other Clinic")
    with SqlPayerUnitOfWork(precert.engine) as payer_uow:
        connect_payers_to_sandbox(payer_uow, demo.id, sandbox_fhir_base, precert.clock)
    with precert.uow() as uow:
        for slug, email, role in (
            ("demo", "coordinator@demo.example", Role.COORDINATOR),
            ("demo", "manager@demo.example", Role.MANAGER),
            ("other-clinic", "coordinator@other.example", Role.COORDINATOR),
        ):
            accounts.create_user(
                uow,
                organization_slug=slug,
                email=email,
                name=email.split("@")[0].title() + (" Demo" if slug == "demo" else " Other"),
                role=role,
                password=PASSWORD,
                clock=precert.clock,
            )
    precert.engine.dispose()
    return LiveServer(
        url="",
        database_url=database_url,
        sandbox_url=sandbox_fhir_base,
        organization_id=demo.id,
        coordinator=Account("demo", "coordinator@demo.example"),
        manager=Account("demo", "manager@demo.example"),
        outsider=Account("other-clinic", "coordinator@other.example"),
    )


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; skipped on a laptop without it, a failure in CI."""
    if not CHROMIUM.exists():
        require_service("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """The sandbox payer on a free loopback port, deciding by the payers' published rules."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('e2e-sandbox') / 'sandbox.db'}"
    with SandboxServer(SandboxConfig(database_url=database_url)) as server:
        yield server


@pytest.fixture(scope="session")
def live_server(
    chromium: Path, sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """precert under uvicorn on a free loopback port, on a SQLite file with demo data, its
    payers connected to the sandbox payer."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'precert.db'}"
    seeded = _seed(database_url, sandbox.fhir_base)
    port = _free_port()
    env = {
        **os.environ,
        "PRECERT_DATABASE_URL": database_url,
        "PRECERT_SECRET_KEY": SECRET_KEY,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.server", str(port)], cwd=REPO, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"precert server did not start on {url}")
            time.sleep(0.1)
        yield LiveServer(
            url,
            database_url,
            seeded.sandbox_url,
            seeded.organization_id,
            seeded.coordinator,
            seeded.manager,
            seeded.outsider,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Browser]:
    """One headless Chromium for the session."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the test item, so fixtures can see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page per test, at laptop size.

    A failing test leaves a screenshot of the screen it failed on.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        shoot(opened, f"FAILED-{request.node.name}")
    context.close()


def shoot(page: Page, name: str) -> Path:
    """Save a full-page screenshot of the current screen under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    # The full-page capture leaves Chromium's scroll state stale, so the next click's
    # mouse-up can land elsewhere; a fresh scroll position makes Playwright recompute it.
    page.evaluate("() => window.scrollTo(0, 0)")
    return path


def sign_in(page: Page, server: LiveServer, account: Account) -> None:
    """Sign in through the form, as a person would."""
    page.goto(f"{server.url}/ui/sign-in")
    page.get_by_label("Organization").fill(account.organization)
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/queue**")
