"""Authentication and permissions of the fake BigTime.

* Firm API key: ``X-Auth-ApiToken`` + ``X-Auth-Realm`` on every call, no session.
* User session: ``POST /session`` with ``{"UserId", "Pwd"}`` (or form ``userid``/``pwd``) returns
  ``{firm, staffsid, userid, token, fname, sname}``; later calls send ``X-Auth-Token`` + ``X-Auth-Realm``.
  Sessions expire after ``session_ttl`` seconds or at :meth:`Auth.expire_all`.

Anything missing, unknown, expired or sent with the wrong realm is a 401 with ASP.NET's
``{"Message": "Authorization has been denied for this request."}``. If an ``X-Auth-ApiToken`` header
is present it decides alone: a bad API key is not rescued by a good session token ([Unknown]; stricter).
The realm is compared exactly ([Unknown]; stricter). A failed login is a 401 as well ([Unknown]).

Permissions are per credential, e.g. ``{"project.create": False}``; ``"project.*"`` and ``"*"`` are
wildcards and anything not listed is allowed. BigTime answers a denied action with **405**. Denied
``*.view`` on a list or picklist returns an empty list rather than an error, because BigTime filters
what a caller may not see (the trap that makes a service think a project does not exist yet).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import FakeConfig
from .models import ApiError

DENIED = "Authorization has been denied for this request."

ENTITIES = (
    "client",
    "project",
    "contact",
    "customfield",
    "task",
    "staff",
    "team",
    "template",
    "time",
    "expense",
    "invoice",
    "report",
)
ACTIONS = ("view", "create", "update", "delete")
PERMISSIONS = frozenset(f"{e}.{a}" for e in ENTITIES for a in ACTIONS)
_PERMISSION_KEYS = PERMISSIONS | {f"{e}.*" for e in ENTITIES} | {"*"}


def check_permission_keys(permissions: Mapping[str, Any]) -> dict[str, bool]:
    """Reject typos in a permission map (a misspelt key would silently allow everything)."""
    unknown = set(permissions) - _PERMISSION_KEYS
    if unknown:
        raise ValueError(f"unknown permissions {sorted(unknown)}; known: {sorted(_PERMISSION_KEYS)}")
    return {key: bool(value) for key, value in permissions.items()}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the credential kind, the staffer it acts as, and its permissions."""

    kind: str  # "apitoken" | "session"
    staffsid: int
    permissions: Mapping[str, bool] = field(default_factory=dict)

    def allows(self, permission: str) -> bool:
        """Most specific entry wins: ``project.create``, then ``project.*``, then ``*``; default allow."""
        entity = permission.split(".", 1)[0]
        for key in (permission, f"{entity}.*", "*"):
            if key in self.permissions:
                return self.permissions[key]
        return True


@dataclass
class _User:
    email: str
    pwd: str
    userid: int
    staffsid: int
    fname: str
    sname: str
    permissions: dict[str, bool]


@dataclass
class _Session:
    token: str
    principal: Principal
    expires_at: float
    expired: bool = False


def auth_kind(headers: Mapping[str, str]) -> str:
    """Which credential a request carries, for the call log: apitoken, session or none."""
    if headers.get("X-Auth-ApiToken"):
        return "apitoken"
    if headers.get("X-Auth-Token"):
        return "session"
    return "none"


class Auth:
    """API keys, users and sessions of one fake firm (``realm``)."""

    def __init__(
        self,
        realm: str,
        api_tokens: Mapping[str, Mapping[str, Any]],
        users: Mapping[str, str | Mapping[str, Any]],
        config: FakeConfig,
        clock: Callable[[], float],
    ) -> None:
        self.realm = realm
        self._config = config
        self._clock = clock
        self._tokens: dict[str, Principal] = {}
        for token, spec in api_tokens.items():
            perms = check_permission_keys(spec.get("permissions", {}))
            self._tokens[token] = Principal("apitoken", int(spec.get("staffsid", 1)), perms)
        self._users: dict[str, _User] = {}
        for n, (email, spec) in enumerate(users.items()):
            data: Mapping[str, Any] = {"pwd": spec} if isinstance(spec, str) else spec
            self._users[email.lower()] = _User(
                email=email,
                pwd=str(data["pwd"]),
                userid=int(data.get("userid", 101 + n)),
                staffsid=int(data.get("staffsid", 1 + n)),
                fname=str(data.get("fname", "Ops")),
                sname=str(data.get("sname", "User")),
                permissions=check_permission_keys(data.get("permissions", {})),
            )
        self._sessions: dict[str, _Session] = {}

    def reset(self) -> None:
        """Forget every session."""
        self._sessions.clear()

    def expire_all(self) -> int:
        """Expire every live session now (the 7-day/24-hour expiry, on demand); returns how many."""
        live = [s for s in self._sessions.values() if not s.expired]
        for session in live:
            session.expired = True
        return len(live)

    def login(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /session``: check UserId/Pwd (keys in any case), return the lowercase-keyed session."""
        fields = {str(k).lower(): v for k, v in body.items()}
        user = self._users.get(str(fields.get("userid") or "").lower())
        firm = fields.get("firm")
        if user is None or fields.get("pwd") != user.pwd or firm not in (None, "", self.realm):
            raise ApiError(401, DENIED)
        token = secrets.token_hex(24)
        principal = Principal("session", user.staffsid, user.permissions)
        self._sessions[token] = _Session(token, principal, self._clock() + self._config.session_ttl)
        return {
            "firm": self.realm,
            "staffsid": user.staffsid,
            "userid": user.userid,
            "token": token,
            "fname": user.fname,
            "sname": user.sname,
        }

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The caller's principal, or a 401 for any missing, wrong or expired credential or realm."""
        if headers.get("X-Auth-Realm") != self.realm:
            raise ApiError(401, DENIED)
        api_token = headers.get("X-Auth-ApiToken")
        if api_token:
            principal = self._tokens.get(api_token)
            if principal is None:
                raise ApiError(401, DENIED)
            return principal
        session = self._sessions.get(headers.get("X-Auth-Token") or "")
        if session is None or session.expired or self._clock() >= session.expires_at:
            raise ApiError(401, DENIED)
        return session.principal
