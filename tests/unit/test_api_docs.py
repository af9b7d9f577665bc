"""The OpenAPI docs: every UI page names only this origin, its assets are served, and the document
declares operation ids, the API-key scheme, Retry-After and the NDJSON stream."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

from service.api import docs
from service.app import create_app
from service.settings import Settings

UI_PAGES = ("/schema", "/schema/swagger", "/schema/redoc")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(grpc_port=0))) as c:
        yield c


@pytest.mark.parametrize("path", UI_PAGES)
def test_ui_pages_reference_only_this_origin(client, path):
    assert not any(docs.assets_missing(ui) for ui in docs.ASSETS), (
        "make openapi-assets vendors them"
    )
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    urls = re.findall(r"""(?:src|href|data-url)\s*=\s*["']([^"']*)["']""", html)
    assert urls, html
    for url in urls:
        assert url.startswith(("/", "data:")) and not url.startswith("//"), url
    assert "cdn." not in html and "fonts.googleapis" not in html and "unpkg" not in html
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    for url in urls:
        if url.startswith(docs.ASSETS_PATH):
            asset = client.get(url)
            assert asset.status_code == 200 and asset.content, url


def test_swagger_does_not_call_the_public_validator(client):
    assert "validatorUrl: null" in client.get("/schema/swagger").text


def test_missing_assets_give_a_page_that_says_so(monkeypatch, tmp_path, client):
    monkeypatch.setattr(docs, "ASSETS_DIR", tmp_path)
    html = client.get("/schema/redoc").text
    assert "make openapi-assets" in html and "/schema/openapi.json" in html
    assert "redoc.standalone.js" in html  # names what is missing


def test_document_declares_ids_security_retry_after_and_ndjson(client):
    spec = client.get("/schema/openapi.json").json()
    operations = {
        (method, path): op for path, item in spec["paths"].items() for method, op in item.items()
    }
    ids = [op["operationId"] for op in operations.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)*", i) for i in ids), ids
    report = operations[("post", "/v1/reports")]
    assert report["operationId"] == "createReport"
    assert operations[("post", "/v1/checks/duplicates")]["operationId"] == "checkDuplicates"
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "name": "X-API-Key",
        "in": "header",
        "description": docs.API_KEY_SCHEMES["apiKey"].description,
    }
    for (_, path), op in operations.items():
        if path.startswith("/v1/"):
            assert op["security"] == [{"apiKey": []}, {"bearer": []}], path
        else:
            assert "security" not in op, path
    assert "Retry-After" in report["responses"]["429"]["headers"]
    assert "Retry-After" in report["responses"]["503"]["headers"]
    assert set(report["responses"]["200"]["content"]) >= {
        "application/json",
        "application/x-ndjson",
    }
    export = operations[("post", "/v1/reports/export")]
    assert set(export["responses"]["200"]["content"]) == {"application/x-ndjson", "text/csv"}
    assert set(operations[("post", "/v1/reports/view")]["responses"]["200"]["content"]) == {
        "text/html"
    }


def test_schemas_carry_descriptions_from_meta_docstrings_and_field_comments(client):
    schemas = client.get("/schema/openapi.json").json()["components"]["schemas"]
    for name in (
        "Report",
        "DatasetSummary",
        "FailedItemOut",
        "ModelInfo",
        "CheckError",
        "ReportOptions",
        "ExportRequest",
    ):
        props = schemas[name]["properties"]
        assert all(p.get("description") for p in props.values()), (
            name,
            [k for k, p in props.items() if not p.get("description")],
        )
    assert schemas["FailedItemOut"]["description"].startswith("An item that could not be loaded")
    # From a trailing comment in the analysis module (the same text the .proto files carry).
    assert "same_bytes" in schemas["DuplicateGroup"]["properties"]["evidence"]["description"]
    assert (
        schemas["Leakage"]["properties"]["groups"]["description"]
        == "ids of the groups spanning splits"
    )
