//! The store conformance suite: every test runs on SQLite and on PostgreSQL, so the two
//! backends cannot drift apart unnoticed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use offboard_core::otp::{SendDecision, Verdict};
use offboard_core::throttle::FailureStats;
use offboard_core::{AccountId, EmailAddress};
use offboard_core::{Channel, PhoneNumber, Purpose};
use offboard_store::testing::TestDatabase;
use offboard_store::{
    AuditEntry, Backend, NewSession, OutboxMessage, SessionKind, Store, StoreError,
};
use offboard_store::{CodeSlot, NewCode};
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
    accounts_round_trip,
    duplicate_email_is_a_conflict,
    password_change_revokes_sessions,
    sessions_by_kind_and_revocation,
    login_attempts_counted_in_the_window,
    parallel_login_attempts_see_each_other,
    outbox_newest_first_and_filtered,
    audit_appends_in_order,
    migrations_are_idempotent,
    codes_issue_retire_and_consume,
    totp_setup_cannot_replace_a_bound_authenticator,
    a_phone_binds_to_one_account_only,
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
        .find_session("t1", SessionKind::User)
        .await
        .unwrap()
        .is_none());
    assert!(store.list_sessions(id).await.unwrap().is_empty());
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
    let s = store
        .find_session("hash-1", SessionKind::User)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s.account_id, s.created_at, s.last_seen_at), (id, T0, T0));
    assert_eq!(s.user_agent.as_deref(), Some("curl"));
    store
        .touch_session("hash-1", T0 + Duration::minutes(5))
        .await
        .unwrap();
    let s = store
        .find_session("hash-1", SessionKind::User)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.last_seen_at, T0 + Duration::minutes(5));
    assert!(store
        .find_session("unknown", SessionKind::User)
        .await
        .unwrap()
        .is_none());
    store.delete_session("hash-1").await.unwrap();
    assert!(store
        .find_session("hash-1", SessionKind::User)
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
            retry_after: Duration::seconds(30)
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

async fn totp_setup_cannot_replace_a_bound_authenticator(store: Store) {
    let id = account(&store, "totp@example.com").await;
    store.begin_totp(id, "SECRETONE", T0).await.unwrap();
    store.begin_totp(id, "SECRETTWO", T0).await.unwrap();
    let row = store.totp_factor(id).await.unwrap().unwrap();
    assert_eq!((row.secret.as_str(), row.confirmed), ("SECRETTWO", false));
    store
        .check_totp(id, Purpose::FactorSetup, T0, true, |_, _, _| {
            (Verdict::Accepted, Some(100))
        })
        .await
        .unwrap();
    let row = store.totp_factor(id).await.unwrap().unwrap();
    assert_eq!((row.confirmed, row.last_step), (true, Some(100)));
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
