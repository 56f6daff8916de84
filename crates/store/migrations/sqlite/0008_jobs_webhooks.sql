-- Issue 7: background work any instance may run. A job is claimed with a lease; a job
-- whose lease ran out (its instance died) is claimed again by another instance.
CREATE TABLE jobs (
    -- The id of the row the job works on (mail, event, delivery) or a fixed name for
    -- periodic jobs ("purge", "cleanup"), so enqueueing twice is harmless.
    id          TEXT PRIMARY KEY,
    -- mail | event | webhook | purge | cleanup
    kind        TEXT NOT NULL,
    -- queued | running | done | dead
    state       TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    run_at      BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- R13: where events go. The signing secret is sealed with the webhook key.
CREATE TABLE webhook_endpoints (
    id            TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    -- Event types, comma-separated.
    events        TEXT NOT NULL,
    -- api | settings
    source        TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- One event to one endpoint. The job with the same id does the sending.
CREATE TABLE webhook_deliveries (
    id           TEXT PRIMARY KEY,
    endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints(id),
    event_id     TEXT NOT NULL REFERENCES events(id),
    -- pending | delivered | dead
    status       TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_status  BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at);

-- The purge job finds due tombstones without reading them all.
CREATE INDEX tombstones_by_allowed_from ON tombstones (allowed_from);
