"""The HTTP front of the fake org: WSGI request → response, with what every Salesforce request goes through
before it reaches a route: the token endpoint, ``GET /services/data/``, version checks, the bearer token,
the daily API limit, injected faults, ``Sforce-Limit-Info`` and the call log.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from werkzeug.wrappers import Request, Response

from sf_bigtime_local.faults import Fault

from .admin import admin
from .composite import VERSION_PATH
from .errors import bad_request, fault_body, not_found
from .rest import Call, parse_json
from .store import WriteContext
from .usage import ApiCall, call_kind

if TYPE_CHECKING:
    from .app import FakeSalesforce

log = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=UTF-8"
NOT_FOUND_BODY = [
    {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND", "fields": []}
]


def version_label(version: str) -> str:
    """Release name of an API version: 31.0 is Summer '14, then three releases a year."""
    index = int(float(version)) - 31
    season = ("Summer", "Winter", "Spring")[index % 3]
    return f"{season} '{14 + (index + 2) // 3:02d}"


def json_response(
    status: int, body: Any, headers: dict[str, str] | None = None, pretty: bool = False
) -> Response:
    if status == 204 or body is None:
        return Response(status=status, headers=headers or {})
    text = json.dumps(body, indent=2 if pretty else None, separators=None if pretty else (",", ":"))
    return Response(text, status=status, headers=headers or {}, content_type=JSON_TYPE)


class Gateway:
    """WSGI entry point of one :class:`~.app.FakeSalesforce`."""

    def __init__(self, org: FakeSalesforce) -> None:
        self.org = org

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            if request.path.startswith("/__fake/"):
                route = request.path[len("/__fake/") :]
                response = json_response(*admin(self.org, request.method, route, request.get_data()))
            elif request.path.startswith("/services/"):
                response = self._services(request)
            else:
                response = json_response(404, NOT_FOUND_BODY)
        except Exception:  # never crash the server thread: answer like Salesforce's 500
            log.exception("fake Salesforce failed")
            response = json_response(
                500,
                [{"message": traceback.format_exc(limit=3), "errorCode": "UNKNOWN_EXCEPTION", "fields": []}],
            )
        return response(environ, start_response)

    def _services(self, request: Request) -> Response:
        org = self.org
        org.host = request.host or org.host
        client = _call_client(request.headers.get("Sforce-Call-Options"))
        counted = VERSION_PATH.match(request.path) is not None
        with org.lock:
            usage = org.usage_log.count_call() if counted else org.usage_log.api_count
        fault = org.faults.take(request.method, request.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        faulted = fault is not None and bool(fault.status)
        if fault is not None and fault.status and not fault.after:
            response = _fault_response(fault)
        else:
            response = self._handle(request, client, usage)
            if fault is not None and fault.status and fault.after:
                response = _fault_response(fault)
        if counted:
            response.headers["Sforce-Limit-Info"] = f"api-usage={usage}/{org.daily_api_limit}"
            if org.session_calls and usage % org.session_calls == 0:
                with org.lock:
                    org.auth.expire_all()  # this call went through; the next one needs a new token
        with org.lock:
            org.usage_log.calls.append(
                ApiCall(
                    method=request.method,
                    path=request.path,
                    query=request.query_string.decode("latin-1"),
                    status=response.status_code,
                    call_client=client,
                    time=time.time(),
                    counted=counted,
                    fault=faulted,
                    kind=call_kind(request.method, request.path),
                )
            )
        return response

    def _handle(self, request: Request, client: str | None, usage: int) -> Response:
        org = self.org
        path = request.path
        pretty = request.headers.get("X-PrettyPrint", "") == "1"
        if path == "/services/oauth2/token":
            if request.method != "POST":
                return json_response(
                    405, {"error": "invalid_request", "error_description": "must use HTTP POST"}
                )
            with org.lock:
                status, body = org.auth.token_endpoint(
                    request.form,
                    request.headers.get("Authorization"),
                    request.host,
                    org.integration_user_id,
                    org.user_by_username,
                )
            return json_response(status, body)
        if path.rstrip("/") == "/services/data" and request.method == "GET":
            return json_response(200, self._versions(), pretty=pretty)
        m = VERSION_PATH.match(path)
        if m is None:
            return json_response(404, not_found().body())
        version = m.group(1)
        if not 31 <= float(version) <= max(67.0, float(org.api_version)):
            return json_response(404, not_found().body())
        with org.lock:
            user_id = org.auth.user_for(request.headers.get("Authorization"))
        if user_id is None:
            body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            return json_response(401, body, {"WWW-Authenticate": 'Token realm="Salesforce"'})
        if usage > org.daily_api_limit:
            return json_response(
                403, bad_request("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").body()
            )
        segments = _segments(request, m.group(0)[: len("/services/data/v") + len(version)])
        params = {k: request.args.get(k, "") for k in request.args}
        raw = request.get_data()
        ctx = WriteContext(user_id, client, api=True, version=version)
        with org.lock:
            reply = org.route(Call(request.method, version, segments, params, lambda: parse_json(raw), ctx))
            if reply.status < 300:
                org.commit(ctx)
        return json_response(reply.status, reply.body, reply.headers, pretty=pretty)

    def _versions(self) -> list[dict[str, str]]:
        current = self.org.api_version
        top = max(67, int(float(current)))
        versions = [f"{v}.0" for v in range(31, top + 1)]
        if current not in versions:
            versions.append(current)
        return [{"label": version_label(v), "url": f"/services/data/v{v}", "version": v} for v in versions]


def _fault_response(fault: Fault) -> Response:
    body = fault.body if fault.body is not None else fault_body(fault.status)
    if isinstance(body, str | bytes):
        response = Response(body, status=fault.status, content_type="text/plain;charset=UTF-8")
    else:
        response = json_response(fault.status, body)
    for key, value in fault.headers.items():
        response.headers[key] = value
    return response


def _call_client(header: str | None) -> str | None:
    """``Sforce-Call-Options: client=bigtime-sync, defaultNamespace=x`` → ``bigtime-sync``."""
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "client" and value.strip():
            return value.strip()
    return None


def _segments(request: Request, prefix: str) -> list[str]:
    """Path segments after ``/services/data/vNN.N``, split on the raw URI so ``%2F`` in an external id
    stays inside its segment, then percent-decoded."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    path = urlsplit(raw).path if raw else request.path
    if not path.startswith(prefix):
        path = request.path
    return [unquote(s) for s in path[len(prefix) :].strip("/").split("/") if s]
