//! Email over SMTP with `lettre` (tokio, rustls).

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use crate::NotifyError;
use crate::texts::Text;

/// How the connection to the SMTP server is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host or network only).
    None,
    /// STARTTLS, required (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl SmtpTls {
    /// Parses `none`, `starttls` or `tls`.
    ///
    /// # Errors
    /// [`NotifyError::Config`] naming the choices.
    pub fn parse(text: &str) -> Result<Self, NotifyError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "plain" => Ok(Self::None),
            "starttls" => Ok(Self::StartTls),
            "tls" | "smtps" => Ok(Self::Tls),
            other => Err(NotifyError::Config(format!(
                "'{other}' is not a way to secure SMTP; use starttls (port 587), tls (port 465) or none"
            ))),
        }
    }
}

/// Where and how email is sent.
#[derive(Clone)]
pub struct SmtpConfig {
    /// The SMTP server's host name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The sender, e.g. `jejak <jejak@bpsdm.bantenprov.go.id>`.
    pub from: String,
    /// How the connection is secured.
    pub tls: SmtpTls,
    /// User name and password, if the server wants them.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("tls", &self.tls)
            .field("credentials", &self.credentials.as_ref().map(|_| "…"))
            .finish()
    }
}

impl SmtpConfig {
    /// Reads SMTP credentials from `path` (0600): the user name on the
    /// first line, the password on the second.
    ///
    /// # Errors
    /// [`NotifyError::SecretFile`] for a file others may read, or one
    /// without both lines.
    pub fn read_credentials(path: &std::path::Path) -> Result<(String, String), NotifyError> {
        let bytes = crate::read_secret_file(path)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            NotifyError::SecretFile(format!("{} is not UTF-8 text", path.display()))
        })?;
        let mut lines = text.lines();
        match (lines.next(), lines.next()) {
            (Some(user), Some(password)) if !user.trim().is_empty() && !password.is_empty() => {
                Ok((user.trim().to_owned(), password.to_owned()))
            }
            _ => Err(NotifyError::SecretFile(format!(
                "{} holds no credentials: write the user name on the first line and the password on the second",
                path.display()
            ))),
        }
    }
}

/// The SMTP channel.
pub(crate) struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Email {
    pub(crate) fn new(config: &SmtpConfig) -> Result<Self, NotifyError> {
        let from: Mailbox = config.from.parse().map_err(|e| {
            NotifyError::Config(format!(
                "--smtp-from '{}' is not a sender address ({e}); write it as name@domain or \"jejak <name@domain>\"",
                config.from
            ))
        })?;
        let bad_host = |e: lettre::transport::smtp::Error| {
            NotifyError::Config(format!("--smtp-host '{}': {e}", config.host))
        };
        let mut builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(bad_host)?,
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(bad_host)?
            }
        }
        .port(config.port)
        .timeout(Some(std::time::Duration::from_secs(30)));
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// Sends `text` to `to` as message `id` (its `Message-ID`).
    pub(crate) async fn send(&self, id: &str, to: &str, text: &Text) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("the address does not parse: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(text.subject.clone())
            .message_id(Some(format!("<{id}@jejak>")))
            .header(ContentType::TEXT_PLAIN)
            .body(text.body.clone())
            .map_err(|e| format!("the message could not be built: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
