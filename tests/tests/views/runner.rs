use std::sync::atomic::{AtomicBool, Ordering};

use jejak_engine::process::ProcessManagers;
use jejak_engine::store::RecordedEvent;
use jejak_projections::views::{self, Cohorts, ProjectBoard, ProjectRow};
use jejak_projections::{Beside, Docs, Projection, ProjectionError, RunState};
use jejak_tests::history::{self, Step};
use jejak_tests::{TestDb, on_both_backends};

use super::{
    caught_up, dump, engine, on_random_histories, rebuild_all, runner, runner_with, test_config,
    until,
};

on_both_backends!(
    views_applied_live_equal_views_rebuilt_from_zero,
    a_failure_mid_catch_up_then_a_restart_ends_in_the_same_views,
    a_view_rebuilt_slowly_does_not_hold_back_the_views_following_the_head,
    a_batch_that_changes_none_of_a_views_documents_costs_no_write,
    a_view_that_stops_writes_the_checkpoint_it_held_back,
    a_checkpoint_held_back_is_written_after_its_lag,
    requests_to_rebuild_before_it_starts_rebuild_once,
);

/// A fixed, long history: every move of every project and innovation, a few rounds.
fn long_history() -> Vec<Step> {
    let mut steps = Vec::new();
    for round in 0..3u8 {
        for op in 0..19 {
            for project in 0..4 {
                if op != 14 || (project == 3 && round == 2) {
                    steps.push(Step::Project { project, op });
                }
            }
        }
        for op in 0..11 {
            for innovation in 0..5 {
                steps.push(Step::Innovation { innovation, op });
            }
        }
    }
    steps
}

async fn live_equals_rebuilt(db: &TestDb, steps: &[Step]) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    let runner = runner(store, 13).await;
    views::spawn_all(&runner);
    history::setup(&engine).await.unwrap();
    history::play(&engine, steps, "h").await.unwrap();
    ProcessManagers::new(engine.clone())
        .run_once()
        .await
        .unwrap();
    for name in runner.names() {
        caught_up(&runner, name).await;
    }
    let live = dump(&runner).await;
    rebuild_all(&runner).await;
    assert_eq!(
        dump(&runner).await,
        live,
        "a rebuild from zero gives the same views"
    );
    runner.shutdown();
}

async fn views_applied_live_equal_views_rebuilt_from_zero(db: &TestDb) {
    live_equals_rebuilt(db, &long_history()).await;
}

/// Random histories (proptest): the live views equal the rebuilt ones.
#[test]
fn random_histories_give_the_same_views_live_and_rebuilt() {
    on_random_histories(
        "random_histories_give_the_same_views_live_and_rebuilt",
        6,
        120,
        async |db, steps| live_equals_rebuilt(db, steps).await,
    );
}

/// The project board, with `before` run ahead of every event it applies:
/// to fail, or to wait.
struct BoardWith<F>(F);

impl<F> Projection for BoardWith<F>
where
    F: Fn(&RecordedEvent) -> Result<(), ProjectionError> + Send + Sync + 'static,
{
    const NAME: &'static str = ProjectBoard::NAME;
    type Doc = ProjectRow;

    fn keys(&self, event: &RecordedEvent) -> Vec<String> {
        ProjectBoard.keys(event)
    }

    fn apply(
        &self,
        event: &RecordedEvent,
        docs: &mut Docs<ProjectRow>,
    ) -> Result<(), ProjectionError> {
        (self.0)(event)?;
        ProjectBoard.apply(event, docs)
    }

    fn beside(doc: &ProjectRow) -> Beside {
        ProjectBoard::beside(doc)
    }
}

async fn a_failure_mid_catch_up_then_a_restart_ends_in_the_same_views(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    history::play(&engine, &long_history(), "h").await.unwrap();
    let head = store.digest().await.unwrap().position;
    let fail_at = head / 2;

    let first = runner(store.clone(), 7).await;
    // Fails once, at a chosen position.
    let fired = AtomicBool::new(false);
    first.spawn(BoardWith(move |event: &RecordedEvent| {
        if event.position == fail_at && !fired.swap(true, Ordering::SeqCst) {
            return Err(ProjectionError("injected failure".into()));
        }
        Ok(())
    }));
    first.spawn(Cohorts);
    let failed = until(&first, ProjectBoard::NAME, "failed", |s| {
        matches!(s.state, RunState::Failed { .. })
    })
    .await;
    assert_eq!(
        failed.state,
        RunState::Failed {
            error: "injected failure".into(),
            position: fail_at
        }
    );
    assert!(
        failed.position < fail_at && failed.position > 0,
        "batches before the failure were kept: {failed:?}"
    );
    caught_up(&first, Cohorts::NAME).await;
    first.shutdown();

    // A restart: the same view, without the fault, resumes from the checkpoint.
    let second = runner(store.clone(), 7).await;
    second.spawn(ProjectBoard);
    caught_up(&second, ProjectBoard::NAME).await;
    let resumed = second.documents(ProjectBoard::NAME).await.unwrap();
    rebuild_all(&second).await;
    assert_eq!(second.documents(ProjectBoard::NAME).await.unwrap(), resumed);
    second.shutdown();
}

async fn a_view_rebuilt_slowly_does_not_hold_back_the_views_following_the_head(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    history::play(&engine, &long_history(), "h").await.unwrap();
    let runner = runner(store.clone(), 7).await;
    let (permit, permits) = std::sync::mpsc::channel();
    // Applies one event per permit while gated.
    let gated = std::sync::Arc::new(AtomicBool::new(false));
    let permits = std::sync::Mutex::new(permits);
    runner.spawn(BoardWith({
        let gated = gated.clone();
        move |_: &RecordedEvent| {
            if gated.load(Ordering::SeqCst) {
                let _ = permits
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .recv();
            }
            Ok(())
        }
    }));
    runner.spawn(Cohorts);
    caught_up(&runner, ProjectBoard::NAME).await;
    caught_up(&runner, Cohorts::NAME).await;

    // The board is rebuilt from zero, one event per permit, a permit every
    // few milliseconds: it keeps moving, far behind.
    gated.store(true, Ordering::SeqCst);
    let feeding = std::sync::Arc::new(AtomicBool::new(true));
    let feeder = {
        let feeding = feeding.clone();
        std::thread::spawn(move || {
            while feeding.load(Ordering::SeqCst) && permit.send(()).is_ok() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    runner.rebuild(ProjectBoard::NAME).unwrap();
    until(&runner, ProjectBoard::NAME, "rebuilding", |s| {
        s.state == RunState::Rebuilding
    })
    .await;

    // New events reach the cohorts while the board is still far behind.
    for n in 0..20 {
        store
            .append(
                jejak_engine::store::AppendRequest::new(
                    jejak_engine::store::StreamId::parse(format!("note-{n}")).unwrap(),
                    "note",
                    jejak_engine::store::ExpectedVersion::Any,
                )
                .event(jejak_engine::store::NewEvent::new(
                    "Noted",
                    serde_json::json!({ "n": n }),
                )),
            )
            .await
            .unwrap();
    }
    caught_up(&runner, Cohorts::NAME).await;
    let head = store.digest().await.unwrap().position;
    let board_status = runner
        .watch_status(ProjectBoard::NAME)
        .unwrap()
        .borrow()
        .clone();
    assert_eq!(board_status.state, RunState::Rebuilding, "{board_status:?}");
    assert!(
        board_status.rebuild_position.unwrap_or(0) + 8 * 7 < head,
        "the cohorts followed the head only once the board came close: {board_status:?}, head {head}"
    );

    // Let the board finish: it ends as it was.
    gated.store(false, Ordering::SeqCst);
    feeding.store(false, Ordering::SeqCst);
    feeder.join().unwrap();
    caught_up(&runner, ProjectBoard::NAME).await;
    runner.shutdown();
}

/// Two servers on one PostgreSQL database: only one applies each view;
/// when it stops, the other takes over from the checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_on_one_postgres_database_take_turns() {
    let Some(db) = TestDb::postgres("two_runners_on_one_postgres_database_take_turns").await else {
        return;
    };
    let (store_a, store_b) = (db.open().await, db.open().await);
    let engine = engine(store_a.clone()).await;
    let a = runner(store_a.clone(), 50).await;
    let b = runner(store_b.clone(), 50).await;
    a.spawn(ProjectBoard);
    b.spawn(ProjectBoard);
    let leader_a = until(&a, ProjectBoard::NAME, "decided", |s| {
        s.state != RunState::Starting
    })
    .await;
    let leader_b = until(&b, ProjectBoard::NAME, "decided", |s| {
        s.state != RunState::Starting
    })
    .await;
    let (leader, standby) = match (&leader_a.state, &leader_b.state) {
        (RunState::Standby, RunState::Standby) => panic!("nobody leads"),
        (RunState::Standby, _) => (b.clone(), a.clone()),
        (_, RunState::Standby) => (a.clone(), b.clone()),
        _ => panic!("both lead: {leader_a:?} {leader_b:?}"),
    };
    history::setup(&engine).await.unwrap();
    history::play(&engine, &long_history()[..200], "first")
        .await
        .unwrap();
    caught_up(&leader, ProjectBoard::NAME).await;
    assert_eq!(
        standby.statuses()[0].state,
        RunState::Standby,
        "the other one only stands by"
    );
    let head = store_a.digest().await.unwrap().position;
    standby
        .wait_for(ProjectBoard::NAME, head, std::time::Duration::from_secs(10))
        .await
        .expect("a standby reads the leader's progress");

    // A rebuild asked of the standby is made by the leader, once.
    let served = leader.statuses()[0].generation;
    assert!(standby.request_rebuild(ProjectBoard::NAME).await.unwrap());
    let rebuilt = until(&leader, ProjectBoard::NAME, "rebuilt when asked", |s| {
        s.generation > served && s.state == RunState::Following
    })
    .await
    .generation;

    leader.shutdown();
    let taken_over = until(&standby, ProjectBoard::NAME, "taken over", |s| {
        s.state != RunState::Standby && s.state != RunState::Starting
    })
    .await;
    assert_eq!(
        taken_over.generation, rebuilt,
        "the standby serves the rebuilt generation and does not rebuild again"
    );
    history::play(&engine, &long_history()[200..], "second")
        .await
        .unwrap();
    caught_up(&standby, ProjectBoard::NAME).await;
    let taken_over = standby.documents(ProjectBoard::NAME).await.unwrap();
    rebuild_all(&standby).await;
    assert_eq!(
        standby.documents(ProjectBoard::NAME).await.unwrap(),
        taken_over
    );
    standby.shutdown();
    drop((a, b, store_a, store_b));
    db.cleanup().await;
}

/// What befalls server A of the fault tests.
enum Fault {
    /// Its process stops for a while (SIGSTOP, a frozen machine): every
    /// task at once, its connections left open.
    Hang(std::time::Duration),
    /// Its process dies: its tasks end and its connections close, without
    /// giving its leases up.
    Kill,
}

/// Server A, applying the board on a runtime of its own with one thread,
/// so that blocking that thread hangs the whole server, and dropping the
/// runtime kills it.
async fn server_on_its_own_runtime(
    db: &TestDb,
) -> (
    std::sync::Arc<jejak_projections::Runner>,
    tokio::sync::mpsc::UnboundedSender<Fault>,
    std::thread::JoinHandle<()>,
) {
    let url = db.url().to_owned();
    let (a_tx, a_rx) = tokio::sync::oneshot::channel();
    let (faults, mut fault) = tokio::sync::mpsc::unbounded_channel::<Fault>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let store = jejak_engine::store::EventStore::open(&url, Default::default())
                .await
                .unwrap();
            let a = runner(store, 50).await;
            a.spawn(ProjectBoard);
            a_tx.send(a.clone()).ok();
            while let Some(next) = fault.recv().await {
                match next {
                    Fault::Hang(how_long) => std::thread::sleep(how_long),
                    Fault::Kill => return,
                }
            }
            a.shutdown();
        });
        // Dropping the runtime ends every task of the server.
    });
    let a = a_rx.await.unwrap();
    until(&a, ProjectBoard::NAME, "leading", |s| {
        s.state == RunState::Following
    })
    .await;
    (a, faults, server)
}

/// Server A leads with the history's first part applied, server B stands
/// by; then `fault` befalls A while the log goes on. B takes the view over
/// within the bound, answers at the head, holds the lease, and its view is
/// what the log makes: no event applied twice, none lost. Returns A and
/// B's parts for more checks.
async fn a_fault_of_the_leader_is_taken_over(db: &TestDb, fault: Fault) -> FaultTest {
    let (a, faults, server) = server_on_its_own_runtime(db).await;
    let store_b = db.open().await;
    let b = runner(store_b.clone(), 50).await;
    b.spawn(ProjectBoard);
    until(&b, ProjectBoard::NAME, "standing by", |s| {
        s.state == RunState::Standby
    })
    .await;
    let engine = engine(store_b.clone()).await;
    history::setup(&engine).await.unwrap();
    history::play(&engine, &long_history()[..100], "first")
        .await
        .unwrap();
    let head = store_b.digest().await.unwrap().position;
    until(&a, ProjectBoard::NAME, "caught up", |s| {
        s.position >= head && s.state == RunState::Following
    })
    .await;

    let struck = std::time::Instant::now();
    faults.send(fault).unwrap();
    history::play(&engine, &long_history()[100..200], "second")
        .await
        .unwrap();
    let head = store_b.digest().await.unwrap().position;
    b.wait_for(ProjectBoard::NAME, head, std::time::Duration::from_secs(10))
        .await
        .expect("the standby takes the view over and answers at the head");
    let taken_over = struck.elapsed();
    assert!(
        taken_over < std::time::Duration::from_secs(10),
        "taken over after {taken_over:?}"
    );
    until(&b, ProjectBoard::NAME, "leading", |s| {
        s.state != RunState::Standby
    })
    .await;
    assert_eq!(board_leader(&store_b).await, Some(b.holder()));
    FaultTest {
        a,
        faults,
        server,
        b,
        store_b,
        engine,
    }
}

struct FaultTest {
    a: std::sync::Arc<jejak_projections::Runner>,
    faults: tokio::sync::mpsc::UnboundedSender<Fault>,
    server: std::thread::JoinHandle<()>,
    b: std::sync::Arc<jejak_projections::Runner>,
    store_b: jejak_engine::store::EventStore,
    engine: jejak_engine::engine::Engine,
}

impl FaultTest {
    /// More of the log, applied by B alone; its view is what the log makes.
    async fn b_goes_on_alone(self, db: TestDb) {
        history::play(&self.engine, &long_history()[200..260], "third")
            .await
            .unwrap();
        caught_up(&self.b, ProjectBoard::NAME).await;
        assert_eq!(board_leader(&self.store_b).await, Some(self.b.holder()));
        let check = self.b.check(&ProjectBoard).await.unwrap();
        assert!(check.matches(), "the view is what the log makes: {check:?}");
        drop(self.faults);
        self.server.join().unwrap();
        self.b.shutdown();
        drop((self.a, self.b, self.store_b, self.engine));
        db.cleanup().await;
    }
}

/// The server holding the board's lease now.
async fn board_leader(store: &jejak_engine::store::EventStore) -> Option<uuid::Uuid> {
    store
        .leases()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.name == format!("view:{}", ProjectBoard::NAME) && l.held)
        .map(|l| l.holder)
}

/// A server that hangs while it applies a view does not freeze the view
/// for the others: its lease lapses, the standby takes over within the
/// bound, and when the hung server wakes it writes nothing under the lease
/// it lost and stands by (ADR 0029).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_leader_is_replaced_and_writes_nothing_when_it_wakes() {
    let Some(db) =
        TestDb::postgres("a_hung_leader_is_replaced_and_writes_nothing_when_it_wakes").await
    else {
        return;
    };
    // Hung for longer than its lease (2 s in these tests).
    let test =
        a_fault_of_the_leader_is_taken_over(&db, Fault::Hang(std::time::Duration::from_secs(6)))
            .await;
    until(
        &test.a,
        ProjectBoard::NAME,
        "standing by after waking",
        |s| s.state == RunState::Standby,
    )
    .await;
    test.b_goes_on_alone(db).await;
}

/// A server killed while it applies a view (its lease not given up) is
/// replaced once its lease lapses, within the bound (ADR 0029).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_within_its_lease() {
    let Some(db) = TestDb::postgres("a_killed_leader_is_replaced_within_its_lease").await else {
        return;
    };
    let test = a_fault_of_the_leader_is_taken_over(&db, Fault::Kill).await;
    test.b_goes_on_alone(db).await;
}

/// A standby answers read-your-writes when the leader announces its write
/// (ADR 0029), not by polling the database: here it would poll once a
/// minute, and the leader, briefly hung, applies the append only after the
/// standby has asked the database once and found it behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_is_woken_by_the_leaders_announcement() {
    let Some(db) = TestDb::postgres("a_standby_is_woken_by_the_leaders_announcement").await else {
        return;
    };
    let (a, faults, server) = server_on_its_own_runtime(&db).await;
    let store_b = db.open().await;
    let b = jejak_projections::Runner::new(
        store_b.clone(),
        jejak_projections::RunnerConfig {
            batch: 50,
            poll: std::time::Duration::from_secs(60),
            lease: std::time::Duration::from_secs(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    b.spawn(ProjectBoard);
    until(&b, ProjectBoard::NAME, "standing by", |s| {
        s.state == RunState::Standby
    })
    .await;
    let engine = engine(store_b.clone()).await;
    history::setup(&engine).await.unwrap();
    for round in 0..3 {
        faults
            .send(Fault::Hang(std::time::Duration::from_millis(500)))
            .unwrap();
        history::play(
            &engine,
            &long_history()[round * 10..round * 10 + 10],
            &format!("round{round}"),
        )
        .await
        .unwrap();
        let head = store_b.digest().await.unwrap().position;
        b.wait_for(ProjectBoard::NAME, head, std::time::Duration::from_secs(10))
            .await
            .expect("the standby hears the leader's write");
        let standby = until(
            &b,
            ProjectBoard::NAME,
            "reporting the leader's position",
            |s| s.position >= head,
        )
        .await;
        assert_eq!(standby.state, RunState::Standby, "A still leads");
        assert_eq!(standby.lag_events, standby.head - standby.position);
    }
    drop(faults);
    server.join().unwrap();
    b.shutdown();
    drop((a, b, store_b, engine));
    db.cleanup().await;
}

/// The position a view's checkpoint holds in the database.
async fn stored_checkpoint(
    db: &TestDb,
    store: &jejak_engine::store::EventStore,
    view: &str,
) -> i64 {
    let sql = "SELECT MAX(position) FROM view_checkpoints WHERE view = $1";
    match (
        store.sqlite_views_pool(1).await.unwrap(),
        store.postgres_pool(),
    ) {
        (Some(pool), _) => sqlx::query_scalar(&sql.replace('$', "?"))
            .bind(view)
            .fetch_one(&pool)
            .await
            .unwrap(),
        (_, Some(pool)) => sqlx::query_scalar(sql)
            .bind(view)
            .fetch_one(pool)
            .await
            .unwrap(),
        _ => unreachable!("{db:?} has a pool"),
    }
}

/// The tests' runner, holding back the checkpoint of batches that change
/// nothing for as long as a test may take, as holder `holder`.
async fn patient_runner(
    store: &jejak_engine::store::EventStore,
    holder: uuid::Uuid,
) -> std::sync::Arc<jejak_projections::Runner> {
    runner_with(
        store.clone(),
        jejak_projections::RunnerConfig {
            checkpoint_lag: std::time::Duration::from_secs(600),
            holder,
            ..test_config(13)
        },
    )
    .await
}

/// Eleven events on one innovation: none of the cohorts view's business.
async fn innovations_only(engine: &jejak_engine::engine::Engine, tag: &str) -> u64 {
    let steps: Vec<Step> = (0..11)
        .map(|op| Step::Innovation { innovation: 0, op })
        .collect();
    history::play(engine, &steps, tag).await.unwrap();
    engine.store().digest().await.unwrap().position
}

/// Events that change none of a view's documents are applied, and the
/// view answers for them (read-your-writes), without a transaction that
/// would only move its checkpoint (ADR 0023). A server that crashes then
/// applies them again from the stored checkpoint, to the same documents.
async fn a_batch_that_changes_none_of_a_views_documents_costs_no_write(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    let holder = uuid::Uuid::now_v7();
    let first = patient_runner(&store, holder).await;
    let applying = first.spawn(Cohorts);
    caught_up(&first, Cohorts::NAME).await;
    let stored = stored_checkpoint(db, &store, Cohorts::NAME).await;
    let documents = first.documents(Cohorts::NAME).await.unwrap();

    let head = innovations_only(&engine, "i").await;
    assert!(head > stored as u64);
    first
        .wait_for(Cohorts::NAME, head, std::time::Duration::from_secs(60))
        .await
        .expect("the view answers for events that changed none of its documents");
    assert_eq!(
        stored_checkpoint(db, &store, Cohorts::NAME).await,
        stored,
        "no write for batches that change nothing"
    );

    // A crash: the view's task ends where it is, nothing more written.
    applying.abort();
    let _ = applying.await;
    first.shutdown();
    // Started again as the same server (its id kept), which takes its
    // lease back at once.
    let second = patient_runner(&store, holder).await;
    second.spawn(Cohorts);
    let status = caught_up(&second, Cohorts::NAME).await;
    assert!(status.position >= head, "{status:?}");
    assert_eq!(second.documents(Cohorts::NAME).await.unwrap(), documents);
    rebuild_all(&second).await;
    assert_eq!(second.documents(Cohorts::NAME).await.unwrap(), documents);
    second.shutdown();
}

/// A view that stops writes the checkpoint it held back for batches that
/// changed nothing: a restart does not apply them again.
async fn a_view_that_stops_writes_the_checkpoint_it_held_back(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    let runner = patient_runner(&store, uuid::Uuid::now_v7()).await;
    let applying = runner.spawn(Cohorts);
    caught_up(&runner, Cohorts::NAME).await;
    let head = innovations_only(&engine, "i").await;
    runner
        .wait_for(Cohorts::NAME, head, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert!(stored_checkpoint(db, &store, Cohorts::NAME).await < head as i64);
    runner.shutdown();
    applying.await.unwrap();
    assert_eq!(
        stored_checkpoint(db, &store, Cohorts::NAME).await,
        head as i64,
        "stopping writes the checkpoint"
    );
}

/// A checkpoint held back for batches that changed nothing is written
/// once [`jejak_projections::RunnerConfig::checkpoint_lag`] has passed,
/// though nothing else comes: a standby that missed an announcement, or a
/// restart after a crash, finds it there.
async fn a_checkpoint_held_back_is_written_after_its_lag(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    let runner = runner_with(
        store.clone(),
        jejak_projections::RunnerConfig {
            checkpoint_lag: std::time::Duration::from_millis(200),
            ..test_config(13)
        },
    )
    .await;
    runner.spawn(Cohorts);
    caught_up(&runner, Cohorts::NAME).await;
    let head = innovations_only(&engine, "i").await;
    let written = async {
        while stored_checkpoint(db, &store, Cohorts::NAME).await < head as i64 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), written)
        .await
        .expect("the checkpoint is written after its lag");
    runner.shutdown();
}

/// Requests to rebuild a view made before the rebuild starts are one
/// rebuild, not one each: the wake a request leaves behind once the view
/// took it is not another request (reads of the old generation while a
/// needless second rebuild switched under them found no documents). Both
/// requests are made as the view starts, before it can take either: it
/// reaches its database first.
async fn requests_to_rebuild_before_it_starts_rebuild_once(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    let runner = runner(store.clone(), 13).await;
    runner.spawn(Cohorts);
    runner.rebuild(Cohorts::NAME).unwrap();
    runner.rebuild(Cohorts::NAME).unwrap();
    let head = store.digest().await.unwrap().position;
    super::until(&runner, Cohorts::NAME, "rebuilt", |s| {
        s.generation > 1 && s.position >= head && s.state == RunState::Following
    })
    .await;
    // More of the log, applied by the generation the rebuild made.
    let head = innovations_only(&engine, "i").await;
    let status = super::until(&runner, Cohorts::NAME, "caught up again", |s| {
        s.position >= head && s.state == RunState::Following
    })
    .await;
    assert_eq!(
        status.generation, 2,
        "one rebuild of generation 1: {status:?}"
    );
    runner.shutdown();
}

/// On PostgreSQL, a standby answers read-your-writes for batches that
/// changed none of the view's documents, and reports their position,
/// from the leader's announcement (ADR 0023): the stored checkpoint the
/// leader held back is not what it reads, and it polls only once a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_hears_of_batches_that_changed_nothing() {
    let Some(db) = TestDb::postgres("a_standby_hears_of_batches_that_changed_nothing").await else {
        return;
    };
    let store_a = db.open().await;
    let engine = engine(store_a.clone()).await;
    history::setup(&engine).await.unwrap();
    let a = patient_runner(&store_a, uuid::Uuid::now_v7()).await;
    a.spawn(Cohorts);
    caught_up(&a, Cohorts::NAME).await;
    let store_b = db.open().await;
    let b = runner_with(
        store_b.clone(),
        jejak_projections::RunnerConfig {
            poll: std::time::Duration::from_secs(60),
            ..test_config(13)
        },
    )
    .await;
    b.spawn(Cohorts);
    until(&b, Cohorts::NAME, "standing by", |s| {
        s.state == RunState::Standby
    })
    .await;
    let stored = stored_checkpoint(&db, &store_a, Cohorts::NAME).await;
    for round in 0..3 {
        let head = innovations_only(&engine, &format!("round{round}")).await;
        b.wait_for(Cohorts::NAME, head, std::time::Duration::from_secs(10))
            .await
            .expect("the standby hears how far the leader applied");
        let standby = until(&b, Cohorts::NAME, "reporting the leader's position", |s| {
            s.position >= head
        })
        .await;
        assert_eq!(standby.state, RunState::Standby, "A still leads");
    }
    assert_eq!(
        stored_checkpoint(&db, &store_a, Cohorts::NAME).await,
        stored,
        "the leader wrote nothing for them"
    );
    b.shutdown();
    a.shutdown();
    drop((a, b, store_a, store_b, engine));
    db.cleanup().await;
}
