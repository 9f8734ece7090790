"""The admin page's payer connections on SQLite and PostgreSQL: list, add, edit, remove,
field errors, admins only, secrets never shown, every read and write audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from precert.adapters.db import tables
from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import Precert
from precert.domain.authorization import Role
from precert.ports import PayerConnection, PayerFormat
from tests.factories import VALID_NPI
from tests.integration.conftest import Tenant, make_tenant
from tests.integration.test_ui import signed_in

PAYER = "northwind-health"
SECRET = "s3cret-payer-client-secret"
#: A complete, valid add form for Northwind (OAuth 2.0, with a client secret).
VALID: dict[str, str] = {
    "payer_id": PAYER,
    "format": "fhir-pas",
    "endpoint": "https://payer.example/fhir/",
    "organization_identifier": VALID_NPI,
    "auth.kind": "oauth2-client-credentials",
    "auth.token_url": "https://payer.example/oauth/token",
    "auth.client_id": "precert-client",
    "auth.client_secret": SECRET,
    "auth.scope": "system/Claim.write",
    "timeout_seconds": "20",
    "max_attempts": "3",
}


@pytest.fixture(autouse=True)
def _secret_key(precert: Precert) -> None:
    """Sign cookies with a fixed test key instead of writing one under var/."""
    precert.settings.secret_key = "test-secret-key-for-the-ui-suite-0123456789"


def stored(precert: Precert, tenant: Tenant) -> list[PayerConnection]:
    """The tenant's connections as the store holds them (secrets included)."""
    with SqlPayerUnitOfWork(precert.engine) as uow:
        return list(uow.payers.connections(tenant.organization_id))


def audit_rows(precert: Precert, tenant: Tenant) -> list[Any]:
    """The tenant's audit entries about payer connections, oldest first."""
    c = tables.audit_log.c
    with precert.engine.connect() as connection:
        return list(
            connection.execute(
                select(c.actor_id, c.actor_role, c.action, c.channel, c.subject_id, c.detail)
                .where(
                    c.organization_id == tenant.organization_id,
                    c.subject_type == "payer-connection",
                )
                .order_by(c.id)
            )
        )


def add(client: TestClient, csrf: str, **changes: str) -> Any:
    """Post the add form: the valid fields with ``changes`` (an empty string blanks a field)."""
    fields = {**VALID, **{k.replace("__", "."): v for k, v in changes.items()}}
    return client.post(
        "/ui/admin/payers", data={"csrf_token": csrf, **fields}, follow_redirects=False
    )


def test_admin_sees_the_connections_and_no_secret(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """A connection made through the API is listed with its settings, its secret only as 'stored',
    and the page's read is audited under the admin user."""
    body = {
        "format": "x12-278",
        "endpoint": "https://clearinghouse.example/x12",
        "organization_identifier": VALID_NPI,
        "auth": {
            "kind": "oauth2-client-credentials",
            "token_url": "https://clearinghouse.example/token",
            "client_id": "api-client",
            "client_secret": SECRET,
        },
    }
    put = client.put(f"/v1/payer-connections/{PAYER}", json=body, headers=tenant.auth(Role.ADMIN))
    assert put.status_code == 201, put.text
    signed_in(client, precert, tenant, Role.ADMIN)

    page = client.get("/ui/admin")
    assert page.status_code == 200
    for shown in (
        "Northwind Health Plan",
        "X12 278",
        "https://clearinghouse.example/x12",
        "OAuth 2.0 client credentials",
        "api-client",
        "secret stored",
        VALID_NPI,
    ):
        assert shown in page.text, shown
    assert SECRET not in page.text
    edit = client.get(f"/ui/admin?payer={PAYER}")
    assert edit.status_code == 200
    assert "Edit the connection to Northwind Health Plan" in edit.text
    assert 'value="https://clearinghouse.example/token"' in edit.text
    assert SECRET not in edit.text
    reads = [r for r in audit_rows(precert, tenant) if r.action == "read"]
    assert reads
    assert {(r.actor_role, r.channel, r.subject_id) for r in reads} == {
        ("admin", "GET /ui/admin", PAYER)
    }
    assert all(r.actor_id.startswith("user:") for r in reads)


def test_admin_adds_a_connection(client: TestClient, precert: Precert, tenant: Tenant) -> None:
    """The add form stores the connection as the API would and audits the write."""
    csrf = signed_in(client, precert, tenant, Role.ADMIN)
    added = add(client, csrf)
    assert added.status_code == 303, added.text
    assert added.headers["location"] == "/ui/admin?done=payer-added"
    page = client.get(added.headers["location"])
    assert "Payer connection added." in page.text
    assert "https://payer.example/fhir" in page.text
    assert SECRET not in page.text

    [connection] = stored(precert, tenant)
    assert connection.payer_id == PAYER
    assert connection.format is PayerFormat.FHIR_PAS
    assert connection.endpoint == "https://payer.example/fhir"  # the API's rule: no trailing /
    assert connection.auth.client_secret == SECRET
    assert (connection.timeout_seconds, connection.max_attempts) == (20.0, 3)
    listed = client.get("/v1/payer-connections", headers=tenant.auth(Role.ADMIN)).json()
    assert [c["payer_id"] for c in listed] == [PAYER]
    [write] = [r for r in audit_rows(precert, tenant) if r.action == "write"]
    assert (write.actor_role, write.channel, write.subject_id) == (
        "admin",
        "POST /ui/admin/payers",
        PAYER,
    )
    assert write.detail == {"event": "created", "connection": connection.id}


def test_admin_edits_a_connection_keeping_the_stored_secret(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """The edit form replaces the settings; a blank secret keeps the one stored."""
    csrf = signed_in(client, precert, tenant, Role.ADMIN)
    assert add(client, csrf).status_code == 303
    [before] = stored(precert, tenant)
    form = client.get(f"/ui/admin?payer={PAYER}")
    assert f'action="/ui/admin/payers/{PAYER}"' in form.text
    assert "A secret is stored; leave blank to keep it" in form.text

    fields = {
        **VALID,
        "format": "x12-278",
        "endpoint": "https://clearinghouse.example/x12",
        "auth.client_secret": "",
        "max_attempts": "5",
    }
    saved = client.post(
        f"/ui/admin/payers/{PAYER}",
        data={"csrf_token": csrf, **fields},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/ui/admin?done=payer-saved"
    [after] = stored(precert, tenant)
    assert after.id == before.id
    assert after.format is PayerFormat.X12_278
    assert after.endpoint == "https://clearinghouse.example/x12"
    assert after.max_attempts == 5
    assert after.auth.client_secret == SECRET
    writes = [r for r in audit_rows(precert, tenant) if r.action == "write"]
    assert [(r.channel, r.detail["event"]) for r in writes] == [
        ("POST /ui/admin/payers", "created"),
        ("POST /ui/admin/payers/{payer_id}", "replaced"),
    ]


def test_admin_removes_a_connection(client: TestClient, precert: Precert, tenant: Tenant) -> None:
    """Remove deletes the connection and audits it; removing it again is not found."""
    csrf = signed_in(client, precert, tenant, Role.ADMIN)
    assert add(client, csrf).status_code == 303
    [connection] = stored(precert, tenant)
    removed = client.post(
        f"/ui/admin/payers/{PAYER}/remove", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert "Payer connection removed." in client.get(removed.headers["location"]).text
    assert stored(precert, tenant) == []
    assert client.get("/v1/payer-connections", headers=tenant.auth(Role.ADMIN)).json() == []
    last = audit_rows(precert, tenant)[-1]
    assert (last.action, last.channel, last.detail) == (
        "write",
        "POST /ui/admin/payers/{payer_id}/remove",
        {"event": "removed", "connection": connection.id},
    )
    again = client.post(f"/ui/admin/payers/{PAYER}/remove", data={"csrf_token": csrf})
    assert again.status_code == 404
    assert client.get(f"/ui/admin?payer={PAYER}").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param({"endpoint": "not a url"}, "endpoint", "enter the full address", id="bad-url"),
        pytest.param({"endpoint": "ftp://payer.example/fhir"}, "endpoint", "scheme", id="not-http"),
        pytest.param({"endpoint": ""}, "endpoint", "required", id="no-endpoint"),
        pytest.param({"format": "fax"}, "format", "fhir-pas", id="unknown-format"),
        pytest.param(
            {"organization_identifier": ""}, "organization_identifier", "required", id="no-npi"
        ),
        pytest.param(
            {"auth__token_url": "token"}, "auth.token_url", "enter the full address", id="bad-token"
        ),
        pytest.param({"auth__kind": "basic"}, "auth.kind", "oauth2", id="unknown-auth"),
        pytest.param(
            {"auth__token_url": ""}, "auth.token_url", "required for OAuth", id="oauth-no-token"
        ),
        pytest.param(
            {"auth__client_id": ""}, "auth.client_id", "required for OAuth", id="oauth-no-client"
        ),
        pytest.param({"max_attempts": "99"}, "max_attempts", "10", id="too-many-attempts"),
        pytest.param({"payer_id": ""}, "payer_id", "choose a payer", id="no-payer"),
        pytest.param({"payer_id": "nobody"}, "payer_id", "choose a payer", id="unknown-payer"),
    ],
)
def test_bad_input_is_named_beside_its_field_and_nothing_is_stored(
    client: TestClient,
    precert: Precert,
    tenant: Tenant,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    """A 422 page marks the field with its message, keeps what was typed (not the secret), and
    stores nothing."""
    csrf = signed_in(client, precert, tenant, Role.ADMIN)
    refused = add(client, csrf, **changes)
    assert refused.status_code == 422
    element = "f-" + field.replace(".", "-")
    assert f'id="{element}" name="{field}"' in refused.text
    error = refused.text.split(f'id="{element}-error">', 1)
    assert len(error) == 2, f"no error beside {field}"
    assert message in error[1].split("</div>", 1)[0]
    assert f'aria-describedby="{element}-error"' in refused.text
    if changes != {"auth__client_id": ""}:
        assert 'value="precert-client"' in refused.text  # what was typed is kept
    assert SECRET not in refused.text
    assert stored(precert, tenant) == []
    assert [r for r in audit_rows(precert, tenant) if r.action == "write"] == []


def test_bad_edit_and_adding_a_connected_payer_change_nothing(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """An invalid edit is a 422 on the edit form; adding an already connected payer is refused
    rather than silently replacing it."""
    csrf = signed_in(client, precert, tenant, Role.ADMIN)
    assert add(client, csrf).status_code == 303
    [before] = stored(precert, tenant)
    bad = client.post(
        f"/ui/admin/payers/{PAYER}",
        data={"csrf_token": csrf, **VALID, "endpoint": "payer dot example"},
    )
    assert bad.status_code == 422
    assert "Edit the connection to Northwind Health Plan" in bad.text
    assert 'id="f-endpoint-error"' in bad.text
    assert 'value="payer dot example"' in bad.text
    again = add(client, csrf, endpoint="https://elsewhere.example/fhir")
    assert again.status_code == 422
    assert "already connected" in again.text
    assert stored(precert, tenant) == [before]


def test_non_admins_are_refused(client: TestClient, precert: Precert, tenant: Tenant) -> None:
    """A manager gets the admin refusal for the page and every form, and changes nothing."""
    body = {"endpoint": "https://payer.example/fhir", "organization_identifier": VALID_NPI}
    put = client.put(f"/v1/payer-connections/{PAYER}", json=body, headers=tenant.auth(Role.ADMIN))
    assert put.status_code == 201
    [before] = stored(precert, tenant)
    [api_write] = audit_rows(precert, tenant)  # the admin's own change through the API
    assert api_write[1:3] == ("admin", "write")
    csrf = signed_in(client, precert, tenant, Role.MANAGER)
    assert "/ui/admin" not in client.get("/ui/queue").text  # no Admin link in the navigation
    for response in (
        client.get("/ui/admin"),
        client.get(f"/ui/admin?payer={PAYER}"),
        add(client, csrf, payer_id="other"),
        client.post(f"/ui/admin/payers/{PAYER}", data={"csrf_token": csrf, **VALID}),
        client.post(f"/ui/admin/payers/{PAYER}/remove", data={"csrf_token": csrf}),
    ):
        assert response.status_code == 403
        assert "Not allowed for your role" in response.text
        assert "payer.example" not in response.text
    assert stored(precert, tenant) == [before]
    assert audit_rows(precert, tenant) == [api_write]


def test_forms_without_the_csrf_token_are_refused(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """Adding, editing and removing need the session's CSRF token, as every admin form does."""
    csrf = signed_in(client, precert, tenant, Role.ADMIN)
    assert add(client, csrf).status_code == 303
    [before] = stored(precert, tenant)
    for response in (
        client.post("/ui/admin/payers", data={**VALID, "payer_id": "other"}),
        client.post(f"/ui/admin/payers/{PAYER}", data={**VALID, "csrf_token": "forged"}),
        client.post(f"/ui/admin/payers/{PAYER}/remove", data={}),
    ):
        assert response.status_code == 403
        assert "This form has expired" in response.text
    assert stored(precert, tenant) == [before]


def test_another_organization_sees_none_of_them(
    client: TestClient, precert: Precert, tenant: Tenant, unique_slug: str
) -> None:
    """Another organization's admin neither sees nor edits this organization's connection."""
    csrf = signed_in(client, precert, tenant, Role.ADMIN)
    assert add(client, csrf).status_code == 303
    client.cookies.clear()
    other = make_tenant(precert, unique_slug + "-b")
    other_csrf = signed_in(client, precert, other, Role.ADMIN)
    page = client.get("/ui/admin")
    assert "payer.example" not in page.text
    assert client.get(f"/ui/admin?payer={PAYER}").status_code == 404
    edit = client.post(f"/ui/admin/payers/{PAYER}", data={"csrf_token": other_csrf, **VALID})
    assert edit.status_code == 404
    assert len(stored(precert, tenant)) == 1
