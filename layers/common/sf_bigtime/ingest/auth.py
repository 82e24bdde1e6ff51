"""Credential checks for the HTTP entry points: shared secrets compared in constant time, and an
HMAC-SHA256 signature over ``timestamp.body`` with a tolerance window.

Every check answers *why* it failed, but only for the server's log: callers get one generic 401, so
a prober cannot tell a wrong key from a stale timestamp or a bad signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re

API_KEY_HEADER = "x-api-key"
SIGNATURE_HEADER = "x-signature"
TIMESTAMP_HEADER = "x-signature-timestamp"
SIGNATURE_PREFIX = "sha256="
# Five minutes either way: enough for clock skew and a queued Apex job, short enough that a captured
# request cannot be replayed later (within the window a replay carries the same event id and is
# deduplicated by SQS and the worker).
SIGNATURE_TOLERANCE_SECONDS = 300

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def same_secret(presented: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the expected one (empty never matches)."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


# What a secret getter returns: the accepted values, current first (then the previous one while a rotation
# is under way), or a single value.
Accepted = str | tuple[str, ...]


def accepted(values: Accepted) -> tuple[str, ...]:
    """The accepted values as a tuple (a lone string is one value, never a sequence of characters)."""
    return (values,) if isinstance(values, str) else tuple(values)


def matching_secret(presented: str | None, values: Accepted) -> int | None:
    """Index of the accepted value ``presented`` equals (0 = current, 1 = previous), or None. Every value
    is compared, so the time taken does not tell which one matched."""
    matches = [same_secret(presented, value) for value in accepted(values)]
    return matches.index(True) if any(matches) else None


def signature(key: str, timestamp: str, body: bytes) -> str:
    """The ``x-signature`` value for ``body`` sent at ``timestamp`` (Unix seconds): ``sha256=<hex>``.

    Apex: ``EncodingUtil.convertToHex(Crypto.generateMac('hmacSHA256', Blob.valueOf(ts + '.' + body),
    Blob.valueOf(key)))``.
    """
    mac = hmac.new(key.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def signature_problem(
    body: bytes,
    timestamp: str | None,
    presented: str | None,
    key: str,
    now: float,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> str | None:
    """``None`` if ``presented`` signs ``timestamp.body`` with ``key`` within ``tolerance`` of ``now``;
    otherwise a short reason for the log (never for the caller)."""
    if not timestamp or not presented:
        return "signature_missing"
    timestamp = timestamp.strip()
    if not _TIMESTAMP.match(timestamp):
        return "timestamp_malformed"
    if abs(now - int(timestamp)) > tolerance:
        return "timestamp_outside_tolerance"
    value = presented.strip()
    if value[: len(SIGNATURE_PREFIX)].lower() == SIGNATURE_PREFIX:
        value = value[len(SIGNATURE_PREFIX) :]
    if not _HEX.match(value):
        return "signature_malformed"
    expected = signature(key, timestamp, body)[len(SIGNATURE_PREFIX) :]
    if not hmac.compare_digest(value.lower().encode(), expected.encode()):
        return "signature_mismatch"
    return None
