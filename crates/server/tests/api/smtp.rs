//! Loopback delivery fakes for the HTTP tests, at the true edge: an SMTP sink (just
//! enough of RFC 5321 for lettre to deliver, recording each message, optionally slow:
//! every reply waits `delay`, to show that no answer waits on the relay) and an SMS
//! provider (the webhook shape: JSON `{"to", "body"}`).

use offboard_app::config::Delivery;
use offboard_app::notify::{SmsConfig, SmtpConfig, SmtpTls};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub rcpt_to: Vec<String>,
    pub data: String,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    /// Starts a sink whose every reply waits `delay` (zero: a fast relay).
    pub async fn start(delay: Duration) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    if let Some(mail) = session(stream, delay).await {
                        kept.lock().unwrap().push(mail);
                    }
                });
            }
        });
        SmtpSink { port, mails }
    }

    /// The delivery settings that send email to this sink (and texts to `sms`).
    pub fn delivery(&self, sms: Option<&SmsSink>) -> Delivery {
        Delivery::Live {
            smtp: SmtpConfig {
                host: "127.0.0.1".into(),
                port: self.port,
                tls: SmtpTls::None,
                username: None,
                password: None,
                from: "offboard <no-reply@offboard.test>".into(),
                timeout: Duration::from_secs(10),
            },
            sms: sms.map(|s| SmsConfig::Webhook {
                url: format!("http://127.0.0.1:{}/sms", s.port),
                token: None,
                timeout: Duration::from_secs(5),
            }),
        }
    }

    pub fn mails_to(&self, to: &str) -> Vec<Mail> {
        self.mails
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r == to))
            .cloned()
            .collect()
    }

    /// Waits (up to 10 s) for the `n`-th message to `to` that carries a one-time code
    /// (the indented six-digit line of the text part) and returns the code.
    pub async fn code(&self, to: &str, n: usize) -> String {
        for _ in 0..200 {
            let codes: Vec<String> = self
                .mails_to(to)
                .iter()
                .filter_map(|m| code_in(&m.data))
                .collect();
            if let Some(code) = codes.get(n - 1) {
                return code.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no code number {n} to {to} reached the sink");
    }
}

fn code_in(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
}

/// The SMS provider: records every text it is asked to send.
#[derive(Clone)]
pub struct SmsSink {
    pub port: u16,
    texts: Arc<Mutex<Vec<(String, String)>>>,
}

impl SmsSink {
    pub async fn start() -> SmsSink {
        let texts: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let kept = texts.clone();
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let kept = kept.clone();
                async move {
                    let field = |k: &str| body[k].as_str().unwrap_or("").to_owned();
                    kept.lock().unwrap().push((field("to"), field("body")));
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        SmsSink { port, texts }
    }

    /// The newest code texted to `to`.
    pub fn latest_code(&self, to: &str) -> String {
        self.texts
            .lock()
            .unwrap()
            .iter()
            .rev()
            .filter(|(t, _)| t == to)
            .find_map(|(_, body)| {
                body.split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 6)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no code texted to {to}"))
    }
}

async fn session(stream: tokio::net::TcpStream, delay: Duration) -> Option<Mail> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut mail = Mail::default();
    let mut delivered = false;
    tokio::time::sleep(delay).await;
    write.write_all(b"220 sink.test ESMTP\r\n").await.ok()?;
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return delivered.then_some(mail);
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        tokio::time::sleep(delay).await;
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250 8BITMIME\r\n",
            "RCPT" => {
                let start = line.find('<').map_or(0, |i| i + 1);
                let end = line.find('>').unwrap_or(line.len());
                mail.rcpt_to.push(line[start..end].to_owned());
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await.ok()?;
                loop {
                    let mut part = String::new();
                    if lines.read_line(&mut part).await.unwrap_or(0) == 0 {
                        return None;
                    }
                    if part == ".\r\n" {
                        break;
                    }
                    mail.data.push_str(part.strip_prefix('.').unwrap_or(&part));
                }
                delivered = true;
                b"250 queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return delivered.then_some(mail);
            }
            _ => b"250 OK\r\n",
        };
        write.write_all(answer).await.ok()?;
    }
}
