"""OpenAPI documentation that loads without internet: ``/schema`` (Scalar), ``/schema/swagger``,
``/schema/redoc`` and ``/schema/openapi.json``.

The UIs' JavaScript and CSS are vendored at build time from the npm registry
(``deploy/openapi_assets.sh``, run by ``make setup`` and the Dockerfile) into
``service/api/openapi_assets/`` and served by this service under ``/schema-assets/``; the pages
name no CDN, no web font and no remote favicon, and a Content-Security-Policy on them keeps every
request on this origin. When the assets were not built the pages say so (with the link to the
JSON document) instead of rendering blank.

The generated document is completed in one place (``complete_openapi``): readable operation ids,
the API-key security scheme on ``/v1/`` routes, ``Retry-After`` on 429/503 responses and the
NDJSON form of ``POST /v1/reports``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, PathType, Receive, Scope, Send

from service.api.auth import PROTECTED_PREFIX
from service.struct_docs import source_comments

ASSETS_DIR = Path(__file__).with_name("openapi_assets")
STATIC_DIR = Path(__file__).with_name("static")
ASSETS_PATH = "/schema-assets"
SCHEMA_PATH = "/schema"
NO_FAVICON = "<link rel='icon' href='data:,'>"
# Inline <script>/<style> are the UIs' own bootstrap; everything else must come from here.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
ASSETS = {
    "scalar": ("scalar/standalone.js",),
    "swagger": (
        "swagger/swagger-ui-bundle.js",
        "swagger/swagger-ui-standalone-preset.js",
        "swagger/swagger-ui.css",
    ),
    "redoc": ("redoc/redoc.standalone.js",),
}
# Readable operation ids by handler name; the rest are the handler name in camelCase.
OPERATION_IDS = {
    "live": "healthLive",
    "ready": "healthReady",
    "metrics": "getMetrics",
    "embed": "createEmbeddings",
    "duplicates": "checkDuplicates",
    "mislabels": "checkMislabels",
    "agreement": "checkAgreement",
    "imbalance": "checkImbalance",
    "sample_size": "checkSampleSize",
}
API_KEY_SCHEMES = {
    "apiKey": SecurityScheme(
        type="apiKey",
        name="X-API-Key",
        security_scheme_in="header",
        description="One of the keys in IMAGELINT_API_KEYS (no key needed when that setting is empty).",
    ),
    "bearer": SecurityScheme(
        type="http",
        scheme="bearer",
        description="The same API key sent as `Authorization: Bearer <key>`.",
    ),
}
NDJSON = "application/x-ndjson"
RETRY_AFTER = OpenAPIHeader(
    description="Seconds to wait before retrying.",
    schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
)


def assets_missing(ui: str) -> list[str]:
    """The vendored files that UI ``ui`` needs and that are not there (empty when it can render)."""
    return [name for name in ASSETS[ui] if not (ASSETS_DIR / name).is_file()]


def _missing_page(ui: str, request: Request) -> bytes:
    missing = ", ".join(assets_missing(ui))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>imagelint API docs</title>"
        f"{NO_FAVICON}</head><body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
        "<h1>imagelint API docs</h1><p>The documentation UI's files were not built into this "
        f"installation (missing: {missing}). Run <code>make openapi-assets</code>.</p>"
        f"<p>The OpenAPI document itself: <a href='{SCHEMA_PATH}/openapi.json'>{SCHEMA_PATH}/openapi.json</a>.</p>"
        "</body></html>"
    ).encode()


class LocalScalar(ScalarRenderPlugin):
    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return (
            super().render(request, openapi_schema)
            if not assets_missing("scalar")
            else _missing_page("scalar", request)
        )


class LocalSwagger(SwaggerRenderPlugin):
    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if assets_missing("swagger"):
            return _missing_page("swagger", request)
        # Swagger UI would send the document to validator.swagger.io for a badge: turn it off.
        page = super().render(request, openapi_schema)
        return page.replace(b"SwaggerUIBundle({", b"SwaggerUIBundle({\n validatorUrl: null,", 1)


class LocalRedoc(RedocRenderPlugin):
    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return (
            super().render(request, openapi_schema)
            if not assets_missing("redoc")
            else _missing_page("redoc", request)
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(route_handler: Any, _method: Any, _path: list[str | Any]) -> str:
    """``createReport``, ``checkDuplicates``, ``healthReady``: one per handler, stable."""
    name = route_handler.handler_name
    return OPERATION_IDS.get(name) or _camel(name)


def openapi_config(version: str) -> OpenAPIConfig:
    asset = f"{ASSETS_PATH}/"
    return OpenAPIConfig(
        title="imagelint",
        version=version,
        description=(
            "Audits image-classification datasets: duplicates and leakage, mislabels, sample size, "
            "class imbalance, image quality and outliers. `POST /v1/reports` runs every check on a "
            "dataset reference; `/v1/checks/...` run one check on arrays the caller already has."
        ),
        path=SCHEMA_PATH,
        operation_id_creator=operation_id,
        components=Components(security_schemes=dict(API_KEY_SCHEMES)),
        render_plugins=[
            LocalScalar(
                path=["/", "/scalar"],
                js_url=asset + "scalar/standalone.js",
                css_url=asset + "docs.css",
                favicon=NO_FAVICON,
                # No web fonts, no Scalar Agent (it calls Scalar's registry), no hosted client.
                options={
                    "withDefaultFonts": False,
                    "hideClientButton": True,
                    "telemetry": False,
                    "agent": {"disabled": True},
                    "showToolbar": "never",
                },
            ),
            LocalSwagger(
                js_url=asset + "swagger/swagger-ui-bundle.js",
                css_url=asset + "swagger/swagger-ui.css",
                standalone_preset_js_url=asset + "swagger/swagger-ui-standalone-preset.js",
                favicon=NO_FAVICON,
            ),
            LocalRedoc(
                js_url=asset + "redoc/redoc.standalone.js", google_fonts=False, favicon=NO_FAVICON
            ),
        ],
    )


def assets_router():
    """``/schema-assets/...``: the vendored UI files and the service's own docs CSS."""
    directories: list[PathType] = [d for d in (ASSETS_DIR, STATIC_DIR) if d.is_dir()]
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=directories or [STATIC_DIR],
        include_in_schema=False,
        cache_control=None,
    )


def complete_openapi(openapi: OpenAPI) -> OpenAPI:
    """Add what handlers cannot declare one by one (idempotent; mutates and returns ``openapi``)."""
    _describe_components(openapi)
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "post", "put", "delete", "patch"):
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            if path.startswith(PROTECTED_PREFIX):
                operation.security = [{"apiKey": []}, {"bearer": []}]
            for status, response in (operation.responses or {}).items():
                if status in ("429", "503") and isinstance(response, OpenAPIResponse):
                    headers = dict(response.headers or {})
                    headers.setdefault("Retry-After", RETRY_AFTER)
                    response.headers = headers
            if operation.operation_id == "createReport":
                _declare_ndjson(operation)
            if operation.operation_id == "exportReport":
                _declare_exports(operation)
    return openapi


def _service_structs() -> dict[str, type]:
    """The service's Structs by class name (names that two Structs share are left out)."""
    found: dict[str, list[type]] = {}
    stack = list(msgspec.Struct.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("service."):
            found.setdefault(cls.__name__, []).append(cls)
    return {name: classes[0] for name, classes in found.items() if len(set(classes)) == 1}


def _describe_components(openapi: OpenAPI) -> None:
    """Schema and property descriptions from Struct docstrings and trailing field comments,
    where no ``Meta(description=...)`` gave one (the analysis result Structs document their fields
    with comments, which the ``.proto`` files already use)."""
    schemas = (openapi.components.schemas if openapi.components else None) or {}
    structs = _service_structs()
    for name, schema in schemas.items():
        cls = structs.get(name)
        if cls is None or not isinstance(schema, Schema):
            continue
        doc = inspect.getdoc(cls) if cls.__doc__ else None
        if not schema.description and doc and doc != inspect.getdoc(msgspec.Struct):
            schema.description = doc
        comments = source_comments(cls)
        names = {f.encode_name: f.name for f in msgspec.structs.fields(cls)}
        for prop_name, prop in (schema.properties or {}).items():
            text = comments.get(names.get(prop_name, prop_name))
            if text and hasattr(prop, "description") and not prop.description:
                prop.description = text


def _declare_ndjson(operation: Operation) -> None:
    ok = (operation.responses or {}).get("200")
    if not isinstance(ok, OpenAPIResponse) or ok.content is None or NDJSON in ok.content:
        return
    ok.content[NDJSON] = OpenAPIMediaType(
        schema=Schema(
            type=OpenAPIType.STRING,
            description=(
                "One JSON object per line: "
                '`{"event": "progress", "stage", "done", "total"}` events, then '
                '`{"event": "report", "report": Report}` or `{"event": "error", "problem": ProblemDetails}`.'
            ),
        )
    )
    ok.description = (
        "The report (JSON), or with `Accept: application/x-ndjson` progress events then the report."
    )


def _declare_exports(operation: Operation) -> None:
    ok = (operation.responses or {}).get("200")
    if not isinstance(ok, OpenAPIResponse):
        return
    text = Schema(type=OpenAPIType.STRING)
    ok.content = {
        "application/x-ndjson": OpenAPIMediaType(schema=text),
        "text/csv": OpenAPIMediaType(schema=text),
    }
    ok.description = "The file, as an attachment (JSON Lines or CSV)."


def complete_openapi_on_startup(app: Litestar) -> None:
    complete_openapi(app.openapi_schema)


def docs_csp_middleware(app: ASGIApp) -> ASGIApp:
    """A Content-Security-Policy on the HTML docs pages (same origin only, no CDN)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == SCHEMA_PATH or path.startswith(SCHEMA_PATH + "/")) or path.endswith(
            (".json", ".yaml", ".yml")
        ):
            await app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    headers.append((b"content-security-policy", DOCS_CSP.encode()))
                    headers.append((b"x-content-type-options", b"nosniff"))
                    message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_wrapper)

    return middleware


__all__ = [
    "ASSETS_DIR",
    "assets_router",
    "complete_openapi",
    "complete_openapi_on_startup",
    "docs_csp_middleware",
    "openapi_config",
    "operation_id",
]
