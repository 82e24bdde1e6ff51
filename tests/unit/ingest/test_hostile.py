"""The hostile-input corpus (tests/data/hostile, described in sf_bigtime_local.hostile): every case through
ingest's handler gets its expected 4xx and error code, nothing is enqueued, nothing escapes as an exception,
and neither the reply nor a log line holds a secret.

Time per case is not asserted here (a loaded machine would make it flaky); `benchmarks/hostile_ingest.py`
measures it against its one-second target. The sample through the local stack's API Gateway is in
tests/e2e/test_hostile_frontdoor.py.
"""

from __future__ import annotations

from collections import Counter

import pytest

from sf_bigtime_local.hostile import Case, Secrets, load_corpus, run_case

CORPUS = load_corpus()
SECRETS = Secrets(api_key="K" * 40, hmac_key="H" * 64, token="T" * 48, org_id="00D5w000004abcdEAA")
NOW = 1_782_900_000


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_request_is_refused_cleanly(case: Case) -> None:
    outcome = run_case(case, SECRETS, NOW)
    assert outcome.problems(case, SECRETS) == [], case.why


def test_the_corpus_covers_what_it_must() -> None:
    assert len(CORPUS) >= 60
    names = [c.name for c in CORPUS]
    themes = Counter(name.split("-")[0] for name in names)
    assert themes["json"] >= 20 and themes["om"] >= 15 and themes["eventbridge"] >= 5
    for needle in (
        "oversized", "truncated", "homoglyph", "rtl", "nul", "overlong-utf8", "billion-laughs",
        "quadratic-blowup", "xxe", "101-notifications", "forged-org", "org-15", "replayed", "future-dated",
        "crlf", "method-", "path-", "relay-off",
    ):  # fmt: skip
        assert any(needle in name for name in names), needle
    assert sum(c.frontdoor for c in CORPUS) >= 15, "a sample goes through the local API Gateway too"
