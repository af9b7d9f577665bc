"""``/v1/collections/{name}``: named reference sets that later audits check new items against.

``PUT`` makes (or replaces) a collection from a succeeded job — its items' stored material is
copied inside the database, no image is read — or from a dataset, audited once for it (fetch,
decode, encode; cached images skip Triton). ``GET`` describes it, ``DELETE`` removes it. A report
or job names it with ``"reference": {"collection": name}``.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, delete, get, put
from litestar.datastructures import State
from litestar.params import Parameter
from msgspec import Meta

from service.api.problems import problem_responses
from service.datasets import DatasetRef
from service.errors import (
    DeadlineExceeded,
    InvalidInput,
    JobNotFound,
    JobNotReady,
    JobsUnavailable,
    ReferenceNotFound,
)
from service.store.references import COLLECTION_NAME, ReferenceInfo, ReferenceStore

NAME = Parameter(
    pattern=COLLECTION_NAME.pattern,
    description="1 to 128 of letters, digits, `.`, `_`, `-`; starting with a letter or digit",
)


class CollectionSource(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Where a collection's items come from: exactly one of ``job`` and ``dataset``."""

    job: (
        Annotated[str, Meta(description="a succeeded job whose report ran the duplicates check")]
        | None
    ) = None
    dataset: (
        Annotated[DatasetRef, Meta(description="a dataset to audit once for this collection")]
        | None
    ) = None

    def __post_init__(self) -> None:
        if (self.job is None) == (self.dataset is None):
            raise ValueError("give exactly one of job and dataset")


class CollectionInfo(msgspec.Struct, omit_defaults=True):
    """A collection: its items by split, what it was made from, the encoder that made it."""

    name: str
    items: int
    splits: dict[str, int]
    source: dict[str, Any]
    model: str
    created_at: str


def collection_info(info: ReferenceInfo) -> CollectionInfo:
    return CollectionInfo(
        name=info.name or "",
        items=info.items,
        splits=info.splits,
        source=info.source,
        model=info.model,
        created_at=info.created_at.isoformat(),
    )


def _references(state: State) -> ReferenceStore:
    references = getattr(state, "references", None)
    if references is None:
        raise JobsUnavailable("collections need a database: set IMAGELINT_DATABASE_URL")
    return references


async def _from_job(state: State, references: ReferenceStore, name: str, raw: str):
    try:
        job_id = uuid.UUID(raw)
    except ValueError as exc:
        raise JobNotFound(f"no job {raw!r}", field="job") from exc
    job = await state.job_store.get(job_id)
    if job is None:
        raise JobNotFound(f"no job {raw} (never submitted, or its result expired)", field="job")
    if job.state != "succeeded":
        raise JobNotReady(f"job {raw} is {job.state}", field="job")
    made = await references.collection_from_job(name, job_id)
    if made is None:
        raise InvalidInput(
            f"job {raw} kept no items of this encoder (its report did not run the duplicates check)",
            field="job",
        )
    return made


async def _from_dataset(state: State, references: ReferenceStore, name: str, ref: DatasetRef):
    from service.report.models import DuplicatesOptions, ReportOptions, ReportRequest
    from service.report.pipeline import Dependencies, run_report

    # a fixed threshold: the collection needs descriptors, not a calibrated cut (no planted copies)
    request = ReportRequest(
        dataset=ref,
        checks=["duplicates"],
        options=ReportOptions(duplicates=DuplicatesOptions(threshold=0.9)),
    )
    kept: list[Any] = []
    state.report_slots.acquire()
    try:
        await asyncio.wait_for(
            run_report(request, Dependencies.from_state(state), keep_material=kept.append),
            timeout=state.settings.report_deadline_s,
        )
    except TimeoutError as exc:
        raise DeadlineExceeded(
            f"the dataset was not audited within {state.settings.report_deadline_s:g} s; "
            "audit it as a job and PUT the collection from the job"
        ) from exc
    finally:
        state.report_slots.release()
    if not kept or kept[0] is None:
        raise InvalidInput("no image of the dataset could be loaded", field="dataset")
    source = {"dataset": msgspec.to_builtins(ref)}
    return await references.save_collection(name, kept[0], source)


class CollectionsController(Controller):
    path = "/v1/collections"
    tags = ["collections"]

    @put(
        "/{name:str}",
        summary="Make or replace a named reference collection",
        description=(
            'From a job (`{"job": id}`: a succeeded job whose report ran duplicates; nothing is '
            're-read) or a dataset (`{"dataset": {...}}`: audited once, within the report '
            "deadline). 201 when created, 200 when replaced."
        ),
        responses=problem_responses(400, 401, 404, 409, 422, 429, 503, 504),
    )
    async def put_collection(
        self, state: State, name: Annotated[str, NAME], data: CollectionSource
    ) -> Response[CollectionInfo]:
        references = _references(state)
        if data.job is not None:
            info, created = await _from_job(state, references, name, data.job)
        elif data.dataset is not None:
            info, created = await _from_dataset(state, references, name, data.dataset)
        else:  # the request Struct requires exactly one of them
            raise InvalidInput("give exactly one of job and dataset", field="dataset")
        return Response(
            collection_info(info),
            status_code=201 if created else 200,
            headers={"Location": f"/v1/collections/{name}"},
        )

    @get(
        "/{name:str}",
        summary="A collection: items by split, source, encoder",
        responses=problem_responses(400, 401, 404, 503),
    )
    async def get_collection(self, state: State, name: Annotated[str, NAME]) -> CollectionInfo:
        info = await _references(state).info(collection=name)
        if info is None:
            raise ReferenceNotFound(f"no collection {name!r}", field="name")
        return collection_info(info)

    @delete(
        "/{name:str}",
        summary="Remove a collection",
        status_code=204,
        responses=problem_responses(400, 401, 404, 503),
    )
    async def delete_collection(self, state: State, name: Annotated[str, NAME]) -> None:
        if not await _references(state).delete_collection(name):
            raise ReferenceNotFound(f"no collection {name!r}", field="name")
