//! One-time codes, the wrong-code budget, TOTP and phones. Every decision that reads a
//! counter and then writes runs in one transaction serialised per account (SQLite's
//! single writer; a PostgreSQL advisory lock), so 100 parallel guesses cannot each see
//! "4 tries so far" — the lost-update bug behind a real CVE in a peer.

use crate::{from_unix, locked_tx, on_db, on_reader, to_unix, Store, StoreError};
use offboard_core::otp::{
    self, Channel, Purpose, SendContext, SendDecision, StoredCode, Verdict, VerifyContext,
};
use offboard_core::{AccountId, PhoneNumber};
use sqlx::Row;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct NewCode<'a> {
    pub account_id: AccountId,
    pub purpose: Purpose,
    pub channel: Channel,
    /// The deletion flow the code belongs to, if any.
    pub flow_id: Option<&'a str>,
    pub destination: Option<&'a str>,
}

/// Which code a submission is checked against.
#[derive(Debug, Clone, Copy)]
pub struct CodeSlot<'a> {
    pub account_id: AccountId,
    pub purpose: Purpose,
    pub channel: Channel,
    pub flow_id: Option<&'a str>,
}

/// A code row just written; the caller now delivers the plain code.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub id: String,
    pub expires_at: OffsetDateTime,
}

/// The outcome of checking a code, with what the caller needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeCheck {
    pub verdict: Verdict,
    /// Id of the accepted code (to consume it later in a two-phase check).
    pub code_id: Option<String>,
    pub destination: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TotpRow {
    pub secret: String,
    pub confirmed: bool,
    pub last_step: Option<i64>,
}

pub(crate) fn lock_key(account_id: AccountId) -> String {
    format!("otp:{account_id}")
}

impl Store {
    /// Applies R5's send limits and, if allowed, stores the new code's hash (made by
    /// `hash_for`, given the new id) and retires the previous code of the same purpose and
    /// channel. The send counts even if delivery then fails.
    pub async fn issue_code(
        &self,
        new: NewCode<'_>,
        now: OffsetDateTime,
        hash_for: impl FnOnce(&str) -> String,
    ) -> Result<Result<IssuedCode, SendDecision>, StoreError> {
        let account = new.account_id.to_string();
        let flow = new.flow_id.unwrap_or("");
        let hour_ago = to_unix(now - otp::HOUR);
        let out = locked_tx!(self, lock_key(new.account_id), tx => {
            let latest = sqlx::query(
                "SELECT created_at, expires_at, attempts, used_at, retired_at FROM otp_codes
                 WHERE account_id = $1 AND purpose = $2 AND channel = $3
                 ORDER BY created_at DESC LIMIT 1",
            )
            .bind(&account)
            .bind(new.purpose.as_str())
            .bind(new.channel.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let last: Option<i64> = latest.as_ref().map(|r| r.try_get("created_at")).transpose()?;
            let last_code_usable = match &latest {
                Some(row) => {
                    let expires_at: i64 = row.try_get("expires_at")?;
                    let attempts: i64 = row.try_get("attempts")?;
                    row.try_get::<Option<i64>, _>("used_at")?.is_none()
                        && row.try_get::<Option<i64>, _>("retired_at")?.is_none()
                        && expires_at > to_unix(now)
                        && attempts < i64::from(otp::MAX_TRIES_PER_CODE)
                }
                None => false,
            };
            let row = sqlx::query(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM otp_codes
                 WHERE account_id = $1 AND channel = $2 AND created_at > $3",
            )
            .bind(&account)
            .bind(new.channel.as_str())
            .bind(hour_ago)
            .fetch_one(&mut *tx)
            .await?;
            let sends: i64 = row.try_get("n")?;
            let oldest: Option<i64> = row.try_get("oldest")?;
            let ctx = SendContext {
                last_sent_at: last.map(from_unix),
                last_code_usable,
                sends_last_hour: u32::try_from(sends).unwrap_or(u32::MAX),
                oldest_send_last_hour: oldest.map(from_unix),
            };
            match otp::decide_send(&ctx, now) {
                SendDecision::Send => {
                    sqlx::query(
                        "UPDATE otp_codes SET retired_at = $1
                         WHERE account_id = $2 AND purpose = $3 AND channel = $4 AND retired_at IS NULL AND used_at IS NULL",
                    )
                    .bind(to_unix(now))
                    .bind(&account)
                    .bind(new.purpose.as_str())
                    .bind(new.channel.as_str())
                    .execute(&mut *tx)
                    .await?;
                    let id = uuid::Uuid::now_v7().to_string();
                    let expires_at = now + otp::CODE_TTL;
                    sqlx::query(
                        "INSERT INTO otp_codes (id, account_id, purpose, channel, flow_id, destination, code_hash, created_at, expires_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(&id)
                    .bind(&account)
                    .bind(new.purpose.as_str())
                    .bind(new.channel.as_str())
                    .bind(flow)
                    .bind(new.destination)
                    .bind(hash_for(&id))
                    .bind(to_unix(now))
                    .bind(to_unix(expires_at))
                    .execute(&mut *tx)
                    .await?;
                    Ok(IssuedCode { id, expires_at })
                }
                other => Err(other),
            }
        });
        Ok(out)
    }

    /// Checks a submitted email/SMS code against the latest live code of this account,
    /// purpose, channel and flow. `judge` is R5's rule (it sees the stored state and the
    /// failure budget); a wrong code costs a try on the code and on the hourly budget.
    /// With `consume`, an accepted code is marked used in the same transaction.
    pub async fn check_code(
        &self,
        slot: CodeSlot<'_>,
        now: OffsetDateTime,
        consume: bool,
        judge: impl FnOnce(&VerifyContext) -> Verdict,
    ) -> Result<CodeCheck, StoreError> {
        let CodeSlot {
            account_id,
            purpose,
            channel,
            flow_id,
        } = slot;
        let account = account_id.to_string();
        let flow = flow_id.unwrap_or("");
        let out = locked_tx!(self, lock_key(account_id), tx => {
            let latest = sqlx::query(
                "SELECT id, code_hash, attempts, expires_at, used_at, destination FROM otp_codes
                 WHERE account_id = $1 AND purpose = $2 AND channel = $3 AND flow_id = $4 AND retired_at IS NULL
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(&account)
            .bind(purpose.as_str())
            .bind(channel.as_str())
            .bind(flow)
            .fetch_optional(&mut *tx)
            .await?;
            let (stored, destination) = match latest {
                Some(row) => {
                    let used: Option<i64> = row.try_get("used_at")?;
                    let attempts: i64 = row.try_get("attempts")?;
                    (
                        Some(StoredCode {
                            id: row.try_get("id")?,
                            code_hash: row.try_get("code_hash")?,
                            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                            expires_at: from_unix(row.try_get("expires_at")?),
                            used: used.is_some(),
                        }),
                        row.try_get::<Option<String>, _>("destination")?,
                    )
                }
                None => (None, None),
            };
            let (failures, oldest) = failures_in_tx!(tx, &account, purpose, now);
            let ctx = VerifyContext { latest: stored.clone(), failures_last_hour: failures, oldest_failure_last_hour: oldest };
            let verdict = judge(&ctx);
            let code_id = stored.as_ref().map(|c| c.id.clone());
            match verdict {
                Verdict::Wrong { .. } => {
                    sqlx::query("UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1")
                        .bind(&code_id)
                        .execute(&mut *tx)
                        .await?;
                    insert_failure!(tx, &account, purpose, now);
                }
                Verdict::Accepted if consume => {
                    sqlx::query("UPDATE otp_codes SET used_at = $1 WHERE id = $2")
                        .bind(to_unix(now))
                        .bind(&code_id)
                        .execute(&mut *tx)
                        .await?;
                }
                _ => {}
            }
            let accepted = verdict == Verdict::Accepted;
            CodeCheck { verdict, code_id: code_id.filter(|_| accepted), destination: destination.filter(|_| accepted) }
        });
        Ok(out)
    }

    /// Marks an accepted code used; false if it was used meanwhile (a double submit).
    pub async fn consume_code(
        &self,
        code_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query("UPDATE otp_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(to_unix(now))
            .bind(code_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Checks an authenticator code under the same lock and budget as other codes.
    /// `judge` gets the stored factor and the budget and returns the verdict plus the
    /// matched step; a wrong code counts against the hourly budget.
    pub async fn check_totp(
        &self,
        account_id: AccountId,
        purpose: Purpose,
        now: OffsetDateTime,
        consume: bool,
        judge: impl FnOnce(Option<&TotpRow>, u32, Option<OffsetDateTime>) -> (Verdict, Option<i64>),
    ) -> Result<(Verdict, Option<i64>), StoreError> {
        let account = account_id.to_string();
        let out = locked_tx!(self, lock_key(account_id), tx => {
            let row = sqlx::query("SELECT secret, confirmed_at, last_step FROM totp_factors WHERE account_id = $1")
                .bind(&account)
                .fetch_optional(&mut *tx)
                .await?;
            let totp = match row {
                Some(row) => Some(TotpRow {
                    secret: row.try_get("secret")?,
                    confirmed: row.try_get::<Option<i64>, _>("confirmed_at")?.is_some(),
                    last_step: row.try_get("last_step")?,
                }),
                None => None,
            };
            let (failures, oldest) = failures_in_tx!(tx, &account, purpose, now);
            let (verdict, step) = judge(totp.as_ref(), failures, oldest);
            match (verdict, step) {
                (Verdict::Wrong { .. }, _) => insert_failure!(tx, &account, purpose, now),
                (Verdict::Accepted, Some(step)) if consume => {
                    sqlx::query("UPDATE totp_factors SET last_step = $1, confirmed_at = COALESCE(confirmed_at, $2) WHERE account_id = $3")
                        .bind(step)
                        .bind(to_unix(now))
                        .bind(&account)
                        .execute(&mut *tx)
                        .await?;
                }
                _ => {}
            }
            (verdict, step)
        });
        Ok(out)
    }

    /// Records an accepted authenticator step; false if that step (or a later one) was
    /// used meanwhile.
    pub async fn consume_totp_step(
        &self,
        account_id: AccountId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let n = on_db!(self, pool => sqlx::query(
            "UPDATE totp_factors SET last_step = $1 WHERE account_id = $2 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)",
        )
        .bind(step)
        .bind(account_id.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn totp_factor(&self, account_id: AccountId) -> Result<Option<TotpRow>, StoreError> {
        on_reader!(self, pool => {
            let row = sqlx::query("SELECT secret, confirmed_at, last_step FROM totp_factors WHERE account_id = $1")
                .bind(account_id.to_string())
                .fetch_optional(pool)
                .await?;
            match row {
                Some(row) => Ok(Some(TotpRow {
                    secret: row.try_get("secret")?,
                    confirmed: row.try_get::<Option<i64>, _>("confirmed_at")?.is_some(),
                    last_step: row.try_get("last_step")?,
                })),
                None => Ok(None),
            }
        })
    }

    /// Starts (or restarts) an authenticator setup. A confirmed authenticator is never
    /// replaced here: it must be unbound first → [`StoreError::Conflict`].
    pub async fn begin_totp(
        &self,
        account_id: AccountId,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let account = account_id.to_string();
        let result = locked_tx!(self, lock_key(account_id), tx => {
            let confirmed: Option<Option<i64>> = sqlx::query("SELECT confirmed_at FROM totp_factors WHERE account_id = $1")
                .bind(&account)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("confirmed_at"))
                .transpose()?;
            if matches!(confirmed, Some(Some(_))) {
                Err(StoreError::Conflict)
            } else {
                sqlx::query("DELETE FROM totp_factors WHERE account_id = $1").bind(&account).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO totp_factors (account_id, secret, created_at) VALUES ($1, $2, $3)")
                    .bind(&account)
                    .bind(secret)
                    .bind(to_unix(now))
                    .execute(&mut *tx)
                    .await?;
                Ok(())
            }
        });
        result
    }

    /// Removes the authenticator and notes when factors last changed.
    pub async fn remove_totp(
        &self,
        account_id: AccountId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let account = account_id.to_string();
        let removed = locked_tx!(self, lock_key(account_id), tx => {
            let n = sqlx::query("DELETE FROM totp_factors WHERE account_id = $1")
                .bind(&account)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("UPDATE accounts SET factors_changed_at = $1 WHERE id = $2").bind(to_unix(now)).bind(&account).execute(&mut *tx).await?;
            n == 1
        });
        Ok(removed)
    }

    /// Seconds until a code of this purpose and channel may be sent again (0 = now).
    pub async fn code_wait(
        &self,
        account_id: AccountId,
        purpose: Purpose,
        channel: Channel,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let last: Option<i64> = on_reader!(self, pool => sqlx::query(
            "SELECT MAX(created_at) AS last FROM otp_codes WHERE account_id = $1 AND purpose = $2 AND channel = $3",
        )
        .bind(account_id.to_string())
        .bind(purpose.as_str())
        .bind(channel.as_str())
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get("last")))?;
        Ok(last
            .map(|t| {
                // Rounded up: a countdown that ends on this number never ends early.
                let left = from_unix(t) + otp::RESEND_AFTER - now;
                (left.whole_seconds() + i64::from(left.subsec_nanoseconds() > 0)).max(0)
            })
            .unwrap_or(0))
    }

    /// Wrong codes (any purpose) since `since`: a risk signal for the captcha (R3).
    pub async fn recent_code_failures(
        &self,
        account_id: AccountId,
        since: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let n: i64 = on_reader!(self, pool => sqlx::query("SELECT COUNT(*) AS n FROM otp_failures WHERE account_id = $1 AND at > $2")
            .bind(account_id.to_string())
            .bind(to_unix(since))
            .fetch_one(pool)
            .await
            .and_then(|r| r.try_get("n")))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Where the latest live code of this purpose went (the phone being bound).
    pub async fn pending_destination(
        &self,
        account_id: AccountId,
        purpose: Purpose,
    ) -> Result<Option<String>, StoreError> {
        on_reader!(self, pool => {
            let row = sqlx::query(
                "SELECT destination FROM otp_codes WHERE account_id = $1 AND purpose = $2 AND retired_at IS NULL AND used_at IS NULL
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(account_id.to_string())
            .bind(purpose.as_str())
            .fetch_optional(pool)
            .await?;
            match row {
                Some(row) => Ok(row.try_get::<Option<String>, _>("destination")?),
                None => Ok(None),
            }
        })
    }

    /// Binds a verified phone; a phone bound to another account → [`StoreError::Conflict`].
    pub async fn set_phone(
        &self,
        account_id: AccountId,
        phone: &PhoneNumber,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE accounts SET phone = $1, factors_changed_at = $2 WHERE id = $3")
            .bind(phone.as_str())
            .bind(to_unix(now))
            .bind(account_id.to_string())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn clear_phone(
        &self,
        account_id: AccountId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_db!(self, pool => sqlx::query("UPDATE accounts SET phone = NULL, factors_changed_at = $1 WHERE id = $2")
            .bind(to_unix(now))
            .bind(account_id.to_string())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

/// Wrong codes of this account and purpose in the last hour: (count, oldest).
macro_rules! failures_in_tx {
    ($tx:ident, $account:expr, $purpose:expr, $now:expr) => {{
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM otp_failures WHERE account_id = $1 AND purpose = $2 AND at > $3",
        )
        .bind($account)
        .bind($purpose.as_str())
        .bind(to_unix($now - otp::HOUR))
        .fetch_one(&mut *$tx)
        .await?;
        let n: i64 = row.try_get("n")?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        (u32::try_from(n).unwrap_or(u32::MAX), oldest.map(from_unix))
    }};
}
use failures_in_tx;

macro_rules! insert_failure {
    ($tx:ident, $account:expr, $purpose:expr, $now:expr) => {{
        sqlx::query("INSERT INTO otp_failures (account_id, purpose, at) VALUES ($1, $2, $3)")
            .bind($account)
            .bind($purpose.as_str())
            .bind(to_unix($now))
            .execute(&mut *$tx)
            .await?;
    }};
}
use insert_failure;

impl Store {
    /// Authenticator secrets stored before they were sealed (R20): every user factor and
    /// agent whose secret is not in sealed form.
    pub async fn unsealed_factor_secrets(&self) -> Result<Vec<UnsealedSecret>, StoreError> {
        on_reader!(self, pool => {
            let rows = sqlx::query(
                "SELECT 'totp_factors' AS tbl, account_id AS owner, secret FROM totp_factors WHERE secret NOT LIKE 'v1.%'
                 UNION ALL
                 SELECT 'support_agents', id, totp_secret FROM support_agents WHERE totp_secret NOT LIKE 'v1.%'",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let table: String = r.try_get("tbl")?;
                    Ok(UnsealedSecret {
                        agent: table == "support_agents",
                        owner: r.try_get("owner")?,
                        secret: r.try_get("secret")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
    }

    /// Replaces one unsealed secret by its sealed form (only if it is still the same).
    pub async fn seal_factor_secret(
        &self,
        unsealed: &UnsealedSecret,
        sealed: &str,
    ) -> Result<(), StoreError> {
        let sql = if unsealed.agent {
            "UPDATE support_agents SET totp_secret = $1 WHERE id = $2 AND totp_secret = $3"
        } else {
            "UPDATE totp_factors SET secret = $1 WHERE account_id = $2 AND secret = $3"
        };
        on_db!(self, pool => sqlx::query(sql)
            .bind(sealed)
            .bind(&unsealed.owner)
            .bind(&unsealed.secret)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

/// An authenticator secret found in plaintext (stored by an earlier version).
#[derive(Clone)]
pub struct UnsealedSecret {
    /// A support agent's (else a user's) authenticator.
    pub agent: bool,
    /// The account or agent id: the sealed form's associated data.
    pub owner: String,
    pub secret: String,
}

/// By hand: the secret never reaches a log.
impl std::fmt::Debug for UnsealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UnsealedSecret(agent: {}, owner: {})",
            self.agent, self.owner
        )
    }
}
