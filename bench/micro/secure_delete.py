#!/usr/bin/env python3
"""The cost of R20's SQLite settings, measured apart from the server: one erasure-like
transaction (update a row's personal columns to NULL, delete rows of five side tables)
repeated N times on a file database in WAL mode with synchronous=NORMAL, as offboard
opens it, with secure_delete off and on, and with a WAL truncation after each.

    python3 bench/micro/secure_delete.py [N]

Prints the median and p99 per transaction of each variant and the ratios to the
baseline. Run on demand; machines are shared and noisy, so compare ratios of one run.
"""
import os, sqlite3, statistics, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000

def setup(path, secure):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA secure_delete={'ON' if secure else 'OFF'}")
    db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT UNIQUE, phone TEXT, hash TEXT)")
    for t in ["sessions", "codes", "factors", "numbers", "history"]:
        db.execute(f"CREATE TABLE {t} (id INTEGER PRIMARY KEY, account INTEGER, data TEXT)")
        db.execute(f"CREATE INDEX {t}_a ON {t}(account)")
    db.execute("BEGIN")
    for i in range(N + 10_000):
        db.execute("INSERT INTO accounts VALUES (?, ?, ?, ?)", (i, f"user{i}@example.com", f"+4479{i:08d}", "$argon2id$v=19$" + "x" * 80))
        for t in ["sessions", "codes", "factors", "numbers", "history"]:
            db.execute(f"INSERT INTO {t} (account, data) VALUES (?, ?)", (i, "d" * 120))
    db.execute("COMMIT")
    return db

def run(secure, truncate):
    with tempfile.TemporaryDirectory() as d:
        db = setup(os.path.join(d, "x.db"), secure)
        times = []
        for i in range(N):
            t0 = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE accounts SET email=NULL, phone=NULL, hash=NULL WHERE id=?", (i,))
            for t in ["sessions", "codes", "factors", "numbers", "history"]:
                db.execute(f"DELETE FROM {t} WHERE account=?", (i,))
            db.execute("COMMIT")
            if truncate:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            times.append(time.perf_counter() - t0)
        db.close()
    times.sort()
    return statistics.median(times) * 1e3, times[int(len(times) * 0.99)] * 1e3

variants = [("secure_delete off", False, False), ("secure_delete on", True, False),
            ("secure_delete on + WAL truncate", True, True)]
results = [(name, *run(s, t)) for name, s, t in variants]
base = results[0][1]
print(f"{N} erasure-like transactions each")
for name, med, p99 in results:
    print(f"{name:34} median {med:6.3f} ms  p99 {p99:6.3f} ms  x{med / base:4.2f}")
