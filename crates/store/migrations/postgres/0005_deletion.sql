-- The deletion journey (R1-R10, R12-R14).
ALTER TABLE accounts ADD COLUMN cooloff_until BIGINT;

CREATE TABLE deletion_flows (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    session_hash     TEXT NOT NULL,
    step             TEXT NOT NULL,
    -- live | expired | replaced | completed
    status           TEXT NOT NULL,
    captcha_required BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    deleted_at       BIGINT
);
-- R2: at most one live flow per account, enforced by the database on both backends.
CREATE UNIQUE INDEX deletion_flows_one_live ON deletion_flows(account_id) WHERE status = 'live';

-- R3: a captcha solution is accepted once.
CREATE TABLE captcha_used (
    challenge TEXT PRIMARY KEY,
    flow_id   TEXT NOT NULL,
    used_at   BIGINT NOT NULL
);

-- R6: wrong ID numbers (or passwords) at the identity step, across flows.
CREATE TABLE identity_failures (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX identity_failures_by_account ON identity_failures(account_id, at);

-- R9: keyed hashes of a deleted account's email, phone and document numbers.
CREATE TABLE tombstones (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    deleted_at   BIGINT NOT NULL,
    allowed_from BIGINT NOT NULL
);
CREATE INDEX tombstones_by_hash ON tombstones(hash, allowed_from);

-- R10: what the law makes us keep, sealed under a per-record key that is itself sealed
-- under the retention key; deleting the key row destroys the record (crypto-shredding).
CREATE TABLE retained_records (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    purge_after BIGINT NOT NULL
);
CREATE INDEX retained_records_by_purge ON retained_records(purge_after);
CREATE TABLE retention_keys (
    record_id   TEXT PRIMARY KEY,
    wrapped_key TEXT NOT NULL
);

-- R13: the transactional outbox of events for downstream services.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- R12: mail to send after commit; the recipient is sealed, never stored in plaintext.
CREATE TABLE mail_queue (
    id               TEXT PRIMARY KEY,
    recipient_sealed TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    html             TEXT,
    created_at       BIGINT NOT NULL
);
