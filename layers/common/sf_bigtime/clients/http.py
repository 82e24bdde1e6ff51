"""The HTTP session both API clients use: default timeouts, a retry adapter for safe methods, and an
optional base-URL rewrite (simple-salesforce hard-codes ``https://``; the local stack speaks plain http)."""

from __future__ import annotations

import ipaddress
import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from sf_bigtime.observability import record_call

USER_AGENT = "sf-bigtime/0.1 (+https://github.com/sf-bigtime/sf-bigtime)"


def describe_failure(exc: requests.RequestException) -> str:
    """A transport failure in words; a read timeout on a retried GET surfaces as a ConnectionError
    wrapping urllib3's timeout, which would otherwise read like a refused connection."""
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


class HttpSession(requests.Session):
    """A ``requests.Session`` with a default timeout, GET retries and an optional base-URL rewrite.

    Retries (urllib3's ``Retry`` through requests' adapter) cover connection errors and 429/502/503/504
    on GET/HEAD only, honour ``Retry-After`` up to ``retry_after_max`` seconds, and give up quickly: the
    SQS redelivery is the long-term retry. Writes are never retried here, because a POST that timed out
    may have succeeded; the caller decides (see ``sync``'s marker lookup). A client whose calls are paced
    by a rate limiter passes ``retry_throttled=False`` and retries 429/503 through the limiter instead.
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

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        if self.rewrite_base:
            url = re.sub(r"^https?://[^/]+", self.rewrite_base, str(url))
        if self.system is None:
            return super().request(method, url, *args, **kwargs)
        # Timed around the adapter's own retries: this is the latency the worker actually waits.
        start, status = time.perf_counter(), 0
        try:
            response = super().request(method, url, *args, **kwargs)
            status = response.status_code
            return response
        finally:
            record_call(self.system, (time.perf_counter() - start) * 1000, status)
