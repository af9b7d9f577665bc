"""Memory as a budget: one ``MemoryBudget`` per process admits the memory-heavy work.

What draws from it (all from the same budget, ``IMAGELINT_MEMORY_BUDGET_BYTES``):

- every image decode, for the bytes its decoded pixels will take at peak
  (``service.images.decode.decode_cost_bytes``: declared width x height after any JPEG
  downscale, times the bytes per pixel of the conversions its mode goes through). A decode of
  an admitted report *waits* for room; an image larger than the whole budget runs alone;
- every ``/v1/checks/*`` request, for ``CHECK_BYTES_PER_BODY_BYTE`` x its body size, taken
  before the body is read. There is no waiting here: no room gives 429 with Retry-After.

So the number of decode threads no longer decides the peak: eight 13370 x 13370 PNGs decode one
at a time under the default budget whatever ``decode_workers`` is, and twenty concurrent check
requests are admitted only as far as the budget goes.

``available_cpus()`` is the CPU count a container may use (affinity and the cgroup CPU quota),
not the node's core count, for ``decode_workers=0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

from service.errors import TooManyRequests

# A check route turns its JSON body into float arrays and works on them (normalised copies,
# neighbour blocks, probe folds); the peak RSS growth per body byte stays under this
# (measured: +41 MB of RSS per 5.1 MB duplicates body of 2000 x 256 JSON floats).
CHECK_BYTES_PER_BODY_BYTE = 8
CHECK_MIN_COST_BYTES = 1 << 20


class MemoryBudget:
    """A byte budget with FIFO waiting (``hold``) and non-blocking admission (``try_take``).

    One event loop uses it, so no lock is needed; costs above the capacity are clamped to it
    (such work runs alone rather than never).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"memory budget must be >= 1 byte, got {capacity}")
        self.capacity = int(capacity)
        self.in_use = 0
        self.peak = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    def clamp(self, cost: int) -> int:
        return max(1, min(int(cost), self.capacity))

    def _fits(self, cost: int) -> bool:
        return self.in_use + cost <= self.capacity

    def _take(self, cost: int) -> None:
        self.in_use += cost
        self.peak = max(self.peak, self.in_use)

    def try_take(self, cost: int, *, what: str = "request") -> int:
        """Take ``cost`` now or raise ``TooManyRequests``; returns the amount to ``release``."""
        cost = self.clamp(cost)
        if self._waiters or not self._fits(cost):
            raise TooManyRequests(
                f"the {what} needs ~{cost / 2**20:.0f} MiB of working memory and the replica's "
                f"budget ({self.capacity / 2**20:.0f} MiB) is in use; retry later",
                retry_after=5,
            )
        self._take(cost)
        return cost

    async def take(self, cost: int) -> int:
        """Wait (first come, first served) until ``cost`` fits, take it; returns the amount."""
        cost = self.clamp(cost)
        if not self._waiters and self._fits(cost):
            self._take(cost)
            return cost
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (cost, future)
        self._waiters.append(entry)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self.release(cost)  # granted, then cancelled before use: give it back
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(entry)
                self._wake()
            raise
        return cost

    def release(self, cost: int) -> None:
        self.in_use = max(0, self.in_use - cost)
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            cost, future = self._waiters[0]
            if future.done():
                self._waiters.popleft()
                continue
            if not self._fits(cost):
                return
            self._waiters.popleft()
            self._take(cost)
            future.set_result(None)

    @contextlib.asynccontextmanager
    async def hold(self, cost: int) -> AsyncIterator[None]:
        taken = await self.take(cost)
        try:
            yield
        finally:
            self.release(taken)


def check_request_cost(content_length: int | None, max_body_bytes: int) -> int:
    """Budget taken by one check request (unknown length: the largest body allowed)."""
    body = content_length if content_length is not None and content_length >= 0 else max_body_bytes
    return max(CHECK_MIN_COST_BYTES, min(body, max_body_bytes) * CHECK_BYTES_PER_BODY_BYTE)


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (containers)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def _cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPU quota in CPUs from cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``; None if unlimited."""
    try:
        fields = (root / "cpu.max").read_text().split()
        if fields and fields[0] != "max":
            return int(fields[0]) / int(fields[1])
        return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
MMAP_THRESHOLD_BYTES = 4 << 20


def return_large_blocks_to_the_os() -> bool:
    """Make glibc serve every allocation of 4 MiB or more with its own ``mmap`` (so it goes back
    to the OS when freed); True when set.

    Without this, glibc raises its mmap threshold to the size of the last freed block (up to
    32 MiB): Pillow's 16 MiB image blocks then come from per-thread heaps and stay there after
    the decode, so every decode thread keeps the peak of its largest image (measured: a
    13370 x 13370 PNG per thread, +0.86 GB per thread, whatever the budget admits at once).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False  # not glibc: nothing to tune
