"""Request ids, whatever the transport: a caller's well-formed id (``x-request-id`` header or gRPC
metadata) is kept, anything else is replaced by a fresh one. ``service.api.request_id`` keeps it on
the ASGI scope; the gRPC server reads it from the call's metadata."""

from __future__ import annotations

import re
import uuid

REQUEST_ID_HEADER = "x-request-id"
# A caller's id is kept only when it is short and plain (it ends up in logs and headers).
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")


def well_formed_request_id(candidate: str | None) -> str:
    """``candidate`` when it is a plain id, otherwise a fresh one (32 hex digits)."""
    if candidate and _WELL_FORMED.match(candidate):
        return candidate
    return uuid.uuid4().hex
