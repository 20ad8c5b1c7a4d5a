-- The client's token endpoint authentication method (RFC 7591 §2):
-- client_secret_basic, client_secret_post, none (public), or '' for either
-- secret method.
ALTER TABLE clients ADD COLUMN auth_method TEXT NOT NULL DEFAULT '';
