//! Work done against the database directly: seeding a million tombstones (in the store's
//! own format: keyed hashes under the server's blind-index key), probing
//! `Store::tombstone_blocks`, and timing `Store::purge_expired` over due records. Also the
//! argon2id bound, measured with offboard-core's own hasher.

use crate::stats::{round1, round3, Latencies, Summary};
use anyhow::{anyhow, Context, Result};
use offboard_core::crypto::SecretKey;
use offboard_core::{EmailAddress, PasswordHasher};
use offboard_store::{Backend, Store};
use serde::Serialize;
use sqlx::postgres::{PgPoolCopyExt, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{QueryBuilder, Sqlite};
use std::str::FromStr;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The email of the `i`-th seeded tombstone.
pub fn tombstone_email(i: usize) -> String {
    format!("t{i}@tomb.example.com")
}

/// What the server stores for a deleted email: `deletion::tombstone_hash(blind_index,
/// "email", email)`, i.e. the keyed hash under domain `tombstone-email` of the normalised
/// address.
pub fn email_tombstone_hash(key: &SecretKey, email: &str) -> Result<String> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow!("{email}: {e}"))?;
    Ok(key.keyed_hash("tombstone-email", email.as_str()))
}

#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    pub rows: usize,
    pub hashing_s: f64,
    pub insert_s: f64,
    pub rows_per_s: f64,
    pub method: &'static str,
}

/// Inserts `n` email tombstones blocked until `allowed_from`: multi-row INSERTs in one
/// transaction on SQLite, COPY FROM STDIN on PostgreSQL.
pub async fn seed_tombstones(
    db_url: &str,
    key: &SecretKey,
    n: usize,
    deleted_at: OffsetDateTime,
    allowed_from: OffsetDateTime,
) -> Result<SeedReport> {
    let hashing = Instant::now();
    let hashes = hash_tombstones(key, n).await?;
    let hashing_s = hashing.elapsed().as_secs_f64();
    let times = (deleted_at.unix_timestamp(), allowed_from.unix_timestamp());
    let inserting = Instant::now();
    let method = match Backend::of_url(db_url)? {
        Backend::Sqlite => insert_tombstones_sqlite(db_url, &hashes, times).await?,
        Backend::Postgres => copy_tombstones_postgres(db_url, &hashes, times).await?,
    };
    let insert_s = inserting.elapsed().as_secs_f64();
    Ok(SeedReport {
        rows: n,
        hashing_s: round3(hashing_s),
        insert_s: round3(insert_s),
        rows_per_s: round1(n as f64 / insert_s.max(1e-9)),
        method,
    })
}

/// The stored hashes of the first `n` tombstone emails, computed off the async threads.
async fn hash_tombstones(key: &SecretKey, n: usize) -> Result<Vec<String>> {
    let key = key.clone();
    tokio::task::spawn_blocking(move || {
        (0..n)
            .map(|i| email_tombstone_hash(&key, &tombstone_email(i)))
            .collect::<Result<Vec<String>>>()
    })
    .await?
}

/// SQLite: multi-row INSERTs of 5,000 in one transaction; `(deleted, allowed)` are unix
/// seconds. The method, for the report.
async fn insert_tombstones_sqlite(
    db_url: &str,
    hashes: &[String],
    (deleted, allowed): (i64, i64),
) -> Result<&'static str> {
    let pool = sqlite_pool(db_url).await?;
    // A bulk load's page cache (256 MiB, this connection only): the random keyed
    // hashes land all over the hash index. Rows stay in random order, as deletions
    // write them, so the purge after this is not flattered.
    sqlx::query("PRAGMA cache_size = -262144")
        .execute(&pool)
        .await?;
    let mut tx = pool.begin().await?;
    for chunk in hashes.chunks(5_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO tombstones (kind, hash, deleted_at, allowed_from) ",
        );
        q.push_values(chunk, |mut row, hash| {
            row.push_bind("email")
                .push_bind(hash.as_str())
                .push_bind(deleted)
                .push_bind(allowed);
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    pool.close().await;
    Ok("multi-row INSERT (5,000 rows each) in one transaction, 256 MiB page cache")
}

/// PostgreSQL: COPY FROM STDIN in chunks of 50,000, then VACUUM ANALYZE. The method, for
/// the report.
async fn copy_tombstones_postgres(
    db_url: &str,
    hashes: &[String],
    (deleted, allowed): (i64, i64),
) -> Result<&'static str> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(db_url)
        .await?;
    let mut copy = pool
        .copy_in_raw("COPY tombstones (kind, hash, deleted_at, allowed_from) FROM STDIN")
        .await?;
    for chunk in hashes.chunks(50_000) {
        let mut buf = String::with_capacity(chunk.len() * 96);
        for hash in chunk {
            buf.push_str("email\t");
            buf.push_str(hash);
            buf.push_str(&format!("\t{deleted}\t{allowed}\n"));
        }
        copy.send(buf.into_bytes()).await?;
    }
    copy.finish().await?;
    // What autovacuum would do shortly after a load of a million rows (fresh
    // statistics, the visibility map for index-only scans): done now, so it does not
    // run in the middle of the measurements that follow.
    sqlx::query("VACUUM ANALYZE tombstones")
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok("COPY FROM STDIN, then VACUUM ANALYZE")
}

async fn sqlite_pool(db_url: &str) -> Result<sqlx::SqlitePool> {
    let options = SqliteConnectOptions::from_str(db_url)?
        .busy_timeout(Duration::from_secs(30))
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

/// One seeded retained record: its id, account id, sealed record and wrapped data key.
struct RetainedRow {
    id: String,
    account: String,
    sealed: String,
    wrapped: String,
}

/// Seeds `n` sealed retained records with their wrapped keys, due at `purge_after`.
pub async fn seed_retained(
    db_url: &str,
    n: usize,
    created_at: OffsetDateTime,
    purge_after: OffsetDateTime,
) -> Result<f64> {
    let rows = seal_retained_rows(n).await?;
    let times = (created_at.unix_timestamp(), purge_after.unix_timestamp());
    let started = Instant::now();
    match Backend::of_url(db_url)? {
        Backend::Sqlite => insert_retained_sqlite(db_url, &rows, times).await?,
        Backend::Postgres => copy_retained_postgres(db_url, &rows, times).await?,
    }
    Ok(round3(started.elapsed().as_secs_f64()))
}

/// `n` records sealed under fresh data keys, each key wrapped under one retention key (as
/// the erasure writes them), computed off the async threads.
async fn seal_retained_rows(n: usize) -> Result<Vec<RetainedRow>> {
    let retention = SecretKey::generate();
    let rows = tokio::task::spawn_blocking(move || {
        (0..n)
            .map(|i| {
                let id = uuid::Uuid::now_v7().to_string();
                let account = uuid::Uuid::now_v7().to_string();
                let data_key = SecretKey::generate();
                let record = format!("{{\"account_id\":\"{account}\",\"seq\":{i}}}");
                let sealed = data_key.seal(account.as_bytes(), record.as_bytes());
                let wrapped = retention.seal(account.as_bytes(), data_key.to_hex().as_bytes());
                RetainedRow {
                    id,
                    account,
                    sealed,
                    wrapped,
                }
            })
            .collect::<Vec<_>>()
    })
    .await?;
    Ok(rows)
}

/// SQLite: multi-row INSERTs of 4,000 records and their keys in one transaction;
/// `(created, due)` are unix seconds.
async fn insert_retained_sqlite(
    db_url: &str,
    rows: &[RetainedRow],
    (created, due): (i64, i64),
) -> Result<()> {
    let pool = sqlite_pool(db_url).await?;
    let mut tx = pool.begin().await?;
    for chunk in rows.chunks(4_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO retained_records (id, account_id, kind, sealed, created_at, purge_after) ",
        );
        q.push_values(chunk, |mut row, r| {
            row.push_bind(r.id.as_str())
                .push_bind(r.account.as_str())
                .push_bind("account")
                .push_bind(r.sealed.as_str())
                .push_bind(created)
                .push_bind(due);
        });
        q.build().execute(&mut *tx).await?;
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO retention_keys (record_id, wrapped_key) ");
        q.push_values(chunk, |mut row, r| {
            row.push_bind(r.id.as_str()).push_bind(r.wrapped.as_str());
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    pool.close().await;
    Ok(())
}

/// PostgreSQL: one COPY FROM STDIN of the records, one of their keys, then ANALYZE.
async fn copy_retained_postgres(
    db_url: &str,
    rows: &[RetainedRow],
    (created, due): (i64, i64),
) -> Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(db_url)
        .await?;
    let mut copy = pool
        .copy_in_raw("COPY retained_records (id, account_id, kind, sealed, created_at, purge_after) FROM STDIN")
        .await?;
    let mut buf = String::new();
    for r in rows {
        buf.push_str(&format!(
            "{}\t{}\taccount\t{}\t{created}\t{due}\n",
            r.id, r.account, r.sealed
        ));
    }
    copy.send(buf.into_bytes()).await?;
    copy.finish().await?;
    let mut copy = pool
        .copy_in_raw("COPY retention_keys (record_id, wrapped_key) FROM STDIN")
        .await?;
    let mut buf = String::new();
    for r in rows {
        buf.push_str(&format!("{}\t{}\n", r.id, r.wrapped));
    }
    copy.send(buf.into_bytes()).await?;
    copy.finish().await?;
    sqlx::query("ANALYZE retained_records")
        .execute(&pool)
        .await?;
    sqlx::query("ANALYZE retention_keys").execute(&pool).await?;
    pool.close().await;
    Ok(())
}

/// `Store::tombstone_blocks` probes, one at a time, alternating a seeded (blocked) email
/// and an unknown one.
pub async fn probe_tombstones(
    db_url: &str,
    key: &SecretKey,
    seeded: usize,
    probes: usize,
    now: OffsetDateTime,
) -> Result<(Summary, u64)> {
    let (store, _) = Store::connect_without_migrating(db_url).await?;
    let mut latencies = Latencies::new();
    let mut blocked = 0u64;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let started = Instant::now();
    for i in 0..probes {
        // xorshift: a spread of rows, not the same few pages.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let email = if i % 2 == 0 && seeded > 0 {
            tombstone_email(usize::try_from(x % seeded as u64).unwrap_or(0))
        } else {
            format!("fresh{x}@example.com")
        };
        let hash = email_tombstone_hash(key, &email)?;
        let t = Instant::now();
        if store.tombstone_blocks(&hash, now).await?.is_some() {
            blocked += 1;
        }
        latencies.record(t.elapsed());
    }
    let summary = latencies.summary(started.elapsed());
    store.close().await;
    Ok((summary, blocked))
}

#[derive(Debug, Clone, Serialize)]
pub struct PurgeRun {
    pub tombstones: u64,
    pub retained_records: u64,
    pub seconds: f64,
    pub per_s: f64,
}

/// One `Store::purge_expired(now)`; `per_s` counts the records of `what` it removed.
pub async fn purge(db_url: &str, now: OffsetDateTime, retained: bool) -> Result<PurgeRun> {
    let (store, _) = Store::connect_without_migrating(db_url).await?;
    let started = Instant::now();
    let report = store
        .purge_expired(now)
        .await
        .context("Store::purge_expired")?;
    let seconds = started.elapsed().as_secs_f64();
    store.close().await;
    let n = if retained {
        report.retained_records
    } else {
        report.tombstones
    };
    Ok(PurgeRun {
        tombstones: report.tombstones,
        retained_records: report.retained_records,
        seconds: round3(seconds),
        per_s: round1(n as f64 / seconds.max(1e-9)),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Argon2Report {
    pub threads: usize,
    pub verifies: u64,
    pub seconds: f64,
    pub verifies_per_s: f64,
    /// Mean time of one verify on one thread.
    pub verify_ms: f64,
    pub params: String,
}

impl Argon2Report {
    /// Several measurements as one: verifies and seconds summed, the rate weighted by
    /// each measurement's time, the mean verify weighted by its verifies. `None` for none.
    pub fn pooled<'a>(reports: impl IntoIterator<Item = &'a Argon2Report>) -> Option<Self> {
        let reports: Vec<&Argon2Report> = reports.into_iter().collect();
        let first = reports.first()?;
        let seconds: f64 = reports.iter().map(|r| r.seconds).sum();
        let verifies: u64 = reports.iter().map(|r| r.verifies).sum();
        let rate = reports
            .iter()
            .map(|r| r.verifies_per_s * r.seconds)
            .sum::<f64>()
            / seconds.max(1e-9);
        let verify_ms = reports
            .iter()
            .map(|r| r.verify_ms * r.verifies as f64)
            .sum::<f64>()
            / verifies.max(1) as f64;
        Some(Self {
            threads: first.threads,
            verifies,
            seconds: round3(seconds),
            verifies_per_s: round1(rate),
            verify_ms: round3(verify_ms),
            params: first.params.clone(),
        })
    }
}

/// argon2id verifies per second with the server's parameters (offboard-core's
/// `PasswordHasher`, one per thread, memory reused as the server's pool does), on
/// `threads` threads at once.
pub fn argon2_bound(threads: usize, duration: Duration) -> Result<Argon2Report> {
    let threads = threads.max(1);
    let results: Vec<(u64, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut hasher = PasswordHasher::new();
                    let phc = hasher.hash(crate::client::PASSWORD);
                    let started = Instant::now();
                    let deadline = started + duration;
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        if hasher.verify(&phc, crate::client::PASSWORD) {
                            n += 1;
                        }
                    }
                    (n, started.elapsed())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("an argon2 thread stopped")))
            .collect::<Result<Vec<_>>>()
    })?;
    let verifies: u64 = results.iter().map(|(n, _)| n).sum();
    let per_s: f64 = results
        .iter()
        .map(|(n, d)| *n as f64 / d.as_secs_f64().max(1e-9))
        .sum();
    let seconds = results
        .iter()
        .map(|(_, d)| d.as_secs_f64())
        .fold(0.0, f64::max);
    let thread_time: f64 = results.iter().map(|(_, d)| d.as_secs_f64()).sum();
    Ok(Argon2Report {
        threads,
        verifies,
        seconds: round3(seconds),
        verifies_per_s: round1(per_s),
        verify_ms: round3(thread_time * 1000.0 / verifies.max(1) as f64),
        params: format!(
            "argon2id m={} KiB, t={}, p={}",
            offboard_core::password::ARGON2_M_COST_KIB,
            offboard_core::password::ARGON2_T_COST,
            offboard_core::password::ARGON2_P_COST
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_hashes_match_what_the_server_stores() {
        let key = SecretKey::from_hex(&"ab".repeat(32)).unwrap();
        // The server hashes the normalised (lower-case) address under "tombstone-email".
        assert_eq!(
            email_tombstone_hash(&key, "T1@Tomb.Example.com").unwrap(),
            key.keyed_hash("tombstone-email", "t1@tomb.example.com")
        );
    }
}
