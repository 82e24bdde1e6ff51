"""The secrets' shapes: whatever JSON an operator stores, reading it gives the credentials or a SecretError
that names the keys at fault and never holds a value; a parsed secret never shows a value in its str, repr
or JSON dump (SecretStr)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sf_bigtime.secrets import (
    BigTimeCredentials,
    OutboundMessageSecret,
    SalesforceCredentials,
    SecretError,
    SigningSecret,
    WebhookSecret,
    parse_secret,
)

PROPERTIES = settings(max_examples=50, derandomize=True, deadline=None)
# Every value the operator stores carries this marker; no error message and no rendering may show it.
MARKER = "SeCrEtVaLuE"
SHAPES = {
    "webhook": WebhookSecret,
    "signing": SigningSecret,
    "outbound": OutboundMessageSecret,
    "salesforce": SalesforceCredentials,
    "bigtime": BigTimeCredentials,
}
KEYS = [
    "api_key", "hmac_key", "token", "consumer_key", "consumer_secret", "private_key", "username", "domain",
    "instance_url", "api_token", "password", "realm", "base_url",
]  # fmt: skip


def marked(key: str) -> st.SearchStrategy[str]:
    """A value carrying the marker and its key's name (so a shown value is traced to its key)."""
    return st.one_of(
        st.builds(lambda t: f"{t}{MARKER}-{key}-{t}", st.text(max_size=40)),
        st.sampled_from([f"https://{MARKER}-{key}.example", f"http://{MARKER}-{key}"]),
    )


def entry(key: str) -> st.SearchStrategy[tuple[str, Any]]:
    value = st.one_of(
        marked(key), st.none(), st.booleans(), st.integers(), st.lists(marked(key), max_size=2),
        st.dictionaries(st.sampled_from(KEYS), marked(key), max_size=2),
    )  # fmt: skip
    return st.tuples(st.just(key), value)


documents = (
    st.lists(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)).flatmap(entry), max_size=6)
    .map(dict)
    .flatmap(lambda d: st.sampled_from([d, {**d, "auth": "jwt"}, {**d, "auth": "session"}]))
)
not_objects = st.one_of(marked("x"), st.none(), st.integers(), st.lists(marked("x"), max_size=2))


@PROPERTIES
@pytest.mark.parametrize("shape", list(SHAPES))
@given(document=st.one_of(documents, not_objects))
def test_any_secret_parses_or_fails_without_showing_a_value(shape: str, document: Any) -> None:
    result: Any
    try:
        result = parse_secret(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:s", document, SHAPES[shape]
        )
    except SecretError as exc:
        result = exc
    if isinstance(result, SecretError):
        assert MARKER not in str(result)
        assert "is not usable: " in str(result) or "must be a JSON object" in str(result)
    else:
        shown = f"{result}{result!r}{result.model_dump_json()}"
        for name in ("api_key", "hmac_key", "token", "consumer_key", "consumer_secret", "private_key",
                     "api_token", "password"):  # fmt: skip
            if getattr(result, name, None) is not None:
                assert f"{MARKER}-{name}-" not in shown and f"{MARKER}-{name}." not in shown, name
