"""The local API Gateway: each HTTP request becomes an HTTP API (payload v2) event for the function the
template routes it to, and the function's reply becomes the HTTP response."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from sf_bigtime_local.lambda_runtime import Handler, LambdaContext

# API Gateway's own limit: HTTP API payloads up to 10 MB.
MAX_PAYLOAD = 10 * 1024 * 1024
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/soap+xml", "+json", "+xml")


class FrontDoor:
    """WSGI app: routes are (method, path) -> (handler, function name, timeout)."""

    def __init__(
        self, routes: dict[tuple[str, str], tuple[Handler, str, int]], *, api_id: str = "local"
    ) -> None:
        self.routes = routes
        self.api_id = api_id
        self.invocations = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        route = self.routes.get((request.method.upper(), request.path.rstrip("/") or "/"))
        if route is None:
            return Response(json.dumps({"message": "Not Found"}), 404, content_type="application/json")
        raw = request.get_data(cache=False)
        if len(raw) > MAX_PAYLOAD:
            return Response(
                json.dumps({"message": "Request Entity Too Large"}), 413, content_type="application/json"
            )
        handler, function_name, timeout = route
        event = to_http_api_event(request, raw, api_id=self.api_id)
        self.invocations += 1
        try:
            reply = handler(event, LambdaContext(function_name=function_name, timeout_seconds=timeout))
        except Exception:  # a crashed Lambda: API Gateway answers 500 Internal Server Error
            return Response(
                json.dumps({"message": "Internal Server Error"}), 500, content_type="application/json"
            )
        return from_lambda_reply(reply)


def to_http_api_event(request: Request, raw: bytes, *, api_id: str = "local") -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event for this request."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    content_type = headers.get("content-type", "")
    is_text = any(marker in content_type for marker in _TEXT_TYPES) or not raw
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{request.method.upper()} {request.path}",
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method.upper(),
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": f"{request.method.upper()} {request.path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if request.args:
        event["queryStringParameters"] = {k: ",".join(request.args.getlist(k)) for k in request.args}
    if request.cookies:
        event["cookies"] = [f"{k}={v}" for k, v in request.cookies.items()]
    if raw:
        event["body"] = raw.decode("utf-8", errors="replace") if is_text else base64.b64encode(raw).decode()
    return event


def from_lambda_reply(reply: Any) -> Response:
    """Lambda proxy reply -> HTTP response (HTTP API's rules for a bare dict/str reply included)."""
    if not isinstance(reply, dict) or "statusCode" not in reply:
        return Response(json.dumps(reply), 200, content_type="application/json")
    body = reply.get("body") or ""
    data = base64.b64decode(body) if reply.get("isBase64Encoded") else str(body).encode()
    response = Response(data, int(reply["statusCode"]))
    for name, value in (reply.get("headers") or {}).items():
        response.headers[name] = str(value)
    for cookie in reply.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response
