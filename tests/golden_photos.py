"""Golden predictions: real photos and the ImageNet classes a person would accept for each.

A wrong network (round 1 exported Swish instead of ReLU6 and called ``coffee`` a toilet seat)
fails these; an export compared only with itself would not. Photos are scikit-image's and
scikit-learn's bundled ones, decoded the way the service decodes uploads (squash to 224).
``astronaut`` is left out: ImageNet has no class a person would give it.
"""

from __future__ import annotations

import numpy as np

from bench.real_data import decode_for_encoder, photos, to_png

ACCEPTABLE_TOP5: dict[str, frozenset[str]] = {
    "coffee": frozenset({"espresso", "coffee mug", "tea cup", "cup"}),
    "chelsea": frozenset(
        {"tabby cat", "a cat having a striped coat", "Persian cat", "Siamese cat", "Egyptian Mau"}
    ),
    "rocket": frozenset({"missile", "projectile", "space shuttle"}),
    "china": frozenset({"palace", "bell tower", "monastery", "church", "castle", "pagoda"}),
    "flower": frozenset({"daisy"}),
}
# The wrong network's answers, which the right one must not give as its top-1.
WRONG_TOP1: dict[str, str] = {"coffee": "toilet seat", "rocket": "chain-link fence"}


def golden_images() -> tuple[list[str], np.ndarray]:
    """(photo names, uint8 N x 224 x 224 x 3) as the service feeds them to the encoder."""
    library = photos()
    names = sorted(ACCEPTABLE_TOP5)
    return names, np.stack([decode_for_encoder(to_png(library[n])) for n in names])


def top5_names(logits: np.ndarray, class_names: list[str]) -> list[list[str]]:
    return [[class_names[i] for i in np.argsort(-row)[:5]] for row in logits]


def golden_failures(photo_names: list[str], top5: list[list[str]]) -> list[str]:
    """Human-readable failures: photos whose top-5 holds no acceptable class, or wrong top-1."""
    failures = []
    for name, classes in zip(photo_names, top5, strict=True):
        if not ACCEPTABLE_TOP5[name] & set(classes):
            failures.append(f"{name}: top-5 {classes} has none of {sorted(ACCEPTABLE_TOP5[name])}")
        if WRONG_TOP1.get(name) == classes[0]:
            failures.append(f"{name}: top-1 is {classes[0]!r}, the wrong network's answer")
    return failures
