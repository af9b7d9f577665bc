"""HTTP layer: controllers and request/response schemas; translation between HTTP and domain."""
