"""The REST API on SQLite and PostgreSQL: creation, reads, moves, errors, tenancy and audit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from precert.adapters.db import tables
from precert.bootstrap import Precert
from precert.domain.authorization import Role
from tests.factories import request_body
from tests.integration.conftest import READY_OVERRIDE, Tenant, make_tenant


def count_requests(precert: Precert, tenant: Tenant) -> int:
    with precert.engine.connect() as connection:
        return connection.execute(
            select(func.count())
            .select_from(tables.authorizations)
            .where(tables.authorizations.c.organization_id == tenant.organization_id)
        ).scalar_one()


def create(client: TestClient, tenant: Tenant, body: Any = None, **headers: str) -> Any:
    return client.post(
        "/v1/authorizations", json=body or request_body(), headers={**tenant.auth(), **headers}
    )


def test_create_get_list(client: TestClient, tenant: Tenant) -> None:
    """A created request can be read back with its timeline and found in the list."""
    created = create(client, tenant)
    assert created.status_code == 201, created.text
    resource = created.json()
    assert resource["status"] == "draft"
    assert resource["next_statuses"] == ["ready", "cancelled"]
    assert created.headers["location"] == f"/v1/authorizations/{resource['id']}"
    read = client.get(f"/v1/authorizations/{resource['id']}", headers=tenant.auth())
    assert read.status_code == 200
    assert [e["type"] for e in read.json()["timeline"]] == ["authorization.created"]
    listed = client.get("/v1/authorizations", headers=tenant.auth()).json()
    assert [i["id"] for i in listed["items"]] == [resource["id"]]


def test_state_moves_and_illegal_move(client: TestClient, tenant: Tenant) -> None:
    """Moves go through action routes; an illegal one is a 409 naming the allowed moves."""
    rid = create(client, tenant).json()["id"]
    illegal = client.post(
        f"/v1/authorizations/{rid}/appeal",
        headers=tenant.auth(),
        json={"level": "first_level", "reason": "x"},
    )
    assert illegal.status_code == 409
    assert illegal.headers["content-type"] == "application/problem+json"
    assert illegal.json()["allowed"] == ["ready", "cancelled"]
    for path, body in [
        ("ready", READY_OVERRIDE),
        ("submission", {"channel": "portal", "reference": "PORTAL-1"}),
        (
            "determination",
            {
                "lines": {
                    "0": {
                        "decision": "denied",
                        "reason_code": "0U",
                        "reason_text": "no conservative therapy",
                    }
                }
            },
        ),
        ("appeal", {"level": "first_level", "reason": "PT notes attached"}),
        ("appeal-outcome", {"overturned": True}),
    ]:
        moved = client.post(
            f"/v1/authorizations/{rid}/{path}", json=body, headers=tenant.auth(Role.MANAGER)
        )
        assert moved.status_code == 200, (path, moved.text)
    final = client.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()
    assert final["status"] == "approved"
    types = [e["type"] for e in final["timeline"]]
    assert len(types) == 7
    assert "authorization.readiness_overridden" in types


def test_filters_and_cursor_pagination(client: TestClient, tenant: Tenant) -> None:
    """Filters narrow the list; the cursor walks every page exactly once."""
    ids = {create(client, tenant).json()["id"] for _ in range(5)}
    surgery = request_body(category="elective_surgery")
    surgery_id = create(client, tenant, surgery).json()["id"]
    only = client.get("/v1/authorizations?category=elective_surgery", headers=tenant.auth())
    assert [i["id"] for i in only.json()["items"]] == [surgery_id]
    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/authorizations?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=tenant.auth()).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids | {surgery_id})
    none = client.get("/v1/authorizations?service_from=2027-01-01", headers=tenant.auth())
    assert none.json()["items"] == []


@pytest.mark.parametrize(
    ("mutate", "pointer", "fragment"),
    [
        (
            lambda b: b["requesting_provider"].update(npi="1234567890"),
            "/requesting_provider/npi",
            "check digit",
        ),
        (
            lambda b: b["service_lines"][0].update(diagnoses=["Z99.999"]),
            "/service_lines/0/diagnoses/0",
            "not an ICD-10-CM code",
        ),
        (
            lambda b: b["service_lines"][0].update(diagnoses=["M54"]),
            "/service_lines/0/diagnoses/0",
            "category header",
        ),
        (
            lambda b: b["service_lines"][0].update(service_end="2026-03-01"),
            "/service_lines/0",
            "before service_start",
        ),
        (
            lambda b: b["service_lines"][0].update(units="0"),
            "/service_lines/0/units",
            "greater than 0",
        ),
        (
            lambda b: b["coverage"].update(payer_id="no-such-payer"),
            "/coverage/payer_id",
            "unknown payer",
        ),
        (lambda b: b["patient"].update(birth_date="1970-02-30"), "/patient/birth_date", "date"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    client: TestClient,
    precert: Precert,
    tenant: Tenant,
    mutate: Any,
    pointer: str,
    fragment: str,
) -> None:
    """Each bad field yields 422 problem+json with its JSON pointer, and nothing is stored."""
    body = request_body()
    mutate(body)
    response = create(client, tenant, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert any(e["pointer"] == pointer and fragment in e["detail"] for e in errors), errors
    assert count_requests(precert, tenant) == 0


def test_malformed_json_wrong_type_and_oversize(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """Malformed JSON is 400, a wrong content type 415, a body over 1 MiB 413; none stores."""
    headers = {**tenant.auth(), "content-type": "application/json"}
    broken = client.post("/v1/authorizations", content=b'{"patient": ', headers=headers)
    assert broken.status_code == 400
    assert broken.json()["title"] == "Malformed JSON"
    form = client.post(
        "/v1/authorizations",
        content=b"a=b",
        headers={**tenant.auth(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    huge = json.dumps({**request_body(), "notes": "x" * (1024 * 1024)}).encode()
    too_big = client.post("/v1/authorizations", content=huge, headers=headers)
    assert too_big.status_code == 413
    assert count_requests(precert, tenant) == 0


def test_nul_characters_are_refused_everywhere(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """U+0000 (which PostgreSQL cannot store) is 400 naming where it is; nothing stores."""
    body = request_body()
    body["requesting_provider"]["name"] = "Dr\u0000Who"
    body["patient"]["given_name"] = "\u0000"
    refused = create(client, tenant, body)
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    pointers = {e["pointer"] for e in refused.json()["errors"]}
    assert pointers == {"/requesting_provider/name", "/patient/given_name"}
    keyed = client.post(
        "/v1/authorizations",
        content=b'{"pat\\u0000ient": 1}',
        headers={**tenant.auth(), "content-type": "application/json"},
    )
    assert keyed.json()["errors"] == [
        {"pointer": "/pat\u0000ient", "detail": "text must not contain the NUL character (U+0000)"}
    ]
    query = client.get("/v1/authorizations?status=draft%00", headers=tenant.auth())
    assert query.status_code == 400
    assert query.json()["errors"][0] == {
        "parameter": "status",
        "in": "query",
        "detail": "text must not contain the NUL character (U+0000)",
    }
    path = client.get("/v1/authorizations/abc%00", headers=tenant.auth())
    assert path.status_code == 400
    form = client.post(
        "/ui/requests/new",
        content=b"patient_name=Ann%00Lee&csrf_token=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 400
    assert form.json()["errors"][0]["parameter"] == "patient_name"
    # An escaped backslash followed by "u0000" is ordinary text, not a NUL.
    literal = request_body()
    literal["patient"]["family_name"] = "O\\u0000Brien"
    kept = create(client, tenant, literal)
    assert kept.status_code == 201
    read = client.get(f"/v1/authorizations/{kept.json()['id']}", headers=tenant.auth())
    assert read.json()["patient"]["family_name"] == "O\\u0000Brien"
    assert count_requests(precert, tenant) == 1


def test_idempotency_key(client: TestClient, precert: Precert, tenant: Tenant) -> None:
    """The same key and body returns the first result and stores one request."""
    first = create(client, tenant, None, **{"Idempotency-Key": "abc-1"})
    again = create(client, tenant, None, **{"Idempotency-Key": "abc-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = create(client, tenant, request_body(category="other"), **{"Idempotency-Key": "abc-1"})
    assert other.status_code == 422
    assert other.json()["errors"][0]["parameter"] == "Idempotency-Key"
    assert count_requests(precert, tenant) == 1


def test_keys_are_required(client: TestClient, tenant: Tenant) -> None:
    """No key or a wrong key is 401 with a Bearer challenge; /health needs none."""
    assert client.get("/v1/authorizations").status_code == 401
    wrong = client.get("/v1/authorizations", headers={"Authorization": "Bearer pck_x_y"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/openapi.json").status_code == 200


def test_tenant_isolation(
    client: TestClient, precert: Precert, tenant: Tenant, unique_slug: str
) -> None:
    """Organization B can neither see nor change A's request: 404, never 403."""
    other = make_tenant(precert, unique_slug + "-b")
    rid = create(client, tenant).json()["id"]
    assert client.get(f"/v1/authorizations/{rid}", headers=other.auth()).status_code == 404
    moved = client.post(
        f"/v1/authorizations/{rid}/cancel", json={"reason": "x"}, headers=other.auth(Role.ADMIN)
    )
    assert moved.status_code == 404
    assert client.get("/v1/authorizations", headers=other.auth()).json()["items"] == []
    mine = client.get(f"/v1/authorizations/{rid}", headers=tenant.auth()).json()
    assert mine["status"] == "draft"


def test_roles(client: TestClient, tenant: Tenant) -> None:
    """An auditor reads but cannot create or move; a clinician cannot appeal."""
    assert create(client, tenant, None, **tenant.auth(Role.AUDITOR)).status_code == 403
    rid = create(client, tenant).json()["id"]
    assert (
        client.get(f"/v1/authorizations/{rid}", headers=tenant.auth(Role.AUDITOR)).status_code
        == 200
    )
    refused = client.post(
        f"/v1/authorizations/{rid}/ready", json={}, headers=tenant.auth(Role.AUDITOR)
    )
    assert refused.status_code == 403
    assert "auditor" in refused.json()["detail"]
    refused = client.post(
        f"/v1/authorizations/{rid}/ready", json={}, headers=tenant.auth(Role.CLINICIAN)
    )
    assert refused.status_code == 403


def test_every_patient_access_is_audited(
    client: TestClient, precert: Precert, tenant: Tenant
) -> None:
    """Create, read and list each leave an audit entry with actor, role, route and subject."""
    rid = create(client, tenant).json()["id"]
    client.get(f"/v1/authorizations/{rid}", headers=tenant.auth(Role.AUDITOR))
    client.get("/v1/authorizations", headers=tenant.auth(Role.MANAGER))
    with precert.uow() as uow:
        entries = list(reversed(uow.audit.entries(tenant.organization_id, subject_id=rid)))
    assert [(e.action, e.actor_role.value, e.channel) for e in entries] == [
        ("write", "coordinator", "POST /v1/authorizations"),
        ("read", "auditor", "GET /v1/authorizations/{authorization_id}"),
        ("read", "manager", "GET /v1/authorizations"),
    ]
    assert all(e.actor_id.startswith("apikey:") for e in entries)
