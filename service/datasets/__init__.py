"""Dataset references: inline items, manifests (JSONL/CSV/JSON), ImageFolder archives (zip/tar).

``resolve_dataset(ref, fetcher=..., settings=...)`` is the entry point; ``DatasetRef`` is the
request schema (reused inside API request bodies), ``Item`` what the rest of the service sees.
"""

from service.datasets.items import normalize_split
from service.datasets.model import AnnotationIn, DatasetRef, Item, ItemIn, ResolvedDataset
from service.datasets.resolve import resolve_dataset

__all__ = [
    "AnnotationIn",
    "DatasetRef",
    "Item",
    "ItemIn",
    "ResolvedDataset",
    "normalize_split",
    "resolve_dataset",
]
