//! Outgoing messages: email over SMTP ([`smtp`]), text messages through an HTTP provider
//! ([`sms`]), and the wording of what we send ([`messages`]).
//!
//! In dev mode messages are kept in the store-backed dev outbox (shown at `/dev/outbox`)
//! instead of being sent. Production sends them for real; a production server without a
//! transport (or with one whose settings were rejected) holds a [`Notifier::Disabled`]
//! that answers every send with [`NotifyError::Unavailable`], so a request that needs a
//! code fails with "could not send, try again" instead of the server refusing to run.
//!
//! Nothing here logs a message body or a credential: bodies hold one-time codes.

pub mod messages;
pub mod sms;
pub mod smtp;

pub use messages::{code_message, deletion_notice, CodeMessage, Notice};

use crate::config::{Delivery, Mode};
pub use crate::config::{SmsConfig, SmtpConfig, SmtpTls};
use crate::outbound::HttpClient;
use offboard_store::{OutboxMessage, Store};
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub enum Notifier {
    /// Dev mode: messages are stored, never sent.
    DevOutbox(Store),
    /// Real delivery. Without an SMS provider, [`Notifier::send_sms`] answers
    /// [`NotifyError::NoSmsProvider`].
    Live {
        email: smtp::SmtpTransport,
        sms: Option<sms::SmsTransport>,
    },
    /// Cannot deliver: production without a transport, or a transport whose settings
    /// were rejected. Every send answers [`NotifyError::Unavailable`] with `reason`.
    Disabled { reason: String },
}

/// One email. `body` is the plain-text version; with `html` the message is sent as
/// `multipart/alternative`. `code` is the one-time code in it, if any (the dev outbox
/// shows it separately; real delivery ignores it).
#[derive(Debug)]
pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub html: Option<&'a str>,
    pub code: Option<&'a str>,
}

/// One text message to an E.164 number.
#[derive(Debug)]
pub struct Sms<'a> {
    pub to: &'a str,
    pub body: &'a str,
    pub code: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Provider or transport failure, a timeout, or unusable settings: the user sees
    /// "could not send, try again". The text is for logs and never holds a secret.
    #[error("the message could not be delivered: {0}")]
    Unavailable(String),
    #[error("no SMS provider is configured")]
    NoSmsProvider,
    #[error(transparent)]
    Store(#[from] offboard_store::StoreError),
}

impl Notifier {
    pub fn dev_outbox(store: Store) -> Self {
        Notifier::DevOutbox(store)
    }

    /// Dev mode: messages land in the local outbox, instantly.
    pub fn is_dev_outbox(&self) -> bool {
        matches!(self, Notifier::DevOutbox(_))
    }

    /// Builds the transports. Nothing connects yet: the SMTP connection is opened per
    /// message, so an unreachable server shows up as [`NotifyError::Unavailable`] on send.
    /// Fails only on settings that can never work (a sender that is not an address, an
    /// SMS URL that is not http(s), ...).
    pub fn live(
        email: SmtpConfig,
        sms: Option<SmsConfig>,
        http: Arc<dyn HttpClient>,
    ) -> Result<Self, NotifyError> {
        let email = smtp::SmtpTransport::new(&email)?;
        let sms = sms
            .as_ref()
            .map(|config| sms::SmsTransport::new(config, http))
            .transpose()?;
        Ok(Notifier::Live { email, sms })
    }

    /// The notifier a server with this mode and delivery setting uses. Never fails: a
    /// rejected live setting is logged and yields [`Notifier::Disabled`], and production
    /// with the dev outbox is disabled too (codes must not sit in a table in production).
    pub fn from_delivery(
        mode: Mode,
        delivery: &Delivery,
        store: Store,
        http: Arc<dyn HttpClient>,
    ) -> Self {
        match (delivery, mode) {
            (Delivery::DevOutbox, Mode::Dev) => Notifier::dev_outbox(store),
            (Delivery::DevOutbox, Mode::Production) => Notifier::Disabled {
                reason: "production mode has no email or SMS transport configured".into(),
            },
            (Delivery::Live { smtp, sms }, _) => {
                match Notifier::live(smtp.clone(), sms.clone(), http) {
                    Ok(notifier) => notifier,
                    Err(err) => {
                        tracing::error!(%err, "delivery settings rejected; no email or SMS will be sent");
                        Notifier::Disabled {
                            reason: err.to_string(),
                        }
                    }
                }
            }
        }
    }

    pub async fn send_email(
        &self,
        email: Email<'_>,
        now: OffsetDateTime,
    ) -> Result<(), NotifyError> {
        match self {
            Notifier::DevOutbox(store) => Ok(store
                .outbox_push(OutboxMessage {
                    channel: "email",
                    recipient: email.to,
                    subject: email.subject,
                    body: email.body,
                    code: email.code,
                    sent_at: now,
                })
                .await?),
            Notifier::Live { email: smtp, .. } => smtp.send(&email, now).await,
            Notifier::Disabled { reason } => Err(NotifyError::Unavailable(reason.clone())),
        }
    }

    pub async fn send_sms(&self, sms: Sms<'_>, now: OffsetDateTime) -> Result<(), NotifyError> {
        match self {
            Notifier::DevOutbox(store) => Ok(store
                .outbox_push(OutboxMessage {
                    channel: "sms",
                    recipient: sms.to,
                    subject: "SMS",
                    body: sms.body,
                    code: sms.code,
                    sent_at: now,
                })
                .await?),
            Notifier::Live {
                sms: Some(provider),
                ..
            } => provider.send(&sms).await,
            Notifier::Live { sms: None, .. } => Err(NotifyError::NoSmsProvider),
            Notifier::Disabled { reason } => Err(NotifyError::Unavailable(reason.clone())),
        }
    }

    /// Whether text messages can go out at all (the dev outbox always takes them).
    pub fn can_send_sms(&self) -> bool {
        matches!(
            self,
            Notifier::DevOutbox(_) | Notifier::Live { sms: Some(_), .. }
        )
    }
}
