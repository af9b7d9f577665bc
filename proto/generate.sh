#!/usr/bin/env bash
# Python stubs from the hand-edited protos with the standard compiler (grpc_tools.protoc, pinned
# in pyproject.toml): `make proto` writes them into service/grpc_api/gen (committed, so the service
# runs without protoc); tests/unit/test_grpc_contract.py writes them into a scratch folder and
# compares. Usage: proto/generate.sh PYTHON OUT_DIR
set -euo pipefail
python=$1
out=$2
cd "$(dirname "$0")/.."
rm -rf "$out/imagelint"
mkdir -p "$out/imagelint/v1"
"$python" -m grpc_tools.protoc -Iproto --python_out="$out" --pyi_out="$out" proto/imagelint/v1/*.proto
# protoc names modules after the proto path (imagelint.v1); the stubs live in the service package.
sed -i -E 's/^from imagelint\.v1 import/from service.grpc_api.gen.imagelint.v1 import/' \
  "$out"/imagelint/v1/*_pb2.py "$out"/imagelint/v1/*_pb2.pyi
touch "$out/imagelint/__init__.py" "$out/imagelint/v1/__init__.py"
