"""A small Python client for the imagelint API (REST; used by ``make demo`` and the tests).

    from service.client import RestClient
    with RestClient("http://127.0.0.1:8000") as client:
        report = client.report({"manifest_uri": "file:///data/manifest.jsonl"},
                               on_progress=lambda e: print(e))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx
import msgspec

NDJSON = "application/x-ndjson"


class ApiError(Exception):
    """A problem+json answer from the API."""

    def __init__(self, status: int, problem: dict[str, Any]):
        super().__init__(f"{status} {problem.get('code', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem


class RestClient:
    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 900.0):
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

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
            raise ApiError(response.status_code, problem)
        return response.json()

    def ready(self) -> bool:
        return self._http.get("/health/ready").status_code == 200

    def report(
        self,
        dataset: dict[str, Any],
        *,
        checks: Iterable[str] | None = None,
        options: dict[str, Any] | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Run a full report. With ``on_progress`` the NDJSON stream is used and each progress
        event is passed to it; the final report is returned either way."""
        body: dict[str, Any] = {"dataset": dataset}
        if checks is not None:
            body["checks"] = list(checks)
        if options:
            body["options"] = options
        if on_progress is None:
            return self._checked(self._http.post("/v1/reports", json=body))
        report = None
        with self._http.stream("POST", "/v1/reports", json=body, headers={"Accept": NDJSON}) as response:
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

    def check(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/checks/{name}`` (duplicates, mislabels, sample-size, imbalance)."""
        return self._checked(self._http.post(f"/v1/checks/{name}", json=payload))
