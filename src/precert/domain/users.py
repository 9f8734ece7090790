"""Staff users, their passwords and sessions, and patients' status links: the pure rules.

Passwords are stored as scrypt hashes with a per-user random salt
(``scrypt$n$r$p$salt$hash``, base64 fields), so a stolen table yields no
password cheaply. Session and patient-link tokens are 256-bit random strings;
only their SHA-256 is stored (they are random, so no slow KDF is needed), and a
token is shown exactly once, to whoever it is issued to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from precert.domain.access import ISSUABLE_ROLES, NOT_ISSUABLE
from precert.domain.authorization import Actor, Role
from precert.domain.errors import InvalidInput, Problem

#: Shortest password accepted: length matters more than character classes (NIST SP 800-63B).
MIN_PASSWORD_LENGTH = 12
#: Longest accepted, so hashing cost stays bounded.
MAX_PASSWORD_LENGTH = 128
#: scrypt cost: 2**14 is the interactive-login setting the scrypt paper recommends.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SCRYPT_DKLEN = 32
_SCRYPT_MAXMEM = 64 * 1024 * 1024

#: A signed-in session lasts one working shift at most.
SESSION_LIFETIME = timedelta(hours=12)
#: A patient status link stays valid long enough to cover a decision and an extension.
PATIENT_LINK_LIFETIME = timedelta(days=30)

#: Prefix of every user's actor id in events and the audit trail.
USER_ACTOR_PREFIX = "user:"
#: Prefix of the actor id a patient's status-page read is audited under.
PATIENT_LINK_ACTOR_PREFIX = "patient-link:"


@dataclass(frozen=True)
class User:
    """A staff member who signs in to the web UI; acts with exactly one role."""

    id: str
    organization_id: str
    email: str
    name: str
    role: Role
    password_hash: str
    created_at: datetime
    disabled_at: datetime | None = None

    @property
    def actor(self) -> Actor:
        """The actor this user's actions are recorded under."""
        return Actor(id=f"{USER_ACTOR_PREFIX}{self.id}", role=self.role)

    @property
    def active(self) -> bool:
        """Whether the user may sign in."""
        return self.disabled_at is None


@dataclass(frozen=True)
class Session:
    """A signed-in browser: only the hash of its token is stored."""

    token_hash: str
    user_id: str
    organization_id: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        """Whether the session may still be used at ``now``."""
        return self.ended_at is None and now < self.expires_at


@dataclass(frozen=True)
class PatientLink:
    """A patient's read-only view of one request, reachable by an expiring token."""

    id: str
    organization_id: str
    authorization_id: str
    token_hash: str
    created_by: str
    created_at: datetime
    expires_at: datetime

    def valid_at(self, now: datetime) -> bool:
        """Whether the link still opens the status page at ``now``."""
        return now < self.expires_at

    @property
    def actor(self) -> Actor:
        """The actor a read through this link is audited under.

        The system role: precert itself reads on the patient's behalf after the
        token proved the link, and the page shows only the plain-language status.
        """
        return Actor(id=f"{PATIENT_LINK_ACTOR_PREFIX}{self.id}", role=Role.SYSTEM)


@dataclass(frozen=True)
class IssuedToken:
    """A fresh random token (shown once) and the hash that is stored instead."""

    token: str
    token_hash: str


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def check_new_user(email: str, name: str, role: Role, password: str) -> list[Problem]:
    """Every problem with a new user's fields (empty when they are acceptable)."""
    problems: list[Problem] = []
    address = normalize_email(email)
    local, _, domain = address.partition("@")
    if not local or "." not in domain or " " in address or len(address) > 254:
        problems.append(Problem(("email",), f"{email!r} is not an email address"))
    if not name.strip() or len(name) > 200:
        problems.append(Problem(("name",), "give the user's name (1 to 200 characters)"))
    if role not in ISSUABLE_ROLES:
        problems.append(Problem(("role",), NOT_ISSUABLE))
    problems.extend(check_password(password, address))
    return problems


def check_password(password: str, email: str = "") -> list[Problem]:
    """Problems with a chosen password: length, and not trivially guessable from the account."""
    problems: list[Problem] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(Problem(("password",), f"use at least {MIN_PASSWORD_LENGTH} characters"))
    elif len(password) > MAX_PASSWORD_LENGTH:
        problems.append(Problem(("password",), f"use at most {MAX_PASSWORD_LENGTH} characters"))
    elif len(set(password)) < 4:
        problems.append(Problem(("password",), "use more than a few distinct characters"))
    elif len(local := normalize_email(email).split("@")[0]) >= 4 and local in password.lower():
        problems.append(Problem(("password",), "do not build the password from the email address"))
    return problems


def require_valid(problems: list[Problem]) -> None:
    """Raise InvalidInput naming every problem, if there are any."""
    if problems:
        raise InvalidInput(problems)


def new_user(
    *, organization_id: str, email: str, name: str, role: Role, password: str, at: datetime
) -> User:
    """A new, enabled user with a freshly salted password hash; raises InvalidInput."""
    require_valid(check_new_user(email, name, role, password))
    return User(
        id=str(uuid.uuid4()),
        organization_id=organization_id,
        email=normalize_email(email),
        name=name.strip(),
        role=role,
        password_hash=hash_password(password),
        created_at=at,
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` for the password, with a new 16-byte salt unless given."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM,
        dklen=_SCRYPT_DKLEN,
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def password_matches(stored: str, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant-time comparison).

    Reads the cost parameters from the stored hash, so raising them later
    keeps old hashes working.
    """
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@cache
def unknown_user_hash() -> str:
    """A hash to compare against when no user has the email, so both cases cost one scrypt."""
    return hash_password(secrets.token_urlsafe(16))


def hash_token(token: str) -> str:
    """SHA-256 hex of a random token, the only form stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def mint_token() -> IssuedToken:
    """A new 256-bit URL-safe random token and its stored hash."""
    token = secrets.token_urlsafe(32)
    return IssuedToken(token=token, token_hash=hash_token(token))


def new_session(user: User, at: datetime) -> tuple[IssuedToken, Session]:
    """Start a session for ``user``: the token goes in the cookie, the record in the store."""
    issued = mint_token()
    return issued, Session(
        token_hash=issued.token_hash,
        user_id=user.id,
        organization_id=user.organization_id,
        created_at=at,
        expires_at=at + SESSION_LIFETIME,
    )


def new_patient_link(
    *,
    organization_id: str,
    authorization_id: str,
    created_by: Actor,
    at: datetime,
    lifetime: timedelta = PATIENT_LINK_LIFETIME,
) -> tuple[IssuedToken, PatientLink]:
    """A status link for one request: the token goes to the patient, the hash to the store."""
    if lifetime <= timedelta(0):
        raise ValueError(f"a patient link needs a positive lifetime, got {lifetime}")
    issued = mint_token()
    return issued, PatientLink(
        id=secrets.token_hex(8),
        organization_id=organization_id,
        authorization_id=authorization_id,
        token_hash=issued.token_hash,
        created_by=created_by.id,
        created_at=at,
        expires_at=at + lifetime,
    )
