"""Times the prune job's own statements (store/prune.rs, `prune_table`:
`DELETE FROM t WHERE key IN (SELECT key FROM t WHERE expires < $1 LIMIT
$2)`, batch PRUNE_BATCH = 1000) on a seeded database, for
bench/large_tables.sh: each table drained batch by batch, as `drain` does
(without its 100 ms pause between passes, which is reported separately).

  prune.py sqlite PATH NOW
  prune.py postgres URL NOW

Prints one line per table: rows deleted, batches, seconds, rows/s, and the
slowest batch.
"""

import re
import subprocess
import sys
import time

BATCH = 1000
CODE_KEPT_FOR = 24 * 3600
# table, key, expiry column, cutoff offset from now (prune.rs)
TABLES = [
    ("authorization_codes", "code_hash", "expires_at", -CODE_KEPT_FOR),
    ("sessions", "id_hash", "expires_at", 0),
    ("refresh_tokens", "token_hash", "expires_at", 0),
    ("refresh_families", "family_id", "expires_at", 0),
    ("revoked_tokens", "jti", "expires_at", 0),
]


def sql(table, key, expired):
    return f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {expired} < $1 LIMIT $2)"


def sqlite(path, now):
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 5000")
    for table, key, expired, offset in TABLES:
        text = sql(table, key, expired).replace("$1", "?").replace("$2", "?")
        rows = batches = 0
        slowest = 0.0
        started = time.time()
        while True:
            t = time.time()
            n = db.execute(text, (now + offset, BATCH)).rowcount
            slowest = max(slowest, time.time() - t)
            rows += n
            batches += 1
            if n < BATCH:
                break
        report(table, rows, batches, time.time() - started, slowest)


PG = """
DO $$
DECLARE n bigint; total bigint := 0; batches int := 0; t0 timestamptz; t1 timestamptz; slowest interval := '0';
BEGIN
  t0 := clock_timestamp();
  LOOP
    t1 := clock_timestamp();
    EXECUTE @stmt USING @before::bigint, @batch::bigint;
    GET DIAGNOSTICS n = ROW_COUNT;
    slowest := GREATEST(slowest, clock_timestamp() - t1);
    total := total + n; batches := batches + 1;
    COMMIT;
    EXIT WHEN n < @batch;
  END LOOP;
  RAISE NOTICE 'pruned % % % %', total, batches,
    extract(epoch FROM clock_timestamp() - t0), extract(epoch FROM slowest);
END $$;
"""


def postgres(url, now):
    for table, key, expired, offset in TABLES:
        stmt = "'" + sql(table, key, expired) + "'"
        script = PG.replace("@stmt", stmt).replace("@before", str(now + offset)).replace("@batch", str(BATCH))
        out = subprocess.run(["psql", "-qX", url], input=script, capture_output=True, text=True, check=True)
        m = re.search(r"pruned (\d+) (\d+) ([\d.]+) ([\d.]+)", out.stderr)
        report(table, int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(4)))


def report(table, rows, batches, seconds, slowest):
    rate = rows / seconds if seconds > 0 else 0
    print(f"{table} {rows} {batches} {seconds:.3f} {rate:.0f} {slowest * 1000:.1f}")


if __name__ == "__main__":
    dialect, target, now = sys.argv[1], sys.argv[2], int(sys.argv[3])
    (sqlite if dialect == "sqlite" else postgres)(target, now)
