-- Who registered a client: 'operator' (CLI, admin), 'dynamic' (RFC 7591
-- registration endpoint) or 'metadata_document' (a client ID metadata
-- document). Consent pages name clients nobody here vetted; existing
-- clients were all registered by the operator.
ALTER TABLE clients ADD COLUMN provenance TEXT NOT NULL DEFAULT 'operator';
