"""What one report collected, as the check runners see it (plain values only).

``Collected`` is filled by the pipeline's loading and inference; ``CheckContext`` is what each
runner of ``service.report.check_runners`` reads. Both live here so that the pipeline imports the
runners and the runners import only this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.datasets import Item
from service.images.loader import FailedItem
from service.report.models import ReportOptions

LOAD_CHUNK = 256  # items fetched, decoded and encoded together


@dataclass
class Collected:
    """What loading and inference produced, rows in item order of the loaded items."""

    loaded: list[Item] = field(default_factory=list)
    facts: list[Any] = field(default_factory=list)
    failed: list[FailedItem] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)
    # duplicate descriptor parts, unweighted: pixel codes | grid code | thumbnail
    # (``stacked_descriptor_parts``)
    descriptors: list[np.ndarray] = field(default_factory=list)
    classifier_logits: list[np.ndarray] = field(default_factory=list)
    # near-duplicate calibration: rows (into ``loaded``) whose copies were planted, the copies'
    # descriptors (``len(COPY_KINDS)`` per row, in order)
    planted_rows: list[int] = field(default_factory=list)
    planted_descriptors: list[np.ndarray] = field(default_factory=list)
    # pixels per side every image was decoded and encoded at (``service.images.resolution``)
    resolution: int = 224

    def array(self, name: str) -> np.ndarray | None:
        parts = getattr(self, name)
        return np.concatenate(parts, axis=0) if parts else None


@dataclass
class CheckContext:
    """Everything a check adapter may read (plain values only)."""

    items: list[Item]
    collected: Collected
    options: ReportOptions
    embeddings: np.ndarray | None
    descriptors: np.ndarray | None
    classifier_logits: np.ndarray | None
    results: dict[str, Any] = field(default_factory=dict)
    # service.store.references.LoadedReference the request named (duplicates match against it)
    reference: Any = None

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.collected.loaded]
