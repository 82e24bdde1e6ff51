"""The HTTP session both API clients use: default timeouts, a retry adapter for safe methods, redirects
refused, and an optional base-URL rewrite (simple-salesforce hard-codes ``https://``; the local stack speaks
plain http). Also the one ``Retry-After`` parser both clients use."""

from __future__ import annotations

import ipaddress
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from sf_bigtime.observability import record_call

USER_AGENT = "sf-bigtime/0.1 (+https://github.com/sf-bigtime/sf-bigtime)"


class RedirectRefused(requests.RequestException):
    """An API call was answered with a redirect, which is never followed: every call carries a credential
    (a token header, or a password or client secret in the body), and requests would send custom headers
    and a 307/308's body on to wherever ``Location`` points, another host included
    (docs/decisions.md#api-calls-never-follow-redirects)."""

    def __init__(self, response: requests.Response) -> None:
        self.status = response.status_code
        target = urlsplit(response.headers.get("Location", ""))
        # Scheme and host only: the rest of an attacker's URL has no place in our logs.
        self.target = f"{target.scheme}://{target.netloc}" if target.netloc else "a path on the same host"
        super().__init__(
            f"answered HTTP {self.status}, a redirect to {self.target}, which is not followed "
            "(the request carries credentials)",
            response=response,
        )


REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """A remote system's message (an error reason we log, store and write onto the Opportunity) without our
    credentials in it: an API that echoes the token or secret it refused would otherwise publish it.
    Values shorter than 8 characters are left alone (they would blank out ordinary words)."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, REDACTED)
    return text


def describe_failure(exc: requests.RequestException) -> str:
    """A transport failure in words; a read timeout on a retried GET surfaces as a ConnectionError
    wrapping urllib3's timeout, which would otherwise read like a refused connection."""
    if isinstance(exc, RedirectRefused):
        return str(exc)
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(exc, requests.Timeout) or isinstance(reason, Urllib3Timeout):
        kind = type(reason).__name__ if isinstance(reason, Urllib3Timeout) else type(exc).__name__
        return f"timed out ({kind})"
    return type(exc).__name__


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, what: str) -> str:
    """Plain http is allowed for loopback only (the local stack); anything else must be https."""
    if url.startswith("http://") and not is_loopback_url(url):
        raise ValueError(f"{what} must use https (plain http is only allowed for 127.0.0.1/localhost)")
    return url.rstrip("/")


def parse_retry_after(
    value: str | None, *, date: str | None = None, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Seconds to wait, from a ``Retry-After`` header in either of its forms (RFC 9110, 10.2.3):
    delta-seconds (``"120"``) or an HTTP-date (``"Wed, 21 Oct 2026 07:28:00 GMT"``). A date is measured from
    the reply's own ``Date`` header when there is one (the server's clock: our clock's skew does not
    matter), else from ``now``. None when absent or unreadable; never negative.

    Written here because urllib3's ``Retry.parse_retry_after`` (which the adapter uses for GET retries)
    reads the wall clock, ignores ``Date`` and raises on a bad value; this one is the same few lines of
    stdlib parsing with the clock injected and garbage read as "no advice".
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    retry_at = _http_date(text)
    if retry_at is None:
        return None
    reference = _http_date(date) if date else None
    return max(0.0, (retry_at - (reference or now())).total_seconds())


def _http_date(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # HTTP-dates are GMT


class HttpSession(requests.Session):
    """A ``requests.Session`` with a default timeout, GET retries and an optional base-URL rewrite.

    Retries (urllib3's ``Retry`` through requests' adapter) cover connection errors and 429/502/503/504
    on GET/HEAD only, honour ``Retry-After`` up to ``retry_after_max`` seconds, and give up quickly: the
    SQS redelivery is the long-term retry. Writes are never retried here, because a POST that timed out
    may have succeeded; the caller decides (see ``sync``'s marker lookup). A client whose calls are paced
    by a rate limiter passes ``retry_throttled=False`` and retries 429/503 through the limiter instead.

    A redirect is never followed: it raises :class:`RedirectRefused`. :meth:`retry_after` is the last
    reply's ``Retry-After`` (per thread), for callers whose library hides the reply (simple-salesforce).
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        rewrite_base: str | None = None,
        retries: int = 2,
        retry_after_max: int = 5,
        system: str | None = None,
        retry_throttled: bool = True,
    ) -> None:
        super().__init__()
        self.timeout = timeout
        self.system = system  # "bigtime" | "salesforce": each call's latency/status goes to observability
        self.rewrite_base = rewrite_base.rstrip("/") if rewrite_base else None
        retry = Retry(
            total=retries,
            connect=retries,
            read=0,
            status=retries,
            backoff_factor=0.3,
            status_forcelist=(429, 502, 503, 504) if retry_throttled else (502, 504),
            allowed_methods=frozenset({"GET", "HEAD"}),
            # urllib3 also retries any 429/503 that carries Retry-After, whatever status_forcelist says.
            respect_retry_after_header=retry_throttled,
            retry_after_max=retry_after_max,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.headers["User-Agent"] = USER_AGENT
        self._last = threading.local()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs["allow_redirects"] = False  # whatever the caller asks: see RedirectRefused
        if self.rewrite_base:
            url = re.sub(r"^https?://[^/]+", self.rewrite_base, str(url))
        self._last.headers = None
        # Timed around the adapter's own retries: this is the latency the worker actually waits.
        start, status = time.perf_counter(), 0
        try:
            response = super().request(method, url, *args, **kwargs)
            status = response.status_code
        finally:
            if self.system is not None:
                record_call(self.system, (time.perf_counter() - start) * 1000, status)
        self._last.headers = response.headers
        if response.is_redirect:
            raise RedirectRefused(response)
        return response

    def retry_after(self) -> float | None:
        """Seconds from the ``Retry-After`` of this thread's last reply (None: none, or unreadable)."""
        headers = getattr(self._last, "headers", None)
        if headers is None:
            return None
        return parse_retry_after(headers.get("Retry-After"), date=headers.get("Date"))
