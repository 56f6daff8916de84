-- Issue 17: security alerts with a "this wasn't me" link (R21), the freeze (R17) and
-- compliance holds that read like any other hold (R18).

-- Set while the account is frozen: nobody signs in, no withdrawal, no factor change, no
-- deletion. Deposits still credit (the status stays 'active').
ALTER TABLE accounts ADD COLUMN frozen_at BIGINT;

-- The freeze links of security alerts: only the SHA-256 of the token is stored; single
-- use, bound to one account, valid 7 days.
CREATE TABLE freeze_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    -- The alert that carried it (new_sign_in, factor_added, ...).
    alert      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX freeze_tokens_by_account ON freeze_tokens(account_id);

-- Devices (keyed hash of user agent and address) an account signed in from, to tell a
-- new one (R21). Erased with the account.
CREATE TABLE sign_in_devices (
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    device_key    TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, device_key)
);

-- Alerts go by SMS too: a queued message names its channel (the recipient is then the
-- sealed phone number).
ALTER TABLE mail_queue ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';

-- R18: a compliance hold is a row of `holds` like any other, so reading holds takes the
-- same query and time; its internal reason (sealed) and who placed it are only for the
-- host and lead agents. Any hold may also stop withdrawals.
ALTER TABLE holds ADD COLUMN compliance_reason TEXT;
ALTER TABLE holds ADD COLUMN placed_by TEXT;
ALTER TABLE holds ADD COLUMN blocks_withdrawals BIGINT NOT NULL DEFAULT 0;
