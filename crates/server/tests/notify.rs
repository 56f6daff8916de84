//! Outgoing delivery against loopback fakes: a small SMTP sink and an HTTP SMS provider
//! mock, both written here, plus the dev outbox and the message wording.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Router;
use base64::Engine as _;
use offboard_app::config::{Delivery, Mode};
use offboard_app::notify::messages::{code_message_at, purpose_words};
use offboard_app::notify::{
    code_message, deletion_notice, Email, Notifier, NotifyError, Sms, SmsConfig, SmtpConfig,
    SmtpTls,
};
use offboard_store::testing::TestDatabase;
use offboard_store::Backend;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::macros::datetime;
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const NOW: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);
const PURPOSES: [&str; 6] = [
    "phone_binding",
    "withdrawal",
    "deletion",
    "password_reset",
    "unbind",
    "login",
];

// ---------------------------------------------------------------------------------------
// A loopback SMTP sink: just enough of RFC 5321 for lettre to deliver one message.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SinkMode {
    Accept,
    /// Answers 554 to every RCPT.
    RejectRecipient,
    /// Accepts the TCP connection and never says a word.
    Silent,
}

#[derive(Debug, Default, Clone)]
struct Delivered {
    commands: Vec<String>,
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
}

#[derive(Clone, Default)]
struct SinkLog(Arc<Mutex<Vec<Delivered>>>);

impl SinkLog {
    fn sessions(&self) -> Vec<Delivered> {
        self.0.lock().unwrap().clone()
    }
}

async fn smtp_sink(mode: SinkMode) -> (u16, SinkLog) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = SinkLog::default();
    let sessions = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let sessions = sessions.clone();
            tokio::spawn(async move {
                if mode == SinkMode::Silent {
                    let _held = stream;
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                }
                let session = smtp_session(stream, mode).await;
                sessions.0.lock().unwrap().push(session);
            });
        }
    });
    (port, log)
}

async fn smtp_session(stream: tokio::net::TcpStream, mode: SinkMode) -> Delivered {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut session = Delivered::default();
    write
        .write_all(b"220 sink.test ESMTP ready\r\n")
        .await
        .unwrap();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return session;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        session.commands.push(line.clone());
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test greets you\r\n250 8BITMIME\r\n",
            "HELO" | "NOOP" | "RSET" => b"250 OK\r\n",
            "MAIL" => {
                session.mail_from = angle_address(&line);
                b"250 OK\r\n"
            }
            "RCPT" if mode == SinkMode::RejectRecipient => b"554 5.7.1 recipient rejected\r\n",
            "RCPT" => {
                session.rcpt_to.push(angle_address(&line));
                b"250 OK\r\n"
            }
            "DATA" => {
                write
                    .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                    .await
                    .unwrap();
                let mut data = String::new();
                loop {
                    let mut part = String::new();
                    if lines.read_line(&mut part).await.unwrap_or(0) == 0 {
                        return session;
                    }
                    if part == ".\r\n" {
                        break;
                    }
                    // Undo dot-stuffing.
                    data.push_str(part.strip_prefix('.').unwrap_or(&part));
                }
                session.data = data;
                b"250 2.0.0 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await.unwrap();
                return session;
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(answer).await.unwrap();
    }
}

fn angle_address(command: &str) -> String {
    let start = command.find('<').map(|i| i + 1).unwrap_or(0);
    let end = command.find('>').unwrap_or(command.len());
    command[start..end].to_owned()
}

fn smtp_config(port: u16, timeout: Duration) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "offboard <no-reply@offboard.test>".into(),
        timeout,
    }
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The body of the MIME part whose Content-Type starts with `content_type`, with
/// quoted-printable soft line breaks joined.
fn mime_part(raw: &str, content_type: &str) -> String {
    let marker = format!("Content-Type: {content_type}");
    let start = raw
        .find(&marker)
        .unwrap_or_else(|| panic!("no {content_type} part in:\n{raw}"));
    let part = &raw[start..];
    let body_start = part.find("\r\n\r\n").unwrap() + 4;
    let body = &part[body_start..];
    let end = body.find("\r\n--").unwrap_or(body.len());
    body[..end].replace("=\r\n", "")
}

#[tokio::test]
async fn smtp_delivers_a_multipart_message_to_the_envelope_recipient() {
    let (port, log) = smtp_sink(SinkMode::Accept).await;
    let notifier = Notifier::live(smtp_config(port, Duration::from_secs(5)), None, http()).unwrap();
    let message = code_message("deletion", "493817", 10);

    notifier
        .send_email(
            Email {
                to: "holder@example.com",
                subject: &message.subject,
                body: &message.text,
                html: Some(&message.html),
                code: Some("493817"),
            },
            NOW,
        )
        .await
        .unwrap();

    let sessions = log.sessions();
    assert_eq!(sessions.len(), 1, "one SMTP session");
    let session = &sessions[0];
    let verbs: Vec<String> = session
        .commands
        .iter()
        .map(|c| c.split([' ', ':']).next().unwrap().to_ascii_uppercase())
        .collect();
    assert_eq!(verbs, ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]);
    assert_eq!(session.mail_from, "no-reply@offboard.test");
    assert_eq!(session.rcpt_to, ["holder@example.com"]);

    let raw = &session.data;
    let (headers, _) = raw.split_once("\r\n\r\n").unwrap();
    assert!(header(headers, "From")
        .unwrap()
        .contains("no-reply@offboard.test"));
    assert!(header(headers, "To")
        .unwrap()
        .contains("holder@example.com"));
    assert_eq!(
        header(headers, "Subject").unwrap(),
        "Your offboard code to delete your account"
    );
    let message_id = header(headers, "Message-ID").unwrap();
    assert!(
        message_id.starts_with('<') && message_id.ends_with("@offboard.test>"),
        "{message_id}"
    );
    assert_eq!(
        header(headers, "Date").unwrap(),
        "Sat, 01 Mar 2025 12:00:00 +0000"
    );
    assert!(header(headers, "Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));

    let plain = mime_part(raw, "text/plain");
    assert!(plain.contains("493817"), "{plain}");
    assert!(plain.contains("delete your offboard account"), "{plain}");
    let html = mime_part(raw, "text/html");
    assert!(html.contains("493817"), "{html}");
}

#[tokio::test]
async fn smtp_without_html_sends_plain_text_only() {
    let (port, log) = smtp_sink(SinkMode::Accept).await;
    let notifier = Notifier::live(smtp_config(port, Duration::from_secs(5)), None, http()).unwrap();
    notifier
        .send_email(
            Email {
                to: "holder@example.com",
                subject: "Your offboard account is ready",
                body: "Welcome to offboard.",
                html: None,
                code: None,
            },
            NOW,
        )
        .await
        .unwrap();
    let raw = log.sessions()[0].data.clone();
    let (headers, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(header(headers, "Content-Type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(body.contains("Welcome to offboard."));
}

#[tokio::test]
async fn smtp_rejected_recipient_is_unavailable() {
    let (port, log) = smtp_sink(SinkMode::RejectRecipient).await;
    let notifier = Notifier::live(smtp_config(port, Duration::from_secs(5)), None, http()).unwrap();
    let err = notifier
        .send_email(
            Email {
                to: "nobody@example.com",
                subject: "s",
                body: "b",
                html: None,
                code: None,
            },
            NOW,
        )
        .await
        .unwrap_err();
    match &err {
        NotifyError::Unavailable(reason) => assert!(reason.contains("554"), "{reason}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // The sink saw the refused RCPT and never got the message.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sessions = log.sessions();
    assert!(sessions
        .iter()
        .all(|s| s.data.is_empty() && !s.commands.iter().any(|c| c == "DATA")));
}

#[tokio::test]
async fn smtp_server_that_never_greets_times_out() {
    let (port, _log) = smtp_sink(SinkMode::Silent).await;
    let notifier = Notifier::live(smtp_config(port, Duration::from_secs(1)), None, http()).unwrap();
    let started = tokio::time::Instant::now();
    let err = notifier
        .send_email(
            Email {
                to: "holder@example.com",
                subject: "s",
                body: "b",
                html: None,
                code: None,
            },
            NOW,
        )
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(&err, NotifyError::Unavailable(r) if r.contains("did not answer")),
        "{err:?}"
    );
    // Bounded by the configured timeout (with slack for a loaded machine), not hanging.
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

#[tokio::test]
async fn smtp_closed_port_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let notifier = Notifier::live(smtp_config(port, Duration::from_secs(2)), None, http()).unwrap();
    let err = notifier
        .send_email(
            Email {
                to: "holder@example.com",
                subject: "s",
                body: "b",
                html: None,
                code: None,
            },
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Unavailable(_)), "{err:?}");
}

#[test]
fn bad_smtp_settings_are_refused_when_building() {
    let mut config = smtp_config(25, Duration::from_secs(1));
    config.from = "not an address".into();
    assert!(matches!(
        Notifier::live(config, None, http()),
        Err(NotifyError::Unavailable(_))
    ));
}

// ---------------------------------------------------------------------------------------
// A loopback HTTP SMS provider.

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone)]
struct Provider {
    seen: Arc<Mutex<Vec<Seen>>>,
    status: StatusCode,
    delay: Duration,
}

async fn record(
    State(provider): State<Provider>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    provider.seen.lock().unwrap().push(Seen {
        method,
        path: uri.path().to_owned(),
        headers,
        body,
    });
    tokio::time::sleep(provider.delay).await;
    provider.status
}

/// Starts the mock; returns its base URL and what it saw.
async fn sms_provider(status: StatusCode, delay: Duration) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new().fallback(record).with_state(Provider {
        seen: seen.clone(),
        status,
        delay,
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, seen)
}

fn with_sms(sms: SmsConfig) -> Notifier {
    // The SMTP side is never used by these tests; port 9 (discard) is fine.
    Notifier::live(smtp_config(9, Duration::from_secs(1)), Some(sms), http()).unwrap()
}

fn webhook(base: &str, timeout: Duration) -> SmsConfig {
    SmsConfig::Webhook {
        url: format!("{base}/sms"),
        token: Some(SecretString::from("hook-token")),
        timeout,
    }
}

fn a_text() -> Sms<'static> {
    Sms {
        to: "+447700900123",
        body: "offboard code 493817: delete your account. Valid 10 min. Never share it.",
        code: Some("493817"),
    }
}

#[tokio::test]
async fn webhook_posts_json_with_the_bearer_token() {
    let (base, seen) = sms_provider(StatusCode::ACCEPTED, Duration::ZERO).await;
    with_sms(webhook(&base, Duration::from_secs(5)))
        .send_sms(a_text(), NOW)
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/sms");
    assert_eq!(request.headers["authorization"], "Bearer hook-token");
    assert!(request.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "to": "+447700900123",
            "body": "offboard code 493817: delete your account. Valid 10 min. Never share it.",
        })
    );
}

#[tokio::test]
async fn webhook_without_token_sends_no_authorization() {
    let (base, seen) = sms_provider(StatusCode::OK, Duration::ZERO).await;
    let config = SmsConfig::Webhook {
        url: format!("{base}/sms"),
        token: None,
        timeout: Duration::from_secs(5),
    };
    with_sms(config).send_sms(a_text(), NOW).await.unwrap();
    assert!(!seen.lock().unwrap()[0]
        .headers
        .contains_key("authorization"));
}

#[tokio::test]
async fn twilio_posts_the_form_with_basic_auth() {
    let (base, seen) = sms_provider(StatusCode::CREATED, Duration::ZERO).await;
    let config = SmsConfig::Twilio {
        base_url: format!("{base}/"),
        account_sid: "AC123".into(),
        auth_token: SecretString::from("token"),
        from: "+15005550006".into(),
        timeout: Duration::from_secs(5),
    };
    with_sms(config).send_sms(a_text(), NOW).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/2010-04-01/Accounts/AC123/Messages.json");
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("AC123:token")
    );
    assert_eq!(request.headers["authorization"], expected.as_str());
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&request.body).unwrap();
    assert_eq!(form.len(), 3, "{form:?}");
    assert_eq!(form["To"], "+447700900123");
    assert_eq!(form["From"], "+15005550006");
    assert_eq!(form["Body"], a_text().body);
}

#[tokio::test]
async fn provider_error_is_unavailable() {
    let (base, _seen) = sms_provider(StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
    let err = with_sms(webhook(&base, Duration::from_secs(5)))
        .send_sms(a_text(), NOW)
        .await
        .unwrap_err();
    match &err {
        NotifyError::Unavailable(reason) => assert_eq!(reason, "SMS provider answered 500"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // Neither the token nor the body leaks into the error.
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("hook-token") && !shown.contains("493817"),
        "{shown}"
    );
}

#[tokio::test]
async fn slow_provider_times_out() {
    let (base, _seen) = sms_provider(StatusCode::OK, Duration::from_secs(3)).await;
    let started = tokio::time::Instant::now();
    let err = with_sms(webhook(&base, Duration::from_millis(500)))
        .send_sms(a_text(), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NotifyError::Unavailable(r) if r.contains("did not answer")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn unreachable_provider_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = with_sms(webhook(&base, Duration::from_secs(2)))
        .send_sms(a_text(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn live_without_sms_provider_says_so() {
    let notifier = Notifier::live(smtp_config(9, Duration::from_secs(1)), None, http()).unwrap();
    assert!(!notifier.can_send_sms());
    let err = notifier.send_sms(a_text(), NOW).await.unwrap_err();
    assert!(matches!(err, NotifyError::NoSmsProvider), "{err:?}");
}

#[test]
fn bad_sms_settings_are_refused_when_building() {
    let bad_url = SmsConfig::Webhook {
        url: "ftp://example.com/sms".into(),
        token: None,
        timeout: Duration::from_secs(1),
    };
    let bad_sid = SmsConfig::Twilio {
        base_url: "https://api.twilio.com".into(),
        account_sid: "AC123/../x".into(),
        auth_token: SecretString::from("token"),
        from: "+15005550006".into(),
        timeout: Duration::from_secs(1),
    };
    for config in [bad_url, bad_sid] {
        assert!(matches!(
            Notifier::live(
                smtp_config(25, Duration::from_secs(1)),
                Some(config),
                http()
            ),
            Err(NotifyError::Unavailable(_))
        ));
    }
}

#[test]
fn debug_output_holds_no_secret() {
    let mut smtp = smtp_config(587, Duration::from_secs(10));
    smtp.tls = SmtpTls::Starttls;
    smtp.username = Some("mailer".into());
    smtp.password = Some(SecretString::from("smtp-password-1"));
    let webhook = SmsConfig::Webhook {
        url: "https://sms.example.com/send?key=url-secret-2".into(),
        token: Some(SecretString::from("hook-token-3")),
        timeout: Duration::from_secs(5),
    };
    let twilio = SmsConfig::Twilio {
        base_url: "https://api.twilio.com".into(),
        account_sid: "AC123".into(),
        auth_token: SecretString::from("twilio-token-4"),
        from: "+15005550006".into(),
        timeout: Duration::from_secs(5),
    };
    let delivery = Delivery::Live {
        smtp: smtp.clone(),
        sms: Some(webhook.clone()),
    };
    let notifier = Notifier::live(smtp, Some(twilio.clone()), http()).unwrap();
    let with_webhook = with_sms(webhook);
    let shown = format!("{delivery:?} {twilio:?} {notifier:?} {with_webhook:?}");
    for secret in [
        "smtp-password-1",
        "url-secret-2",
        "hook-token-3",
        "twilio-token-4",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("[redacted]"));

    let message = code_message("login", "493817", 10);
    assert!(!format!("{message:?}").contains("493817"));
}

// ---------------------------------------------------------------------------------------
// Dev outbox and the choice of notifier.

#[tokio::test]
async fn dev_outbox_keeps_email_and_sms_with_their_codes() {
    let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
    let store = db.store().await.unwrap();
    let notifier = Notifier::dev_outbox(store.clone());
    let message = code_message("withdrawal", "271828", 10);
    notifier
        .send_email(
            Email {
                to: "holder@example.com",
                subject: &message.subject,
                body: &message.text,
                html: Some(&message.html),
                code: Some("271828"),
            },
            NOW,
        )
        .await
        .unwrap();
    notifier
        .send_sms(
            Sms {
                to: "+447700900123",
                body: &message.sms,
                code: Some("271828"),
            },
            NOW,
        )
        .await
        .unwrap();

    let outbox = store.outbox_list(None, 10).await.unwrap();
    assert_eq!(outbox.len(), 2);
    let sms = &outbox[0]; // newest first
    assert_eq!(sms.channel, "sms");
    assert_eq!(sms.recipient, "+447700900123");
    assert_eq!(sms.subject, "SMS");
    assert_eq!(sms.body, message.sms);
    assert_eq!(sms.code.as_deref(), Some("271828"));
    let email = &outbox[1];
    assert_eq!(email.channel, "email");
    assert_eq!(email.recipient, "holder@example.com");
    assert_eq!(email.subject, message.subject);
    assert_eq!(email.body, message.text, "the plain body is kept");
    assert_eq!(email.code.as_deref(), Some("271828"));
    assert_eq!(email.sent_at, NOW);
    store.close().await;
}

#[tokio::test]
async fn production_without_transport_sends_nothing_and_keeps_nothing() {
    let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
    let store = db.store().await.unwrap();
    let notifier = Notifier::from_delivery(
        Mode::Production,
        &Delivery::DevOutbox,
        store.clone(),
        http(),
    );
    let err = notifier
        .send_email(
            Email {
                to: "holder@example.com",
                subject: "s",
                body: "b",
                html: None,
                code: Some("123456"),
            },
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Unavailable(_)), "{err:?}");
    let err = notifier.send_sms(a_text(), NOW).await.unwrap_err();
    assert!(matches!(err, NotifyError::Unavailable(_)), "{err:?}");
    assert!(store.outbox_list(None, 10).await.unwrap().is_empty());

    // Rejected live settings do not stop the server; every send reports why.
    let mut smtp = smtp_config(25, Duration::from_secs(1));
    smtp.from = "nobody".into();
    let broken = Notifier::from_delivery(
        Mode::Production,
        &Delivery::Live { smtp, sms: None },
        store.clone(),
        http(),
    );
    assert!(matches!(broken, Notifier::Disabled { .. }));
    store.close().await;
}

// ---------------------------------------------------------------------------------------
// Wording.

#[test]
fn every_purpose_gets_its_code_in_every_shape() {
    for purpose in PURPOSES {
        let words = purpose_words(purpose).unwrap_or_else(|| panic!("{purpose} has no words"));
        let m = code_message(purpose, "052918", 10);
        assert_eq!(m.subject, words.subject);
        for (shape, body) in [("text", &m.text), ("html", &m.html), ("sms", &m.sms)] {
            assert!(body.contains("052918"), "{purpose} {shape}: {body}");
        }
        for (shape, body) in [("text", &m.text), ("html", &m.html)] {
            assert!(body.contains(words.phrase), "{purpose} {shape}");
            assert!(
                body.contains("valid for 10 minutes and works once"),
                "{purpose} {shape}"
            );
            assert!(
                body.contains("do not share the code") || body.contains("Do not share the code")
            );
            assert!(body.contains("change your password"), "{purpose} {shape}");
            assert!(body.contains("/help/wrong-code"), "{purpose} {shape}");
        }
        assert_eq!(
            m.sms,
            format!(
                "offboard code 052918: {}. Valid 10 min. Never share it.",
                words.short
            )
        );
        assert!(
            m.sms.len() <= 160 && m.sms.is_ascii(),
            "one SMS segment: {}",
            m.sms
        );
        // Our own words need no escaping: nothing in the HTML got turned into an entity.
        for entity in ["&amp;", "&lt;", "&gt;", "&quot;", "&#x27;", "&#"] {
            assert!(
                !m.html.contains(entity),
                "{purpose}: {entity} in {}",
                m.html
            );
        }
        assert!(m.html.contains("href=\"/help/wrong-code\""));
    }
}

#[test]
fn html_escapes_what_it_prints_and_text_does_not() {
    let m = code_message("login", "<b>&1</b>", 10);
    assert!(m.html.contains("&lt;b&gt;&amp;1&lt;/b&gt;"), "{}", m.html);
    assert!(!m.html.contains("<b>&1</b>"));
    assert!(m.text.contains("<b>&1</b>"), "plain text is not escaped");
}

#[test]
fn help_link_uses_the_site_address_and_unknown_purposes_still_read_well() {
    let m = code_message_at("https://accounts.example.com/", "login", "111111", 1);
    assert!(m
        .text
        .contains("https://accounts.example.com/help/wrong-code"));
    assert!(m
        .html
        .contains("href=\"https://accounts.example.com/help/wrong-code\""));
    assert!(m.text.contains("valid for 1 minute and works once"));

    let m = code_message("something_new", "222222", 10);
    assert_eq!(m.subject, "Your offboard code");
    assert!(m.text.contains("222222") && m.sms.contains("222222"));
}

#[test]
fn deletion_notice_carries_both_dates() {
    let notice = deletion_notice("1 March 2025, 12:00 UTC", "31 March 2025");
    for body in [&notice.text, &notice.html] {
        assert!(body.contains("1 March 2025, 12:00 UTC"), "{body}");
        assert!(body.contains("31 March 2025"), "{body}");
    }
    assert!(notice.subject.contains("deleted"));
}

// ---------------------------------------------------------------------------------------
// The whole application with live delivery: production mode, SMTP to the sink, SMS to a
// provider that fails.

#[tokio::test]
async fn app_sends_real_email_and_reports_a_failing_sms_provider() {
    let (smtp_port, sink) = smtp_sink(SinkMode::Accept).await;
    let (provider, seen) = sms_provider(StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
    let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
    let store = db.store().await.unwrap();
    let mut config = offboard_server::ServerConfig::dev_defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.mode = Mode::Production;
    config.delivery = Delivery::Live {
        smtp: smtp_config(smtp_port, Duration::from_secs(5)),
        sms: Some(webhook(&provider, Duration::from_secs(2))),
    };
    let app = offboard_server::Application::build(config, store, None)
        .await
        .unwrap();
    let base = format!("http://{}", app.address());
    tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();

    let body =
        serde_json::json!({"email": "live@example.com", "password": "correct horse battery"});
    assert_eq!(
        http.post(format!("{base}/api/v1/signup"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();

    // An email code goes over SMTP to the sink.
    let res = http
        .post(format!("{base}/api/v1/me/codes"))
        .bearer_auth(token)
        .json(&serde_json::json!({"channel": "email", "purpose": "withdrawal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let sessions = sink.sessions();
    let code_mail = sessions.iter().find(|s| {
        s.data.contains("Subject:")
            && s.rcpt_to == ["live@example.com"]
            && s.data.contains("withdraw")
    });
    assert!(
        code_mail.is_some(),
        "the code email reached the SMTP sink: {:?}",
        sessions.iter().map(|s| &s.rcpt_to).collect::<Vec<_>>()
    );

    // The SMS provider answers 500: the user is told to try again, and the send counts.
    let phone = serde_json::json!({"phone": "+447911123456"});
    let res = http
        .post(format!("{base}/api/v1/me/phone"))
        .bearer_auth(token)
        .json(&phone)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "delivery_failed");
    assert_eq!(err["error"]["help"], "/help/sms-code-missing");
    assert_eq!(seen.lock().unwrap().len(), 1, "the provider was called");
    let res = http
        .post(format!("{base}/api/v1/me/phone"))
        .bearer_auth(token)
        .json(&phone)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        429,
        "the failed send still counts toward the limits"
    );
    // Production has no dev outbox.
    assert_eq!(
        http.get(format!("{base}/api/v1/dev/outbox"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

/// The outgoing HTTP client the server itself uses (reqwest, no redirects).
fn http() -> std::sync::Arc<dyn offboard_app::outbound::HttpClient> {
    std::sync::Arc::new(offboard_server::http::outbound::ReqwestClient::new().unwrap())
}
