//! Text messages through an HTTP provider: a generic JSON webhook, or Twilio's Messages
//! API (which several other providers imitate).

use super::{NotifyError, Sms, SmsConfig};
use crate::outbound::{self, Auth, Body, HttpClient, Method};
use secrecy::SecretString;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// A configured SMS provider client. Cheap to clone (one shared allocation); Debug
/// prints no token or URL.
#[derive(Clone)]
pub struct SmsTransport(Arc<Inner>);

struct Inner {
    client: Arc<dyn HttpClient>,
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
    pub fn new(config: &SmsConfig, client: Arc<dyn HttpClient>) -> Result<Self, NotifyError> {
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
        // The client never follows a redirect: that would be a misconfiguration, and
        // following it could hand the message to a host nobody chose. It counts as a
        // failed send instead.
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
    fn request(&self, sms: &Sms<'_>) -> Result<outbound::Request, NotifyError> {
        let unencodable = |_| NotifyError::Unavailable("the SMS could not be encoded".into());
        let (url, auth, body) = match &self.provider {
            Provider::Webhook { url, token } => (
                url.clone(),
                token.clone().map(Auth::Bearer),
                Body::Json(
                    serde_json::to_vec(&WebhookBody {
                        to: sms.to,
                        body: sms.body,
                    })
                    .map_err(|_| NotifyError::Unavailable("the SMS could not be encoded".into()))?,
                ),
            ),
            Provider::Twilio {
                endpoint,
                account_sid,
                auth_token,
                from,
            } => (
                endpoint.clone(),
                Some(Auth::Basic {
                    user: account_sid.clone(),
                    password: auth_token.clone(),
                }),
                Body::Form(
                    serde_urlencoded::to_string(TwilioForm {
                        to: sms.to,
                        from,
                        body: sms.body,
                    })
                    .map_err(unencodable)?,
                ),
            ),
        };
        let mut request = outbound::Request::new(Method::Post, url, self.timeout);
        request.auth = auth;
        request.body = Some(body);
        Ok(request)
    }

    async fn send(&self, sms: &Sms<'_>) -> Result<(), NotifyError> {
        let provider = self.provider.name();
        match self.client.send(self.request(sms)?).await {
            Ok(response) if response.is_success() => Ok(()),
            Ok(response) => {
                let reason = format!("SMS provider answered {}", response.status);
                tracing::warn!(provider, status = response.status, "{reason}");
                Err(NotifyError::Unavailable(reason))
            }
            Err(err) => {
                let reason = match err {
                    outbound::Error::Timeout => format!(
                        "SMS provider did not answer within {} ms",
                        self.timeout.as_millis()
                    ),
                    outbound::Error::Connect => "could not connect to the SMS provider".to_owned(),
                    outbound::Error::Failed => "the request to the SMS provider failed".to_owned(),
                };
                tracing::warn!(provider, error = %err, "{reason}");
                Err(NotifyError::Unavailable(reason))
            }
        }
    }
}

fn http_url(raw: &str) -> Option<Url> {
    let url = Url::parse(raw.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some()).then_some(url)
}
