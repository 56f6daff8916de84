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
