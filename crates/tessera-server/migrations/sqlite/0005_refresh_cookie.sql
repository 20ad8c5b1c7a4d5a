-- Clients that receive their refresh token in an HttpOnly cookie instead of
-- the JSON body (browser apps that should keep no long-lived token in JS).
ALTER TABLE clients ADD COLUMN refresh_cookie INTEGER NOT NULL DEFAULT 0;
