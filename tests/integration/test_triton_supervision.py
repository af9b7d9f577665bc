"""The real tritonserver killed under supervision (issue 14, D5): restarted on its ports, its
backend stubs and scratch directory gone, nothing left after ``stop()``."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from service.inference.local_triton import LocalTriton, TritonSupervisor, group_alive

REPO_ROOT = Path(__file__).resolve().parents[2]  # `-m devtools.run_local` runs from the checkout

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


def _tritons_on(grpc_port: int) -> list[int]:
    from pathlib import Path

    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if (
                cmdline
                and cmdline[0].endswith(b"tritonserver")
                and state != "Z"
                and f"--grpc-port={grpc_port}".encode() in cmdline
            ):
                found.append(int(entry.name))
    return found


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _children_named(parent: int, name: bytes) -> list[int]:
    """Live children of ``parent`` whose program's file name contains ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        try:
            program = (entry / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if fields and fields[0] != "Z" and int(fields[1]) == parent and name in program:
            found.append(int(entry.name))
    return found


def test_make_run_killed_outright_leaves_no_orphan_and_a_held_port_is_refused(tmp_path):
    """D5: stopping `make run` orphaned Triton; the next `make run` then failed to bind and took
    the orphan for its own server."""
    import subprocess
    import sys

    import httpx

    from service.inference.local_triton import free_port, port_is_free

    ports = {
        "TRITON_GRPC_PORT": free_port(),
        "TRITON_HTTP_PORT": free_port(),
        "TRITON_METRICS_PORT": free_port(),
    }
    api_port = free_port()
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "IMAGELINT_GRPC_PORT": str(free_port()),
        "IMAGELINT_DATA_ROOT": str(tmp_path),
    }
    first = subprocess.Popen(
        [sys.executable, "-m", "devtools.run_local", "--port", str(api_port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def ready() -> bool:
            try:
                return (
                    httpx.get(f"http://127.0.0.1:{api_port}/health/ready", timeout=2).status_code
                    == 200
                )
            except httpx.HTTPError:
                return False

        assert wait_until(ready, timeout=300)
        assert len(_tritons_on(ports["TRITON_GRPC_PORT"])) == 1
        second = subprocess.run(
            [sys.executable, "-m", "devtools.run_local", "--port", str(free_port())],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2 and "in use by another process" in second.stderr
        assert ready()  # the first one's Triton was left alone
        postgres = _children_named(first.pid, b"postgres")
        assert len(postgres) == 1  # the local PostgreSQL of `make run`
        first.kill()  # no cleanup code runs: the kernel must take Triton down with it
        first.wait()
        assert wait_until(lambda: not _tritons_on(ports["TRITON_GRPC_PORT"]), timeout=60)
        # ... and PostgreSQL (its parent-death signal: a fast shutdown)
        assert wait_until(lambda: not _alive(postgres[0]), timeout=60)
        assert wait_until(lambda: port_is_free("127.0.0.1", ports["TRITON_GRPC_PORT"]), timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        for pid in _tritons_on(ports["TRITON_GRPC_PORT"]):
            os.kill(pid, signal.SIGKILL)
