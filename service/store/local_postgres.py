"""Run a real PostgreSQL 15 server from a throw-away data directory (``make run`` and the tests).

The binaries come from Debian's ``postgresql-15`` package: the system install under
``/usr/lib/postgresql/15/bin`` when present, else the copy ``make postgres`` unpacks from the
``.deb`` into ``.tools/postgresql`` (no system install, no root). ``IMAGELINT_PG_BIN`` names
another directory holding ``initdb`` and ``postgres``.

PostgreSQL refuses to run as root. When this process is root, ``initdb`` and ``postgres`` run
through ``setpriv`` as an unprivileged user (``postgres`` when that account exists, else
``nobody``) and the data directory is handed to that user.

The server listens on 127.0.0.1 on a free port, with its unix socket inside the data directory's
parent (never ``/var/run/postgresql``), with ``fsync`` off: it holds jobs and a cache for one
session, so durability across a power cut is not what it is for. ``stop()`` shuts it down (fast
mode) and removes the directory unless it was given by the caller.

Usage::

    python -m service.store.local_postgres [--port 5432] [--data-dir DIR]

prints ``READY postgresql://...`` and stops the server on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from service.inference.local_triton import free_port, pdeathsig_setter

REPO_ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PG_BIN = Path("/usr/lib/postgresql/15/bin")
TOOLS_PG_ROOT = REPO_ROOT / ".tools" / "postgresql"
TOOLS_PG_BIN = TOOLS_PG_ROOT / "usr" / "lib" / "postgresql" / "15" / "bin"
DATABASE = "imagelint"
USER = "imagelint"


def find_pg_bin() -> Path:
    """The directory holding ``initdb`` and ``postgres`` (see the module docstring)."""
    candidates = [Path(p) for p in [os.environ.get("IMAGELINT_PG_BIN", "")] if p]
    candidates += [SYSTEM_PG_BIN, TOOLS_PG_BIN]
    for candidate in candidates:
        if (candidate / "postgres").exists() and (candidate / "initdb").exists():
            return candidate
    raise FileNotFoundError(
        "no PostgreSQL 15 server binaries: install postgresql-15 or run `make postgres` "
        f"(looked in {', '.join(str(c) for c in candidates)})"
    )


def _unprivileged_account() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when this process is root; None when it is not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    return 65534, 65534


@dataclass
class LocalPostgres:
    """One PostgreSQL server on 127.0.0.1; ``url`` is its asyncpg/libpq connection string."""

    port: int = 0
    data_dir: Path | None = None
    bin_dir: Path | None = None
    log_path: Path | None = None
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _work: Path | None = field(default=None, repr=False)
    _own_dir: bool = field(default=False, repr=False)
    started_in_s: float = 0.0

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _command(self, argv: list[str], account: tuple[int, int] | None) -> list[str]:
        if account is None:
            return argv
        uid, gid = account
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *argv]

    def _server_command(self, argv: list[str], account: tuple[int, int] | None) -> list[str]:
        """The server's command: through ``setpriv`` it re-arms the parent-death signal after
        changing the uid (a uid change clears the one set before exec)."""
        if account is None:
            return argv
        uid, gid = account
        return [
            "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
            "--pdeathsig=SIGINT", *argv,
        ]  # fmt: skip

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        libdir = self.bin_dir.parents[3] / "lib" / "x86_64-linux-gnu" if self.bin_dir else None
        if libdir is not None and (libdir / "libpq.so.5").exists():  # unpacked libpq5
            env["LD_LIBRARY_PATH"] = f"{libdir}:{env.get('LD_LIBRARY_PATH', '')}".rstrip(":")
        return env

    def _bin_reachable(self, account: tuple[int, int] | None) -> bool:
        if account is None or self.bin_dir is None:
            return True
        probe = subprocess.run(
            self._command(["test", "-x", str(self.bin_dir / "postgres")], account),
            capture_output=True,
        )
        return probe.returncode == 0

    def start(self, timeout: float = 60.0) -> LocalPostgres:
        """initdb (when the data directory is new), start, wait until it accepts connections."""
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> LocalPostgres:
        started = time.monotonic()
        self.bin_dir = self.bin_dir or find_pg_bin()
        account = _unprivileged_account()
        self._work = Path(tempfile.mkdtemp(prefix="imagelint-pg-"))
        if account is not None:
            os.chown(self._work, *account)
            if not self._bin_reachable(account):
                # binaries under a directory the unprivileged user cannot enter (e.g. /root)
                root = self.bin_dir.parents[3]
                copy = self._work / "pg"
                shutil.copytree(root, copy, symlinks=True)
                self.bin_dir = copy / self.bin_dir.relative_to(root)
                subprocess.run(["chmod", "-R", "a+rX", str(copy)], check=True)
        if self.data_dir is None:
            self.data_dir = self._work / "data"
            self._own_dir = True
        self.data_dir = Path(self.data_dir)
        self.port = self.port or free_port()
        self.log_path = self._work / "postgres.log"
        env = self._env()
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if account is not None:
                os.chown(self.data_dir, *account)
            init = subprocess.run(
                self._command(
                    [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", USER,
                     "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                    account,
                ),
                capture_output=True, text=True, env=env,
            )  # fmt: skip
            if init.returncode != 0:
                raise RuntimeError(f"initdb failed ({init.returncode}): {init.stderr[-2000:]}")
        with open(self.log_path, "wb") as log:
            if account is not None:
                os.chown(self.log_path, *account)
            # the parent (make run, the test session) killed outright: SIGINT is PostgreSQL's
            # fast shutdown, so no server is left behind with parent pid 1
            self._process = subprocess.Popen(
                self._server_command(
                    [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-h", "127.0.0.1",
                     "-p", str(self.port), "-k", str(self._work), "-c", "fsync=off",
                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                     "-c", "max_connections=200"],
                    account,
                ),
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                preexec_fn=pdeathsig_setter(int(signal.SIGINT)),  # noqa: PLW1509
            )  # fmt: skip
        self._wait_ready(timeout)
        self._ensure_database()
        self.started_in_s = round(time.monotonic() - started, 3)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import socket

        process = self._process
        if process is None:
            raise RuntimeError("postgres was not started")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"postgres exited ({process.returncode}): {self.log_tail()}")
            with socket.socket() as probe:
                probe.settimeout(0.5)
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    if self._accepts_queries():
                        return
            time.sleep(0.05)
        raise TimeoutError(f"postgres not ready in {timeout}s: {self.log_tail()}")

    def _accepts_queries(self) -> bool:
        import asyncio

        import asyncpg

        async def probe() -> bool:
            try:
                conn = await asyncpg.connect(
                    f"postgresql://{USER}@127.0.0.1:{self.port}/postgres", timeout=2
                )
            except (TimeoutError, OSError, asyncpg.PostgresError):
                return False
            await conn.close()
            return True

        return asyncio.run(probe())

    def _ensure_database(self) -> None:
        import asyncio

        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(f"postgresql://{USER}@127.0.0.1:{self.port}/postgres")
            try:
                exists = await conn.fetchval(
                    "SELECT 1 FROM pg_database WHERE datname = $1", DATABASE
                )
                if not exists:
                    await conn.execute(f'CREATE DATABASE "{DATABASE}"')
            finally:
                await conn.close()

        asyncio.run(create())

    def log_tail(self, chars: int = 2000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT), then remove the scratch directory (and data we created)."""
        if self._process is not None and self._process.poll() is None:
            # the process is setpriv exec'ed into postgres: the same pid
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        if self._work is not None:
            keep = None if self._own_dir else self.data_dir
            if keep is None or not str(keep).startswith(str(self._work)):
                shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a local PostgreSQL 15 for imagelint.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    server = LocalPostgres(port=args.port, data_dir=args.data_dir).start()
    print(f"READY {server.url} (started in {server.started_in_s:.2f}s)", flush=True)
    stop = {"now": False}

    def on_signal(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop["now"]:
            time.sleep(0.2)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
