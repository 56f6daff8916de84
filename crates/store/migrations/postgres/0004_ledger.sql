-- The embedded ledger. Amounts are exact decimal strings (TEXT on both backends) and all
-- arithmetic happens in Rust with rust_decimal under a per-account lock; no float ever
-- touches money. Double entry: every posting writes lines that sum to zero per asset.
CREATE TABLE ledger_balances (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    asset      TEXT NOT NULL,
    available  TEXT NOT NULL,
    PRIMARY KEY (account_id, asset)
);

CREATE TABLE ledger_journal (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id   TEXT NOT NULL,
    at         BIGINT NOT NULL,
    -- NULL for the house side (the exchange's own books).
    account_id TEXT,
    book       TEXT NOT NULL,
    asset      TEXT NOT NULL,
    amount     TEXT NOT NULL,
    kind       TEXT NOT NULL
);
CREATE INDEX ledger_journal_by_account ON ledger_journal(account_id, asset);

CREATE TABLE deposits (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL,
    asset           TEXT NOT NULL,
    amount          TEXT NOT NULL,
    status          TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    created_at      BIGINT NOT NULL
);
CREATE INDEX deposits_by_account ON deposits(account_id, created_at);

CREATE TABLE withdrawals (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    asset      TEXT NOT NULL,
    amount     TEXT NOT NULL,
    address    TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX withdrawals_by_account ON withdrawals(account_id, created_at);

CREATE TABLE holds (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL,
    reference  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX holds_by_account ON holds(account_id);
