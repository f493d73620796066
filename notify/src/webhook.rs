//! Webhooks: an HTTP POST of the message as JSON, its body signed with
//! HMAC-SHA256 under a secret shared with the receiver (a WhatsApp gateway
//! or a chat tool).

use hmac::{Hmac, Mac as _};
use serde::Serialize;
use sha2::Sha256;

use jejak_engine::notifications::Facts;

use crate::NotifyError;

/// The header that carries the signature: `sha256=` and the hex HMAC-SHA256
/// of the body under the shared secret.
pub const SIGNATURE_HEADER: &str = "x-jejak-signature";

/// The header that carries the message's id (also in the body).
pub const ID_HEADER: &str = "x-jejak-message-id";

/// Where webhooks go and how they are signed.
#[derive(Clone)]
pub struct WebhookConfig {
    /// The receiver's URL (https, or http on the same host).
    pub url: reqwest::Url,
    /// The shared secret.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    /// Validates the receiver's URL and the secret.
    ///
    /// # Errors
    /// [`NotifyError::Config`] for a URL that is not http(s), or a secret
    /// shorter than 16 bytes.
    pub fn new(url: &str, secret: Vec<u8>) -> Result<Self, NotifyError> {
        let url = reqwest::Url::parse(url).map_err(|e| {
            NotifyError::Config(format!("--webhook-url '{url}' is not a URL ({e})"))
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(NotifyError::Config(format!(
                "--webhook-url '{url}' must be an https address (http only on a trusted network)"
            )));
        }
        let secret: Vec<u8> = match std::str::from_utf8(&secret) {
            Ok(text) => text.trim_end().as_bytes().to_vec(),
            Err(_) => secret,
        };
        if secret.len() < 16 {
            return Err(NotifyError::Config(
                "the webhook secret is shorter than 16 bytes; write at least 32 random characters into the --webhook-secret-file"
                    .into(),
            ));
        }
        Ok(Self { url, secret })
    }
}

/// The hex HMAC-SHA256 of `body` under `secret`, as the signature header
/// carries it (`sha256=…`).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What a webhook carries.
#[derive(Debug, Serialize)]
pub(crate) struct Body<'a> {
    /// The message's id: the same on every attempt.
    pub id: &'a str,
    pub kind: &'a str,
    pub role: &'a str,
    pub whatsapp: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub facts: &'a [Facts],
}

/// The webhook channel.
#[derive(Debug)]
pub(crate) struct Webhook {
    config: WebhookConfig,
    http: reqwest::Client,
}

impl Webhook {
    pub(crate) fn new(config: &WebhookConfig) -> Result<Self, NotifyError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| NotifyError::Config(format!("the webhook client could not start: {e}")))?;
        Ok(Self {
            config: config.clone(),
            http,
        })
    }

    pub(crate) async fn post(&self, body: &Body<'_>) -> Result<(), String> {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let signature = sign(&self.config.secret, &bytes);
        let answer = self
            .http
            .post(self.config.url.clone())
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(ID_HEADER, body.id)
            .body(bytes)
            .send()
            .await
            .map_err(|e| format!("the receiver could not be reached: {e}"))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {}", answer.status()))
        }
    }
}
