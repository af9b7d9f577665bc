"""The Helm chart, rendered by Helm's own engine and validated against the Kubernetes schemas."""

from __future__ import annotations

import base64
import copy
import re

import pytest

from tests.deploy import checks, values_table

SCENARIOS = list(checks.SCENARIOS)


def objects(scenario: str) -> dict[tuple[str, str], dict]:
    _, docs = checks.render_scenario(scenario)
    return {(m.kind, m.name): m.doc for m in docs}


def one(scenario: str, kind: str, suffix: str) -> dict:
    found = [d for (k, n), d in objects(scenario).items() if k == kind and n.endswith(suffix)]
    assert len(found) == 1, f"{kind} *{suffix} in {scenario}: {len(found)}"
    return found[0]


def container(deployment: dict, name: str) -> dict:
    return next(
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name
    )


def env(c: dict) -> dict[str, object]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


# --- lint, render, validate -----------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_helm_lint_strict_is_clean(scenario):
    assert checks.lint_chart(checks.SCENARIOS[scenario]) == []


@pytest.mark.parametrize("kube_version", checks.KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_rendered_object_is_valid(scenario, kube_version):
    _, docs = checks.render_scenario(scenario)
    assert docs
    for manifest in docs:
        checks.validate_manifest(manifest.doc, kube_version)


def test_the_expected_objects_are_rendered():
    kinds = lambda s: sorted(k for k, _ in objects(s))  # noqa: E731
    assert kinds("defaults") == sorted(
        [
            "Deployment",
            "Deployment",
            "Service",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "Secret",
            "ServiceAccount",
        ]
    )
    assert kinds("production") == sorted(
        kinds("defaults") + ["NetworkPolicy", "NetworkPolicy", "ServiceMonitor", "ServiceMonitor"]
    )
    assert kinds("external-triton") == [
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
    ]


def test_validation_rejects_broken_manifests():
    deployment = copy.deepcopy(one("production", "Deployment", "-api"))
    api = container(deployment, "api")
    api["readinesProbe"] = api.pop("readinessProbe")  # a typo in a field name
    with pytest.raises(Exception, match="readinesProbe"):
        checks.validate_manifest(deployment, checks.KUBE_VERSIONS[0])
    service = copy.deepcopy(one("defaults", "Service", "-triton"))
    service["spec"]["ports"][0]["port"] = "eight thousand"  # a wrong type
    with pytest.raises(Exception, match="eight thousand"):
        checks.validate_manifest(service, checks.KUBE_VERSIONS[-1])
    monitor = copy.deepcopy(one("production", "ServiceMonitor", "-api"))
    monitor["spec"]["endpoints"][0]["porrt"] = "http"
    with pytest.raises(ValueError, match="porrt"):
        checks.validate_manifest(monitor, checks.KUBE_VERSIONS[0])
    del monitor["spec"]["selector"]
    with pytest.raises(ValueError, match="selector"):
        checks.validate_manifest(monitor, checks.KUBE_VERSIONS[0])


def test_values_schema_rejects_typos_and_bad_values():
    import helm_python

    for bad in (
        {"triton": {"gpu": {"enable": True}}},  # misspelt key
        {"triton": {"instanceCount": 0}},
        {"api": {"auth": {"apiKeys": ["a,b"]}}},  # keys are comma-separated in the env var
        {"networkPolicy": {"api": {"allowedPrivateCIDRs": ["minio.local"]}}},  # not a CIDR
    ):
        with pytest.raises(helm_python.HelmError):
            checks.render_chart(bad)


def test_template_errors_fail_the_render():
    import helm_python

    with pytest.raises(helm_python.HelmError, match="existingClaim"):
        checks.render_chart({"api": {"dataRoot": {"enabled": True}}})
    with pytest.raises(helm_python.HelmError, match="tritonUrl"):
        checks.render_chart({"triton": {"enabled": False}})


# --- the chart's conventions ----------------------------------------------------------------


def test_every_template_opens_with_a_comment():
    for path in sorted((checks.CHART_DIR / "templates").iterdir()):
        first = path.read_text().lstrip().splitlines()[0]
        assert first.startswith("{{/*") or first.startswith("{{- /*"), path.name


def test_names_labels_and_selectors():
    for scenario in SCENARIOS:
        docs = objects(scenario)
        for (_kind, name), doc in docs.items():
            assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)
            labels = doc["metadata"]["labels"]
            assert labels["app.kubernetes.io/managed-by"] == "Helm"
            assert labels["app.kubernetes.io/instance"] == checks.RELEASE
        for (kind, name), doc in docs.items():
            if kind != "Service":
                continue
            deployment = docs.get(("Deployment", name)) or docs[("StatefulSet", name)]
            pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert doc["spec"]["selector"].items() <= pod_labels.items()
            assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
            named = {
                p["name"]
                for c in deployment["spec"]["template"]["spec"]["containers"]
                for p in c["ports"]
            }
            assert {p["targetPort"] for p in doc["spec"]["ports"]} <= named


def test_values_table_in_the_readme_is_complete_and_current():
    rows = values_table.value_rows(checks.CHART_DIR / "values.yaml")
    assert not [r.key for r in rows if not r.description], "values without a # -- description"
    readme = checks.CHART_DIR / "README.md"
    assert values_table.readme_table(readme) == values_table.render_table(rows), (
        "run: python -m tests.deploy --write-values-table"
    )


# --- API ------------------------------------------------------------------------------------


def test_api_pod_is_locked_down():
    deployment = one("defaults", "Deployment", "-api")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    sc = container(deployment, "api")["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert container(deployment, "api")["resources"]["requests"]["cpu"]


def test_api_env_scratch_and_auth_by_default():
    deployment = one("defaults", "Deployment", "-api")
    api = container(deployment, "api")
    variables = env(api)
    assert variables["IMAGELINT_TRITON_URL"] == f"{checks.RELEASE}-imagelint-triton:8001"
    scratch = variables["IMAGELINT_SCRATCH_DIR"]
    mounts = {m["mountPath"]: m["name"] for m in api["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts[scratch]]
    secret_ref = variables["IMAGELINT_API_KEYS"]["secretKeyRef"]
    secret = objects("defaults")[("Secret", secret_ref["name"])]
    generated = base64.b64decode(secret["data"][secret_ref["key"]]).decode()
    assert re.fullmatch(r"[A-Za-z0-9]{40}", generated)
    assert "IMAGELINT_DATA_ROOT" not in variables and "replicas" not in deployment["spec"]
    assert "IMAGELINT_DATABASE_URL" not in variables  # jobs off until a database is named


def test_api_production_values():
    deployment = one("production", "Deployment", "-api")
    api = container(deployment, "api")
    variables = env(api)
    assert variables["IMAGELINT_DATA_ROOT"] == "/data"
    assert variables["IMAGELINT_ALLOW_HOSTS"] == "minio.storage.svc.cluster.local,10.20.0.0/16"
    assert variables["IMAGELINT_GRPC_PORT"] == "50051"
    assert variables["IMAGELINT_FETCH_TIMEOUT_S"] == "30"
    data_mount = next(m for m in api["volumeMounts"] if m["mountPath"] == "/data")
    assert data_mount["readOnly"] is True
    data_volume = next(
        v
        for v in deployment["spec"]["template"]["spec"]["volumes"]
        if v["name"] == data_mount["name"]
    )
    assert data_volume["persistentVolumeClaim"] == {"claimName": "datasets", "readOnly": True}
    assert {p["name"]: p["containerPort"] for p in api["ports"]} == {"http": 8000, "grpc": 50051}
    service = one("production", "Service", "-api")
    assert {p["name"] for p in service["spec"]["ports"]} == {"http", "grpc"}
    secret_ref = variables["IMAGELINT_API_KEYS"]["secretKeyRef"]
    secret = objects("production")[("Secret", secret_ref["name"])]
    assert base64.b64decode(secret["data"][secret_ref["key"]]).decode() == "key-one,key-two"


def test_in_chart_postgresql_for_trials():
    docs = objects("in-chart-postgresql")
    assert not [k for k, _ in objects("defaults") if k == "StatefulSet"]  # off by default
    name = f"{checks.RELEASE}-imagelint-postgresql"
    statefulset = docs[("StatefulSet", name)]
    assert statefulset["spec"]["serviceName"] == name and statefulset["spec"]["replicas"] == 1
    pod = statefulset["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"]
    pg = container(statefulset, "postgresql")
    assert pg["securityContext"]["readOnlyRootFilesystem"] is True
    assert pg["securityContext"]["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"] for m in pg["volumeMounts"]}
    assert {"/var/lib/postgresql/data", "/var/run/postgresql", "/tmp"} <= mounts
    claim = statefulset["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "standard"
    assert claim["resources"]["requests"]["storage"] == "8Gi"
    # the API reads the URL from the chart's Secret; the server reads the same password
    api_env = env(container(one("in-chart-postgresql", "Deployment", "-api"), "api"))
    ref = api_env["IMAGELINT_DATABASE_URL"]["secretKeyRef"]
    assert ref == {"name": name, "key": "database-url"}
    secret = docs[("Secret", name)]
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", password)
    url = base64.b64decode(secret["data"]["database-url"]).decode()
    assert url == f"postgresql://imagelint:{password}@{name}.{checks.NAMESPACE}.svc:5432/imagelint"
    assert env(pg)["POSTGRES_PASSWORD"] == {"secretKeyRef": {"name": name, "key": "password"}}
    service = docs[("Service", name)]
    assert service["spec"]["ports"][0]["port"] == 5432
    # only the API reaches it, and the API may reach it
    policy = docs[("NetworkPolicy", name)]["spec"]
    assert policy["egress"] == []
    api_selector = one("in-chart-postgresql", "Deployment", "-api")["spec"]["selector"]
    assert policy["ingress"][0]["from"] == [{"podSelector": api_selector}]
    api_policy = one("in-chart-postgresql", "NetworkPolicy", "-api")["spec"]
    assert any(
        rule["to"][0]
        .get("podSelector", {})
        .get("matchLabels", {})
        .get("app.kubernetes.io/component")
        == "postgresql"
        and rule["ports"] == [{"port": 5432, "protocol": "TCP"}]
        for rule in api_policy["egress"]
    )
    # an external database named by the values wins over the in-chart one
    rendered = checks.manifests(
        checks.render_chart(
            {"postgresql": {"enabled": True}, "api": {"database": {"existingSecret": "ext"}}}
        )
    )
    api = next(m.doc for m in rendered if m.kind == "Deployment" and m.name.endswith("-api"))
    assert env(container(api, "api"))["IMAGELINT_DATABASE_URL"]["secretKeyRef"]["name"] == "ext"


def test_api_existing_secret_and_external_triton():
    deployment = one("external-triton", "Deployment", "-api")
    variables = env(container(deployment, "api"))
    assert variables["IMAGELINT_TRITON_URL"] == "triton.inference.svc.cluster.local:8001"
    assert variables["IMAGELINT_API_KEYS"] == {
        "secretKeyRef": {"name": "imagelint-keys", "key": "keys"}
    }
    assert variables["IMAGELINT_DATABASE_URL"] == {
        "secretKeyRef": {"name": "imagelint-postgres", "key": "database-url"}
    }
    assert deployment["spec"]["replicas"] == 2  # no HPA
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "default"
    assert one("external-triton", "PodDisruptionBudget", "-api")["spec"] == {
        "minAvailable": 1,
        "selector": deployment["spec"]["selector"],
    }


def test_hpa_targets_the_api_deployment_on_cpu():
    hpa = one("defaults", "HorizontalPodAutoscaler", "-api")
    assert (
        hpa["spec"]["scaleTargetRef"]["name"]
        == one("defaults", "Deployment", "-api")["metadata"]["name"]
    )
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"


# --- Triton ---------------------------------------------------------------------------------


def test_triton_on_cpu_by_default():
    deployment = one("defaults", "Deployment", "-triton")
    pod = deployment["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    assert "--kind=KIND_CPU" in init["command"]
    triton = container(deployment, "triton")
    assert "nvidia.com/gpu" not in triton["resources"].get("limits", {})
    assert "--pinned-memory-pool-byte-size=0" in triton["args"]
    assert "nodeSelector" not in pod and "tolerations" not in pod
    assert "runtimeClassName" not in pod
    assert not any(a.startswith("--max-batch-size") for a in pod["initContainers"][0]["command"])


def test_triton_on_gpu_by_values():
    deployment = one("production", "Deployment", "-triton")
    pod = deployment["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    assert "--kind=KIND_GPU" in init["command"] and "--count=2" in init["command"]
    # GPU tuning: larger batches, the batcher's delay, TensorRT as asked; the runtime class
    for arg in (
        "--max-batch-size=128",
        "--preferred-batch-sizes=64,128",
        "--max-queue-delay-us=5000",
        "--parameter=gpu_execution_provider=tensorrt",
    ):
        assert arg in init["command"]
    assert pod["runtimeClassName"] == "nvidia"
    triton = container(deployment, "triton")
    assert triton["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "--allow-gpu-metrics=true" in triton["args"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    assert env(triton)["IMAGELINT_ORT_INTRA_OP_THREADS"] == "4"


def test_triton_service_has_named_ports():
    service = one("defaults", "Service", "-triton")
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {
        "grpc": 8001,
        "http": 8000,
        "metrics": 8002,
    }


def test_triton_pod_is_locked_down_with_writable_scratch_only():
    pod = one("defaults", "Deployment", "-triton")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    for c in pod["containers"] + pod["initContainers"]:
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert all("emptyDir" in v for v in volumes.values())
    assert volumes["shm"]["emptyDir"]["medium"] == "Memory"
    triton = container(one("defaults", "Deployment", "-triton"), "triton")
    assert {m["mountPath"] for m in triton["volumeMounts"]} == {"/work/models", "/dev/shm", "/tmp"}


# --- NetworkPolicy and ServiceMonitor --------------------------------------------------------


def test_api_network_policy():
    policy = one("production", "NetworkPolicy", "-api")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    egress = policy["egress"]
    triton_rule = next(r for r in egress if "podSelector" in r["to"][0])
    assert (
        triton_rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        == "triton"
    )
    assert triton_rule["ports"] == [{"port": "grpc", "protocol": "TCP"}]
    dns_rule = next(r for r in egress if "namespaceSelector" in r["to"][0])
    assert {(p["port"], p["protocol"]) for p in dns_rule["ports"]} == {(53, "UDP"), (53, "TCP")}
    internet = next(r for r in egress if r["to"][0].get("ipBlock", {}).get("cidr") == "0.0.0.0/0")
    blocked = set(internet["to"][0]["ipBlock"]["except"])
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= blocked
    assert {"fc00::/7", "fe80::/10"} <= set(internet["to"][1]["ipBlock"]["except"])
    assert {p["port"] for p in internet["ports"]} == {80, 443}
    allowed = [r for r in egress if r["to"][0].get("ipBlock", {}).get("cidr") == "10.20.0.0/16"]
    assert len(allowed) == 1 and "ports" not in allowed[0]
    # Nothing else: 4 rules (Triton, DNS, internet, the allow-listed range).
    assert len(egress) == 4


def test_api_network_policy_without_triton_or_port_limits():
    egress = one("external-triton", "NetworkPolicy", "-api")["spec"]["egress"]
    assert len(egress) == 2  # DNS and the internet; the external Triton needs allowedPrivateCIDRs
    internet = egress[1]
    assert "ports" not in internet  # internetPorts: [] = all ports


def test_triton_network_policy():
    policy = one("production", "NetworkPolicy", "-triton")["spec"]
    assert policy["egress"] == [] and "Egress" in policy["policyTypes"]
    from_api, metrics = policy["ingress"]
    assert from_api["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    assert {p["port"] for p in from_api["ports"]} == {"grpc", "http"}
    assert metrics["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert metrics["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }


def test_service_monitors_select_the_services_ports():
    docs = objects("production")
    for suffix, port in (("-api", "http"), ("-triton", "metrics")):
        monitor = one("production", "ServiceMonitor", suffix)
        assert monitor["metadata"]["labels"]["release"] == "prometheus"
        service = docs[("Service", monitor["metadata"]["name"])]
        assert (
            monitor["spec"]["selector"]["matchLabels"].items()
            <= service["metadata"]["labels"].items()
        )
        assert monitor["spec"]["endpoints"][0]["port"] == port
        assert port in {p["name"] for p in service["spec"]["ports"]}


def test_notes_tell_how_to_reach_the_api():
    rendered, _ = checks.render_scenario("defaults")
    notes = rendered["imagelint/templates/NOTES.txt"]
    assert f"port-forward service/{checks.RELEASE}-imagelint-api" in notes
    assert f"get secret {checks.RELEASE}-imagelint-api-keys" in notes
    assert "/health/ready" in notes
