-- Introspection is need-to-know (RFC 7662 §2.2, §4): besides the token's
-- own client, only a client registered as the resource server for one of
-- the token's audiences learns that it is active. Space-separated
-- audiences, '' for none.
ALTER TABLE clients ADD COLUMN resource_server_for TEXT NOT NULL DEFAULT '';
