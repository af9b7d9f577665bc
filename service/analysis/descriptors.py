"""Near-duplicate descriptors: a low-frequency pixel code fused with the encoder's 3 x 3 grid.

The encoder's pooled embedding is semantic ("a cat photo") and a poor duplicate detector: two
crops of one scene look alike to it while a strong JPEG re-encode can land far away. The
descriptor here is built for copies instead, from two parts, each L2-normalised and weighted so
that the cosine of two descriptors is ``0.85 * cos(pixel codes) + 0.15 * cos(grid codes)``:

- **pixel code** (35 dims): the grey image box-averaged to 32 x 32, its 2-D DCT-II, the 6 x 6
  lowest frequencies without the DC term — a continuous perceptual hash (the coefficients pHash
  thresholds to bits). Removing DC and normalising makes it blind to brightness and contrast;
  the low frequencies survive JPEG, resizing, colour shifts and small overlays.
- **grid code** (9 x 64 dims): the encoder's ``feature_grid`` (1280 x 3 x 3), each cell
  L2-normalised; per row the centre cell, ``(left + right) / sqrt 2`` and ``(left - right) /
  sqrt 2``; each projected to 64 dims by a fixed Gaussian matrix (Johnson–Lindenstrauss; seed 0).
  It keeps the layout and the semantics, which separates unrelated photos that share a coarse
  brightness layout.

Measured on ``bench/near_duplicates.py`` (1800 images decoded by ``decode_image``; best F1 with
precision >= 0.95): pixel code alone F1 0.876 with 212 false pairs between *different* photos;
grid code alone F1 0.170; fused 0.85/0.15 F1 0.891 with none (6 x 6 block; 5 x 5: 0.901 but 9
cross-photo false pairs; 4 x 4: 0.896, 13). The grid's weak showing alone is the model's: on
an earlier, centre-crop version of the benchmark the encoder's features at any depth (blocks
10, 14, 15 or the head, 3 x 3 avg or max pooled) reached at most F1 0.65 alone, and a
mid-network grid fused instead of the head's gained nothing (0.898-0.906 vs 0.900), so the
exported ``feature_grid`` is kept.

Flip robustness by construction: a horizontal flip multiplies the DCT coefficients of odd
horizontal frequency by -1 and swaps left and right cells, so it only negates the "odd" part of
both codes. Each image is put in a canonical orientation — the odd part's sign is chosen so that
the image's left-right brightness gradient (the sum of the u = 1 DCT column) is >= 0 — so an
image and its mirror get the same descriptor and a plain cosine search stays flip-robust.

Default threshold and the choices above come from ``bench/near_duplicates.py`` (real photos,
generated transforms, hard negatives): see ``DEFAULT_NEAR_DUPLICATE_THRESHOLD``.

References
----------
Zauner, C. (2010). Implementation and benchmarking of perceptual image hash functions (pHash:
    DCT of a 32 x 32 grey thumbnail, low 8 x 8 block).
Babenko, A., Lempitsky, V. (2015). Aggregating deep convolutional features for image retrieval.
Tolias, G., Sicre, R., Jégou, H. (2016). Particular object retrieval with integral max-pooling
    of CNN activations (regional descriptors from the last feature map).
Johnson, W. B., Lindenstrauss, J. (1984). Extensions of Lipschitz mappings into a Hilbert space.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from service.errors import InvalidInput

# bench/near_duplicates.py with the round-2 encoder (ReLU6 grid): the F1-best cut with
# precision >= 0.95 is 0.8951 (F1 0.905; no false pair across different photos); round 1's 0.86
# now gives precision 0.876. Used only when a dataset is too small to calibrate (< 50 images) or
# for caller descriptors; reports calibrate their own (``duplicate_calibration``).
DEFAULT_NEAR_DUPLICATE_THRESHOLD = 0.895
PIXEL_WEIGHT = 0.85
THUMBNAIL_SIZE = 32
DCT_BLOCK = 6
GRID_PROJECTION_DIM = 64
GRID_CHANNELS = 1280
IMAGE_SIZE = 224  # the encoder's trained resolution; pixels may be any multiple of 32 >= 32
PIXEL_CODE_DIM = DCT_BLOCK * DCT_BLOCK - 1
FINE_DCT_BLOCK = 12
FINE_PIXEL_CODE_DIM = FINE_DCT_BLOCK * FINE_DCT_BLOCK - 1
GRID_CODE_DIM = 9 * GRID_PROJECTION_DIM
DESCRIPTOR_DIM = PIXEL_CODE_DIM + GRID_CODE_DIM
# ITU-R BT.601 luma weights (what PIL's "L" mode uses).
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@lru_cache(maxsize=4)
def _dct_basis(n: int, k: int) -> np.ndarray:
    """Rows 0..k-1 of the orthonormal DCT-II matrix of size n (k x n, float32)."""
    x = np.arange(n)
    u = np.arange(k)[:, None]
    # C[u, x] = a(u) cos(pi (2x + 1) u / 2n), a(0) = sqrt(1/n), a(u) = sqrt(2/n)
    basis = np.cos(np.pi * (2 * x + 1) * u / (2 * n)) * np.sqrt(2.0 / n)
    basis[0] /= np.sqrt(2.0)
    return basis.astype(np.float32)


@lru_cache(maxsize=2)
def _grid_projection(channels: int, dim: int) -> np.ndarray:
    """The fixed Gaussian projection channels -> dim (seed 0), scaled to keep norms on average."""
    rng = np.random.default_rng(0)
    return (rng.standard_normal((channels, dim)) / np.sqrt(dim)).astype(np.float32)


def _l2(rows: np.ndarray, axis: int = -1) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=axis, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


def _validate_pixels(pixels: np.ndarray, n: int | None) -> np.ndarray:
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8:
        raise InvalidInput("pixels must be a uint8 numpy array", field="pixels")
    side = pixels.shape[1] if pixels.ndim == 4 else 0
    if (
        pixels.ndim != 4
        or pixels.shape[1:] != (side, side, 3)
        or side < THUMBNAIL_SIZE
        or side % THUMBNAIL_SIZE
    ):
        raise InvalidInput(
            f"pixels must be N x S x S x 3 with S a multiple of {THUMBNAIL_SIZE} (e.g. "
            f"{IMAGE_SIZE}), got {pixels.shape}",
            field="pixels",
        )
    if n is not None and pixels.shape[0] != n:
        raise InvalidInput(
            f"pixels has {pixels.shape[0]} images but feature_grid has {n}", field="pixels"
        )
    return pixels


def _validate_grid(feature_grid: np.ndarray) -> np.ndarray:
    if not isinstance(feature_grid, np.ndarray):
        raise InvalidInput("feature_grid must be a numpy array", field="feature_grid")
    if feature_grid.ndim != 4 or feature_grid.shape[1:] != (GRID_CHANNELS, 3, 3):
        raise InvalidInput(
            f"feature_grid must be N x {GRID_CHANNELS} x 3 x 3, got {feature_grid.shape}",
            field="feature_grid",
        )
    grid = feature_grid.astype(np.float32, copy=False)
    if not np.isfinite(grid).all():
        raise InvalidInput("feature_grid contains NaN or infinite values", field="feature_grid")
    return grid


def grey_thumbnails(pixels: np.ndarray) -> np.ndarray:
    """The 32 x 32 grey thumbnail of each image: box-averaged (``S / 32`` x ``S / 32`` blocks,
    7 x 7 at 224, 4 x 4 at 128), then ITU-R BT.601 luma (linear: the two commute).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (N, S, S, 3)
        RGB images as fed to the encoder (S a multiple of 32: 224, or the report's lower
        resolution for small images).

    Returns
    -------
    ndarray of float32, shape (N, 32, 32)
        Grey levels in 0..255. The pixel codes and the duplicates' verification thumbnail are
        both made from it, so a report computes it once per image.
    """
    pixels = _validate_pixels(pixels, None)
    n, side = pixels.shape[0], pixels.shape[1]
    step = side // THUMBNAIL_SIZE
    out = np.empty((n, THUMBNAIL_SIZE, THUMBNAIL_SIZE), np.float32)
    for start in range(0, n, 256):  # bounded memory: 256 images of float32 at a time
        part = pixels[start : start + 256]
        rows = part.reshape(-1, THUMBNAIL_SIZE, step, side * 3).sum(axis=2, dtype=np.float32)
        boxed = rows.reshape(-1, THUMBNAIL_SIZE, THUMBNAIL_SIZE, step, 3).sum(axis=3)
        out[start : start + 256] = (boxed @ _LUMA) / (step * step)
    return out


def thumbnail_dct(thumbnails: np.ndarray, *, block: int = DCT_BLOCK) -> np.ndarray:
    """The ``block`` x ``block`` lowest 2-D DCT-II coefficients of (N, 32, 32) grey thumbnails
    (``coef[n, v, u]``: vertical frequency ``v``, horizontal ``u``; DC at ``[:, 0, 0]``). The
    top-left ``b`` x ``b`` of a larger block is the ``b`` block itself (same basis rows)."""
    if not 1 <= block <= THUMBNAIL_SIZE:
        raise InvalidInput(f"block must be in 1..{THUMBNAIL_SIZE}, got {block}", field="block")
    basis = _dct_basis(THUMBNAIL_SIZE, block)
    # 2-D DCT-II of the thumbnail, low block only: C T C^T
    return (basis @ thumbnails.astype(np.float32, copy=False) @ basis.T).astype(np.float32)


def low_frequency_dct(pixels: np.ndarray, *, block: int = DCT_BLOCK) -> np.ndarray:
    """The ``block`` x ``block`` lowest 2-D DCT-II coefficients of each 32 x 32 grey thumbnail.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (N, S, S, 3)
        RGB images as fed to the encoder (S a multiple of 32: 224, or the report's lower
        resolution for small images).
    block : int, keyword-only
        Frequencies kept per axis (the DC coefficient is included at ``[:, 0, 0]``).

    Returns
    -------
    ndarray of float32, shape (N, block, block)
        ``coef[n, v, u]``: vertical frequency ``v``, horizontal frequency ``u``.

    References
    ----------
    Zauner (2010), pHash: DCT of a 32 x 32 grey thumbnail.
    """
    if not 1 <= block <= THUMBNAIL_SIZE:
        raise InvalidInput(f"block must be in 1..{THUMBNAIL_SIZE}, got {block}", field="block")
    return thumbnail_dct(grey_thumbnails(pixels), block=block)


def _codes_from_dct(coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    coef = coef.copy()
    coef[:, 0, 0] = 0.0  # drop DC: blind to brightness
    even = coef[:, :, 0::2].reshape(len(coef), -1)
    odd = coef[:, :, 1::2].reshape(len(coef), -1)
    orientation = np.where(coef[:, :, 1].sum(axis=1) >= 0, 1.0, -1.0).astype(np.float32)
    code = np.concatenate([even[:, 1:], odd * orientation[:, None]], axis=1)  # even[:, 0] is DC
    return _l2(code), orientation


def pixel_codes(pixels: np.ndarray, *, block: int = DCT_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """(code, orientation): L2-normalised ``block**2 - 1``-d low-frequency codes (35-d by
    default) and each image's +-1 sign.

    The code lists the even-``u`` coefficients then the odd-``u`` ones, the odd part multiplied
    by the orientation sign ``sign(sum_v coef[v, 1])`` (+1 on ties), so that an image and its
    horizontal mirror get the same code.
    """
    return _codes_from_dct(low_frequency_dct(pixels, block=block))


def grid_codes(feature_grid: np.ndarray, orientation: np.ndarray | None = None) -> np.ndarray:
    """L2-normalised 576-d layout codes from the encoder's ``feature_grid`` (N x 1280 x 3 x 3).

    ``orientation`` (+-1 per image) multiplies the left-right antisymmetric part; without it the
    sign of the summed ``left - right`` activations is used.
    """
    grid = _validate_grid(feature_grid)
    n = grid.shape[0]
    norms = np.maximum(np.sqrt(np.einsum("ncij,ncij->nij", grid, grid)), 1e-12)  # N x row x col
    # the projection is linear: each raw cell is projected once (one BLAS product), then divided
    # by its norm and combined in 64 dims — the same codes as unit cells combined in 1280 dims
    # and projected, at a fraction of the memory traffic
    projection = _grid_projection(GRID_CHANNELS, GRID_PROJECTION_DIM)
    cells = np.tensordot(grid, projection, axes=([1], [0])) / norms[..., None]  # N x 3 x 3 x 64
    left, centre, right = cells[:, :, 0], cells[:, :, 1], cells[:, :, 2]
    if orientation is None:
        sums = grid.sum(axis=1) / norms  # each unit cell's channel sum
        odd_sum = (sums[:, :, 0] - sums[:, :, 2]).sum(axis=1)
        orientation = np.where(odd_sum >= 0, 1.0, -1.0).astype(np.float32)
    odd = (left - right) / np.sqrt(2.0)
    parts = np.concatenate(
        [centre, (left + right) / np.sqrt(2.0), odd * orientation[:, None, None]], axis=1
    )  # N x 9 x 64
    return _l2(parts.reshape(n, GRID_CODE_DIM)).astype(np.float32)


def descriptor_parts(
    feature_grid: np.ndarray, pixels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pixel codes N x 35, fine pixel codes N x 143, grid codes N x 576), each unit rows, in one
    canonical orientation; ``fuse_descriptor_parts`` weighs a pixel code and the grid code into
    descriptors. The fine code (12 x 12 DCT block) separates low-detail look-alikes (Fashion-MNIST
    products in one pose) that the default 6 x 6 block, tuned on photos, cannot."""
    grid = _validate_grid(feature_grid)
    pixels = _validate_pixels(pixels, grid.shape[0])
    return descriptor_parts_of_thumbnails(grid, grey_thumbnails(pixels))


def descriptor_parts_of_thumbnails(
    feature_grid: np.ndarray, thumbnails: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``descriptor_parts`` from the images' ``grey_thumbnails`` (N x 32 x 32): one 12 x 12 DCT
    block per image gives both pixel codes (the 6 x 6 block is its top-left corner)."""
    grid = _validate_grid(feature_grid)
    if thumbnails.shape != (grid.shape[0], THUMBNAIL_SIZE, THUMBNAIL_SIZE):
        raise InvalidInput(
            f"thumbnails must be {grid.shape[0]} x {THUMBNAIL_SIZE} x {THUMBNAIL_SIZE}, got "
            f"{thumbnails.shape}",
            field="thumbnails",
        )
    coef = thumbnail_dct(thumbnails, block=FINE_DCT_BLOCK)
    pix, orientation = _codes_from_dct(coef[:, :DCT_BLOCK, :DCT_BLOCK])
    fine, _ = _codes_from_dct(coef)
    return pix.astype(np.float32), fine.astype(np.float32), grid_codes(grid, orientation)


def fuse_descriptor_parts(
    pixel_part: np.ndarray, grid_part: np.ndarray, pixel_weight: float = PIXEL_WEIGHT
) -> np.ndarray:
    """Unit descriptors whose dot product is ``w cos_pixel + (1 - w) cos_grid``."""
    if not 0.0 <= pixel_weight <= 1.0:
        raise InvalidInput(
            f"pixel_weight must be in [0, 1], got {pixel_weight}", field="pixel_weight"
        )
    out = np.concatenate(
        [np.sqrt(pixel_weight) * pixel_part, np.sqrt(1.0 - pixel_weight) * grid_part], axis=1
    )
    return _l2(out).astype(np.float32)


def duplicate_descriptors(
    feature_grid: np.ndarray,
    *,
    pixels: np.ndarray | None = None,
    pixel_weight: float = PIXEL_WEIGHT,
) -> np.ndarray:
    """Near-duplicate descriptors (L2-normalised rows) for ``find_duplicates``.

    Parameters
    ----------
    feature_grid : ndarray of float, shape (N, 1280, 3, 3)
        The encoder's ``feature_grid`` output.
    pixels : ndarray of uint8, shape (N, 224, 224, 3), optional, keyword-only
        The images the grid was computed from. Strongly recommended: without them only the grid
        code is used, which the benchmark shows is far weaker (the default threshold assumes
        pixels). Rows are independent, so callers may compute descriptors batch by batch.
    pixel_weight : float in [0, 1], keyword-only
        Weight of the pixel code in the cosine; the grid code gets ``1 - pixel_weight``.

    Returns
    -------
    ndarray of float32, shape (N, 611) — or (N, 576) without pixels
        Unit rows; their dot product is ``pixel_weight * cos_pixel + (1 - pixel_weight) *
        cos_grid``. Compare with ``DEFAULT_NEAR_DUPLICATE_THRESHOLD``.

    References
    ----------
    See the module docstring.
    """
    grid = _validate_grid(feature_grid)
    if not 0.0 <= pixel_weight <= 1.0:
        raise InvalidInput(
            f"pixel_weight must be in [0, 1], got {pixel_weight}", field="pixel_weight"
        )
    if pixels is None:
        return grid_codes(grid)
    pixels = _validate_pixels(pixels, grid.shape[0])
    pix, orientation = pixel_codes(pixels)
    return fuse_descriptor_parts(pix, grid_codes(grid, orientation), pixel_weight)
