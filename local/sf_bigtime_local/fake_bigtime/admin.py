"""``/__fake/…``: unauthenticated controls for tests and demos that drive the fake over HTTP only.

=======  ============================  ==================================================================
POST     /reset                        back to the state right after construction
POST     /faults                       add a fault (``Fault`` fields); GET lists, DELETE clears them
GET      /calls                        the call log; DELETE clears it
GET      /calls/counts                 ``{"METHOD /route/{id}": n}`` over the call log
GET      /config                       the settings; POST changes some (all or nothing)
POST     /expire-sessions              expire every live session
POST     /time                         log submitted time: ``{project_sid, hours, fees[, task_sid,
                                       staff_sid, dt]}``
POST     /staff                        add a staffer (``StaffSID``, ``SName``, ``EMail`` …)
POST     /reports/{id}                 define or replace a saved report (``{Nm, Columns}``)
GET      /figures/{project_sid}        the project's canonical figures
GET      /state                        every client and project
=======  ============================  ==================================================================
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from sf_bigtime_local.faults import Fault

from .models import ApiError
from .wire import error_response, json_body, json_response

if TYPE_CHECKING:
    from .app import FakeBigTime

PREFIX = "/__fake"


def _dict(body: Any) -> dict[str, Any]:
    return body if isinstance(body, dict) else {}


def handle(fake: FakeBigTime, request: Request) -> Response:
    """Answer one admin request."""
    action = request.path.lower()[len(PREFIX) :].rstrip("/")
    try:
        body = json_body(request)
        match request.method, action:
            case "POST", "/reset":
                fake.reset()
                return json_response(200, {"reset": True})
            case "POST", "/faults":
                fault = fake.faults.add(Fault.from_dict(_dict(body)))
                return json_response(200, asdict(fault))
            case "GET", "/faults":
                return json_response(200, [asdict(f) for f in fake.faults.pending()])
            case "DELETE", "/faults":
                fake.faults.clear()
                return json_response(200, {"cleared": True})
            case "GET", "/calls":
                return json_response(200, [c.to_dict() for c in fake.calls])
            case "GET", "/calls/counts":
                return json_response(200, fake.call_counts())
            case "DELETE", "/calls":
                fake.clear_calls()
                return json_response(200, {"cleared": True})
            case "GET", "/config":
                return json_response(200, fake.config.to_dict())
            case "POST", "/config":
                return json_response(200, fake.configure(**_dict(body)).to_dict())
            case "POST", "/expire-sessions":
                return json_response(200, {"expired": fake.expire_sessions()})
            case "POST", "/time":
                data = _dict(body)
                entry = fake.log_time(
                    data["project_sid"],
                    data["hours"],
                    data["fees"],
                    task_sid=data.get("task_sid"),
                    staff_sid=data.get("staff_sid"),
                    dt=data.get("dt"),
                )
                return json_response(200, {"logged": True, "entry": entry})
            case "POST", "/staff":
                return json_response(200, fake.add_staff(_dict(body)))
            case "GET", "/state":
                return json_response(200, {"clients": fake.clients, "projects": fake.projects})
        if request.method == "POST" and (m := re.fullmatch(r"/reports/(\d+)", action)):
            return json_response(200, fake.define_report(int(m[1]), _dict(body)))
        if request.method == "GET" and (m := re.fullmatch(r"/figures/(\d+)", action)):
            return json_response(200, fake.project_figures(int(m[1])))
        return json_response(404, {"Message": f"Unknown admin action {request.method} {request.path}"})
    except ApiError as error:
        return error_response(error)
    except (ValueError, TypeError, KeyError, re.error) as exc:
        return json_response(400, {"Message": f"Bad admin request: {exc}"})
