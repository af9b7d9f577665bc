#!/usr/bin/env bash
# The throughput bench on a GPU machine, when one is available (issue 19).
#
#   bench/device_check.sh [ITEMS]          # default 5000 Fashion-MNIST images
#   PROVIDER=tensorrt bench/device_check.sh
#
# Needs: an NVIDIA GPU with its driver (nvidia-smi), the project's .venv and .venv-triton, and
# in .venv-triton an ONNX Runtime with the CUDA provider (`onnxruntime-gpu` instead of
# `onnxruntime`; the Triton image of the Dockerfile has it). What it does:
#
# 1. prints the GPU and the ONNX Runtime providers of both environments; without a GPU or
#    without the CUDA provider it says so and exits 0 (nothing to check here);
# 2. prepares a GPU copy of the model repository exactly as the Helm chart's init container
#    does (deploy/prepare_model_repository.py: KIND_GPU, max batch 128, preferred 64/128, 5 ms
#    batcher delay, execution provider $PROVIDER = cuda | tensorrt);
# 3. runs `python -m bench.throughput` against it (the local Triton with its GPU memory pools,
#    API batches of 64 with 4 in flight), beside the in-process ceiling with ONNX Runtime's CUDA
#    provider. Output is also written to $OUT/device_check.txt when $OUT is set.
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS="${1:-5000}"
PROVIDER="${PROVIDER:-cuda}"
PY="${PYTHON:-.venv/bin/python}"
TRITON_PY="${TRITON_PYTHON:-.venv-triton/bin/python}"
LOG="${OUT:-/tmp}/device_check.txt"

{
  echo "== device check $(date -u +%FT%TZ), $(nproc) cores"
  if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L; then
    echo "no NVIDIA GPU here: nothing to check"
    exit 0
  fi
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  echo "bench env providers: $("$PY" -c 'import onnxruntime as o; print(o.get_available_providers())')"
  triton_providers="$("$TRITON_PY" -c 'import onnxruntime as o; print(o.get_available_providers())')"
  echo "Triton env providers: $triton_providers"
  if [[ "$triton_providers" != *CUDAExecutionProvider* ]]; then
    echo "the Triton environment has no CUDA provider: install onnxruntime-gpu into .venv-triton"
    exit 0
  fi
  repo="$(mktemp -d)/models"
  "$PY" deploy/prepare_model_repository.py --source model_repository --target "$repo" \
    --kind KIND_GPU --count 1 --max-batch-size 128 --preferred-batch-sizes 64,128 \
    --max-queue-delay-us 5000 --parameter "gpu_execution_provider=$PROVIDER" --model image_encoder
  IMAGELINT_BENCH_MODEL_REPOSITORY="$repo" IMAGELINT_BENCH_GPU=1 \
    IMAGELINT_TRITON_BATCH_SIZE=64 IMAGELINT_TRITON_MAX_INFLIGHT=4 \
    "$PY" -m bench.throughput --items "$ITEMS" --skip cleanvision
} 2>&1 | tee "$LOG"
