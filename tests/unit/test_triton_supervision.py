"""Triton supervision (issue 14, D5) without starting Triton: a held port is refused, the
process group dies with its parent and with ``stop_group`` (children of a dead leader too), and
the supervisor restarts a dead server with bounded backoff."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.inference.local_triton import (
    LocalTriton,
    PortInUse,
    TritonSupervisor,
    free_port,
    group_alive,
    spawn_in_group,
    stop_group,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_a_held_port_is_refused_before_anything_starts(tmp_path):
    """D5: an orphaned Triton held the port and wait_ready took it for the new server."""
    repo = tmp_path / "repo" / "image_encoder" / "1"
    repo.mkdir(parents=True)
    (repo / "model.onnx").write_bytes(b"x")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = LocalTriton(
            model_repository=tmp_path / "repo", grpc_port=port, http_port=free_port()
        )
        with pytest.raises(PortInUse, match=f"gRPC {port}"):
            server.start(timeout=5)
    assert server.process is None and server.work_dir is None


def test_the_group_dies_with_its_parent(tmp_path):
    """A killed `make run` used to orphan Triton (its own session, nobody to stop it)."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from service.inference.local_triton import spawn_in_group;"
        "p = spawn_in_group(['sleep', '300']); print(p.pid, flush=True); time.sleep(300)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code, str(REPO_ROOT)], stdout=subprocess.PIPE, text=True
    )
    child = int(parent.stdout.readline())
    try:
        assert pid_alive(child)
        parent.kill()
        parent.wait()
        assert wait_until(lambda: not pid_alive(child))
    finally:
        if pid_alive(child):
            os.kill(child, signal.SIGKILL)


def test_stop_group_kills_the_children_of_a_dead_leader():
    """A killed Triton left its Python backend stub (~0.8 GB) running."""
    leader = spawn_in_group(["bash", "-c", "sleep 300 & sleep 300 & wait"])
    assert wait_until(lambda: len(_group_members(leader.pid)) >= 3)
    os.kill(leader.pid, signal.SIGKILL)
    leader.wait()
    assert group_alive(leader.pid)  # the "stubs" are still there
    stop_group(leader)
    assert wait_until(lambda: not group_alive(leader.pid))
    assert leader.returncode is not None  # reaped, no zombie of ours


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    members.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                pass
    return members


class SleepServer(LocalTriton):
    """A LocalTriton whose "server" is ``sleep`` (start fails on demand)."""

    def __init__(self, failures: int = 0):
        super().__init__()
        self.starts = 0
        self.failures = failures

    def start(self, timeout: float = 180.0):
        self.starts += 1
        if self.starts > 1 and self.failures:
            self.failures -= 1
            raise RuntimeError("did not come up")
        self.process = spawn_in_group(["sleep", "300"])
        return self


def test_the_supervisor_restarts_a_dead_server():
    server = SleepServer().start()
    first = server.process.pid
    supervisor = TritonSupervisor(server, interval_s=0.02, backoff_s=0.01).start()
    try:
        os.kill(first, signal.SIGKILL)
        assert wait_until(lambda: supervisor.restarts == 1)
        assert server.process.pid != first and server.process.poll() is None
        assert not pid_alive(first)
    finally:
        supervisor.stop()
        server.stop()
    assert server.process is None


def test_the_supervisor_backs_off_and_gives_up():
    server = SleepServer(failures=100).start()
    supervisor = TritonSupervisor(
        server, interval_s=0.01, backoff_s=0.001, max_backoff_s=0.004, max_failures=4
    )
    supervisor.start()
    try:
        os.kill(server.process.pid, signal.SIGKILL)
        assert wait_until(lambda: supervisor.gave_up)
        assert server.starts == 1 + 4 and supervisor.restarts == 0
    finally:
        supervisor.stop()
        server.stop()
