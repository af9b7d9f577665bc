"""``POST /v1/embeddings``: multipart upload of up to N image files -> embedding and top-5
ImageNet classes per file. The first end-to-end path through decode and Triton."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

import msgspec
import numpy as np
from litestar import Controller, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from service.analysis.label_scores import softmax
from service.api.problems import problem_responses
from service.errors import InvalidRequest, ItemError, PayloadTooLarge
from service.images.loader import decode_admitted


@dataclass
class EmbeddingsUpload:
    """Multipart form: the field ``files``, repeated once per image."""

    files: list[UploadFile]


class ClassScore(msgspec.Struct):
    class_index: int
    probability: float
    label: str = ""


class FileError(msgspec.Struct):
    code: str
    detail: str


class FileEmbedding(msgspec.Struct, omit_defaults=True):
    filename: str
    status: int
    embedding: list[float] | None = None
    top5: list[ClassScore] | None = None
    error: FileError | None = None


class EmbeddingsResponse(msgspec.Struct):
    model: str
    files: list[FileEmbedding]


def softmax_top_k(logits: np.ndarray, k: int = 5) -> list[list[tuple[int, float]]]:
    """Per row, the k most probable classes as (index, probability), most probable first."""
    probs = softmax(logits)
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [[(int(i), float(probs[r, i])) for i in row] for r, row in enumerate(top)]


class EmbeddingsController(Controller):
    path = "/v1/embeddings"
    tags = ["embeddings"]

    @post(
        "/",
        summary="Embed uploaded images (multipart field `files`, repeated)",
        status_code=200,
        responses=problem_responses(400, 413, 422, 503),
    )
    async def embed(
        self,
        state: State,
        data: Annotated[EmbeddingsUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> EmbeddingsResponse:
        settings = state.settings
        files = data.files if isinstance(data.files, list) else [data.files]
        if not files:
            raise InvalidRequest("no files uploaded (multipart field `files`)", field="files")
        if len(files) > settings.max_upload_files:
            raise PayloadTooLarge(
                f"{len(files)} files uploaded; at most {settings.max_upload_files} per request",
                field="files",
            )

        async def decode(upload: UploadFile):
            raw = await upload.read()
            try:
                return await decode_admitted(
                    raw,
                    pool=state.decode_pool,
                    budget=state.memory_budget,
                    max_pixels=settings.max_image_pixels,
                )
            except ItemError as exc:
                return exc

        decoded = await asyncio.gather(*(decode(f) for f in files))
        images = {i: d for i, d in enumerate(decoded) if not isinstance(d, ItemError)}
        errors = {i: d for i, d in enumerate(decoded) if isinstance(d, ItemError)}
        good = list(images)
        results: list[FileEmbedding] = []
        names: list[str] = []
        if good:
            batch = np.stack([images[i].pixels for i in good])
            encoded = await state.encoder.encode(batch)
            tops = softmax_top_k(encoded.logits, 5)
            names = await state.encoder.class_names()
            by_index = {i: (encoded.embeddings[j], tops[j]) for j, i in enumerate(good)}
        else:
            by_index = {}
        for i, upload in enumerate(files):
            name = upload.filename or f"file-{i}"
            if i in by_index:
                emb, top = by_index[i]
                results.append(
                    FileEmbedding(
                        filename=name,
                        status=200,
                        embedding=[float(v) for v in emb],
                        top5=[
                            ClassScore(c, p, names[c] if c < len(names) else f"class_{c}")
                            for c, p in top
                        ],
                    )
                )
            else:
                err = errors[i]
                results.append(
                    FileEmbedding(filename=name, status=422, error=FileError(err.code, err.detail))
                )
        if not good:
            first = errors[0]
            raise ItemError(
                first.code, f"no file could be decoded; {results[0].filename}: {first.detail}"
            )
        return EmbeddingsResponse(model=settings.triton_model, files=results)
