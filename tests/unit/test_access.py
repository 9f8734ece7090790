"""Who may be given which role, and what each role may do."""

from __future__ import annotations

import pytest

from precert.domain.access import ISSUABLE_ROLES, Permission, check_issuable, may
from precert.domain.authorization import Role


def test_system_role_is_never_issued() -> None:
    """Every role but precert's own SYSTEM role may be given to a user or key."""
    with pytest.raises(ValueError, match="system role"):
        check_issuable(Role.SYSTEM)
    for role in ISSUABLE_ROLES:
        check_issuable(role)
    assert set(ISSUABLE_ROLES) == set(Role) - {Role.SYSTEM}


def test_least_privilege() -> None:
    """Auditors change nothing; only managers and admins override readiness."""
    writes = {Permission.CREATE_AUTHORIZATIONS, Permission.WORK_AUTHORIZATIONS}
    assert not any(may(Role.AUDITOR, p) for p in writes)
    overriders = {r for r in ISSUABLE_ROLES if may(r, Permission.OVERRIDE_READINESS)}
    assert overriders == {Role.MANAGER, Role.ADMIN}
