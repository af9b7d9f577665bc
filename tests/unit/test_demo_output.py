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
