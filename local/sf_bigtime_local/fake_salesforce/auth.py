"""OAuth 2.0 token endpoint (client credentials, JWT bearer) and the bearer tokens it hands out."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jwt

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


def _error(error: str, description: str) -> tuple[int, dict[str, Any]]:
    return 400, {"error": error, "error_description": description}


class Auth:
    """Issues and checks access tokens; every token runs as one User (the integration user by default)."""

    def __init__(
        self,
        org_id: str,
        client_id: str,
        client_secret: str,
        jwt_public_key: str | bytes | None = None,
        audiences: Iterable[str] = DEFAULT_AUDIENCES,
        opaque: Callable[[], str] = lambda: secrets.token_urlsafe(60),
    ) -> None:
        self.org_id = org_id
        self.opaque = opaque  # the part of a token after "<org15>!" (a test may give it a known pattern)
        self.client_id = client_id
        self.client_secret = client_secret
        self.jwt_public_key = jwt_public_key
        self.audiences = tuple(audiences)
        self.tokens: dict[str, str] = {}  # access token -> user id

    def issue(self, user_id: str) -> str:
        # Real tokens look like "<org15>!<opaque>"; clients must treat them as opaque.
        token = f"{self.org_id[:15]}!{self.opaque()}"
        self.tokens[token] = user_id
        return token

    def user_for(self, authorization: str | None) -> str | None:
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() not in ("bearer", "oauth"):
            return None
        return self.tokens.get(token.strip())

    def expire_all(self) -> None:
        self.tokens.clear()

    def token_endpoint(
        self,
        form: Mapping[str, str],
        authorization: str | None,
        host: str,
        run_as: str,
        user_by_username: Callable[[str], str | None],
    ) -> tuple[int, dict[str, Any]]:
        """Answer ``POST /services/oauth2/token``; ``run_as`` is the client-credentials run-as user."""
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            if authorization and authorization.lower().startswith("basic "):
                try:
                    decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    return _error("invalid_client", "invalid client credentials")
                client_id, _, client_secret = decoded.partition(":")
            if client_id != self.client_id or client_secret != self.client_secret:
                return _error("invalid_client", "invalid client credentials")
            return 200, self._success(self.issue(run_as), run_as, host)
        if grant == JWT_GRANT:
            return self._jwt(form.get("assertion", ""), host, user_by_username)
        if not grant:
            return _error("invalid_request", "grant type not specified")
        return _error("unsupported_grant_type", "grant type not supported")

    def _jwt(
        self, assertion: str, host: str, user_by_username: Callable[[str], str | None]
    ) -> tuple[int, dict[str, Any]]:
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("alg") != "RS256":
                return _error("invalid_grant", "invalid assertion")
            options = {"verify_exp": False, "verify_aud": False, "verify_iss": False, "verify_iat": False}
            if self.jwt_public_key is not None:
                claims = jwt.decode(assertion, self.jwt_public_key, algorithms=["RS256"], options=options)
            else:
                claims = jwt.decode(assertion, options={**options, "verify_signature": False})
        except jwt.PyJWTError:
            return _error("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.client_id:
            return _error("invalid_client", "client identifier invalid")
        if claims.get("aud") not in self.audiences:
            return _error("invalid_grant", "audience is invalid")
        try:
            # simple-salesforce (and Salesforce's own example) send exp as a string of seconds.
            expired = float(claims.get("exp")) < time.time()
        except (TypeError, ValueError):
            return _error("invalid_grant", "invalid assertion")
        if expired:
            return _error("invalid_grant", "expired authorization code")
        user_id = user_by_username(str(claims.get("sub", "")))
        if user_id is None:
            return _error("invalid_grant", "user hasn't approved this consumer")
        return 200, self._success(self.issue(user_id), user_id, host)

    def _success(self, token: str, user_id: str, host: str) -> dict[str, Any]:
        identity = f"https://login.salesforce.com/id/{self.org_id}/{user_id}"
        issued_at = str(int(time.time() * 1000))
        digest = hmac.new(
            self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return {
            "access_token": token,
            "signature": base64.b64encode(digest).decode(),
            "scope": "api",
            # https + the request's own host: simple-salesforce keeps only host:port and a rewriting
            # session turns it back into http://127.0.0.1:PORT.
            "instance_url": f"https://{host}",
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
