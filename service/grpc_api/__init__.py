"""The gRPC API: the same service as REST, from one contract in ``proto/imagelint/v1/``.

    contract.py   the RPC table (which Struct goes in and out of which RPC) and the stream events
    shapes.py     how a msgspec type becomes a protobuf field (shared by generator and translator)
    protogen.py   writes ``proto/imagelint/v1/*.proto`` from the Structs and compiles the stubs
    translate.py  Struct <-> protobuf message, generically, from the same shapes
    status.py     ImagelintError -> gRPC status (rich details: BadRequest, RetryInfo, ErrorInfo)
    server.py     the grpc.aio server started by the app's lifespan: servicer, health, reflection,
                  auth and metrics interceptors

Only translation lives here: reports run through ``service.report.pipeline.run_report`` and checks
through the same functions as the REST controllers.
"""
