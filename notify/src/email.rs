//! Email over SMTP with `lettre` (tokio, rustls).

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
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

/// How jejak logs in to the SMTP server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SmtpAuth {
    /// Whichever the server offers, PLAIN first, then LOGIN.
    #[default]
    Any,
    /// PLAIN only (RFC 4616).
    Plain,
    /// LOGIN only (older servers, Office 365).
    Login,
}

impl SmtpAuth {
    /// Parses `plain`, `login` or `any`.
    ///
    /// # Errors
    /// [`NotifyError::Config`] naming the choices.
    pub fn parse(text: &str) -> Result<Self, NotifyError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "any" | "" => Ok(Self::Any),
            "plain" => Ok(Self::Plain),
            "login" => Ok(Self::Login),
            other => Err(NotifyError::Config(format!(
                "'{other}' is not an SMTP login mechanism; use plain, login or any"
            ))),
        }
    }

    fn mechanisms(self) -> Vec<Mechanism> {
        match self {
            Self::Any => vec![Mechanism::Plain, Mechanism::Login],
            Self::Plain => vec![Mechanism::Plain],
            Self::Login => vec![Mechanism::Login],
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
    /// How to log in with them.
    pub auth: SmtpAuth,
    /// Certificates (PEM) to trust beside the public roots: a server whose
    /// certificate a city's own authority signed.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("tls", &self.tls)
            .field("credentials", &self.credentials.as_ref().map(|_| "…"))
            .field("auth", &self.auth)
            .field("ca_pem", &self.ca_pem.as_ref().map(Vec::len))
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
        let bad_tls = |e: lettre::transport::smtp::Error| {
            NotifyError::Config(format!(
                "TLS to --smtp-host '{}' cannot be set up: {e}",
                config.host
            ))
        };
        let tls = match config.tls {
            SmtpTls::None => None,
            SmtpTls::StartTls | SmtpTls::Tls => {
                let mut params = TlsParameters::builder(config.host.clone());
                if let Some(pem) = &config.ca_pem {
                    let certificate = Certificate::from_pem(pem).map_err(|e| {
                        NotifyError::Config(format!(
                            "--smtp-ca-file holds no PEM certificate ({e}); give the \
                             certificate of the authority that signed the SMTP server's"
                        ))
                    })?;
                    params = params.add_root_certificate(certificate);
                }
                Some(params.build_rustls().map_err(bad_tls)?)
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(std::time::Duration::from_secs(30)));
        builder = match (config.tls, tls) {
            (SmtpTls::StartTls, Some(params)) => builder.tls(Tls::Required(params)),
            (SmtpTls::Tls, Some(params)) => builder.tls(Tls::Wrapper(params)),
            _ => builder.tls(Tls::None),
        };
        if let Some((user, password)) = &config.credentials {
            builder = builder
                .credentials(Credentials::new(user.clone(), password.clone()))
                .authentication(config.auth.mechanisms());
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
            .map_err(|e| explain(&e))
    }
}

/// What went wrong with SMTP, in words an operator can act on (`admin
/// outbox` shows them): a certificate not trusted, a login refused, a
/// server not reached.
fn explain(err: &lettre::transport::smtp::Error) -> String {
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !chain.contains(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = cause.source();
    }
    let lower = chain.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("unknownissuer") {
        format!(
            "the SMTP server's TLS certificate is not trusted ({chain}); give the certificate \
             of the authority that signed it with --smtp-ca-file, or fix the server's certificate"
        )
    } else if err.is_permanent()
        && (lower.contains("535")
            || lower.contains("authentication")
            || lower.contains("credentials"))
    {
        format!(
            "the SMTP server refused the login ({chain}); check the user name and password in \
             --smtp-credentials-file and the mechanism (--smtp-auth plain|login)"
        )
    } else if lower.contains("no compatible authentication") || lower.contains("mechanism") {
        format!(
            "the SMTP server offers no login mechanism jejak may use ({chain}); try \
             --smtp-auth plain or login, and TLS (--smtp-tls starttls|tls)"
        )
    } else {
        chain
    }
}
