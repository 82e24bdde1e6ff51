"""A faithful fake of the Salesforce REST API that unmodified simple-salesforce works against.

Usage::

    fake = FakeSalesforce()                       # a WSGI app
    server = BackgroundServer(fake).start()       # http://127.0.0.1:PORT
    opp = fake.create("Opportunity", {...})       # seed with the same validation as REST
    fake.add_flow(action="json", url=receiver)    # "Closed Won" → HTTP callout, as a record-triggered flow
    fake.faults.add(method="GET", path="/query", status=503, times=2)
    before = fake.usage(); ...; assert (fake.usage() - before).records_written == 0

Modules: :mod:`.app` (the org: lifecycle, seeding, Python API, WSGI, auth and limits), :mod:`.rest`
(queries and single records), :mod:`.composite` (composite requests), :mod:`.sobject_collections`
(``/composite/sobjects``), :mod:`.admin` (``/__fake/…``), :mod:`.usage` (call log, API and write counters),
:mod:`.soql` (parser + evaluator), :mod:`.schema` / :mod:`.products` / :mod:`.metadata` (objects and fields,
custom ones from SFDX metadata), :mod:`.store` and :mod:`.product_rules` (records and save rules),
:mod:`.triggers` (flows, outbound messages, CDC), :mod:`.auth` (OAuth).
"""

from .app import FakeSalesforce, default_metadata_dir
from .errors import FakeSalesforceError
from .metadata import MetadataError
from .usage import ApiCall, Usage, Write

__all__ = [
    "ApiCall",
    "FakeSalesforce",
    "FakeSalesforceError",
    "MetadataError",
    "Usage",
    "Write",
    "default_metadata_dir",
]
