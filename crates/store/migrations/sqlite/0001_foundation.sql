-- Foundation: accounts, sessions, login throttling, dev outbox, audit.
-- Times are unix seconds (BIGINT) and ids are text on both backends, so the same SQL
-- runs on SQLite and PostgreSQL.
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT UNIQUE,
    password_hash TEXT,
    status        TEXT NOT NULL DEFAULT 'active',
    created_at    BIGINT NOT NULL,
    password_changed_at BIGINT,
    deleted_at    BIGINT
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    kind         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    user_agent   TEXT
);
CREATE INDEX sessions_by_account ON sessions(account_id);

CREATE TABLE login_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    login_key   TEXT NOT NULL,
    address_key TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX login_attempts_by_login ON login_attempts(login_key, at);
CREATE INDEX login_attempts_by_address ON login_attempts(address_key, at);

CREATE TABLE dev_outbox (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    channel   TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject   TEXT NOT NULL,
    body      TEXT NOT NULL,
    code      TEXT,
    sent_at   BIGINT NOT NULL
);
CREATE INDEX dev_outbox_by_recipient ON dev_outbox(recipient, id);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT NOT NULL,
    account_id TEXT,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT
);
CREATE INDEX audit_log_by_account ON audit_log(account_id, id);
