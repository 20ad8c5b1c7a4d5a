"""Query plans of the hot queries (queries.sql) on a seeded database, for
bench/large_tables.sh.

  explain.py sqlite PATH NOW
  explain.py postgres URL NOW

Prints a markdown section per query: the store function, the plan, and
whether it reads a table without an index (SQLite `SCAN <table>` without an
index, PostgreSQL `Seq Scan`). Exits 0; the verdicts are in the output
(a summary line `full scans: N` at the end).
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from seed import cid, fid, sha, uid  # noqa: E402

NAMES = {"@UID1": uid(1), "@CID1": cid(1), "@CID2": cid(2), "@CID3": cid(3), "@FID1": fid(1)}


def blocks(path):
    text = open(path).read()
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().splitlines()
        meta = {}
        sql = []
        for line in lines:
            m = re.match(r"--\s*(fn|params|kind):\s*(.*)", line)
            if m:
                meta[m.group(1)] = m.group(2).strip()
            elif not line.startswith("--"):
                sql.append(line)
        if "fn" in meta and sql:
            yield meta, " ".join(sql)


def literal(token, dialect, now):
    if token == "now":
        return str(now)
    if re.fullmatch(r"-?\d+", token):
        return token
    kind, _, value = token.partition(":")
    value = NAMES.get(value, value)
    if kind == "h":
        digest = sha(value).hex()
        return f"X'{digest}'" if dialect == "sqlite" else f"'\\x{digest}'::bytea"
    if kind == "s":
        return "'" + value.replace("'", "''") + "'"
    raise SystemExit(f"unknown parameter {token!r}")


def bind(sql, params, dialect, now):
    values = [literal(t, dialect, now) for t in params.split()]
    return re.sub(r"\$(\d+)", lambda m: values[int(m.group(1)) - 1], sql)


def plan_sqlite(db, sql):
    rows = db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    return [r[3] for r in rows]


def plan_postgres(url, sql):
    out = subprocess.run(["psql", "-qAtX", url, "-c", "EXPLAIN " + sql], capture_output=True, text=True, check=True)
    return out.stdout.rstrip().splitlines()


def full_scan(dialect, plan):
    bad = []
    for line in plan:
        if dialect == "sqlite":
            m = re.search(r"\bSCAN (\w+)", line)
            if m and "USING" not in line and "CONSTANT ROW" not in line:
                bad.append(m.group(1))
        else:
            m = re.search(r"Seq Scan on (\w+)", line)
            if m:
                bad.append(m.group(1))
    return bad


def main():
    dialect, target, now = sys.argv[1], sys.argv[2], int(sys.argv[3])
    here = os.path.dirname(os.path.abspath(__file__))
    db = None
    if dialect == "sqlite":
        import sqlite3

        db = sqlite3.connect(target)
    scans = []
    print(f"### {dialect}\n")
    for meta, sql in blocks(os.path.join(here, "queries.sql")):
        bound = bind(sql, meta.get("params", ""), dialect, now)
        plan = plan_sqlite(db, bound) if db else plan_postgres(target, bound)
        bad = full_scan(dialect, plan)
        kind = meta.get("kind", "hot")
        verdict = f"**full scan of {', '.join(bad)}**" if bad else "index only"
        print(f"- `{meta['fn']}` ({kind}): {verdict}")
        print("  ```")
        for line in plan:
            print("  " + line)
        print("  ```")
        if bad:
            scans.append((kind, meta["fn"], bad))
    print()
    for kind, fn, bad in scans:
        print(f"FULL SCAN ({kind}): {fn}: {', '.join(bad)}")
    print(f"full scans: {len(scans)} ({sum(1 for k, _, _ in scans if k == 'hot')} on hot paths)")


if __name__ == "__main__":
    main()
