"""Account use cases: users, sign-in sessions, API keys, patient status links.

Each function takes an open unit of work and commits what it changes. Reads
of patient data go through ``precert.services.authorizations`` so they are
audited like any API read; a patient's status-page read is audited under the
actor ``patient-link:<link id>``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from precert.adapters.db.unit_of_work import SqlUnitOfWork
from precert.adapters.db.users import (
    SqlApiKeyAdmin,
    SqlOrganizations,
    SqlPatientLinks,
    SqlSessions,
    SqlUsers,
)
from precert.domain.access import Permission, check_issuable
from precert.domain.authorization import AuthorizationRequest, Role
from precert.domain.errors import NotFound
from precert.domain.tenancy import ApiKey, Organization, Payer, mint_api_key
from precert.domain.users import (
    PatientLink,
    Session,
    User,
    hash_password,
    hash_token,
    new_patient_link,
    new_session,
    new_user,
    normalize_email,
    password_matches,
    unknown_user_hash,
)
from precert.ports import Clock
from precert.services.access import AccessContext, audit
from precert.services.authorizations import SUBJECT, read_authorization


def organization(uow: SqlUnitOfWork, organization_id: str) -> Organization:
    """The organization with this id; NotFound otherwise."""
    found = SqlOrganizations(uow.connection).get(organization_id)
    if found is None:
        raise NotFound(f"organization {organization_id} not found")
    return found


# --- users ----------------------------------------------------------------------------


def create_user(
    uow: SqlUnitOfWork,
    *,
    organization_slug: str,
    email: str,
    name: str,
    role: Role,
    password: str,
    clock: Clock,
) -> User:
    """Create a user of the organization with ``organization_slug`` (the CLI's path)."""
    found = uow.directory.organization_by_slug(organization_slug)
    if found is None:
        raise NotFound(f"no organization with slug {organization_slug!r}")
    user = new_user(
        organization_id=found.id,
        email=email,
        name=name,
        role=role,
        password=password,
        at=clock.now(),
    )
    SqlUsers(uow.connection).add(user)
    uow.commit()
    return user


def add_user(
    uow: SqlUnitOfWork,
    context: AccessContext,
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
    clock: Clock,
) -> User:
    """An admin adds a user to their own organization."""
    context.require(Permission.ADMINISTER)
    user = new_user(
        organization_id=context.organization_id,
        email=email,
        name=name,
        role=role,
        password=password,
        at=clock.now(),
    )
    SqlUsers(uow.connection).add(user)
    uow.commit()
    return user


def list_users(uow: SqlUnitOfWork, context: AccessContext) -> Sequence[User]:
    """The organization's users, for its admins."""
    context.require(Permission.ADMINISTER)
    return SqlUsers(uow.connection).list(context.organization_id)


def disable_user(uow: SqlUnitOfWork, context: AccessContext, user_id: str, clock: Clock) -> None:
    """An admin stops a user from signing in; their open sessions end at once."""
    context.require(Permission.ADMINISTER)
    if not SqlUsers(uow.connection).disable(context.organization_id, user_id, clock.now()):
        raise NotFound(f"user {user_id} not found or already disabled")
    uow.commit()


def actor_names(
    uow: SqlUnitOfWork, organization_id: str, actor_ids: Sequence[str]
) -> dict[str, str]:
    """Display names of the organization's users among ``actor_ids``, keyed by actor id."""
    prefix = "user:"
    user_ids = [a.removeprefix(prefix) for a in actor_ids if a.startswith(prefix)]
    names = SqlUsers(uow.connection).names(organization_id, user_ids)
    return {f"{prefix}{user_id}": name for user_id, name in names.items()}


# --- sessions -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token for the cookie (shown once) and the user."""

    token: str
    user: User


def sign_in(
    uow: SqlUnitOfWork, *, organization_slug: str, email: str, password: str, clock: Clock
) -> SignedIn | None:
    """A new session when the credentials are right and the user is enabled, else None.

    Unknown organizations and emails cost the same scrypt as a wrong password,
    so response times do not reveal which accounts exist.
    """
    found = uow.directory.organization_by_slug(organization_slug.strip().lower())
    user = SqlUsers(uow.connection).by_email(found.id, normalize_email(email)) if found else None
    matches = password_matches(user.password_hash if user else unknown_user_hash(), password)
    if user is None or not matches or not user.active:
        return None
    issued, session = new_session(user, clock.now())
    SqlSessions(uow.connection).add(session)
    uow.commit()
    return SignedIn(issued.token, user)


def session_user(uow: SqlUnitOfWork, token: str, clock: Clock) -> tuple[Session, User] | None:
    """The live session and enabled user a session token stands for, else None."""
    found = SqlSessions(uow.connection).find(hash_token(token))
    if found is None:
        return None
    session, user = found
    if not session.valid_at(clock.now()) or not user.active:
        return None
    return session, user


def sign_out(uow: SqlUnitOfWork, token: str, clock: Clock) -> None:
    """End the session the token stands for (nothing happens for an unknown token)."""
    SqlSessions(uow.connection).end(hash_token(token), clock.now())
    uow.commit()


# --- API keys -------------------------------------------------------------------------


def list_api_keys(uow: SqlUnitOfWork, context: AccessContext) -> Sequence[ApiKey]:
    """The organization's API keys, for its admins."""
    context.require(Permission.ADMINISTER)
    return SqlApiKeyAdmin(uow.connection).list(context.organization_id)


def issue_key(
    uow: SqlUnitOfWork, context: AccessContext, *, name: str, role: Role, clock: Clock
) -> str:
    """An admin issues a key for their organization; returns the token, shown once."""
    context.require(Permission.ADMINISTER)
    check_issuable(role)
    issued = mint_api_key(
        organization_id=context.organization_id, name=name, role=role, at=clock.now()
    )
    uow.directory.add_api_key(issued.record)
    uow.commit()
    return issued.token


def revoke_key(uow: SqlUnitOfWork, context: AccessContext, key_id: str, clock: Clock) -> None:
    """An admin revokes one of the organization's keys."""
    context.require(Permission.ADMINISTER)
    if not SqlApiKeyAdmin(uow.connection).revoke(context.organization_id, key_id, clock.now()):
        raise NotFound(f"API key {key_id} not found or already revoked")
    uow.commit()


# --- patient links --------------------------------------------------------------------


def create_patient_link(
    uow: SqlUnitOfWork, context: AccessContext, authorization_id: str, clock: Clock
) -> tuple[str, PatientLink]:
    """A coordinator makes a status link for the patient of one request; the token is shown once."""
    context.require(Permission.WORK_AUTHORIZATIONS)
    request = uow.authorizations.get(context.organization_id, authorization_id)
    now = clock.now()
    issued, link = new_patient_link(
        organization_id=context.organization_id,
        authorization_id=request.id,
        created_by=context.actor,
        at=now,
    )
    SqlPatientLinks(uow.connection).add(link)
    audit(uow, context, now, "write", SUBJECT, [request.id], event="patient-link", link=link.id)
    uow.commit()
    return issued.token, link


def patient_links(
    uow: SqlUnitOfWork, context: AccessContext, authorization_id: str
) -> Sequence[PatientLink]:
    """The status links made for a request (their tokens are not kept)."""
    context.require(Permission.READ_AUTHORIZATIONS)
    return SqlPatientLinks(uow.connection).for_authorization(
        context.organization_id, authorization_id
    )


def withdraw_patient_link(
    uow: SqlUnitOfWork, context: AccessContext, link_id: str, clock: Clock
) -> None:
    """A coordinator ends a status link early (sent to the wrong number, say)."""
    context.require(Permission.WORK_AUTHORIZATIONS)
    if not SqlPatientLinks(uow.connection).expire(context.organization_id, link_id, clock.now()):
        raise NotFound(f"patient link {link_id} not found or already expired")
    uow.commit()


@dataclass(frozen=True)
class PatientStatus:
    """What a patient's status page may draw on: the request, its payer, the provider."""

    request: AuthorizationRequest
    payer: Payer | None
    organization: Organization
    link: PatientLink


def read_patient_status(
    uow: SqlUnitOfWork, token: str, clock: Clock, channel: str
) -> PatientStatus | None:
    """The request behind a live patient link, read (and audited) as the link; else None."""
    link = SqlPatientLinks(uow.connection).by_token_hash(hash_token(token))
    if link is None or not link.valid_at(clock.now()):
        return None
    context = AccessContext(link.organization_id, link.actor, channel)
    view = read_authorization(uow, context, link.authorization_id, clock)
    return PatientStatus(
        request=view.request,
        payer=uow.directory.payer(view.request.coverage.payer_id),
        organization=organization(uow, link.organization_id),
        link=link,
    )


# --- demo -----------------------------------------------------------------------------

#: The demo organization's sign-ins: one user per role a person signs in with.
DEMO_USERS: tuple[tuple[str, str, Role], ...] = (
    ("coordinator@demo.example", "Casey Coordinator", Role.COORDINATOR),
    ("clinician@demo.example", "Dr. Jordan Clinician", Role.CLINICIAN),
    ("manager@demo.example", "Morgan Manager", Role.MANAGER),
    ("auditor@demo.example", "Avery Auditor", Role.AUDITOR),
    ("admin@demo.example", "Alex Admin", Role.ADMIN),
)


def provision_demo_users(uow: SqlUnitOfWork, organization_slug: str, clock: Clock) -> str:
    """Make sure the demo users exist, give each a fresh random password, and say how to sign in.

    Fresh passwords on every start mean a demo database copied elsewhere
    carries no usable credentials. Returns lines for the console.
    """
    found = uow.directory.organization_by_slug(organization_slug)
    if found is None:
        raise NotFound(f"no organization with slug {organization_slug!r}")
    users = SqlUsers(uow.connection)
    lines = [f"  sign in at /ui/sign-in with organization '{organization_slug}':"]
    for email, name, role in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        existing = users.by_email(found.id, email)
        if existing is None:
            users.add(
                new_user(
                    organization_id=found.id,
                    email=email,
                    name=name,
                    role=role,
                    password=password,
                    at=clock.now(),
                )
            )
        else:
            users.set_password_hash(existing.id, hash_password(password))
        lines.append(f"    {role.value:<12} {email:<28} password {password}")
    uow.commit()
    return "\n".join(lines)
