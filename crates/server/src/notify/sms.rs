//! Text messages through an HTTP provider: a generic JSON webhook, or Twilio's Messages
//! API (which several other providers imitate).

use super::{NotifyError, Sms, SmsConfig};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A configured SMS provider client. Cheap to clone (one shared allocation); Debug
/// prints no token or URL.
#[derive(Clone)]
pub struct SmsTransport(Arc<Inner>);

struct Inner {
    client: reqwest::Client,
    provider: Provider,
    timeout: Duration,
}

enum Provider {
    Webhook {
        url: Url,
        token: Option<SecretString>,
    },
    Twilio {
        endpoint: Url,
        account_sid: String,
        auth_token: SecretString,
        from: String,
    },
}

impl Provider {
    fn name(&self) -> &'static str {
        match self {
            Provider::Webhook { .. } => "webhook",
            Provider::Twilio { .. } => "twilio",
        }
    }

    fn url(&self) -> &Url {
        match self {
            Provider::Webhook { url, .. } => url,
            Provider::Twilio { endpoint, .. } => endpoint,
        }
    }
}

impl fmt::Debug for SmsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let this = &self.0;
        f.debug_struct("SmsTransport")
            .field("provider", &this.provider.name())
            .field("host", &this.provider.url().host_str())
            .field("timeout", &this.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize)]
struct WebhookBody<'a> {
    to: &'a str,
    body: &'a str,
}

#[derive(serde::Serialize)]
struct TwilioForm<'a> {
    #[serde(rename = "To")]
    to: &'a str,
    #[serde(rename = "From")]
    from: &'a str,
    #[serde(rename = "Body")]
    body: &'a str,
}

impl SmsTransport {
    /// Checks the settings and builds the HTTP client; does not connect.
    pub fn new(config: &SmsConfig) -> Result<Self, NotifyError> {
        let (provider, timeout) = match config {
            SmsConfig::Webhook {
                url,
                token,
                timeout,
            } => {
                let url = http_url(url).ok_or_else(|| {
                    NotifyError::Unavailable(
                        "invalid SMS settings: the webhook URL is not an http(s) URL".into(),
                    )
                })?;
                (
                    Provider::Webhook {
                        url,
                        token: token.clone(),
                    },
                    *timeout,
                )
            }
            SmsConfig::Twilio {
                base_url,
                account_sid,
                auth_token,
                from,
                timeout,
            } => {
                if account_sid.is_empty() || !account_sid.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    return Err(NotifyError::Unavailable(
                        "invalid SMS settings: the Twilio account SID must be letters and digits"
                            .into(),
                    ));
                }
                let endpoint = http_url(base_url)
                    .and_then(|mut url| {
                        url.path_segments_mut()
                            .ok()?
                            .pop_if_empty()
                            .extend(["2010-04-01", "Accounts", account_sid, "Messages.json"]);
                        Some(url)
                    })
                    .ok_or_else(|| {
                        NotifyError::Unavailable(format!(
                            "invalid SMS settings: the Twilio base URL `{base_url}` is not an http(s) URL"
                        ))
                    })?;
                (
                    Provider::Twilio {
                        endpoint,
                        account_sid: account_sid.clone(),
                        auth_token: auth_token.clone(),
                        from: from.clone(),
                    },
                    *timeout,
                )
            }
        };
        let url = provider.url();
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if url.scheme() == "http" && !loopback {
            tracing::warn!(
                provider = provider.name(),
                host = ?url.host_str(),
                "the SMS provider is reached over plain http; its credentials travel unencrypted"
            );
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect would be a misconfiguration; following it could hand the message
            // to a host nobody chose. It counts as a failed send instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| {
                NotifyError::Unavailable("could not set up the HTTP client for SMS".into())
            })?;
        Ok(Self(Arc::new(Inner {
            client,
            provider,
            timeout,
        })))
    }

    /// Sends one text message; any 2xx answer is success. The provider's answer is not
    /// read or logged (it may echo the body, which holds a code).
    pub async fn send(&self, sms: &Sms<'_>) -> Result<(), NotifyError> {
        self.0.send(sms).await
    }
}

impl Inner {
    async fn send(&self, sms: &Sms<'_>) -> Result<(), NotifyError> {
        let request = match &self.provider {
            Provider::Webhook { url, token } => {
                let request = self.client.post(url.clone()).json(&WebhookBody {
                    to: sms.to,
                    body: sms.body,
                });
                match token {
                    Some(token) => request.bearer_auth(token.expose_secret()),
                    None => request,
                }
            }
            Provider::Twilio {
                endpoint,
                account_sid,
                auth_token,
                from,
            } => self
                .client
                .post(endpoint.clone())
                .basic_auth(account_sid, Some(auth_token.expose_secret()))
                .form(&TwilioForm {
                    to: sms.to,
                    from,
                    body: sms.body,
                }),
        };
        let provider = self.provider.name();
        match request.send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => {
                let reason = format!("SMS provider answered {}", response.status().as_u16());
                tracing::warn!(provider, status = response.status().as_u16(), "{reason}");
                Err(NotifyError::Unavailable(reason))
            }
            Err(err) => {
                let reason = if err.is_timeout() {
                    format!(
                        "SMS provider did not answer within {} ms",
                        self.timeout.as_millis()
                    )
                } else if err.is_connect() {
                    "could not connect to the SMS provider".to_owned()
                } else {
                    "the request to the SMS provider failed".to_owned()
                };
                // Without the URL: a webhook URL may carry a token in its query.
                tracing::warn!(provider, error = %err.without_url(), "{reason}");
                Err(NotifyError::Unavailable(reason))
            }
        }
    }
}

fn http_url(raw: &str) -> Option<Url> {
    let url = Url::parse(raw.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some()).then_some(url)
}
