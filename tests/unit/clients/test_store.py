from __future__ import annotations

import boto3
import pytest

from sf_bigtime.clients.store import StateStore, item_key
from sf_bigtime.errors import TransientError
from tests.clock import Clock
from tests.unit.sync.memory import MemoryStore

ORG, OPP = "00D5w000004abcdEAA", "0065w000023abcdAAA"


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> StateStore:
    """The DynamoDB store on moto, and the in-memory one the sync's unit tests use: every test here runs
    on both, so the fake keeps the real one's conditions."""
    if request.param == "memory":
        return MemoryStore(Clock(1_000_000.0))  # type: ignore[return-value]
    request.getfixturevalue("aws")
    boto3.client("dynamodb").create_table(
        TableName="state",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return StateStore("state", table=boto3.resource("dynamodb").Table("state"), clock=Clock(1_000_000.0))


def test_first_claim_wins_and_second_is_told_to_wait(store: StateStore) -> None:
    first = store.claim("opp", ORG, OPP, stale_after=60)
    assert first.token and not first.must_look_up and first.existing is None
    with pytest.raises(TransientError) as info:
        store.claim("opp", ORG, OPP, stale_after=60)
    assert info.value.code == "claim_busy"
    assert info.value.retry_after is None  # the queue's exponential backoff decides (seconds, not minutes)


def test_recorded_id_is_returned_to_later_claims(store: StateStore) -> None:
    claim = store.claim("opp", ORG, OPP, stale_after=60)
    store.record("opp", ORG, OPP, claim.token, "5001", project_code="SF-1")
    again = store.claim("opp", ORG, OPP, stale_after=60)
    assert again.token is None and again.existing == "5001"
    item = store.get("opp", ORG, OPP)
    assert item["project_id"] == "5001" and item["project_code"] == "SF-1"
    assert "claim_token" not in item and item["id"] == item_key("opp", ORG, OPP)


def test_record_returns_the_item_as_a_read_would_show_it(store: StateStore) -> None:
    """The sync keeps what the record returns instead of reading the item again (no read after)."""
    store.update("opp", ORG, OPP, contacts_hash="h1", tasks={"budget": {"id": "7"}})
    claim = store.claim("opp", ORG, OPP, stale_after=60)
    recorded = store.record("opp", ORG, OPP, claim.token, "5001", project_code="SF-1", lifecycle="active")
    assert recorded == store.get("opp", ORG, OPP)
    assert (
        recorded["project_id"] == "5001"
        and recorded["contacts_hash"] == "h1"
        and "claim_token" not in recorded
    )
    # A later claim's refusal carries the item as it is, too.
    again = store.claim("opp", ORG, OPP, stale_after=60)
    assert again.existing == "5001" and again.item == store.get("opp", ORG, OPP)


def test_stale_claim_is_taken_over_and_must_look_up(store: StateStore) -> None:
    store.claim("opp", ORG, OPP, stale_after=60)  # a worker that then crashed
    store.clock.now += 61  # type: ignore[attr-defined]
    takeover = store.claim("opp", ORG, OPP, stale_after=60)
    assert takeover.token and takeover.must_look_up


def test_release_lets_the_next_claim_in_and_remembers_uncertainty(store: StateStore) -> None:
    claim = store.claim("acct", ORG, "001000000000001AAA", stale_after=60)
    store.release("acct", ORG, "001000000000001AAA", claim.token, uncertain=True)
    nxt = store.claim("acct", ORG, "001000000000001AAA", stale_after=60)
    assert nxt.token and nxt.must_look_up
    store.record("acct", ORG, "001000000000001AAA", nxt.token, "1001")
    assert "needs_lookup" not in store.get("acct", ORG, "001000000000001AAA")


def test_clean_release_needs_no_lookup(store: StateStore) -> None:
    claim = store.claim("opp", ORG, OPP, stale_after=60)
    store.release("opp", ORG, OPP, claim.token, uncertain=False)
    assert store.get("opp", ORG, OPP).get("needs_lookup") is None
    # the released claim left no token behind, yet the item existed: the next one still looks up
    # only if the previous attempt was uncertain
    assert store.claim("opp", ORG, OPP, stale_after=60).must_look_up is False


def test_record_fails_when_the_claim_was_taken_over(store: StateStore) -> None:
    old = store.claim("opp", ORG, OPP, stale_after=60)
    store.clock.now += 61  # type: ignore[attr-defined]
    store.claim("opp", ORG, OPP, stale_after=60)
    with pytest.raises(TransientError) as info:
        store.record("opp", ORG, OPP, old.token, "5001")
    assert info.value.code == "claim_lost"


def test_keys_carry_the_org(store: StateStore) -> None:
    sandbox = "00D5w000004zzzzAAA"
    a = store.claim("opp", ORG, OPP, stale_after=60)
    b = store.claim("opp", sandbox, OPP, stale_after=60)  # same record id, copied into a sandbox
    assert a.token and b.token


def test_outcome_counts_attempts(store: StateStore) -> None:
    for status in ("Retrying", "Synced"):
        store.record_outcome(
            ORG,
            OPP,
            status=status,
            reason="r",
            delivery_id="d",
            source="json",
            salesforce_calls=2,
            bigtime_calls=3,
            error="boom" if status == "Retrying" else None,
        )
    item = store.get("opp", ORG, OPP)
    assert item["attempts"] == 2 and item["last_status"] == "Synced"
    assert (
        item["last_error"] == "boom"
        and item["last_salesforce_calls"] == 2
        and item["last_bigtime_calls"] == 3
    )
    assert "last_success_at" in item


def test_a_lease_is_one_holders_until_it_goes_stale(store: StateStore) -> None:
    first = store.lease("opp", ORG, OPP, stale_after=60)
    with pytest.raises(TransientError) as busy:
        store.lease("opp", ORG, OPP, stale_after=60)
    assert busy.value.code == "contacts_busy" and busy.value.retry_after == 5
    store.clock.now += 61  # type: ignore[attr-defined]
    second = store.lease("opp", ORG, OPP, stale_after=60)
    assert second != first
    store.end_lease("opp", ORG, OPP, first, contacts_hash="old")  # the stale holder: ignored
    assert store.get("opp", ORG, OPP)["contacts_lease"] == second
    assert "contacts_hash" not in store.get("opp", ORG, OPP)
    store.end_lease("opp", ORG, OPP, second, contacts_hash="new", contact_warnings=["w"])
    item = store.get("opp", ORG, OPP)
    assert item["contacts_hash"] == "new" and item["contact_warnings"] == ["w"]
    assert "contacts_lease" not in item and "contacts_lease_at" not in item
    assert store.lease("opp", ORG, OPP, stale_after=60)  # free again


def test_the_recorder_of_a_project_holds_its_contacts_lease(store: StateStore) -> None:
    claim = store.claim("opp", ORG, OPP, stale_after=60)
    store.record("opp", ORG, OPP, claim.token, "5001", **store.lease_attrs(claim.token))
    with pytest.raises(TransientError) as busy:
        store.lease("opp", ORG, OPP, stale_after=60)
    assert busy.value.code == "contacts_busy"
    store.end_lease("opp", ORG, OPP, claim.token)
    assert store.lease("opp", ORG, OPP, stale_after=60)


def test_release_after_a_takeover_leaves_the_new_claim_alone(store: StateStore) -> None:
    old = store.claim("opp", ORG, OPP, stale_after=60)
    store.clock.now += 61  # type: ignore[attr-defined]
    new = store.claim("opp", ORG, OPP, stale_after=60)
    store.release("opp", ORG, OPP, old.token, uncertain=True)
    item = store.get("opp", ORG, OPP)
    assert item["claim_token"] == new.token and "needs_lookup" not in item


def test_update_creates_the_item_and_sets_attributes(store: StateStore) -> None:
    store.update("opp", ORG, OPP, marker_written=True, lifecycle="closed_lost")
    store.update("opp", ORG, OPP, lifecycle="active")
    item = store.get("opp", ORG, OPP)
    assert (
        item["marker_written"] is True and item["lifecycle"] == "active" and item["updated_at"] == 1_000_000
    )
    assert store.get("acct", ORG, OPP) is None


def test_unreachable_table_is_transient(aws: None) -> None:
    store = StateStore("missing", table=boto3.resource("dynamodb").Table("missing"))
    with pytest.raises(TransientError):
        store.get("opp", ORG, OPP)
    with pytest.raises(TransientError):
        store.claim("opp", ORG, OPP, stale_after=60)
