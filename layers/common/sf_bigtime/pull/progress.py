"""What the pull remembers between runs, in the stack's state table (DynamoDB).

``pull#<org18>``: ``checked`` maps each BigTime project id to when the pull last read its figures (epoch
seconds), whether or not anything changed. Salesforce's ``Last_Pulled__c`` moves only when a record is
written (a change, or the daily heartbeat) so as not to spend writes on nothing; these times are what the
next run orders by (stalest first, so a run that stops early is resumed where it stopped) and what the
``PullStaleness`` metric measures. One item per org, read and written once per run.

``pullreq#<org18>#<project id>``: an on-demand pull of one project ("Pull from BigTime") claimed until
``until``; a second request within the window is skipped. ``expiration`` lets DynamoDB remove it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sf_bigtime.errors import TransientError

# A DynamoDB item holds 400 KB; at ~25 bytes a project this keeps the 12,000 most recently read.
MAX_REMEMBERED = 12_000


class Progress:
    """The pull's items in the state table (``table`` is a boto3 ``Table``)."""

    def __init__(self, table: Any, org_id: str, clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self.org_id = org_id
        self.clock = clock

    @property
    def key(self) -> str:
        return f"pull#{self.org_id}"

    def load(self) -> dict[str, float]:
        """Project id -> when its figures were last read ({} before the first run)."""
        try:
            item = self.table.get_item(Key={"id": self.key}, ConsistentRead=True).get("Item") or {}
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"the state table could not be read: {type(exc).__name__}") from None
        checked = item.get("checked")
        if not isinstance(checked, Mapping):
            return {}
        out = {}
        for pid, when in checked.items():
            try:
                out[str(pid)] = float(when)
            except (TypeError, ValueError):
                continue
        return out

    def save(self, checked: Mapping[str, float]) -> None:
        """Store the read times (the most recent :data:`MAX_REMEMBERED`)."""
        newest = sorted(checked.items(), key=lambda kv: kv[1], reverse=True)[:MAX_REMEMBERED]
        item = {
            "id": self.key,
            "kind": "pull",
            "org_id": self.org_id,
            "checked": {pid: Decimal(str(round(when))) for pid, when in newest},
            "updated_at": Decimal(str(round(self.clock()))),
        }
        try:
            self.table.put_item(Item=item)
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"the state table could not be written: {type(exc).__name__}") from None

    def claim_on_demand(self, project_id: str, window_seconds: float) -> bool:
        """Claim an on-demand pull of one project for ``window_seconds``; False if one ran in the window."""
        if window_seconds <= 0:
            return True
        now = self.clock()
        until = now + window_seconds
        try:
            self.table.put_item(
                Item={
                    "id": f"pullreq#{self.org_id}#{project_id}",
                    "kind": "pullreq",
                    "until": Decimal(str(round(until, 3))),
                    "expiration": int(until) + 3600,
                },
                ConditionExpression="attribute_not_exists(id) OR #until <= :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":now": Decimal(str(round(now, 3)))},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise TransientError(f"the state table could not be written: {type(exc).__name__}") from None
        except BotoCoreError as exc:
            raise TransientError(f"the state table could not be written: {type(exc).__name__}") from None
        return True
