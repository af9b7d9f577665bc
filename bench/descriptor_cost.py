"""The duplicate descriptors' cost per image: one shared grey thumbnail vs one per code.

``stacked_descriptor_parts`` (what the report computes per loaded chunk: the 6 x 6 and 12 x 12
DCT pixel codes, the grid code and the second stage's verification thumbnail) against the
previous path, which box-filtered every image three times (``pixel_codes`` twice and
``copy_verification.verification_thumbnails``) and combined the grid's unit cells in 1280
dimensions before projecting them (now: projected first, 64 dimensions), on the same Fashion-MNIST images decoded at
224 px (the previous path accepts only 224), alternating, in one process. Also the new path at
128 px, the resolution reports on 28 px images now use. Prints both times and their ratio.

Run: ``.venv/bin/python -m bench.descriptor_cost [--images 1024 --rounds 3]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench._common import machine_line
from bench.real_data import decode_for_encoder, fashion_mnist, to_png


def previous_grid_codes(feature_grid: np.ndarray, orientation: np.ndarray) -> np.ndarray:
    """The grid code as it was computed before: unit cells combined in 1280 dims, then
    projected (``descriptors.grid_codes`` now projects first; the codes agree to 1e-7)."""
    from service.analysis.descriptors import _grid_projection, _l2, _validate_grid

    grid = _validate_grid(feature_grid)
    n = grid.shape[0]
    cells = _l2(grid.transpose(0, 2, 3, 1))
    left, centre, right = cells[:, :, 0], cells[:, :, 1], cells[:, :, 2]
    odd = (left - right) / np.sqrt(2.0)
    parts = np.concatenate(
        [centre, (left + right) / np.sqrt(2.0), odd * orientation[:, None, None]], axis=1
    )
    projected = parts.reshape(n * 9, 1280) @ _grid_projection(1280, 64)
    return _l2(projected.reshape(n, 576)).astype(np.float32)


def previous_path(grid: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    from service.analysis.copy_verification import verification_thumbnails
    from service.analysis.descriptors import FINE_DCT_BLOCK, pixel_codes

    pix, orientation = pixel_codes(pixels)
    fine, _ = pixel_codes(pixels, block=FINE_DCT_BLOCK)
    return np.hstack(
        [pix, fine, previous_grid_codes(grid, orientation), verification_thumbnails(pixels)]
    )


def main(argv: list[str] | None = None) -> int:
    from service.report.descriptor_parts import stacked_descriptor_parts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(machine_line())
    raw, _ = fashion_mnist("test", args.images)
    pixels = {s: np.stack([decode_for_encoder(to_png(x), size=s) for x in raw]) for s in (224, 128)}
    grid = np.random.default_rng(0).random((len(raw), 1280, 3, 3), dtype=np.float32)
    times: dict[str, list[float]] = {"previous, 224 px": [], "shared, 224 px": [],
                                     "shared, 128 px": []}  # fmt: skip
    for _ in range(args.rounds):
        for name, run in (
            ("previous, 224 px", lambda: previous_path(grid, pixels[224])),
            ("shared, 224 px", lambda: stacked_descriptor_parts(grid, pixels[224])),
            ("shared, 128 px", lambda: stacked_descriptor_parts(grid, pixels[128])),
        ):
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    same = np.abs(previous_path(grid, pixels[224]) - stacked_descriptor_parts(grid, pixels[224]))
    base = float(np.median(times["previous, 224 px"]))
    for name, values in times.items():
        median = float(np.median(values))
        print(f"{name}: {1000 * median / len(raw):.3f} ms per image (median of {args.rounds}), "
              f"{base / median:.2f}x the previous path")  # fmt: skip
    print(f"largest difference from the previous path at 224 px: {same.max():.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
