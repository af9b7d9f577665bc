"""Triton Python-backend model: EfficientNet-Lite0 through ONNX Runtime.

Reads ``model.onnx`` beside this file (built by ``model_repository/export_image_encoder.py``).
Thread counts come from the config's ``parameters`` (``intra_op_num_threads``; 0 = ONNX Runtime's
default) and can be overridden by ``IMAGELINT_ORT_INTRA_OP_THREADS``. On a GPU instance
(``KIND_GPU``) the CUDA execution provider is used when ONNX Runtime has it.
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
        if args.get("model_instance_kind") == "GPU" and (
            "CUDAExecutionProvider" in ort.get_available_providers()
        ):
            device_id = int(args.get("model_instance_device_id", "0"))
            providers = [
                ("CUDAExecutionProvider", {"device_id": device_id}),
                "CPUExecutionProvider",
            ]
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
