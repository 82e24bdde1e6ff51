"""Run a WSGI app on 127.0.0.1 in a background thread (werkzeug's threaded dev server)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """No access log lines on stderr: the fakes keep their own call logs."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def end_headers(self) -> None:
        # http.server always sends a Date of its own; one the app sets (a fault replaying a server's clock,
        # e.g. for a Retry-After date) replaces it, as a real server sends one Date header, not two.
        buffer: list[bytes] = getattr(self, "_headers_buffer", [])
        dates = [i for i, line in enumerate(buffer) if line.lower().startswith(b"date:")]
        if len(dates) > 1:
            del buffer[dates[0]]
        super().end_headers()


class BackgroundServer:
    """A WSGI app served on loopback until :meth:`stop` (or the end of a ``with`` block).

    ``port=0`` picks a free port; :attr:`url` is ``http://127.0.0.1:PORT`` once started.
    """

    def __init__(self, app: object, host: str = "127.0.0.1", port: int = 0, name: str = "server") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> Self:
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )  # type: ignore[arg-type]
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
