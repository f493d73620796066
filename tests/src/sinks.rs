//! Receivers for notification tests, on 127.0.0.1: a small SMTP server that
//! keeps every mail it is handed ([`SmtpSink`]; with STARTTLS or implicit
//! TLS under a self-signed certificate, and a login by PLAIN or LOGIN,
//! [`SmtpSink::start_with`]) and an HTTP endpoint that
//! keeps every webhook ([`HookSink`]) and answers with a status the test
//! sets. Tests await what they expect ([`SmtpSink::wait_for`]); nothing
//! sleeps.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader,
};
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
    /// The login mechanisms clients used, in order (`PLAIN`, `LOGIN`).
    logins: Arc<Mutex<Vec<String>>>,
}

/// How the sink secures its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkTls {
    /// Plain SMTP.
    None,
    /// STARTTLS offered and required before a login or a mail.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// What the sink asks of its clients.
#[derive(Clone, Debug)]
pub struct SinkOptions {
    /// How connections are secured.
    pub tls: SinkTls,
    /// The certificate chain and key (PEM) it serves under TLS.
    pub identity: Option<(String, String)>,
    /// The user name and password a client must log in with, if any.
    pub login: Option<(String, String)>,
    /// The mechanisms it offers: `PLAIN`, `LOGIN`.
    pub mechanisms: Vec<&'static str>,
}

impl Default for SinkOptions {
    fn default() -> Self {
        Self {
            tls: SinkTls::None,
            identity: None,
            login: None,
            mechanisms: vec!["PLAIN", "LOGIN"],
        }
    }
}

/// A certificate for 127.0.0.1 and localhost, signed by itself: its PEM
/// and its key's PEM.
///
/// # Panics
/// When rcgen cannot make one.
pub fn self_signed() -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("a self-signed certificate");
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

fn acceptor(identity: &(String, String)) -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(identity.0.as_bytes())
        .collect::<Result<_, _>>()
        .expect("the certificate's PEM");
    let key = PrivateKeyDer::from_pem_slice(identity.1.as_bytes()).expect("the key's PEM");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("a usable certificate");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Where a conversation stopped.
enum Ended {
    /// The client quit or went away.
    Closed,
    /// The client asked for STARTTLS and was told to go ahead.
    StartTls,
}

/// One session's state and what the sink keeps.
struct Session<'a> {
    options: &'a SinkOptions,
    keep: &'a Kept<Mail>,
    logins: &'a Mutex<Vec<String>>,
    secure: bool,
    logged_in: bool,
}

fn b64(text: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .unwrap_or_default(),
    )
    .unwrap_or_default()
}

async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    Ok((stream.read_line(&mut line).await? > 0).then_some(line))
}

impl Session<'_> {
    async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut BufReader<S>,
    ) -> std::io::Result<Ended> {
        let mut to = Vec::new();
        let needs_tls = self.options.tls == SinkTls::StartTls;
        loop {
            let Some(line) = read_line(stream).await? else {
                return Ok(Ended::Closed);
            };
            let command = line.trim_end().to_ascii_uppercase();
            if command.starts_with("EHLO") {
                let mut lines = vec!["250-sink.test", "250-8BITMIME"];
                if needs_tls && !self.secure {
                    lines.push("250-STARTTLS");
                }
                let auth = format!("250-AUTH {}", self.options.mechanisms.join(" "));
                if self.options.login.is_some() && (self.secure || !needs_tls) {
                    lines.push(&auth);
                }
                lines.push("250 SMTPUTF8");
                stream
                    .write_all(format!("{}\r\n", lines.join("\r\n")).as_bytes())
                    .await?;
            } else if command.starts_with("HELO") {
                stream.write_all(b"250 sink.test\r\n").await?;
            } else if command == "STARTTLS" && needs_tls && !self.secure {
                stream
                    .write_all(b"220 2.0.0 ready to start TLS\r\n")
                    .await?;
                stream.flush().await?;
                return Ok(Ended::StartTls);
            } else if command.starts_with("AUTH") {
                let words: Vec<&str> = line.split_whitespace().collect();
                let mechanism = words
                    .get(1)
                    .map(|m| m.to_ascii_uppercase())
                    .unwrap_or_default();
                if !self.options.mechanisms.contains(&mechanism.as_str()) {
                    stream
                        .write_all(b"504 5.5.4 mechanism not offered\r\n")
                        .await?;
                    continue;
                }
                let (user, password) = if mechanism == "PLAIN" {
                    let response = match words.get(2) {
                        Some(r) => (*r).to_owned(),
                        None => {
                            stream.write_all(b"334 \r\n").await?;
                            read_line(stream).await?.unwrap_or_default()
                        }
                    };
                    let decoded = b64(&response);
                    let mut parts = decoded.split('\0').skip(1);
                    (
                        parts.next().unwrap_or_default().to_owned(),
                        parts.next().unwrap_or_default().to_owned(),
                    )
                } else {
                    stream.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                    let user = b64(&read_line(stream).await?.unwrap_or_default());
                    stream.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
                    let password = b64(&read_line(stream).await?.unwrap_or_default());
                    (user, password)
                };
                self.logins.lock().await.push(mechanism);
                if self.options.login.as_ref() == Some(&(user, password)) {
                    self.logged_in = true;
                    stream
                        .write_all(b"235 2.7.0 authentication succeeded\r\n")
                        .await?;
                } else {
                    stream
                        .write_all(b"535 5.7.8 Authentication credentials invalid\r\n")
                        .await?;
                }
            } else if command.starts_with("MAIL FROM") {
                if needs_tls && !self.secure {
                    stream
                        .write_all(b"530 5.7.0 Must issue a STARTTLS command first\r\n")
                        .await?;
                    continue;
                }
                if self.options.login.is_some() && !self.logged_in {
                    stream
                        .write_all(b"530 5.7.0 Authentication required\r\n")
                        .await?;
                    continue;
                }
                to.clear();
                stream.write_all(b"250 OK\r\n").await?;
            } else if command.starts_with("RCPT TO") {
                let address = line
                    .trim_end()
                    .split_once(':')
                    .map(|(_, a)| a.trim().trim_matches(['<', '>']).to_owned())
                    .unwrap_or_default();
                to.push(address);
                stream.write_all(b"250 OK\r\n").await?;
            } else if command == "DATA" {
                stream.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    let Some(line) = read_line(stream).await? else {
                        return Ok(Ended::Closed);
                    };
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let line = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(line);
                }
                self.keep
                    .push(parse_mail(std::mem::take(&mut to), &data))
                    .await;
                stream.write_all(b"250 OK: queued\r\n").await?;
            } else if command == "QUIT" {
                stream.write_all(b"221 bye\r\n").await?;
                return Ok(Ended::Closed);
            } else {
                // RSET, NOOP and anything else.
                stream.write_all(b"250 OK\r\n").await?;
            }
        }
    }
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
    /// Starts the sink on 127.0.0.1 at a free port: plain SMTP, no login.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        Self::start_with(SinkOptions::default()).await
    }

    /// Starts the sink on 127.0.0.1 at a free port as `options` say.
    ///
    /// # Panics
    /// When no port can be bound, or TLS is asked for without an identity.
    pub async fn start_with(options: SinkOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("an address");
        let kept: Arc<Kept<Mail>> = Arc::default();
        let logins: Arc<Mutex<Vec<String>>> = Arc::default();
        let acceptor = match options.tls {
            SinkTls::None => None,
            _ => Some(acceptor(
                options.identity.as_ref().expect("TLS needs a certificate"),
            )),
        };
        let (keep, used) = (kept.clone(), logins.clone());
        let options = Arc::new(options);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (keep, used, options, acceptor) = (
                    keep.clone(),
                    used.clone(),
                    options.clone(),
                    acceptor.clone(),
                );
                tokio::spawn(async move {
                    let _ = Self::session(socket, &options, acceptor, &keep, &used).await;
                });
            }
        });
        Self { addr, kept, logins }
    }

    async fn session(
        socket: tokio::net::TcpStream,
        options: &SinkOptions,
        acceptor: Option<tokio_rustls::TlsAcceptor>,
        keep: &Kept<Mail>,
        logins: &Mutex<Vec<String>>,
    ) -> std::io::Result<()> {
        let mut session = Session {
            options,
            keep,
            logins,
            secure: false,
            logged_in: false,
        };
        let greet = b"220 sink.test ESMTP\r\n";
        if let (SinkTls::Implicit, Some(acceptor)) = (options.tls, &acceptor) {
            let mut stream = BufReader::new(acceptor.accept(socket).await?);
            session.secure = true;
            stream.write_all(greet).await?;
            session.converse(&mut stream).await?;
            return Ok(());
        }
        let mut stream = BufReader::new(socket);
        stream.write_all(greet).await?;
        if let (Ended::StartTls, Some(acceptor)) = (session.converse(&mut stream).await?, acceptor)
        {
            let mut stream = BufReader::new(acceptor.accept(stream.into_inner()).await?);
            session.secure = true;
            session.converse(&mut stream).await?;
        }
        Ok(())
    }

    /// The login mechanisms clients used so far, in order.
    pub async fn logins(&self) -> Vec<String> {
        self.logins.lock().await.clone()
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
