"""Authentication of both clients as the worker uses them: Salesforce client credentials and JWT bearer
(token cached across warm invocations), BigTime API key and user session (one re-login on 401)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sf_bigtime.clients.bigtime import BigTimeClient
from sf_bigtime.clients.salesforce import SalesforceClient
from sf_bigtime.errors import TransientError
from sf_bigtime.secrets import BigTimeSession, SalesforceJwtBearer
from sf_bigtime.sync.run import sync_opportunity
from sf_bigtime_local.fake_salesforce import FakeSalesforce
from tests.integration.conftest import BT_PASSWORD, BT_REALM, BT_USER, ORG, World
from tests.keys import rsa_pem

JWT_USER = "bigtime-sync@acme.example"  # the fake org's integration user


@pytest.fixture
def jwt_keys(world: World) -> Iterator[str]:
    """The world's org replaced by one that verifies JWT assertions against a key made for this test."""
    private, public = rsa_pem()
    with FakeSalesforce(org_id=ORG, client_id="ck", client_secret="cs", jwt_public_key=public) as fake:
        world.use_salesforce(fake)
        yield private


def jwt_client(world: World, private_key: str) -> SalesforceClient:
    return SalesforceClient(
        SalesforceJwtBearer(
            auth="jwt",
            consumer_key="ck",
            username=JWT_USER,
            private_key=private_key,
            domain="login",
            instance_url=world.sf_url,
        ),
        timeout=5,
    )


def token_requests(world: World) -> int:
    return len([c for c in world.sf.calls if c.path.endswith("/oauth2/token")])


def test_client_credentials_token_is_cached_across_warm_invocations(world: World) -> None:
    ctx = world.context()
    for _ in range(3):
        assert sync_opportunity(world.request(world.won_opportunity()), ctx).status == "Synced"
    assert ctx.salesforce.logins == 1 and token_requests(world) == 1


def test_jwt_bearer_login_signs_with_the_secrets_key(world: World, jwt_keys: str) -> None:
    ctx = world.context(salesforce=jwt_client(world, jwt_keys))
    first, second = world.won_opportunity(), world.won_opportunity()
    assert sync_opportunity(world.request(first), ctx).status == "Synced"
    assert sync_opportunity(world.request(second), ctx).status == "Synced"
    assert ctx.salesforce.logins == 1 and token_requests(world) == 1  # cached between invocations
    # the write-back ran as the JWT's subject, the integration user
    assert world.sf.get("Opportunity", first)["LastModifiedById"] == world.sf.integration_user_id
    world.sf.expire_sessions()  # the token expires: one new assertion, then on
    assert sync_opportunity(world.request(world.won_opportunity()), ctx).status == "Synced"
    assert ctx.salesforce.logins == 2


def test_jwt_signed_with_another_key_is_refused_cleanly(world: World, jwt_keys: str) -> None:
    wrong_key, _ = rsa_pem()
    ctx = world.context(salesforce=jwt_client(world, wrong_key))
    with pytest.raises(TransientError) as info:
        sync_opportunity(world.request(world.won_opportunity()), ctx)
    assert info.value.code == "salesforce_auth" and "invalid_grant" in info.value.reason
    assert wrong_key not in info.value.reason and world.bt.calls == []


def session_client(world: World, password: str = BT_PASSWORD) -> BigTimeClient:
    return BigTimeClient(
        BigTimeSession(
            auth="session",
            username=BT_USER,
            password=password,
            realm=BT_REALM,
            base_url=f"{world.bt_url}/BigtimeData/api/v2",
        ),
        timeout=5,
    )


def logins(world: World) -> int:
    return len([c for c in world.bt.calls if c.route == "/session"])


def test_bigtime_session_logs_in_once_and_again_once_after_expiry(world: World) -> None:
    ctx = world.context(bigtime=session_client(world))
    assert sync_opportunity(world.request(world.won_opportunity()), ctx).status == "Synced"
    assert logins(world) == 1
    world.bt.expire_sessions()  # BigTime's 7-day (or 24-hour) expiry
    outcome = sync_opportunity(world.request(world.won_opportunity()), ctx)
    assert outcome.status == "Synced" and logins(world) == 2
    assert [c.status for c in world.bt.calls if c.auth == "session"].count(401) == 1
    assert all(c.auth == "session" for c in world.bt.calls if c.route != "/session")


def test_bigtime_session_repeated_401_is_one_relogin_then_a_transient_error(world: World) -> None:
    world.bt.faults.add(method="GET", path="/client$", status=401, times=2)
    ctx = world.context(bigtime=session_client(world))
    with pytest.raises(TransientError) as info:
        sync_opportunity(world.request(world.won_opportunity()), ctx)
    assert info.value.code == "bigtime_auth"
    assert logins(world) == 2  # the first login, one re-login; no loop


def test_bigtime_wrong_password_is_transient_and_names_no_secret(world: World) -> None:
    ctx = world.context(bigtime=session_client(world, password="wrong-pw"))
    with pytest.raises(TransientError) as info:
        sync_opportunity(world.request(world.won_opportunity()), ctx)
    assert info.value.code == "bigtime_auth" and "wrong-pw" not in info.value.reason
    assert logins(world) == 1
