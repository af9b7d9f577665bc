"""The review page and the API docs in a real browser: headless Chromium (Debian's package,
installed by ``make setup``) driven by Playwright, against the real app over real HTTP with the
real Triton server.

The demo dataset (planted duplicates, a train/test leak, flipped labels, photos among digits, a
corrupt file, a hostile URL) goes through ``POST /v1/reports/view``; the browser loads the page
from the service and the test asserts the planted findings are visible, no console error, and no
request left the service's origin. ``/schema`` (Scalar), ``/schema/swagger`` and
``/schema/redoc`` render from the service's own files. Screenshots go to ``out/browser/``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest

from devtools.demo import DEMO_OPTIONS, build_demo_dataset
from service.app import create_app
from service.settings import Settings
from tests.live_server import serve

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "out" / "browser"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    found = os.environ.get("IMAGELINT_CHROMIUM") or shutil.which("chromium")
    assert found, (
        "Chromium is missing: `make chromium` (part of `make setup`) installs Debian's package"
    )
    return found


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("data-root")
    manifest, planted = build_demo_dataset(root)
    return root, manifest, planted


@pytest.fixture(scope="module")
def api(triton_url, demo):
    root, _, _ = demo
    settings = Settings(triton_url=triton_url, data_root=str(root), grpc_port=0)
    with serve(create_app(settings)) as url:
        yield url


class Watched:
    """A page whose requests, console errors and page errors are recorded."""

    def __init__(self, browser, origin: str, *, width: int = 1360, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.origin = origin
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def foreign_requests(self) -> list[str]:
        own = (self.origin + "/", "blob:" + self.origin + "/", "data:")
        return [u for u in self.requests if not u.startswith(own)]

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def review_page(browser, api, demo):
    """The demo report's page, requested by the browser itself (a POST navigation)."""
    _, manifest, planted = demo
    body = json.dumps({"dataset": {"manifest_uri": manifest.as_uri()}, "options": DEMO_OPTIONS})
    watched = Watched(browser, api)
    view_url = f"{api}/v1/reports/view"

    def as_post(route):
        if route.request.url == view_url and route.request.method == "GET":
            route.continue_(
                method="POST",
                post_data=body,
                headers={**route.request.headers, "content-type": "application/json"},
            )
        else:
            route.continue_()

    watched.page.route("**/*", as_post)
    response = watched.page.goto(view_url, timeout=600_000, wait_until="load")
    assert response is not None and response.status == 200, response and response.text()
    csp = response.headers.get("content-security-policy", "")
    watched.page.screenshot(path=str(OUT / "review-page-full.png"), full_page=True)
    watched.page.screenshot(path=str(OUT / "review-page.png"))
    watched.page.set_viewport_size({"width": 1280, "height": 1000})
    watched.page.screenshot(path=str(OUT / "review-page-readme.png"))
    (OUT / "demo-review.html").write_text(watched.page.content())
    yield watched, planted, csp
    watched.close()


def test_review_page_is_offline_and_clean(review_page, api):
    watched, _, csp = review_page
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert watched.foreign_requests() == []
    assert watched.errors == []
    assert watched.page.locator("script").count() == 0


def test_planted_duplicates_and_leak_are_visible(review_page):
    watched, planted, _ = review_page
    page = watched.page
    original, copy = planted["exact_duplicate"]
    strip = page.locator("#duplicates .strip", has=page.locator(f'figure[data-id="{copy}"]')).first
    assert strip.is_visible()
    badges = {
        fid: strip.locator(f'figure[data-id="{fid}"] .badge').inner_text()
        for fid in (original, copy)
    }
    assert sorted(badges.values()) == ["drop", "keep"], badges
    train_id, test_id = planted["leak"]
    leak = page.locator("#leakage .pair", has=page.locator(f'figure[data-id="{test_id}"]')).first
    assert leak.is_visible()
    columns = leak.locator(".split h4").all_inner_texts()
    assert columns == ["test", "train"]
    assert leak.locator(f'figure[data-id="{train_id}"]').is_visible()


def test_planted_label_flips_outliers_and_failures_are_visible(review_page):
    watched, planted, _ = review_page
    page = watched.page
    shown_flips = [
        fid for fid in planted["flipped"] if page.locator(f'#labels tr[data-id="{fid}"]').count()
    ]
    assert len(shown_flips) >= 3, shown_flips
    for fid in shown_flips:
        row = page.locator(f'#labels tr[data-id="{fid}"]')
        assert row.is_visible()
        given = planted["flipped"][fid]["given"]
        shown = row.locator("td").nth(1).inner_text()  # never "7 → 7"
        assert shown.startswith(given + " →") or shown == f"{given} (the model agrees)", shown
    for photo in planted["outliers"]:
        assert page.locator(f'#outliers figure[data-id="{photo}"]').is_visible(), photo
    for bad in planted["corrupt"] + planted["hostile"]:
        assert page.locator(f'#quality tr[data-id="{bad}"]').is_visible(), bad
    rare = page.locator(f'#classes tr[data-class="{planted["rare_class"]}"]')
    assert "minority" in rare.inner_text()


def test_thumbnails_decode_and_the_curve_is_drawn(review_page):
    page = review_page[0].page
    sizes = page.eval_on_selector_all(
        "figure img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
    )
    assert len(sizes) >= 10
    assert all(done and 0 < w <= 96 and 0 < h <= 96 for done, w, h in sizes), sizes[:5]
    assert page.locator("#curve svg circle").count() >= 3
    assert page.locator("#curve svg polyline").count() == 1
    links = page.locator("#exports .downloads a")
    assert links.count() == 6
    assert all(href.startswith("data:") for href in links.evaluate_all("as => as.map(a => a.href)"))


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/schema", "text=Audits image-classification datasets >> visible=true"),  # Scalar
        ("/schema/swagger", '.swagger-ui .opblock-summary-path[data-path="/v1/reports"]'),
        ("/schema/redoc", 'h2 >> text="Audit a dataset: one full quality report"'),
    ],
)
def test_api_docs_render_offline(browser, api, path, rendered):
    watched = Watched(browser, api)
    try:
        response = watched.page.goto(api + path, wait_until="load")
        assert response is not None and response.status == 200
        watched.page.locator(rendered).first.wait_for(state="visible", timeout=60_000)
        watched.page.screenshot(path=str(OUT / f"docs-{path.strip('/').replace('/', '-')}.png"))
        assert watched.foreign_requests() == []
        assert watched.errors == []
    finally:
        watched.close()


def test_hostile_ids_and_labels_run_no_script(browser, tmp_path):
    """A page rendered from `<script>` / `onerror=` ids, labels and URIs: nothing executes."""
    from tests.unit.test_review_page import hostile_page

    html = hostile_page()
    path = tmp_path / "hostile.html"
    path.write_text(html)
    watched = Watched(browser, "file://")
    try:
        dialogs: list[str] = []
        watched.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        watched.page.goto(path.as_uri(), wait_until="load")
        assert watched.page.evaluate("() => window.__pwned === undefined")
        assert dialogs == []
        assert watched.page.locator("script").count() == 0
        assert "<script>" in watched.page.locator("#labels").inner_text()  # shown as text
        assert [u for u in watched.requests if not u.startswith(("file://", "data:"))] == []
    finally:
        watched.close()


def test_export_route_gives_the_cleaned_manifest(api, demo):
    _, manifest, planted = demo
    ref = {"manifest_uri": manifest.as_uri()}
    report = httpx.post(
        f"{api}/v1/reports", json={"dataset": ref, "options": DEMO_OPTIONS}, timeout=600
    ).json()
    body = {"dataset": ref, "report": report}
    drops = httpx.post(
        f"{api}/v1/reports/export",
        params={"apply": "drops", "format": "jsonl"},
        json=body,
        timeout=60,
    )
    assert drops.status_code == 200, drops.text
    assert (
        drops.headers["content-disposition"]
        == 'attachment; filename="manifest-drops-applied.jsonl"'
    )
    kept = [json.loads(line) for line in drops.text.splitlines()]
    kept_ids = {row["id"] for row in kept}
    dropped = {m for g in report["checks"]["duplicates"]["groups"] for m in g["drop"]}
    assert len(kept) == report["dataset"]["items"] - len(
        dropped | {f["id"] for f in report["failed_items"]}
    )
    assert not kept_ids & set(planted["corrupt"] + planted["hostile"])
    assert len(set(planted["exact_duplicate"]) & kept_ids) == 1
    findings = httpx.post(
        f"{api}/v1/reports/export", params={"kind": "findings"}, json=body, timeout=60
    )
    assert findings.headers["content-type"] == "text/csv; charset=utf-8"  # once, not twice
    assert (
        findings.text.splitlines()[0]
        == "id,uri,label,split,check,finding,action,suggested_label,score,detail"
    )
    assert any(
        line.startswith("photo-chelsea,file://") and ",outlier," in line
        for line in findings.text.splitlines()
    )


def test_accept_html_on_reports_gives_the_same_page(api, demo):
    _, manifest, planted = demo
    body = {"dataset": {"manifest_uri": manifest.as_uri()}, "options": DEMO_OPTIONS}
    response = httpx.post(
        f"{api}/v1/reports", json=body, headers={"accept": "text/html"}, timeout=600
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"  # once, not twice
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    for photo in planted["outliers"]:
        assert f'<figure data-id="{photo}"><img src="data:image/jpeg;base64,' in page
    json_report = httpx.post(f"{api}/v1/reports", json=body, timeout=600)
    assert json_report.headers["content-type"].startswith("application/json")
    assert "thumbnails" not in json_report.json()["timings_s"]  # no thumbnails made for JSON


def test_make_demo_writes_the_report_and_its_review_page(api, demo, tmp_path, capsys):
    from devtools.demo import main

    root, _, planted = demo
    out = tmp_path / "reports" / "demo-report.json"
    assert main(["--url", api, "--data-root", str(root), "--out", str(out)]) == 0
    page = (tmp_path / "reports" / "demo-review.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert all(f'data-id="{photo}"' in page for photo in planted["outliers"])
    assert json.loads(out.read_text())["dataset"]["items"] == 370
    assert "review page:" in capsys.readouterr().out
