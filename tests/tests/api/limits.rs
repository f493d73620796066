//! The server's limits: watches per subject, streams whose client does not
//! read, connections that say nothing or stay idle, calls per connection;
//! and what an inbox watch costs.

use std::time::Duration;

use jejak_engine::domain::Role;
use jejak_engine::store::{AppendRequest, ExpectedVersion, NewEvent, StreamId};
use jejak_proto::v1 as pb;
use jejak_server::{AppConfig, Limits};
use jejak_tests::app::{TestApp, spawn_app_with};
use jejak_tests::{TestDb, on_both_backends};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_stream::StreamExt as _;
use tonic::Code;

use super::*;

on_both_backends!(
    a_subject_past_its_cap_of_watches_is_refused_and_a_freed_slot_serves_again,
    a_follow_whose_client_does_not_read_is_closed,
    a_watch_reads_the_board_once_and_then_only_its_mentors_changes
);

const WAIT: Duration = Duration::from_secs(30);

/// Waits (bounded) until `value` satisfies `check`.
async fn until<T>(
    mut value: tokio::sync::watch::Receiver<T>,
    what: &str,
    check: impl Fn(&T) -> bool,
) {
    tokio::time::timeout(WAIT, value.wait_for(check))
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen"))
        .expect("the server runs");
}

fn limits(change: impl FnOnce(&mut Limits)) -> impl FnOnce(&mut AppConfig) {
    move |config| change(&mut config.limits)
}

async fn watch(
    app: &TestApp,
    token: &str,
) -> Result<tonic::Streaming<pb::InboxItem>, tonic::Status> {
    app.mentoring(token)
        .watch_inbox(pb::GetInboxRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

async fn a_subject_past_its_cap_of_watches_is_refused_and_a_freed_slot_serves_again(db: &TestDb) {
    let app = spawn_app_with(db, limits(|l| l.max_watches_per_subject = 2)).await;
    let p = People::of(&app);
    let first = watch(&app, &p.mentor).await.expect("a first watch");
    let _second = watch(&app, &p.mentor).await.expect("a second watch");
    let refused = watch(&app, &p.mentor)
        .await
        .expect_err("a third is past the cap");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("max_watches_per_subject")
            && refused.message().contains("close one"),
        "the refusal says what to do: {}",
        refused.message()
    );
    // A log follow counts too; another subject has slots of its own.
    let auditor = app.token(Role::Auditor, "mentor-1");
    let follow = app
        .audit(&auditor)
        .follow_log(pb::ReadLogRequest {
            after_position: 0,
            ..Default::default()
        })
        .await
        .expect_err("the same subject, as auditor, is past the cap too");
    assert_eq!(follow.code(), Code::ResourceExhausted);
    let other = app.token(Role::Mentor, "mentor-2");
    let _other = watch(&app, &other).await.expect("another mentor watches");

    drop(first);
    until(
        app.app.open_watches(),
        "the dropped watch's slot freed",
        |n| *n == 2,
    )
    .await;
    let mut again = watch(&app, &p.mentor)
        .await
        .expect("the freed slot serves again");
    proposed(&app, &p).await;
    let item = tokio::time::timeout(WAIT, again.next())
        .await
        .expect("an item arrives")
        .expect("the watch is open")
        .expect("an item");
    assert_eq!(item.kind, pb::InboxKind::Proposal as i32);
    app.stop().await;
}

async fn a_follow_whose_client_does_not_read_is_closed(db: &TestDb) {
    let app = spawn_app_with(
        db,
        limits(|l| {
            l.stream_buffer_bytes = 4 * 1024;
            l.stream_stall_timeout = Duration::from_millis(200);
        }),
    )
    .await;
    // A client that reads nothing: HTTP/2 lets the server send it 1 KiB.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .initial_stream_window_size(Some(1024))
        .connect()
        .await
        .unwrap();
    let auditor = app.token(Role::Auditor, "insp-1");
    let mut audit =
        pb::audit_client::AuditClient::new(tonic::service::interceptor::InterceptedService::new(
            channel,
            jejak_tests::app::Bearer::new(Some(&auditor)).unwrap(),
        ));
    let mut log = audit
        .follow_log(pb::ReadLogRequest {
            after_position: 0,
            ..Default::default()
        })
        .await
        .expect("the follow opens")
        .into_inner();
    let closed = app.app.streams_closed_unread();
    // Far more than the window, tonic's chunk and the buffer: 100 events of 4 KiB.
    let store = app.app.engine().store();
    let text = "x".repeat(4096);
    for n in 0..100 {
        store
            .append(
                AppendRequest::new(
                    StreamId::parse(format!("bench-unread-{n}")).unwrap(),
                    "bench",
                    ExpectedVersion::Any,
                )
                .event(NewEvent::new(
                    "Measured",
                    serde_json::json!({ "n": n, "text": text }),
                )),
            )
            .await
            .unwrap();
    }
    until(closed, "the unread follow closed", |n| *n == 1).await;
    until(app.app.open_watches(), "nothing else closed", |n| *n == 1).await;

    // Reading now, the client gets what was on its way, then the reason.
    let mut received = 0;
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match log.next().await {
                Some(Ok(_)) => received += 1,
                Some(Err(status)) => return status,
                None => panic!("the follow ended without saying why"),
            }
        }
    })
    .await
    .expect("the follow ends");
    assert_eq!(end.code(), Code::ResourceExhausted, "{end:?}");
    assert!(end.message().contains("did not read"), "{}", end.message());
    assert!(
        received < 100,
        "{received} events reached a client that read nothing"
    );
    drop(log);
    until(
        app.app.open_watches(),
        "the closed follow's slot freed",
        |n| *n == 0,
    )
    .await;
    app.stop().await;
}

async fn a_watch_reads_the_board_once_and_then_only_its_mentors_changes(db: &TestDb) {
    let app = jejak_tests::app::spawn_app(db).await;
    let p = People::of(&app);
    let written = proposed(&app, &p).await;
    // A second participant, mentored by someone else.
    let nip = "198805202011012004";
    let mut other = enrol();
    other.request_id = "enrol-2".into();
    let info = other.participant.as_mut().unwrap();
    info.nip = nip.into();
    info.name = "Dewi Lestari".into();
    other.mentor = "mentor-2".into();
    app.cohorts(&p.organizer)
        .enrol_participant(other)
        .await
        .unwrap();
    let participant = app.token(Role::Participant, nip);
    let mut propose = propose();
    propose.request_id = "propose-2".into();
    let theirs = app
        .projects(&participant)
        .propose(propose)
        .await
        .unwrap()
        .into_inner();
    let theirs_id = id_of(&theirs);
    app.projects(&p.participant)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: theirs.position.max(written.position),
        })
        .await
        .unwrap();

    let mut watch = app
        .app
        .views()
        .watch_inbox("mentor-1", app.clock.clone())
        .unwrap();
    let first = watch.next(None).await.unwrap().unwrap();
    assert_eq!(
        first
            .iter()
            .map(|i| i.project_id.as_str())
            .collect::<Vec<_>>(),
        [id_of(&written).as_str()]
    );
    // The other mentor's project changes many times, then one of ours.
    let coach = || app.projects(&p.coach);
    for n in 0..20 {
        coach()
            .comment(pb::ProjectAction {
                request_id: format!("c{n}"),
                project_id: theirs_id.clone(),
                note: format!("Catatan {n}"),
                expected_version: None,
            })
            .await
            .unwrap();
    }
    app.mentoring(&p.mentor)
        .agree_change_area(action("agree"))
        .await
        .unwrap();
    app.mentoring(&p.mentor)
        .approve_action_plan(action("approve"))
        .await
        .unwrap();
    app.mentoring(&p.mentor)
        .return_action_plan(pb::ReasonRequest {
            request_id: "return".into(),
            project_id: project_id(),
            reason: "Perjelas indikator".into(),
            expected_version: None,
        })
        .await
        .unwrap();
    // Returned, the plan waits for the mentor again: a new item, and only ours.
    let items = tokio::time::timeout(WAIT, watch.next(None))
        .await
        .expect("the returned plan reaches the watch")
        .unwrap()
        .unwrap();
    let seen: Vec<_> = items
        .iter()
        .map(|i| (i.project_id.as_str(), i.kind))
        .collect();
    assert_eq!(
        seen,
        [(
            id_of(&written).as_str(),
            jejak_projections::views::InboxKind::Proposal
        )]
    );
    assert_eq!(
        watch.rereads(),
        1,
        "the watch read the whole board again instead of the changes"
    );
    app.stop().await;
}

/// A server whose connections time out quickly, and a raw TCP connection to it.
async fn raw(change: impl FnOnce(&mut Limits)) -> (TestApp, TestDb, tokio::net::TcpStream) {
    let db = TestDb::sqlite();
    let app = spawn_app_with(&db, limits(change)).await;
    let tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    (app, db, tcp)
}

/// The HTTP/2 connection preface and an empty SETTINGS frame.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// Reads (and ignores) what the server sends until it closes the connection.
async fn closed_by_server(tcp: &mut tokio::net::TcpStream) {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(WAIT, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server closes the connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_after_the_handshake_timeout() {
    let (app, db, mut tcp) = raw(|l| l.handshake_timeout = Duration::from_millis(200)).await;
    closed_by_server(&mut tcp).await;
    app.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_calls_is_closed_after_the_idle_timeout() {
    let (app, db, mut tcp) = raw(|l| l.idle_timeout = Duration::from_millis(300)).await;
    tcp.write_all(PREFACE).await.unwrap();
    closed_by_server(&mut tcp).await;
    app.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_does_not_answer_pings_is_disconnected() {
    // Half-open: the peer completed the handshake, then went silent.
    let (app, db, mut tcp) = raw(|l| {
        l.keepalive_interval = Duration::from_millis(200);
        l.keepalive_timeout = Duration::from_millis(200);
    })
    .await;
    tcp.write_all(PREFACE).await.unwrap();
    closed_by_server(&mut tcp).await;
    app.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_watch_keeps_its_connection_past_the_idle_timeout() {
    let db = TestDb::sqlite();
    let app = spawn_app_with(&db, limits(|l| l.idle_timeout = Duration::from_millis(200))).await;
    let p = People::of(&app);
    let mut inbox = watch(&app, &p.mentor).await.unwrap();
    // Nothing to await here: the point is that time passes with only the watch open.
    tokio::time::sleep(Duration::from_secs(1)).await;
    proposed(&app, &p).await;
    let item = tokio::time::timeout(WAIT, inbox.next())
        .await
        .expect("an item arrives")
        .expect("the watch is still open")
        .expect("an item");
    assert_eq!(item.kind, pb::InboxKind::Proposal as i32);
    app.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_carries_at_most_its_cap_of_calls_at_once() {
    let db = TestDb::sqlite();
    let app = spawn_app_with(&db, limits(|l| l.max_streams_per_connection = 2)).await;
    let p = People::of(&app);
    let first = watch(&app, &p.mentor).await.unwrap();
    let _second = watch(&app, &p.mentor).await.unwrap();
    let mut third = Box::pin(watch(&app, &p.mentor));
    // The third waits for a free stream on the connection.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut third)
            .await
            .is_err(),
        "a third call ran beside two on one connection"
    );
    drop(first);
    tokio::time::timeout(WAIT, third)
        .await
        .expect("the third call runs once a stream is free")
        .unwrap();
    app.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_on_a_standby_server_sees_what_another_server_wrote() {
    let Some(db) = TestDb::postgres("a_watch_on_a_standby_server").await else {
        return;
    };
    let app = jejak_tests::app::spawn_app(&db).await;
    let p = People::of(&app);
    // The first server applies the board; the second stands by.
    let mut status = app
        .app
        .views()
        .runner()
        .watch_status("project_board")
        .unwrap();
    tokio::time::timeout(
        WAIT,
        status.wait_for(|s| s.state == jejak_projections::RunState::Following),
    )
    .await
    .expect("the first server applies the board")
    .unwrap();
    // Servers sharing a log share its master key (they open its sealed fields).
    let mut config = AppConfig::new(app.keys.clone());
    config.engine.master_key = Some(app.app.engine().privacy().master().clone());
    let standby = jejak_server::App::start(db.open().await, config)
        .await
        .unwrap();
    let mut watch = standby
        .views()
        .watch_inbox("mentor-1", app.clock.clone())
        .unwrap();
    assert!(watch.next(None).await.unwrap().unwrap().is_empty());
    let written = proposed(&app, &p).await;
    let items = tokio::time::timeout(WAIT, watch.next(None))
        .await
        .expect("the proposal reaches the standby server's watch")
        .unwrap()
        .unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| i.project_id.as_str())
            .collect::<Vec<_>>(),
        [id_of(&written).as_str()]
    );
    standby.stop();
    app.stop().await;
    db.cleanup().await;
}

/// A server opens no more database connections than its pool and the one
/// that follows the log's notifications, however many calls it serves at
/// once (`--db-connections`; the README's count of servers per
/// `max_connections` rests on it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_opens_at_most_its_pool_and_one_listener_of_database_connections() {
    let Some(db) = TestDb::postgres(
        "a_server_opens_at_most_its_pool_and_one_listener_of_database_connections",
    )
    .await
    else {
        return;
    };
    let app = spawn_app_with(&db, |_| {}).await;
    let token = app.token(Role::Admin, "operator");
    let calls = (0..64).map(|_| {
        let mut admin = app.admin(&token);
        async move {
            admin
                .get_projection_status(pb::GetProjectionStatusRequest {})
                .await
                .map(|_| ())
        }
    });
    for answered in futures::future::join_all(calls).await {
        answered.expect("every call is answered");
    }
    let pool = app.app.engine().store().postgres_pool().unwrap().clone();
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'jejak'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let bound = i64::from(jejak_engine::store::StoreConfig::default().pool_size) + 1;
    assert!(
        (2..=bound).contains(&open),
        "{open} connections, more than the pool and the listener ({bound})"
    );
    app.stop().await;
    db.cleanup().await;
}
