"""A faithful fake of BigTime's v2 REST API ("BigtimeData" API) for local runs and tests.

``FakeBigTime`` is a WSGI app; serve it with ``BackgroundServer(fake).start()`` and point a client at
``server.url + "/BigtimeData/api/v2"``. See :mod:`.app` for the wire behaviour, :mod:`.store` for the
business rules and :mod:`.auth` for credentials; each lists the [Unknown] behaviours it chose: those
BigTime's documentation does not settle (docs/decisions.md#what-we-assume-about-bigtime).
"""

from .app import BASE_PATH, FakeBigTime, RecordedCall
from .auth import PERMISSIONS
from .config import FakeConfig
from .models import ApiError

__all__ = ["BASE_PATH", "PERMISSIONS", "ApiError", "FakeBigTime", "FakeConfig", "RecordedCall"]
