//! Outgoing messages. In dev mode they are kept in the store-backed dev outbox (shown at
//! `/dev/outbox`) instead of being sent; SMTP and SMS delivery arrive with the factors
//! issue and production refuses to start without them.

use crate::config::Mode;
use offboard_store::{OutboxMessage, Store, StoreError};
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub enum Notifier {
    DevOutbox(Store),
    /// Production without a configured transport: start-up refuses this (see the
    /// binary's settings), so reaching it is a bug and is reported as an error.
    Unconfigured,
}

#[derive(Debug)]
pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub code: Option<&'a str>,
}

impl Notifier {
    pub fn for_mode(mode: Mode, store: Store) -> Self {
        match mode {
            Mode::Dev => Notifier::DevOutbox(store),
            Mode::Production => Notifier::Unconfigured,
        }
    }

    pub async fn send_email(
        &self,
        email: Email<'_>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        match self {
            Notifier::DevOutbox(store) => {
                store
                    .outbox_push(OutboxMessage {
                        channel: "email",
                        recipient: email.to,
                        subject: email.subject,
                        body: email.body,
                        code: email.code,
                        sent_at: now,
                    })
                    .await
            }
            Notifier::Unconfigured => Err(StoreError::Corrupt(
                "no email transport is configured".into(),
            )),
        }
    }
}
