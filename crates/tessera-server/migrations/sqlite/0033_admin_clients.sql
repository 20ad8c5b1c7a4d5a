-- The admin API (issue 20, item 3). `tessera client create --admin`: the
-- client's client-credentials tokens carry the `tessera-admin` audience and
-- `roles: ["admin"]`, so a script may call `/admin/v1`.
ALTER TABLE clients ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
