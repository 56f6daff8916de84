//! Dev mode only (404 in production): the outbox, where one-time codes can be read, and
//! the dev clock.

use crate::client::{Auth, Client};
use crate::error::ClientError;
use crate::kinds::Channel;
use serde::{Deserialize, Serialize};

/// A message kept instead of sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OutboxMessage {
    pub channel: Channel,
    /// The email address or phone number.
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The one-time code the message carries, if any.
    #[serde(default)]
    pub code: Option<String>,
    pub sent_at: String,
}

#[derive(Serialize)]
struct Advance {
    advance_seconds: i64,
}

/// `200` of `POST /api/v1/dev/clock`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClockNow {
    /// The app's time after the move, RFC 3339.
    pub now: String,
}

impl Client {
    /// `dev_outbox`: `GET /api/v1/dev/outbox[?to=]`, newest first.
    pub async fn dev_outbox(&self, to: Option<&str>) -> Result<Vec<OutboxMessage>, ClientError> {
        let query: Vec<(&str, &str)> = to.map(|to| ("to", to)).into_iter().collect();
        self.get("dev_outbox", "/api/v1/dev/outbox", Auth::Public, &query)
            .await
    }

    /// The newest one-time code sent to `to` (one `dev_outbox` request).
    pub async fn latest_code(&self, to: &str) -> Result<String, ClientError> {
        newest_code(self.dev_outbox(Some(to)).await?)
            .ok_or_else(|| ClientError::NoCode { to: to.to_owned() })
    }

    /// `dev_clock`: moves the app's clock forward (409 `conflict` on the system clock).
    pub async fn dev_advance_clock(&self, seconds: i64) -> Result<ClockNow, ClientError> {
        let body = Advance {
            advance_seconds: seconds,
        };
        self.post("dev_clock", "/api/v1/dev/clock", Auth::Public, &body, 200)
            .await
    }
}

/// The code of the newest message that has one (the outbox lists newest first).
fn newest_code(messages: Vec<OutboxMessage>) -> Option<String> {
    messages.into_iter().find_map(|m| m.code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_newest_message_with_a_code_wins() {
        let messages: Vec<OutboxMessage> = serde_json::from_value(json!([
            {"channel": "email", "to": "a@example.com", "subject": "Deleted", "body": "Bye",
                "sent_at": "2026-01-01T12:03:00Z"},
            {"channel": "email", "to": "a@example.com", "subject": "Code", "body": "222222",
                "code": "222222", "sent_at": "2026-01-01T12:02:00Z"},
            {"channel": "sms", "to": "+4915112345678", "subject": "", "body": "111111",
                "code": "111111", "sent_at": "2026-01-01T12:01:00Z"},
        ]))
        .unwrap();
        assert_eq!(messages[2].channel, Channel::Sms);
        assert_eq!(newest_code(messages).as_deref(), Some("222222"));
        assert_eq!(newest_code(Vec::new()), None);
    }
}
