-- Verification factors: phone on the account, one-time codes, failure budget, TOTP.
ALTER TABLE accounts ADD COLUMN phone TEXT;
ALTER TABLE accounts ADD COLUMN factors_changed_at BIGINT;
CREATE UNIQUE INDEX accounts_by_phone ON accounts(phone);

CREATE TABLE otp_codes (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    purpose     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    flow_id     TEXT NOT NULL DEFAULT '',
    -- Where the code went when that matters later (the phone being bound).
    destination TEXT,
    code_hash   TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    retired_at  BIGINT
);
CREATE INDEX otp_codes_by_purpose ON otp_codes(account_id, purpose, channel, created_at);
CREATE INDEX otp_codes_by_channel ON otp_codes(account_id, channel, created_at);

CREATE TABLE otp_failures (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    purpose    TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX otp_failures_by_purpose ON otp_failures(account_id, purpose, at);

CREATE TABLE totp_factors (
    account_id   TEXT PRIMARY KEY REFERENCES accounts(id),
    secret       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT
);
