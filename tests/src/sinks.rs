//! Receivers for notification tests, on 127.0.0.1: a small SMTP server that
//! keeps every mail it is handed ([`SmtpSink`]) and an HTTP endpoint that
//! keeps every webhook ([`HookSink`]) and answers with a status the test
//! sets. Tests await what they expect ([`SmtpSink::wait_for`]); nothing
//! sleeps.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify};

/// A mail as the SMTP sink received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// The envelope's recipients.
    pub to: Vec<String>,
    /// Its headers, by lower-case name (unfolded).
    pub headers: BTreeMap<String, String>,
    /// Its body, decoded from quoted-printable when so encoded.
    pub body: String,
}

impl Mail {
    /// The `Message-ID`, without its angle brackets.
    pub fn message_id(&self) -> String {
        self.headers
            .get("message-id")
            .map(|v| v.trim().trim_matches(['<', '>']).to_owned())
            .unwrap_or_default()
    }

    /// The subject.
    pub fn subject(&self) -> String {
        self.headers.get("subject").cloned().unwrap_or_default()
    }
}

#[derive(Debug)]
struct Kept<T> {
    items: Mutex<Vec<T>>,
    changed: Notify,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self {
            items: Mutex::new(Vec::new()),
            changed: Notify::new(),
        }
    }
}

impl<T: Clone> Kept<T> {
    async fn push(&self, item: T) {
        self.items.lock().await.push(item);
        self.changed.notify_waiters();
    }

    async fn all(&self) -> Vec<T> {
        self.items.lock().await.clone()
    }

    /// Waits until `done` holds of what was kept, or panics after `within`.
    async fn wait(&self, within: Duration, what: &str, done: impl Fn(&[T]) -> bool) -> Vec<T> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let items = self.items.lock().await;
                if done(&items) {
                    return items.clone();
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let items = self.items.lock().await;
                assert!(done(&items), "{what}: not within {within:?}");
                return items.clone();
            }
        }
    }
}

/// An SMTP server on 127.0.0.1 that accepts every mail and keeps it.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    kept: Arc<Kept<Mail>>,
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_mail(to: Vec<String>, data: &str) -> Mail {
    let (head, body) = data.split_once("\r\n\r\n").unwrap_or((data, ""));
    let mut headers = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(name) = &last
                && let Some(value) = headers.get_mut(name)
            {
                let value: &mut String = value;
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            headers.insert(name.clone(), value.trim().to_owned());
            last = Some(name);
        }
    }
    let body = if headers
        .get("content-transfer-encoding")
        .is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"))
    {
        decode_quoted_printable(body)
    } else {
        body.to_owned()
    };
    Mail { to, headers, body }
}

impl SmtpSink {
    /// Starts the sink on 127.0.0.1 at a free port.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("an address");
        let kept: Arc<Kept<Mail>> = Arc::default();
        let keep = kept.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let keep = keep.clone();
                tokio::spawn(async move {
                    let _ = Self::session(socket, &keep).await;
                });
            }
        });
        Self { addr, kept }
    }

    async fn session(socket: tokio::net::TcpStream, keep: &Kept<Mail>) -> std::io::Result<()> {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP\r\n").await?;
        let mut to = Vec::new();
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_ascii_uppercase();
            if command.starts_with("EHLO") {
                write
                    .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?;
            } else if command.starts_with("HELO") {
                write.write_all(b"250 sink.test\r\n").await?;
            } else if command.starts_with("MAIL FROM") {
                to.clear();
                write.write_all(b"250 OK\r\n").await?;
            } else if command.starts_with("RCPT TO") {
                let address = line
                    .trim_end()
                    .split_once(':')
                    .map(|(_, a)| a.trim().trim_matches(['<', '>']).to_owned())
                    .unwrap_or_default();
                to.push(address);
                write.write_all(b"250 OK\r\n").await?;
            } else if command == "DATA" {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    let mut line = String::new();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let line = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(line);
                }
                keep.push(parse_mail(std::mem::take(&mut to), &data)).await;
                write.write_all(b"250 OK: queued\r\n").await?;
            } else if command == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                // RSET, NOOP and anything else.
                write.write_all(b"250 OK\r\n").await?;
            }
        }
    }

    /// Every mail received so far.
    pub async fn mails(&self) -> Vec<Mail> {
        self.kept.all().await
    }

    /// Waits until at least `n` mails were received (at most 30 s).
    ///
    /// # Panics
    /// When they do not come.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        self.kept
            .wait(Duration::from_secs(30), &format!("{n} mails"), |m| {
                m.len() >= n
            })
            .await
    }
}

/// A webhook as the receiver got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    /// Its headers, by lower-case name.
    pub headers: BTreeMap<String, String>,
    /// Its body.
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub answered: u16,
}

impl Hook {
    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// An HTTP endpoint on 127.0.0.1 that keeps every request and answers with
/// the status set by [`HookSink::answer`] (200 at first).
#[derive(Debug, Clone)]
pub struct HookSink {
    /// Where it listens.
    pub addr: SocketAddr,
    status: Arc<AtomicU16>,
    kept: Arc<Kept<Hook>>,
}

impl HookSink {
    /// Starts the receiver on 127.0.0.1 at a free port.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("an address");
        let kept: Arc<Kept<Hook>> = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let (keep, answer) = (kept.clone(), status.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (keep, answer) = (keep.clone(), answer.clone());
                tokio::spawn(async move {
                    let _ = Self::session(socket, &keep, &answer).await;
                });
            }
        });
        Self { addr, status, kept }
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Answers every request from now on with `status`.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    async fn session(
        socket: tokio::net::TcpStream,
        keep: &Kept<Hook>,
        answer: &AtomicU16,
    ) -> std::io::Result<()> {
        let (read, mut write) = socket.into_split();
        let mut reader = BufReader::new(read);
        loop {
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).await? == 0 {
                return Ok(());
            }
            let mut headers = BTreeMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).await?;
            let status = answer.load(Ordering::SeqCst);
            keep.push(Hook {
                headers,
                body,
                answered: status,
            })
            .await;
            write
                .write_all(
                    format!("HTTP/1.1 {status} Status\r\ncontent-length: 0\r\n\r\n").as_bytes(),
                )
                .await?;
        }
    }

    /// Every request received so far.
    pub async fn hooks(&self) -> Vec<Hook> {
        self.kept.all().await
    }

    /// Waits until at least `n` requests were received (at most 30 s).
    ///
    /// # Panics
    /// When they do not come.
    pub async fn wait_for(&self, n: usize) -> Vec<Hook> {
        self.kept
            .wait(Duration::from_secs(30), &format!("{n} webhooks"), |h| {
                h.len() >= n
            })
            .await
    }
}
