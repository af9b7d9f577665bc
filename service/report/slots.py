"""Reports in flight per replica (``IMAGELINT_MAX_CONCURRENT_REPORTS``), one count for REST and
gRPC: a report takes a slot before any work starts, or the caller gets 429 / RESOURCE_EXHAUSTED
with a retry hint."""

from __future__ import annotations

import contextlib

from service.errors import TooManyRequests


class ReportSlots:
    """A non-blocking counter of reports in flight (one event loop, so no lock is needed)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.in_flight = 0

    def acquire(self) -> None:
        """Take a slot now, or raise ``TooManyRequests``; pair with ``release()``."""
        if self.in_flight >= self.limit:
            raise TooManyRequests(
                f"{self.in_flight} reports already running (limit {self.limit}); retry later",
                retry_after=10,
            )
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1

    @contextlib.contextmanager
    def take(self):
        self.acquire()
        try:
            yield
        finally:
            self.release()
