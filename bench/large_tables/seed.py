"""Seeds a Tessera database (schema already made by `tessera serve`) with a
population of SCALE users, for bench/large_tables.sh.

  seed.py sqlite PATH SCALE NOW PASSWORD_HASH
  seed.py postgres URL SCALE NOW PASSWORD_HASH

Rows, for SCALE = N (each in one INSERT ... SELECT over a series, in one
transaction; ids, names and hashes derived from the row's number, so the
benchmark can name the rows it uses):

- users N (`user<i>`, `user<i>@example.com`), each with one password
  credential: PASSWORD_HASH, an argon2id hash the CLI made;
- clients N/10 (at least 10), by number c: c % 10 = 1 a first-party app
  (password, refresh_token), c % 10 = 3 a third-party web app
  (authorization_code, refresh_token), the rest services
  (client_credentials); secret `hex(sha256("secret-<c>"))`, stored as the
  server stores it: SHA-256 of the secret;
- consents N: user i to web app 3 + 10 * ((i - 1) % web apps);
- refresh_tokens N in N/4 families of 4 rotations (3 used, 1 live), the
  families' last use spread over the last 31 days, each token living 30
  days (REFRESH_TTL): about 1/31 of them expired within the last day, a
  day's worth at a steady rate; one family in 90 ended (90-day lifetime)
  within the last day;
- sessions N/10, signed in over the last 34 hours, 10-hour lifetime
  (SESSION_TTL): about 70% expired within the last day;
- authorization_codes N/10, used, expired over the last 48 hours: those
  older than 24 hours (CODE_KEPT_FOR), about half, are prunable;
- revoked_tokens N/10, expiring between a day ago and 15 minutes ahead.

Families of odd number belong to the user's consented web app, even ones
to first-party app 1 + 10 * ((user - 1) % first-party apps).
"""

import hashlib
import subprocess
import sys
import time


def sha(text):
    return hashlib.sha256(str(text).encode()).digest()


def shahex(text):
    return hashlib.sha256(str(text).encode()).hexdigest()


# The ids the benchmark uses (the same derivation as the SQL below).
def uid(i):
    return shahex(f"user-{i}")[:32]


def cid(c):
    return shahex(f"client-{c}")[:32]


def fid(f):
    return shahex(f"family-{f}")[:32]


def client_secret(c):
    return shahex(f"secret-{c}")


def tables(n, now):
    users = n
    clients = max(n // 10, 10)
    families = max(n // 4, 1)
    small = max(n // 10, 1)
    fp = (clients - 1) // 10 + 1  # first-party apps: 1, 11, 21, ...
    web = (clients - 3) // 10 + 1  # web apps: 3, 13, 23, ...
    day = 86400
    web_of = f"(3 + 10 * ((({{u}}) - 1) % {web}))"
    fp_of = f"(1 + 10 * ((({{u}}) - 1) % {fp}))"
    # A family's user, and its last use (token j=0 is the live one).
    fam_user = f"(((i - 1) / 4) % {users} + 1)"
    last_use = f"({now} - ((i - 1) / 4) * {31 * day} / {families})"
    fam_client = (
        f"CASE WHEN ((i - 1) / 4) % 2 = 0 THEN {web_of.format(u=fam_user)} "
        f"ELSE {fp_of.format(u=fam_user)} END"
    )
    issued = f"({last_use} - ((i - 1) % 4) * 900)"
    return [
        ("users", users,
         "id, username, email, name, roles, created_at, failed_logins, locked_until, email_verified, "
         "disabled_at, username_key, require_mfa, version",
         f"hx('user-' || i, 32), 'user' || i, 'user' || i || '@example.com', 'User ' || i, '', "
         f"{now} - {400 * day} + i, 0, NULL, 1, NULL, 'user' || replace(replace(CAST(i AS TEXT), '0', 'O'), '1', 'l'), 0, 0"),
        ("credentials", users,
         "id, user_id, kind, secret, created_at",
         f"'password:' || hx('user-' || i, 32), hx('user-' || i, 32), 'password', :pw, {now} - {400 * day} + i"),
        ("clients", clients,
         "id, name, secret_hash, grant_types, scopes, audiences, redirect_uris, access_token_ttl, created_at, "
         "refresh_cookie, auth_method, first_party, post_logout_redirect_uris, resource_server_for, jwks, jwks_uri, "
         "require_par, provenance, dpop_bound, require_mfa, admin, version",
         f"hx('client-' || i, 32), CASE i % 10 WHEN 1 THEN 'App ' WHEN 3 THEN 'Web app ' ELSE 'Service ' END || i, "
         f"h(hx('secret-' || i, 64)), "
         f"CASE i % 10 WHEN 1 THEN 'password refresh_token' WHEN 3 THEN 'authorization_code refresh_token' ELSE 'client_credentials' END, "
         f"CASE i % 10 WHEN 1 THEN 'read write' WHEN 3 THEN 'openid profile email' ELSE 'read' END, "
         f"CASE i % 10 WHEN 3 THEN '' ELSE 'api' END, "
         f"CASE i % 10 WHEN 3 THEN 'https://app' || i || '.example/callback' ELSE '' END, "
         f"900, {now} - {500 * day} + i, 0, '', CASE i % 10 WHEN 1 THEN 1 ELSE 0 END, '', '', NULL, NULL, "
         f"0, 'operator', 0, 0, 0, 0"),
        ("consents", users,
         "user_id, client_id, scope, granted_at, resources",
         f"hx('user-' || i, 32), hx('client-' || {web_of.format(u='i')}, 32), 'openid profile email', {now} - {100 * day} + i, ''"),
        ("refresh_families", families,
         "family_id, client_id, user_id, sid, offline, created_at, expires_at, revoked_at, dpop_jkt",
         None),  # from the tokens below: one row per 4
        ("refresh_tokens", n,
         "token_hash, family_id, client_id, user_id, scope, expires_at, used_at, revoked_at, access_jti, "
         "access_expires_at, resources",
         f"h('rt-' || ((i - 1) / 4 + 1) || '-' || ((i - 1) % 4)), hx('family-' || ((i - 1) / 4 + 1), 32), "
         f"hx('client-' || ({fam_client}), 32), hx('user-' || {fam_user}, 32), "
         f"CASE WHEN ((i - 1) / 4) % 2 = 0 THEN 'openid profile email' ELSE 'read write' END, "
         f"least2({issued} + {30 * day}, CASE WHEN ((i - 1) / 4 + 1) % 90 = 0 THEN {now} - 3600 ELSE {now} + {30 * day} END), "
         f"CASE WHEN (i - 1) % 4 = 0 THEN NULL ELSE {issued} + 900 END, NULL, hx('jti-rt-' || i, 32), {issued} + 900, ''"),
        ("sessions", small,
         "id_hash, sid, user_id, auth_time, expires_at, client_ip, amr, proofs",
         f"h('sess-' || i), hx('sid-' || i, 32), hx('user-' || ((i - 1) % {users} + 1), 32), "
         f"{now} - (i - 1) * {34 * 3600} / {small}, {now} - (i - 1) * {34 * 3600} / {small} + {10 * 3600}, "
         f"'127.0.0.1', 'pwd', NULL"),
        ("authorization_codes", small,
         "code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time, sid, expires_at, "
         "used_at, access_jti, access_expires_at, family_id, amr, resources, dpop_jkt",
         f"h('code-' || i), hx('client-' || {web_of.format(u='((i - 1) % ' + str(users) + ' + 1)')}, 32), "
         f"hx('user-' || ((i - 1) % {users} + 1), 32), "
         f"'https://app' || {web_of.format(u='((i - 1) % ' + str(users) + ' + 1)')} || '.example/callback', "
         f"'openid profile email', NULL, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', "
         f"{now} - (i - 1) * {48 * 3600} / {small} - 3600, hx('sid-' || i, 32), {now} - (i - 1) * {48 * 3600} / {small}, "
         f"{now} - (i - 1) * {48 * 3600} / {small} - 50, hx('jti-code-' || i, 32), {now} - (i - 1) * {48 * 3600} / {small} + 850, "
         f"NULL, 'pwd', '', NULL"),
        ("revoked_tokens", small,
         "jti, expires_at",
         f"hx('jti-revoked-' || i, 32), {now} + 900 - (i - 1) * {day + 900} / {small}"),
    ], families


def statements(dialect, n, now, pw):
    out = []
    specs, families = tables(n, now)
    for table, count, cols, select in specs:
        if table == "refresh_families":
            continue
        out.append((table, count, cols, select))
    # Families: from the live token (j = 0) of each, i = 4f - 3.
    last_use = f"({now} - (i - 1) * {31 * 86400} / {families})"
    sql = []
    for table, count, cols, select in out:
        sql.append((table, count, f"INSERT INTO {table} ({cols}) SELECT {select.replace(':pw', quote(pw))} FROM {{series}}"))
    users = n
    clients = max(n // 10, 10)
    fp = (clients - 1) // 10 + 1
    web = (clients - 3) // 10 + 1
    u = f"((i - 1) % {users} + 1)"
    fam_sql = (
        "INSERT INTO refresh_families (family_id, client_id, user_id, sid, offline, created_at, expires_at, revoked_at, dpop_jkt) "
        f"SELECT hx('family-' || i, 32), "
        f"hx('client-' || CASE WHEN (i - 1) % 2 = 0 THEN 3 + 10 * (({u} - 1) % {web}) ELSE 1 + 10 * (({u} - 1) % {fp}) END, 32), "
        f"hx('user-' || {u}, 32), CASE WHEN (i - 1) % 2 = 0 THEN hx('sid-fam-' || i, 32) ELSE NULL END, 0, "
        f"CASE WHEN i % 90 = 0 THEN {now} - {90 * 86400} - 3600 ELSE {last_use} - 3600 - (i % 60) * 86400 END, "
        f"CASE WHEN i % 90 = 0 THEN {now} - 3600 ELSE {last_use} - 3600 - (i % 60) * 86400 + {90 * 86400} END, NULL, NULL "
        "FROM {series}"
    )
    sql.insert(4, ("refresh_families", families, fam_sql))
    rendered = []
    for table, count, text in sql:
        if dialect == "sqlite":
            head, tail = text.split(" SELECT ", 1)
            text = f"{head} WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {count}) SELECT {tail.replace('{series}', 's')}"
        else:
            text = text.replace("{series}", f"generate_series(1::bigint, {count}) AS s(i)")
        rendered.append((table, count, text))
    return rendered


def quote(s):
    return "'" + s.replace("'", "''") + "'"


PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION h(t text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT sha256(convert_to(t, 'UTF8')) $$;
CREATE OR REPLACE FUNCTION hx(t text, n int) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT substr(encode(sha256(convert_to(t, 'UTF8')), 'hex'), 1, n) $$;
CREATE OR REPLACE FUNCTION least2(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT LEAST(a, b) $$;
"""
PG_DROP = "DROP FUNCTION h(text); DROP FUNCTION hx(text, int); DROP FUNCTION least2(bigint, bigint);"


def main():
    dialect, target, scale, now, pw = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    stmts = statements(dialect, scale, now, pw)
    started = time.time()
    if dialect == "sqlite":
        import sqlite3

        db = sqlite3.connect(target, isolation_level=None)
        db.create_function("h", 1, lambda t: sha(t), deterministic=True)
        db.create_function("hx", 2, lambda t, n: shahex(t)[:n], deterministic=True)
        db.create_function("least2", 2, min, deterministic=True)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -200000")
        db.execute("BEGIN")
        for table, count, text in stmts:
            t = time.time()
            db.execute(text)
            print(f"  {table}: {count} rows in {time.time() - t:.1f} s", file=sys.stderr)
        db.execute("COMMIT")
        db.execute("ANALYZE")
        db.close()
    else:
        script = ["\\set ON_ERROR_STOP 1", "\\timing on", PG_FUNCTIONS, "BEGIN;"]
        for table, count, text in stmts:
            script.append(f"\\echo {table}: {count} rows")
            script.append(text + ";")
        script += ["COMMIT;", PG_DROP, "VACUUM ANALYZE;"]
        subprocess.run(["psql", "-qX", target], input="\n".join(script), text=True, check=True,
                       stdout=sys.stderr)
    print(f"seeded {dialect} at SCALE={scale} in {time.time() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
