"""The gRPC API: the same service as REST, from the hand-edited ``proto/imagelint/v1/*.proto``.

    gen/          Python stubs of the protos (``make proto``: grpc_tools.protoc); committed
    contract.py   the RPC table: which Struct goes in and out of which RPC, and what runs a check
    translate.py  Struct <-> message through protobuf's JSON mapping and ``msgspec.convert``
    status.py     ImagelintError -> gRPC status (rich details: BadRequest, RetryInfo, ErrorInfo)
    server.py     the grpc.aio server started by the app's lifespan: servicer, health, reflection,
                  auth and metrics interceptors

Only translation lives here: reports run through ``service.report.pipeline.run_report`` and checks
through the same functions as the REST controllers.
"""
