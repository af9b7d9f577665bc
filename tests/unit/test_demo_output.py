"""``make demo``'s console output: a few progress lines per stage, failure details cut at a word."""

from __future__ import annotations

from devtools.demo import DETAIL_WIDTH, progress_lines, summarise


def test_progress_prints_each_stage_at_its_start_quarters_and_end_not_per_item():
    line = progress_lines()
    events = [{"stage": "load", "done": i, "total": 370} for i in range(371)]
    events += [{"stage": "checks", "done": i, "total": 7} for i in range(8)]
    printed = [text for e in events if (text := line(e)) is not None]
    assert printed == [
        "  load: 0/370",
        "  load: 93/370",
        "  load: 185/370",
        "  load: 278/370",
        "  load: 370/370",
        "  checks: 0/7",
        "  checks: 2/7",
        "  checks: 4/7",
        "  checks: 6/7",
        "  checks: 7/7",
    ]


def test_progress_without_a_total_prints_once():
    line = progress_lines()
    assert line({"stage": "resolution"}) == "  resolution: 0/0"
    assert line({"stage": "resolution", "done": 0, "total": 0}) is None


def test_a_long_failure_detail_is_cut_at_a_word_and_marked():
    detail = "the file is not an image Pillow can read: " + "cannot identify image file " * 12
    report = {
        "dataset": {"items": 2, "loaded": 1, "failed": 1, "classes": {}, "splits": {}},
        "failed_items": [{"id": "broken", "code": "decode_error", "detail": detail}],
        "checks": {},
    }
    failed = next(x for x in summarise(report).splitlines() if "broken" in x)
    shown = failed.split("(", 1)[1].rstrip(")")
    assert shown.endswith(" ...") and len(shown) <= DETAIL_WIDTH
    assert shown.startswith("the file is not an image Pillow can read: cannot identify")


def test_the_summary_names_each_group_its_leak_and_the_list_to_act_on():
    report = {
        "dataset": {"items": 4, "loaded": 4, "failed": 0, "classes": {}, "splits": {}},
        "checks": {
            "duplicates": {
                "groups": [
                    {"group": 0, "members": ["a", "a2"], "keep": "a", "drop": ["a2"],
                     "splits": ["train"]},
                    {"group": 1, "members": ["b", "b-leak"], "keep": "b-leak", "drop": ["b"],
                     "splits": ["test", "train"]},
                ],
                "droppable": 2,
                "leakage": {"groups": [1]},
            },
            "mislabels": {
                "label_issues": {"ids": ["c"], "count": 1, "expected_precision": 0.9,
                                 "suggested_labels": ["7"]},
                "candidates": [{"id": "c", "given_label": "1", "suggested_label": "7"},
                               {"id": "photo", "given_label": "3", "suggested_label": "1"},
                               {"id": "d", "given_label": "7", "suggested_label": "7"}],
            },
        },
    }  # fmt: skip
    lines = summarise(report).splitlines()
    assert "duplicates: 2 groups, 2 droppable, 1 leaking across splits" in lines
    assert "  a, a2: keep a, drop a2" in lines
    assert "  b, b-leak: keep b-leak, drop b (leak: test/train)" in lines
    assert "label issues to act on (1, expected precision 0.90): c (-> 7)" in lines
    assert (
        "mislabel candidates (ranked, to review): c (1->7), photo (3->1), d (7, model agrees)"
        in lines
    )


def test_the_summary_says_the_dataset_wide_quality_facts_the_counts_leave_out():
    report = {
        "dataset": {"items": 3, "loaded": 3, "failed": 0, "classes": {}, "splits": {}},
        "checks": {
            "image_quality": {
                "counts": {"blurry": 0, "grayscale": 0},
                "dataset_facts": [{"flag": "blurry", "share": 0.99, "detail": "soft at 128 px"}],
            }
        },
    }
    lines = summarise(report).splitlines()
    assert "image quality flags: {'blurry': 0, 'grayscale': 0}" in lines
    assert "  most images (99%) are blurry: soft at 128 px" in lines
