"""State in PostgreSQL: jobs, their events and reports, and the embedding cache.

``database``: the connection pool and versioned migrations; ``jobs``: the job table's
operations; ``embedding_cache``: per-image vectors by content; ``local_postgres``: a real
server from a throw-away data directory for ``make run`` and the tests.
"""
