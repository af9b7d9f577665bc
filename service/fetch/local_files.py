"""``file://`` URIs, confined to the configured data root.

Rules (each breach is ``fetch_refused``):

- file URIs are refused when ``IMAGELINT_DATA_ROOT`` is unset;
- the URI is ``file:///absolute/path`` (empty host or ``localhost``), with no query and no
  fragment (no ``?`` or ``#`` anywhere);
- the path is percent-decoded exactly once; NUL bytes, backslashes and ``..`` segments are
  refused (so ``%2e%2e`` is caught after decoding, ``%252e%252e`` stays a literal name);
- the path is resolved strictly (symlinks followed, must exist) and the result must lie inside
  the resolved data root — a symlink that escapes the root is refused;
- only regular files are read, at most ``max_bytes`` of them: the path is ``stat``-ed first and
  anything else (a FIFO, a device, a socket) is refused before it is opened; the open itself is
  ``O_NONBLOCK`` (a FIFO swapped in after the ``stat`` cannot wedge the thread either) and the
  open descriptor is checked again.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from service.errors import ItemError


def resolve_file_uri(uri: str, root: Path | None) -> Path:
    """The real path a ``file://`` URI names, after every confinement check."""
    if root is None:
        raise ItemError("fetch_refused", "file:// URIs are disabled (IMAGELINT_DATA_ROOT is unset)")
    if "?" in uri or "#" in uri:
        raise ItemError("fetch_refused", "file:// URIs may not carry a query or fragment")
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file":
        raise ItemError("fetch_refused", "not a file:// URI")
    if parts.netloc not in ("", "localhost"):
        raise ItemError("fetch_refused", "file:// URIs may not name a host")
    decoded = unquote(parts.path, errors="strict")
    if "\x00" in decoded or "\\" in decoded:
        raise ItemError("fetch_refused", "file path contains a NUL byte or a backslash")
    if not decoded.startswith("/"):
        raise ItemError("fetch_refused", "file path must be absolute (file:///...)")
    if ".." in decoded.split("/"):
        raise ItemError("fetch_refused", "file path may not contain '..' segments")
    given_root, root = root, root.resolve()
    try:
        real = Path(decoded).resolve(strict=True)
    except FileNotFoundError as exc:
        if not _lexically_inside(Path(decoded), given_root, root):
            raise ItemError("fetch_refused", "file path is outside the data root") from exc
        raise ItemError("not_found", "no such file under the data root") from exc
    except (OSError, RuntimeError) as exc:  # symlink loops, permission errors
        raise ItemError("fetch_refused", "file path cannot be resolved") from exc
    if not real.is_relative_to(root):
        raise ItemError("fetch_refused", "file path is outside the data root")
    return real


def read_confined_file(path: Path, *, max_bytes: int) -> bytes:
    """Read a path returned by ``resolve_file_uri`` (blocking: call it from a thread)."""
    with _open_regular(path, max_bytes) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ItemError("too_large", f"file has more than {max_bytes:,} bytes")
    return data


def copy_confined_file(path: Path, dest: Path, *, max_bytes: int) -> int:
    """Copy a path returned by ``resolve_file_uri`` to ``dest`` in chunks (blocking)."""
    total = 0
    with _open_regular(path, max_bytes) as handle, open(dest, "wb") as out:
        while chunk := handle.read(1024 * 1024):
            total += len(chunk)
            if total > max_bytes:
                raise ItemError("too_large", f"file has more than {max_bytes:,} bytes")
            out.write(chunk)
    return total


def _open_regular(path: Path, max_bytes: int) -> BinaryIO:
    try:
        before = os.stat(path)
    except FileNotFoundError as exc:
        raise ItemError("not_found", "no such file under the data root") from exc
    except OSError as exc:
        raise ItemError("fetch_failed", "file could not be opened") from exc
    if not stat.S_ISREG(before.st_mode):
        raise ItemError("fetch_refused", "not a regular file")
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except FileNotFoundError as exc:
        raise ItemError("not_found", "no such file under the data root") from exc
    except OSError as exc:
        raise ItemError("fetch_failed", "file could not be opened") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ItemError("fetch_refused", "not a regular file")
    if info.st_size > max_bytes:
        os.close(fd)
        raise ItemError("too_large", f"file has {info.st_size:,} bytes; the cap is {max_bytes:,}")
    return os.fdopen(fd, "rb")


def _lexically_inside(path: Path, *roots: Path) -> bool:
    normal = Path(os.path.normpath(path))
    return any(normal.is_relative_to(root) for root in roots)
