//! Email over SMTP with lettre. One connection per message (no pool): code emails are
//! rare and a fresh connection never trips over one the server has already dropped.

use super::{Email, NotifyError, SmtpConfig, SmtpTls};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

/// A configured SMTP client. Cheap to clone (one shared allocation); Debug prints no
/// credential.
#[derive(Clone)]
pub struct SmtpTransport(Arc<Inner>);

struct Inner {
    client: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
    tls: SmtpTls,
    timeout: Duration,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let this = &self.0;
        f.debug_struct("SmtpTransport")
            .field("host", &this.host)
            .field("port", &this.port)
            .field("tls", &this.tls)
            .field("from", &this.from.email.to_string())
            .field("timeout", &this.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// Checks the settings and builds the client; does not connect.
    pub fn new(config: &SmtpConfig) -> Result<Self, NotifyError> {
        let from: Mailbox = config.from.parse().map_err(|_| {
            NotifyError::Unavailable(format!(
                "invalid SMTP settings: the sender `{}` is not an email address",
                config.from
            ))
        })?;
        if config.host.trim().is_empty() {
            return Err(NotifyError::Unavailable(
                "invalid SMTP settings: the host is empty".into(),
            ));
        }
        let builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|_| tls_setup_error(&config.host))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|_| tls_setup_error(&config.host))?,
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let Some(username) = &config.username {
            let password = config
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        Ok(Self(Arc::new(Inner {
            client: builder.build(),
            from,
            host: config.host.clone(),
            port: config.port,
            tls: config.tls,
            timeout: config.timeout,
        })))
    }

    /// Sends one message. The whole exchange, from connecting to the server's last
    /// answer, is bounded by the configured timeout: lettre's own timeout covers
    /// connecting only, so a server that accepts the connection and then says nothing
    /// would otherwise hold the request forever.
    pub async fn send(&self, email: &Email<'_>, now: OffsetDateTime) -> Result<(), NotifyError> {
        self.0.send(email, now).await
    }

    /// The message as it goes on the wire: From, To, Subject, Message-ID, Date, and a
    /// plain body or a plain + HTML `multipart/alternative`.
    pub fn message(&self, email: &Email<'_>, now: OffsetDateTime) -> Result<Message, NotifyError> {
        self.0.message(email, now)
    }
}

impl Inner {
    async fn send(&self, email: &Email<'_>, now: OffsetDateTime) -> Result<(), NotifyError> {
        let message = self.message(email, now)?;
        match tokio::time::timeout(self.timeout, self.client.send(message)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(err)) => {
                let reason = self.describe(&err);
                // lettre's error holds the server's answer, never our credentials or the body.
                tracing::warn!(host = %self.host, port = self.port, error = %err, "{reason}");
                Err(NotifyError::Unavailable(reason))
            }
            Err(_elapsed) => {
                let reason = format!(
                    "the mail server at {}:{} did not answer within {} ms",
                    self.host,
                    self.port,
                    self.timeout.as_millis()
                );
                tracing::warn!(host = %self.host, port = self.port, "{reason}");
                Err(NotifyError::Unavailable(reason))
            }
        }
    }

    fn message(&self, email: &Email<'_>, now: OffsetDateTime) -> Result<Message, NotifyError> {
        let to: Mailbox = email.to.parse().map_err(|_| {
            NotifyError::Unavailable("the recipient is not a valid email address".into())
        })?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .message_id(Some(format!(
                "<{}@{}>",
                uuid::Uuid::new_v4().simple(),
                self.from.email.domain()
            )))
            .date(SystemTime::from(now));
        let built = match email.html.filter(|html| !html.is_empty()) {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                email.body.to_owned(),
                html.to_owned(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(email.body.to_owned()),
        };
        built.map_err(|err| NotifyError::Unavailable(format!("could not build the email: {err}")))
    }

    fn describe(&self, err: &lettre::transport::smtp::Error) -> String {
        let server = format!("{}:{}", self.host, self.port);
        if err.is_timeout() {
            format!("the mail server at {server} did not answer in time")
        } else if let (true, Some(code)) = (err.is_permanent(), err.status()) {
            format!("the mail server at {server} refused the message ({code})")
        } else if let (true, Some(code)) = (err.is_transient(), err.status()) {
            format!("the mail server at {server} is temporarily unavailable ({code})")
        } else if err.is_tls() {
            format!("the TLS connection to the mail server at {server} failed")
        } else {
            format!("could not talk to the mail server at {server}")
        }
    }
}

fn tls_setup_error(host: &str) -> NotifyError {
    NotifyError::Unavailable(format!(
        "invalid SMTP settings: cannot set up TLS for host `{host}`"
    ))
}
