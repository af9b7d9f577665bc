"""``POST /v1/reports/export``: the cleaned manifest or the findings CSV of a report.

The caller sends the dataset reference the report was made from and the report itself (as
``POST /v1/reports`` returned it); the dataset is resolved again (manifest read, archive listed,
no image fetched) so the rows carry every item's URI, label and split. The review page embeds the
same files as downloads.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, post
from litestar.datastructures import State
from litestar.params import Parameter
from msgspec import Meta

from service.api.problems import problem_responses
from service.datasets import DatasetRef, resolve_dataset
from service.report.models import Report
from service.review.exports import cleaned_manifest, findings_csv

# Litestar appends "; charset=utf-8" to text/* types itself (given here too, it came out twice)
MEDIA_TYPES = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv"}


class ExportRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Body of ``POST /v1/reports/export``."""

    dataset: Annotated[
        DatasetRef, Meta(description="the dataset reference the report was made from")
    ]
    report: Annotated[Report, Meta(description="the report, as POST /v1/reports returned it")]


class ReportExportController(Controller):
    path = "/v1/reports/export"
    tags = ["reports"]

    @post(
        "/",
        summary="Export a report's decisions: cleaned manifest or findings CSV",
        description=(
            "`kind=manifest`: the dataset's items with `apply` applied — `drops` removes the "
            "duplicates' `drop` members and unreadable files, `relabels` sets the suggested label "
            "of the items on the act-on list (`mislabels.label_issues`, counted by `summary.label_issues`), `both` does both — as JSON Lines or CSV (a "
            "manifest the service reads again). `kind=findings`: one CSV row per item and "
            "finding, with the item's URI, label and split."
        ),
        status_code=200,
        media_type="text/plain",
        responses=problem_responses(400, 401, 413, 422),
    )
    async def export_report(
        self,
        state: State,
        data: ExportRequest,
        kind: Annotated[
            Literal["manifest", "findings"], Parameter(description="what to export")
        ] = "manifest",
        apply: Annotated[
            Literal["drops", "relabels", "both"],
            Parameter(description="decisions applied to the manifest"),
        ] = "both",
        format: Annotated[
            Literal["jsonl", "csv"],
            Parameter(description="manifest format (findings are always CSV)"),
        ] = "jsonl",
    ) -> Response[str]:
        dataset = await resolve_dataset(
            data.dataset, fetcher=state.fetcher, settings=state.settings
        )
        with dataset:
            items = dataset.items
        if kind == "findings":
            text, fmt, name = findings_csv(items, data.report), "csv", "findings.csv"
        else:
            text, fmt = cleaned_manifest(items, data.report, apply=apply, fmt=format), format
            name = f"manifest-{apply}-applied.{format}"
        return Response(
            text,
            media_type=MEDIA_TYPES[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )
