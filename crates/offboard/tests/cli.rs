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

#[test]
fn demo_prints_credentials_that_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = offboard(dir.path()).arg("demo").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    // Running demo again rotates the password: the old one stops working.
    let again = offboard(dir.path()).arg("demo").output().unwrap();
    assert!(again.status.success());
    let res = client
        .post(format!("http://127.0.0.1:{port}/api/v1/login"))
        .json(&serde_json::json!({"email": printed["email"], "password": printed["password"]}))
        .send()
        .unwrap();
    assert_eq!(res.status(), 401);
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
