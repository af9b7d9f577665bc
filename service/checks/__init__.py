"""The check operations on caller-provided arrays, shared by REST and gRPC.

One module per check family: the request Struct and its ``run_*(request, max_items)`` adapter
(shape the request into arrays, call the pure analysis). ``inputs`` holds the input rules every
check shares. No transport here: ``service.api`` (Litestar routes) and ``service.grpc_api`` (RPCs)
both call these.
"""
