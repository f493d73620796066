//! Talking to a server: the connection, the token, and errors turned into
//! one sentence and an exit code (0 done, 1 refused, 2 usage or connection).

use std::fmt;
use std::process::ExitCode;

use jejak_proto::v1 as pb;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

/// How a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The domain or the server said no (exit 1).
    Refused(String),
    /// The command was used wrongly, or the server cannot be reached (exit 2).
    Usage(String),
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Refused(_) => ExitCode::from(1),
            Self::Usage(_) => ExitCode::from(2),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(m) | Self::Usage(m) => f.write_str(m),
        }
    }
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        let message = status.message().trim_end_matches('.').to_owned();
        match status.code() {
            Code::Unavailable if message.contains("transport") || message.contains("connect") || message.is_empty() => {
                Self::Usage("the server cannot be reached; check --server (or JEJAK_SERVER) and that jejak serve is running".into())
            }
            Code::Unauthenticated => Self::Refused(format!("{message} (set --token or JEJAK_TOKEN)")),
            _ => Self::Refused(message),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Self::Usage(format!("{err:#}"))
    }
}

pub type Outcome = Result<(), Failure>;

pub use jejak_proto::{Authed, Bearer};

/// Where the server is and who is asking.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// The server, e.g. http://127.0.0.1:50051 (https:// for TLS).
    #[arg(
        long,
        env = "JEJAK_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub server: String,
    /// Your bearer token (jejak token issue makes one).
    #[arg(long, env = "JEJAK_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Print JSON (stable field names) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The request id of a write: sending the same write again with it
    /// changes nothing. Generated when absent (printed with --json), so a
    /// script can retry safely.
    #[arg(long = "request-id", global = true)]
    pub request_id: Option<String>,
    /// The request id generated for this command, once.
    #[arg(skip)]
    generated: std::sync::Arc<std::sync::OnceLock<String>>,
}

impl Connection {
    /// The request id of this command's write: `--request-id`, or one
    /// generated once (a random UUID, which carries nothing personal).
    pub fn request_id(&self) -> String {
        self.request_id.clone().unwrap_or_else(|| {
            self.generated
                .get_or_init(|| uuid::Uuid::now_v7().to_string())
                .clone()
        })
    }

    /// `--request-id`, or `default` (a write whose id is derived from what
    /// it writes, as opening a cohort).
    pub fn request_id_or(&self, default: String) -> String {
        let id = self.request_id.clone().unwrap_or(default);
        self.generated.get_or_init(|| id.clone()).clone()
    }

    pub fn channel(&self) -> Result<Authed, Failure> {
        let bearer = Bearer::new(self.token.as_deref())
            .map_err(|_| Failure::Usage("the token is not plain text; paste it again".into()))?;
        Ok(InterceptedService::new(channel(&self.server)?, bearer))
    }

    pub fn cohorts(&self) -> Result<pb::cohorts_client::CohortsClient<Authed>, Failure> {
        Ok(pb::cohorts_client::CohortsClient::new(self.channel()?))
    }
    pub fn projects(
        &self,
    ) -> Result<pb::change_projects_client::ChangeProjectsClient<Authed>, Failure> {
        Ok(pb::change_projects_client::ChangeProjectsClient::new(
            self.channel()?,
        ))
    }
    pub fn mentoring(&self) -> Result<pb::mentoring_client::MentoringClient<Authed>, Failure> {
        Ok(pb::mentoring_client::MentoringClient::new(self.channel()?))
    }
    pub fn seminars(&self) -> Result<pb::seminars_client::SeminarsClient<Authed>, Failure> {
        Ok(pb::seminars_client::SeminarsClient::new(self.channel()?))
    }
    pub fn innovations(
        &self,
    ) -> Result<pb::innovations_client::InnovationsClient<Authed>, Failure> {
        Ok(pb::innovations_client::InnovationsClient::new(
            self.channel()?,
        ))
    }
    pub fn audit(&self) -> Result<pb::audit_client::AuditClient<Authed>, Failure> {
        Ok(pb::audit_client::AuditClient::new(self.channel()?))
    }
    pub fn evidence(&self) -> Result<pb::evidence_client::EvidenceClient<Authed>, Failure> {
        Ok(pb::evidence_client::EvidenceClient::new(self.channel()?))
    }
    pub fn admin(&self) -> Result<pb::admin_client::AdminClient<Authed>, Failure> {
        Ok(pb::admin_client::AdminClient::new(self.channel()?))
    }

    /// Prints what a write did.
    pub fn written(&self, what: &str, w: &pb::WriteResult) -> Outcome {
        if self.json {
            print_json(&serde_json::json!({
                "request_id": self.generated.get().or(self.request_id.as_ref()),
                "stream_id": w.stream_id,
                "stream_version": w.stream_version,
                "position": w.position,
                "events": w.events,
                "duplicate": w.duplicate,
            }));
        } else if w.duplicate {
            say!(
                "{what}: already done earlier (stream {} at version {}, position {})",
                w.stream_id,
                w.stream_version,
                w.position
            );
        } else if w.events.is_empty() {
            say!(
                "{what}: nothing to change (stream {} at version {})",
                w.stream_id,
                w.stream_version
            );
        } else {
            say!(
                "{what}: {} (stream {} version {}, position {})",
                w.events.join(", "),
                w.stream_id,
                w.stream_version,
                w.position
            );
        }
        Ok(())
    }
}

/// A connection to `server` (`http://` or `https://`; a bare `host:port`
/// is plain HTTP), opened on its first call.
pub fn channel(server: &str) -> Result<Channel, Failure> {
    let address = if server.contains("://") {
        server.to_owned()
    } else {
        format!("http://{server}")
    };
    let endpoint = Endpoint::from_shared(address.clone()).map_err(|_| {
        Failure::Usage(format!(
            "'{server}' is not a server address; write e.g. http://127.0.0.1:50051"
        ))
    })?;
    let endpoint = if address.starts_with("https://") {
        endpoint
            .tls_config(tonic::transport::ClientTlsConfig::new().with_enabled_roots())
            .map_err(|e| Failure::Usage(format!("TLS cannot be set up: {e}")))?
    } else {
        endpoint
    };
    Ok(endpoint.connect_lazy())
}

pub fn print_json(value: &serde_json::Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// A table for people.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    table
}

/// A timestamp as RFC 3339.
pub fn time(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The time zone the CLI shows times in: `JEJAK_TIME_ZONE` (an IANA name
/// such as Asia/Makassar), else Asia/Jakarta (WIB).
pub fn time_zone() -> chrono_tz::Tz {
    std::env::var("JEJAK_TIME_ZONE")
        .ok()
        .and_then(|z| z.trim().parse().ok())
        .unwrap_or(chrono_tz::Asia::Jakarta)
}

/// A timestamp in the local time zone, to the second, with its
/// abbreviation ("2026-03-02 09:15:02 WIB"): what people read; JSON keeps
/// RFC 3339 in UTC ([`time`]).
pub fn local_time(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map(|t| {
            t.with_timezone(&time_zone())
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_default()
}

/// The region's unit names by code (`Admin.ListUnits`), for tables that
/// name OPDs; empty when the region defines none or the call fails (a
/// table then shows the codes).
pub async fn unit_names(c: &Connection) -> std::collections::HashMap<String, String> {
    let Ok(mut admin) = c.admin() else {
        return Default::default();
    };
    admin
        .list_units(pb::ListUnitsRequest::default())
        .await
        .map(|r| {
            r.into_inner()
                .units
                .into_iter()
                .map(|u| (u.code, u.name))
                .collect()
        })
        .unwrap_or_default()
}

/// A unit as people read it: its name, or its code when the region has
/// no name for it.
pub fn unit_name(names: &std::collections::HashMap<String, String>, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_owned())
}
