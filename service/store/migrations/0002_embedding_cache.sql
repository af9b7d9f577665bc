-- Per-image vectors, content-addressed: (SHA-256 of the file's bytes, model, preprocessing).
-- Vectors are little-endian float32 arrays; ``descriptor`` is filled once a duplicates run needs it.
CREATE TABLE embedding_cache (
    sha256         text NOT NULL,
    model          text NOT NULL,
    preprocessing  text NOT NULL,
    embedding      bytea NOT NULL,
    descriptor     bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    used_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sha256, model, preprocessing)
);
CREATE INDEX embedding_cache_used ON embedding_cache (used_at);
