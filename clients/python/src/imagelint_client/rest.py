"""The REST client: ``POST /v1/reports`` (a dataset reference) and ``POST /v1/reports/upload``
(a local folder, archive or manifest sent as the body), as JSON or as an NDJSON progress stream.

    from imagelint_client import Client
    with Client("http://127.0.0.1:8000") as client:
        report = client.report({"manifest_uri": "https://example.org/manifest.csv"})   # a dict
        result = client.audit_path("./folder", policy={"max_leaked_items": {"fail": 0}})
        result.verdict.outcome, result.summary.leaked_items
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import msgspec

from imagelint_client.models import AuditResult
from imagelint_client.targets import Target, resolve_target

NDJSON = "application/x-ndjson"
Progress = Callable[[dict[str, Any]], None]
UPLOAD_CHUNK = 1024 * 1024


class ApiError(Exception):
    """A problem+json answer from the API (or an NDJSON ``error`` event)."""

    def __init__(self, status: int, problem: dict[str, Any], retry_after: float | None = None):
        message = f"{status} {problem.get('code', '')}: {problem.get('detail', '')}"
        if problem.get("request_id"):
            message += f" (request id {problem['request_id']})"
        super().__init__(message)
        self.status = status
        self.problem = problem
        self.request_id: str | None = problem.get("request_id")
        self.retry_after = retry_after  # seconds, from a 429/503's Retry-After header

    @property
    def retryable(self) -> bool:
        """Busy (429) or not ready (503): the same request may succeed later."""
        return self.status in (429, 503)


class RestClient:
    """A synchronous client of one imagelint server (``base_url``: ``http://host:port``)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 900.0,
        transport: httpx.BaseTransport | None = None,
        on_upload: Callable[[str], None] | None = None,
    ):
        self._on_upload = on_upload
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @staticmethod
    def _checked(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:500]}
            if not isinstance(problem, dict):
                problem = {"detail": str(problem)[:500]}
            retry_after = response.headers.get("retry-after", "")
            raise ApiError(
                response.status_code,
                problem,
                float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None,
            )
        return response.json()

    def ready(self) -> bool:
        return self._http.get("/health/ready").status_code == 200

    # --- reports ---------------------------------------------------------------------------

    def report(
        self,
        dataset: dict[str, Any],
        *,
        checks: Iterable[str] | None = None,
        options: dict[str, Any] | None = None,
        policy: dict[str, Any] | None = None,
        on_progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Run a full report on a dataset reference (``items``, ``manifest_uri`` or
        ``archive_uri``). With ``on_progress`` the NDJSON stream is used and each progress event
        is passed to it; the report (a dict) is returned either way."""
        body: dict[str, Any] = {"dataset": dataset}
        if checks is not None:
            body["checks"] = list(checks)
        if options:
            body["options"] = options
        if policy is not None:
            body["policy"] = policy
        content = msgspec.json.encode(body)
        headers = {"Content-Type": "application/json"}
        return self._post_report("/v1/reports", content, headers, {}, on_progress)

    def review_page(
        self,
        dataset: dict[str, Any],
        *,
        checks: Iterable[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> str:
        """``POST /v1/reports/view``: the report as one self-contained HTML page."""
        body: dict[str, Any] = {"dataset": dataset}
        if checks is not None:
            body["checks"] = list(checks)
        if options:
            body["options"] = options
        response = self._http.post("/v1/reports/view", json=body)
        if response.status_code >= 400:
            self._checked(response)
        return response.text

    def upload_report(
        self,
        body: bytes | IO[bytes],
        *,
        kind: str = "archive",
        manifest_format: str | None = None,
        columns: dict[str, str] | None = None,
        checks: Iterable[str] | None = None,
        options: dict[str, Any] | None = None,
        policy: dict[str, Any] | None = None,
        on_progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Run a full report on a dataset sent as the body: a zip/tar ImageFolder archive
        (``kind="archive"``) or a manifest with absolute URIs (``kind="manifest"``)."""
        request: dict[str, Any] = {"kind": kind}
        if manifest_format:
            request["manifest_format"] = manifest_format
        if columns:
            request["columns"] = columns
        if checks is not None:
            request["checks"] = list(checks)
        if options:
            request["options"] = options
        if policy is not None:
            request["policy"] = policy
        headers = {"Content-Type": "application/octet-stream"}
        if isinstance(body, bytes):
            content: bytes | Iterator[bytes] = body
        else:
            content = _chunks(body)
            with contextlib.suppress(OSError, AttributeError):
                # A known length: a plain body instead of chunked transfer encoding.
                headers["Content-Length"] = str(os.fstat(body.fileno()).st_size - body.tell())
        params = {"request": json.dumps(request, separators=(",", ":"))}
        return self._post_report("/v1/reports/upload", content, headers, params, on_progress)

    def _post_report(
        self,
        path: str,
        content: bytes | Iterator[bytes],
        headers: dict[str, str],
        params: dict[str, str],
        on_progress: Progress | None,
    ) -> dict[str, Any]:
        if on_progress is None:
            return self._checked(
                self._http.post(path, content=content, headers=headers, params=params)
            )
        report = None
        with self._http.stream(
            "POST", path, content=content, params=params, headers={**headers, "Accept": NDJSON}
        ) as response:
            if response.status_code >= 400:
                response.read()
                self._checked(response)
            for line in response.iter_lines():
                if not line.strip():
                    continue
                event = msgspec.json.decode(line)
                if event.get("event") == "report":
                    report = event["report"]
                elif event.get("event") == "error":
                    raise ApiError(event["problem"].get("status", 500), event["problem"])
                else:
                    on_progress(event)
        if report is None:
            raise ApiError(502, {"code": "stream_ended", "detail": "stream ended without a report"})
        return report

    def audit(self, target: str | Path, **kwargs: Any) -> AuditResult:
        """Audit a local folder, archive or manifest, or a URI (see ``resolve_target``);
        keyword arguments as ``report``/``upload_report`` (``policy``, ``checks``, ...)."""
        columns = kwargs.pop("columns", None)
        manifest_format = kwargs.pop("manifest_format", None)
        resolved = resolve_target(str(target))
        with resolved.open() as body:
            if self._on_upload is not None and body is not None:
                size = os.fstat(body.fileno()).st_size
                what = (
                    f"{resolved.folder} (zipped)"
                    if resolved.folder is not None
                    else str(resolved.path)
                )
                self._on_upload(f"uploading {what}: {size / 1e6:.1f} MB")
            if resolved.kind == "reference":
                dataset = dict(resolved.reference or {})
                if columns and "manifest_uri" in dataset:
                    dataset["columns"] = columns
                if manifest_format and "manifest_uri" in dataset:
                    dataset["manifest_format"] = manifest_format
                report = self.report(dataset, **kwargs)
            else:
                assert body is not None
                report = self.upload_report(
                    body,
                    kind=resolved.kind,
                    manifest_format=manifest_format or resolved.manifest_format,
                    columns=columns,
                    **kwargs,
                )
        return AuditResult.from_report(report)

    audit_path = audit

    def check(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/checks/{name}`` (duplicates, mislabels, sample-size, imbalance)."""
        return self._checked(self._http.post(f"/v1/checks/{name}", json=payload))


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(UPLOAD_CHUNK):
        yield chunk


Client = RestClient
__all__ = ["ApiError", "Client", "RestClient", "Target"]
