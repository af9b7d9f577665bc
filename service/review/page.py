"""One self-contained HTML review page for a report.

``render_review_page(report, items, thumbnails)`` returns a complete HTML document: inline CSS
(allowed by its hash in the page's Content-Security-Policy), thumbnails and downloads as
``data:`` URIs, inline SVG charts, and no script at all. The browser requests nothing: the CSP
(``default-src 'none'``) forbids every fetch, so a hostile URI in a manifest cannot be loaded
by opening the page. Every id, label, split, URI and detail is user input and is escaped.

Long lists are paged without script: the first page is shown, the rest sit in collapsed
``<details>`` blocks, and past a cap the page says how many more the findings CSV holds.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.datasets.model import Item
from service.review.exports import cleaned_manifest, findings_csv
from service.review.findings import (
    act_on_count,
    as_dict,
    planned_relabels,
    relabel_suggestion,
)


@dataclass(frozen=True)
class PageLimits:
    """How much of each list the page shows (per page, and in all)."""

    per_page: int = 24
    max_entries: int = 240
    max_embedded_items: int = 20_000  # larger datasets: downloads come from the API instead


CSS = """
:root{--ink:#1d2430;--muted:#5b6577;--line:#dde2ea;--bg:#f6f7fa;--card:#fff;--accent:#2f5fd0;
--keep:#1f7a46;--drop:#b3261e;--warn:#a15c00}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
header{background:#16213a;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c4cde0;font-size:13px}
nav{background:#fff;border-bottom:1px solid var(--line);padding:8px 28px;position:sticky;top:0;z-index:2}
nav a{color:var(--accent);margin-right:14px;text-decoration:none;font-size:13px}
main{padding:18px 28px;max-width:1400px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 18px}
h2{margin:0 0 10px;font-size:18px}
h3{margin:14px 0 6px;font-size:14px;color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 12px;min-width:120px;background:#fbfcfe}
.card b{display:block;font-size:22px}
.card span{color:var(--muted);font-size:12px}
.card.bad b{color:var(--drop)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:middle}
th{color:var(--muted);font-weight:600;background:#fafbfd}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.strip{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start;padding:6px 0;border-bottom:1px dashed var(--line)}
.strips{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));column-gap:18px}
.strip .meta{width:110px;font-size:12px;color:var(--muted)}
.gallery{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;width:108px;font-size:11px;overflow-wrap:anywhere}
figure img,figure .noimg{display:block;width:96px;height:96px;object-fit:contain;background:#eef1f6;border:1px solid var(--line);border-radius:4px}
figure .noimg{display:flex;align-items:center;justify-content:center;color:var(--muted)}
figcaption{margin-top:3px}
figcaption .id{font-weight:600;color:var(--ink)}
.uri{color:var(--muted);font-size:10px;display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:108px}
td.uri{max-width:420px;white-space:normal;overflow-wrap:anywhere}
.badge{display:inline-block;border-radius:3px;padding:0 5px;font-size:11px;font-weight:700;color:#fff;background:var(--muted)}
.badge.keep{background:var(--keep)}.badge.drop{background:var(--drop)}.badge.relabel{background:var(--warn)}
.pair{display:flex;gap:10px;align-items:center;padding:6px 0;border-bottom:1px dashed var(--line)}
.pair .arrow{color:var(--muted);font-size:18px}
.sidebyside{display:flex;gap:14px;flex-wrap:wrap}
.split{border:1px solid var(--line);border-radius:6px;padding:6px}
.split h4{margin:0 0 4px;font-size:12px;color:var(--muted)}
details{margin:6px 0}
summary{cursor:pointer;color:var(--accent)}
.note{color:var(--muted);font-size:12px}
.downloads a{display:inline-block;margin:4px 10px 4px 0;padding:6px 10px;border:1px solid var(--accent);border-radius:6px;color:var(--accent);text-decoration:none}
svg text{font:11px system-ui,sans-serif;fill:#5b6577}
.errors li{color:var(--drop)}
""".strip()
CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
# The meta policy (frame-ancestors is only honoured as a header: see REVIEW_PAGE_HEADERS).
PAGE_CSP = (
    "default-src 'none'; img-src data:; style-src 'sha256-" + CSS_HASH + "'; "
    "base-uri 'none'; form-action 'none'"
)
REVIEW_PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP + "; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def e(value: Any) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.{digits}f}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode()}"


class _Context:
    def __init__(self, items: Sequence[Item], thumbnails: Mapping[str, bytes], limits: PageLimits):
        self.items = {item.id: item for item in items}
        self.thumbnails = thumbnails
        self.limits = limits

    def figure(self, item_id: str, *, badge: str | None = None, caption: str | None = None) -> str:
        item = self.items.get(item_id)
        thumb = self.thumbnails.get(item_id)
        image = (
            f'<img src="{_data_uri("image/jpeg", thumb)}" alt="{e(item_id)}">'
            if thumb
            else '<div class="noimg">no image</div>'
        )
        label = f"{e(item.label)} · {e(item.split or '')}" if item else ""
        badge_html = f' <span class="badge {e(badge)}">{e(badge)}</span>' if badge else ""
        extra = f"<br>{caption}" if caption else ""
        uri = f'<span class="uri" title="{e(item.uri)}">{e(item.uri)}</span>' if item else ""
        return (
            f'<figure data-id="{e(item_id)}">{image}<figcaption><span class="id">{e(item_id)}</span>'
            f"{badge_html}<br>{label}{extra}{uri}</figcaption></figure>"
        )

    def paged(
        self, entries: list[str], *, wrap: str = "div", cls: str = "", what: str = "entries"
    ) -> str:
        """The first page of ``entries``, the rest in collapsed blocks, a note past the cap."""
        per, cap = self.limits.per_page, self.limits.max_entries
        shown, hidden = entries[:cap], len(entries) - min(len(entries), cap)
        attr = f' class="{cls}"' if cls else ""
        parts = [f"<{wrap}{attr}>{''.join(shown[:per])}</{wrap}>"]
        for start in range(per, len(shown), per):
            end = min(start + per, len(shown))
            parts.append(
                f"<details><summary>show {what} {start + 1}–{end} of {len(entries)}</summary>"
                f"<{wrap}{attr}>{''.join(shown[start:end])}</{wrap}></details>"
            )
        if hidden:
            parts.append(f'<p class="note">{hidden} more {what} are in the findings CSV.</p>')
        return "".join(parts)


def render_review_page(
    report: Any,
    items: Sequence[Item],
    thumbnails: Mapping[str, bytes] | None = None,
    *,
    limits: PageLimits | None = None,
    title: str = "imagelint review",
) -> str:
    """The review page for ``report`` (a ``Report`` or its JSON dict); see the module docstring.

    Parameters
    ----------
    report : Report or dict
    items : sequence of Item
        The dataset's items (their URIs, labels and splits are shown next to each finding and
        feed the embedded downloads).
    thumbnails : mapping, optional
        Item id -> JPEG bytes (``service.review.thumbnails.make_thumbnail``).
    limits : PageLimits, optional
    title : str
    """
    rep = as_dict(report)
    ctx = _Context(items, thumbnails or {}, limits or PageLimits())
    checks = rep.get("checks") or {}
    sections = [
        # Findings people act on first, then the dataset's shape, then the downloads.
        ("summary", "Summary", _summary(rep)),
        ("duplicates", "Duplicates", _duplicates(checks.get("duplicates"), ctx)),
        ("leakage", "Leakage across splits", _leakage(checks.get("duplicates"), ctx)),
        ("labels", "Label issues", _label_issues(checks.get("mislabels"), ctx)),
        ("outliers", "Outliers", _outliers(checks.get("outliers"), ctx)),
        ("quality", "Image quality", _quality(rep, checks.get("image_quality"), ctx)),
        ("classes", "Classes and splits", _classes(rep, ctx)),
        ("curve", "Learning curve", _learning_curve(checks.get("sample_size"))),
        ("weights", "Imbalance weights", _weights(checks.get("imbalance"))),
        ("agreement", "Annotator agreement", _agreement(checks.get("agreement"), ctx)),
        ("exports", "Exports", _exports(rep, items, ctx)),
    ]
    sections = [(key, name, body) for key, name, body in sections if body]
    nav = "".join(f'<a href="#{key}">{e(name)}</a>' for key, name, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{e(name)}</h2>{content}</section>'
        for key, name, content in sections
    )
    model = rep.get("model") or {}
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(PAGE_CSP)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{e(title)}</title><link rel="icon" href="data:,"><style>{CSS}</style></head><body>'
        f"<header><h1>{e(title)}</h1><p>report {e(rep.get('request_id'))} · model {e(model.get('name'))} "
        f"v{e(model.get('version'))} · schema {e(rep.get('schema_version'))} · checks: "
        f"{e(', '.join(rep.get('checks_run') or []))}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>"
    )


# --- sections --------------------------------------------------------------------------------


def _card(value: Any, label: str, *, bad: bool = False) -> str:
    return f'<div class="card{" bad" if bad else ""}"><b>{e(_fmt(value))}</b><span>{e(label)}</span></div>'


def _summary(rep: Mapping[str, Any]) -> str:
    ds = rep.get("dataset") or {}
    checks = rep.get("checks") or {}
    dup = checks.get("duplicates") or {}
    mis = checks.get("mislabels") or {}
    cards = [
        _card(ds.get("items"), "items"),
        _card(ds.get("loaded"), "loaded"),
        _card(ds.get("failed"), "failed to load", bad=bool(ds.get("failed"))),
        _card(len(ds.get("classes") or {}), "classes"),
        _card(len(ds.get("splits") or {}), "splits"),
    ]
    if dup:
        cards.append(
            _card(dup.get("droppable"), "duplicates to drop", bad=bool(dup.get("droppable")))
        )
        leaked = len((dup.get("leakage") or {}).get("items") or [])
        cards.append(_card(leaked, "items leaking across splits", bad=bool(leaked)))
    if mis:
        act_on = act_on_count(mis)
        cards.append(_card(act_on, "label issues to act on", bad=bool(act_on)))
        cards.append(_card(len(mis.get("candidates") or []), "candidates to review"))
        cards.append(_card(mis.get("label_health"), "estimated label health"))
    if (out := checks.get("outliers")) is not None:
        cards.append(
            _card(len(out.get("outliers") or []), "outliers", bad=bool(out.get("outliers")))
        )
    if (quality := checks.get("image_quality")) is not None:
        cards.append(
            _card(quality.get("n_flagged"), "quality flags", bad=bool(quality.get("n_flagged")))
        )
    parts = [f'<div class="cards">{"".join(cards)}</div>']
    errors = rep.get("check_errors") or {}
    if errors:
        parts.append(
            '<h3>Checks that could not run</h3><ul class="errors">'
            + "".join(
                f"<li><b>{e(k)}</b>: {e(v.get('code'))} — {e(v.get('detail'))}</li>"
                for k, v in errors.items()
            )
            + "</ul>"
        )
    timings = rep.get("timings_s") or {}
    if timings:
        parts.append(
            '<p class="note">timings (s): '
            + ", ".join(f"{e(k)} {_fmt(v, 2)}" for k, v in timings.items())
            + "</p>"
        )
    return "".join(parts)


def _bar(value: float, maximum: float, *, width: int = 220, cls: str = "#2f5fd0") -> str:
    w = 0 if maximum <= 0 else max(1, round(width * value / maximum))
    return f'<svg width="{width}" height="12" role="img"><rect x="0" y="1" width="{w}" height="10" rx="2" fill="{cls}"/></svg>'


def _classes(rep: Mapping[str, Any], ctx: _Context) -> str:
    ds = rep.get("dataset") or {}
    imb = (rep.get("checks") or {}).get("imbalance") or {}
    rows_src = imb.get("classes") or [
        {"label": k, "count": v, "proportion": None, "minority": False}
        for k, v in (ds.get("classes") or {}).items()
    ]
    if not rows_src:
        return ""
    rows_src = sorted(rows_src, key=lambda c: (-c["count"], str(c["label"])))
    top = max(c["count"] for c in rows_src)
    rows = [
        f'<tr data-class="{e(c["label"])}"><td>{e(c["label"])}</td><td class="num">{_fmt(c["count"])}</td>'
        f'<td class="num">{_fmt(c.get("proportion"))}</td>'
        f"<td>{_bar(c['count'], top, cls='#b3261e' if c.get('minority') else '#2f5fd0')}</td>"
        f"<td>{'minority' if c.get('minority') else ''}</td></tr>"
        for c in rows_src
    ]
    parts = []
    if imb:
        parts.append(
            f"<p>imbalance ratio <b>{_fmt(imb.get('imbalance_ratio'), 2)}</b> · normalised entropy "
            f"<b>{_fmt(imb.get('normalised_entropy'))}</b> · minority rule: {e(imb.get('minority_rule'))}</p>"
        )
    header = '<tr><th>class</th><th class="num">items</th><th class="num">share</th><th></th><th></th></tr>'
    parts.append(
        ctx.paged(rows, wrap="table", what="classes").replace("<table>", "<table>" + header)
    )
    splits = imb.get("splits") or []
    if splits:
        labels = [c["label"] for c in rows_src]
        head = "".join(f'<th class="num">{e(s["split"])}</th>' for s in splits)
        body = [
            f"<tr><td>{e(lab)}</td>"
            + "".join(
                f'<td class="num">{_fmt(s["counts"].get(lab, 0))} ({_fmt(s["proportions"].get(lab, 0.0), 2)})</td>'
                for s in splits
            )
            + "</tr>"
            for lab in labels
        ]
        parts.append("<h3>Counts by split (share of the split)</h3>")
        parts.append(
            ctx.paged(body, wrap="table", what="classes").replace(
                "<table>", f"<table><tr><th>class</th>{head}</tr>"
            )
        )
    drift = imb.get("drift") or []
    if drift:
        parts.append(
            '<h3>Split drift</h3><table><tr><th>splits</th><th class="num">total variation</th>'
            '<th class="num">χ² p-value</th><th>classes missing</th></tr>'
            + "".join(
                f'<tr><td>{e(" vs ".join(d["splits"]))}</td><td class="num">{_fmt(d.get("total_variation"))}</td>'
                f'<td class="num">{_fmt(d.get("p_value"), 4)}{" (approx.)" if d.get("low_expected_counts") else ""}</td>'
                f"<td>{e(_missing(d))}</td></tr>"
                for d in drift
            )
            + "</table>"
        )
    return "".join(parts)


def _missing(drift: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{split}: {', '.join(labels)}" for split, labels in (drift.get("missing") or {}).items()
    )


def _duplicates(dup: Mapping[str, Any] | None, ctx: _Context) -> str:
    if not dup:
        return ""
    groups = dup.get("groups") or []
    intro = (
        f"<p>{len(groups)} groups of copies; <b>{_fmt(dup.get('droppable'))}</b> items can be dropped "
        f"(one kept per group). Near-copy threshold {_fmt(dup.get('threshold'))} ({e(dup.get('method'))} search).</p>"
    )
    if not groups:
        return intro
    strips = []
    for g in groups:
        drops = set(g.get("drop") or [])
        figures = "".join(
            ctx.figure(m, badge="drop" if m in drops else "keep" if m == g.get("keep") else None)
            for m in g["members"]
        )
        meta = (
            f'<div class="meta"><b>group {e(g["group"])}</b><br>{e(", ".join(g.get("evidence") or []))}'
            f"<br>splits: {e(', '.join(g.get('splits') or []))}<br>labels: {e(', '.join(g.get('labels') or []))}</div>"
        )
        strips.append(f'<div class="strip" data-group="{e(g["group"])}">{meta}{figures}</div>')
    conflicts = dup.get("label_conflicts") or []
    extra = ""
    if conflicts:
        extra = (
            "<h3>Copies that disagree on their label</h3><ul>"
            + "".join(
                f"<li>group {e(c['group'])}: {e(', '.join(f'{k}×{v}' for k, v in sorted(c['labels'].items())))} "
                f"({e(', '.join(c['members']))})</li>"
                for c in conflicts[: ctx.limits.max_entries]
            )
            + "</ul>"
        )
    return intro + ctx.paged(strips, cls="strips", what="groups") + extra


def _leakage(dup: Mapping[str, Any] | None, ctx: _Context) -> str:
    if not dup:
        return ""
    leakage = dup.get("leakage") or {}
    leaked = set(leakage.get("groups") or [])
    by_pair = leakage.get("by_split_pair") or []
    intro = (
        "<p>"
        + (
            "; ".join(
                f"{e(' / '.join(p['splits']))}: {_fmt(p['groups'])} groups, {_fmt(p['items'])} items"
                for p in by_pair
            )
            or "No copies span two splits."
        )
        + "</p>"
    )
    rows = []
    for g in dup.get("groups") or []:
        if g["group"] not in leaked:
            continue
        by_split: dict[str, list[str]] = {}
        for member in g["members"]:
            item = ctx.items.get(member)
            by_split.setdefault((item.split if item else None) or "unspecified", []).append(member)
        cols = "".join(
            f'<div class="split"><h4>{e(split)}</h4><div class="gallery">'
            + "".join(ctx.figure(m) for m in members)
            + "</div></div>"
            for split, members in sorted(by_split.items())
        )
        rows.append(
            f'<div class="pair" data-leak-group="{e(g["group"])}"><div class="sidebyside">{cols}</div></div>'
        )
    return intro + (ctx.paged(rows, what="leaking groups") if rows else "")


def _act_on_intro(mis: Mapping[str, Any]) -> str:
    """The act-on list's size (the report's ``summary.label_issues``), its precision and note."""
    act_on = mis.get("label_issues")
    count = act_on_count(mis)
    if act_on is None:  # reports without an act-on list: confident learning's issue set
        return f"<p><b>{_fmt(count)} label {_issues(count)} to act on</b> (confident learning's issue set).</p>"
    precision = act_on.get("expected_precision")
    sure = (
        f"expected precision {_fmt(precision, 2)} for a target of "
        f"{_fmt(act_on.get('target_precision'), 2)}; {e(act_on.get('basis'))}"
        if precision is not None
        else f"target precision {_fmt(act_on.get('target_precision'), 2)}"
    )
    note = f" {e(act_on['note'])}." if act_on.get("note") else ""
    return (
        f"<p><b>{_fmt(count)} label {_issues(count)} to act on</b> ({sure}): relabel them to the suggested "
        f"label (marked <i>relabel</i>).{note}</p>"
    )


def _issues(count: int) -> str:
    return "issue" if count == 1 else "issues"


def _label_cell(given: Any, suggestion: str | None) -> str:
    """``given → suggested``, or the given label alone when the model agrees with it."""
    if suggestion is None:
        return f'<td><b>{e(given)}</b> <span class="note">(the model agrees)</span></td>'
    return f"<td><b>{e(given)}</b> → <b>{e(suggestion)}</b></td>"


def _label_issues(mis: Mapping[str, Any] | None, ctx: _Context) -> str:
    if not mis:
        return ""
    cands = mis.get("candidates") or []
    learn = mis.get("learnability") or {}
    relabels = planned_relabels(mis)
    intro = _act_on_intro(mis) + (
        f"<p>{_fmt(len(cands))} candidates to review, ranked by {e(mis.get('rank_by'))}; "
        f"confident learning flags {_fmt(mis.get('issue_count'))}; estimated label health "
        f"{_fmt(mis.get('label_health'))}. Probabilities from {e(learn.get('source'))} (accuracy "
        f"{_fmt(learn.get('accuracy'))}): a suggestion is only as good as that.</p>"
    )
    rows = []
    for c in cands:
        cid = c.get("id") or f"#{c.get('index')}"
        relabel = relabels.get(cid)
        suggestion = relabel if relabel is not None else relabel_suggestion(c)
        rows.append(
            f'<tr data-id="{e(cid)}"><td>{ctx.figure(cid, badge="relabel" if relabel else None)}</td>'
            f"{_label_cell(c['given_label'], suggestion)}"
            f'<td class="num">{_fmt(c.get("suggested_probability"))}</td><td class="num">{_fmt(c.get("score"))}</td>'
            f"<td>{'yes' if c.get('confident_learning') else 'no'}</td>"
            f'<td class="num">{_fmt(c.get("neighbour_agreement"))}</td></tr>'
        )
    listed = {c.get("id") for c in cands}
    for item_id, new in relabels.items():
        if item_id in listed:
            continue
        item = ctx.items.get(item_id)
        rows.append(
            f'<tr data-id="{e(item_id)}"><td>{ctx.figure(item_id, badge="relabel")}</td>'
            f"{_label_cell(item.label if item else '', new)}"
            '<td class="num">–</td><td class="num">–</td><td>–</td><td class="num">–</td></tr>'
        )
    header = (
        '<tr><th>item</th><th>given → suggested</th><th class="num">p(suggested)</th>'
        '<th class="num">score</th><th>confident learning</th><th class="num">neighbours agree</th></tr>'
    )
    table = (
        ctx.paged(rows, wrap="table", what="candidates").replace("<table>", "<table>" + header)
        if rows
        else ""
    )
    classes = [c for c in mis.get("classes") or [] if c.get("estimated_noise_rate")]
    noisy = ""
    if classes:
        noisy = (
            "<h3>Estimated noise by class</h3><p>"
            + ", ".join(
                f"{e(c['label'])}: {_fmt(c['estimated_noise_rate'], 2)}" for c in classes[:60]
            )
            + "</p>"
        )
    return intro + table + noisy


def _quality(rep: Mapping[str, Any], quality: Mapping[str, Any] | None, ctx: _Context) -> str:
    failed = rep.get("failed_items") or []
    parts = []
    if quality:
        counts = quality.get("counts") or {}
        parts.append(
            "<p>"
            + (
                ", ".join(f"{e(k)}: {_fmt(v)}" for k, v in counts.items() if v)
                or "No image flagged."
            )
            + "</p>"
        )
        figures = [
            ctx.figure(i["id"], caption=e(", ".join(i.get("flags") or [])))
            for i in quality.get("items") or []
        ]
        if figures:
            parts.append(ctx.paged(figures, cls="gallery", what="images"))
    if failed:
        rows = [
            f'<tr data-id="{e(f["id"])}"><td>{e(f["id"])}</td><td>{e(f["code"])}</td><td>{e(f.get("detail"))}</td>'
            f'<td class="uri">{e(f.get("uri"))}</td></tr>'
            for f in failed
        ]
        parts.append("<h3>Items that could not be loaded</h3>")
        parts.append(
            ctx.paged(rows, wrap="table", what="items").replace(
                "<table>", "<table><tr><th>id</th><th>code</th><th>detail</th><th>uri</th></tr>"
            )
        )
    return "".join(parts)


def _outliers(out: Mapping[str, Any] | None, ctx: _Context) -> str:
    if not out:
        return ""
    listed = out.get("outliers") or []
    intro = (
        f"<p>{len(listed)} items far from their {e(out.get('k'))} nearest neighbours "
        f"(score above the fence {_fmt(out.get('fence'))}; median {_fmt(out.get('median'))}).</p>"
    )
    figures = [
        ctx.figure(
            o["id"],
            caption=f"rank {e(o['rank'])} · score {_fmt(o['score'])}<br>near {e(', '.join(o.get('nearest') or []))}",
        )
        for o in listed
    ]
    return intro + (ctx.paged(figures, cls="gallery", what="outliers") if figures else "")


def _learning_curve(ss: Mapping[str, Any] | None) -> str:
    if not ss or not ss.get("points"):
        return ""
    points = ss["points"]
    fits = {f["model"]: f for f in ss.get("fits") or []}
    chosen = fits.get(ss.get("chosen_model")) or {}
    residuals = chosen.get("residuals") or []
    fitted = (
        [(p["n"], p["mean"] - r) for p, r in zip(points, residuals, strict=False)]
        if residuals
        else []
    )
    fitted += [
        (p["n"], p["score"]) for p in ss.get("predictions") or [] if p["n"] > points[-1]["n"]
    ]
    target = ss.get("target") or {}
    xs = [p["n"] for p in points] + [n for n, _ in fitted]
    for key in ("n_needed", "ci_low", "ci_high"):
        if target.get(key):
            xs.append(target[key])
    ys = [p["mean"] - p.get("std", 0) for p in points] + [
        p["mean"] + p.get("std", 0) for p in points
    ]
    ys += [y for _, y in fitted] + ([target["target"]] if target.get("target") else [])
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    ys = [y for y in ys if math.isfinite(y)]
    w, h, left, right, top, bottom = 640, 300, 52, 16, 14, 36
    x0, x1 = math.log10(min(xs)) - 0.05, math.log10(max(xs)) + 0.05
    y0, y1 = max(0.0, min(ys) - 0.05), min(1.0, max(ys) + 0.05)
    if y1 - y0 < 0.1:
        y0, y1 = max(0.0, y0 - 0.05), min(1.0, y1 + 0.05)

    def px(n: float) -> float:
        return left + (math.log10(n) - x0) / (x1 - x0) * (w - left - right)

    def py(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * (h - top - bottom)

    svg = [
        f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="learning curve">'
    ]
    svg.append(
        f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" fill="#fafbfd" stroke="#dde2ea"/>'
    )
    for k in range(6):
        y = y0 + (y1 - y0) * k / 5
        svg.append(
            f'<line x1="{left}" x2="{w - right}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#eef1f6"/>'
        )
        svg.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
    for decade in range(math.floor(x0), math.ceil(x1) + 1):
        for m in (1, 2, 5):
            n = m * 10**decade
            if 10**x0 <= n <= 10**x1:
                svg.append(
                    f'<line x1="{px(n):.1f}" x2="{px(n):.1f}" y1="{top}" y2="{h - bottom}" stroke="#eef1f6"/>'
                )
                svg.append(
                    f'<text x="{px(n):.1f}" y="{h - bottom + 14}" text-anchor="middle">{n:,}</text>'
                )
    svg.append(
        f'<text x="{(left + w - right) / 2}" y="{h - 6}" text-anchor="middle">training items (log scale)</text>'
    )
    # the interval of the items needed, drawn as a band (and named in the legend) when bounded
    band = bool(target.get("target") and target.get("ci_low") and target.get("ci_high"))
    if band:
        lo, hi = max(target["ci_low"], 10**x0), min(target["ci_high"], 10**x1)
        svg.append(
            f'<rect x="{px(lo):.1f}" y="{top}" width="{max(1.0, px(hi) - px(lo)):.1f}" height="{h - top - bottom}" '
            'fill="#2f5fd0" fill-opacity="0.10"><title>interval for the items needed</title></rect>'
        )
    if target.get("target"):
        ty = py(target["target"])
        svg.append(
            f'<line x1="{left}" x2="{w - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#a15c00" stroke-dasharray="5 4"/>'
        )
        svg.append(
            f'<text x="{w - right - 4}" y="{ty - 4:.1f}" text-anchor="end">target {target["target"]:.2f}</text>'
        )
    if len(fitted) >= 2:
        path = " ".join(f"{px(n):.1f},{py(y):.1f}" for n, y in sorted(fitted))
        svg.append(
            f'<polyline points="{path}" fill="none" stroke="#2f5fd0" stroke-width="2"><title>{e(chosen.get("formula"))}</title></polyline>'
        )
    for p in points:
        x, s = px(p["n"]), p.get("std", 0.0)
        svg.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{py(p["mean"] - s):.1f}" y2="{py(p["mean"] + s):.1f}" stroke="#1d2430"/>'
        )
        svg.append(
            f'<circle cx="{x:.1f}" cy="{py(p["mean"]):.1f}" r="4" fill="#1d2430"><title>n={p["n"]:.0f}: {p["mean"]:.3f} ± {s:.3f}</title></circle>'
        )
    svg.append("</svg>")
    notes = [
        f"model <b>{e(ss.get('chosen_model'))}</b> ({e(chosen.get('formula'))}); {e(ss.get('choice_reason'))}",
        f"current training items: {_fmt(ss.get('n_current'), 0)}",
    ]
    if target:
        if target.get("reachable") and target.get("n_needed"):
            # no upper bound: the target is not reached in the interval's upper tail
            high = target.get("ci_high")
            upper = _fmt(high, 0) if high is not None else "not bounded"
            notes.append(
                f"accuracy {_fmt(target.get('target'), 2)} needs about <b>{_fmt(target.get('n_needed'), 0)}</b> items "
                f"({_fmt(target.get('confidence'), 2)} interval {_fmt(target.get('ci_low'), 0)}–{upper})"
            )
        else:
            why = target.get("note") or "not reachable on this curve"
            notes.append(f"accuracy {_fmt(target.get('target'), 2)}: {e(why)}")
    preds = ss.get("predictions") or []
    table = ""
    if preds:
        table = (
            '<table><tr><th class="num">× data</th><th class="num">items</th><th class="num">predicted accuracy</th>'
            '<th class="num">low</th><th class="num">high</th></tr>'
            + "".join(
                f'<tr><td class="num">{_fmt(p["multiple"], 1)}</td><td class="num">{_fmt(p["n"], 0)}</td>'
                f'<td class="num">{_fmt(p["score"])}</td><td class="num">{_fmt(p.get("low"))}</td>'
                f'<td class="num">{_fmt(p.get("high"))}</td></tr>'
                for p in preds
            )
            + "</table>"
        )
    band_legend = "; band: interval for the items needed to reach the target" if band else ""
    legend = f'<p class="note">dots: mean accuracy over repeats ± one standard deviation; line: the fitted curve{band_legend}; low/high: the range of the fitted families\' predictions.</p>'
    return "".join(svg) + legend + "<p>" + "<br>".join(notes) + "</p>" + table


def _weights(imb: Mapping[str, Any] | None) -> str:
    if not imb:
        return ""
    weights = imb.get("weights") or []
    classes = [c["label"] for c in imb.get("classes") or []]
    counts = {c["label"]: c["count"] for c in imb.get("classes") or []}
    plan = {c["label"]: c for c in (imb.get("resampling") or {}).get("classes") or []}
    head = "".join(f'<th class="num">{e(w["strategy"])}</th>' for w in weights)
    rows = "".join(
        f'<tr><td>{e(lab)}</td><td class="num">{_fmt(counts.get(lab))}</td>'
        + "".join(f'<td class="num">{_fmt(w["weights"].get(lab))}</td>' for w in weights)
        + f'<td class="num">{_fmt((plan.get(lab) or {}).get("oversample_factor"), 2)}</td>'
        f'<td class="num">{_fmt((plan.get(lab) or {}).get("augmented_needed"))}</td></tr>'
        for lab in classes[:200]
    )
    plan_all = imb.get("resampling") or {}
    return (
        f"<p>effective-number beta {_fmt(imb.get('beta'), 4)} ({e(imb.get('beta_rule'))}); oversampling target "
        f"{_fmt(plan_all.get('target_count'))} per class ({e(plan_all.get('target_rule'))}), "
        f"{_fmt(plan_all.get('augmented_total'))} augmented items in all.</p>"
        f'<table><tr><th>class</th><th class="num">items</th>{head}<th class="num">oversample ×</th>'
        f'<th class="num">augment</th></tr>{rows}</table>'
    )


def _agreement(agr: Mapping[str, Any] | None, ctx: _Context) -> str:
    if not agr:
        return ""
    disputed = agr.get("disputed") or []
    intro = (
        f"<p>Fleiss' κ {_fmt(agr.get('fleiss_kappa'))}, mean agreement {_fmt(agr.get('mean_agreement'))} over "
        f"{_fmt(agr.get('n_multi'))} items with two or more annotations; {_fmt(agr.get('disputed_count'))} disputed.</p>"
    )
    figures = [
        ctx.figure(
            d.get("id") or f"#{d.get('index')}",
            caption=f"consensus {e(d.get('consensus'))}<br>{e(', '.join(f'{k}×{v}' for k, v in sorted(d.get('votes', {}).items())))}",
        )
        for d in disputed
    ]
    return intro + (ctx.paged(figures, cls="gallery", what="items") if figures else "")


def _exports(rep: Mapping[str, Any], items: Sequence[Item], ctx: _Context) -> str:
    note = (
        '<p class="note">The API gives the same files: <code>POST /v1/reports/export?kind=manifest&amp;apply=drops'
        "&amp;format=csv</code> (or <code>kind=findings</code>) with the dataset reference and this report.</p>"
    )
    if not items or len(items) > ctx.limits.max_embedded_items:
        return f"<p>{len(items)} items: too many to embed the downloads in this page.</p>" + note
    links = []
    for apply, fmt, name in (
        ("drops", "jsonl", "manifest-drops-applied.jsonl"),
        ("drops", "csv", "manifest-drops-applied.csv"),
        ("relabels", "jsonl", "manifest-relabels-applied.jsonl"),
        ("both", "jsonl", "manifest-cleaned.jsonl"),
        ("both", "csv", "manifest-cleaned.csv"),
    ):
        text = cleaned_manifest(items, rep, apply=apply, fmt=fmt)
        mime = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
        links.append(f'<a download="{name}" href="{_data_uri(mime, text.encode())}">{e(name)}</a>')
    findings = findings_csv(items, rep)
    links.append(
        f'<a download="findings.csv" href="{_data_uri("text/csv", findings.encode())}">findings.csv</a>'
    )
    return (
        "<p>Cleaned manifests (drops: duplicate copies and unreadable files removed; relabels: the "
        "suggestions of the label issues to act on applied) and every finding with its item's URI.</p>"
        f'<div class="downloads">{"".join(links)}</div>' + note
    )
