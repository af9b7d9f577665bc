"""The project's errors, in one tree.

    ImagelintError                  base; every error the service raises on purpose
    ├── InvalidRequest              the caller sent something unusable (HTTP 400/422)
    │   ├── InvalidDataset          a dataset reference, manifest or archive is malformed
    │   └── InvalidInput            arrays or options for a check are malformed
    ├── PayloadTooLarge             a body, manifest or archive over a configured limit (413)
    ├── ItemError                   one item could not be fetched or decoded; carries a ``code``
    │                               (fetch_refused, not_found, fetch_failed, timeout, too_large,
    │                               unsupported_format, decode_error, truncated,
    │                               decompression_bomb, ...). Never fails a whole report.
    ├── InferenceError              the Triton path failed
    │   ├── InferenceUnavailable    Triton or the model is not reachable / not ready (503)
    │   ├── InferenceTimeout        a call ran past its deadline (504)
    │   └── InferenceFailed         Triton answered with an error (502)
    ├── TooManyRequests             concurrency limit reached (429)
    ├── DeadlineExceeded            a report ran past the server-side deadline (504)
    └── JobError                    the jobs API (``/v1/jobs``)
        ├── JobNotFound             no such job, or its result expired (404)
        ├── JobNotReady             the job has no report (yet, or ever: failed/cancelled) (409)
        ├── IdempotencyKeyReused    the key was used before with another request body (422)
        ├── JobsUnavailable         no database configured or reachable (503)
        └── ReferenceNotFound       a named reference (collection, or a job's items) is absent (404)

Foreign errors are mapped at the boundary (``with map_triton_errors(): ...`` in
``service.inference``) and raised ``from`` the original. One Litestar handler turns any
``ImagelintError`` into RFC 9457 problem details using ``status``, ``code`` and ``title``.
"""

from __future__ import annotations


class ImagelintError(Exception):
    """Base of every error the service raises on purpose."""

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(self, detail: str, *, field: str | None = None, retry_after: float | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.retry_after = retry_after


class InvalidRequest(ImagelintError):
    status = 400
    code = "invalid_request"
    title = "Invalid request"


class InvalidDataset(InvalidRequest):
    code = "invalid_dataset"
    title = "Invalid dataset reference"


class InvalidInput(InvalidRequest):
    status = 422
    code = "invalid_input"
    title = "Invalid input"


class PayloadTooLarge(ImagelintError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class ItemError(ImagelintError):
    """One item failed; ``code`` is one of ``ITEM_ERROR_CODES``."""

    status = 422
    title = "Item could not be loaded"

    def __init__(self, code: str, detail: str):
        if code not in ITEM_ERROR_CODES:
            raise ValueError(f"unknown item error code {code!r}; valid: {sorted(ITEM_ERROR_CODES)}")
        super().__init__(detail)
        self.code = code


ITEM_ERROR_CODES = frozenset(
    {
        "fetch_refused",
        "not_found",
        "fetch_failed",
        "timeout",
        "too_large",
        "unsupported_format",
        "decode_error",
        "truncated",
        "decompression_bomb",
        "empty",
        "inference_failed",
    }
)


class InferenceError(ImagelintError):
    status = 502
    code = "inference_error"
    title = "Inference failed"


class InferenceUnavailable(InferenceError):
    status = 503
    code = "inference_unavailable"
    title = "Inference server unavailable"

    def __init__(self, detail: str, *, retry_after: float | None = 5.0):
        super().__init__(detail, retry_after=retry_after)


class InferenceTimeout(InferenceError):
    status = 504
    code = "inference_timeout"
    title = "Inference timed out"


class InferenceFailed(InferenceError):
    status = 502
    code = "inference_failed"
    title = "Inference server returned an error"


class TooManyRequests(ImagelintError):
    status = 429
    code = "too_many_requests"
    title = "Too many reports in flight"


class DeadlineExceeded(ImagelintError):
    status = 504
    code = "deadline_exceeded"
    title = "Report deadline exceeded"


class JobError(ImagelintError):
    status = 500
    code = "job_error"
    title = "Job error"


class JobNotFound(JobError):
    status = 404
    code = "job_not_found"
    title = "Job not found"


class JobNotReady(JobError):
    status = 409
    code = "job_not_ready"
    title = "The job has no report"


class IdempotencyKeyReused(JobError):
    status = 422
    code = "idempotency_key_reused"
    title = "Idempotency key reused with another request"


class JobsUnavailable(JobError):
    status = 503
    code = "jobs_unavailable"
    title = "Jobs are unavailable"


class ReferenceNotFound(JobError):
    status = 404
    code = "reference_not_found"
    title = "Reference not found"
