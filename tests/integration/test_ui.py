"""The web UI on SQLite and PostgreSQL: sign-in, CSRF, roles, tenancy, audit, patient links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from typer.testing import CliRunner

from precert.adapters.db import tables
from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import Precert
from precert.cli import app as cli_app
from precert.clock import FrozenClock
from precert.domain.authorization import Actor, Role
from precert.domain.review import ReviewException, ReviewReason
from precert.sandbox.app import SandboxConfig
from precert.sandbox.server import SandboxServer
from precert.services import users as accounts
from precert.services.access import AccessContext
from precert.services.demo_data import connect_payers_to_sandbox
from precert.services.review import route_to_review
from precert.web.ui.frame import PATIENT_LINK_FAILURES
from tests.factories import request_body
from tests.integration.conftest import Tenant, make_tenant

PASSWORD = "correct horse battery staple"
#: The smallest file the attachment check accepts as a PDF (it reads the first bytes).
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
#: Answers for every checklist item the Northwind lumbar MRI (72148, M54.50) needs.
ANSWERS = {
    "answer.symptoms": "Low back pain radiating to the left leg for 9 weeks",
    "answer.exam": "Positive straight-leg raise on the left, reduced ankle reflex",
    "answer.red-flags": "no",
    "answer.therapies": ["physical-therapy", "nsaids"],
    "answer.weeks": "8",
    "answer.outcome": "no-improvement",
    "answer.document-date": "2026-02-20",
    "answer.summary": "Office visit note documenting the findings",
}
_ITEM_FORM = re.compile(r'action="/ui/requests/[0-9a-f-]+/documentation/([\w.-]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _secret_key(precert: Precert) -> None:
    """Sign cookies with a fixed test key instead of writing one under var/."""
    precert.settings.secret_key = "test-secret-key-for-the-ui-suite-0123456789"


def add_user(precert: Precert, tenant: Tenant, role: Role = Role.COORDINATOR) -> str:
    """Create a user of the tenant with the given role; returns the email."""
    email = f"{role.value}@{tenant.slug}.example"
    with precert.uow() as uow:
        accounts.create_user(
            uow,
            organization_slug=tenant.slug,
            email=email,
            name=f"{role.value.title()} Person",
            role=role,
            password=PASSWORD,
            clock=precert.clock,
        )
    return email


def csrf_of(html: str) -> str:
    """The CSRF token in a rendered form."""
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return unescape(found.group(1))


def sign_in(client: TestClient, tenant: Tenant, email: str, password: str = PASSWORD) -> Response:
    """Open the sign-in page and post the credentials with its CSRF token."""
    form = client.get("/ui/sign-in")
    return client.post(
        "/ui/sign-in",
        data={
            "csrf_token": csrf_of(form.text),
            "organization": tenant.slug,
            "email": email,
            "password": password,
            "next": "/ui/queue",
        },
        follow_redirects=False,
    )


def signed_in(client: TestClient, precert: Precert, tenant: Tenant, role: Role) -> str:
    """Sign a new user of ``role`` in; returns the CSRF token of their session."""
    response = sign_in(client, tenant, add_user(precert, tenant, role))
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/ui/queue").text)


def create_request(client: TestClient, tenant: Tenant, **changes: Any) -> str:
    """Open a draft through the API; returns its id."""
    created = client.post("/v1/authorizations", json=request_body(**changes), headers=tenant.auth())
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def act(client: TestClient, rid: str, action: str, csrf: str, **fields: str) -> Response:
    """Post one action form of the request page."""
    return client.post(
        f"/ui/requests/{rid}/actions/{action}",
        data={"csrf_token": csrf, **fields},
        follow_redirects=False,
    )


def status_of(client: TestClient, tenant: Tenant, rid: str) -> str:
    """The request's status as the API reports it."""
    return str(client.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()["status"])


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """The sandbox payer on a free loopback port, deciding by its policy scenario."""
    directory: Path = tmp_path_factory.mktemp("ui-sandbox")
    with SandboxServer(
        SandboxConfig(database_url=f"sqlite:///{directory / 'sandbox.db'}")
    ) as server:
        yield server


def connect_to_sandbox(precert: Precert, tenant: Tenant, sandbox: SandboxServer) -> None:
    """Point the tenant's payers at the sandbox, as ``precert run`` does for the demo."""
    with SqlPayerUnitOfWork(precert.engine) as uow:
        connect_payers_to_sandbox(uow, tenant.organization_id, sandbox.fhir_base, precert.clock)


def complete_checklist(client: TestClient, rid: str, csrf: str) -> list[str]:
    """Answer and attach a document to every checklist item through the page's forms."""
    items = _ITEM_FORM.findall(client.get(f"/ui/requests/{rid}").text)
    assert items, "the request page shows no checklist items"
    for item in items:
        saved = client.post(
            f"/ui/requests/{rid}/documentation/{item}",
            data={"csrf_token": csrf, **ANSWERS},
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
        uploaded = client.post(
            f"/ui/requests/{rid}/documentation/{item}/attachments",
            data={"csrf_token": csrf},
            files={"document": (f"{item}.pdf", PDF, "application/pdf")},
            follow_redirects=False,
        )
        assert uploaded.status_code == 303, uploaded.text
    return items


def ready_through_checklist(
    client: TestClient,
    rid: str,
    csrf: str,
    precert: Precert,
    tenant: Tenant,
    sandbox: SandboxServer,
) -> None:
    """Verify eligibility with the sandbox payer, complete the checklist, mark ready."""
    connect_to_sandbox(precert, tenant, sandbox)
    verified = client.post(
        f"/ui/requests/{rid}/eligibility", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert verified.status_code == 303, verified.text
    complete_checklist(client, rid, csrf)
    ready = act(client, rid, "ready", csrf)
    assert ready.status_code == 303, ready.text


def test_home_and_pages_need_sign_in(client: TestClient) -> None:
    """The home page redirects to the queue, which sends a stranger to the sign-in page."""
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == "/ui/queue"
    queue = client.get("/ui/queue", follow_redirects=False)
    assert queue.status_code == 303
    assert queue.headers["location"] == "/ui/sign-in?next=/ui/queue"
    htmx = client.get("/ui/queue", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"].startswith("/ui/sign-in")


def test_sign_in_sets_a_protected_cookie_and_shows_the_queue(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """Right credentials give an HttpOnly, SameSite=Lax session and the queue lists requests."""
    rid = create_request(client, tenant)
    response = sign_in(client, tenant, add_user(precert, tenant))
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/queue"
    cookie = next(v for k, v in response.headers.multi_items() if v.startswith("precert_session="))
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    queue = client.get("/ui/queue")
    assert queue.status_code == 200
    assert f"/ui/requests/{rid}" in queue.text
    assert queue.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in queue.headers["content-security-policy"]


def test_wrong_password_and_disabled_user_are_refused(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """A wrong password, an unknown organization or a forged cookie never yield a session."""
    email = add_user(precert, tenant)
    wrong = sign_in(client, tenant, email, "not the password at all")
    assert wrong.status_code == 401
    assert "precert_session" not in wrong.headers.get("set-cookie", "")
    stranger = Tenant("no-such-org", "", {})
    assert sign_in(client, stranger, email).status_code == 401
    client.cookies.set("precert_session", "forged.token")
    assert client.get("/ui/queue", follow_redirects=False).status_code == 303


def test_sign_in_is_rate_limited_per_client(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """After ten failed sign-ins from one address even the right password waits."""
    email = add_user(precert, tenant)
    for _ in range(10):
        assert sign_in(client, tenant, email, "wrong password!!").status_code == 401
    limited = sign_in(client, tenant, email)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


def test_sign_out_ends_the_session(client: TestClient, precert: Precert, tenant: Tenant) -> None:
    """After signing out, the old session cookie no longer opens any page."""
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    old = client.cookies.get("precert_session")
    out = client.post("/ui/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert old is not None
    client.cookies.set("precert_session", old)
    assert client.get("/ui/queue", follow_redirects=False).status_code == 303


def test_csrf_is_refused(client: TestClient, precert: Precert, tenant: Tenant) -> None:
    """Posts without the session's CSRF token, or from another origin, change nothing."""
    rid = create_request(client, tenant)
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    assert act(client, rid, "ready", "").status_code == 403
    assert act(client, rid, "ready", "forged-token").status_code == 403
    cross = client.post(
        f"/ui/requests/{rid}/actions/ready",
        data={"csrf_token": csrf},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert cross.status_code == 403
    assert status_of(client, tenant, rid) == "draft"
    # The sign-in form is protected too, before any session exists.
    client.cookies.clear()
    no_token = client.post(
        "/ui/sign-in", data={"organization": tenant.slug, "email": "x@y.z", "password": "p"}
    )
    assert no_token.status_code == 403
    assert act(client, rid, "ready", csrf).status_code == 303  # then refused: signed out


def test_coordinator_works_a_request_through_to_approval(
    client: TestClient, precert: Precert, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """Form posts open, ready, submit and approve a request; each step is on the timeline."""
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    body = request_body()
    form = {
        "csrf_token": csrf,
        "patient.given_name": "Alex",
        "patient.family_name": "Testperson",
        "patient.birth_date": "1970-05-01",
        "patient.sex": "female",
        "patient.id": "MRN-0001",
        "patient.member_id": "NW123456789",
        "coverage.payer_id": "northwind-health",
        "coverage.plan": "Northwind Choice PPO",
        "coverage.line_of_business": "commercial",
        "coverage.state": "mo",
        "coverage.effective_from": "2026-01-01",
        "requesting_provider.npi": body["requesting_provider"]["npi"],
        "requesting_provider.name": "Dr. Riley Example",
        "servicing_provider.npi": body["servicing_provider"]["npi"],
        "servicing_provider.name": "Example Imaging",
        "servicing_provider.kind": "organization",
        "category": "advanced_imaging",
        "urgency": "standard",
        "service_lines.0.code_system": "CPT",
        "service_lines.0.code": "72148",
        "service_lines.0.units": "1",
        "service_lines.0.service_start": "2026-03-20",
        "service_lines.0.place_of_service": "22",
        "service_lines.0.diagnoses": "M54.50",
        "service_lines.0.estimated_amount": "1850",
    }
    created = client.post("/ui/requests/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    rid = created.headers["location"].split("/")[3].split("?")[0]
    ready_through_checklist(client, rid, csrf, precert, tenant, sandbox)
    assert act(client, rid, "submit", csrf, channel="portal", reference="P-77").status_code == 303
    decided = act(
        client,
        rid,
        "determination",
        csrf,
        **{"lines.0.decision": "approved", "lines.0.certification_number": "AUTH-123"},
    )
    assert decided.status_code == 303, decided.text
    assert status_of(client, tenant, rid) == "approved"
    page = client.get(f"/ui/requests/{rid}").text
    for text in ("Determination recorded: Approved", "AUTH-123", "Submitted to the payer"):
        assert text in page
    assert "Coordinator Person" in page  # the timeline names the user, not an id
    with precert.engine.connect() as connection:
        actors = set(
            connection.execute(
                select(tables.audit_log.c.actor_id).where(tables.audit_log.c.subject_id == rid)
            ).scalars()
        )
    assert any(a.startswith("user:") for a in actors)


def test_form_errors_are_shown_beside_their_fields(
    client: TestClient, precert: Precert, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """A bad NPI and a denial without a reason come back as 422 pages naming the field."""
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    bad = client.post(
        "/ui/requests/new",
        data={"csrf_token": csrf, "requesting_provider.npi": "123", "service_lines.0.code": "x"},
    )
    assert bad.status_code == 422
    assert 'id="f-requesting_provider-npi-error"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    rid = create_request(client, tenant)
    ready_through_checklist(client, rid, csrf, precert, tenant, sandbox)
    act(client, rid, "submit", csrf, channel="phone")
    denial = act(client, rid, "determination", csrf, **{"lines.0.decision": "denied"})
    assert denial.status_code == 422
    assert "specific reason" in denial.text
    assert status_of(client, tenant, rid) == "submitted"


def test_roles_decide_what_a_user_may_do(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """An auditor reads but cannot act or administer; an admin manages keys."""
    rid = create_request(client, tenant)
    csrf = signed_in(client, precert, tenant, Role.AUDITOR)
    page = client.get(f"/ui/requests/{rid}")
    assert page.status_code == 200
    assert f"/ui/requests/{rid}/actions/ready" not in page.text
    assert act(client, rid, "ready", csrf).status_code == 403
    assert status_of(client, tenant, rid) == "draft"
    assert client.get("/ui/admin").status_code == 403
    assert client.get("/ui/requests/new").status_code == 403

    client.cookies.clear()
    admin_csrf = signed_in(client, precert, tenant, Role.ADMIN)
    issued = client.post(
        "/ui/admin/keys", data={"csrf_token": admin_csrf, "name": "EHR", "role": "integration"}
    )
    assert issued.status_code == 200
    token = re.search(r"pck_[0-9a-f]+_[\w-]+", issued.text)
    assert token is not None
    listed = client.get("/v1/authorizations", headers={"Authorization": f"Bearer {token[0]}"})
    assert listed.status_code == 200


def test_another_organization_cannot_open_the_request(
    client: TestClient, precert: Precert, tenant: Tenant, unique_slug: str
) -> None:
    """A user of another organization gets 404 on the request page and cannot act on it."""
    rid = create_request(client, tenant)
    other = make_tenant(precert, unique_slug + "-b")
    csrf = signed_in(client, precert, other, Role.COORDINATOR)
    page = client.get(f"/ui/requests/{rid}")
    assert page.status_code == 404
    assert "Testperson" not in page.text
    assert act(client, rid, "ready", csrf).status_code == 404
    assert rid not in client.get("/ui/queue?status=all").text
    assert status_of(client, tenant, rid) == "draft"


def make_link(client: TestClient, precert: Precert, tenant: Tenant, rid: str) -> str:
    """A coordinator creates a patient link on the request page; returns its path."""
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    made = client.post(f"/ui/requests/{rid}/patient-link", data={"csrf_token": csrf})
    assert made.status_code == 200
    found = re.search(r"http://testserver(/ui/status/[\w-]+)", made.text)
    assert found, "the new link is shown on the page"
    client.cookies.clear()  # the patient has no session
    return found.group(1)


def test_patient_link_shows_plain_status_and_is_audited(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """The link shows where the request stands and whom to call, nothing identifying."""
    rid = create_request(client, tenant)
    path = make_link(client, precert, tenant, rid)
    page = client.get(path)
    assert page.status_code == 200
    assert "has not been sent to your insurer yet" in page.text
    assert "555-0100" in page.text  # the payer's phone from the directory
    for private in ("Testperson", "MRN-0001", "NW123456789", "M54.50", "72148"):
        assert private not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    with precert.engine.connect() as connection:
        reads = connection.execute(
            select(tables.audit_log.c.actor_id, tables.audit_log.c.channel).where(
                tables.audit_log.c.subject_id == rid,
                tables.audit_log.c.actor_id.like("patient-link:%"),
            )
        ).all()
    assert len(reads) == 1
    assert reads[0].channel == "GET /ui/status/{token}"  # the template, never the token


def test_wrong_and_expired_patient_links_show_nothing(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """A mistyped or expired link is a 404 page without any of the request's facts."""
    rid = create_request(client, tenant)
    path = make_link(client, precert, tenant, rid)
    wrong = client.get(path[:-3] + "abc")
    assert wrong.status_code == 404
    assert "Northwind" not in wrong.text
    assert "insurer" not in wrong.text
    assert isinstance(precert.clock, FrozenClock)
    precert.clock.advance(timedelta(days=31))
    expired = client.get(path)
    assert expired.status_code == 404
    assert "Northwind" not in expired.text


def test_wrong_patient_links_are_rate_limited(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """After repeated wrong tokens from one address, even a valid link waits."""
    rid = create_request(client, tenant)
    path = make_link(client, precert, tenant, rid)
    for attempt in range(PATIENT_LINK_FAILURES):
        assert client.get(f"/ui/status/guess-{attempt}").status_code == 404
    limited = client.get(path)
    assert limited.status_code == 429
    assert "Northwind" not in limited.text
    assert int(limited.headers["retry-after"]) > 0


def test_static_assets_are_served_offline(client: TestClient) -> None:
    """htmx, the stylesheet and Plotly's bundle come from this server, not a CDN."""
    htmx = client.get("/ui/static/htmx.min.js")
    assert htmx.status_code == 200
    assert "htmx" in htmx.text[:2000]
    plotly = client.get("/ui/static/plotly.min.js")
    assert plotly.status_code == 200
    assert len(plotly.content) > 1_000_000
    assert client.get("/ui/static/app.css").headers["content-type"].startswith("text/css")
    assert client.get("/ui/static/..%2Fsecurity.py").status_code == 404


def test_demo_users_get_fresh_passwords(precert: Precert, unique_slug: str) -> None:
    """Provisioning twice keeps one user per role and replaces every password."""
    tenant = make_tenant(precert, unique_slug)
    with precert.uow() as uow:
        first = accounts.provision_demo_users(uow, tenant.slug, precert.clock)
        second = accounts.provision_demo_users(uow, tenant.slug, precert.clock)
    old = re.search(r"coordinator@demo.example\s+password (\S+)", first)
    new = re.search(r"coordinator@demo.example\s+password (\S+)", second)
    assert old
    assert new
    assert old[1] != new[1]
    with precert.uow() as uow:
        assert (
            accounts.sign_in(
                uow,
                organization_slug=tenant.slug,
                email="coordinator@demo.example",
                password=old[1],
                clock=precert.clock,
            )
            is None
        )
        assert accounts.sign_in(
            uow,
            organization_slug=tenant.slug,
            email="coordinator@demo.example",
            password=new[1],
            clock=precert.clock,
        )
    with precert.engine.connect() as connection:
        count = len(
            connection.execute(
                select(tables.users.c.id).where(
                    tables.users.c.organization_id == tenant.organization_id
                )
            ).all()
        )
    assert count == len(accounts.DEMO_USERS)


def test_cli_creates_a_user(
    precert: Precert, tenant: Tenant, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`precert user create` stores a user who can sign in, and refuses a duplicate email."""
    monkeypatch.setenv("PRECERT_DATABASE_URL", database_url)
    runner = CliRunner()
    args = ["user", "create", "--org", tenant.slug, "--email", "Pat@Clinic.Example"]
    created = runner.invoke(cli_app, [*args, "--role", "manager", "--name", "Pat"])
    assert created.exit_code == 0, created.output
    password = created.stdout.strip().splitlines()[-1]
    with precert.uow() as uow:
        signed = accounts.sign_in(
            uow,
            organization_slug=tenant.slug,
            email="pat@clinic.example",
            password=password,
            clock=precert.clock,
        )
    assert signed is not None
    assert signed.user.role is Role.MANAGER
    again = runner.invoke(cli_app, [*args, "--role", "manager", "--password", PASSWORD])
    assert again.exit_code == 2
    short = runner.invoke(
        cli_app,
        [
            "user",
            "create",
            "--org",
            tenant.slug,
            "--email",
            "a@b.example",
            "--role",
            "coordinator",
            "--password",
            "short",
        ],
    )
    assert short.exit_code == 2


def test_users_migration_matches_the_table_definitions(precert: Precert) -> None:
    """Migration 0002 creates exactly the users, sessions and patient-link tables tables.py says."""
    mine = {"users", "user_sessions", "patient_links"}
    with precert.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), tables.metadata)

    def touches_mine(diff: Any) -> bool:
        items = diff if isinstance(diff, list) else [diff]
        text = repr(items)
        return any(f"'{name}'" in text or f"table_name='{name}'" in text for name in mine)

    assert [d for d in differences if touches_mine(d)] == []


def test_live_requirements_answer_the_form_as_typed(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """The new-request form's htmx call says whether the typed line needs authorization."""
    csrf = signed_in(client, precert, tenant, Role.CLINICIAN)
    form = {
        "coverage.payer_id": "northwind-health",
        "coverage.plan": "Northwind Choice PPO",
        "coverage.line_of_business": "commercial",
        "coverage.state": "MO",
        "patient.birth_date": "1970-05-01",
        "category": "advanced_imaging",
        "service_lines.0.code": "72148",
        "service_lines.0.service_start": "2026-03-20",
        "service_lines.0.place_of_service": "22",
    }
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    answer = client.post("/ui/requests/new/discover", data=form, headers=headers)
    assert answer.status_code == 200
    assert "Prior authorization needed" in answer.text
    assert "Submit by" in answer.text
    partial = client.post(
        "/ui/requests/new/discover", data={"coverage.payer_id": "northwind-health"}, headers=headers
    )
    assert "the date of birth" in partial.text
    refused = client.post("/ui/requests/new/discover", data=form, headers={"HX-Request": "true"})
    assert refused.status_code == 403


def test_dashboard_scorecards_and_report_for_analytics_roles(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """A manager gets the analytics pages and CSVs; a clinician, without that permission, not."""
    rid = create_request(client, tenant)
    signed_in(client, precert, tenant, Role.MANAGER)
    board = client.get("/ui/dashboard")
    assert board.status_code == 200
    assert board.text.count('data-figure="figure-') == 7
    csv = client.get("/ui/dashboard.csv?chart=rates")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("metric,numerator,denominator,value")
    assert client.get("/ui/dashboard.csv?chart=nonsense").status_code == 404
    assert client.get("/ui/scorecards").status_code == 200
    assert client.get("/ui/scorecards.csv").text.startswith("payer_id,")
    report = client.get("/ui/reports/cms-0057-f?year=2026")
    assert report.status_code == 200
    assert "CMS-0057-F public report, 2026" in report.text
    document = client.get("/ui/reports/cms-0057-f.json?year=2026").json()
    assert document["year"] == 2026
    assert rid not in board.text  # aggregates only
    client.cookies.clear()
    signed_in(client, precert, tenant, Role.CLINICIAN)
    assert client.get("/ui/dashboard").status_code == 403
    assert client.get("/ui/reports/cms-0057-f.csv").status_code == 403


def test_checklist_errors_are_shown_beside_their_fields(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """A negative week count and a text file come back as 422 pages marking those fields."""
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    rid = create_request(client, tenant)
    page = client.get(f"/ui/requests/{rid}").text
    assert "Documentation checklist" in page
    assert "0% complete" in page
    assert 'id="q-conservative-therapy-weeks"' in page  # a labelled number input
    assert 'type="checkbox" name="answer.therapies" value="nsaids"' in page
    bad = client.post(
        f"/ui/requests/{rid}/documentation/conservative-therapy",
        data={"csrf_token": csrf, "answer.weeks": "-3", "answer.outcome": "worsened"},
    )
    assert bad.status_code == 422
    assert 'id="q-conservative-therapy-weeks-error"' in bad.text
    assert "must be at least" in bad.text
    assert 'value="worsened" selected' in bad.text  # what was typed is kept
    upload = client.post(
        f"/ui/requests/{rid}/documentation/conservative-therapy/attachments",
        data={"csrf_token": csrf},
        files={"document": ("notes.txt", b"just text", "text/plain")},
    )
    assert upload.status_code == 422
    assert 'id="upload-conservative-therapy-error"' in upload.text
    unknown = client.post(
        f"/ui/requests/{rid}/documentation/no-such-item", data={"csrf_token": csrf, **ANSWERS}
    )
    assert unknown.status_code == 404


def test_eligibility_without_a_payer_connection_says_so(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """Verifying eligibility with no connection to the payer shows why, and changes nothing."""
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    rid = create_request(client, tenant)
    answer = client.post(f"/ui/requests/{rid}/eligibility", data={"csrf_token": csrf})
    assert answer.status_code == 422
    assert 'id="action-error"' in answer.text
    assert "coverage has not been verified with the payer" in answer.text


def test_submit_to_payer_gets_the_sandbox_approval(
    client: TestClient, precert: Precert, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """A ready request sent to the sandbox payer for a gold-carded physician comes back approved."""
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    body = request_body()
    body["requesting_provider"] = {**body["requesting_provider"], "npi": "1588667638"}
    created = client.post("/v1/authorizations", json=body, headers=tenant.auth())
    rid = str(created.json()["id"])
    ready_through_checklist(client, rid, csrf, precert, tenant, sandbox)
    sent = client.post(f"/ui/requests/{rid}/send", data={"csrf_token": csrf})
    assert sent.status_code == 200
    assert "Sent to the payer electronically" in sent.text
    assert status_of(client, tenant, rid) == "approved"
    assert "Eligibility verified with the payer" in sent.text
    assert "100% complete" in sent.text


def test_denial_offers_appeal_options_and_drafts_the_letter(
    client: TestClient, precert: Precert, tenant: Tenant, sandbox: SandboxServer
) -> None:
    """A denied request lists appeal options with expected value and drafts a PDF letter."""
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    rid = create_request(client, tenant)
    ready_through_checklist(client, rid, csrf, precert, tenant, sandbox)
    act(client, rid, "submit", csrf, channel="portal")
    denied = act(
        client,
        rid,
        "determination",
        csrf,
        **{"lines.0.decision": "denied", "lines.0.reason_text": "Conservative therapy too short"},
    )
    assert denied.status_code == 303, denied.text
    page = client.get(f"/ui/requests/{rid}").text
    assert "Appeal options" in page
    assert "Expected value" in page
    short = client.post(
        f"/ui/requests/{rid}/appeal-letter",
        data={"csrf_token": csrf, "letter_level": "first_level", "clinical_rationale": "short"},
    )
    assert short.status_code == 422
    assert 'id="f-clinical_rationale-error"' in short.text
    letter = client.post(
        f"/ui/requests/{rid}/appeal-letter",
        data={
            "csrf_token": csrf,
            "letter_level": "first_level",
            "clinical_rationale": "Eight weeks of physical therapy and NSAIDs failed; "
            "radicular signs persist.",
            "enclosures": "Physical therapy notes\nOffice visit note",
        },
    )
    assert letter.status_code == 200
    assert letter.headers["content-type"] == "application/pdf"
    assert letter.content.startswith(b"%PDF")


def test_tasks_are_assigned_in_bulk(client: TestClient, precert: Precert, tenant: Tenant) -> None:
    """Ticked follow-up tasks are assigned to the signed-in user in one post."""
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    soon = {**request_body()["service_lines"][0], "service_start": "2026-03-04"}
    soon["service_end"] = soon["service_start"]  # inside the lead time: submission is at risk
    for _ in range(2):
        create_request(client, tenant, service_lines=[soon])
    scanned = client.post("/v1/tasks/scan", headers=tenant.auth(Role.MANAGER))
    assert scanned.status_code == 200, scanned.text
    listed = client.get("/v1/tasks", headers=tenant.auth()).json()["items"]
    assert len(listed) >= 2
    page = client.get("/ui/tasks")
    assert page.status_code == 200
    assert "Assign ticked tasks to" in page.text
    ids = [t["id"] for t in listed[:2]]
    nothing = client.post("/ui/tasks/assign", data={"csrf_token": csrf, "assignee": "shared"})
    assert nothing.status_code == 422
    assert "tick at least one task" in nothing.text
    me = re.search(r'<option value="(user:[^"]+)">Me', page.text)
    assert me is not None
    assigned = client.post(
        "/ui/tasks/assign",
        data={"csrf_token": csrf, "assignee": me.group(1), "task": ids},
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    after = {
        t["id"]: t["assignee"]
        for t in client.get("/v1/tasks", headers=tenant.auth()).json()["items"]
    }
    assert all(after[i] == me.group(1) for i in ids)
    mine = client.get("/ui/tasks?mine=true").text
    assert mine.count('name="task"') == 2


def test_review_queue_and_policy_packs_pages(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """The review queue lists a routed case and resolves it; the policy pages show sources."""
    csrf = signed_in(client, precert, tenant, Role.COORDINATOR)
    rid = create_request(client, tenant)
    with precert.uow() as uow:
        route_to_review(
            uow,
            AccessContext(tenant.organization_id, Actor(id="test", role=Role.SYSTEM), "test"),
            ReviewException(ReviewReason.UNKNOWN_CODE, "Code 0000T is in no pack", rid, ("0000T",)),
            precert.clock,
        )
    page = client.get("/ui/review").text
    assert "Code 0000T is in no pack" in page
    item_id = re.search(r'/ui/review/([^/"]+)/resolve', page)
    assert item_id is not None
    resolved = client.post(
        f"/ui/review/{item_id.group(1)}/resolve",
        data={"csrf_token": csrf, "resolution": "Added to the imaging pack"},
        follow_redirects=False,
    )
    assert resolved.status_code == 303
    assert "Code 0000T is in no pack" not in client.get("/ui/review").text
    packs = client.get("/ui/policy")
    assert packs.status_code == 200
    pack_id = re.search(r'href="/ui/policy/([^"]+)"', packs.text)
    assert pack_id is not None
    rules = client.get(f"/ui/policy/{pack_id.group(1)}")
    assert rules.status_code == 200
    assert "Source:" in rules.text
    assert "Applies to" in rules.text
    assert client.get("/ui/policy/no-such-pack").status_code == 404
