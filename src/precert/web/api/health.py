"""Liveness and readiness, open to load balancers without a key."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from precert import __version__
from precert.web.deps import PrecertDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(precert: PrecertDep) -> dict[str, str]:
    """Whether the service and its database answer."""
    with precert.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__, "database": precert.engine.dialect.name}
