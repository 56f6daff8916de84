//! The store conformance suite: every test runs on SQLite and on PostgreSQL, so the two
//! backends cannot drift apart unnoticed. Covers the store side of R4 (ledger), R5
//! (codes, TOTP), R6 (identity records), R9 (tombstones) and R14 (audit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use offboard_core::identity::{Country, DocumentType, IdentityStatus};
use offboard_core::otp::{SendDecision, Verdict};
use offboard_core::throttle::FailureStats;
use offboard_core::{AccountId, EmailAddress};
use offboard_core::{Channel, PhoneNumber, Purpose};
use offboard_store::testing::TestDatabase;
use offboard_store::{
    AuditEntry, Backend, NewSession, OutboxMessage, SessionKind, SignIn, Store, StoreError,
};
use offboard_store::{CleanupPolicy, DeliveryAttempt, JobKind, WebhookEndpoint};
use offboard_store::{CodeSlot, NewCode, SettledBy};

const BY_ADMIN: SettledBy<'static> = SettledBy {
    actor: "admin",
    note: "",
};
use offboard_store::{IdentityRow, NewIdentity};
use std::future::Future;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

async fn on<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = TestDatabase::new(backend).await.expect("test database");
    let store = db.store().await.expect("migrated store");
    test(store.clone()).await;
    store.close().await;
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::on(offboard_store::Backend::Sqlite, super::$name).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::on(offboard_store::Backend::Postgres, super::$name).await } )* }
    };
}

conformance!(
    freeze_spends_its_link_once_and_refunds_pending_withdrawals,
    a_started_flow_and_its_audit_commit_together,
    accounts_round_trip,
    duplicate_email_is_a_conflict,
    password_change_revokes_sessions,
    password_reset_is_one_write_with_its_cool_off_and_audit,
    sessions_by_kind_and_revocation,
    login_attempts_counted_in_the_window,
    parallel_login_attempts_see_each_other,
    a_sign_in_and_its_audit_line_commit_together,
    outbox_newest_first_and_filtered,
    audit_appends_in_order,
    migrations_are_idempotent,
    codes_issue_retire_and_consume,
    the_resend_wait_rounds_up_to_whole_seconds,
    totp_setup_cannot_replace_a_bound_authenticator,
    a_phone_binds_to_one_account_only,
    identity_round_trip_and_history,
    identity_keeps_approved_numbers_and_replaces_pending_ones,
    accounts_found_by_document_index,
    one_identity_one_live_account,
    identity_needs_an_account,
    concurrent_deposits_and_withdrawals_keep_the_books_balanced,
    retried_deposits_credit_once,
    withdrawals_settle_once,
    jobs_are_claimed_by_one_owner_at_a_time,
    an_expired_lease_is_taken_over,
    failed_jobs_retry_then_die_and_are_revived,
    shutdown_releases_held_jobs,
    events_fan_out_once_to_subscribed_endpoints,
    cleanup_removes_expired_sessions_and_idle_flows,
    a_recovery_approval_is_all_or_nothing_and_once,
    deposits_to_deleted_accounts_are_unclaimed,
    holds_and_pending_items_show_in_holdings,
    an_unreadable_amount_is_an_error,
    lifting_a_tombstone_removes_only_its_hash_with_its_audit_line,
    support_requests_are_capped_per_account_with_their_audit,
    a_parallel_burst_opens_at_most_three_support_requests,
    a_support_answer_queues_its_mail_and_audit_once,
    the_erasure_deletes_support_requests,
);

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

async fn accounts_round_trip(store: Store) {
    let id = AccountId::new();
    store
        .create_account(id, &email("a@example.com"), "$argon2id$x", T0)
        .await
        .unwrap();
    let found = store
        .find_account_by_email(&email("A@Example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, id);
    assert_eq!(found.email, "a@example.com");
    assert_eq!(found.password_hash, "$argon2id$x");
    assert_eq!(found.created_at, T0);
    assert_eq!(store.get_account(id).await.unwrap().unwrap().id, id);
    assert!(store
        .find_account_by_email(&email("b@example.com"))
        .await
        .unwrap()
        .is_none());
    assert!(store.get_account(AccountId::new()).await.unwrap().is_none());
}

async fn duplicate_email_is_a_conflict(store: Store) {
    store
        .create_account(AccountId::new(), &email("dup@example.com"), "h", T0)
        .await
        .unwrap();
    let again = store
        .create_account(AccountId::new(), &email("dup@example.com"), "h", T0)
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}

async fn password_change_revokes_sessions(store: Store) {
    let id = AccountId::new();
    store
        .create_account(id, &email("p@example.com"), "old", T0)
        .await
        .unwrap();
    for token in ["t1", "t2"] {
        let new = NewSession {
            token_hash: token,
            account_id: id,
            kind: SessionKind::User,
            now: T0,
            user_agent: None,
        };
        store.create_session(new).await.unwrap();
    }
    assert!(store.set_password(id, "new", T0).await.unwrap());
    assert_eq!(
        store.get_account(id).await.unwrap().unwrap().password_hash,
        "new"
    );
    assert!(store
        .find_session_with_account("t1", SessionKind::User)
        .await
        .unwrap()
        .is_none());
    assert!(store.list_sessions(id).await.unwrap().is_empty());
}

/// R13: the reset's password, cool-off, session revocation and audit line land together,
/// and an id without an active account takes none of them.
async fn password_reset_is_one_write_with_its_cool_off_and_audit(store: Store) {
    let id = AccountId::new();
    store
        .create_account(id, &email("reset@example.com"), "old", T0)
        .await
        .unwrap();
    let session = NewSession {
        token_hash: "reset-t1",
        account_id: id,
        kind: SessionKind::User,
        now: T0,
        user_agent: None,
    };
    store.create_session(session).await.unwrap();
    let until = T0 + time::Duration::hours(24);
    let line = AuditEntry {
        at: T0,
        account_id: Some(id),
        actor: "user",
        action: "password_reset",
        detail: None,
    };
    assert!(store.reset_password(id, "new", until, &line).await.unwrap());
    assert_eq!(
        store.get_account(id).await.unwrap().unwrap().password_hash,
        "new"
    );
    assert_eq!(store.cooloff_until(id).await.unwrap(), Some(until));
    assert!(store.list_sessions(id).await.unwrap().is_empty());
    let actions: Vec<String> = store
        .audit_of_account(id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions, vec!["password_reset".to_owned()]);

    // No active account under this id: nothing is written, not even the audit line.
    let gone = AccountId::new();
    let line = AuditEntry {
        account_id: Some(gone),
        ..line
    };
    assert!(!store
        .reset_password(gone, "new", until, &line)
        .await
        .unwrap());
    assert!(store.audit_of_account(gone).await.unwrap().is_empty());
}

async fn sessions_by_kind_and_revocation(store: Store) {
    let id = AccountId::new();
    store
        .create_account(id, &email("s@example.com"), "h", T0)
        .await
        .unwrap();
    let new = NewSession {
        token_hash: "hash-1",
        account_id: id,
        kind: SessionKind::User,
        now: T0,
        user_agent: Some("curl"),
    };
    store.create_session(new).await.unwrap();
    let (s, _) = store
        .find_session_with_account("hash-1", SessionKind::User)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s.account_id, s.created_at, s.last_seen_at), (id, T0, T0));
    assert_eq!(s.user_agent.as_deref(), Some("curl"));
    store
        .touch_session("hash-1", T0 + Duration::minutes(5))
        .await
        .unwrap();
    let (s, _) = store
        .find_session_with_account("hash-1", SessionKind::User)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.last_seen_at, T0 + Duration::minutes(5));
    // The one-query lookup every request makes answers the same session and its account.
    let (joined, account) = store
        .find_session_with_account("hash-1", SessionKind::User)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (joined.account_id, joined.created_at, joined.last_seen_at),
        (id, T0, T0 + Duration::minutes(5))
    );
    assert_eq!(account.id, id);
    assert!(!account.email.is_empty());
    assert!(store
        .find_session_with_account("unknown", SessionKind::User)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_session_with_account("unknown", SessionKind::User)
        .await
        .unwrap()
        .is_none());
    store.delete_session("hash-1").await.unwrap();
    assert!(store
        .find_session_with_account("hash-1", SessionKind::User)
        .await
        .unwrap()
        .is_none());
}

async fn login_attempts_counted_in_the_window(store: Store) {
    let (old, _) = store
        .begin_login_attempt("L", "A", T0 - Duration::hours(2))
        .await
        .unwrap();
    let (a, _) = store
        .begin_login_attempt("L", "A", T0 - Duration::minutes(10))
        .await
        .unwrap();
    let (_b, _) = store
        .begin_login_attempt("L", "B", T0 - Duration::minutes(5))
        .await
        .unwrap();
    let (_c, _) = store
        .begin_login_attempt("M", "A", T0 - Duration::minutes(3))
        .await
        .unwrap();
    let (mine, seen) = store.begin_login_attempt("L", "A", T0).await.unwrap();
    assert!(old < a && a < mine);
    // The attempt two hours ago is outside the window; this attempt is not in its own counts.
    assert_eq!(
        seen.pair,
        FailureStats {
            count: 1,
            latest: Some(T0 - Duration::minutes(10)),
            oldest: Some(T0 - Duration::minutes(10))
        }
    );
    assert_eq!(
        seen.account,
        FailureStats {
            count: 2,
            latest: Some(T0 - Duration::minutes(5)),
            oldest: Some(T0 - Duration::minutes(10))
        }
    );
    assert_eq!(seen.address.count, 2);
    store.forget_login_attempt(a).await.unwrap();
    let (_, seen) = store.begin_login_attempt("L", "A", T0).await.unwrap();
    assert_eq!(
        seen.pair.count, 1,
        "the forgotten attempt no longer counts, this one's predecessor does"
    );
    assert_eq!(store.prune_login_attempts(T0).await.unwrap(), 1);
}

async fn parallel_login_attempts_see_each_other(store: Store) {
    // Twenty attempts at once: the counts each one saw must be exactly 0..20, i.e. every
    // attempt saw all the attempts recorded before it (no lost update).
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .begin_login_attempt("P", "A", T0)
                    .await
                    .unwrap()
                    .1
                    .pair
                    .count
            })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..20).collect::<Vec<u32>>());
}

async fn outbox_newest_first_and_filtered(store: Store) {
    for (to, subject) in [
        ("x@example.com", "first"),
        ("y@example.com", "other"),
        ("x@example.com", "second"),
    ] {
        let msg = OutboxMessage {
            channel: "email",
            recipient: to,
            subject,
            body: "b",
            code: Some("123456"),
            sent_at: T0,
        };
        store.outbox_push(msg).await.unwrap();
    }
    let for_x = store.outbox_list(Some("x@example.com"), 10).await.unwrap();
    let subjects: Vec<_> = for_x.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["second", "first"]);
    assert_eq!(for_x[0].code.as_deref(), Some("123456"));
    assert_eq!(store.outbox_list(None, 10).await.unwrap().len(), 3);
    assert_eq!(store.outbox_list(None, 1).await.unwrap().len(), 1);
}

async fn audit_appends_in_order(store: Store) {
    let id = AccountId::new();
    for action in ["signup", "login", "logout"] {
        let entry = AuditEntry {
            at: T0,
            account_id: Some(id),
            actor: "user",
            action,
            detail: None,
        };
        store.audit(entry).await.unwrap();
    }
    let actions: Vec<_> = store
        .audit_of_account(id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions, ["signup", "login", "logout"]);
}

async fn migrations_are_idempotent(store: Store) {
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

async fn account(store: &Store, email_text: &str) -> AccountId {
    let id = AccountId::new();
    store
        .create_account(id, &email(email_text), "h", T0)
        .await
        .unwrap();
    id
}

async fn codes_issue_retire_and_consume(store: Store) {
    let id = account(&store, "otp@example.com").await;
    let new = || NewCode {
        account_id: id,
        purpose: Purpose::Unbind,
        channel: Channel::Email,
        flow_id: None,
        destination: None,
    };
    let first = store
        .issue_code(new(), T0, |cid| format!("hash-{cid}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.expires_at, T0 + Duration::minutes(10));
    // Within the cooldown: refused, nothing written.
    let again = store
        .issue_code(new(), T0 + Duration::seconds(30), |_| unreachable!())
        .await
        .unwrap();
    assert_eq!(
        again.unwrap_err(),
        SendDecision::ResendTooSoon {
            retry_after: Duration::seconds(30),
            last_code_usable: true,
        }
    );
    let second = store
        .issue_code(new(), T0 + Duration::seconds(61), |cid| {
            format!("hash-{cid}")
        })
        .await
        .unwrap()
        .unwrap();
    // The judge sees only the newest live code.
    let seen = std::sync::Mutex::new(None);
    let check = store
        .check_code(
            CodeSlot {
                account_id: id,
                purpose: Purpose::Unbind,
                channel: Channel::Email,
                flow_id: None,
            },
            T0 + Duration::seconds(62),
            false,
            |ctx| {
                *seen.lock().unwrap() = ctx.latest.as_ref().map(|c| c.id.clone());
                Verdict::Accepted
            },
        )
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().as_deref(), Some(second.id.as_str()));
    assert_ne!(first.id, second.id);
    assert_eq!(check.code_id.as_deref(), Some(second.id.as_str()));
    assert!(store
        .consume_code(&second.id, T0 + Duration::seconds(63))
        .await
        .unwrap());
    assert!(
        !store
            .consume_code(&second.id, T0 + Duration::seconds(64))
            .await
            .unwrap(),
        "single use"
    );
    // Within the cooldown after the code was used: still refused, saying it is used.
    assert_eq!(
        store
            .issue_code(new(), T0 + Duration::seconds(65), |_| unreachable!())
            .await
            .unwrap()
            .unwrap_err(),
        SendDecision::ResendTooSoon {
            retry_after: Duration::seconds(56),
            last_code_usable: false,
        }
    );
    // A wrong verdict costs a try and a unit of the hourly budget.
    store
        .issue_code(new(), T0 + Duration::seconds(200), |cid| {
            format!("hash-{cid}")
        })
        .await
        .unwrap()
        .unwrap();
    store
        .check_code(
            CodeSlot {
                account_id: id,
                purpose: Purpose::Unbind,
                channel: Channel::Email,
                flow_id: None,
            },
            T0 + Duration::seconds(201),
            false,
            |_| Verdict::Wrong { attempts_left: 4 },
        )
        .await
        .unwrap();
    store
        .check_code(
            CodeSlot {
                account_id: id,
                purpose: Purpose::Unbind,
                channel: Channel::Email,
                flow_id: None,
            },
            T0 + Duration::seconds(202),
            false,
            |ctx| {
                assert_eq!(ctx.latest.as_ref().unwrap().attempts, 1);
                assert_eq!(ctx.failures_last_hour, 1);
                Verdict::Accepted
            },
        )
        .await
        .unwrap();
}

/// R5: a new code may be asked for 60 s after the last one. The wait a page counts down is
/// rounded up, so a countdown that reaches zero never meets "too soon".
async fn the_resend_wait_rounds_up_to_whole_seconds(store: Store) {
    let id = account(&store, "wait@example.com").await;
    let wait = |now| store.code_wait(id, Purpose::Deletion, Channel::Email, now);
    assert_eq!(wait(T0).await.unwrap(), 0, "no code yet: no wait");
    store
        .issue_code(
            NewCode {
                account_id: id,
                purpose: Purpose::Deletion,
                channel: Channel::Email,
                flow_id: None,
                destination: None,
            },
            T0,
            |cid| format!("hash-{cid}"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wait(T0).await.unwrap(), 60);
    assert_eq!(wait(T0 + Duration::milliseconds(500)).await.unwrap(), 60);
    assert_eq!(wait(T0 + Duration::seconds(59)).await.unwrap(), 1);
    assert_eq!(wait(T0 + Duration::milliseconds(59_001)).await.unwrap(), 1);
    assert_eq!(wait(T0 + Duration::seconds(60)).await.unwrap(), 0);
    assert_eq!(wait(T0 + Duration::seconds(600)).await.unwrap(), 0);
    // Another purpose or channel has its own clock.
    assert_eq!(
        store
            .code_wait(id, Purpose::Unbind, Channel::Email, T0)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .code_wait(id, Purpose::Deletion, Channel::Sms, T0)
            .await
            .unwrap(),
        0
    );
}

async fn totp_setup_cannot_replace_a_bound_authenticator(store: Store) {
    let id = account(&store, "totp@example.com").await;
    let overview = store.authenticator_and_identity_status(id).await.unwrap();
    assert_eq!(
        overview,
        (false, None),
        "no authenticator, no identity record"
    );
    store.begin_totp(id, "SECRETONE", T0).await.unwrap();
    store.begin_totp(id, "SECRETTWO", T0).await.unwrap();
    let row = store.totp_factor(id).await.unwrap().unwrap();
    assert_eq!((row.secret.as_str(), row.confirmed), ("SECRETTWO", false));
    assert!(
        !store.authenticator_and_identity_status(id).await.unwrap().0,
        "an unconfirmed set-up is not a bound authenticator"
    );
    store
        .check_totp(id, Purpose::FactorSetup, T0, true, |_, _, _| {
            (Verdict::Accepted, Some(100))
        })
        .await
        .unwrap();
    let row = store.totp_factor(id).await.unwrap().unwrap();
    assert_eq!((row.confirmed, row.last_step), (true, Some(100)));
    store
        .upsert_identity(new_identity(
            id,
            IdentityStatus::Pending,
            "idx-me",
            "user",
            T0,
        ))
        .await
        .unwrap();
    assert_eq!(
        store.authenticator_and_identity_status(id).await.unwrap(),
        (true, Some(IdentityStatus::Pending))
    );
    assert!(matches!(
        store.begin_totp(id, "SECRETTHREE", T0).await,
        Err(StoreError::Conflict)
    ));
    assert!(
        !store.consume_totp_step(id, 100).await.unwrap(),
        "a used step again"
    );
    assert!(store.consume_totp_step(id, 101).await.unwrap());
    assert!(store.remove_totp(id, T0).await.unwrap());
    assert!(store.totp_factor(id).await.unwrap().is_none());
}

async fn a_phone_binds_to_one_account_only(store: Store) {
    let a = account(&store, "pa@example.com").await;
    let b = account(&store, "pb@example.com").await;
    let phone = PhoneNumber::parse("+447911123456").unwrap();
    store.set_phone(a, &phone, T0).await.unwrap();
    assert!(matches!(
        store.set_phone(b, &phone, T0).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .get_account(a)
            .await
            .unwrap()
            .unwrap()
            .phone
            .as_deref(),
        Some("+447911123456")
    );
    store.clear_phone(a, T0).await.unwrap();
    store.set_phone(b, &phone, T0).await.unwrap();
}

fn new_identity<'a>(
    account_id: AccountId,
    status: IdentityStatus,
    number: &'a str,
    actor: &'a str,
    now: OffsetDateTime,
) -> NewIdentity<'a> {
    NewIdentity {
        account_id,
        document_type: DocumentType::Passport,
        country: Country::parse("gb").unwrap(),
        expires_on: time::macros::date!(2031 - 04 - 30),
        status,
        number_sealed: number,
        number_index: number,
        number_masked: "•••456",
        reason: None,
        actor,
        now,
        audit: Vec::new(),
    }
}

fn indexes(row: &IdentityRow) -> Vec<(&str, bool)> {
    row.numbers
        .iter()
        .map(|n| (n.index.as_str(), n.approved_at.is_some()))
        .collect()
}

async fn identity_round_trip_and_history(store: Store) {
    let id = account(&store, "kyc@example.com").await;
    assert!(store.identity(id).await.unwrap().is_none());
    store
        .upsert_identity(new_identity(
            id,
            IdentityStatus::Pending,
            "idx-a",
            "user",
            T0,
        ))
        .await
        .unwrap();
    let row = store.identity(id).await.unwrap().unwrap();
    assert_eq!(row.account_id, id);
    assert_eq!(row.document_type, DocumentType::Passport);
    assert_eq!(row.country.as_str(), "GB");
    assert_eq!(row.expires_on, time::macros::date!(2031 - 04 - 30));
    assert_eq!(row.status, IdentityStatus::Pending);
    assert_eq!((row.created_at, row.updated_at), (T0, T0));
    assert_eq!(indexes(&row), [("idx-a", false)]);
    let latest = row.latest_number().unwrap();
    assert_eq!((latest.sealed.as_str(), latest.added_at), ("idx-a", T0));

    // A resubmission while pending replaces the pending number and the document.
    let mut again = new_identity(
        id,
        IdentityStatus::Pending,
        "idx-b",
        "user",
        T0 + Duration::minutes(1),
    );
    again.document_type = DocumentType::IdCard;
    again.country = Country::parse("DE").unwrap();
    store.upsert_identity(again).await.unwrap();
    let row = store.identity(id).await.unwrap().unwrap();
    assert_eq!(
        (row.document_type, row.country.as_str()),
        (DocumentType::IdCard, "DE")
    );
    assert_eq!(indexes(&row), [("idx-b", false)]);
    assert_eq!(
        (row.created_at, row.updated_at),
        (T0, T0 + Duration::minutes(1))
    );

    let later = T0 + Duration::minutes(2);
    assert!(store
        .set_identity_status(id, IdentityStatus::Approved, "admin", later)
        .await
        .unwrap());
    let row = store.identity(id).await.unwrap().unwrap();
    assert_eq!(row.status, IdentityStatus::Approved);
    assert_eq!(row.numbers[0].approved_at, Some(later));
    assert_eq!(row.approved_numbers().count(), 1);
    assert!(!store
        .set_identity_status(AccountId::new(), IdentityStatus::Approved, "admin", later)
        .await
        .unwrap());

    let history = store.identity_history(id).await.unwrap();
    let lines: Vec<_> = history
        .iter()
        .map(|h| (h.actor.as_str(), h.change.as_str()))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0].0, "user");
    assert!(
        lines[0].1.starts_with(
            "document submitted: passport, GB, expires 2031-04-30, number •••456, status pending"
        ),
        "{}",
        lines[0].1
    );
    assert!(
        lines[1].1.starts_with("document updated: id_card, DE"),
        "{}",
        lines[1].1
    );
    assert!(lines[1].1.ends_with("(was pending)"), "{}", lines[1].1);
    assert_eq!(lines[2], ("admin", "status: pending → approved"));
    assert_eq!(history[2].at, later);
    assert!(store
        .identity_history(AccountId::new())
        .await
        .unwrap()
        .is_empty());
}

async fn identity_keeps_approved_numbers_and_replaces_pending_ones(store: Store) {
    let id = account(&store, "renewed@example.com").await;
    store
        .upsert_identity(new_identity(
            id,
            IdentityStatus::Approved,
            "idx-a",
            "admin",
            T0,
        ))
        .await
        .unwrap();
    // Support records a changed number: the original stays valid, the new one is last.
    let mut changed = new_identity(
        id,
        IdentityStatus::Approved,
        "idx-b",
        "agent:7",
        T0 + Duration::days(1),
    );
    changed.reason = Some("passport renewed");
    store.upsert_identity(changed).await.unwrap();
    let row = store.identity(id).await.unwrap().unwrap();
    assert_eq!(indexes(&row), [("idx-a", true), ("idx-b", true)]);
    assert_eq!(row.numbers[1].reason.as_deref(), Some("passport renewed"));
    assert_eq!(row.numbers[0].approved_at, Some(T0), "approval time kept");

    // A pending number joins, and a second pending one replaces it.
    for idx in ["idx-c", "idx-d"] {
        store
            .upsert_identity(new_identity(
                id,
                IdentityStatus::Pending,
                idx,
                "admin",
                T0 + Duration::days(2),
            ))
            .await
            .unwrap();
    }
    let row = store.identity(id).await.unwrap().unwrap();
    assert_eq!(row.status, IdentityStatus::Pending);
    assert_eq!(
        indexes(&row),
        [("idx-a", true), ("idx-b", true), ("idx-d", false)]
    );

    // A rejection keeps the list; re-approving the original moves it to the end, once.
    assert!(store
        .set_identity_status(
            id,
            IdentityStatus::Rejected,
            "admin",
            T0 + Duration::days(3)
        )
        .await
        .unwrap());
    store
        .upsert_identity(new_identity(
            id,
            IdentityStatus::Approved,
            "idx-a",
            "admin",
            T0 + Duration::days(4),
        ))
        .await
        .unwrap();
    let row = store.identity(id).await.unwrap().unwrap();
    assert_eq!(row.status, IdentityStatus::Approved);
    assert_eq!(indexes(&row), [("idx-b", true), ("idx-a", true)]);
    assert_eq!(row.numbers[1].approved_at, Some(T0));
    let history = store.identity_history(id).await.unwrap();
    assert_eq!(history.len(), 6);
    assert!(
        history[1].change.ends_with("; reason: passport renewed"),
        "{}",
        history[1].change
    );
    assert_eq!(history[4].change, "status: pending → rejected");
}

async fn accounts_found_by_document_index(store: Store) {
    let a = account(&store, "doc-a@example.com").await;
    let b = account(&store, "doc-b@example.com").await;
    let c = account(&store, "doc-c@example.com").await;
    for (id, idx, status) in [
        (a, "shared", IdentityStatus::Approved),
        (b, "other", IdentityStatus::Approved),
        (c, "shared", IdentityStatus::Pending),
    ] {
        store
            .upsert_identity(new_identity(id, status, idx, "admin", T0))
            .await
            .unwrap();
    }
    assert_eq!(
        store.accounts_by_document_index("shared").await.unwrap(),
        [a, c]
    );
    assert_eq!(
        store.accounts_by_document_index("other").await.unwrap(),
        [b]
    );
    assert!(store
        .accounts_by_document_index("nobody")
        .await
        .unwrap()
        .is_empty());
}

// R19: a document number (by its blind index) is approved on at most one live account,
// whether the second approval comes with the record or as a later status change.
async fn one_identity_one_live_account(store: Store) {
    let a = account(&store, "r19-a@example.com").await;
    let b = account(&store, "r19-b@example.com").await;
    store
        .upsert_identity(new_identity(
            a,
            IdentityStatus::Approved,
            "same",
            "admin",
            T0,
        ))
        .await
        .unwrap();
    let refused = store
        .upsert_identity(new_identity(
            b,
            IdentityStatus::Approved,
            "same",
            "admin",
            T0,
        ))
        .await;
    assert!(
        matches!(refused, Err(StoreError::DocumentHeld)),
        "{refused:?}"
    );
    assert!(
        store.identity(b).await.unwrap().is_none(),
        "nothing was written"
    );
    // Pending is allowed; approving it later is refused, and it stays pending.
    store
        .upsert_identity(new_identity(
            b,
            IdentityStatus::Pending,
            "same",
            "admin",
            T0,
        ))
        .await
        .unwrap();
    let refused = store
        .set_identity_status(b, IdentityStatus::Approved, "admin", T0)
        .await;
    assert!(
        matches!(refused, Err(StoreError::DocumentHeld)),
        "{refused:?}"
    );
    assert_eq!(
        store.identity(b).await.unwrap().unwrap().status,
        IdentityStatus::Pending
    );
    // The holder itself may re-approve its own number.
    store
        .upsert_identity(new_identity(
            a,
            IdentityStatus::Approved,
            "same",
            "admin",
            T0,
        ))
        .await
        .unwrap();
}

async fn identity_needs_an_account(store: Store) {
    let ghost = AccountId::new();
    assert!(store
        .upsert_identity(new_identity(
            ghost,
            IdentityStatus::Pending,
            "idx",
            "admin",
            T0
        ))
        .await
        .is_err());
    assert!(store.identity(ghost).await.unwrap().is_none());
    assert!(
        store
            .accounts_by_document_index("idx")
            .await
            .unwrap()
            .is_empty(),
        "rolled back"
    );
}

fn d(text: &str) -> rust_decimal::Decimal {
    text.parse().unwrap()
}

async fn concurrent_deposits_and_withdrawals_keep_the_books_balanced(store: Store) {
    use offboard_store::{Settlement, WithdrawalOutcome};
    let id = account(&store, "ledger@example.com").await;
    store.deposit(id, "BTC", d("1"), None, T0).await.unwrap();
    // 40 deposits of 0.01 and 40 withdrawals of 0.02 at once: no lost or doubled money.
    let mut tasks = Vec::new();
    for i in 0..80 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                store.deposit(id, "BTC", d("0.01"), None, T0).await.unwrap();
                None
            } else {
                match store
                    .request_withdrawal(id, "BTC", d("0.02"), "bc1qexample", T0)
                    .await
                    .unwrap()
                {
                    WithdrawalOutcome::Requested { withdrawal_id } => Some(withdrawal_id),
                    other => panic!("there was always enough, and no freeze or hold: {other:?}"),
                }
            }
        }));
    }
    let mut withdrawals = Vec::new();
    for t in tasks {
        if let Some(w) = t.await.unwrap() {
            withdrawals.push(w);
        }
    }
    // Settle half as failed (funds return) and half as completed, concurrently.
    let mut settles = Vec::new();
    for (i, w) in withdrawals.into_iter().enumerate() {
        let store = store.clone();
        settles.push(tokio::spawn(async move {
            let how = if i % 2 == 0 {
                Settlement::Fail
            } else {
                Settlement::Complete
            };
            store
                .settle_withdrawal(&w, how, T0, &BY_ADMIN)
                .await
                .unwrap()
        }));
    }
    for s in settles {
        s.await.unwrap();
    }
    // 1 + 40 * 0.01 - 40 * 0.02 + 20 * 0.02 returned = 1.0
    let holdings = store.holdings(id).await.unwrap();
    assert_eq!(holdings.balances[0].amount, d("1.00"));
    assert!(holdings.pending.is_empty());
    let audit = store.ledger_audit().await.unwrap();
    assert_eq!(audit.violations(), Vec::<String>::new());
}

async fn retried_deposits_credit_once(store: Store) {
    use offboard_store::DepositOutcome;
    let id = account(&store, "idem@example.com").await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .deposit(id, "ETH", d("2.5"), Some("key-1"), T0)
                .await
                .unwrap()
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut credited = 0;
    for t in tasks {
        match t.await.unwrap() {
            DepositOutcome::Credited { deposit_id } => {
                credited += 1;
                ids.insert(deposit_id);
            }
            DepositOutcome::Repeated { deposit_id } => {
                ids.insert(deposit_id);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        (credited, ids.len()),
        (1, 1),
        "credited once, one id for every retry"
    );
    assert_eq!(
        store.holdings(id).await.unwrap().balances[0].amount,
        d("2.5")
    );
    assert_eq!(
        store
            .deposit(id, "ETH", d("3"), Some("key-1"), T0)
            .await
            .unwrap(),
        DepositOutcome::KeyReused
    );
}

async fn withdrawals_settle_once(store: Store) {
    use offboard_store::{SettleOutcome, Settlement, WithdrawalOutcome};
    let id = account(&store, "settle@example.com").await;
    store.deposit(id, "USDT", d("100"), None, T0).await.unwrap();
    let over = store
        .request_withdrawal(id, "USDT", d("100.000001"), "0xabc", T0)
        .await
        .unwrap();
    assert_eq!(
        over,
        WithdrawalOutcome::InsufficientFunds {
            available: d("100")
        }
    );
    let WithdrawalOutcome::Requested { withdrawal_id: a } = store
        .request_withdrawal(id, "USDT", d("60"), "0xabc", T0)
        .await
        .unwrap()
    else {
        panic!()
    };
    let WithdrawalOutcome::Requested { withdrawal_id: b } = store
        .request_withdrawal(id, "USDT", d("40"), "0xabc", T0)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        store
            .settle_withdrawal(&a, Settlement::Complete, T0, &BY_ADMIN)
            .await
            .unwrap(),
        SettleOutcome::Done
    );
    assert_eq!(
        store
            .settle_withdrawal(&a, Settlement::Fail, T0, &BY_ADMIN)
            .await
            .unwrap(),
        SettleOutcome::AlreadySettled {
            status: "completed".into()
        },
        "a completed withdrawal cannot be failed afterwards"
    );
    assert_eq!(
        store
            .settle_withdrawal(&b, Settlement::Fail, T0, &BY_ADMIN)
            .await
            .unwrap(),
        SettleOutcome::Done
    );
    assert_eq!(
        store
            .settle_withdrawal(&b, Settlement::Complete, T0, &BY_ADMIN)
            .await
            .unwrap(),
        SettleOutcome::AlreadySettled {
            status: "failed".into()
        },
        "nor the reverse"
    );
    assert_eq!(
        store
            .settle_withdrawal("nope", Settlement::Complete, T0, &BY_ADMIN)
            .await
            .unwrap(),
        SettleOutcome::NotFound
    );
    // Each settlement wrote its audit line in its own transaction; the refused ones none (R14).
    let settled: Vec<String> = store
        .audit_of_account(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("withdrawal_"))
        .map(|e| format!("{} {} {}", e.actor, e.action, e.detail.unwrap_or_default()))
        .collect();
    assert_eq!(
        settled,
        [
            format!("admin withdrawal_completed withdrawal={a}"),
            format!("admin withdrawal_failed withdrawal={b}"),
        ]
    );
    assert_eq!(
        store.holdings(id).await.unwrap().balances[0].amount,
        d("40"),
        "the failed one returned its funds"
    );
    assert_eq!(
        store.ledger_audit().await.unwrap().violations(),
        Vec::<String>::new()
    );
}

async fn deposits_to_deleted_accounts_are_unclaimed(store: Store) {
    use offboard_store::DepositOutcome;
    let id = account(&store, "gone@example.com").await;
    offboard_store::testing::mark_deleted(&store, id)
        .await
        .unwrap();
    let outcome = store.deposit(id, "BTC", d("1"), None, T0).await.unwrap();
    assert!(
        matches!(outcome, DepositOutcome::AccountDeleted { .. }),
        "{outcome:?}"
    );
    assert!(
        store.holdings(id).await.unwrap().balances.is_empty(),
        "never silently credited"
    );
    assert_eq!(
        store.deposits_of(id).await.unwrap()[0].status,
        "unclaimed",
        "never lost either"
    );
    assert_eq!(
        store
            .deposit(AccountId::new(), "BTC", d("1"), None, T0)
            .await
            .unwrap(),
        DepositOutcome::NoSuchAccount
    );
}

async fn holds_and_pending_items_show_in_holdings(store: Store) {
    let id = account(&store, "holds@example.com").await;
    let hold = store
        .add_hold(id, "order", "ORD-7", T0)
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .add_hold(AccountId::new(), "order", "x", T0)
        .await
        .unwrap()
        .is_none());
    store.deposit(id, "BTC", d("0.5"), None, T0).await.unwrap();
    store
        .request_withdrawal(id, "BTC", d("0.5"), "bc1qexample", T0)
        .await
        .unwrap();
    let h = store.holdings(id).await.unwrap();
    assert!(h.balances.is_empty(), "a zero balance is not listed");
    assert_eq!((h.holds.len(), h.holds[0].reference.as_str()), (1, "ORD-7"));
    assert_eq!(
        (h.pending.len(), h.pending[0].kind.as_str()),
        (1, "withdrawal")
    );
    assert!(store.release_hold(&hold).await.unwrap());
    assert!(!store.release_hold(&hold).await.unwrap());
    assert!(store.holdings(id).await.unwrap().holds.is_empty());
}

// R4: an amount the store cannot read is an error, in the holdings and in the erasure's
// re-check alike; never a stand-in value that merely happens to block.
async fn an_unreadable_amount_is_an_error(store: Store) {
    use offboard_store::{AccountStatus, Erasure};
    let id = account(&store, "corrupt@example.com").await;
    store.deposit(id, "BTC", d("1"), None, T0).await.unwrap();
    offboard_store::testing::overwrite_balance(&store, id, "BTC", "lots")
        .await
        .unwrap();
    let holdings = store.holdings(id).await;
    assert!(
        matches!(holdings, Err(StoreError::Corrupt(_))),
        "{holdings:?}"
    );
    let erasure = Erasure {
        account_id: id,
        flow_id: "no-flow".into(),
        now: T0,
        recheck_ledger: true,
        dust: Default::default(),
        tombstones: Vec::new(),
        allowed_from: T0,
        retained: Vec::new(),
        purge_after: T0,
        notice: Default::default(),
        event_payload: "{}".into(),
        notice_id: "no-notice".into(),
        login_key: "no-key".into(),
        email: "corrupt@example.com".into(),
    };
    let erased = store.erase_account(&erasure).await;
    assert!(matches!(erased, Err(StoreError::Corrupt(_))), "{erased:?}");
    assert_eq!(
        store.get_account(id).await.unwrap().unwrap().status,
        AccountStatus::Active
    );
}

// ---- Issue 7: jobs with leases (they carry R12's notice, R13's deliveries and R9/R10's
// purge), the event outbox (R13), clean-up (R2's idle flows) ----

async fn queue(store: &Store, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = format!("mail-{i:03}");
        store.enqueue_job(&id, JobKind::Mail, T0).await.unwrap();
        ids.push(id);
    }
    ids
}

async fn jobs_are_claimed_by_one_owner_at_a_time(store: Store) {
    let ids = queue(&store, 40).await;
    // Enqueueing again is harmless (fixed ids).
    store
        .enqueue_job("mail-000", JobKind::Mail, T0)
        .await
        .unwrap();
    let claim_all = |owner: &'static str| {
        let store = store.clone();
        async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_jobs(owner, T0, Duration::seconds(60), 3)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break mine;
                }
                mine.extend(batch.into_iter().map(|j| j.id));
            }
        }
    };
    let (a, b) = tokio::join!(claim_all("a"), claim_all("b"));
    let mut all: Vec<String> = a.iter().chain(b.iter()).cloned().collect();
    all.sort();
    assert_eq!(all, ids, "every job claimed exactly once");
    let counts = store.job_counts().await.unwrap();
    assert_eq!((counts.queued, counts.running), (0, 40));
}

async fn an_expired_lease_is_taken_over(store: Store) {
    queue(&store, 1).await;
    let lease = Duration::seconds(60);
    let first = store.claim_jobs("a", T0, lease, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    assert!(store
        .claim_jobs("b", T0 + Duration::seconds(30), lease, 10)
        .await
        .unwrap()
        .is_empty());
    // "a" died: after its lease, "b" takes the job over.
    let later = T0 + Duration::seconds(61);
    let taken = store.claim_jobs("b", later, lease, 10).await.unwrap();
    assert_eq!((taken.len(), taken[0].attempts), (1, 2));
    assert!(
        !store.finish_job("mail-000", "a", later).await.unwrap(),
        "a lost its lease"
    );
    assert!(store.finish_job("mail-000", "b", later).await.unwrap());
    assert!(
        !store.finish_job("mail-000", "b", later).await.unwrap(),
        "finished once"
    );
    assert_eq!(store.job("mail-000").await.unwrap().unwrap().state, "done");
    // A claim by id follows the same rules.
    store.enqueue_job("one", JobKind::Event, T0).await.unwrap();
    assert!(store
        .claim_job("one", "a", T0, lease)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .claim_job("one", "b", T0, lease)
        .await
        .unwrap()
        .is_none());
}

async fn failed_jobs_retry_then_die_and_are_revived(store: Store) {
    queue(&store, 1).await;
    let lease = Duration::seconds(60);
    store.claim_jobs("a", T0, lease, 1).await.unwrap();
    let retry_at = T0 + Duration::seconds(20);
    assert!(store
        .requeue_job("mail-000", "a", retry_at, Some("smtp down"), false, T0)
        .await
        .unwrap());
    assert!(store
        .claim_jobs("a", T0 + Duration::seconds(19), lease, 1)
        .await
        .unwrap()
        .is_empty());
    let again = store.claim_jobs("a", retry_at, lease, 1).await.unwrap();
    assert_eq!(again[0].attempts, 2, "attempts are kept across retries");
    assert!(store
        .bury_job("mail-000", "a", "smtp down", retry_at)
        .await
        .unwrap());
    let row = store.job("mail-000").await.unwrap().unwrap();
    assert_eq!(
        (row.state.as_str(), row.last_error.as_deref()),
        ("dead", Some("smtp down"))
    );
    assert_eq!(store.job_counts().await.unwrap().dead, 1);
    assert!(
        store
            .claim_jobs("a", T0 + Duration::days(1), lease, 1)
            .await
            .unwrap()
            .is_empty(),
        "dead jobs stay dead"
    );
    assert!(store.revive_job("mail-000", retry_at).await.unwrap());
    assert!(
        !store.revive_job("mail-000", retry_at).await.unwrap(),
        "only dead jobs revive"
    );
    let revived = store.claim_jobs("a", retry_at, lease, 1).await.unwrap();
    assert_eq!(
        revived[0].attempts, 1,
        "a replay starts with fresh attempts"
    );
}

async fn shutdown_releases_held_jobs(store: Store) {
    queue(&store, 3).await;
    let lease = Duration::seconds(60);
    assert_eq!(store.claim_jobs("a", T0, lease, 3).await.unwrap().len(), 3);
    assert_eq!(store.release_jobs("a", T0).await.unwrap(), 3);
    assert_eq!(
        store.claim_jobs("b", T0, lease, 3).await.unwrap().len(),
        3,
        "no wait for the lease"
    );
}

// R13: one delivery per subscribed endpoint, however often the fan-out runs.
async fn events_fan_out_once_to_subscribed_endpoints(store: Store) {
    let endpoint = |id: &str, events: &[&str]| WebhookEndpoint {
        id: id.into(),
        url: format!("http://127.0.0.1:9/{id}"),
        secret_sealed: "sealed".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        source: "api".into(),
        created_at: T0,
    };
    store
        .put_webhook_endpoint(&endpoint("wh_a", &["account.deleted"]))
        .await
        .unwrap();
    store
        .put_webhook_endpoint(&endpoint("wh_b", &["account.recovered"]))
        .await
        .unwrap();
    let event = store
        .record_event("account.deleted", r#"{"account_id":"x"}"#, T0)
        .await
        .unwrap();
    // The outbox queued the fan-out in the same transaction.
    let job = store.job(&event).await.unwrap().unwrap();
    assert_eq!((job.kind.as_str(), job.state.as_str()), ("event", "queued"));
    assert_eq!(store.fan_out_event(&event, T0).await.unwrap(), 1);
    assert_eq!(
        store.fan_out_event(&event, T0).await.unwrap(),
        0,
        "a second fan-out adds nothing"
    );
    let deliveries = store.deliveries_of("wh_a", 10).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        (
            deliveries[0].status.as_str(),
            deliveries[0].event_type.as_str()
        ),
        ("pending", "account.deleted")
    );
    assert!(
        store.deliveries_of("wh_b", 10).await.unwrap().is_empty(),
        "not subscribed"
    );
    let delivery = &deliveries[0].id;
    assert_eq!(store.job(delivery).await.unwrap().unwrap().kind, "webhook");
    assert_eq!(store.oldest_pending_delivery().await.unwrap(), Some(T0));
    store
        .record_delivery_attempt(
            delivery,
            &DeliveryAttempt::Failed {
                http_status: Some(500),
                error: "500".into(),
                dead: true,
            },
            T0,
        )
        .await
        .unwrap();
    assert!(store.replay_delivery(delivery, T0).await.unwrap());
    assert!(
        !store.replay_delivery(delivery, T0).await.unwrap(),
        "pending is not dead"
    );
    store
        .record_delivery_attempt(
            delivery,
            &DeliveryAttempt::Delivered { http_status: 200 },
            T0,
        )
        .await
        .unwrap();
    // A late duplicate failure does not undo a delivery (at-least-once).
    store
        .record_delivery_attempt(
            delivery,
            &DeliveryAttempt::Failed {
                http_status: None,
                error: "late".into(),
                dead: true,
            },
            T0,
        )
        .await
        .unwrap();
    let row = &store.deliveries_of("wh_a", 10).await.unwrap()[0];
    assert_eq!((row.status.as_str(), row.attempts), ("delivered", 2));
    assert_eq!(store.oldest_pending_delivery().await.unwrap(), None);
}

fn started(id: AccountId) -> offboard_store::AuditEntry<'static> {
    offboard_store::AuditEntry {
        at: T0,
        account_id: Some(id),
        actor: "user",
        action: "deletion_started",
        detail: None,
    }
}

// R1, R14: a new flow writes its audit line in its own transaction; resuming the
// session's live flow writes none; another session's start replaces it and writes one.
async fn a_started_flow_and_its_audit_commit_together(store: Store) {
    let id = account(&store, "started@example.com").await;
    let (first, created) = store
        .start_flow(id, "s1", false, T0, &started(id))
        .await
        .unwrap();
    assert!(created);
    let (again, created) = store
        .start_flow(id, "s1", false, T0, &started(id))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id, "the same session resumes its flow");
    let (other, created) = store
        .start_flow(id, "s2", false, T0, &started(id))
        .await
        .unwrap();
    assert!(created);
    assert_ne!(other.id, first.id);
    let starts = store
        .audit_of_account(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "deletion_started")
        .count();
    assert_eq!(starts, 2, "one line per new flow, none for a resume");
}

// R2: an idle deletion flow expires; expired sessions go.
async fn cleanup_removes_expired_sessions_and_idle_flows(store: Store) {
    let id = account(&store, "cleanup@example.com").await;
    store
        .create_session(NewSession {
            token_hash: "old",
            account_id: id,
            kind: SessionKind::User,
            user_agent: None,
            now: T0,
        })
        .await
        .unwrap();
    let (flow, _) = store
        .start_flow(id, "old", false, T0, &started(id))
        .await
        .unwrap();
    let policy = CleanupPolicy {
        session_idle: Duration::minutes(30),
        session_absolute: Duration::hours(12),
        agent_session_idle: Duration::minutes(30),
        agent_session_absolute: Duration::hours(8),
        flow_idle: Duration::minutes(15),
        code_grace: Duration::days(7),
        finished_jobs: Duration::days(7),
    };
    let report = store
        .cleanup_expired(T0 + Duration::minutes(10), &policy)
        .await
        .unwrap();
    assert_eq!(
        (report.sessions, report.flows_expired),
        (0, 0),
        "nothing has expired yet"
    );
    let report = store
        .cleanup_expired(T0 + Duration::minutes(31), &policy)
        .await
        .unwrap();
    assert_eq!((report.sessions, report.flows_expired), (1, 1));
    assert_eq!(
        store.flow(&flow.id).await.unwrap().unwrap().status,
        offboard_core::deletion::FlowStatus::Expired
    );
    assert!(store.live_flow(id).await.unwrap().is_none());
}

// R11, R13: approving a recovery decides the request, removes the authenticator and
// phone, ends the sessions, starts the cool-off and writes `account.recovered`, in one
// transaction and only once.
async fn a_recovery_approval_is_all_or_nothing_and_once(store: Store) {
    let id = account(&store, "recover@example.com").await;
    store.begin_totp(id, "SECRET", T0).await.unwrap();
    store
        .create_session(NewSession {
            token_hash: "s1",
            account_id: id,
            kind: SessionKind::User,
            user_agent: None,
            now: T0,
        })
        .await
        .unwrap();
    let request = store
        .add_recovery_request(offboard_store::NewRecoveryRequest {
            account_id: Some(id),
            email: "recover@example.com",
            message: "lost my phone",
            id_number_check: "not_given",
            now: T0,
        })
        .await
        .unwrap()
        .unwrap();
    let approval = offboard_store::RecoveryApproval {
        request_id: &request,
        account_id: id,
        agent_id: "agent-1",
        reason: "checked on a call",
        cooloff_until: T0 + Duration::hours(24),
        event_payload: r#"{"account_id":"x"}"#,
        audit: offboard_store::AuditEntry {
            at: T0,
            account_id: Some(id),
            actor: "agent:agent-1",
            action: "support_recovery_approved",
            detail: Some("reason: checked on a call"),
        },
        now: T0,
    };
    assert!(store.approve_recovery(&approval).await.unwrap());
    assert!(store.totp_factor(id).await.unwrap().is_none());
    assert!(store.list_sessions(id).await.unwrap().is_empty());
    assert_eq!(
        store.cooloff_until(id).await.unwrap(),
        Some(T0 + Duration::hours(24))
    );
    let recovered = |events: Vec<(String, String)>| {
        events
            .iter()
            .filter(|(kind, _)| kind == "account.recovered")
            .count()
    };
    assert_eq!(recovered(store.events().await.unwrap()), 1);
    assert!(
        !store.approve_recovery(&approval).await.unwrap(),
        "decided once"
    );
    assert_eq!(recovered(store.events().await.unwrap()), 1, "one event");
}

// R9, R14: the dev demo lifts its own identity's tombstone: only that hash goes, its
// audit line commits with it, and a failure in between leaves both as they were.
async fn lifting_a_tombstone_removes_only_its_hash_with_its_audit_line(store: Store) {
    use offboard_store::testing::insert_tombstone;
    let until = T0 + Duration::days(30);
    insert_tombstone(&store, "document", "demo-hash", T0, until)
        .await
        .unwrap();
    insert_tombstone(&store, "document", "other-hash", T0, until)
        .await
        .unwrap();
    insert_tombstone(&store, "email", "demo-email-hash", T0, until)
        .await
        .unwrap();
    let id = account(&store, "lift@example.com").await;
    let line = AuditEntry {
        at: T0,
        account_id: Some(id),
        actor: "system",
        action: "demo_tombstone_lifted",
        detail: Some("kind=document"),
    };
    let actions = |store: Store| async move {
        store
            .audit_of_account(id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.action)
            .collect::<Vec<_>>()
    };

    // A failure before the audit line: the tombstone stays, no line is written.
    store.inject_erasure_fault(1);
    let failed = store.lift_tombstone("demo-hash", &line).await;
    assert!(
        matches!(failed, Err(StoreError::InjectedFault)),
        "{failed:?}"
    );
    assert_eq!(
        store.tombstone_blocks("demo-hash", T0).await.unwrap(),
        Some(until)
    );
    assert!(actions(store.clone()).await.is_empty());

    assert_eq!(store.lift_tombstone("demo-hash", &line).await.unwrap(), 1);
    assert_eq!(store.tombstone_blocks("demo-hash", T0).await.unwrap(), None);
    assert_eq!(
        store.tombstone_blocks("other-hash", T0).await.unwrap(),
        Some(until),
        "another identity's tombstone stays"
    );
    assert_eq!(
        store.tombstone_blocks("demo-email-hash", T0).await.unwrap(),
        Some(until)
    );
    assert_eq!(actions(store.clone()).await, vec!["demo_tombstone_lifted"]);

    // Nothing left to lift: nothing written.
    assert_eq!(store.lift_tombstone("demo-hash", &line).await.unwrap(), 0);
    assert_eq!(actions(store.clone()).await.len(), 1);
}

// ---- Issue 15: contact requests (R11, R14; R7/R20 for their erasure) ----

fn opened(id: AccountId) -> AuditEntry<'static> {
    AuditEntry {
        at: T0,
        account_id: Some(id),
        actor: "user",
        action: "support_request_opened",
        detail: None,
    }
}

async fn open_request(store: &Store, id: AccountId, message: &str) -> Option<String> {
    let request = uuid::Uuid::now_v7().to_string();
    let new = offboard_store::NewSupportRequest {
        id: &request,
        account_id: id,
        topic: offboard_core::support::SupportTopic::DocumentChanged,
        message,
        now: T0,
    };
    store
        .open_support_request(&new, &opened(id))
        .await
        .unwrap()
        .then_some(request)
}

async fn agent(store: &Store, id: &str) {
    store
        .create_agent(offboard_store::NewAgent {
            id,
            email: &format!("{id}@support.example.com"),
            password_hash: "h",
            totp_secret: "s",
            role: offboard_store::AgentRole::Agent,
            now: T0,
        })
        .await
        .unwrap();
}

fn opened_lines(audit: &[offboard_store::AuditRecord]) -> usize {
    audit
        .iter()
        .filter(|e| e.action == "support_request_opened")
        .count()
}

// Three open requests per account; each commits with its audit line (R14); another
// account has its own three.
async fn support_requests_are_capped_per_account_with_their_audit(store: Store) {
    use offboard_core::support::SupportRequestStatus;
    let id = account(&store, "contact@example.com").await;
    for i in 0..3 {
        assert!(open_request(&store, id, &format!("message {i}"))
            .await
            .is_some());
    }
    assert!(
        open_request(&store, id, "a fourth").await.is_none(),
        "the fourth open request is refused"
    );
    let mine = store.support_requests_of(id).await.unwrap();
    assert_eq!(mine.len(), 3);
    assert!(mine
        .iter()
        .all(|r| r.status == SupportRequestStatus::Open && r.account_id == id));
    assert_eq!(opened_lines(&store.audit_of_account(id).await.unwrap()), 3);
    let other = account(&store, "other.contact@example.com").await;
    assert!(open_request(&store, other, "mine").await.is_some());
    assert_eq!(store.open_support_requests().await.unwrap().len(), 4);
    let found = store.support_request(&mine[0].id).await.unwrap().unwrap();
    assert_eq!(found, mine[0]);
    assert!(store.support_request("nope").await.unwrap().is_none());
}

// The limit holds under a parallel burst: 8 at once open exactly 3.
async fn a_parallel_burst_opens_at_most_three_support_requests(store: Store) {
    let id = account(&store, "burst@example.com").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { open_request(&store, id, &format!("burst {i}")).await })
        })
        .collect();
    let mut opened = 0;
    for t in tasks {
        opened += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(opened, 3);
    assert_eq!(store.support_requests_of(id).await.unwrap().len(), 3);
    assert_eq!(opened_lines(&store.audit_of_account(id).await.unwrap()), 3);
}

// R11, R14: an answer records who answered, queues its email with the job that sends
// it and writes the audit line, in one transaction, once; a request answered frees a
// place under the limit.
async fn a_support_answer_queues_its_mail_and_audit_once(store: Store) {
    use offboard_core::support::SupportRequestStatus;
    let id = account(&store, "answered@example.com").await;
    agent(&store, "agent-7").await;
    let mut requests = Vec::new();
    for i in 0..3 {
        requests.push(open_request(&store, id, &format!("q{i}")).await.unwrap());
    }
    let answer = |mail_id: &'static str| offboard_store::SupportAnswer {
        request_id: &requests[0],
        agent_id: "agent-7",
        answer: "We recorded your new number.",
        now: T0 + Duration::hours(1),
        mail: offboard_store::QueuedMail {
            id: mail_id,
            recipient_sealed: "sealed-recipient",
            subject: "Support answered your request",
            body_sealed: "sealed-body",
        },
    };
    let line = AuditEntry {
        at: T0,
        account_id: Some(id),
        actor: "agent:agent-7",
        action: "support_request_answered",
        detail: None,
    };
    assert!(store
        .answer_support_request(&answer("mail-a"), &line)
        .await
        .unwrap());
    let row = store.support_request(&requests[0]).await.unwrap().unwrap();
    assert_eq!(row.status, SupportRequestStatus::Answered);
    assert_eq!(row.answered_by.as_deref(), Some("agent-7"));
    assert_eq!(row.answer.as_deref(), Some("We recorded your new number."));
    assert_eq!(row.answered_at, Some(T0 + Duration::hours(1)));
    let (recipient, subject, body, _) = store.queued_mail_by_id("mail-a").await.unwrap().unwrap();
    assert_eq!(
        (recipient.as_str(), body.as_str()),
        ("sealed-recipient", "sealed-body")
    );
    assert_eq!(subject, "Support answered your request");
    assert_eq!(store.job("mail-a").await.unwrap().unwrap().kind, "mail");
    assert!(
        !store
            .answer_support_request(&answer("mail-b"), &line)
            .await
            .unwrap(),
        "answered once"
    );
    assert!(
        store.queued_mail_by_id("mail-b").await.unwrap().is_none(),
        "no second mail"
    );
    let answered = store
        .audit_of_account(id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "support_request_answered" && e.actor == "agent:agent-7")
        .count();
    assert_eq!(answered, 1);
    assert_eq!(store.open_support_requests().await.unwrap().len(), 2);
    assert!(
        open_request(&store, id, "one more").await.is_some(),
        "a place was freed"
    );
}

// R7, R20: the final erasure deletes the account's contact requests (personal data).
async fn the_erasure_deletes_support_requests(store: Store) {
    use offboard_core::deletion::Step;
    use offboard_store::Erasure;
    let id = account(&store, "erase.contact@example.com").await;
    let other = account(&store, "keep.contact@example.com").await;
    open_request(&store, id, "my passport was renewed")
        .await
        .unwrap();
    open_request(&store, other, "not mine to erase")
        .await
        .unwrap();
    let (flow, _) = store
        .start_flow(id, "s1", false, T0, &started(id))
        .await
        .unwrap();
    for (from, to) in [
        (Step::Notes, Step::Verification),
        (Step::Verification, Step::Identity),
    ] {
        assert!(store.advance_flow(&flow.id, from, to, T0).await.unwrap());
    }
    let erasure = Erasure {
        account_id: id,
        flow_id: flow.id.clone(),
        now: T0,
        recheck_ledger: true,
        dust: Default::default(),
        tombstones: Vec::new(),
        allowed_from: T0,
        retained: Vec::new(),
        purge_after: T0,
        notice: Default::default(),
        event_payload: "{}".into(),
        notice_id: "notice-contact".into(),
        login_key: "no-key".into(),
        email: "erase.contact@example.com".into(),
    };
    assert_eq!(
        store.erase_account(&erasure).await.unwrap(),
        offboard_store::EraseOutcome::Erased
    );
    assert!(store.support_requests_of(id).await.unwrap().is_empty());
    assert_eq!(store.support_requests_of(other).await.unwrap().len(), 1);
}

// R17: the freeze's one transaction: the link (by hash, for its account, unexpired) is
// spent once, sessions go, pending withdrawals are refunded with balanced journal lines,
// and a frozen account's withdrawal is refused under the ledger lock.
async fn freeze_spends_its_link_once_and_refunds_pending_withdrawals(store: Store) {
    use offboard_store::{
        AuditEntry, Freeze, FreezeBy, FreezeOutcome, LinkRefusal, NewAlert, WithdrawalOutcome,
    };
    let id = account(&store, "freeze@example.com").await;
    let other = account(&store, "other@example.com").await;
    store.deposit(id, "BTC", d("1"), None, T0).await.unwrap();
    let WithdrawalOutcome::Requested { withdrawal_id } = store
        .request_withdrawal(id, "BTC", d("0.4"), "bc1qexample", T0)
        .await
        .unwrap()
    else {
        panic!("enough funds")
    };
    let alert = |hash: &'static str| NewAlert {
        account_id: id,
        alert: "new_sign_in",
        token_hash: hash,
        expires_at: T0 + Duration::days(7),
        messages: &[],
        now: T0,
    };
    store.queue_alert(&alert("hash-1")).await.unwrap();
    let freeze = |account, hash: &'static str, now| Freeze {
        account_id: account,
        by: FreezeBy::Link { token_hash: hash },
        event_payload: "{}",
        audit: AuditEntry {
            at: now,
            account_id: Some(account),
            actor: "user",
            action: "account_frozen",
            detail: None,
        },
        now,
    };
    let refused = |why| FreezeOutcome::Refused(why);
    assert_eq!(
        store
            .freeze_account(&freeze(other, "hash-1", T0))
            .await
            .unwrap(),
        refused(LinkRefusal::Unknown)
    );
    assert_eq!(
        store
            .freeze_account(&freeze(id, "hash-2", T0))
            .await
            .unwrap(),
        refused(LinkRefusal::Unknown)
    );
    assert_eq!(
        store
            .freeze_account(&freeze(id, "hash-1", T0 + Duration::days(8)))
            .await
            .unwrap(),
        refused(LinkRefusal::Expired)
    );
    assert_eq!(
        store
            .freeze_account(&freeze(id, "hash-1", T0))
            .await
            .unwrap(),
        FreezeOutcome::Frozen {
            cancelled_withdrawals: vec![withdrawal_id]
        }
    );
    assert_eq!(
        store
            .freeze_account(&freeze(id, "hash-1", T0))
            .await
            .unwrap(),
        refused(LinkRefusal::Used)
    );
    let holdings = store.holdings(id).await.unwrap();
    assert!(holdings.pending.is_empty());
    assert_eq!(holdings.balances[0].amount, d("1"));
    assert!(store.ledger_audit().await.unwrap().violations().is_empty());
    assert!(matches!(
        store
            .request_withdrawal(id, "BTC", d("0.1"), "bc1qexample", T0)
            .await
            .unwrap(),
        WithdrawalOutcome::Frozen
    ));
    assert!(store
        .get_account(id)
        .await
        .unwrap()
        .unwrap()
        .frozen_at
        .is_some());
    assert!(store
        .get_account(other)
        .await
        .unwrap()
        .unwrap()
        .frozen_at
        .is_none());
}

/// R14 and R3: a sign-in writes its session, its `login` audit line and its device, and
/// forgets the throttle attempt, all in one write (one statement on PostgreSQL): when it
/// fails, none of it stays and the attempt still counts. R21: only a device new to an
/// account that had signed in before is reported new.
async fn a_sign_in_and_its_audit_line_commit_together(store: Store) {
    let id = account(&store, "sign.in@example.com").await;
    let sign_in = |token_hash: &'static str, device_key: &'static str, attempt: i64| SignIn {
        attempt: Some(attempt),
        session: NewSession {
            token_hash,
            account_id: id,
            kind: SessionKind::User,
            now: T0,
            user_agent: Some("Agent/1.0"),
        },
        audit: AuditEntry {
            at: T0,
            account_id: Some(id),
            actor: "user",
            action: "login",
            detail: None,
        },
        device_key,
    };
    let logins = |store: Store| async move {
        store
            .audit_of_account(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "login")
            .count()
    };
    let attempts = |store: Store| async move {
        let (mine, seen) = store.begin_login_attempt("S", "A", T0).await.unwrap();
        store.forget_login_attempt(mine).await.unwrap();
        seen.pair.count
    };

    let (first, _) = store.begin_login_attempt("S", "A", T0).await.unwrap();
    let new_device = store.sign_in(&sign_in("h1", "d1", first)).await.unwrap();
    assert!(!new_device, "the first device of an account is not news");
    assert!(store
        .find_session_with_account("h1", SessionKind::User)
        .await
        .unwrap()
        .is_some());
    assert_eq!(logins(store.clone()).await, 1);
    assert_eq!(
        attempts(store.clone()).await,
        0,
        "the attempt was forgotten"
    );

    let (second, _) = store.begin_login_attempt("S", "A", T0).await.unwrap();
    assert!(store.sign_in(&sign_in("h2", "d2", second)).await.unwrap());

    // The same token hash again: the session insert fails, so nothing of it stays.
    let (third, _) = store.begin_login_attempt("S", "A", T0).await.unwrap();
    assert!(store.sign_in(&sign_in("h2", "d3", third)).await.is_err());
    assert_eq!(
        logins(store.clone()).await,
        2,
        "no audit line without its session"
    );
    assert_eq!(
        attempts(store.clone()).await,
        1,
        "the failed sign-in's attempt counts"
    );
    // Device d3 was not kept either: signing in from it now is news.
    store.forget_login_attempt(third).await.unwrap();
    let (fourth, _) = store.begin_login_attempt("S", "A", T0).await.unwrap();
    assert!(store.sign_in(&sign_in("h3", "d3", fourth)).await.unwrap());
    assert_eq!(logins(store.clone()).await, 3);
}
