"""Run the real ``tritonserver`` binary from the ``nvidia-pytriton`` wheel on this machine's CPU.

The embedded, local Triton for ``make run`` and the tests. It needs its own virtual environment
(``IMAGELINT_TRITON_VENV``, default ``.venv-triton``) holding ``nvidia-pytriton``, ``numpy<2``
and ``onnxruntime``: the Python backend stub embeds the interpreter and imports the model's
packages from there (with numpy 2 the outputs come back empty).

Layout prepared under a scratch directory (never inside the repository):

    <work>/backends/python/libtriton_python.so          copied from the wheel
    <work>/backends/python/triton_python_backend_stub    the stub for this Python version
    <work>/backends/python/triton_python_backend_utils.py

Usage::

    python -m service.inference.local_triton [--grpc-port 8001] [--http-port 8002] ...

It waits until the model is READY, prints one line ``READY grpc=HOST:PORT``, and stops the
server cleanly on Ctrl-C / SIGTERM.

Supervision (issue 14, D5):

- ``start()`` refuses to start when one of its ports is already held (``PortInUse``): an
  orphaned server from an earlier run would otherwise answer ``wait_ready`` in its place;
- Triton runs in its own process group (a terminal's Ctrl-C goes to the parent, which stops it
  gracefully) and is killed by the kernel if its parent dies without cleaning up
  (``PR_SET_PDEATHSIG``), so a killed ``make run`` leaves no orphan;
- ``stop()`` signals the whole group on every path (the Python backend stubs included, even
  when the server itself is already dead), reaps the server and removes its scratch directory;
- ``TritonSupervisor`` restarts a server that died, with capped exponential backoff.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_REPOSITORY = REPO_ROOT / "model_repository"
DEFAULT_TRITON_VENV = REPO_ROOT / ".venv-triton"
MODEL_NAME = "image_encoder"
PR_SET_PDEATHSIG = 1
log = logging.getLogger("imagelint.triton")


class PortInUse(RuntimeError):
    """A port Triton should listen on is held by another process (perhaps an orphaned Triton)."""


def port_is_free(host: str, port: int) -> bool:
    """Whether ``port`` can be bound on ``host`` now (SO_REUSEADDR, as servers bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def pdeathsig_setter(signal_number: int = int(signal.SIGKILL)):
    """A child-side callable that makes the kernel signal the child (SIGKILL unless told
    otherwise) when its parent dies
    (Linux ``prctl(PR_SET_PDEATHSIG)``), or None elsewhere. libc is resolved here, in the
    parent: between fork and exec the child only makes the one foreign call (no dlopen, no
    imports, nothing that could wait on a lock another thread held at fork time)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]

    def die_with_parent() -> None:  # pragma: no cover - runs in the child
        prctl(PR_SET_PDEATHSIG, signal_number)

    return die_with_parent


def spawn_in_group(
    command: list[str], *, env: dict[str, str] | None = None, stdout=None
) -> subprocess.Popen:
    """Start ``command`` as the leader of a new session and process group (``stop_group``
    signals all of it) that the kernel kills if this process dies without stopping it."""
    return subprocess.Popen(
        command,
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout is not None else None,
        start_new_session=True,
        preexec_fn=pdeathsig_setter(),  # noqa: PLW1509 - one prctl call, resolved in the parent
    )


def stop_group(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGINT to the group (graceful), SIGKILL to what is left, then reap the leader."""
    pgid = process.pid
    if process.poll() is None:
        try:
            os.killpg(pgid, signal.SIGINT)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
    try:  # always: children (backend stubs) outlive a leader that was killed
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
        pass
    # A killed process is still "alive" in /proc until the kernel has torn it down (a loaded
    # stub takes a moment on a busy machine): return only once the whole group is gone.
    deadline = time.monotonic() + 10.0
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of the group ``pgid`` remains.

    Zombies hold no memory; killed backend stubs become the zombies of whoever reaps orphans
    (the container's init), which this process cannot reap.
    """
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - not Linux
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces or parens.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _venv_site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3.*/site-packages"))
    if not found:
        raise FileNotFoundError(f"no site-packages in {venv}: run `make triton-venv`")
    return found[0]


def _venv_python_version(venv: Path) -> str:
    return _venv_site_packages(venv).parent.name.removeprefix("python")


def prepare_server_tree(venv: Path, work_dir: Path) -> tuple[Path, Path, Path]:
    """Copy the backend with the right stub into ``work_dir``.

    Returns (tritonserver binary, backend directory, bundled libs directory).
    """
    site = _venv_site_packages(venv)
    pytriton = site / "pytriton" / "tritonserver"
    libs = site / "nvidia_pytriton.libs"
    binary = pytriton / "bin" / "tritonserver"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} missing: is nvidia-pytriton installed in {venv}?")
    backends = work_dir / "backends"
    python_backend = backends / "python"
    python_backend.mkdir(parents=True, exist_ok=True)
    for item in (pytriton / "backends" / "python").iterdir():
        if item.is_file():
            shutil.copy2(item, python_backend / item.name)
    stub = (
        pytriton
        / "python_backend_stubs"
        / _venv_python_version(venv)
        / "triton_python_backend_stub"
    )
    shutil.copy2(stub, python_backend / "triton_python_backend_stub")
    (python_backend / "triton_python_backend_stub").chmod(0o755)
    return binary, backends, libs


@dataclass
class LocalTriton:
    """A tritonserver process on loopback; ``start()`` blocks until the model is ready."""

    model_repository: Path = DEFAULT_MODEL_REPOSITORY
    venv: Path = DEFAULT_TRITON_VENV
    host: str = "127.0.0.1"
    grpc_port: int = 0
    http_port: int = 0
    metrics_port: int = 0
    log_path: Path | None = None
    intra_op_threads: int = 0
    # True on a GPU machine (bench/device_check.sh): keep Triton's pinned and CUDA memory pools
    gpu: bool = False
    process: subprocess.Popen | None = field(default=None, init=False)
    _work_dir: Path | None = field(default=None, init=False)

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def command(self, binary: Path, backends: Path) -> list[str]:
        return (
            [
                str(binary),
                f"--model-repository={self.model_repository}",
                f"--backend-directory={backends}",
                f"--grpc-address={self.host}",
                f"--grpc-port={self.grpc_port}",
                f"--http-address={self.host}",
                f"--http-port={self.http_port}",
                f"--metrics-address={self.host}",
                f"--metrics-port={self.metrics_port}",
                "--allow-metrics=true",
                f"--allow-gpu-metrics={str(self.gpu).lower()}",
                "--model-control-mode=none",
                "--exit-on-error=true",
                "--strict-readiness=true",
            ]
            + (
                []
                if self.gpu
                # CPU only: no pinned host memory, no CUDA pool.
                else ["--pinned-memory-pool-byte-size=0", "--cuda-memory-pool-byte-size=0:0"]
            )
            + [
                "--backend-config=python,shm-default-byte-size=16777216",
                "--backend-config=python,shm-growth-byte-size=16777216",
                "--log-verbose=0",
            ]
        )

    def environment(self, libs: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = ":".join(filter(None, [str(libs), env.get("LD_LIBRARY_PATH")]))
        # The stub embeds Python; it must import numpy<2 and onnxruntime from the Triton venv.
        env["PYTHONPATH"] = str(_venv_site_packages(self.venv))
        env["PATH"] = f"{self.venv / 'bin'}:{env.get('PATH', '')}"
        env.pop("PYTHONHOME", None)
        if self.intra_op_threads:
            env["IMAGELINT_ORT_INTRA_OP_THREADS"] = str(self.intra_op_threads)
        return env

    def check_ports(self) -> None:
        """Raise ``PortInUse`` naming every port of this server that another process holds."""
        held = [
            f"{name} {port}"
            for name, port in (
                ("gRPC", self.grpc_port),
                ("HTTP", self.http_port),
                ("metrics", self.metrics_port),
            )
            if port and not port_is_free(self.host, port)
        ]
        if held:
            raise PortInUse(
                f"port(s) {', '.join(held)} on {self.host} are in use by another process (an "
                "orphaned tritonserver from an earlier run?): stop it, or choose other ports "
                "(TRITON_GRPC_PORT / TRITON_HTTP_PORT / TRITON_METRICS_PORT)"
            )

    def start(self, timeout: float = 180.0) -> LocalTriton:
        if not (self.model_repository / MODEL_NAME / "1" / "model.onnx").exists():
            raise FileNotFoundError("model.onnx missing: run `make model` first")
        self.check_ports()
        self.grpc_port = self.grpc_port or free_port(self.host)
        self.http_port = self.http_port or free_port(self.host)
        self.metrics_port = self.metrics_port or free_port(self.host)
        self._work_dir = Path(tempfile.mkdtemp(prefix="imagelint-triton-"))
        try:
            binary, backends, libs = prepare_server_tree(self.venv, self._work_dir)
            with open(self.log_path or (self._work_dir / "tritonserver.log"), "ab") as log_file:
                self.process = spawn_in_group(
                    self.command(binary, backends), env=self.environment(libs), stdout=log_file
                )
        except BaseException:
            self.stop()
            raise
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def is_ready(self) -> bool:
        url = f"{self.http_url}/v2/models/{MODEL_NAME}/ready"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 (loopback)
                return response.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"tritonserver exited with {self.process.returncode}:\n{self.logs()}"
                )
            if self.is_ready():
                return
            time.sleep(0.25)
        raise TimeoutError(f"model not ready after {timeout:.0f}s:\n{self.logs()}")

    def logs(self, tail: int = 4000) -> str:
        path = self.log_path or (self._work_dir / "tritonserver.log" if self._work_dir else None)
        if path is None or not Path(path).exists():
            return ""
        return Path(path).read_text(errors="replace")[-tail:]

    @property
    def work_dir(self) -> Path | None:
        return self._work_dir

    def stop(self, timeout: float = 30.0) -> None:
        """SIGINT to the group (Triton's graceful shutdown), SIGKILL to whatever is left of it
        (backend stubs too, even when the server already died), reap, remove the scratch dir."""
        if self.process is not None:
            stop_group(self.process, timeout)
        self.process = None
        if self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None


@dataclass
class TritonSupervisor:
    """Watches a started ``LocalTriton`` from a thread and restarts it when it dies.

    Backoff between attempts doubles from ``backoff_s`` up to ``max_backoff_s``; after
    ``max_failures`` restarts in a row that did not come up, it gives up (logged) and
    ``gave_up`` is set. ``restarts`` counts successful restarts. A server it restarted is tied
    to its thread (the kernel's parent-death signal follows the thread that forked), so it is
    also killed when the supervisor stops: stop the supervisor only when stopping the server.
    """

    server: LocalTriton
    interval_s: float = 0.5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    max_failures: int = 10
    start_timeout_s: float = 240.0
    restarts: int = 0
    gave_up: bool = False
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def start(self) -> TritonSupervisor:
        self._thread = threading.Thread(target=self._watch, name="triton-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.start_timeout_s + 30)

    def _watch(self) -> None:
        failures = 0
        delay = self.backoff_s
        while not self._stop.wait(self.interval_s):
            process = self.server.process
            if process is not None and process.poll() is None:
                continue
            code = process.returncode if process is not None else None
            log.error("tritonserver exited (code %s); restarting in %.1fs", code, delay)
            self.server.stop()  # reap it, kill its leftover stubs, remove its scratch dir
            if self._stop.wait(delay):
                return
            try:
                self.server.start(timeout=self.start_timeout_s)
            except Exception as exc:  # noqa: BLE001 - retried with backoff
                self.server.stop()
                failures += 1
                delay = min(self.max_backoff_s, delay * 2)
                log.error("tritonserver restart %d failed: %s", failures, str(exc)[:500])
                if failures >= self.max_failures:
                    self.gave_up = True
                    log.error("giving up on tritonserver after %d failed restarts", failures)
                    return
                continue
            failures, delay = 0, self.backoff_s
            self.restarts += 1
            log.warning("tritonserver restarted at grpc=%s", self.server.grpc_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the embedded local Triton on the CPU.")
    parser.add_argument("--host", default=os.environ.get("IMAGELINT_TRITON_BIND", "127.0.0.1"))
    parser.add_argument(
        "--grpc-port", type=int, default=int(os.environ.get("TRITON_GRPC_PORT", 8001))
    )
    parser.add_argument(
        "--http-port", type=int, default=int(os.environ.get("TRITON_HTTP_PORT", 8002))
    )
    parser.add_argument(
        "--metrics-port", type=int, default=int(os.environ.get("TRITON_METRICS_PORT", 8003))
    )
    parser.add_argument("--model-repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    parser.add_argument("--venv", type=Path, default=DEFAULT_TRITON_VENV)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args(argv)

    server = LocalTriton(
        model_repository=args.model_repository.resolve(),
        venv=args.venv.resolve(),
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        metrics_port=args.metrics_port,
    )
    stopping = False

    def _stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    started = time.monotonic()
    server.start(timeout=args.timeout)
    print(
        f"READY grpc={server.grpc_url} http={server.http_url} "
        f"metrics={server.host}:{server.metrics_port} ({time.monotonic() - started:.1f}s)",
        flush=True,
    )
    try:
        while not stopping:
            if server.process is None or server.process.poll() is not None:
                print(server.logs(), file=sys.stderr)
                return 1
            time.sleep(0.5)
    finally:
        server.stop()
        print("tritonserver stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
