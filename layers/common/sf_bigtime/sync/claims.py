"""Create a BigTime object exactly once (docs/decisions.md#exactly-one-project-and-one-client), the one algorithm behind both the client of
an Account and the project of an Opportunity:

1. claim the Account's, Opportunity's or task's item in the state table (another worker holding it: TransientError
   ``claim_busy``, retried later);
2. an id is recorded already: use it;
3. look for one to adopt (a person's, or one an earlier attempt of ours may have created without
   recording it: ``must_look_up``);
4. none: create it; if BigTime rejects the create, the object holding our code (made by an unrecorded
   earlier attempt) is adopted, and otherwise the rejection stands;
5. record BigTime's id under the claim at once. On any failure the claim is given back, flagged
   *uncertain* if BigTime may have applied a write, so that the next attempt looks before creating.

The claim's refusal (an id recorded already) carries the item as it is, and the record's write returns
the item as it left it: neither needs a read of the item afterwards.

What differs between clients and projects (how to look, what to create, what to store) are the
:class:`CreationSteps`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sf_bigtime.clients.bigtime import BigTimeCallError
from sf_bigtime.clients.bigtime import Record as BigTimeObject
from sf_bigtime.clients.bigtime import record_id as bigtime_id
from sf_bigtime.clients.store import Claim, Kind
from sf_bigtime.errors import PermanentError, SyncError
from sf_bigtime.sync.context import SyncRun


@dataclass(frozen=True)
class Made:
    """The BigTime object a claim ended with (created or adopted); ``item``: the state table's item as the
    write recording its id left it (empty until then)."""

    id: int
    found: BigTimeObject  # as BigTime returned it (created) or listed it (adopted)
    created: bool  # by this attempt; False: adopted
    token: str  # the claim's token
    item: dict[str, Any] = field(default_factory=dict)


class CreationSteps[T](Protocol):
    kind: Kind  # the state table item: "acct" (client) or "opp" (project)
    salesforce_id: str  # of the Account or Opportunity whose item holds the claim
    what: str  # "client" | "project" | "task", for messages
    id_keys: tuple[str, ...]  # where BigTime's reply holds the id (SystemId; a task's TaskSid)

    def known(self, claim: Claim) -> T:
        """The result when the claim found an id already recorded (``claim.existing``)."""
        ...

    def find(self, must_look_up: bool) -> BigTimeObject | None:
        """An object to adopt instead of creating one (``must_look_up``: an earlier attempt may have made it)."""
        ...

    def body(self) -> dict[str, Any]:
        """The create request (picklist names resolved: a failure there is no rejected create)."""
        ...

    def create(self, body: dict[str, Any]) -> BigTimeObject: ...

    def find_by_code(self) -> BigTimeObject | None:
        """After a rejected create: the object holding our code, if there is a code and one holds it."""
        ...

    def attributes(self, made: Made) -> dict[str, Any]:
        """What to store on the item with BigTime's id."""
        ...

    def result(self, made: Made) -> T: ...


def create_once[T](run: SyncRun, steps: CreationSteps[T]) -> T:
    """Steps 1-5 above for one client or project; raises TransientError (retry) or PermanentError."""
    claim = run.store.claim(steps.kind, run.org, steps.salesforce_id, stale_after=run.ctx.claim_stale_after)
    if claim.existing:
        return steps.known(claim)
    token = claim.token
    assert token is not None
    try:
        found = steps.find(claim.must_look_up)
        created = False
        if found is None:
            body = steps.body()
            try:
                found, created = steps.create(body), True
            except PermanentError:
                # A rejected create may mean our code is already taken — by the very object an unrecorded
                # earlier attempt made. Adopt it if so; otherwise the rejection stands.
                found = steps.find_by_code()
                if found is None:
                    raise
        made = Made(require_id(found, steps.what, *steps.id_keys), found, created, token)
        item = run.store.record(
            steps.kind, run.org, steps.salesforce_id, token, str(made.id), **steps.attributes(made)
        )
        made = replace(made, item=item)
    except SyncError as exc:
        # Give the claim back; flagged if BigTime may have acted (a write whose answer was lost, or an
        # earlier attempt's doubt not yet cleared), so the next attempt looks before it creates.
        may_exist = (isinstance(exc, BigTimeCallError) and exc.maybe_applied) or claim.must_look_up
        run.store.release(steps.kind, run.org, steps.salesforce_id, token, uncertain=may_exist)
        raise
    return steps.result(made)


def require_id(found: BigTimeObject, what: str, *keys: str) -> int:
    value = bigtime_id(found, *keys)
    if value is None:
        raise BigTimeCallError(
            f"BigTime's {what} reply carried no {' or '.join(keys or ('SystemId',))}", maybe_applied=True
        )
    return value


def same_code(a: Any, b: str | None) -> bool:
    """Codes (our markers) compare trimmed and case-insensitively."""
    return bool(b) and str(a or "").strip().casefold() == str(b).strip().casefold()
