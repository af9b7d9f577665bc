"""Decoding: the hazard set, mode conversions, EXIF orientation, resize policy and facts."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from service.errors import ItemError
from service.images.decode import ALLOWED_FORMATS, decode_image
from tests.fixtures import hazard_images as h


def codes_of(data: bytes, **options) -> str:
    with pytest.raises(ItemError) as caught:
        decode_image(data, **options)
    return caught.value.code


@pytest.mark.parametrize("name", sorted(h.HAZARDS))
def test_hazards_become_typed_item_errors(name):
    data, expected = h.HAZARDS[name]
    assert codes_of(data) == expected


def test_bomb_limit_is_checked_from_the_header_with_the_configured_limit():
    data = h.encode(h.gradient(200, 100), "PNG")  # 20,000 pixels
    assert codes_of(data, max_pixels=19_999) == "decompression_bomb"
    assert decode_image(data, max_pixels=20_000).facts.width == 200


def test_truncated_webp_is_truncated_not_a_generic_error():
    assert codes_of(h.truncated_webp()) == "truncated"


def test_format_outside_the_allow_list_is_refused():
    ico = h.encode(Image.new("RGB", (32, 32), (1, 2, 3)), "ICO")
    assert "ICO" not in ALLOWED_FORMATS
    assert codes_of(ico) == "unsupported_format"


def test_every_allowed_format_decodes_to_rgb_224():
    image = h.gradient(300, 200)
    for fmt in ALLOWED_FORMATS:
        decoded = decode_image(h.encode(image, fmt))
        assert decoded.pixels.shape == (224, 224, 3), fmt
        assert decoded.pixels.dtype == np.uint8
        assert decoded.pixels.flags["C_CONTIGUOUS"]
        assert decoded.facts.format == fmt
        assert (decoded.facts.width, decoded.facts.height) == (300, 200)


def test_cmyk_jpeg_is_converted_to_the_right_colour():
    decoded = decode_image(h.cmyk_jpeg())
    assert decoded.facts.mode == "CMYK"
    mean = decoded.pixels.reshape(-1, 3).mean(axis=0)
    assert mean[0] > 240 and mean[1] < 15 and mean[2] < 15  # red


def test_16bit_png_is_scaled_not_clipped():
    decoded = decode_image(h.png_16bit(), resize="squash")
    assert decoded.facts.mode.startswith("I;16")
    row = decoded.pixels[100, :, 0].astype(int)
    # A ramp 0..65535 must stay a ramp 0..255; clipping would make most of it 255.
    assert row[0] < 10 and row[-1] > 245
    assert 100 < row[112] < 156
    assert np.all(np.diff(row) >= 0)


def test_palette_transparency_is_composited_on_white():
    decoded = decode_image(h.palette_png_with_transparency(), resize="squash")
    assert decoded.facts.has_alpha
    assert decoded.pixels[10, 10].tolist() == [255, 255, 255]  # transparent -> white, not black
    assert decoded.pixels[10, 200].tolist() == [0, 0, 255]


def test_rgba_and_la_are_composited_on_white():
    rgba = Image.new("RGBA", (50, 50), (255, 0, 0, 0))
    la = Image.new("LA", (50, 50), (0, 0))
    for image in (rgba, la):
        decoded = decode_image(h.encode(image, "PNG"))
        assert decoded.pixels.min() == 255, image.mode


def test_one_bit_image_is_black_and_white():
    image = Image.new("1", (64, 64), 0)
    image.paste(1, (0, 0, 32, 64))
    decoded = decode_image(h.encode(image, "PNG"), resize="squash")
    assert decoded.pixels[100, 5].tolist() == [255, 255, 255]
    assert decoded.pixels[100, 220].tolist() == [0, 0, 0]
    assert decoded.facts.is_grayscale


def test_animated_gif_first_frame():
    decoded = decode_image(h.animated_gif())
    assert decoded.facts.n_frames == 3
    mean = decoded.pixels.reshape(-1, 3).mean(axis=0)
    assert mean[0] > 240 and mean[2] < 15  # red, the first frame


def test_exif_rotation_gives_an_upright_array():
    decoded = decode_image(h.exif_rotated_jpeg())
    assert (decoded.facts.width, decoded.facts.height) == (400, 300)  # upright size
    top = decoded.pixels[:90].reshape(-1, 3).mean(axis=0)
    bottom = decoded.pixels[-90:].reshape(-1, 3).mean(axis=0)
    assert top[0] > 240 and top[2] < 15  # red on top
    assert bottom[2] > 240 and bottom[0] < 15  # blue at the bottom


def test_tiny_and_extreme_aspect_images_decode():
    one = decode_image(h.one_pixel())
    assert (one.facts.width, one.facts.height) == (1, 1)
    assert one.pixels.reshape(-1, 3).std(axis=0).max() == 0
    assert one.pixels[0, 0].tolist() == [10, 200, 30]
    strip = decode_image(h.strip_10000x10())
    assert (strip.facts.width, strip.facts.height) == (10000, 10)
    assert strip.facts.aspect_ratio == 1000
    assert strip.pixels.shape == (224, 224, 3)


def test_crop_policy_keeps_the_centre_and_squash_keeps_everything():
    # 448 x 224: red | green (the centre 224 columns) | blue
    image = Image.new("RGB", (448, 224), (0, 255, 0))
    image.paste((255, 0, 0), (0, 0, 112, 224))
    image.paste((0, 0, 255), (336, 0, 448, 224))
    data = h.encode(image, "PNG")
    crop = decode_image(data, resize="crop").pixels
    squash = decode_image(data, resize="squash").pixels
    assert crop[:, 2:-2, 1].min() > 250 and crop[:, 2:-2, [0, 2]].max() < 5
    assert squash[:, 5, 0].min() > 250 and squash[:, -5, 2].min() > 250
    with pytest.raises(ValueError, match="crop"):
        decode_image(data, resize="stretch")


def test_jpeg_draft_mode_matches_a_full_decode():
    big = h.photo().resize((2048, 2048), Image.Resampling.BICUBIC)
    data = h.encode(big, "JPEG", quality=92)
    fast = decode_image(data).pixels.astype(float)
    reference = Image.open(io.BytesIO(data)).convert("RGB")
    full = np.asarray(reference.resize((224, 224), Image.Resampling.BILINEAR)).astype(float)
    assert np.abs(fast - full).mean() < 4.0  # same picture, up to resampling differences


def test_facts_are_measured_on_known_images():
    white = decode_image(h.encode(Image.new("RGB", (100, 100), "white"), "PNG")).facts
    assert white.brightness == pytest.approx(1.0)
    assert white.contrast == 0.0 and white.blur == 0.0 and white.entropy == 0.0
    assert white.is_grayscale
    halves = Image.new("L", (224, 224), 0)
    halves.paste(255, (0, 0, 224, 112))
    facts = decode_image(h.encode(halves, "PNG")).facts
    assert facts.brightness == pytest.approx(0.5, abs=1e-3)
    assert facts.contrast == pytest.approx(0.5, abs=1e-3)
    assert facts.entropy == pytest.approx(1.0, abs=1e-3)
    assert facts.blur > 0


def test_facts_hashes_and_sizes():
    data = h.encode(h.gradient(), "PNG")
    decoded = decode_image(data)
    assert decoded.facts.n_bytes == len(data)
    assert decoded.facts.sha256 == hashlib.sha256(data).hexdigest()
    # The same pixels from another lossless format: different file hash, same pixel hash.
    other = decode_image(h.encode(h.gradient(), "BMP"))
    assert other.facts.sha256 != decoded.facts.sha256
    assert other.facts.pixel_hash == decoded.facts.pixel_hash
    assert len(decoded.facts.dhash) == 16
    assert decode_image(h.encode(h.photo(), "PNG")).facts.pixel_hash != decoded.facts.pixel_hash


def test_blur_drops_when_the_photo_is_blurred():
    from PIL import ImageFilter

    sharp = decode_image(h.encode(h.photo(), "PNG")).facts
    blurred = decode_image(h.encode(h.photo().filter(ImageFilter.GaussianBlur(4)), "PNG")).facts
    assert blurred.blur < sharp.blur / 10
    assert not sharp.is_grayscale
