"""Near-copy verification on Fashion-MNIST, in-process: recall, precision and the stage's cost.

The duplicates check's second stage (``service.analysis.copy_verification``) on a slice of
Fashion-MNIST nobody tuned on (default: train[30000:40000]; the stage was tuned on
train[0:10000]). Images go through the service's decoder (28 x 28 PNG -> 224 x 224);
``--copies`` of them get a near copy each, as ``bench.real`` plants them (90-95 % crop, JPEG
q75, brightness x1.2, mirror, half-size round trip). The report's own calibration plants its
copies (``duplicate_calibration.plant_copies``) on 64 images, as the pipeline does.

Printed, each against the truth (a found pair is right when it is a planted pair or its two
28 x 28 images differ by a pixel RMS <= 10, Fashion-MNIST's own near copies):

- **descriptor only**: the calibrated cut on the 12 x 12 DCT pixel code (what the check chose on
  Fashion-MNIST before the second stage; the encoder's grid is left out: no Triton here);
- **with verification**: the same plus the verified candidate pairs;
- the seconds the second stage takes (candidates, scores, calibration) at this size.

Then, per copy kind, where the planted copies are lost: (a) the source is not among the
copy's candidates, or (b) it is but scores below the cut (and by how much).

``--sheet PATH`` writes a contact sheet (PNG) of the 30 strongest verified pairs that are not
planted and the 30 strongest rejected candidates, to look at.

Run: ``.venv/bin/python -m bench.copy_verification [--offset 30000 --n 10000 --copies 500]``.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image, ImageDraw

from bench._common import CACHE_DIR, machine_line
from bench.real import KINDS, RMS_NEAR_COPY, copy_of
from bench.real_data import decode_for_encoder, fashion_mnist, to_png


def encode(images_png: list[bytes]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(12 x 12 DCT pixel codes, verification thumbnails, the report's planted-copy inputs)."""
    from service.analysis.copy_verification import verification_thumbnails
    from service.analysis.descriptors import FINE_DCT_BLOCK, pixel_codes

    codes, thumbs = [], []
    for start in range(0, len(images_png), 500):
        pixels = np.stack([decode_for_encoder(p) for p in images_png[start : start + 500]])
        codes.append(pixel_codes(pixels, block=FINE_DCT_BLOCK)[0])
        thumbs.append(verification_thumbnails(pixels))
    return np.concatenate(codes), np.concatenate(thumbs), []


def sheet(pairs, images, labels, path: str, title: str) -> None:
    scale, cols = 3, 3
    side = 28 * scale
    cell = (2 * side + 16, side + 14)
    rows = max(1, (len(pairs) + cols - 1) // cols)
    out = Image.new("L", (cols * cell[0], rows * cell[1] + 14), 96)
    draw = ImageDraw.Draw(out)
    draw.text((2, 0), title, fill=255)
    for k, (a, b) in enumerate(pairs):
        x, y = (k % cols) * cell[0], 14 + (k // cols) * cell[1]
        for j, im in enumerate((images[a], images[b])):
            pil = Image.fromarray(im).resize((side, side), Image.Resampling.NEAREST)
            out.paste(pil, (x + j * (side + 4), y))
        draw.text((x, y + side), labels[k], fill=255)
    out.save(path)


def diagnose(thumbs, codes, sources, n_images: int, cut: float, sides) -> None:
    """Where each kind of planted copy is lost: (a) its source is not among its candidates, or
    (b) it is, but its copy score is below the cut (and by how much)."""
    from service.analysis.copy_verification import aligned_codes, candidate_pairs, copy_scores

    cf, cs = candidate_pairs([aligned_codes(thumbs), codes])
    candidates = set(zip(cf.tolist(), cs.tolist(), strict=True))
    copies = n_images + np.arange(len(sources))
    first, second = np.minimum(sources, copies), np.maximum(sources, copies)
    scores = copy_scores(thumbs, first, second, sides=sides)
    pairs = zip(first.tolist(), second.tolist(), strict=True)
    listed = np.array([pair in candidates for pair in pairs])
    kinds = np.array([KINDS[k % len(KINDS)] for k in range(len(sources))])
    print(f"  where planted copies are lost (cut {cut:.4f}):")
    for kind in KINDS:
        m = kinds == kind
        below = m & listed & (scores < cut)
        gap = f", median {np.median(cut - scores[below]):.4f} below" if below.any() else ""
        print(f"    {kind:10s} (a) not a candidate {np.mean(~listed[m]):.2f}; (b) a candidate "
              f"below the cut {below.sum() / m.sum():.2f}{gap}; found {np.mean(listed[m] & (scores[m] >= cut)):.2f}; "
              f"copy score q10/q50 {np.quantile(scores[m], 0.1):.4f}/{np.median(scores[m]):.4f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="train")
    parser.add_argument("--offset", type=int, default=30_000)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--copies", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sheet", default=None)
    args = parser.parse_args(argv)
    from service.analysis.copy_verification import verified_copy_pairs
    from service.analysis.duplicate_calibration import (
        COPY_KINDS,
        DEFAULT_NEIGHBOUR_SAMPLE,
        calibrate_threshold,
        nearest_distinct_similarity,
        plant_copies,
    )
    from service.analysis.similarity_search import find_similar_pairs

    print(machine_line())
    rng = np.random.default_rng(args.seed)
    images, _ = fashion_mnist(args.split, args.offset + args.n)
    images = images[args.offset :]
    sources = rng.choice(len(images), size=args.copies, replace=False)
    copies = []
    for k, src in enumerate(sources):
        data = copy_of(images[src], KINDS[k % len(KINDS)], rng)
        copies.append((data, np.asarray(Image.open(io.BytesIO(data)).convert("L"))))
    pngs = [to_png(im) for im in images] + [c[0] for c in copies]
    raw = np.concatenate([images, np.stack([c[1] for c in copies])])
    t0 = time.perf_counter()
    cache = (
        CACHE_DIR
        / f"copy_verification-{args.split}-{args.offset}-{args.n}-{args.copies}-{args.seed}.npz"
    )
    if cache.exists():
        cached = np.load(cache)
        codes, thumbs = cached["codes"], cached["thumbs"]
    else:
        codes, thumbs, _ = encode(pngs)
        CACHE_DIR.mkdir(exist_ok=True)
        np.savez(cache, codes=codes, thumbs=thumbs)
    n = len(pngs)
    print(f"{args.split}[{args.offset}:{args.offset + args.n}] + {args.copies} planted copies: "
          f"{n} items, decoded and described in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    truth = {frozenset((int(s), len(images) + k)) for k, s in enumerate(sources)}
    kind_of = {frozenset((int(s), len(images) + k)): KINDS[k % len(KINDS)]
               for k, s in enumerate(sources)}  # fmt: skip

    # the report's calibration copies: 64 images of the data, planted and described
    planted_rows = np.sort(rng.choice(n, size=64, replace=False))
    planted_pixels = np.stack([decode_for_encoder(pngs[i]) for i in planted_rows])
    copy_pixels, _ = plant_copies(planted_pixels, seed=args.seed)
    from service.analysis.copy_verification import verification_thumbnails
    from service.analysis.descriptors import FINE_DCT_BLOCK, pixel_codes

    copy_codes = pixel_codes(copy_pixels, block=FINE_DCT_BLOCK)[0]
    copy_thumbs = verification_thumbnails(copy_pixels)
    planted_sources = np.repeat(planted_rows, len(COPY_KINDS))
    sample = np.sort(rng.choice(n, size=min(n, DEFAULT_NEIGHBOUR_SAMPLE), replace=False))

    def score(pairs) -> dict:
        found = {frozenset((int(a), int(b))) for a, b in pairs}
        right = sum(
            p in truth
            or np.sqrt(np.mean((raw[min(p)].astype(float) - raw[max(p)]) ** 2)) <= RMS_NEAR_COPY
            for p in found
        )
        hit = truth & found
        by_kind = {k: sum(kind_of[p] == k for p in hit) / max(1, sum(v == k for v in kind_of.values()))
                   for k in KINDS}  # fmt: skip
        return {"pairs": len(found), "precision": round(right / len(found), 3) if found else 1.0,
                "recall": round(len(hit) / len(truth), 3),
                "by_kind": {k: round(v, 2) for k, v in by_kind.items()}}  # fmt: skip

    # stage 1: the calibrated descriptor cut
    first, second = nearest_distinct_similarity(codes, sample)
    positives = np.einsum("ij,ij->i", codes[planted_sources], copy_codes)
    cut = calibrate_threshold(positives, first, second)
    stage1 = []
    if cut.threshold <= 1.0:  # above 1: the look-alikes leave no room for a cut
        found = find_similar_pairs(codes, threshold=cut.threshold, max_pairs=1_000_000)
        stage1 = list(zip(found.first.tolist(), found.second.tolist(), strict=True))
    print(f"\ndescriptor only (dct12, cut {cut.threshold:.4f}): {score(stage1)}")

    t0, c0 = time.perf_counter(), time.process_time()
    # as the report runs it: every item's candidates estimate the look-alikes, and each item's
    # native size (28 x 28 here, the copies too) gives the downscaled-copy hypothesis
    sides = np.array([im.shape[:2] for im in raw], np.int64)
    vf, vs, verification = verified_copy_pairs(
        thumbs, codes, planted_sources=planted_sources, planted_thumbs=copy_thumbs,
        sample=np.arange(n), copy_kinds=list(COPY_KINDS) * len(planted_rows), sides=sides,
    )  # fmt: skip
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    both = stage1 + list(zip(vf.tolist(), vs.tolist(), strict=True))
    print(f"with verification (copy score cut {verification.threshold:.4f}, "
          f"{verification.candidate_pairs} candidates): {score(both)}")  # fmt: skip
    print(f"  the report's estimate: recall {verification.estimated_recall}, precision "
          f"{verification.estimated_precision}, by copy {verification.recall_by_copy}")  # fmt: skip
    print(f"  second stage: {elapsed:.1f} s wall, {cpu:.1f} s CPU for {n} items "
          f"({verification.candidate_pairs / max(elapsed, 1e-9):.0f} pairs/s)")  # fmt: skip
    diagnose(thumbs, codes, sources, len(images), verification.threshold, sides)
    if args.sheet:
        from service.analysis.copy_verification import aligned_codes, candidate_pairs, copy_scores

        cf, cs = candidate_pairs([aligned_codes(thumbs), codes])
        sc = copy_scores(thumbs, cf, cs, sides=sides)
        order = np.argsort(-sc)
        accepted = [i for i in order if sc[i] >= verification.threshold
                    and frozenset((int(cf[i]), int(cs[i]))) not in truth][:30]  # fmt: skip
        rejected = [i for i in order if sc[i] < verification.threshold][:30]
        for name, chosen in (("verified, not planted", accepted), ("rejected", rejected)):
            labels = [f"{sc[i]:.4f} rms {np.sqrt(np.mean((raw[cf[i]].astype(float) - raw[cs[i]]) ** 2)):.0f}"
                      for i in chosen]  # fmt: skip
            path = args.sheet.replace(".png", f"-{name.split(',')[0]}.png")
            sheet([(cf[i], cs[i]) for i in chosen], raw, labels, path, name)
            print(f"  contact sheet: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
