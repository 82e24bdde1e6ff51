"""The fake BigTime's wire format: routes, JSON answers, query and body parsing, the call record.

Shared by the app and every route family (``routes.py``, ``tasks.py``, ``timesheet.py`` …): a family
module declares its ``ROUTES`` as :class:`Route` rows whose handlers take the :class:`~.firm.Firm`,
the request, the authenticated principal and the path parameters, and return ``(status, payload)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from sf_bigtime_local.faults import Fault

from .auth import DENIED, Principal
from .models import ApiError, bad_request, parse_date

if TYPE_CHECKING:
    from .firm import Firm

JSON_TYPE = "application/json; charset=utf-8"

Reply = tuple[int, Any]
Handler = Callable[["Firm", Request, Principal | None, dict[str, str]], Reply]

_DEFAULT_FAULT_MESSAGES = {
    400: "The request is invalid.",
    401: DENIED,
    404: "No HTTP resource was found that matches the request URI.",
    405: "You do not have permission to do this.",
    429: "Too many requests.",
    503: "The service is unavailable.",
}


@dataclass
class RecordedCall:
    """One API call as the fake saw it (admin calls are not recorded)."""

    method: str
    path: str  # as requested, e.g. /BigtimeData/api/v2/Project/Detail/5001
    route: str | None  # matched route template, e.g. /project/detail/{id}
    status: int
    auth: str  # apitoken | session | none
    time: float  # clock() when the request arrived
    query: str
    body: Any  # the parsed JSON (or form) body, None when empty or unreadable
    fault: bool  # answered by an injected fault

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``GET /__fake/calls``)."""
        return asdict(self)

    @property
    def key(self) -> str:
        """``"METHOD /route/{id}"`` (the raw path for an unknown route), the key of the call counters."""
        return f"{self.method} {self.route if self.route is not None else self.path}"


@dataclass(frozen=True)
class Route:
    """One API route: verb, lower-case path template, handler, and the permission it needs."""

    method: str
    template: str
    handler: Handler
    permission: str | None = None
    auth: bool = True
    filtered: bool = False  # a denied view permission yields [] instead of 405 (lists, picklists)

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """The template as an anchored-by-fullmatch pattern over the lower-cased relative path."""
        pattern = (
            re.escape(self.template)
            .replace(r"\{id\}", r"(?P<id>\d+)")
            .replace(r"\{sid\}", r"(?P<id>-?\d+)")  # time entries: unsubmitted ones have negative ids
            .replace(r"\{name\}", r"(?P<name>[^/]+)")
        )
        return re.compile(pattern)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A BigTime-style JSON answer (204 has no body)."""
    if status == 204:
        return Response(status=204, headers=Headers(dict(headers or {})))
    body = json.dumps(payload, ensure_ascii=False)
    return Response(body, status=status, content_type=JSON_TYPE, headers=Headers(dict(headers or {})))


def error_response(error: ApiError) -> Response:
    """ASP.NET Web API's error body: ``{"Message": …}``."""
    return json_response(error.status, {"Message": error.message}, error.headers)


def fault_response(fault: Fault) -> Response:
    """The answer an injected fault dictates."""
    body = fault.body
    if body is None:
        body = {"Message": _DEFAULT_FAULT_MESSAGES.get(fault.status, "An error has occurred.")}
    if isinstance(body, str | bytes):
        response = Response(body, status=fault.status, content_type="text/html; charset=utf-8")
    else:
        response = json_response(fault.status, body)
    for name, value in fault.headers.items():
        response.headers[name] = value
    return response


def arg(request: Request, name: str) -> str | None:
    """A query parameter by case-insensitive name (ASP.NET binds them that way)."""
    for key, value in request.args.items(multi=True):
        if key.lower() == name.lower():
            return value
    return None


def bool_arg(request: Request, name: str) -> bool:
    """A ``true``/``false`` query parameter (any case); absent or empty is false, anything else a 400."""
    value = arg(request, name)
    if value is None or value == "":
        return False
    if value.lower() not in ("true", "false"):
        raise bad_request(f"The value '{value}' is not valid for {name}.")
    return value.lower() == "true"


def int_arg(request: Request, name: str) -> int | None:
    """An integer query parameter, None when absent; a 400 when it is not an integer."""
    value = arg(request, name)
    if value is None or value == "":
        return None
    if not re.fullmatch(r"-?\d+", value):
        raise bad_request(f"The value '{value}' is not valid for {name}.")
    return int(value)


def date_arg(request: Request, name: str) -> str | None:
    """A ``YYYY-MM-DD`` query parameter, None when absent; a 400 for any other format."""
    value = arg(request, name)
    if value is None or value == "":
        return None
    return parse_date(name, value)


def path_or_query_id(request: Request, params: dict[str, str], what: str) -> int:
    """The ``{id}`` path segment, or the ``id`` query parameter (ASP.NET binds both forms)."""
    if "id" in params:
        return int(params["id"])
    value = int_arg(request, "id")
    if value is None:
        raise bad_request(f"The query parameter 'id' (the {what}) is required.")
    return value


def detailed(request: Request) -> bool:
    """``View=Basic|Detailed`` (any case); Basic when absent."""
    value = arg(request, "View")
    if value is None or value == "" or value.lower() == "basic":
        return False
    if value.lower() == "detailed":
        return True
    raise bad_request(f"The value '{value}' is not valid for View (Basic or Detailed).")


def _is_json(mimetype: str) -> bool:
    return mimetype in ("application/json", "text/json") or mimetype.endswith("+json")


def json_body(request: Request) -> Any:
    """The request's JSON body (None when empty); 415 for another media type, 400 for bad JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    if not _is_json(request.mimetype):
        media = request.mimetype or "application/octet-stream"
        raise ApiError(415, f"The request entity's media type '{media}' is not supported for this resource.")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_request(f"The request is invalid: the body is not valid JSON ({exc}).") from exc


def loggable_body(request: Request) -> Any:
    """Best-effort parsed body for the call log; never raises."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return {k: v for k, v in request.form.items() if k.lower() != "pwd"}  # keep passwords out of logs
    try:
        body = json_body(request)
    except ApiError:
        return None
    if isinstance(body, dict):
        return {k: ("***" if str(k).lower() == "pwd" else v) for k, v in body.items()}
    return body
