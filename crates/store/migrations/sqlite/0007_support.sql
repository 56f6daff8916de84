-- Support agents (R11): created by the operator, always with an authenticator.
CREATE TABLE support_agents (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    totp_secret    TEXT NOT NULL,
    -- The last accepted authenticator step, never accepted again.
    totp_last_step BIGINT,
    -- agent | lead
    role           TEXT NOT NULL,
    disabled_at    BIGINT,
    created_at     BIGINT NOT NULL
);

-- Agent sessions live apart from user sessions: an agent token can never reach a user
-- route, nor a user token a support route.
CREATE TABLE agent_sessions (
    token_hash   TEXT PRIMARY KEY,
    agent_id     TEXT NOT NULL REFERENCES support_agents(id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX agent_sessions_by_agent ON agent_sessions(agent_id);

-- A recovery request's decision: who decided, when and why.
ALTER TABLE recovery_requests ADD COLUMN decided_by TEXT;
ALTER TABLE recovery_requests ADD COLUMN decided_at BIGINT;
ALTER TABLE recovery_requests ADD COLUMN decision_reason TEXT;
