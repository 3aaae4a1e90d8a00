"""``mikke serve``'s HTTP server: uvicorn's h11 protocol with limits on what a client may hold.

uvicorn bounds an idle keep-alive connection (``timeout_keep_alive``) and, through h11,
the size of a request head, but it answers an oversized head with a 400 and an
immediate close (the client, still sending, sees a connection reset) and has no limit
on the time a client takes to send a head. :class:`LimitedProtocol` adds:

* **A head timeout.** A connection must deliver a complete request head within
  ``HEAD_TIMEOUT`` seconds of opening, or of the end of the previous response; a
  slowloris client that sends a byte now and then is closed then.
* **414 and 431 in the API's error shape.** A head over ``MAX_HEAD_BYTES`` gets
  ``414`` (``uri_too_long``) when its request line is not even complete, else ``431``
  (``headers_too_large``); the rest of what the client sends is read and dropped for
  up to ``LINGER_SECONDS`` (as nginx's lingering close), so it reads the answer
  instead of a reset.

>>> json.loads(limit_response(414).split(b"\\r\\n\\r\\n")[1])["code"]
'uri_too_long'
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Largest request head (request line and headers), in bytes. The longest URL the API
#: takes is ~5 KB (a 500-character query, percent-encoded); nginx's default buffers are 8 KB.
MAX_HEAD_BYTES = 64 * 1024
#: Seconds a client has to send a whole request head (nginx: ``client_header_timeout``).
HEAD_TIMEOUT = 10.0
#: Seconds an idle keep-alive connection stays open (nginx: ``keepalive_timeout``).
KEEPALIVE_TIMEOUT = 5
#: Seconds the rest of an oversized request is read and dropped after the answer.
LINGER_SECONDS = 2.0

_LIMITS = {
    414: ("URI Too Long", "uri_too_long", f"URL too long: the request line is over {MAX_HEAD_BYTES} bytes"),
    431: (
        "Request Header Fields Too Large",
        "headers_too_large",
        f"request headers too large: over {MAX_HEAD_BYTES} bytes",
    ),
}


def limit_response(status: int) -> bytes:
    """The whole HTTP response for an oversized request head (414 or 431), connection closed."""
    reason, code, message = _LIMITS[status]
    body = json.dumps({"ok": False, "code": code, "error": message}, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "cache-control: no-store\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class LimitedProtocol(H11Protocol):
    """uvicorn's h11 protocol with a head timeout and 414/431 answers (see the module)."""

    head_timeout = HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._dropping = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._dropping:
            super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self._answering():
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._arm_head_timer()  # before the next pipelined request, which cancels it
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        """h11 refused the request; when for its size, answer 414 or 431 and linger."""
        buffered, _ = self.conn.trailing_data
        if len(buffered) <= MAX_HEAD_BYTES:
            super().send_400_response(msg)
            return
        self.transport.write(limit_response(414 if b"\n" not in buffered else 431))
        self._cancel_head_timer()
        self._dropping = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _answering(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if not self._answering():
            self.transport.close()


def serve(app: Any, host: str, port: int, access_log: bool) -> None:
    """Run ``app`` on uvicorn with the limits of this module."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=access_log,
        log_level="info",
        http=LimitedProtocol,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_keep_alive=KEEPALIVE_TIMEOUT,
    )
