//! Refused calls and failed authentications are logged with subject, role,
//! RPC and reason, never the token, and no faster than the rate limit.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::TestDb;
use jejak_tests::app::spawn_app;
use tonic::Code;

use super::*;

/// Everything the server logs, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A runtime whose every thread logs into `captured`.
fn runtime(captured: &Captured) -> (tokio::runtime::Runtime, tracing::Dispatch) {
    let writer = captured.clone();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let each = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            // The thread lives as long as the runtime: so does its default.
            std::mem::forget(tracing::dispatcher::set_default(&each));
        })
        .build()
        .unwrap();
    (runtime, dispatch)
}

#[test]
fn refused_calls_are_logged_without_the_token_sqlite() {
    refused_calls_are_logged_without_the_token(|| async { Some(TestDb::sqlite()) });
}

#[test]
fn refused_calls_are_logged_without_the_token_postgres() {
    refused_calls_are_logged_without_the_token(|| TestDb::postgres("refused_calls_logged"));
}

fn refused_calls_are_logged_without_the_token<F, Fut>(db: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Option<TestDb>>,
{
    let captured = Captured::default();
    let (rt, dispatch) = runtime(&captured);
    let _default = tracing::dispatcher::set_default(&dispatch);
    rt.block_on(async {
        let Some(db) = db().await else { return };
        let app = spawn_app(&db).await;
        let participant = app.token(Role::Participant, NIP);
        let forged = jejak_server::Keys::new(b"another-secret-that-is-long-enough-to-use")
            .unwrap()
            .issue("insp-1", Role::Auditor, None, Duration::from_secs(600));

        // A participant may not open a cohort: refused, and logged.
        let refused = app
            .cohorts(&participant)
            .open_cohort(open_cohort())
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Code::PermissionDenied);
        // A forged token: not authenticated, and logged.
        let forged_call = app
            .audit(&forged)
            .get_digest(pb::GetDigestRequest {})
            .await
            .expect_err("not authenticated");
        assert_eq!(forged_call.code(), Code::Unauthenticated);
        // A token that is not a token at all.
        let garbage = "not-a-jwt-but-a-secret-someone-pasted-0123456789";
        let garbage_call = app
            .audit(garbage)
            .get_digest(pb::GetDigestRequest {})
            .await
            .expect_err("not authenticated");
        assert_eq!(garbage_call.code(), Code::Unauthenticated);

        // The server logs a refusal as its answer goes out, which may be
        // just after the client has read it: wait for the three lines.
        let refusals = |log: &str| log.lines().filter(|l| l.contains("call refused")).count();
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while refusals(&captured.text()) < 3 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        let log = captured.text();
        assert!(waited.is_ok(), "three refusals are logged: {log}");
        let lines: Vec<&str> = log.lines().filter(|l| l.contains("call refused")).collect();
        assert_eq!(lines.len(), 3, "{log}");
        let open = lines
            .iter()
            .find(|l| l.contains("/jejak.v1.Cohorts/OpenCohort"))
            .expect("the refused RPC is named");
        // The participant is logged by their person id, never their NIP.
        assert!(open.contains("subject="), "{open}");
        assert!(!open.contains(NIP), "{open}");
        assert!(open.contains("role=\"participant\""), "{open}");
        assert!(open.contains("PermissionDenied"), "{open}");
        assert!(open.contains("reason="), "{open}");
        let digest: Vec<_> = lines
            .iter()
            .filter(|l| l.contains("/jejak.v1.Audit/GetDigest"))
            .collect();
        assert_eq!(digest.len(), 2, "{log}");
        for line in digest {
            assert!(line.contains("Unauthenticated"), "{line}");
            assert!(line.contains("subject=-"), "no subject is trusted: {line}");
        }
        for token in [&participant, &forged, garbage] {
            assert!(!log.contains(token), "a token was logged: {log}");
        }

        // Many refusals at once: the log takes a burst, not all of them.
        let started = std::time::Instant::now();
        let calls = (0..300).map(|_| {
            let mut cohorts = app.cohorts(&participant);
            async move { cohorts.open_cohort(open_cohort()).await }
        });
        for answer in futures::future::join_all(calls).await {
            assert_eq!(answer.expect_err("refused").code(), Code::PermissionDenied);
        }
        let took = started.elapsed().as_secs_f64();
        let logged = captured
            .text()
            .lines()
            .filter(|l| l.contains("call refused"))
            .count();
        // A burst of 50, then 10 a second, for the 303 refusals in all.
        let most = 50.0 + 10.0 * (took + 1.0);
        assert!(
            logged >= 50 && (logged as f64) <= most,
            "{logged} refusals logged in {took:.1} s; at most {most:.0}"
        );
        app.stop().await;
        db.cleanup().await;
    });
}
