//! `jejak serve`'s limits on streams and connections: flags > `JEJAK_*` >
//! the config file's `[limits]` table > [`Limits::default`].

use std::time::Duration;

use jejak_server::Limits;

/// The `[limits]` table of the config file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    max_streams_per_connection: Option<u32>,
    max_watches_per_subject: Option<usize>,
    stream_buffer_bytes: Option<usize>,
    stream_stall_timeout: Option<String>,
    keepalive_interval: Option<String>,
    keepalive_timeout: Option<String>,
    handshake_timeout: Option<String>,
    idle_timeout: Option<String>,
    max_import_rows: Option<usize>,
    max_import_bytes: Option<usize>,
}

/// Limits on streams and connections.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Calls one connection may carry at once (HTTP/2 max concurrent streams). Default: 100
    #[arg(long, env = "JEJAK_MAX_STREAMS_PER_CONNECTION", value_parser = clap::value_parser!(u32).range(1..))]
    max_streams_per_connection: Option<u32>,
    /// Inbox watches and log follows one user may keep open at once. Default: 8
    #[arg(long, env = "JEJAK_MAX_WATCHES_PER_SUBJECT", value_parser = at_least_one)]
    max_watches_per_subject: Option<usize>,
    /// Bytes a stream may hold unread by its client in the server. Default: 32768
    #[arg(long, env = "JEJAK_STREAM_BUFFER_BYTES", value_parser = at_least_one)]
    stream_buffer_bytes: Option<usize>,
    /// How long a stream whose buffer is full waits for its client before it is closed, e.g. 10s. Default: 10s
    #[arg(long, env = "JEJAK_STREAM_STALL_TIMEOUT", value_parser = duration)]
    stream_stall_timeout: Option<Duration>,
    /// How often an HTTP/2 ping checks that a connection's peer is there, e.g. 60s. Default: 60s
    #[arg(long, env = "JEJAK_KEEPALIVE_INTERVAL", value_parser = duration)]
    keepalive_interval: Option<Duration>,
    /// How long a ping's answer may take before the connection is closed. Default: 20s
    #[arg(long, env = "JEJAK_KEEPALIVE_TIMEOUT", value_parser = duration)]
    keepalive_timeout: Option<Duration>,
    /// How long a new connection may take to send its first bytes (and finish TLS). Default: 10s
    #[arg(long, env = "JEJAK_HANDSHAKE_TIMEOUT", value_parser = duration)]
    handshake_timeout: Option<Duration>,
    /// How long a connection may stay open with no call on it. Default: 5m
    #[arg(long, env = "JEJAK_IDLE_TIMEOUT", value_parser = duration)]
    idle_timeout: Option<Duration>,
    /// Rows one import (jejak import) may send. Default: 100000
    #[arg(long, env = "JEJAK_MAX_IMPORT_ROWS", value_parser = at_least_one)]
    max_import_rows: Option<usize>,
    /// Bytes of rows one import may send, in all. Default: 67108864 (64 MiB)
    #[arg(long, env = "JEJAK_MAX_IMPORT_BYTES", value_parser = at_least_one)]
    max_import_bytes: Option<usize>,
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{text}' is not a whole number of at least 1")),
    }
}

/// A duration written `250ms`, `10s`, `5m` or `1h`, above zero.
pub fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration; write e.g. 250ms, 10s, 5m or 1h"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3_600),
        _ => {
            return Err(format!("'{text}' needs a unit: ms, s, m or h (e.g. 10s)"));
        }
    };
    if duration.is_zero() {
        return Err(format!("'{text}': a timeout must be longer than zero"));
    }
    Ok(duration)
}

impl LimitArgs {
    /// The limits: each flag (or its variable), else the file's, else the default.
    ///
    /// # Errors
    /// A value in the file that is not valid, named by its key.
    pub fn resolve(&self, file: Option<LimitsFile>) -> anyhow::Result<Limits> {
        let file = file.unwrap_or_default();
        let defaults = Limits::default();
        let time =
            |flag: Option<Duration>, key: &str, value: Option<String>, default: Duration| match (
                flag, value,
            ) {
                (Some(flag), _) => Ok(flag),
                (None, Some(value)) => duration(&value)
                    .map_err(|e| anyhow::anyhow!("the config file's limits.{key}: {e}")),
                (None, None) => Ok(default),
            };
        let count =
            |flag: Option<usize>, key: &str, value: Option<usize>, default: usize| match flag
                .or(value)
            {
                Some(0) => anyhow::bail!("the config file's limits.{key} must be at least 1"),
                Some(n) => Ok(n),
                None => Ok(default),
            };
        Ok(Limits {
            max_streams_per_connection: u32::try_from(count(
                self.max_streams_per_connection.map(|n| n as usize),
                "max_streams_per_connection",
                file.max_streams_per_connection.map(|n| n as usize),
                defaults.max_streams_per_connection as usize,
            )?)?,
            max_watches_per_subject: count(
                self.max_watches_per_subject,
                "max_watches_per_subject",
                file.max_watches_per_subject,
                defaults.max_watches_per_subject,
            )?,
            stream_buffer_bytes: count(
                self.stream_buffer_bytes,
                "stream_buffer_bytes",
                file.stream_buffer_bytes,
                defaults.stream_buffer_bytes,
            )?,
            stream_stall_timeout: time(
                self.stream_stall_timeout,
                "stream_stall_timeout",
                file.stream_stall_timeout,
                defaults.stream_stall_timeout,
            )?,
            keepalive_interval: time(
                self.keepalive_interval,
                "keepalive_interval",
                file.keepalive_interval,
                defaults.keepalive_interval,
            )?,
            keepalive_timeout: time(
                self.keepalive_timeout,
                "keepalive_timeout",
                file.keepalive_timeout,
                defaults.keepalive_timeout,
            )?,
            handshake_timeout: time(
                self.handshake_timeout,
                "handshake_timeout",
                file.handshake_timeout,
                defaults.handshake_timeout,
            )?,
            idle_timeout: time(
                self.idle_timeout,
                "idle_timeout",
                file.idle_timeout,
                defaults.idle_timeout,
            )?,
            max_import_rows: count(
                self.max_import_rows,
                "max_import_rows",
                file.max_import_rows,
                defaults.max_import_rows,
            )?,
            max_import_bytes: count(
                self.max_import_bytes,
                "max_import_bytes",
                file.max_import_bytes,
                defaults.max_import_bytes,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit_and_a_length() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("5m"), Ok(Duration::from_secs(300)));
        assert!(duration("10").unwrap_err().contains("needs a unit"));
        assert!(duration("0s").unwrap_err().contains("longer than zero"));
        assert!(duration("soon").unwrap_err().contains("not a duration"));
    }

    #[test]
    fn a_flag_wins_over_the_file_and_the_file_over_the_default() {
        let file: LimitsFile = toml::from_str(
            "idle_timeout = \"2m\"\nmax_watches_per_subject = 3\nkeepalive_timeout = \"5s\"",
        )
        .unwrap();
        let args = LimitArgs {
            max_streams_per_connection: None,
            max_watches_per_subject: Some(4),
            stream_buffer_bytes: None,
            stream_stall_timeout: None,
            keepalive_interval: None,
            keepalive_timeout: None,
            handshake_timeout: None,
            idle_timeout: None,
            max_import_rows: None,
            max_import_bytes: None,
        };
        let limits = args.resolve(Some(file)).unwrap();
        assert_eq!(limits.max_watches_per_subject, 4);
        assert_eq!(limits.idle_timeout, Duration::from_secs(120));
        assert_eq!(limits.keepalive_timeout, Duration::from_secs(5));
        assert_eq!(
            limits.stream_buffer_bytes,
            Limits::default().stream_buffer_bytes
        );
        let bad: LimitsFile = toml::from_str("idle_timeout = \"soon\"").unwrap();
        let err = args.resolve(Some(bad)).unwrap_err().to_string();
        assert!(err.contains("limits.idle_timeout"), "{err}");
    }
}
