"""Image-quality flags on a generated image set: each flag fires on its image, none on a photo."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from service.analysis.image_quality import (
    FLAGS,
    ImageQualityThresholds,
    assess_image_quality,
)
from service.errors import ItemError
from service.images.decode import decode_image
from tests.fixtures import hazard_images as h


def scaled(image: Image.Image, factor: float, offset: float = 0.0) -> Image.Image:
    values = np.asarray(image, dtype=np.float32) * factor + offset
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))


def image_set() -> dict[str, Image.Image]:
    photo = h.photo()
    rng = np.random.default_rng(0)
    flat = np.full((256, 256, 3), (90, 140, 60), np.uint8)
    flat = np.clip(flat + rng.integers(-1, 2, flat.shape), 0, 255).astype(np.uint8)
    return {
        "photo": photo,
        "tiny": photo.resize((20, 20), Image.Resampling.LANCZOS),
        "extreme_aspect": photo.crop((0, 200, 512, 300)),  # 512 x 100
        "too_dark": scaled(photo, 0.15),
        "too_bright": scaled(photo, 0.1, 235),
        "low_information": Image.fromarray(flat),
        "blurry": photo.filter(ImageFilter.GaussianBlur(6)),
        "grayscale": photo.convert("L").convert("RGB"),
    }


@pytest.fixture(scope="module")
def assessed():
    images = image_set()
    facts = [decode_image(h.encode(img, "PNG")).facts for img in images.values()]
    failed = {"cut": "truncated", "text": "unsupported_format", "gone": "not_found"}
    result = assess_image_quality(facts, ids=list(images), failed=failed)
    return result, {item.id: item.flags for item in result.items}


def test_normal_photo_has_no_flag(assessed):
    _, flags = assessed
    assert "photo" not in flags


@pytest.mark.parametrize("flag", [f for f in FLAGS if f not in ("unreadable", "truncated")])
def test_each_flag_fires_on_its_image(assessed, flag):
    _, flags = assessed
    assert flag in flags[flag]


def test_flags_do_not_fire_on_the_wrong_images(assessed):
    _, flags = assessed
    assert "too_bright" not in flags["too_dark"] and "too_dark" not in flags["too_bright"]
    assert flags["grayscale"] == ["grayscale"]
    assert flags["extreme_aspect"] == ["extreme_aspect"]
    assert "tiny" not in flags["extreme_aspect"]  # 100 px high is not tiny
    assert "blurry" not in flags["too_dark"]  # darkened but still sharp


def test_failed_items_become_unreadable_or_truncated(assessed):
    result, flags = assessed
    assert flags["cut"] == ["truncated"]
    assert flags["text"] == ["unreadable"]
    assert "gone" not in flags  # a fetch failure says nothing about the image
    assert result.n_items == 11
    assert result.counts["truncated"] == 1 and result.counts["unreadable"] == 1
    assert set(result.counts) == set(FLAGS)
    assert result.counts["grayscale"] == sum("grayscale" in f for f in flags.values())
    assert result.n_flagged == len(result.items)


def test_error_codes_mapped_are_real_item_error_codes():
    from service.analysis.image_quality import ERROR_CODE_FLAGS

    for code in ERROR_CODE_FLAGS:
        ItemError(code, "valid code")  # raises ValueError for an unknown code


def test_thresholds_are_overridable(assessed):
    images = image_set()
    facts = [decode_image(h.encode(images["photo"], "PNG")).facts]
    strict = ImageQualityThresholds(min_side=1024, min_blur=1e9)
    result = assess_image_quality(facts, ids=["photo"], thresholds=strict)
    assert result.items[0].flags == ["tiny", "blurry"]
    off = ImageQualityThresholds(flag_grayscale=False)
    grey = [decode_image(h.encode(images["grayscale"], "PNG")).facts]
    assert assess_image_quality(grey, ids=["g"], thresholds=off).items == []


def test_validation():
    facts = [decode_image(h.encode(h.gradient(), "PNG")).facts]
    with pytest.raises(ValueError, match="differ in length"):
        assess_image_quality(facts, ids=["a", "b"])
    with pytest.raises(ValueError, match="unique"):
        assess_image_quality(facts, ids=["a"], failed={"a": "truncated"})
    with pytest.raises(ValueError, match="dark_brightness < bright_brightness"):
        assess_image_quality(
            facts,
            ids=["a"],
            thresholds=ImageQualityThresholds(dark_brightness=0.9, bright_brightness=0.5),
        )
    with pytest.raises(ValueError, match="0..8"):
        assess_image_quality(facts, ids=["a"], thresholds=ImageQualityThresholds(min_entropy=9))
    empty = assess_image_quality([], ids=[])
    assert empty.n_items == 0 and empty.items == [] and sum(empty.counts.values()) == 0


def _facts(**values):
    from types import SimpleNamespace

    base = dict(width=300, height=200, brightness=0.45, entropy=6.5, blur=0.2, is_grayscale=False)
    base.update(values)
    return SimpleNamespace(**base)


def test_shared_flags_become_dataset_facts_not_item_flags():
    rng = np.random.default_rng(0)
    # 60 small grey upscaled images (tiny, grayscale, blurry for all), one of them very dark
    facts = [
        _facts(width=28, height=28, is_grayscale=True, blur=0.003 * (1 + 0.1 * rng.random()),
               brightness=0.3 + 0.05 * rng.random())
        for _ in range(60)
    ]  # fmt: skip
    facts[7] = _facts(width=28, height=28, is_grayscale=True, blur=0.003, brightness=0.02)
    result = assess_image_quality(facts, ids=[f"i{k}" for k in range(60)])
    shared = {fact.flag: fact for fact in result.dataset_facts}
    assert set(shared) == {"tiny", "blurry", "grayscale"}
    assert shared["tiny"].share == 1.0 and "28 x 28" in shared["tiny"].detail
    assert [(item.id, item.flags) for item in result.items] == [("i7", ["too_dark"])]
    assert result.n_flagged == 1 and result.counts["grayscale"] == 0


def test_measured_flags_need_the_item_to_deviate_from_its_dataset():
    # a dark dataset: 40 % of the items are under the absolute dark threshold, spread smoothly
    brightness = np.linspace(0.04, 0.5, 50)
    facts = [_facts(brightness=float(b)) for b in brightness]
    result = assess_image_quality(facts, ids=[f"i{k}" for k in range(50)])
    assert result.counts["too_dark"] == 0  # none deviates from the others
    facts.append(_facts(brightness=0.0))
    facts.extend(_facts(brightness=0.3) for _ in range(50))
    result = assess_image_quality(facts, ids=[f"i{k}" for k in range(len(facts))])
    assert result.counts["too_dark"] >= 1
    assert "i50" in {item.id for item in result.items}


def test_listing_is_capped_but_counts_are_exact():
    facts = [_facts(width=10, height=10) for _ in range(10)] + [_facts() for _ in range(40)]
    ids = [f"i{k}" for k in range(50)]
    result = assess_image_quality(facts, ids=ids, max_listed=3)
    assert result.n_flagged == 10 and result.counts["tiny"] == 10
    assert len(result.items) == 3 and result.listed_all is False
    full = assess_image_quality(facts, ids=ids, max_listed=None)
    assert len(full.items) == 10 and full.listed_all is True
