"""The one guarded fetcher: http(s) with address refusals and caps, file:// under a data root.

- ``fetcher``: ``Fetcher`` (DNS resolved once, every redirect re-checked, bytes and time capped).
- ``addresses``: which addresses are refused (loopback, private, link-local, metadata, ...).
- ``local_files``: file:// URIs confined to the data root.

Used by ``service.datasets`` (manifests, archives) and ``service.images`` (image bytes); imports
neither.
"""
