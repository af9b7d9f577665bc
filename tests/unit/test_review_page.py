"""The review page renderer, the findings and the exports on a hand-made report: what is shown,
what is escaped, what is paged, and what the cleaned manifest holds."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest

from service.datasets.model import Item
from service.review import ReviewMaterial, make_thumbnail, render_review_page
from service.review.exports import cleaned_manifest, findings_csv, planned_changes
from service.review.findings import finding_ids
from service.review.page import CSS, CSS_HASH, PAGE_CSP, PageLimits
from service.review.thumbnails import thumbnail_size

EVIL = "<script>window.__pwned=1</script>"
EVIL_ATTR = '"><img src=x onerror="window.__pwned=1">'


def make_report(ids: list[str], *, evil_label: str = "cat") -> dict:
    """A report in its JSON shape: one duplicate group, one leak, two label issues, one outlier,
    one quality flag, one failed item."""
    a, b, c, d, e_, f = ids[:6]
    return {
        "schema_version": "1.0",
        "request_id": "r" * 32,
        "model": {"name": "image_encoder", "version": "1"},
        "dataset": {
            "items": 7,
            "loaded": 6,
            "failed": 1,
            "labelled": 7,
            "classes": {"cat": 4, evil_label: 3},
            "splits": {"train": 5, "test": 2},
        },
        "checks_run": [
            "duplicates",
            "mislabels",
            "image_quality",
            "outliers",
            "sample_size",
            "imbalance",
        ],
        "failed_items": [
            {
                "id": ids[6],
                "uri": "http://example.invalid/x.png",
                "code": "fetch_refused",
                "detail": EVIL,
            }
        ],
        "checks": {
            "duplicates": {
                "n_items": 6,
                "threshold": 0.9,
                "method": "exact",
                "exact_byte_groups": [[a, b]],
                "exact_pixel_groups": [],
                "near_pair_count": 1,
                "near_pairs": [],
                "groups": [
                    {
                        "group": 0,
                        "members": [a, b],
                        "keep": a,
                        "drop": [b],
                        "evidence": ["same_bytes"],
                        "splits": ["test", "train"],
                        "labels": ["cat"],
                    }
                ],
                "droppable": 1,
                "leakage": {
                    "groups": [0],
                    "items": [a, b],
                    "by_split_pair": [{"splits": ["test", "train"], "groups": 1, "items": 2}],
                },
                "label_conflicts": [],
            },
            "mislabels": {
                "n_items": 6,
                "n_judged": 6,
                "rank_by": "self_confidence",
                "top_fraction": 0.3,
                "label_health": 0.8,
                "issue_count": 1,
                "candidates": [
                    {
                        "index": 2,
                        "id": c,
                        "given_label": evil_label,
                        "suggested_label": "cat",
                        "suggested_probability": 0.91,
                        "score": 0.05,
                        "self_confidence": 0.05,
                        "normalized_margin": -0.8,
                        "confident_learning": True,
                    },
                    {
                        "index": 3,
                        "id": d,
                        "given_label": "cat",
                        "suggested_label": "cat",
                        "suggested_probability": 0.55,
                        "score": 0.4,
                        "self_confidence": 0.55,
                        "normalized_margin": 0.1,
                        "confident_learning": False,
                    },
                ],
                "classes": [],
                "confusable_pairs": [],
                "learnability": {"source": "probe", "accuracy": 0.9},
            },
            "image_quality": {
                "n_items": 6,
                "n_flagged": 1,
                "counts": {"dark": 1},
                "items": [{"id": e_, "flags": ["dark"]}],
                "thresholds": {},
            },
            "outliers": {
                "k": 3,
                "iqr_factor": 1.5,
                "median": 0.1,
                "fence": 0.3,
                "outliers": [{"id": f, "score": 0.6, "rank": 1, "nearest": [a, EVIL]}],
            },
            "sample_size": {
                "mode": "learning_curve",
                "n_current": 400,
                "chosen_model": "inverse_power_law",
                "choice_reason": "lower rmse",
                "points": [
                    {"n": 40, "mean": 0.6, "std": 0.05, "count": 5, "sigma": 0.02},
                    {"n": 80, "mean": 0.7, "std": 0.04, "count": 5, "sigma": 0.02},
                    {"n": 160, "mean": 0.78, "std": 0.03, "count": 5, "sigma": 0.01},
                ],
                "fits": [
                    {
                        "model": "inverse_power_law",
                        "formula": "a - b * n**(-c)",
                        "converged": True,
                        "residuals": [0.01, -0.01, 0.0],
                    }
                ],
                "predictions": [{"multiple": 2.0, "n": 800, "score": 0.86, "by_model": {}}],
                "target": {
                    "target": 0.9,
                    "reachable": True,
                    "confidence": 0.9,
                    "n_needed": 1500,
                    "ci_low": 900,
                    "ci_high": 4000,
                },
            },
            "imbalance": {
                "n_items": 7,
                "n_classes": 2,
                "imbalance_ratio": 1.33,
                "normalised_entropy": 0.98,
                "minority_rule": "below half median",
                "minority_classes": [],
                "classes": [
                    {"label": "cat", "count": 4, "proportion": 0.57, "minority": False},
                    {"label": evil_label, "count": 3, "proportion": 0.43, "minority": True},
                ],
                "weights": [
                    {"strategy": "inverse_frequency", "weights": {"cat": 0.875, evil_label: 1.17}}
                ],
                "beta": 0.99,
                "beta_rule": "1 - 1/N",
                "resampling": {
                    "target_rule": "median",
                    "target_count": 4,
                    "augmented_total": 1,
                    "total_after_oversampling": 8,
                    "undersample_to": 3,
                    "total_after_undersampling": 6,
                    "discarded_by_undersampling": 1,
                    "classes": [
                        {
                            "label": evil_label,
                            "count": 3,
                            "oversample_factor": 1.33,
                            "augmented_needed": 1,
                            "undersample_keep": 3,
                        }
                    ],
                },
                "splits": [
                    {
                        "split": "train",
                        "total": 5,
                        "counts": {"cat": 3, evil_label: 2},
                        "proportions": {"cat": 0.6, evil_label: 0.4},
                        "missing_classes": [],
                    }
                ],
                "drift": [
                    {"splits": ["test", "train"], "total_variation": 0.1, "dof": 1, "p_value": 0.5}
                ],
            },
        },
        "check_errors": {},
        "timings_s": {"total": 1.0},
    }


def make_items(ids: list[str], *, evil_label: str = "cat") -> list[Item]:
    labels = ["cat", "cat", evil_label, "cat", evil_label, "cat", evil_label]
    splits = ["test", "train", "train", "train", "train", "train", "train"]
    return [
        Item(id=i, uri=f"https://data.example/{i}.png?{EVIL_ATTR}", label=lab, split=s)
        for i, lab, s in zip(ids, labels, splits, strict=True)
    ]


def thumbs(ids: list[str]) -> dict[str, bytes]:
    pixels = np.full((224, 224, 3), 128, np.uint8)
    return {i: make_thumbnail(pixels, 300, 150) for i in ids}


HOSTILE_IDS = [EVIL, EVIL_ATTR, "b<b>", "c&amp;", "d'\"", "e</style>", "f</title>"]


def hostile_page() -> str:
    """A page whose every id, label, URI and detail tries to break out (also used by the browser test)."""
    return render_review_page(
        make_report(HOSTILE_IDS, evil_label=EVIL),
        make_items(HOSTILE_IDS, evil_label=EVIL),
        thumbs(HOSTILE_IDS),
    )


def parse(page: str) -> tuple[list[str], list[str]]:
    """Every start tag and attribute name a browser's parser would see."""
    from html.parser import HTMLParser

    tags: list[str] = []
    attributes: list[str] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append(tag)
            attributes.extend(name for name, _ in attrs)

    Collect().feed(page)
    return tags, attributes


def test_every_user_string_is_escaped():
    page = hostile_page()
    assert "<script" not in page.lower()
    tags, attributes = parse(page)
    assert "script" not in tags and "iframe" not in tags
    assert not [
        a for a in attributes if a.startswith("on")
    ]  # no event handler survived as an attribute
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "</style>" in page and page.count("</style>") == 1  # the page's own, not an id's
    assert "f</title>" not in page and "f&lt;/title&gt;" in page


def test_csp_meta_allows_only_the_inline_css_and_data_images():
    page = hostile_page()
    assert (
        f'<meta http-equiv="Content-Security-Policy" content="{PAGE_CSP.replace(chr(39), "&#x27;")}">'
        in page
    )
    assert "default-src 'none'" in PAGE_CSP and "img-src data:" in PAGE_CSP
    import base64
    import hashlib

    assert base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode() == CSS_HASH
    assert f"<style>{CSS}</style>" in page
    assert ' style="' not in page  # inline style attributes would be blocked by the policy
    urls = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert urls and all(u.startswith(("data:", "#")) for u in urls), [
        u[:40] for u in urls if not u.startswith("data:")
    ]


def test_sections_show_the_findings():
    ids = ["a", "b", "c", "d", "e", "f", "g"]
    page = render_review_page(
        make_report(ids, evil_label="dog"), make_items(ids, evil_label="dog"), thumbs(ids)
    )
    for section in (
        "summary",
        "classes",
        "duplicates",
        "leakage",
        "labels",
        "quality",
        "outliers",
        "curve",
        "weights",
        "exports",
    ):
        assert f'<section id="{section}">' in page, section
    assert '<figure data-id="b"><img src="data:image/jpeg;base64,' in page
    assert (
        '<span class="badge drop">drop</span>' in page
        and '<span class="badge keep">keep</span>' in page
    )
    assert '<tr data-id="c">' in page and "<b>dog</b> → <b>cat</b>" in page
    assert '<span class="badge relabel">relabel</span>' in page
    assert page.count("<circle") == 3 and page.count("<polyline") == 1
    assert "needs about <b>1,500</b> items" in page
    assert "interval 900–4,000)" in page


def test_an_interval_without_an_upper_bound_says_so():
    ids = ["a", "b", "c", "d", "e", "f", "g"]
    report = make_report(ids)
    report["checks"]["sample_size"]["target"]["ci_high"] = None
    page = render_review_page(report, make_items(ids), thumbs(ids))
    assert "interval 900–not bounded)" in page and "900––" not in page


def test_the_learning_curve_legend_names_a_band_only_when_one_is_drawn():
    ids = ["a", "b", "c", "d", "e", "f", "g"]
    report = make_report(ids)
    report["checks"]["sample_size"]["predictions"][0].update(low=0.84, high=0.88)
    page = render_review_page(report, make_items(ids), thumbs(ids))
    assert "band: interval for the items needed" in page
    assert '<th class="num">low</th><th class="num">high</th>' in page
    assert '<td class="num">0.840</td><td class="num">0.880</td>' in page
    del report["checks"]["sample_size"]["target"]  # no target asked: no band
    page = render_review_page(report, make_items(ids), thumbs(ids))
    assert "band:" not in page and "low/high" in page


def test_long_lists_are_paged_and_capped():
    ids = [f"x{k:04d}" for k in range(700)]
    report = make_report(ids)
    report["checks"]["image_quality"]["items"] = [{"id": i, "flags": ["dark"]} for i in ids]
    page = render_review_page(
        report, make_items(ids[:7]), {}, limits=PageLimits(per_page=50, max_entries=200)
    )
    quality = page.split('<section id="quality">')[1].split("</section>")[0]
    assert quality.count("<figure") == 200
    assert quality.count("<details>") == 3  # 51-100, 101-150, 151-200
    assert "show images 51–100 of 700" in quality
    assert "500 more images are in the findings CSV." in quality


def test_thumbnails_keep_the_aspect_and_stay_small():
    assert thumbnail_size(300, 150) == (96, 48)
    assert thumbnail_size(100, 400) == (24, 96)
    jpeg = make_thumbnail(
        np.random.default_rng(0).integers(0, 255, (224, 224, 3), dtype=np.uint8), 640, 480
    )
    from PIL import Image

    image = Image.open(io.BytesIO(jpeg))
    assert image.size == (96, 72) and image.format == "JPEG"
    assert len(jpeg) < 6000
    with pytest.raises(ValueError, match="uint8"):
        make_thumbnail(np.zeros((4, 4), np.float32), 4, 4)


def test_review_material_keeps_only_thumbnails_of_findings():
    ids = ["a", "b", "c", "d", "e", "f", "g"]
    report = make_report(ids)
    material = ReviewMaterial(thumbnails={i: b"x" for i in [*ids[:6], "clean1", "clean2"]})
    material.keep_only(finding_ids(report))
    assert set(material.thumbnails) == {"a", "b", "c", "d", "e", "f"}  # g failed: no thumbnail made


def test_cleaned_manifest_applies_drops_and_relabels():
    ids = ["a", "b", "c", "d", "e", "f", "g"]
    report, items = make_report(ids, evil_label="dog"), make_items(ids, evil_label="dog")
    drops, relabels = planned_changes(report, "both")
    assert drops == {"b", "g"}  # the duplicate's drop and the unreadable file
    assert relabels == {
        "c": "cat"
    }  # d's suggestion equals its label; only confident learning relabels
    rows = [
        json.loads(line) for line in cleaned_manifest(items, report, apply="drops").splitlines()
    ]
    assert [r["id"] for r in rows] == ["a", "c", "d", "e", "f"]
    assert rows[1]["label"] == "dog"
    rows = [
        json.loads(line) for line in cleaned_manifest(items, report, apply="relabels").splitlines()
    ]
    assert len(rows) == 7 and rows[2] == {
        "id": "c",
        "uri": items[2].uri,
        "label": "cat",
        "split": "train",
    }
    table = list(
        csv.DictReader(io.StringIO(cleaned_manifest(items, report, apply="both", fmt="csv")))
    )
    assert [(r["id"], r["label"]) for r in table] == [
        ("a", "cat"),
        ("c", "cat"),
        ("d", "cat"),
        ("e", "dog"),
        ("f", "cat"),
    ]
    assert table[0]["uri"] == items[0].uri  # exact, not spreadsheet-quoted
    with pytest.raises(ValueError, match="valid"):
        cleaned_manifest(items, report, apply="everything")


def test_findings_csv_joins_back_and_defuses_formulas():
    ids = ["=cmd()", "b", "c", "d", "e", "f", "g"]
    report, items = make_report(ids, evil_label="dog"), make_items(ids, evil_label="dog")
    rows = list(csv.DictReader(io.StringIO(findings_csv(items, report))))
    kinds = {(r["id"], r["finding"], r["action"]) for r in rows}
    assert ("'=cmd()", "duplicate", "keep") in kinds and ("b", "duplicate", "drop") in kinds
    assert ("c", "label_issue", "relabel") in kinds and ("f", "outlier", "review") in kinds
    assert ("e", "quality:dark", "review") in kinds and (
        "g",
        "failed:fetch_refused",
        "drop",
    ) in kinds
    leak = [r for r in rows if r["finding"] == "leakage"]
    assert {r["id"] for r in leak} == {"'=cmd()", "b"}
    assert next(r for r in rows if r["id"] == "c")["uri"] == items[2].uri


def with_act_on_list(ids: list[str]) -> dict:
    """The hand-made report with an act-on list that names e (not among the candidates) and not
    c (a candidate confident learning flags), and the summary the pipeline would give it."""
    report = make_report(ids, evil_label="dog")
    report["checks"]["mislabels"]["label_issues"] = {
        "ids": ["e"],
        "count": 1,
        "expected_precision": 0.9,
        "target_precision": 0.8,
        "suggested_labels": ["cat"],
        "basis": "planted errors (20); estimated label-error rate 0.0500",
    }
    report["summary"] = {"label_issues": 1}
    return report


def cards(page: str) -> dict[str, str]:
    summary = page.split('<section id="summary">')[1].split("</section>")[0]
    return {
        label: value for value, label in re.findall(r"<b>([^<]*)</b><span>([^<]*)</span>", summary)
    }


def test_the_page_counts_the_act_on_list_as_the_summary_does():
    ids = ["a", "b", "c", "d", "e", "f", "g"]
    report = with_act_on_list(ids)
    page = render_review_page(report, make_items(ids, evil_label="dog"), thumbs(ids))
    shown = cards(page)
    assert shown["label issues to act on"] == str(report["summary"]["label_issues"]) == "1"
    assert shown["candidates to review"] == "2"
    assert "label-issue candidates" not in page
    labels = page.split('<section id="labels">')[1].split("</section>")[0]
    assert "<b>1 label issue to act on</b> (expected precision 0.90 for a target of 0.80" in labels
    assert "2 candidates to review, ranked by self_confidence" in labels
    rows = dict(re.findall(r'<tr data-id="([^"]+)">(.*?)</tr>', labels))
    assert set(rows) == {"c", "d", "e"}  # e: on the act-on list, though not a candidate
    assert "badge relabel" in rows["e"] and "<b>dog</b> → <b>cat</b>" in rows["e"]
    assert "badge relabel" not in rows["c"]  # flagged by confident learning, not on the list


def test_relabels_and_findings_follow_the_act_on_list():
    ids = ["a", "b", "c", "d", "e", "f", "g"]
    report, items = with_act_on_list(ids), make_items(ids, evil_label="dog")
    assert planned_changes(report, "relabels") == (set(), {"e": "cat"})
    rows = list(csv.DictReader(io.StringIO(findings_csv(items, report))))
    labels = {r["id"]: r for r in rows if r["check"] == "mislabels"}
    assert (labels["e"]["finding"], labels["e"]["action"], labels["e"]["suggested_label"]) == (
        "label_issue",
        "relabel",
        "cat",
    )
    assert (labels["c"]["finding"], labels["c"]["action"]) == ("label_candidate", "review")
    assert "e" in finding_ids(report)  # so it gets a thumbnail


def test_a_candidate_the_model_agrees_with_is_no_relabel_suggestion():
    ids = ["a", "b", "c", "d", "e", "f", "g"]
    report, items = make_report(ids, evil_label="dog"), make_items(ids, evil_label="dog")
    # d: given cat, most probable class cat; even flagged, it has no other label to suggest
    report["checks"]["mislabels"]["candidates"][1]["confident_learning"] = True
    page = render_review_page(report, items, thumbs(ids))
    labels = page.split('<section id="labels">')[1].split("</section>")[0]
    row = dict(re.findall(r'<tr data-id="([^"]+)">(.*?)</tr>', labels))["d"]
    assert "→" not in row and "(the model agrees)" in row and "badge relabel" not in row
    assert planned_changes(report, "relabels") == (set(), {"c": "cat"})
    d = next(r for r in csv.DictReader(io.StringIO(findings_csv(items, report))) if r["id"] == "d")
    assert (d["action"], d["suggested_label"]) == ("review", "")
    assert "the model agrees" in d["detail"]
