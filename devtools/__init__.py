"""Developer tools, outside the product package: ``run_local`` (``make run``), ``demo``
(``make demo``) and ``client`` (REST and gRPC clients for tests and the demo)."""
