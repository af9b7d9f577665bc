"""API keys (``IMAGELINT_API_KEYS``), whatever the transport: REST's guard
(``service.api.auth``) and gRPC's interceptor (``service.grpc_api.server``) ask the same question."""

from __future__ import annotations

import hmac


def key_matches(presented: str | None, keys: tuple[str, ...]) -> bool:
    """Constant-time comparison against every configured key."""
    if not presented:
        return False
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(presented.encode(), key.encode())
    return matched
