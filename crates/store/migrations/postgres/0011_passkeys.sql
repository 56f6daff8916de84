-- Passkeys (WebAuthn, R16). The credential (webauthn-rs's Passkey: id, public key,
-- counter, flags) is stored sealed with the secrets key (R20); `credential_key` is a
-- keyed hash of the credential id for the sign-in look-up, so no id or key is in the
-- clear. `counter` repeats the sealed counter so a regression can be refused atomically.
CREATE TABLE passkeys (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    credential_key TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    sealed         TEXT NOT NULL,
    counter        BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT
);
CREATE INDEX passkeys_by_account ON passkeys(account_id, created_at);

-- The owner's "require a passkey" setting (1 = on): withdrawals, the deletion and
-- factor changes then need a passkey assertion, and signing in with a password needs
-- the passkey as its second step.
ALTER TABLE accounts ADD COLUMN require_passkey BIGINT NOT NULL DEFAULT 0;

-- Begun WebAuthn ceremonies (registration or assertion state), server-side so any
-- instance can finish one: single use (taken with DELETE ... RETURNING), short-lived,
-- bound to the account and session that began them. `id_hash` is SHA-256 of the id the
-- client holds; the state is sealed (it names the account's credentials).
CREATE TABLE passkey_ceremonies (
    id_hash      TEXT PRIMARY KEY,
    account_id   TEXT REFERENCES accounts(id),
    session_hash TEXT,
    -- A keyed hash of the client address that began an anonymous sign-in ceremony: each
    -- address keeps only its newest few (older ones are dropped), so no one can fill the
    -- table and lock everyone else out of passkey sign-in.
    address_key  TEXT,
    sealed       TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX passkey_ceremonies_by_expiry ON passkey_ceremonies(expires_at);
CREATE INDEX passkey_ceremonies_by_account ON passkey_ceremonies(account_id);
CREATE INDEX passkey_ceremonies_by_address ON passkey_ceremonies(address_key);
