# syntax=docker/dockerfile:1
#
# imagelint images, from one build context (needs BuildKit, the default builder since Docker 23:
# it builds only the stages the chosen target needs).
#
#   docker build -t imagelint:0.1.0 .                          # the API (default, last stage)
#   docker build --target triton -t imagelint-triton:0.1.0 .   # Triton + the model repository
#
# Stages:
#   openapi-assets  Swagger UI, ReDoc and Scalar from the npm registry (pinned, digests checked)
#   api-build     venv with the runtime dependencies and the `service` package (pip only here)
#   model-export  exports EfficientNet-Lite0 to ONNX with the `export` extra (torch, CPU wheel)
#   triton        the official Triton container + numpy<2 + onnxruntime-gpu + model repository
#   api           slim, non-root, no build tools: uvicorn serving service.app:create_app
#
# Why the model repository ships as an image rather than a mounted artifact: the Python backend
# needs numpy<2 and onnxruntime-gpu installed into the container's own Python anyway (so a
# derived image exists regardless), and one immutable tag then versions the server, the backend
# dependencies, model.py and model.onnx together, with nothing to provision on the cluster.

# Base images are written out in each FROM (not through an ARG) so hadolint checks their tags.
# python:3.11-slim-trixie: the Python the project is tested with (pyproject: >=3.11,<3.13), on
# Debian 13. Every Python stage uses the same tag, so the venv copied between them stays valid.
#
# nvcr.io/nvidia/tritonserver:25.06-py3 (server 2.59): built on CUDA 12.9.1, among the last
# releases on CUDA 12 (25.08 and later are on CUDA 13). onnxruntime-gpu on PyPI is built for
# CUDA 12 + cuDNN 9 (its CUDA 13 builds are not on PyPI), which this container provides;
# Ubuntu 24.04 with Python 3.12, for which numpy 1.26 and onnxruntime-gpu have wheels. Turing (T4) and newer GPUs; driver R575+, or the R535/R545
# data-centre drivers through CUDA forward compatibility.

# --- openapi-assets: the API docs' JavaScript, served by the API itself (no CDN) ------------
# node:22-slim: an LTS line with npm; only the vendored files leave this stage.
FROM node:22-bookworm-slim AS openapi-assets
WORKDIR /src
COPY deploy/openapi_assets.sh ./deploy/
RUN bash deploy/openapi_assets.sh /out/openapi_assets

# --- api-build: the runtime virtual environment ----------------------------------------------
FROM python:3.11-slim-trixie AS api-build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
# README.m[d]: copied when present (setuptools only warns without it).
COPY pyproject.toml README.m[d] ./
COPY service ./service
COPY --from=openapi-assets /out/openapi_assets ./service/api/openapi_assets
# Runtime dependencies only (no extras); compile bytecode now: the API's root fs is read-only.
RUN /opt/venv/bin/pip install --no-cache-dir . \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# --- model-export: torch lives only here -----------------------------------------------------
FROM python:3.11-slim-trixie AS model-export
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
COPY deploy/extra_requirements.py ./deploy/
# torch from the CPU index first (PyPI's Linux wheel is the CUDA build, gigabytes larger); then
# the `export` extra exactly as pyproject.toml pins it, where torch==X is already satisfied.
RUN python deploy/extra_requirements.py export --only torch > /tmp/torch.txt \
    && python deploy/extra_requirements.py export > /tmp/export.txt \
    && pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu -r /tmp/torch.txt \
    && pip install --no-cache-dir -r /tmp/export.txt
COPY model_repository/export_image_encoder.py ./model_repository/
# --check compares ONNX Runtime with torch on a random batch and fails the build on a mismatch.
# ENCODER: lite0 (default), lite1 or lite2 (`docker build --build-arg ENCODER=lite1 ...`).
ARG ENCODER=lite0
RUN python model_repository/export_image_encoder.py --output /out/model.onnx --check --variant "${ENCODER}"

# --- triton: the official server with the model repository -----------------------------------
FROM nvcr.io/nvidia/tritonserver:25.06-py3 AS triton
LABEL org.opencontainers.image.title="imagelint-triton" \
      org.opencontainers.image.description="Triton Inference Server with the imagelint model repository"
# The Python backend stub runs model.py with the container's python3: numpy must stay below 2
# (with numpy 2 the backend returns empty outputs) and ONNX Runtime must be importable. The GPU
# build also runs on CPU-only nodes (model.py asks for CUDA only on KIND_GPU instances).
# --break-system-packages: Ubuntu 24.04 marks its Python externally managed; this image is ours.
RUN python3 -m pip install --no-cache-dir --break-system-packages \
        "numpy>=1.26,<2" \
        "onnxruntime-gpu==1.22.0" \
    && python3 -c "import numpy, onnxruntime; assert numpy.__version__ < '2'; print(onnxruntime.get_available_providers())"
COPY model_repository/image_encoder/config.pbtxt /models/image_encoder/config.pbtxt
COPY model_repository/image_encoder/1/model.py /models/image_encoder/1/model.py
COPY --from=model-export /out/model.onnx /models/image_encoder/1/model.onnx
# Run by the chart's init container: copies /models and sets KIND_CPU/KIND_GPU from values.
COPY deploy/prepare_model_repository.py /opt/imagelint/prepare_model_repository.py
# Numeric: the official image's unprivileged user is uid 1000; the chart sets runAsUser too.
USER 1000:1000
EXPOSE 8000 8001 8002
CMD ["tritonserver", "--model-repository=/models", "--strict-readiness=true"]

# --- api: the image users run (default target) -----------------------------------------------
FROM python:3.11-slim-trixie AS api
LABEL org.opencontainers.image.title="imagelint" \
      org.opencontainers.image.description="REST service that audits image-classification datasets" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    IMAGELINT_SCRATCH_DIR=/scratch \
    IMAGELINT_HOST=0.0.0.0 \
    IMAGELINT_GRPC_PORT=50051
RUN groupadd --system --gid 10001 imagelint \
    && useradd --system --uid 10001 --gid imagelint --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin imagelint \
    && mkdir -p /scratch \
    && chown imagelint:imagelint /scratch
COPY --from=api-build /opt/venv /opt/venv
WORKDIR /app
# Numeric user so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# 8000: HTTP API; 50051: gRPC API (same process; IMAGELINT_GRPC_PORT=0 turns it off).
EXPOSE 8000 50051
# One process per pod: scale with replicas (the chart's HPA), not workers.
ENTRYPOINT ["uvicorn", "--factory", "service.app:create_app", "--host", "0.0.0.0", "--port", "8000"]
CMD ["--no-server-header", "--timeout-graceful-shutdown", "30"]
