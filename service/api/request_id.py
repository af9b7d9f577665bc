"""One request id per HTTP request: taken from a well-formed ``X-Request-Id`` header, otherwise
generated; stored on the ASGI scope, echoed as the ``X-Request-Id`` response header on every
response (a ``before_send`` hook, so 404s and errors raised before routing carry it too), put in
every problem body and in the log lines about the request.
"""

from __future__ import annotations

from typing import Any

from litestar.types import Message, Scope

from service.request_ids import REQUEST_ID_HEADER, well_formed_request_id

_SCOPE_KEY = "imagelint.request_id"


def request_id_of(scope: Scope | dict[str, Any]) -> str:
    """The request id of this connection (decided on first use, then fixed)."""
    rid = scope.get(_SCOPE_KEY)  # type: ignore[union-attr]
    if rid is None:
        sent = None
        for name, value in scope.get("headers") or ():  # type: ignore[union-attr]
            if name.lower() == REQUEST_ID_HEADER.encode():
                sent = value.decode("latin-1")
                break
        rid = well_formed_request_id(sent)
        scope[_SCOPE_KEY] = rid  # type: ignore[index]
    return rid


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """``before_send`` hook: every HTTP response carries ``X-Request-Id``."""
    if scope["type"] != "http" or message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    if not any(name.lower() == REQUEST_ID_HEADER.encode() for name, _ in headers):
        headers.append((REQUEST_ID_HEADER.encode(), request_id_of(scope).encode()))
        message["headers"] = headers  # type: ignore[typeddict-unknown-key]
