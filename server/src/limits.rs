//! What keeps one client from holding the server: [`Limits`].
//!
//! - **Per connection**, at most [`Limits::max_streams_per_connection`]
//!   calls at once (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`).
//! - **Per subject**, at most [`Limits::max_watches_per_subject`] open
//!   `WatchInbox` and `FollowLog` streams together; past it a new one is
//!   refused with RESOURCE_EXHAUSTED ([`Watches`]).
//! - **A stream whose client does not read** holds at most
//!   [`Limits::stream_buffer_bytes`] of messages in the server ([`outbox`]);
//!   when that is full, its producer waits for the client at most
//!   [`Limits::stream_stall_timeout`], then the server drops what waits
//!   and ends the stream with RESOURCE_EXHAUSTED, which the client reads
//!   when it reads again. (A client reading a long history slower than the
//!   server reads the log only slows its producer down.)
//! - **Half-open and idle connections** are closed: HTTP/2 keepalive pings
//!   ([`Limits::keepalive_interval`], [`Limits::keepalive_timeout`]) find
//!   a peer that is gone; a connection that sends nothing within
//!   [`Limits::handshake_timeout`] of being accepted, or that has had no
//!   call open for [`Limits::idle_timeout`], is closed ([`Conn`]).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::Stream;
use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, Sleep};
use tonic::Status;
use tonic::transport::server::{Connected, TcpConnectInfo, TlsConnectInfo};

/// The server's limits; [`Limits::default`] suits one city.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Calls open at once on one connection (HTTP/2 max concurrent streams).
    pub max_streams_per_connection: u32,
    /// `WatchInbox` and `FollowLog` streams one subject may hold open at once.
    pub max_watches_per_subject: usize,
    /// Bytes of messages a stream may hold in the server, unread by its
    /// client.
    pub stream_buffer_bytes: usize,
    /// How long a stream's producer waits for its client to read when that
    /// buffer is full, before the server ends the stream.
    pub stream_stall_timeout: Duration,
    /// How often an HTTP/2 ping checks that a connection's peer is there.
    pub keepalive_interval: Duration,
    /// How long the answer to a ping may take before the connection is closed.
    pub keepalive_timeout: Duration,
    /// How long a new connection may take to send its first bytes (and,
    /// with TLS, to finish its handshake).
    pub handshake_timeout: Duration,
    /// How long a connection may stay open with no call on it.
    pub idle_timeout: Duration,
    /// Rows one import may stream (`Import.ImportInnovations`,
    /// `ImportRoster`); past it the import is refused with
    /// RESOURCE_EXHAUSTED, nothing written.
    pub max_import_rows: usize,
    /// Bytes of rows one import may stream, in all.
    pub max_import_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_streams_per_connection: 100,
            max_watches_per_subject: 8,
            stream_buffer_bytes: 32 * 1024,
            stream_stall_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            max_import_rows: 100_000,
            max_import_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The open `WatchInbox` and `FollowLog` streams, per subject.
#[derive(Debug)]
pub(crate) struct Watches {
    limit: usize,
    open: Mutex<HashMap<String, usize>>,
    /// Streams open now, of every subject.
    total: watch::Sender<usize>,
    /// Streams ended so far because their client did not read.
    unread: watch::Sender<u64>,
}

/// One subject's place among the open streams; given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    watches: Arc<Watches>,
    subject: String,
}

impl Watches {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            open: Mutex::new(HashMap::new()),
            total: watch::channel(0).0,
            unread: watch::channel(0).0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A place for one more stream of `subject`.
    ///
    /// # Errors
    /// RESOURCE_EXHAUSTED when the subject holds as many as allowed.
    pub(crate) fn open(self: &Arc<Self>, subject: &str) -> Result<Slot, Status> {
        let mut open = self.lock();
        let count = open.entry(subject.to_owned()).or_default();
        if *count >= self.limit {
            return Err(Status::resource_exhausted(format!(
                "you already have {} inbox watches and log follows open, the most this server allows one user \
                 (max_watches_per_subject); close one and try again",
                self.limit
            )));
        }
        *count += 1;
        self.total.send_modify(|n| *n += 1);
        Ok(Slot {
            watches: self.clone(),
            subject: subject.to_owned(),
        })
    }

    /// Follows how many streams are open, of every subject.
    pub(crate) fn open_now(&self) -> watch::Receiver<usize> {
        self.total.subscribe()
    }

    /// Counts streams ended because their client did not read.
    pub(crate) fn unread(&self) -> watch::Receiver<u64> {
        self.unread.subscribe()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.watches.lock();
        if let Some(count) = open.get_mut(&self.subject) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.subject);
            }
            self.watches.total.send_modify(|n| *n -= 1);
        }
    }
}

/// How a stream ends.
#[derive(Debug)]
enum End {
    Open,
    /// The producer is done: the stream ends after what waits.
    Finished,
    /// The stream ends with this status, now.
    Failed(Status),
    Done,
}

#[derive(Debug)]
struct State<T> {
    queue: VecDeque<(Result<T, Status>, usize)>,
    bytes: usize,
    end: End,
    reader: Option<Waker>,
    /// The client's side is gone (the call was cancelled or reset).
    gone: bool,
}

#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
    /// Told when the client's side goes.
    gone: Notify,
    /// Told when the client took a message (or went).
    room: Notify,
    limit: usize,
    stall: Duration,
    watches: Arc<Watches>,
}

impl<T> Shared<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Why a message was not queued: the stream is over.
#[derive(Debug)]
pub(crate) struct Closed;

/// The producing end of a stream's [`outbox`].
#[derive(Debug)]
pub(crate) struct Outbox<T> {
    shared: Arc<Shared<T>>,
}

/// The response stream of an [`outbox`]; holds the subject's [`Slot`].
#[derive(Debug)]
pub(crate) struct OutStream<T> {
    shared: Arc<Shared<T>>,
    _slot: Option<Slot>,
}

/// A stream's messages on their way to the client, at most
/// [`Limits::stream_buffer_bytes`] of them unread (one message of any size
/// when none waits); a producer waits for room at most
/// [`Limits::stream_stall_timeout`], then the stream ends with
/// RESOURCE_EXHAUSTED. `slot` is given back when the stream is dropped.
pub(crate) fn outbox<T>(
    limits: &Limits,
    watches: &Arc<Watches>,
    slot: Option<Slot>,
) -> (Outbox<T>, OutStream<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            bytes: 0,
            end: End::Open,
            reader: None,
            gone: false,
        }),
        gone: Notify::new(),
        room: Notify::new(),
        limit: limits.stream_buffer_bytes,
        stall: limits.stream_stall_timeout,
        watches: watches.clone(),
    });
    (
        Outbox {
            shared: shared.clone(),
        },
        OutStream {
            shared,
            _slot: slot,
        },
    )
}

impl<T: prost::Message> Outbox<T> {
    /// Queues a message (or an error, which ends the stream after what
    /// waits), waiting for room while the buffer is full.
    ///
    /// # Errors
    /// [`Closed`] when the client is gone, or did not read within the
    /// stall timeout (the stream then ends with RESOURCE_EXHAUSTED): stop
    /// producing.
    pub(crate) async fn send(&self, item: Result<T, Status>) -> Result<(), Closed> {
        let size = item.as_ref().map_or(0, prost::Message::encoded_len);
        let deadline = Instant::now() + self.shared.stall;
        loop {
            let room = self.shared.room.notified();
            {
                let mut state = self.shared.lock();
                if state.gone || !matches!(state.end, End::Open) {
                    return Err(Closed);
                }
                if state.queue.is_empty() || state.bytes + size <= self.shared.limit {
                    state.bytes += size;
                    state.queue.push_back((item, size));
                    if let Some(reader) = state.reader.take() {
                        reader.wake();
                    }
                    return Ok(());
                }
            }
            if tokio::time::timeout_at(deadline, room).await.is_err() {
                self.overflow();
                return Err(Closed);
            }
        }
    }

    /// Ends the stream: its client did not read.
    fn overflow(&self) {
        let mut state = self.shared.lock();
        let waiting = state.bytes;
        state.queue.clear();
        state.bytes = 0;
        state.end = End::Failed(Status::resource_exhausted(format!(
            "this stream was closed because its client did not read it: {waiting} bytes waited unread for {} s, \
             more than the server keeps for one stream (stream_buffer_bytes, stream_stall_timeout); \
             read messages as they come, then open the stream again",
            self.shared.stall.as_secs_f64()
        )));
        if let Some(reader) = state.reader.take() {
            reader.wake();
        }
        drop(state);
        tracing::info!(
            waiting,
            "closed a stream whose client did not read its messages"
        );
        self.shared.watches.unread.send_modify(|n| *n += 1);
    }
}

impl<T> Outbox<T> {
    /// Resolves when the client's side of the stream is gone.
    pub(crate) async fn closed(&self) {
        loop {
            let gone = self.shared.gone.notified();
            if self.shared.lock().gone {
                return;
            }
            gone.await;
        }
    }
}

impl<T> Drop for Outbox<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if matches!(state.end, End::Open) {
            state.end = End::Finished;
        }
        if let Some(reader) = state.reader.take() {
            reader.wake();
        }
    }
}

impl<T> Stream for OutStream<T> {
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut state = self.shared.lock();
        if let Some((item, size)) = state.queue.pop_front() {
            state.bytes -= size;
            drop(state);
            self.shared.room.notify_one();
            return Poll::Ready(Some(item));
        }
        match std::mem::replace(&mut state.end, End::Done) {
            End::Open => {
                state.end = End::Open;
                state.reader = Some(cx.waker().clone());
                Poll::Pending
            }
            End::Failed(status) => Poll::Ready(Some(Err(status))),
            End::Finished | End::Done => Poll::Ready(None),
        }
    }
}

impl<T> Drop for OutStream<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.gone = true;
        state.queue.clear();
        drop(state);
        self.shared.gone.notify_waiters();
        self.shared.room.notify_one();
    }
}

/// What a connection's calls tell its [`Conn`]: how many are open, since
/// when none is, and who to wake when the last one ends.
#[derive(Debug)]
struct Activity {
    calls: AtomicUsize,
    idle_since: Mutex<Instant>,
    reader: AtomicWaker,
}

/// The connections open now, by peer address, so that a call finds its own.
#[derive(Clone, Debug, Default)]
pub(crate) struct Connections {
    open: Arc<Mutex<HashMap<SocketAddr, Arc<Activity>>>>,
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Arc<Activity>>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a call open on the connection from `peer` until the guard drops.
    pub(crate) fn call(&self, peer: Option<SocketAddr>) -> Option<CallGuard> {
        let activity = self.lock().get(&peer?)?.clone();
        activity.calls.fetch_add(1, Ordering::SeqCst);
        Some(CallGuard { activity })
    }
}

/// One call open on a connection.
#[derive(Debug)]
pub(crate) struct CallGuard {
    activity: Arc<Activity>,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if self.activity.calls.fetch_sub(1, Ordering::SeqCst) == 1 {
            *self
                .activity
                .idle_since
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
            self.activity.reader.wake();
        }
    }
}

/// An accepted TCP connection that closes itself when it sends nothing
/// within the handshake timeout, or stays without a call for the idle
/// timeout.
#[derive(Debug)]
pub(crate) struct Conn {
    io: TcpStream,
    peer: Option<SocketAddr>,
    connections: Connections,
    activity: Arc<Activity>,
    /// Whether the peer has sent anything yet.
    heard: bool,
    accepted: Instant,
    handshake: Duration,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
}

impl Conn {
    pub(crate) fn new(io: TcpStream, connections: &Connections, limits: &Limits) -> Self {
        let peer = io.peer_addr().ok();
        let now = Instant::now();
        let activity = Arc::new(Activity {
            calls: AtomicUsize::new(0),
            idle_since: Mutex::new(now),
            reader: AtomicWaker::new(),
        });
        if let Some(peer) = peer {
            connections.lock().insert(peer, activity.clone());
        }
        Self {
            io,
            peer,
            connections: connections.clone(),
            activity,
            heard: false,
            accepted: now,
            handshake: limits.handshake_timeout,
            idle: limits.idle_timeout,
            timer: Box::pin(tokio::time::sleep_until(now + limits.handshake_timeout)),
        }
    }

    /// When the connection is to close unless something happens first;
    /// `None` while a call is open.
    fn deadline(&self) -> Option<Instant> {
        if !self.heard {
            return Some(self.accepted + self.handshake);
        }
        if self.activity.calls.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let since = *self
            .activity
            .idle_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(since + self.idle)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(peer) = self.peer {
            let mut open = self.connections.lock();
            if open
                .get(&peer)
                .is_some_and(|a| Arc::ptr_eq(a, &self.activity))
            {
                open.remove(&peer);
            }
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.heard = true;
                }
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
            Poll::Pending => {}
        }
        // Nothing to read: is the connection past its time?
        self.activity.reader.register(cx.waker());
        loop {
            let Some(deadline) = self.deadline() else {
                return Poll::Pending;
            };
            if deadline <= Instant::now() {
                let what = if self.heard {
                    "no call for the idle timeout"
                } else {
                    "nothing sent within the handshake timeout"
                };
                tracing::debug!(peer = ?self.peer, "closing a connection: {what}");
                return Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("closed: {what}"),
                )));
            }
            if self.timer.deadline() != deadline {
                self.timer.as_mut().reset(deadline);
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The peer of a call, as tonic records its connection.
pub(crate) fn peer_of<B>(request: &http::Request<B>) -> Option<SocketAddr> {
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|info| info.get_ref().remote_addr())
        })
}

/// A tower layer that counts each call on its connection ([`Connections`])
/// until its response body is done.
#[derive(Clone, Debug)]
pub(crate) struct CountCalls {
    pub(crate) connections: Connections,
}

impl<S> tower_layer::Layer<S> for CountCalls {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Counted {
            inner,
            connections: self.connections.clone(),
        }
    }
}

/// The service of [`CountCalls`].
#[derive(Clone, Debug)]
pub(crate) struct Counted<S> {
    inner: S,
    connections: Connections,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower_service::Service<http::Request<B>> for Counted<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let guard = self.connections.call(peer_of(&request));
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(match guard {
                Some(guard) => response.map(|body| {
                    tonic::body::Body::new(GuardedBody {
                        body,
                        _guard: guard,
                    })
                }),
                None => response,
            })
        })
    }
}

/// A response body that keeps its call counted until it is dropped.
struct GuardedBody {
    body: tonic::body::Body,
    _guard: CallGuard,
}

impl http_body::Body for GuardedBody {
    type Data = <tonic::body::Body as http_body::Body>::Data;
    type Error = <tonic::body::Body as http_body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
