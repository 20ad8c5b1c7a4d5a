-- Audit events (issue 20, item 3): what an operator asks about later
-- (sign-ins and their failures, sessions, consents, passwords, factors,
-- clients, keys, users, admin API writes), one row each. `id` orders them
-- (newest first is `ORDER BY id DESC`, the keyset of `/admin/v1/audit`);
-- `at` is the event's time in seconds. `detail` is a small JSON object that
-- never holds a secret. Kept for `audit_retention` seconds, then pruned.
CREATE TABLE audit_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT,
    client_id TEXT,
    actor TEXT NOT NULL,
    ip TEXT,
    detail TEXT NOT NULL
);
-- One index per filter, each ending in the keyset column, so a filtered
-- page is an index range read newest first; `at` also serves pruning.
CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_client ON audit_events (client_id, id);
CREATE INDEX audit_events_kind ON audit_events (kind, id);
CREATE INDEX audit_events_at ON audit_events (at, id);
