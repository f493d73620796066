//! `jejak serve`'s notification channels (ADR 0032): flags > `JEJAK_*` >
//! the config file's `[notify]` table. Without an SMTP host or a webhook
//! URL nothing is sent; messages wait in the outbox.

use std::path::PathBuf;

use anyhow::Context as _;
use jejak_notify::{NotifyConfig, SmtpAuth, SmtpConfig, SmtpTls, WebhookConfig, read_secret_file};

/// The `[notify]` table of the config file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyFile {
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_from: Option<String>,
    smtp_tls: Option<String>,
    smtp_credentials_file: Option<PathBuf>,
    smtp_auth: Option<String>,
    smtp_ca_file: Option<PathBuf>,
    webhook_url: Option<String>,
    webhook_secret_file: Option<PathBuf>,
    keep_sent_days: Option<u32>,
    summary_day: Option<String>,
}

/// Where notifications go.
#[derive(Debug, Clone, clap::Args)]
pub struct NotifyArgs {
    /// SMTP server for email notifications; none: no email is sent.
    #[arg(long, env = "JEJAK_SMTP_HOST")]
    smtp_host: Option<String>,
    /// Its port. Default: 587 (starttls), 465 (tls), 25 (none)
    #[arg(long, env = "JEJAK_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// The sender, e.g. "jejak <jejak@bpsdm.bantenprov.go.id>". Required with --smtp-host.
    #[arg(long, env = "JEJAK_SMTP_FROM")]
    smtp_from: Option<String>,
    /// How the SMTP connection is secured: starttls, tls or none. Default: starttls
    #[arg(long, env = "JEJAK_SMTP_TLS")]
    smtp_tls: Option<String>,
    /// A file (0600) with the SMTP user name on its first line and the password on its second.
    #[arg(long, env = "JEJAK_SMTP_CREDENTIALS_FILE")]
    smtp_credentials_file: Option<PathBuf>,
    /// How to log in with the credentials: plain, login, or any (PLAIN, then LOGIN). Default: any
    #[arg(long, env = "JEJAK_SMTP_AUTH")]
    smtp_auth: Option<String>,
    /// A PEM file of certificates to trust beside the public roots, for an SMTP server whose
    /// certificate the city's own authority signed.
    #[arg(long, env = "JEJAK_SMTP_CA_FILE")]
    smtp_ca_file: Option<PathBuf>,
    /// Webhook receiver (a WhatsApp gateway or a chat tool): each message is POSTed
    /// there as JSON, signed with HMAC-SHA256 in the header X-Jejak-Signature.
    #[arg(long, env = "JEJAK_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// A file (0600) holding the webhook's shared secret (at least 16 bytes). Required with --webhook-url.
    #[arg(long, env = "JEJAK_WEBHOOK_SECRET_FILE")]
    webhook_secret_file: Option<PathBuf>,
    /// Days sent notifications are kept before they are pruned (failed ones stay until
    /// retried or dismissed). Default: 90; at least 7
    #[arg(long, env = "JEJAK_NOTIFY_KEEP_SENT_DAYS")]
    notify_keep_sent_days: Option<u32>,
    /// The day organizers get their cohorts' weekly summary, at 07:00 in the region's time
    /// zone: mon, tue, … sun (or senin, selasa, rabu, kamis, jumat, sabtu, minggu). Default: mon
    #[arg(long, env = "JEJAK_NOTIFY_SUMMARY_DAY")]
    notify_summary_day: Option<String>,
}

/// A day of the week as an operator writes it, in English or Indonesian.
fn weekday(text: &str) -> anyhow::Result<chrono::Weekday> {
    use chrono::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
    Ok(match text.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" | "senin" => Mon,
        "tue" | "tuesday" | "selasa" => Tue,
        "wed" | "wednesday" | "rabu" => Wed,
        "thu" | "thursday" | "kamis" => Thu,
        "fri" | "friday" | "jumat" | "jum'at" => Fri,
        "sat" | "saturday" | "sabtu" => Sat,
        "sun" | "sunday" | "minggu" => Sun,
        other => anyhow::bail!(
            "--notify-summary-day '{other}' is not a day of the week; use mon, tue, wed, thu, fri, sat or sun"
        ),
    })
}

impl NotifyArgs {
    /// The channels, from the flags over the file's `[notify]` table; the
    /// weekly summary's day goes into `engine`, whose notifier plans it.
    ///
    /// # Errors
    /// An SMTP host without a sender, a webhook URL without a secret file,
    /// a secret file others may read, values that do not parse.
    pub fn resolve(
        self,
        file: Option<NotifyFile>,
        engine: &mut jejak_engine::engine::EngineConfig,
    ) -> anyhow::Result<NotifyConfig> {
        let file = file.unwrap_or_default();
        if let Some(day) = self.notify_summary_day.or(file.summary_day) {
            engine.summary_day = weekday(&day)?;
        }
        let mut config = NotifyConfig::default();
        if let Some(host) = self.smtp_host.or(file.smtp_host) {
            let tls = match self.smtp_tls.or(file.smtp_tls) {
                Some(text) => SmtpTls::parse(&text)?,
                None => SmtpTls::default(),
            };
            let from = self.smtp_from.or(file.smtp_from).ok_or_else(|| {
                anyhow::anyhow!(
                    "--smtp-host needs --smtp-from: the address notifications are sent from"
                )
            })?;
            let credentials = match self.smtp_credentials_file.or(file.smtp_credentials_file) {
                Some(path) => Some(SmtpConfig::read_credentials(&path)?),
                None => None,
            };
            let auth = match self.smtp_auth.or(file.smtp_auth) {
                Some(text) => SmtpAuth::parse(&text)?,
                None => SmtpAuth::default(),
            };
            let ca_pem =
                match self.smtp_ca_file.or(file.smtp_ca_file) {
                    Some(path) => Some(std::fs::read(&path).with_context(|| {
                        format!("cannot read --smtp-ca-file {}", path.display())
                    })?),
                    None => None,
                };
            config.smtp = Some(SmtpConfig {
                host,
                port: self.smtp_port.or(file.smtp_port).unwrap_or(match tls {
                    SmtpTls::StartTls => 587,
                    SmtpTls::Tls => 465,
                    SmtpTls::None => 25,
                }),
                from,
                tls,
                credentials,
                auth,
                ca_pem,
            });
        }
        if let Some(url) = self.webhook_url.or(file.webhook_url) {
            let path = self
                .webhook_secret_file
                .or(file.webhook_secret_file)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--webhook-url needs --webhook-secret-file: the secret its bodies are signed with"
                    )
                })?;
            let secret = read_secret_file(&path)?;
            config.webhook =
                Some(WebhookConfig::new(&url, secret).context("the webhook is not usable")?);
        }
        if let Some(days) = self.notify_keep_sent_days.or(file.keep_sent_days) {
            if days < 7 {
                anyhow::bail!(
                    "--notify-keep-sent-days {days} is too short: keep sent notifications at \
                     least 7 days (a reminder's window), e.g. 90"
                );
            }
            config.keep_sent = chrono::Duration::days(i64::from(days));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> NotifyArgs {
        NotifyArgs {
            smtp_host: None,
            smtp_port: None,
            smtp_from: None,
            smtp_tls: None,
            smtp_credentials_file: None,
            smtp_auth: None,
            smtp_ca_file: None,
            webhook_url: None,
            webhook_secret_file: None,
            notify_keep_sent_days: None,
            notify_summary_day: None,
        }
    }

    fn secret_file(dir: &std::path::Path, mode: u32, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join(format!("secret-{mode:o}"));
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn without_a_host_or_url_nothing_is_sent() {
        let config = none().resolve(None, &mut Default::default()).unwrap();
        assert!(config.smtp.is_none() && config.webhook.is_none());
    }

    #[test]
    fn the_file_gives_what_the_flags_do_not_and_ports_follow_tls() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = secret_file(dir.path(), 0o600, "jejak\nrahasia\n");
        let file: NotifyFile = toml::from_str(&format!(
            "smtp_host = \"mail.bantenprov.go.id\"\nsmtp_from = \"jejak <jejak@bantenprov.go.id>\"\n\
             smtp_credentials_file = \"{}\"",
            credentials.display()
        ))
        .unwrap();
        let args = NotifyArgs {
            smtp_tls: Some("tls".into()),
            ..none()
        };
        let smtp = args
            .resolve(Some(file), &mut Default::default())
            .unwrap()
            .smtp
            .unwrap();
        assert_eq!(
            (smtp.host.as_str(), smtp.port),
            ("mail.bantenprov.go.id", 465)
        );
        assert_eq!(
            smtp.credentials,
            Some(("jejak".to_owned(), "rahasia".to_owned()))
        );
    }

    #[test]
    fn secrets_others_may_read_and_missing_halves_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = secret_file(dir.path(), 0o644, "a-secret-long-enough-to-sign");
        let refused = NotifyArgs {
            webhook_url: Some("https://wa.example/hook".into()),
            webhook_secret_file: Some(open),
            ..none()
        }
        .resolve(None, &mut Default::default())
        .unwrap_err();
        assert!(format!("{refused:#}").contains("chmod 600"), "{refused:#}");
        let refused = NotifyArgs {
            webhook_url: Some("https://wa.example/hook".into()),
            ..none()
        }
        .resolve(None, &mut Default::default())
        .unwrap_err();
        assert!(format!("{refused:#}").contains("--webhook-secret-file"));
        let refused = NotifyArgs {
            smtp_host: Some("mail.example".into()),
            ..none()
        }
        .resolve(None, &mut Default::default())
        .unwrap_err();
        assert!(format!("{refused:#}").contains("--smtp-from"));
        let short = secret_file(dir.path(), 0o600, "short");
        let refused = NotifyArgs {
            webhook_url: Some("https://wa.example/hook".into()),
            webhook_secret_file: Some(short),
            ..none()
        }
        .resolve(None, &mut Default::default())
        .unwrap_err();
        assert!(format!("{refused:#}").contains("16 bytes"), "{refused:#}");
    }
}
