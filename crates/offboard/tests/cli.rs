//! The binary as an operator meets it: defaults, bad settings, demo, serve.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn offboard(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_offboard"));
    cmd.current_dir(dir)
        .env_remove("OFFBOARD_DATABASE_URL")
        .env_remove("OFFBOARD_MODE")
        .env("NO_COLOR", "1");
    cmd
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `offboard serve` and returns it with the log lines printed until it listens.
fn serve(dir: &std::path::Path, port: u16) -> (Server, Vec<String>) {
    let mut child = offboard(dir)
        .arg("serve")
        .env("OFFBOARD_LISTEN", format!("127.0.0.1:{port}"))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let listening = line.contains("listening on");
            lines.push(line);
            if listening {
                return (server, lines);
            }
        }
    }
    panic!("offboard serve did not start: {lines:#?}");
}

#[test]
fn serve_with_no_settings_runs_dev_mode_on_sqlite_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (_server, lines) = serve(dir.path(), port);
    let first = lines.join("\n");
    assert!(first.contains("DEV MODE"), "{first}");
    assert!(first.contains("sqlite://offboard.db"), "{first}");
    assert!(
        first.contains("new empty one was created"),
        "a fresh database is announced: {first}"
    );
    assert!(dir.path().join("offboard.db").exists());
    assert!(dir.path().join("offboard.db.keys").exists());
    let health = reqwest::blocking::get(format!("http://127.0.0.1:{port}/readyz")).unwrap();
    assert_eq!(health.status(), 200);
}

#[test]
fn invalid_settings_stop_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("OFFBOARD_LISTEN", "not-an-address", "`listen`"),
        (
            "OFFBOARD_DATABASE_URL",
            "mysql://root@localhost/db",
            "`database_url`",
        ),
        ("OFFBOARD_MODE", "staging", "mode"),
        ("OFFBOARD_REREGISTER_DAYS", "soon", "reregister_days"),
        ("OFFBOARD_MODE", "production", "production"),
    ];
    for (var, value, named) in cases {
        let out = offboard(dir.path())
            .arg("serve")
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}={value} should stop start-up");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.to_lowercase().contains(&named.to_lowercase()),
            "{var}={value}: {err}"
        );
    }
    // A settings file is read too, and its errors are named the same way.
    std::fs::write(
        dir.path().join("offboard.toml"),
        "session_idle_minutes = 0\n",
    )
    .unwrap();
    let out = offboard(dir.path()).arg("migrate").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("session_idle_minutes"));
}

/// Runs `offboard demo --json` in `dir` and returns what it printed.
fn demo_json(dir: &std::path::Path) -> serde_json::Value {
    let out = offboard(dir).args(["demo", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn demo_prints_credentials_that_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let printed = demo_json(dir.path());
    assert_eq!(printed["status"], "created");
    let port = free_port();
    let (_server, _) = serve(dir.path(), port);
    let client = reqwest::blocking::Client::new();
    // The demo account has an authenticator: the printed secret makes the code.
    #[allow(clippy::disallowed_methods)]
    let step = offboard_core::totp::step_of(time::OffsetDateTime::now_utc());
    let code =
        offboard_core::totp::code_at_step(printed["totp_secret"].as_str().unwrap(), step).unwrap();
    let res = client
        .post(format!("http://127.0.0.1:{port}/api/v1/login"))
        .json(&serde_json::json!({"email": printed["email"], "password": printed["password"], "totp_code": code}))
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    let token = res.json::<serde_json::Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let assets: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/api/v1/me/assets"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        assets["balances"][0],
        serde_json::json!({"asset": "BTC", "amount": "0.25"})
    );
    let me: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me["identity"]["status"], "approved");
    assert_eq!(me["factors"], serde_json::json!(["email", "totp"]));
    assert!(printed["id_number"].is_string());
    // Running demo again reuses the account and says so: the password is new (the old
    // one stops working), the authenticator a phone holds stays.
    let again = offboard(dir.path()).arg("demo").output().unwrap();
    assert!(again.status.success());
    let words = String::from_utf8_lossy(&again.stdout);
    assert!(words.contains("reused"), "{words}");
    assert!(
        words.contains(printed["otpauth_uri"].as_str().unwrap()),
        "{words}"
    );
    assert!(
        !words.contains(printed["password"].as_str().unwrap()),
        "{words}"
    );
    let res = client
        .post(format!("http://127.0.0.1:{port}/api/v1/login"))
        .json(&serde_json::json!({"email": printed["email"], "password": printed["password"]}))
        .send()
        .unwrap();
    assert_eq!(res.status(), 401);
    let third = demo_json(dir.path());
    assert_eq!(third["status"], "reused");
    assert_eq!(third["account_id"], printed["account_id"]);
    assert_eq!(third["totp_secret"], printed["totp_secret"]);
}

#[test]
fn demo_in_words_says_where_to_sign_in_and_which_database_serve_must_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = offboard(dir.path())
        .arg("demo")
        .env("OFFBOARD_LISTEN", "0.0.0.0:8765")
        .output()
        .unwrap();
    assert!(out.status.success());
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(words.contains("http://127.0.0.1:8765/login"), "{words}");
    assert!(words.contains("demo@offboard.test"), "{words}");
    assert!(words.contains("otpauth://totp/"), "{words}");
    assert!(words.contains("offboard demo-code"), "{words}");
    assert!(words.contains("/dev/outbox"), "{words}");
    let db = std::fs::canonicalize(dir.path().join("offboard.db")).unwrap();
    assert!(words.contains(&db.display().to_string()), "{words}");
    assert!(
        words.contains("`offboard serve` must use this same database"),
        "{words}"
    );
}

/// Deletes the demo account through the store's final step, as the journey's last step
/// does: the account is erased and its ID number tombstoned (R7, R9).
async fn delete_demo(url: &str, printed: &serde_json::Value) -> String {
    use offboard_core::deletion::Step;
    let (store, _) = offboard_store::Store::connect(url).await.unwrap();
    let id: offboard_core::AccountId = printed["account_id"].as_str().unwrap().parse().unwrap();
    let identity = store.identity(id).await.unwrap().unwrap();
    let index = identity.latest_number().unwrap().index.clone();
    #[allow(clippy::disallowed_methods)]
    let now = time::OffsetDateTime::now_utc();
    let started = offboard_store::AuditEntry {
        at: now,
        account_id: Some(id),
        actor: "user",
        action: "deletion_started",
        detail: None,
    };
    let (flow, _) = store
        .start_flow(id, "test-session", false, now, &started)
        .await
        .unwrap();
    assert!(store
        .advance_flow(&flow.id, Step::Notes, Step::Identity, now)
        .await
        .unwrap());
    let erasure = offboard_store::Erasure {
        account_id: id,
        flow_id: flow.id,
        now,
        recheck_ledger: false,
        dust: Default::default(),
        tombstones: vec![offboard_store::Tombstone {
            kind: "document".into(),
            hash: index.clone(),
        }],
        allowed_from: now + time::Duration::days(30),
        retained: Vec::new(),
        purge_after: now,
        notice: Default::default(),
        event_payload: "{}".into(),
        notice_id: "test-notice".into(),
        login_key: "test-login-key".into(),
        email: "demo@offboard.test".into(),
    };
    assert_eq!(
        store.erase_account(&erasure).await.unwrap(),
        offboard_store::EraseOutcome::Erased
    );
    assert!(store.tombstone_blocks(&index, now).await.unwrap().is_some());
    store.close().await;
    index
}

#[tokio::test]
async fn demo_after_the_demo_was_deleted_creates_it_again_lifting_only_its_tombstone() {
    let dir = tempfile::tempdir().unwrap();
    let first = demo_json(dir.path());
    let url = format!("sqlite://{}", dir.path().join("offboard.db").display());
    let index = delete_demo(&url, &first).await;

    let out = offboard(dir.path()).arg("demo").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(words.contains("created again"), "{words}");
    let again = demo_json(dir.path());
    assert_eq!(
        again["status"], "reused",
        "the new demo is reused from now on"
    );
    assert_ne!(again["account_id"], first["account_id"]);

    let (store, _) = offboard_store::Store::connect(&url).await.unwrap();
    #[allow(clippy::disallowed_methods)]
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(store.tombstone_blocks(&index, now).await.unwrap(), None);
    let id: offboard_core::AccountId = again["account_id"].as_str().unwrap().parse().unwrap();
    let lifted: Vec<_> = store
        .audit_of_account(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|line| line.action == "demo_tombstone_lifted")
        .collect();
    assert_eq!(lifted.len(), 1, "{lifted:?}");
    let identity = store.identity(id).await.unwrap().unwrap();
    assert_eq!(
        identity.status,
        offboard_core::identity::IdentityStatus::Approved
    );
    store.close().await;
}

#[test]
fn production_mode_refuses_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["demo", "demo-code"] {
        let out = offboard(dir.path())
            .arg(command)
            .env("OFFBOARD_MODE", "production")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{command} must refuse");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("only in dev mode"), "{command}: {err}");
    }
    assert!(
        !dir.path().join("offboard.db").exists(),
        "nothing was touched"
    );
}

#[test]
fn demo_code_prints_the_current_code_of_the_demo_authenticator() {
    let dir = tempfile::tempdir().unwrap();
    let missing = offboard(dir.path()).arg("demo-code").output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("offboard demo"));

    let printed = demo_json(dir.path());
    let out = offboard(dir.path()).arg("demo-code").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "{code:?}"
    );
    // The secret inside the printed otpauth:// address makes the same code (the step
    // may have turned between the two reads).
    let uri = printed["otpauth_uri"].as_str().unwrap();
    let secret = uri
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .unwrap();
    #[allow(clippy::disallowed_methods)]
    let step = offboard_core::totp::step_of(time::OffsetDateTime::now_utc());
    let near: Vec<String> = (step - 1..=step)
        .map(|s| offboard_core::totp::code_at_step(secret, s).unwrap())
        .collect();
    assert!(near.contains(&code), "{code} not in {near:?}");
}

#[test]
fn support_add_agent_prints_its_credentials_once_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = offboard(dir.path())
        .args([
            "support",
            "add-agent",
            "--email",
            "Ann@Support.test",
            "--role",
            "lead",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fields = printed.as_object().unwrap();
    assert_eq!(fields.len(), 3, "{printed}");
    assert_eq!(printed["email"], "ann@support.test");
    assert!(printed["password"].as_str().unwrap().len() >= 20);
    let secret = printed["totp_secret"].as_str().unwrap();
    assert!(offboard_core::totp::code_at_step(secret, 1).is_ok());
    // The same email twice is refused; disabling works once the agent exists.
    let again = offboard(dir.path())
        .args([
            "support",
            "add-agent",
            "--email",
            "ann@support.test",
            "--role",
            "agent",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let disable = offboard(dir.path())
        .args(["support", "disable-agent", "--email", "ann@support.test"])
        .output()
        .unwrap();
    assert!(
        disable.status.success(),
        "{}",
        String::from_utf8_lossy(&disable.stderr)
    );
    let unknown = offboard(dir.path())
        .args(["support", "disable-agent", "--email", "nobody@support.test"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
}

#[test]
fn support_add_agent_says_in_words_where_the_agent_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = offboard(dir.path())
        .args([
            "support",
            "add-agent",
            "--email",
            "bo@support.test",
            "--role",
            "agent",
        ])
        .env("OFFBOARD_LISTEN", "127.0.0.1:8123")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // stdout stays API.md's JSON; the words go to stderr.
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["email"], "bo@support.test");
    let words = String::from_utf8_lossy(&out.stderr);
    assert!(
        words.contains("http://127.0.0.1:8123/support/login"),
        "{words}"
    );
    assert!(words.contains("bo@support.test"), "{words}");
    assert!(words.contains("otpauth://totp/"), "{words}");
    assert!(words.contains("shown only this once"), "{words}");
    assert!(
        !words.contains(printed["password"].as_str().unwrap()),
        "the password is printed once, in the JSON"
    );
}
