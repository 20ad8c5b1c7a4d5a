-- A client that must push its authorization requests (RFC 9126 §6:
-- require_pushed_authorization_requests as client metadata): /authorize
-- refuses its plain parameters. Existing clients do not.
ALTER TABLE clients ADD COLUMN require_par INTEGER NOT NULL DEFAULT 0;
