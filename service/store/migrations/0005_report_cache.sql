-- Whole reports by (code fingerprint, request, content of every item): a re-audit of an unchanged
-- dataset with the same request returns the stored findings instead of running the checks again.
CREATE TABLE report_cache (
    key         text PRIMARY KEY,
    report      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    used_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_cache_used ON report_cache (used_at);
