"""FakeTwilioServer: the fake served on a real port in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Self
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler, make_server

from .api import create_fake_app, fake_state
from .resources import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, log
from .state import FakeTwilioState


class _RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, logging the path only: list queries carry phone numbers."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path
        log.debug("%s %s %s", getattr(self, "command", "-"), path, code)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("HTTP server: %s", format.split("%")[0].strip() or "error")


class FakeTwilioServer:
    """The fake Twilio served on a real port in a background thread (a context manager)."""

    def __init__(self, *, account_sid: str = DEFAULT_ACCOUNT_SID,
                 auth_token: str = DEFAULT_AUTH_TOKEN, host: str = "127.0.0.1", port: int = 0,
                 seed: int = 0, callback_delay: float = 0.05, chaos: bool = True) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.app = create_fake_app(account_sid=account_sid, auth_token=auth_token, seed=seed,
                                   callback_delay=callback_delay, chaos=chaos)
        self.state: FakeTwilioState = fake_state(self.app)
        self._requested_port = port
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Start listening; `url` is valid from now on."""
        if self._server is not None:
            return self
        try:
            server = make_server(self.host, self._requested_port, self.app, threaded=True,
                                 request_handler=_RequestHandler)
        except SystemExit:  # werkzeug exits when the port is taken
            raise OSError(f"cannot listen on {self.host}:{self._requested_port}") from None
        server.daemon_threads = False  # so that closing waits for every request thread
        server.block_on_close = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-twilio-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held requests, stop callbacks, stop serving and wait for every thread."""
        self.state.close()
        if self._server is None:
            return
        server, self._server = self._server, None
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake Twilio is not running")
        return self._server.port

    @property
    def url(self) -> str:
        """Where to point `make_client(..., api_base=...)`, e.g. http://127.0.0.1:40123."""
        return f"http://{self.host}:{self.port}"

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.state.messages

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self.state.calls

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        return self.state.callbacks

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until `predicate()` is truthy; return its value or raise TimeoutError."""
        return self.state.wait_for(predicate, timeout)
