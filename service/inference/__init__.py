"""Inference through Triton over gRPC: the async encoder client and the embedded local server."""

from service.inference.client import EncodeResult, TritonEncoder, map_triton_errors

__all__ = ["EncodeResult", "TritonEncoder", "map_triton_errors"]
