//! The edge every call passes on its way out: a [`tower`-style layer](Edge)
//! that looks at each answer's status.
//!
//! - A body that does not decode (random bytes, a string that is not
//!   UTF-8) is the caller's mistake: tonic answers INTERNAL, the edge
//!   INVALID_ARGUMENT. A message over the size limit: tonic answers
//!   OUT_OF_RANGE, the edge RESOURCE_EXHAUSTED.
//! - No status message is longer than [`MAX_MESSAGE`] characters, so that
//!   every answer fits in the headers a standard client accepts.
//! - Refused calls (PERMISSION_DENIED) and failed authentications
//!   (UNAUTHENTICATED) are logged at `warn` on target `jejak::refused`
//!   with the subject and role (when the token was good), the RPC and the
//!   reason; never the token. A token bucket bounds how many are logged
//!   ([`BURST`] at once, [`PER_SECOND`] after that); the ones it held back
//!   are counted in the next line logged.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::codegen::http::{self, HeaderMap, HeaderValue};
use tonic::{Code, Status};

/// The longest status message sent, in characters.
pub const MAX_MESSAGE: usize = 1_000;
/// Refusals logged at once before the rate limit applies.
pub const BURST: f64 = 50.0;
/// Refusals logged per second after a burst.
pub const PER_SECOND: f64 = 10.0;

/// Who a call turned out to be: filled in by authentication
/// (`App::actor`) through the request's extensions, read by the edge when
/// the answer goes out.
#[derive(Clone, Debug, Default)]
pub(crate) struct Caller(Arc<Mutex<Option<(String, &'static str)>>>);

impl Caller {
    /// Records the authenticated subject and role.
    pub fn set(&self, subject: &str, role: &'static str) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((subject.to_owned(), role));
    }

    fn get(&self) -> Option<(String, &'static str)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The path of the RPC a call is for (`/jejak.v1.Mentoring/AgreeChangeArea`),
/// put into the request's extensions: tonic's server code does not say
/// which method it serves.
#[derive(Clone, Debug)]
pub(crate) struct Rpc(pub String);

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    held_back: u64,
}

impl Bucket {
    /// Takes a token if there is one; else counts one more held back.
    fn take(&mut self) -> Option<u64> {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * PER_SECOND;
        self.tokens = (self.tokens + refill).min(BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Some(std::mem::take(&mut self.held_back))
        } else {
            self.held_back += 1;
            None
        }
    }
}

/// The layer; one per server, so each server has its own log budget.
#[derive(Clone, Debug)]
pub struct Edge {
    bucket: Arc<Mutex<Bucket>>,
}

impl Default for Edge {
    fn default() -> Self {
        Self {
            bucket: Arc::new(Mutex::new(Bucket {
                tokens: BURST,
                at: Instant::now(),
                held_back: 0,
            })),
        }
    }
}

impl<S> tower_layer::Layer<S> for Edge {
    type Service = EdgeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EdgeService {
            inner,
            edge: self.clone(),
        }
    }
}

/// [`Edge`] around a service.
#[derive(Clone, Debug)]
pub struct EdgeService<S> {
    inner: S,
    edge: Edge,
}

type Answer<R, E> = Pin<Box<dyn Future<Output = Result<http::Response<R>, E>> + Send>>;

impl<S, B, R> tower_service::Service<http::Request<B>> for EdgeService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Answer<R, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let caller = Caller::default();
        request.extensions_mut().insert(caller.clone());
        let rpc = request.uri().path().to_owned();
        request.extensions_mut().insert(Rpc(rpc.clone()));
        // Kept only to make sure no reason ever repeats it in the log.
        let token = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_start_matches("Bearer ").trim().to_owned())
            .filter(|t| !t.is_empty());
        let edge = self.edge.clone();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            edge.look_at(&rpc, &caller, token.as_deref(), response.headers_mut());
            Ok(response)
        })
    }
}

impl Edge {
    fn look_at(&self, rpc: &str, caller: &Caller, token: Option<&str>, headers: &mut HeaderMap) {
        let Some(status) = Status::from_header_map(headers) else {
            return;
        };
        if status.code() == Code::Ok {
            return;
        }
        if let Some(better) = restate(&status) {
            // Only the code and message change; other metadata stays.
            headers.remove("grpc-status");
            headers.remove("grpc-message");
            if better.add_header(headers).is_err() {
                headers.insert("grpc-status", HeaderValue::from(Code::Internal as i32));
            }
            self.refused(rpc, caller, token, &better);
        } else {
            self.refused(rpc, caller, token, &status);
        }
    }

    fn refused(&self, rpc: &str, caller: &Caller, token: Option<&str>, status: &Status) {
        if !matches!(
            status.code(),
            Code::Unauthenticated | Code::PermissionDenied
        ) {
            return;
        }
        let Some(held_back) = self
            .bucket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let mut reason = status.message().to_owned();
        if let Some(token) = token
            && token.len() >= 8
        {
            reason = reason.replace(token, "[token]");
        }
        let (subject, role) = caller.get().unwrap_or_else(|| ("-".to_owned(), "-"));
        tracing::warn!(
            target: "jejak::refused",
            subject = %subject,
            role,
            rpc,
            code = ?status.code(),
            reason = %reason,
            held_back,
            "call refused"
        );
    }
}

/// The status to send instead of `status`, if it must change.
fn restate(status: &Status) -> Option<Status> {
    let message = status.message();
    let restated = match status.code() {
        Code::Internal if message.starts_with("failed to decode Protobuf message") => {
            Status::invalid_argument(format!(
                "the request body is not this RPC's message ({}); send the message the RPC \
                 declares, its strings in UTF-8",
                message.trim_start_matches("failed to decode Protobuf message: ")
            ))
        }
        Code::OutOfRange if message.contains("message length too large") => {
            Status::resource_exhausted(format!(
                "the request is too large ({}); send less in one call",
                message.trim_start_matches("Error, decoded message length too large: ")
            ))
        }
        _ if message.chars().count() > MAX_MESSAGE => {
            Status::new(status.code(), message.to_owned())
        }
        _ => return None,
    };
    Some(Status::new(restated.code(), cap(restated.message())))
}

/// `message`, cut to [`MAX_MESSAGE`] characters.
fn cap(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_failures_and_sizes_are_the_callers_and_messages_are_capped() {
        let bad = Status::internal(
            "failed to decode Protobuf message: invalid string value: data is not UTF-8 encoded",
        );
        let restated = restate(&bad).unwrap();
        assert_eq!(restated.code(), Code::InvalidArgument);
        assert!(restated.message().contains("UTF-8"));
        let big = Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        );
        assert_eq!(restate(&big).unwrap().code(), Code::ResourceExhausted);
        let long = Status::not_found("x".repeat(5_000));
        let capped = restate(&long).unwrap();
        assert_eq!(capped.code(), Code::NotFound);
        assert_eq!(capped.message().chars().count(), MAX_MESSAGE + 1);
        assert!(restate(&Status::internal("the store failed")).is_none());
    }

    #[test]
    fn the_bucket_lets_a_burst_through_then_counts_what_it_holds_back() {
        let mut bucket = Bucket {
            tokens: BURST,
            at: Instant::now(),
            held_back: 0,
        };
        let through = (0..200).filter(|_| bucket.take().is_some()).count();
        assert!(
            (BURST as usize..BURST as usize + 5).contains(&through),
            "{through}"
        );
        bucket.tokens = 1.0;
        assert!(
            bucket.take().unwrap() > 100,
            "the held-back count is reported"
        );
    }
}
