-- Jobs: one row per submitted report request; the worker that runs it holds it by heartbeat.
CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    state            text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    request          jsonb NOT NULL,
    request_sha256   text NOT NULL,
    api_key_sha256   text NOT NULL DEFAULT '',
    idempotency_key  text,
    owner            text,
    heartbeat_at     timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    progress         jsonb,
    report           jsonb,
    error            jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    expires_at       timestamptz
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (api_key_sha256, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_claimable ON jobs (created_at) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;

-- Events of a job, in order; ``id`` is the resume point of GET /v1/jobs/{id}/events.
CREATE TABLE job_events (
    id          bigserial PRIMARY KEY,
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    body        jsonb NOT NULL
);
CREATE INDEX job_events_by_job ON job_events (job_id, id);
