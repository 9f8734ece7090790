"""Who may do what: the role-to-permission table, in one place.

Least privilege: an auditor reads the audit trail and requests but changes
nothing; a clinician discovers requirements and opens requests; only managers
override readiness blockers; only admins manage keys and payer connections.
"""

from __future__ import annotations

from enum import StrEnum

from precert.domain.authorization import Role


class Permission(StrEnum):
    """An action guarded by role."""

    READ_AUTHORIZATIONS = "authorizations:read"
    CREATE_AUTHORIZATIONS = "authorizations:create"
    WORK_AUTHORIZATIONS = "authorizations:work"
    APPEAL = "authorizations:appeal"
    OVERRIDE_READINESS = "authorizations:override"
    DISCOVER_REQUIREMENTS = "coverage:discover"
    READ_ANALYTICS = "analytics:read"
    READ_AUDIT = "audit:read"
    ADMINISTER = "admin"


_ALL = frozenset(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.COORDINATOR: frozenset(
        {
            Permission.READ_AUTHORIZATIONS,
            Permission.CREATE_AUTHORIZATIONS,
            Permission.WORK_AUTHORIZATIONS,
            Permission.APPEAL,
            Permission.DISCOVER_REQUIREMENTS,
            Permission.READ_ANALYTICS,
        }
    ),
    Role.CLINICIAN: frozenset(
        {
            Permission.READ_AUTHORIZATIONS,
            Permission.CREATE_AUTHORIZATIONS,
            Permission.DISCOVER_REQUIREMENTS,
        }
    ),
    Role.MANAGER: frozenset(
        {
            Permission.READ_AUTHORIZATIONS,
            Permission.CREATE_AUTHORIZATIONS,
            Permission.WORK_AUTHORIZATIONS,
            Permission.APPEAL,
            Permission.OVERRIDE_READINESS,
            Permission.DISCOVER_REQUIREMENTS,
            Permission.READ_ANALYTICS,
        }
    ),
    Role.AUDITOR: frozenset(
        {Permission.READ_AUTHORIZATIONS, Permission.READ_AUDIT, Permission.READ_ANALYTICS}
    ),
    Role.ADMIN: _ALL,
    Role.INTEGRATION: frozenset(
        {
            Permission.READ_AUTHORIZATIONS,
            Permission.CREATE_AUTHORIZATIONS,
            Permission.WORK_AUTHORIZATIONS,
            Permission.DISCOVER_REQUIREMENTS,
        }
    ),
    Role.SYSTEM: _ALL,
}

#: Roles a key or user may be issued; SYSTEM is precert's own background work only.
ISSUABLE_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.SYSTEM)
NOT_ISSUABLE = "the system role is precert's own and cannot be given"


def check_issuable(role: Role) -> None:
    """Raise ValueError unless ``role`` may be given to a user or an API key."""
    if role not in ISSUABLE_ROLES:
        raise ValueError(NOT_ISSUABLE)


def may(role: Role, permission: Permission) -> bool:
    """Whether ``role`` carries ``permission``."""
    return permission in ROLE_PERMISSIONS[role]
