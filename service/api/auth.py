"""Optional API-key authentication (``IMAGELINT_API_KEYS``; off when empty).

Every ``/v1/`` route requires ``X-API-Key`` (or ``Authorization: Bearer <key>``) to match one of
the configured keys; health, metrics and the OpenAPI document stay open for probes and scrapers.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from service.auth import key_matches

PROTECTED_PREFIX = "/v1/"


def presented_key(connection: ASGIConnection) -> str | None:
    key = connection.headers.get("x-api-key")
    if key:
        return key
    auth = connection.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def api_key_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Async on purpose: Litestar runs a sync guard in a worker thread, so a pool wedged by
    slow work would stall every request's authentication (health routes included)."""
    keys = connection.app.state.settings.api_keys
    if not keys or not connection.scope["path"].startswith(PROTECTED_PREFIX):
        return
    if not key_matches(presented_key(connection), keys):
        raise NotAuthorizedException("missing or invalid API key (send it as X-API-Key)")
