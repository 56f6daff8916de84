-- Contact support (issue 15): a signed-in person's request to support, answered by
-- email. The message is personal data: the final erasure deletes the rows (R7, R20).
CREATE TABLE support_requests (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    -- document_changed | identity_locked | other
    topic       TEXT NOT NULL,
    message     TEXT NOT NULL,
    -- open | answered
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    answered_at BIGINT,
    answered_by TEXT REFERENCES support_agents(id),
    answer      TEXT
);
-- A person's own requests, and the limit on open ones (counted per account).
CREATE INDEX support_requests_by_account ON support_requests(account_id, status);
-- The console's queue: open requests, oldest first.
CREATE INDEX support_requests_queue ON support_requests(status, created_at);
