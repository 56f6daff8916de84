//! Erasure that reaches storage (R7, R20): after the final step the person's values are
//! in no table (the other deletion tests read every cell), and here in no byte of the
//! database's own files. SQLite: `offboard.db`, `-wal` and `-shm`, read right after the
//! answer with the server still running. PostgreSQL: the heap, index and TOAST files of
//! every table the erasure touched, after the scrub job's VACUUM and a CHECKPOINT (what
//! may remain in WAL segments and backups is in docs/security.md).

use crate::both_backends;
use crate::helpers::{spawn_app_with, TestApp};
use crate::ledger::ADMIN;
use crate::passkey_device::Device;
use crate::passkeys::{add_passkey, passkey_proof};
use crate::smtp::{SmsSink, SmtpSink};
use offboard_app::config::CaptchaPolicy;
use offboard_store::Backend;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    r20_no_personal_value_is_left_in_the_database_files,
    r20_a_burst_of_erasures_shares_scrub_passes,
);

// The WAL truncation after an erasure is shared by the erasures committed beside it;
// each answer still comes only once its own values are out of every file (SQLite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_parallel_erasures_each_answer_after_their_values_left_the_files() {
    let mail = SmtpSink::start(Duration::ZERO).await;
    let delivery = mail.delivery(None);
    let app = spawn_app_with(Backend::Sqlite, move |c| {
        c.delivery = delivery;
        c.deletion.captcha = CaptchaPolicy::Never;
    })
    .await;
    const PEOPLE: usize = 6;
    let mut walked = Vec::new();
    for i in 0..PEOPLE {
        let email = format!("parallel.erasure.{i}@example.com");
        let document = format!("PAR-ERASE-{i:04}");
        let (account, token) = crate::deletion::user_with_document(&app, &email, &document).await;
        let flow = crate::deletion::to_identity_with(&app, &token, || mail.code(&email, 1)).await;
        walked.push((account, token, flow, email, document));
    }
    let app = std::sync::Arc::new(app);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(PEOPLE));
    let mut tasks = Vec::new();
    for (account, token, flow, email, document) in walked {
        let (app, barrier) = (app.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let done = app
                .client_as(&token)
                .deletion_identity(&flow, &crate::deletion::id_number(&document))
                .await
                .unwrap();
            assert_eq!(done.step, offboard_client::Step::Deleted);
            // Right after this answer, whatever the other erasures are doing.
            let files = storage_files(&app, Backend::Sqlite, &account, false).await;
            let digits: String = document
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            let mut left = Vec::new();
            for (file, bytes) in &files {
                for needle in [email.as_str(), digits.as_str()] {
                    if found_in(bytes, needle.as_bytes()) {
                        left.push(format!("{needle} in {file}"));
                    }
                }
            }
            assert!(
                left.is_empty(),
                "R20: erased values on disk at the answer: {left:?}"
            );
            account
        }));
    }
    for task in tasks {
        let account = task.await.unwrap();
        assert_eq!(
            scrub_state(&app, &account).await,
            "done",
            "the shared truncation marks every covered scrub job done"
        );
    }
}

const EMAIL: &str = "erase.me.r20@example.com";
const PHONE: &str = "+447911123456";
const DOCUMENT: &str = "QX-4471-9920";
const ADDRESS: &str = "0x52908400098527886E0F7030069857D2E4169EE7";
const RECOVERY_MESSAGE: &str = "R20 probe: my phone fell in the canal on 3 May";
const CONTACT_MESSAGE: &str = "R20 contact probe: my passport Z-77 was renewed in Leeds";

struct Person {
    account: String,
    token: String,
    totp_secret: String,
    password_hash: String,
    /// Its passkey (R16): the credential id and public key must go with the account.
    device: Device,
}

const PASSKEY_NAME: &str = "R20 probe passkey";

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let res = app.post_json_as(token, path, body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A person with every kind of personal value: email, password, authenticator, phone,
/// verified document, a paid-out withdrawal with its address, a recovery request, a
/// contact request to support.
async fn a_full_life(app: &TestApp, mail: &SmtpSink, sms: &SmsSink) -> Person {
    let (token, totp_secret) = app.user_with_totp(EMAIL).await;
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    let account = me["account_id"].as_str().unwrap().to_owned();
    let doc = json!({"document_type": "passport", "document_number": DOCUMENT, "country": "DE", "expires_on": "2031-01-31"});
    post(app, &token, "/api/v1/me/identity", doc).await;
    post(app, &token, "/api/v1/me/phone", json!({"phone": PHONE})).await;
    let code = sms.latest_code(PHONE);
    post(
        app,
        &token,
        "/api/v1/me/phone/confirm",
        json!({"code": code}),
    )
    .await;

    let deposit = format!("/api/v1/admin/accounts/{account}/deposits");
    post(app, ADMIN, &deposit, json!({"asset": "ETH", "amount": "2"})).await;
    let codes = json!({"channel": "email", "purpose": "withdrawal"});
    post(app, &token, "/api/v1/me/codes", codes).await;
    let sms_codes = json!({"channel": "sms", "purpose": "withdrawal"});
    post(app, &token, "/api/v1/me/codes", sms_codes).await;
    app.advance(30).await;
    let withdrawal = json!({
        "asset": "ETH", "amount": "2", "address": ADDRESS,
        "email_code": mail.code(EMAIL, 1).await,
        "sms_code": sms.latest_code(PHONE),
        "totp_code": app.next_totp(&totp_secret).await,
    });
    let paid = post(app, &token, "/api/v1/me/withdrawals", withdrawal).await;
    let complete = format!(
        "/api/v1/admin/withdrawals/{}/complete",
        paid["withdrawal_id"].as_str().unwrap()
    );
    let res = app.post_json_as(ADMIN, &complete, json!({})).await;
    assert_eq!(res.status(), 204);
    let recovery = json!({"email": EMAIL, "message": RECOVERY_MESSAGE});
    assert_eq!(
        app.post_json("/api/v1/recovery", recovery).await.status(),
        202
    );

    let contact = json!({"topic": "document_changed", "message": CONTACT_MESSAGE});
    post(app, &token, "/api/v1/support-requests", contact).await;
    let mut device = Device::new();
    add_passkey(app, &token, &mut device, PASSKEY_NAME).await;

    let password_hash = app
        .state
        .store
        .get_account(account.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    Person {
        account,
        token,
        totp_secret,
        password_hash,
        device,
    }
}

/// The whole journey with every factor, ending in the erasure.
async fn delete(app: &TestApp, mail: &SmtpSink, sms: &SmsSink, person: &mut Person) {
    let token = &person.token;
    let flow = post(app, token, "/api/v1/deletion", json!({})).await;
    let id = flow["id"].as_str().unwrap();
    let step = |action: &str| format!("/api/v1/deletion/{id}/{action}");
    post(app, token, &step("confirm"), json!({"acknowledged": true})).await;
    post(app, token, &step("codes"), json!({"channel": "email"})).await;
    post(app, token, &step("codes"), json!({"channel": "sms"})).await;
    app.advance(30).await;
    let codes = json!({
        "email_code": mail.code(EMAIL, 2).await,
        "sms_code": sms.latest_code(PHONE),
        "totp_code": app.next_totp(&person.totp_secret).await,
        "passkey": passkey_proof(app, token, &mut person.device, "deletion").await,
    });
    post(app, token, &step("verify"), codes).await;
    let done = post(
        app,
        token,
        &step("identity"),
        json!({"id_number": DOCUMENT}),
    )
    .await;
    assert_eq!(done["step"], "deleted");
}

/// Every form in which a value of the person could sit in a file.
fn needles(person: &Person) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = [
        ("email", EMAIL.to_owned()),
        ("email local part", "erase.me.r20".to_owned()),
        ("phone", PHONE.to_owned()),
        ("phone digits", PHONE.trim_start_matches('+').to_owned()),
        ("document number", "QX44719920".to_owned()),
        ("document as typed", DOCUMENT.to_owned()),
        ("withdrawal address", ADDRESS.to_owned()),
        ("recovery message", RECOVERY_MESSAGE.to_owned()),
        ("contact request message", CONTACT_MESSAGE.to_owned()),
        ("TOTP secret", person.totp_secret.clone()),
        ("password hash", person.password_hash.clone()),
        ("passkey name", PASSKEY_NAME.to_owned()),
    ]
    .into_iter()
    .map(|(what, v)| (what.to_owned(), v.into_bytes()))
    .collect();
    // The passkey's credential id (as the browser sends it, and raw) and public key.
    let id = person.device.credential_id.clone().unwrap_or_default();
    out.push(("passkey credential id".into(), id.clone().into_bytes()));
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&id)
        .unwrap_or_default();
    assert_eq!(raw.len(), 32, "the soft passkey's credential id");
    out.push(("passkey credential id bytes".into(), raw));
    assert_eq!(
        person.device.public_key.len(),
        2,
        "the passkey's public key x and y"
    );
    for (i, coordinate) in person.device.public_key.iter().enumerate() {
        out.push((format!("passkey public key part {i}"), coordinate.clone()));
    }
    // The hash's salt-and-digest part alone, in case a page split the string.
    if let Some(digest) = person.password_hash.rsplit('$').next() {
        out.push(("password digest".into(), digest.as_bytes().to_vec()));
    }
    out
}

fn found_in(bytes: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && bytes.windows(needle.len()).any(|w| w == needle)
}

/// (file, bytes) of the storage to scan.
/// `erased`: wait for the scrub job the erasure queued first (PostgreSQL).
async fn storage_files(
    app: &TestApp,
    backend: Backend,
    account: &str,
    erased: bool,
) -> Vec<(String, Vec<u8>)> {
    match backend {
        Backend::Sqlite => {
            let path = app
                .db_url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap()
                .to_owned();
            let mut files = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                let file = format!("{path}{suffix}");
                if let Ok(bytes) = std::fs::read(&file) {
                    files.push((file, bytes));
                }
            }
            assert!(!files.is_empty(), "the SQLite file {path} was read");
            files
        }
        Backend::Postgres => postgres_files(app, account, erased).await,
    }
}

async fn postgres_files(app: &TestApp, account: &str, erased: bool) -> Vec<(String, Vec<u8>)> {
    use sqlx::Row;
    let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
    if erased {
        wait_for_scrub(app, &pool, account).await;
    }
    sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
    let data_dir: String = sqlx::query_scalar("SELECT current_setting('data_directory')")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut files = Vec::new();
    for table in offboard_store::ERASED_TABLES {
        let rows = sqlx::query(
            "SELECT c.relname::text AS name, pg_relation_filepath(c.oid) AS path FROM pg_class c
             WHERE c.oid = $1::regclass
                OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = $1::regclass)
                OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = $1::regclass)",
        )
        .bind(table)
        .fetch_all(&pool)
        .await
        .unwrap();
        for row in rows {
            let name: String = row.get("name");
            let Some(path): Option<String> = row.get("path") else {
                continue;
            };
            // A relation is split into 1 GiB segments: path, path.1, ...
            for segment in 0.. {
                let file = match segment {
                    0 => format!("{data_dir}/{path}"),
                    n => format!("{data_dir}/{path}.{n}"),
                };
                match std::fs::read(&file) {
                    Ok(bytes) => files.push((format!("{table}/{name} ({file})"), bytes)),
                    Err(_) if segment > 0 => break,
                    Err(err) => panic!(
                        "cannot read {file} of {table}/{name}: {err} (the test reads PostgreSQL's files on this machine)"
                    ),
                }
            }
        }
    }
    pool.close().await;
    files
}

/// The scrub job (queued by the erasure, run at once in a task of its own) is done. On a
/// busy server (other tests' transactions) it may have to wait for older snapshots to
/// end and be retried, as the job runner would after its backoff.
async fn wait_for_scrub(app: &TestApp, pool: &sqlx::PgPool, account: &str) {
    let job = format!("scrub:{account}");
    for attempt in 0..200 {
        if attempt % 10 == 9 {
            app.advance(300).await;
            offboard_app::jobs::run_now(&app.state, &job).await;
        }
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
            .bind(&job)
            .fetch_optional(pool)
            .await
            .unwrap();
        if state.as_deref() == Some("done") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the scrub job {job} did not finish");
}

// R7, R20.
async fn r20_no_personal_value_is_left_in_the_database_files(backend: Backend) {
    let mail = SmtpSink::start(Duration::ZERO).await;
    let sms = SmsSink::start().await;
    let delivery = mail.delivery(Some(&sms));
    let app = spawn_app_with(backend, move |c| {
        c.delivery = delivery;
        c.admin_token = Some(secrecy::SecretString::from(ADMIN));
        c.deletion.captcha = CaptchaPolicy::Never;
    })
    .await;
    let mut person = a_full_life(&app, &mail, &sms).await;
    let files_before = storage_files(&app, backend, &person.account, false).await;
    let needles = needles(&person);
    // The probe finds the values before the deletion, or it proves nothing after it.
    let seen_before: Vec<&str> = needles
        .iter()
        .filter(|(_, n)| files_before.iter().any(|(_, bytes)| found_in(bytes, n)))
        .map(|(what, _)| what.as_str())
        .collect();
    assert!(
        seen_before.contains(&"email")
            && seen_before.contains(&"withdrawal address")
            && seen_before.contains(&"contact request message"),
        "the scan sees live values: {seen_before:?}"
    );
    assert!(
        !seen_before.contains(&"TOTP secret"),
        "R20: the authenticator secret is sealed at rest, never plaintext"
    );
    assert!(seen_before.contains(&"passkey name"), "{seen_before:?}");
    assert!(
        !seen_before
            .iter()
            .any(|w| w.starts_with("passkey credential") || w.starts_with("passkey public")),
        "R20: passkey data is sealed at rest, never plaintext: {seen_before:?}"
    );

    delete(&app, &mail, &sms, &mut person).await;
    let files = storage_files(&app, backend, &person.account, true).await;
    let mut left = Vec::new();
    for (file, bytes) in &files {
        for (what, needle) in &needles {
            if found_in(bytes, needle) {
                left.push(format!("{what} in {file}"));
            }
        }
    }
    assert!(
        left.is_empty(),
        "R20: erased values still on disk: {left:?}"
    );
    // The person was erased, and the deletion notice (sent after the answer) still
    // reaches them.
    let mut notice = false;
    for _ in 0..200 {
        notice = mail
            .mails_to(EMAIL)
            .iter()
            .any(|m| m.data.contains("deleted"));
        if notice {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(notice, "the deletion notice was sent");
}

/// The state of the scrub job of `account`'s erasure.
async fn scrub_state(app: &TestApp, account: &str) -> String {
    app.state
        .store
        .job(&format!("scrub:{account}"))
        .await
        .unwrap()
        .map(|job| job.state)
        .unwrap_or_default()
}

/// Deletes a fresh verified user (email code, ID number); the account id.
async fn erase_one(app: &TestApp, email: &str, document: &str) -> String {
    let (account, token) = crate::deletion::user_with_document(app, email, document).await;
    let flow = crate::deletion::to_identity(app, &token, email).await;
    let done = app
        .client_as(&token)
        .deletion_identity(&flow, &crate::deletion::id_number(document))
        .await
        .unwrap();
    assert_eq!(done.step, offboard_client::Step::Deleted);
    account
}

// R20: a stream of deletions costs a scrub pass every `scrub_every`, not a rewrite of
// every erased table per deletion. On SQLite the erasure truncated the WAL itself, so
// its job is done when the answer arrives. On PostgreSQL the first erasure after a quiet
// spell is scrubbed at once; one right after it waits for the next pass, which runs
// once `scrub_every` has passed and covers it.
async fn r20_a_burst_of_erasures_shares_scrub_passes(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.deletion.captcha = CaptchaPolicy::Never;
        // Longer than the clock moves between two deletions here (code cooldowns).
        c.deletion.scrub_every = time::Duration::hours(1);
    })
    .await;
    let first = erase_one(&app, "burst.one@example.com", "BURST-0001").await;
    if backend == Backend::Sqlite {
        assert_eq!(scrub_state(&app, &first).await, "done");
        let second = erase_one(&app, "burst.two@example.com", "BURST-0002").await;
        assert_eq!(scrub_state(&app, &second).await, "done");
        return;
    }
    let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
    wait_for_scrub(&app, &pool, &first).await;
    let second = erase_one(&app, "burst.two@example.com", "BURST-0002").await;
    // The pass right after the first is not due yet: the job waits for it.
    offboard_app::jobs::run_now(&app.state, &format!("scrub:{second}")).await;
    let mut state = scrub_state(&app, &second).await;
    for _ in 0..100 {
        if state != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        state = scrub_state(&app, &second).await;
    }
    assert_eq!(state, "queued");
    let job = app
        .state
        .store
        .job(&format!("scrub:{second}"))
        .await
        .unwrap()
        .unwrap();
    assert!(job.run_at > app.state.now(), "due at the next pass");
    app.advance(3_601).await;
    offboard_app::jobs::run_now(&app.state, &format!("scrub:{second}")).await;
    wait_for_scrub(&app, &pool, &second).await;
    pool.close().await;
}
