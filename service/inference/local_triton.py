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
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_REPOSITORY = REPO_ROOT / "model_repository"
DEFAULT_TRITON_VENV = REPO_ROOT / ".venv-triton"
MODEL_NAME = "image_encoder"


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
    stub = pytriton / "python_backend_stubs" / _venv_python_version(venv) / "triton_python_backend_stub"
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
    process: subprocess.Popen | None = field(default=None, init=False)
    _work_dir: Path | None = field(default=None, init=False)

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def command(self, binary: Path, backends: Path) -> list[str]:
        return [
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
            "--allow-gpu-metrics=false",
            "--model-control-mode=none",
            "--exit-on-error=true",
            "--strict-readiness=true",
            # CPU only: no pinned host memory, no CUDA pool.
            "--pinned-memory-pool-byte-size=0",
            "--cuda-memory-pool-byte-size=0:0",
            "--backend-config=python,shm-default-byte-size=16777216",
            "--backend-config=python,shm-growth-byte-size=16777216",
            "--log-verbose=0",
        ]

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

    def start(self, timeout: float = 180.0) -> LocalTriton:
        if not (self.model_repository / MODEL_NAME / "1" / "model.onnx").exists():
            raise FileNotFoundError("model.onnx missing: run `make model` first")
        self.grpc_port = self.grpc_port or free_port(self.host)
        self.http_port = self.http_port or free_port(self.host)
        self.metrics_port = self.metrics_port or free_port(self.host)
        self._work_dir = Path(tempfile.mkdtemp(prefix="imagelint-triton-"))
        binary, backends, libs = prepare_server_tree(self.venv, self._work_dir)
        log = open(self.log_path or (self._work_dir / "tritonserver.log"), "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(binary, backends),
            env=self.environment(libs),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
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
                raise RuntimeError(f"tritonserver exited with {self.process.returncode}:\n{self.logs()}")
            if self.is_ready():
                return
            time.sleep(0.25)
        raise TimeoutError(f"model not ready after {timeout:.0f}s:\n{self.logs()}")

    def logs(self, tail: int = 4000) -> str:
        path = self.log_path or (self._work_dir / "tritonserver.log" if self._work_dir else None)
        if path is None or not Path(path).exists():
            return ""
        return Path(path).read_text(errors="replace")[-tail:]

    def stop(self, timeout: float = 30.0) -> None:
        """SIGINT (Triton's graceful shutdown), then SIGKILL if it lingers."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=timeout)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        self.process = None
        if self._work_dir is not None and self.log_path is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the embedded local Triton on the CPU.")
    parser.add_argument("--host", default=os.environ.get("IMAGELINT_TRITON_BIND", "127.0.0.1"))
    parser.add_argument("--grpc-port", type=int, default=int(os.environ.get("TRITON_GRPC_PORT", 8001)))
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("TRITON_HTTP_PORT", 8002)))
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
