"""Triton Python-backend model: EfficientNet-Lite0 through ONNX Runtime.

Reads ``model.onnx`` beside this file (built by ``model_repository/export_image_encoder.py``).
Thread counts come from the config's ``parameters`` (``intra_op_num_threads``; 0 = ONNX Runtime's
default) and can be overridden by ``IMAGELINT_ORT_INTRA_OP_THREADS``. On a GPU instance
(``KIND_GPU``) the execution provider named by the ``gpu_execution_provider`` parameter is used
when ONNX Runtime has it (``IMAGELINT_ORT_GPU_PROVIDER`` overrides):

- ``cuda`` (default): ONNX Runtime's CUDA kernels, float32, any input size at once;
- ``tensorrt``: TensorRT engines in FP16 (built on first use per input-shape profile and cached
  next to the model in ``trt_cache/``, so the first batches of a new pod are slow), falling back
  to CUDA for what TensorRT cannot run. The profile covers batches 1..max_batch_size of square
  images 32..224 px.

Either way the CPU provider stays last, for nodes without the GPU libraries.
"""

import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

OUTPUT_NAMES = ("embedding", "logits", "feature_grid")


def _parameter(config, key, default):
    value = config.get("parameters", {}).get(key, {}).get("string_value")
    return default if value in (None, "") else value


def gpu_providers(provider, *, device_id, max_batch, cache_dir, available):
    """ONNX Runtime providers for a GPU instance, best first (see the module docstring)."""
    if provider not in ("cuda", "tensorrt"):
        raise ValueError(f"gpu_execution_provider must be cuda or tensorrt, not {provider!r}")
    chosen = []
    if provider == "tensorrt" and "TensorrtExecutionProvider" in available:
        chosen.append(
            (
                "TensorrtExecutionProvider",
                {
                    "device_id": device_id,
                    "trt_fp16_enable": True,
                    "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": cache_dir,
                    "trt_profile_min_shapes": "images:1x32x32x3",
                    "trt_profile_opt_shapes": f"images:{max_batch}x224x224x3",
                    "trt_profile_max_shapes": f"images:{max_batch}x224x224x3",
                },
            )
        )
    if "CUDAExecutionProvider" in available:
        chosen.append(("CUDAExecutionProvider", {"device_id": device_id}))
    return chosen + ["CPUExecutionProvider"]


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        here = os.path.join(args["model_repository"], args["model_version"])
        onnx_path = os.path.join(here, "model.onnx")

        options = ort.SessionOptions()
        intra = os.environ.get("IMAGELINT_ORT_INTRA_OP_THREADS") or _parameter(
            config, "intra_op_num_threads", "0"
        )
        options.intra_op_num_threads = int(intra)
        options.inter_op_num_threads = int(_parameter(config, "inter_op_num_threads", "1"))
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL

        providers = ["CPUExecutionProvider"]
        if args.get("model_instance_kind") == "GPU":
            provider = os.environ.get("IMAGELINT_ORT_GPU_PROVIDER") or _parameter(
                config, "gpu_execution_provider", "cuda"
            )
            providers = gpu_providers(
                provider,
                device_id=int(args.get("model_instance_device_id", "0")),
                max_batch=int(config.get("max_batch_size") or 64),
                cache_dir=os.path.join(here, "trt_cache"),
                available=ort.get_available_providers(),
            )
        self.session = ort.InferenceSession(onnx_path, sess_options=options, providers=providers)

    def execute(self, requests):
        # Dynamic batching hands us several requests: run them as one batch, then split.
        batches = [pb_utils.get_input_tensor_by_name(r, "images").as_numpy() for r in requests]
        sizes = [b.shape[0] for b in batches]
        wanted = set()
        for request in requests:
            names = request.requested_output_names()
            wanted.update(names if names else OUTPUT_NAMES)
        run_names = [n for n in OUTPUT_NAMES if n in wanted]
        images = np.ascontiguousarray(np.concatenate(batches, axis=0), dtype=np.uint8)
        outputs = dict(zip(run_names, self.session.run(run_names, {"images": images}), strict=True))

        responses = []
        start = 0
        for request, size in zip(requests, sizes, strict=True):
            names = request.requested_output_names() or OUTPUT_NAMES
            tensors = [
                pb_utils.Tensor(name, np.ascontiguousarray(outputs[name][start : start + size]))
                for name in names
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            start += size
        return responses

    def finalize(self):
        self.session = None
