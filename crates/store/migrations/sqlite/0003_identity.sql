-- Identity (KYC) records (R6, R9, R10). The document number is never stored in the clear:
-- `number_sealed` is AEAD ciphertext naming its key id (`v1.<key id>.<blob>`) and
-- `number_index` a keyed hash (blind index) for look-ups. History holds at most the
-- masked form (last three characters).
CREATE TABLE identities (
    account_id    TEXT PRIMARY KEY REFERENCES accounts(id),
    document_type TEXT NOT NULL,
    country       TEXT NOT NULL,
    -- YYYY-MM-DD; an expired document is still a valid record.
    expires_on    TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Every number the account verified with, newest last. A number stays valid after
-- support records a changed one; numbers not yet approved are replaced by a resubmission.
CREATE TABLE identity_numbers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    number_sealed TEXT NOT NULL,
    number_index  TEXT NOT NULL,
    added_at      BIGINT NOT NULL,
    -- When the verification with this number was approved; NULL while pending.
    approved_at   BIGINT,
    reason        TEXT
);
CREATE INDEX identity_numbers_by_index ON identity_numbers(number_index);
CREATE INDEX identity_numbers_by_account ON identity_numbers(account_id, id);

CREATE TABLE identity_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    change     TEXT NOT NULL
);
CREATE INDEX identity_history_by_account ON identity_history(account_id, id);
