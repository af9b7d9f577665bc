"""The review stage: what people look at and take away from a report.

- ``thumbnails``: small JPEG thumbnails made from the pixels the loader already decoded.
- ``findings``: which items a report points at (the ids that deserve a thumbnail and a CSV row).
- ``exports``: the cleaned manifest (drops and/or relabels applied) and the findings CSV.
- ``page``: one self-contained HTML page for a report (inline CSS, data: URI images, no script).

Pure functions over plain values (the report as msgspec Structs or their JSON-shaped dicts, items,
thumbnail bytes): no I/O, no Litestar.
"""

from service.review.page import render_review_page
from service.review.thumbnails import ReviewMaterial, make_thumbnail

__all__ = ["ReviewMaterial", "make_thumbnail", "render_review_page"]
