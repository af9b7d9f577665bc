"""Memory as a budget (issue 14, D1/D4): the budget's admission rules, the decode cost read from
headers, decodes admitted by memory instead of by thread count, and the CPU count of a
container."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from service.admission import MemoryBudget, _cgroup_cpu_quota, available_cpus, check_request_cost
from service.datasets.model import Item
from service.errors import TooManyRequests
from service.images import loader
from service.images.decode import MIN_DECODE_COST, decode_cost_bytes
from service.settings import Settings
from tests.fixtures.bombs import D1_SIDE, huge_declared_png
from tests.fixtures.hazard_images import encode, png_declaring


def run(coro):
    return asyncio.run(coro)


def test_takes_wait_first_come_first_served_and_never_exceed_the_capacity():
    async def scenario():
        budget = MemoryBudget(100)
        order = []

        async def user(name, cost, hold_s):
            async with budget.hold(cost):
                order.append(name)
                assert budget.in_use <= budget.capacity
                await asyncio.sleep(hold_s)

        await asyncio.gather(user("a", 60, 0.05), user("b", 60, 0.01), user("c", 30, 0.01))
        return budget, order

    budget, order = run(scenario())
    assert order == ["a", "b", "c"]  # c would fit beside a, but b came first
    assert budget.peak <= 100 and budget.in_use == 0


def test_work_larger_than_the_budget_runs_alone_instead_of_never():
    async def scenario():
        budget = MemoryBudget(100)
        async with budget.hold(10_000):
            assert budget.in_use == 100
            with pytest.raises(TooManyRequests):
                budget.try_take(1)
        return budget.in_use

    assert run(scenario()) == 0


def test_a_cancelled_waiter_leaves_no_reservation_behind():
    async def scenario():
        budget = MemoryBudget(100)
        first = await budget.take(80)
        waiter = asyncio.create_task(budget.take(50))
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        budget.release(first)
        assert budget.in_use == 0
        assert await budget.take(100) == 100

    run(scenario())


def test_try_take_refuses_with_retry_after_when_the_budget_is_in_use():
    async def scenario():
        budget = MemoryBudget(100)
        budget.try_take(70)
        with pytest.raises(TooManyRequests) as caught:
            budget.try_take(40, what="check request")
        assert caught.value.retry_after and "check request" in caught.value.detail

    run(scenario())


def test_check_cost_follows_the_body_and_assumes_the_largest_without_a_length():
    assert check_request_cost(10 << 20, 64 << 20) == 8 * (10 << 20)
    assert check_request_cost(None, 64 << 20) == 8 * (64 << 20)
    assert check_request_cost(10, 64 << 20) == 1 << 20


def test_decode_cost_comes_from_the_header_and_the_mode():
    d1 = huge_declared_png()
    assert len(d1) < 200_000
    assert decode_cost_bytes(d1) == D1_SIDE * D1_SIDE * 5  # "L": the image plus its RGB copy
    # Over the pixel limit: refused from the header, so it costs (almost) nothing.
    assert decode_cost_bytes(png_declaring(50_000, 50_000)) == MIN_DECODE_COST
    assert decode_cost_bytes(b"not an image") == MIN_DECODE_COST
    from PIL import Image

    big_jpeg = encode(Image.new("RGB", (4000, 3000), (10, 20, 30)), "JPEG")
    # DCT downscale 1/8: 500 x 375 decoded pixels, RGB.
    assert decode_cost_bytes(big_jpeg) == max(MIN_DECODE_COST, 500 * 375 * 4)
    rgba = encode(Image.new("RGBA", (1000, 1000)), "PNG")
    assert decode_cost_bytes(rgba) == 1000 * 1000 * 16


def test_decodes_are_admitted_by_memory_not_by_thread_count(tmp_path: Path, monkeypatch):
    """Four decode threads, four D1 images: with a budget of one decode they never overlap."""
    data = huge_declared_png(2000)  # same shape of problem, small enough for a unit test
    cost = decode_cost_bytes(data)
    paths = []
    for i in range(4):
        path = tmp_path / f"bomb-{i}.png"
        path.write_bytes(data)
        paths.append(path)
    running, peak = [0], [0]
    lock = threading.Lock()
    real_decode = loader._decode

    def counting_decode(*args):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.05)
            return real_decode(*args)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(loader, "_decode", counting_decode)
    items = [Item(id=f"b{i}", uri=p.as_uri()) for i, p in enumerate(paths)]

    async def scenario(budget):
        with ThreadPoolExecutor(4) as pool:
            return await loader.load_images(
                items,
                fetcher=None,
                pool=pool,
                settings=Settings(),
                budget=budget,
                local_files={f"b{i}": p for i, p in enumerate(paths)},
            )

    budget = MemoryBudget(cost + cost // 2)
    results = run(scenario(budget))
    assert all(isinstance(r, loader.LoadedItem) for r in results)
    assert np.all(results[0].pixels == 0)
    assert peak[0] == 1 and budget.peak == cost and budget.in_use == 0
    peak[0] = 0
    run(scenario(MemoryBudget(4 * cost)))
    assert peak[0] >= 2  # room for all: they do overlap


def test_cpu_count_honours_the_cgroup_quota(tmp_path: Path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert _cgroup_cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert _cgroup_cpu_quota(tmp_path) is None
    assert 1 <= available_cpus() <= (len(__import__("os").sched_getaffinity(0)))
    assert Settings(decode_workers=0).decode_worker_count == available_cpus()


def test_the_default_budget_leaves_the_chart_limit_a_wide_margin():
    """The API container's limit in the chart is 3 GiB; the default budget is at most a third of
    it (measured baseline RSS ~180 MiB, plus report vectors and allocator slack)."""
    import yaml

    from tests.deploy.checks import CHART_DIR

    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    limit = values["api"]["resources"]["limits"]["memory"]
    assert limit.endswith("Gi")
    limit_bytes = int(limit[:-2]) * 1024**3
    assert Settings().memory_budget_bytes * 3 <= limit_bytes
    # The largest image the pixel limit lets through still fits the budget (it runs alone).
    assert Settings().max_image_pixels * 5 <= Settings().memory_budget_bytes
