"""Property-based bad input at the API edge: any mangled create is a 4xx problem, stores nothing."""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import request_body
from tests.integration.conftest import Tenant
from tests.integration.test_api import count_requests

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a leaf or container inside a JSON document."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


BODY = request_body()
PATHS = paths(BODY)


@st.composite
def mangled(draw: st.DrawFn) -> dict[str, Any]:
    """A valid body with one to three values replaced by junk or removed."""
    body = copy.deepcopy(BODY)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = body
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(JUNK)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change already removed this path
    return body


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=mangled())
def test_mangled_creates_are_refused_precisely(
    client: TestClient, tenant: Tenant, body: dict[str, Any]
) -> None:
    """A refused body is a 4xx problem+json whose errors point into the body."""
    before = count_requests(client.app.state.precert, tenant)  # type: ignore[attr-defined]
    response = client.post(
        "/v1/authorizations",
        content=json.dumps(body),
        headers={**tenant.auth(), "content-type": "application/json"},
    )
    assert response.status_code < 500, response.text
    if response.status_code == 201:
        return  # the junk happened to be valid (e.g. an optional field removed)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"]
    assert all("pointer" in e or "parameter" in e for e in problem["errors"])
    assert count_requests(client.app.state.precert, tenant) == before  # type: ignore[attr-defined]
