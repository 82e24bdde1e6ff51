"""In-memory implementations of the sync's ports (sf_bigtime.sync.ports): the state table, BigTime and
Salesforce as plain dicts, on the shared hand-moved Clock. No moto, no HTTP: a sync runs in milliseconds.

They follow the real ones where a sync can tell: the state table's conditional writes (claims and leases
with stale ages, records under a claim), BigTime's unique client and project codes and one PRIMARY and
one BILLING contact per project, and call counting. tests/unit/clients/test_store.py runs the store's
tests on both MemoryStore and the DynamoDB one; tests/unit/sync/test_ports.py checks every port member.
"""

from tests.unit.sync.memory.bigtime import MemoryBigTime
from tests.unit.sync.memory.faults import Faults
from tests.unit.sync.memory.salesforce import MemorySalesforce
from tests.unit.sync.memory.store import MemoryStore

__all__ = ["Faults", "MemoryBigTime", "MemorySalesforce", "MemoryStore"]
