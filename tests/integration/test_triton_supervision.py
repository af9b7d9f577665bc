"""The real tritonserver killed under supervision (issue 14, D5): restarted on its ports, its
backend stubs and scratch directory gone, nothing left after ``stop()``."""

from __future__ import annotations

import os
import signal
import time

import pytest

from service.inference.local_triton import LocalTriton, TritonSupervisor, group_alive

pytestmark = pytest.mark.integration


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_a_killed_triton_is_restarted_and_leaves_nothing_behind():
    server = LocalTriton(intra_op_threads=1).start(timeout=240)
    supervisor = TritonSupervisor(server, backoff_s=0.5).start()
    first_pid, first_dir = server.process.pid, server.work_dir
    try:
        assert first_dir.exists() and group_alive(first_pid)
        os.kill(first_pid, signal.SIGKILL)  # the server only: its stubs stay in the group
        assert wait_until(lambda: supervisor.restarts == 1, timeout=300), server.logs()
        assert server.is_ready()
        assert not group_alive(first_pid)  # stubs of the dead server killed, leader reaped
        assert not first_dir.exists()
        second_pid, second_dir = server.process.pid, server.work_dir
    finally:
        supervisor.stop()
        server.stop()
    assert not group_alive(second_pid) and not second_dir.exists()
