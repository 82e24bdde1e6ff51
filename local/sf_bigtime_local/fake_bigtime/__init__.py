"""A faithful fake of BigTime's v2 REST API ("BigtimeData" API) for local runs and tests.

``FakeBigTime`` is a WSGI app; serve it with ``BackgroundServer(fake).start()`` and point a client at
``server.url + "/BigtimeData/api/v2"``. One module per concern, each listing the [Unknown] behaviours
it chose (and the :class:`FakeConfig` knob that switches them); [Unknown] marks what BigTime's
documentation does not settle (docs/decisions.md#what-we-assume-about-bigtime):

* :mod:`.app` wire behaviour, faults, rate limit, call log and counters; :mod:`.admin` ``/__fake/``;
  :mod:`.auth` credentials and permissions; :mod:`.config` the knobs; :mod:`.seed` the seed data.
* :mod:`.store` clients, projects, contacts; :mod:`.customfields` project custom fields.
* :mod:`.tasks` tasks and budgets; :mod:`.templates` project templates; :mod:`.staff` staff and teams.
* :mod:`.timesheet` time and expenses; :mod:`.invoices` invoices; :mod:`.figures` budget status and
  project figures; :mod:`.reports` saved reports.
"""

from .app import BASE_PATH, FakeBigTime, RecordedCall
from .auth import PERMISSIONS
from .config import FIGURE_PRESETS, FIGURES, FakeConfig
from .models import ApiError

__all__ = [
    "BASE_PATH",
    "FIGURES",
    "FIGURE_PRESETS",
    "PERMISSIONS",
    "ApiError",
    "FakeBigTime",
    "FakeConfig",
    "RecordedCall",
]
