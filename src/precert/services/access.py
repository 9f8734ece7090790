"""Who is acting, for which organization, through which channel; and the audit it leaves."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from precert.domain.access import Permission, may
from precert.domain.authorization import Actor
from precert.domain.errors import DomainError
from precert.domain.tenancy import AuditEntry
from precert.ports import UnitOfWork


class Forbidden(DomainError):
    """The actor's role does not carry the permission the action needs."""


@dataclass(frozen=True)
class AccessContext:
    """The caller: organization, actor (user or API key, with role), and channel (route or CLI)."""

    organization_id: str
    actor: Actor
    channel: str

    def require(self, permission: Permission) -> None:
        """Raise Forbidden unless the actor's role carries ``permission``."""
        if not may(self.actor.role, permission):
            raise Forbidden(
                f"role '{self.actor.role.value}' may not {permission.value}; ask an admin for a "
                "key with a role that may"
            )


def audit(
    uow: UnitOfWork,
    context: AccessContext,
    at: datetime,
    action: str,
    subject_type: str,
    subject_ids: Iterable[str],
    **detail: str,
) -> None:
    """Write one audit entry per subject touched (so 'who saw this patient' is one query)."""
    for subject_id in subject_ids:
        uow.audit.record(
            AuditEntry(
                at=at,
                organization_id=context.organization_id,
                actor_id=context.actor.id,
                actor_role=context.actor.role,
                action=action,
                channel=context.channel,
                subject_type=subject_type,
                subject_id=subject_id,
                detail=dict(detail),
            )
        )
