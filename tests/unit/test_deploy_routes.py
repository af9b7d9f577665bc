"""The image's command and the chart's probes point at things that exist: the uvicorn command line
parses and names the real app factory, and every path the chart probes or scrapes is a route the
app registers (built with ``create_app(Settings())``; Triton is not started). The Triton side is
checked against the Dockerfile's triton stage: ports, model repository paths, the init script."""

from __future__ import annotations

import importlib

import pytest

from service.app import create_app
from service.settings import Settings
from tests.deploy import checks

STAGES = {s.name: s for s in checks.parse_dockerfile()}


def api_command() -> list[str]:
    api = STAGES["api"]
    return api.exec_form("ENTRYPOINT") + api.exec_form("CMD")


def uvicorn_params(argv: list[str]) -> dict:
    """Parse a uvicorn command line with uvicorn's own CLI definition (nothing is started)."""
    assert argv[0] == "uvicorn"
    cli = importlib.import_module("uvicorn.main").main
    return cli.make_context("uvicorn", list(argv[1:])).params


@pytest.fixture(scope="module")
def app_paths() -> set[str]:
    app = create_app(Settings())
    return {route.path for route in app.routes}


def test_image_command_is_uvicorn_with_the_app_factory():
    params = uvicorn_params(api_command())
    assert params["factory"] is True
    assert params["app"] == "service.app:create_app"
    assert params["host"] == "0.0.0.0"
    assert params["port"] == 8000
    assert params["workers"] is None  # one process per pod; replicas scale out


def test_uvicorn_parser_rejects_a_bad_command():
    import click

    with pytest.raises(click.UsageError):
        uvicorn_params(["uvicorn", "--factroy", "service.app:create_app"])


def test_image_command_names_a_real_factory():
    from uvicorn.importer import import_from_string

    factory = import_from_string(uvicorn_params(api_command())["app"])
    assert factory is create_app
    # What uvicorn --factory does: call it without arguments (settings from IMAGELINT_* env).
    app = factory()
    assert "/health/live" in {r.path for r in app.routes}


def test_ports_agree_between_image_and_chart():
    port = uvicorn_params(api_command())["port"]
    assert str(port) in STAGES["api"].all("EXPOSE")[-1].split()
    deployment = next(
        m.doc
        for m in checks.render_scenario("defaults")[1]
        if m.kind == "Deployment" and m.name.endswith("-api")
    )
    api = deployment["spec"]["template"]["spec"]["containers"][0]
    assert {p["name"]: p["containerPort"] for p in api["ports"]}["http"] == port


@pytest.mark.parametrize("scenario", list(checks.SCENARIOS))
def test_api_probe_and_scrape_paths_are_app_routes(scenario, app_paths):
    _, docs = checks.render_scenario(scenario)
    deployment = next(m.doc for m in docs if m.kind == "Deployment" and m.name.endswith("-api"))
    api = deployment["spec"]["template"]["spec"]["containers"][0]
    probes = {
        kind: api[kind]["httpGet"]["path"]
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes == {
        "startupProbe": "/health/live",
        "livenessProbe": "/health/live",
        "readinessProbe": "/health/ready",
    }
    assert set(probes.values()) <= app_paths
    for monitor in (m.doc for m in docs if m.kind == "ServiceMonitor" and m.name.endswith("-api")):
        assert monitor["spec"]["endpoints"][0]["path"] in app_paths


def test_notes_mention_only_real_routes(app_paths):
    rendered, _ = checks.render_scenario("defaults")
    notes = rendered["imagelint/templates/NOTES.txt"]
    for path in ("/health/ready", "/schema/openapi.json"):
        assert path in notes and path in app_paths


def test_triton_probes_ports_and_paths_agree_with_its_image():
    _, docs = checks.render_scenario("production")
    deployment = next(m.doc for m in docs if m.kind == "Deployment" and m.name.endswith("-triton"))
    pod = deployment["spec"]["template"]["spec"]
    triton = next(c for c in pod["containers"] if c["name"] == "triton")
    # Triton's HTTP health endpoints (KServe v2 protocol), on the port named http.
    assert triton["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    assert triton["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert triton["startupProbe"]["httpGet"]["path"] == "/v2/health/ready"
    # args only, as the image's CMD: the official entrypoint still runs (CUDA forward compat).
    assert "command" not in triton
    assert triton["args"][0] == STAGES["triton"].exec_form("CMD")[0] == "tritonserver"
    # Named container ports are the ports tritonserver is told to use and the image exposes.
    ports = {p["name"]: p["containerPort"] for p in triton["ports"]}
    for name in ("http", "grpc", "metrics"):
        assert f"--{name}-port={ports[name]}" in triton["args"]
    assert set(STAGES["triton"].all("EXPOSE")[-1].split()) == {str(p) for p in ports.values()}
    # The init container runs the script the image carries, on the repository the image holds.
    init = pod["initContainers"][0]
    copies = dict((dst, src) for src, dst in checks.copy_sources(STAGES["triton"]))
    assert copies[init["command"][1]] == "deploy/prepare_model_repository.py"
    source = next(a.split("=", 1)[1] for a in init["command"] if a.startswith("--source="))
    target = next(a.split("=", 1)[1] for a in init["command"] if a.startswith("--target="))
    model = next(a.split("=", 1)[1] for a in init["command"] if a.startswith("--model="))
    assert f"{source}/{model}/config.pbtxt" in copies
    assert f"--model-repository={target}" in triton["args"]
    assert {m["mountPath"] for m in init["volumeMounts"]} == {target}
    assert (checks.REPO_ROOT / "model_repository" / model / "config.pbtxt").is_file()
