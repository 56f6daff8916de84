-- Account recovery requests from people who cannot log in (R11; handled by support).
CREATE TABLE recovery_requests (
    id              TEXT PRIMARY KEY,
    account_id      TEXT,
    email           TEXT NOT NULL,
    message         TEXT NOT NULL,
    -- match | mismatch | not_given: the typed ID number itself is never stored.
    id_number_check TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX recovery_requests_by_status ON recovery_requests(status, created_at);
