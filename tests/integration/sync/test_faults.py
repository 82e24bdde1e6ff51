"""401, 429, 503 and timeouts from both APIs: each is transient (retried through SQS) or healed in place,
and after the retry the end state is exactly right: one client, one project, the write-back done."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sf_bigtime.errors import TransientError
from sf_bigtime.sync.run import Outcome, sync_opportunity
from tests.integration.conftest import ORG, World

INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def synced_once(world: World, opp: str, outcome: Outcome) -> None:
    assert outcome.status == "Synced", outcome.message
    [client] = world.bt.clients
    [project] = world.bt.projects
    assert project["ClientId"] == client["SystemId"]
    assert sorted(c["Tag"] for c in world.bt.project_contacts(project["SystemId"])) == ["BILLING", "PRIMARY"]
    record = world.sf.get("Opportunity", opp)
    assert record["BigTime_Sync_Status__c"] == "Synced"
    assert record["BigTime_Project_Id__c"] == str(project["SystemId"])


def retry_until_synced(world: World, opp: str, fail: Callable[[TransientError], None]) -> Outcome:
    """First attempt fails transiently (checked by ``fail``); the redelivery succeeds."""
    with pytest.raises(TransientError) as info:
        sync_opportunity(world.request(opp), world.context(timeout=0.5))
    fail(info.value)
    item = world.contexts[-1].store.get("opp", ORG, opp)
    assert item["last_status"] == "Retrying" and item["last_error"] == info.value.reason
    return sync_opportunity(world.request(opp), world.context())


# -- BigTime -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "42"}, 42),
        (503, {"Retry-After": "7"}, 7),
        (503, {}, None),
        # The HTTP-date form, measured from the reply's own Date (the server's clock).
        (503, {"Retry-After": "Wed, 21 Oct 2026 07:30:00 GMT", "Date": "Wed, 21 Oct 2026 07:28:00 GMT"}, 120),
        (503, {"Retry-After": "soon"}, None),
    ],
)
def test_bigtime_throttling_on_create(
    world: World, status: int, headers: dict, retry_after: float | None
) -> None:
    world.bt.faults.add(method="POST", path="/project/detail$", status=status, headers=headers)
    opp = world.won_opportunity()

    def check(exc: TransientError) -> None:
        assert exc.retry_after == retry_after and f"HTTP {status}" in exc.reason
        assert world.bt.projects == []
        assert world.sf.get("Opportunity", opp).get("BigTime_Sync_Status__c") is None  # nothing to show yet

    synced_once(world, opp, retry_until_synced(world, opp, check))


def test_bigtime_401_with_an_api_key_is_transient(world: World) -> None:
    world.bt.faults.add(method="POST", path="/client/detail$", status=401)
    opp = world.won_opportunity()

    def check(exc: TransientError) -> None:
        assert exc.code == "bigtime_auth" and "credentials" in exc.reason

    synced_once(world, opp, retry_until_synced(world, opp, check))


def test_bigtime_5xx_after_an_applied_create_is_looked_up_not_repeated(world: World) -> None:
    world.bt.faults.add(method="POST", path="/client/detail$", status=502, after=True)
    opp = world.won_opportunity()

    def check(exc: TransientError) -> None:
        assert "HTTP 502" in exc.reason and len(world.bt.clients) == 1  # created, answer lost

    outcome = retry_until_synced(world, opp, check)
    assert not outcome.created_client  # found by its name, not created again
    synced_once(world, opp, outcome)


def test_bigtime_read_503_is_retried_in_place(world: World) -> None:
    world.bt.faults.add(method="GET", path="/client$", status=503)
    opp = world.won_opportunity()
    outcome = sync_opportunity(world.request(opp), world.context())
    synced_once(world, opp, outcome)
    statuses = [c.status for c in world.bt.calls if c.route == "/client"]
    assert statuses == [503, 200]  # the HTTP adapter retried the GET; writes are never retried blindly


def test_bigtime_read_timeout_is_transient(world: World) -> None:
    world.bt.faults.add(method="GET", path="/client$", status=0, delay=1.0)
    opp = world.won_opportunity()

    def check(exc: TransientError) -> None:
        assert "timed out" in exc.reason and world.bt.clients == []

    synced_once(world, opp, retry_until_synced(world, opp, check))


def test_bigtime_contact_503_midway_finishes_the_contacts_on_retry(world: World) -> None:
    world.bt.faults.add(method="POST", path="/project/contact$", status=503)
    opp = world.won_opportunity()

    def check(exc: TransientError) -> None:
        assert len(world.bt.projects) == 1  # the project exists and is recorded

    outcome = retry_until_synced(world, opp, check)
    assert outcome.contacts_added == 2 and not outcome.created_project
    synced_once(world, opp, outcome)


# -- Salesforce --------------------------------------------------------------------------------------
def test_salesforce_expired_token_is_refreshed_once(world: World) -> None:
    opp = world.won_opportunity()
    ctx = world.context()
    ctx.salesforce.read_opportunity(opp)  # a warm Lambda: logged in, token cached
    world.sf.expire_sessions()
    outcome = sync_opportunity(world.request(opp), ctx)
    synced_once(world, opp, outcome)
    assert ctx.salesforce.logins == 2
    assert [c.status for c in world.sf.calls if "/query" in c.path.lower()] == [200, 401, 200]


def test_salesforce_repeated_401_ends_in_a_clean_transient_error(world: World) -> None:
    world.sf.faults.add(method="GET", path="/queryAll", status=401, body=INVALID_SESSION, times=-1)
    opp = world.won_opportunity()
    ctx = world.context()
    with pytest.raises(TransientError) as info:
        sync_opportunity(world.request(opp), ctx)
    assert info.value.code == "salesforce_auth" and "twice" in info.value.reason
    # one login, one refresh, two tries: no recursion, no loop
    assert ctx.salesforce.logins == 2
    assert len([c for c in world.sf.calls if "/queryAll" in c.path]) == 2
    assert len([c for c in world.sf.calls if c.path.endswith("/oauth2/token")]) == 2
    world.sf.faults.clear()
    synced_once(world, opp, sync_opportunity(world.request(opp), world.context()))


def test_salesforce_request_limit_is_transient(world: World) -> None:
    body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    world.sf.faults.add(method="GET", path="/queryAll", status=403, body=body)
    opp = world.won_opportunity()

    def check(exc: TransientError) -> None:
        assert "REQUEST_LIMIT_EXCEEDED" in exc.reason and world.bt.calls == []

    synced_once(world, opp, retry_until_synced(world, opp, check))


@pytest.mark.parametrize("status", [429, 503])
def test_salesforce_write_back_throttled_then_done(world: World, status: int) -> None:
    world.sf.faults.add(method="POST", path="/composite$", status=status)
    opp = world.won_opportunity()

    def check(exc: TransientError) -> None:
        assert len(world.bt.projects) == 1  # BigTime is done; only the write-back is missing

    outcome = retry_until_synced(world, opp, check)
    assert outcome.wrote_back and not outcome.created_project and outcome.bigtime_calls == 0
    synced_once(world, opp, outcome)


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({"Retry-After": "42"}, 42),
        ({"Retry-After": "Wed, 21 Oct 2026 07:29:30 GMT", "Date": "Wed, 21 Oct 2026 07:28:00 GMT"}, 90),
    ],
)
def test_salesforce_throttling_carries_its_retry_after(
    world: World, headers: dict[str, str], retry_after: float
) -> None:
    world.sf.faults.add(method="POST", path="/composite$", status=503, headers=headers)
    opp = world.won_opportunity()

    def check(exc: TransientError) -> None:
        assert exc.code == "salesforce_unavailable" and exc.retry_after == retry_after

    synced_once(world, opp, retry_until_synced(world, opp, check))


def test_salesforce_query_timeout_is_transient(world: World) -> None:
    world.sf.faults.add(method="GET", path="/queryAll", status=0, delay=1.0)
    opp = world.won_opportunity()

    def check(exc: TransientError) -> None:
        assert "timed out" in exc.reason and world.bt.calls == []

    synced_once(world, opp, retry_until_synced(world, opp, check))


def test_salesforce_write_back_timeout_after_commit_is_harmless(world: World) -> None:
    # Salesforce applied the write-back but the answer came too late: the retry finds the Opportunity
    # already showing the result and writes nothing more.
    world.sf.faults.add(method="POST", path="/composite$", status=0, delay=1.0, after=True)
    opp = world.won_opportunity()

    def check(exc: TransientError) -> None:
        assert "timed out" in exc.reason

    outcome = retry_until_synced(world, opp, check)
    synced_once(world, opp, outcome)
