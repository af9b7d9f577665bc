"""Bytes -> one upright uint8 ``size x size x 3`` RGB array plus facts about the image.

``decode_image(data, max_pixels=..., size=224)`` is the only decoder in the service. It

1. opens the bytes with Pillow restricted to ``ALLOWED_FORMATS`` (JPEG, PNG, WebP, GIF, BMP,
   TIFF; camera "MPO" JPEGs count as JPEG) — anything else is ``unsupported_format``;
2. checks the pixel count declared by the header against ``max_pixels`` *before* any pixel
   data is decoded (``decompression_bomb``);
3. asks JPEGs for DCT-domain downscaling (``draft``): libjpeg decodes at 1/2, 1/4 or 1/8 scale
   while both sides stay >= ``size`` — the main reason a 12 MP JPEG decodes in a few ms;
4. loads the first frame only (animations), refusing truncated data (``truncated``) instead of
   padding it with grey as ``ImageFile.LOAD_TRUNCATED_IMAGES`` would;
5. applies the EXIF orientation, converts every mode to RGB explicitly (transparency is
   composited on white; 16-bit and float data are scaled, not clipped; CMYK, palette, 1-bit
   converted by Pillow);
6. resizes to ``size x size`` with the resize policy (below) and computes the facts.

Resize policy
-------------
``"squash"`` (default): each side is scaled to ``size`` independently — nothing is cut off,
shapes are distorted by the aspect ratio. ``"crop"``: the shorter side is scaled to ``size``
and the centre ``size x size`` square is kept (the ImageNet evaluation transform); crop and
resize happen in one Pillow call (``box=``), so a 10000 x 10 strip never becomes a
224000 x 224 intermediate.

Why squash: measured with the project's encoder (EfficientNet-Lite0 ONNX, in-process), on
(a) near-duplicate pairs of 20 real photos x 6 variants that change framing or aspect (4:3 and
16:9 crops, 90 % crops, half-size JPEG, 1.3x stretch): pair-ROC-AUC of cosine similarity
0.9872 squash vs 0.9855 crop (pooled embedding), 0.9887 vs 0.9875 (feature grid); recall@1
0.992 vs 0.975; (b) a 5-fold linear probe on 400 digits placed at random positions on
canvases: square 0.573 vs 0.573, 4:3 0.503 vs 0.487, 2:1 0.582 vs 0.358 — a centre crop cuts
off-centre objects out of wide images, squashing never did worse. Image facts then describe
the whole frame. ``python -m bench.decode --resize-policy`` reruns a smaller version.

Facts (``ImageFacts``) are computed on the decoded ``size x size`` array — the image as the
encoder sees it — except ``width``/``height``/``format``/``mode``/``n_bytes``/``sha256``, which
describe the file. ``width``/``height`` are the upright size (after EXIF rotation).
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from service.errors import ItemError

ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
RESIZE_POLICIES: tuple[str, ...] = ("squash", "crop")
DEFAULT_MAX_PIXELS = 178_956_970
# Rec. 601 luma weights (the ones Pillow's "L" conversion uses).
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Pixels whose channel spread (max - min) is at most this count as grey.
_GREY_SPREAD = 8
_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What decoding learned about one image (cheap statistics, no model involved).

    Attributes
    ----------
    width, height : int
        Upright size of the file's first frame in pixels (after EXIF rotation).
    format : str
        Pillow format name (``JPEG``, ``PNG``, ``WEBP``, ``GIF``, ``BMP``, ``TIFF``, ``MPO``).
    mode : str
        Pillow mode of the file before conversion (``RGB``, ``P``, ``CMYK``, ``I;16``, ...).
    n_bytes : int
        Size of the encoded file.
    sha256 : str
        Hex SHA-256 of the file's bytes (exact-duplicate key for identical files).
    pixel_hash : str
        Hex SHA-256 (first 32 hex digits) of the decoded ``size x size x 3`` array: equal for
        files that decode to the same pixels (e.g. a PNG and a BMP of one image).
    dhash : str
        64-bit difference hash of the decoded image (16 hex digits), for near-duplicate fusion.
    brightness : float
        Mean luma in [0, 1].
    contrast : float
        RMS contrast: standard deviation of luma in [0, 0.5].
    blur : float
        Sharpness: variance of the 4-neighbour Laplacian of luma at ``size x size`` divided by
        the variance of luma (so darkening or fading an image does not change it); low means
        blurry, 0 for a flat image. Sharp photos score 0.06-3.5, a Gaussian blur of sigma 3
        brings them under 0.013.
    entropy : float
        Shannon entropy of the 256-bin luma histogram in bits, in [0, 8].
    is_grayscale : bool
        True when (almost) every pixel has equal R, G and B.
    n_frames : int
        Frames in the file (animations: only the first one is decoded).
    has_alpha : bool
        The file had transparency (composited on white).
    """

    width: int
    height: int
    format: str
    mode: str
    n_bytes: int
    sha256: str
    pixel_hash: str
    dhash: str
    brightness: float
    contrast: float
    blur: float
    entropy: float
    is_grayscale: bool
    n_frames: int = 1
    has_alpha: bool = False

    @property
    def aspect_ratio(self) -> float:
        """Longer side over shorter side (>= 1)."""
        return max(self.width, self.height) / max(1, min(self.width, self.height))


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """``pixels``: C-contiguous uint8 ``size x size x 3`` RGB; ``facts``: see ``ImageFacts``."""

    pixels: np.ndarray
    facts: ImageFacts


def decode_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    size: int = 224,
    resize: str = "squash",
) -> DecodedImage:
    """Decode one encoded image into an upright RGB ``size x size`` array and its facts.

    Parameters
    ----------
    data : bytes
        The encoded file.
    max_pixels : int
        Largest width x height accepted, checked from the header before decoding.
    size : int
        Side of the square output.
    resize : {"squash", "crop"}
        Resize policy (see the module docstring); ``"squash"`` by default.

    Returns
    -------
    DecodedImage

    Raises
    ------
    ItemError
        ``empty``, ``unsupported_format``, ``decompression_bomb``, ``truncated`` or
        ``decode_error``. Never anything else for bad bytes.
    """
    if resize not in RESIZE_POLICIES:
        raise ValueError(f"unknown resize policy {resize!r}; valid: {list(RESIZE_POLICIES)}")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if not data:
        raise ItemError("empty", "the file is empty (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ItemError("decompression_bomb", _bomb_detail(str(exc), max_pixels)) from exc
    except UnidentifiedImageError as exc:
        raise ItemError(
            "unsupported_format",
            f"not a recognised image; accepted formats: {', '.join(ALLOWED_FORMATS)}",
        ) from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure is this item's error
        raise _classify_load_error(exc, data) from exc
    with image:
        width, height = image.size
        if width < 1 or height < 1:
            raise ItemError(
                "decode_error", f"the header declares an empty image ({width}x{height})"
            )
        if width * height > max_pixels:
            raise ItemError(
                "decompression_bomb",
                f"{width}x{height} = {width * height:,} pixels exceeds the limit of "
                f"{max_pixels:,} pixels",
            )
        file_format = "JPEG" if image.format == "MPO" else (image.format or "unknown")
        file_mode = image.mode
        n_frames = int(getattr(image, "n_frames", 1) or 1)
        orientation = _orientation(image)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        try:
            if image.format in ("JPEG", "MPO"):
                # DCT-domain downscale; both sides stay >= size (Pillow picks scale 1/2/4/8).
                image.draft("RGB", (size, size))
            image.load()
        except Image.DecompressionBombError as exc:
            raise ItemError("decompression_bomb", _bomb_detail(str(exc), max_pixels)) from exc
        except Exception as exc:  # noqa: BLE001
            raise _classify_load_error(exc, data) from exc
        has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            image.mode == "P" and "transparency" in image.info
        )
        try:
            if orientation in range(2, 9):
                image = ImageOps.exif_transpose(image)
            rgb = to_rgb(image)
            resized = _resize(rgb, size, resize)
        except ItemError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ItemError("decode_error", f"could not convert the image: {exc}") from exc
    pixels = np.ascontiguousarray(np.asarray(resized, dtype=np.uint8))
    if pixels.shape != (size, size, 3):  # defensive: Pillow always gives this for RGB
        raise ItemError("decode_error", f"decoded to unexpected shape {pixels.shape}")
    facts = _facts(
        pixels,
        data,
        width=width,
        height=height,
        file_format=file_format,
        file_mode=file_mode,
        n_frames=n_frames,
        has_alpha=has_alpha,
    )
    return DecodedImage(pixels=pixels, facts=facts)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparency composited on white, 16-bit/float scaled."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
        if mode == "RGB":
            return image
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image, dtype=np.int64)
        # 16-bit samples (or 32-bit ints holding them): keep the top 8 bits instead of clipping.
        if values.max(initial=0) > 255:
            values = values >> 8
        grey = np.clip(values, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64))
        if values.size and values.max() <= 1.0 and values.min() >= 0.0:
            values = values * 255.0
        grey = np.clip(np.round(values), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if mode == "1":
        return image.convert("L").convert("RGB")
    return image.convert("RGB")  # L, CMYK, YCbCr, LAB, HSV, RGBX, ...


def _resize(image: Image.Image, size: int, policy: str) -> Image.Image:
    width, height = image.size
    if policy == "squash":
        return image.resize((size, size), Image.Resampling.BILINEAR)
    side = min(width, height)
    left = (width - side) / 2.0
    top = (height - side) / 2.0
    box = (left, top, left + side, top + side)
    return image.resize((size, size), Image.Resampling.BILINEAR, box=box)


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
        return int(value) if value in range(1, 9) else 1
    except Exception:  # noqa: BLE001 - a broken EXIF block only loses the rotation
        return 1


def _bomb_detail(message: str, max_pixels: int) -> str:
    return f"the image declares too many pixels (limit {max_pixels:,}): {message}"


def _classify_load_error(exc: BaseException, data: bytes) -> ItemError:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, MemoryError):
        return ItemError("decompression_bomb", "not enough memory to decode the image")
    if "truncated" in message or isinstance(exc, EOFError) or _webp_truncated(data):
        return ItemError("truncated", f"the file ends before the image data does ({message})")
    return ItemError("decode_error", f"could not decode the image: {message}")


def _webp_truncated(data: bytes) -> bool:
    """libwebp only says "could not create decoder"; the RIFF header tells us the real size."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    declared = struct.unpack("<I", data[4:8])[0] + 8
    return declared > len(data)


def _facts(
    pixels: np.ndarray,
    data: bytes,
    *,
    width: int,
    height: int,
    file_format: str,
    file_mode: str,
    n_frames: int,
    has_alpha: bool,
) -> ImageFacts:
    luma = pixels.astype(np.float32) @ _LUMA  # H x W, 0..255
    var32 = luma.var()
    luma_var = float(var32)
    brightness = float(luma.mean()) / 255.0
    contrast = float(np.sqrt(var32)) / 255.0  # luma.std() exactly, without a second pass
    # 4-neighbour Laplacian on the interior; its variance is the classic blur measure
    # (Pech-Pacheco et al. 2000, "Diatom autofocusing in brightfield microscopy"), divided by
    # the luma variance to make it independent of exposure and contrast.
    lap = (
        luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:] - 4.0 * luma[1:-1, 1:-1]
    )
    blur = float(lap.var()) / luma_var if lap.size and luma_var > 1e-6 else 0.0
    hist = np.bincount(np.clip(luma + 0.5, 0, 255).astype(np.uint8).ravel(), minlength=256)
    p = hist[hist > 0] / hist.sum()
    entropy = float(-(p * np.log2(p)).sum()) + 0.0
    # the channel spread from whole-plane maxima and minima: a reduction over the 3-long last
    # axis costs 15x as much (3.5 ms of a 224 px image's 5 ms decode)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    spread = np.maximum(np.maximum(r, g), b).astype(np.int16) - np.minimum(np.minimum(r, g), b)
    # "grey" when at least 99 % of pixels have (nearly) equal channels (JPEG chroma noise).
    is_grayscale = bool(np.count_nonzero(spread > _GREY_SPREAD) <= 0.01 * spread.size)
    return ImageFacts(
        width=int(width),
        height=int(height),
        format=file_format,
        mode=file_mode,
        n_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        pixel_hash=hashlib.sha256(pixels.tobytes()).hexdigest()[:32],
        dhash=difference_hash(luma),
        brightness=brightness,
        contrast=contrast,
        blur=blur,
        entropy=entropy,
        is_grayscale=is_grayscale,
        n_frames=n_frames,
        has_alpha=has_alpha,
    )


def difference_hash(luma: np.ndarray, bits: int = 8) -> str:
    """64-bit dHash (Krawetz 2013): sign of horizontal gradients on a 9x8 luma thumbnail."""
    thumb = Image.fromarray(np.clip(luma, 0, 255).astype(np.uint8), mode="L").resize(
        (bits + 1, bits), Image.Resampling.BOX
    )
    small = np.asarray(thumb, dtype=np.int16)
    diff = (small[:, 1:] > small[:, :-1]).ravel()
    value = int.from_bytes(np.packbits(diff).tobytes(), "big")
    return f"{value:0{bits * bits // 4}x}"


# Peak bytes per decoded pixel while ``decode_image`` converts a file of this mode to RGB (Pillow
# stores RGB, RGBA, CMYK, I and F at 4 bytes a pixel, L/P/1 at 1, I;16 at 2): the decoded image,
# plus every full-size intermediate of ``to_rgb`` alive at once. Measured: a 13370 x 13370 "L"
# PNG adds ~0.86 GB of RSS = 4.8 bytes a pixel.
_PEAK_BYTES_PER_PIXEL = {
    "1": 6,
    "L": 5,
    "P": 5,
    "RGB": 4,
    "YCbCr": 8,
    "CMYK": 8,
    "LAB": 8,
    "HSV": 8,
    "RGBX": 8,
    "RGBA": 16,
    "LA": 14,
    "PA": 14,
    "RGBa": 16,
    "La": 14,
    "I;16": 16,
    "I;16B": 16,
    "I;16L": 16,
    "I;16N": 16,
    "I": 22,
    "F": 22,
}
_DEFAULT_PEAK_BYTES_PER_PIXEL = 22
MIN_DECODE_COST = 3 * 224 * 224 * 4


def decode_cost_bytes(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, size: int = 224) -> int:
    """The memory ``decode_image(data)`` will need at peak, from the header alone (cheap).

    Declared width x height (after the JPEG DCT downscale ``decode_image`` asks for) times the
    peak bytes per pixel of the file's mode (paletted files with transparency go through RGBA).
    Unreadable headers cost the minimum: ``decode_image`` refuses them before decoding anything.
    """
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
            width, height = image.size
            if width * height > max_pixels:
                return MIN_DECODE_COST  # refused from the header, nothing decoded
            mode = image.mode
            if mode == "P" and "transparency" in image.info:
                mode = "RGBA"
            if image.format in ("JPEG", "MPO"):
                scale = 1
                while scale < 8 and width // (scale * 2) >= size and height // (scale * 2) >= size:
                    scale *= 2
                width, height = -(-width // scale), -(-height // scale)
                mode = "RGB"
    except Exception:  # noqa: BLE001 - decode_image gives the typed error
        return MIN_DECODE_COST
    per_pixel = _PEAK_BYTES_PER_PIXEL.get(mode, _DEFAULT_PEAK_BYTES_PER_PIXEL)
    return max(MIN_DECODE_COST, int(width) * int(height) * per_pixel)
