//! Leases with fencing (ADR 0029): who applies a view or runs the process
//! managers on a log shared by several servers.

use std::time::Duration;

use jejak_engine::store::StoreError;
use jejak_tests::TestDb;
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(30);

/// Lets every lease lapse now, as the passing of its length would.
async fn lapse(db: &TestDb) {
    db.raw_sql("UPDATE leases SET expires_at = clock_timestamp()")
        .await
        .unwrap();
}

/// One holder at a time; a lapsed lease goes to the next with a higher
/// token, and the old holder can neither renew it nor write under it: its
/// checkpoint write is refused and leaves the checkpoint where the new
/// holder put it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_lease_fences_its_old_holder_out() {
    let Some(db) = TestDb::postgres("a_lapsed_lease_fences_its_old_holder_out").await else {
        return;
    };
    let store = db.open().await;
    let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
    let mut old = store
        .acquire_lease("process-managers", x, TTL)
        .await
        .unwrap()
        .expect("a free lease is taken");
    assert!(old.live() && !old.due());
    assert!(
        store
            .acquire_lease("process-managers", y, TTL)
            .await
            .unwrap()
            .is_none(),
        "a held lease is not taken by another"
    );
    store.save_checkpoint_under("c", 10, &old).await.unwrap();
    assert!(store.renew_lease(&mut old).await.unwrap());

    // The same server restarted (its id kept in its data folder) takes its
    // lease back at once, and what it held before is fenced out.
    let restarted = store
        .acquire_lease("process-managers", x, TTL)
        .await
        .unwrap()
        .expect("a server's own lease is taken back at once");
    assert!(restarted.token() > old.token());
    assert!(store.save_checkpoint_under("c", 11, &old).await.is_err());
    let mut old = restarted;

    lapse(&db).await;
    let new = store
        .acquire_lease("process-managers", y, TTL)
        .await
        .unwrap()
        .expect("a lapsed lease is taken over");
    assert!(new.token() > old.token(), "every takeover raises the token");
    store.save_checkpoint_under("c", 20, &new).await.unwrap();

    let refused = store.save_checkpoint_under("c", 30, &old).await;
    assert!(
        matches!(&refused, Err(StoreError::Unavailable(why)) if why.contains("lapsed")),
        "{refused:?}"
    );
    assert_eq!(store.checkpoint("c").await.unwrap(), 20);
    assert!(
        !store.renew_lease(&mut old).await.unwrap(),
        "a lost lease is not renewed"
    );
    assert!(!old.live(), "its old holder stops acting under it");

    // Given up on stopping, a lease is free at once.
    store.release_lease(&new).await.unwrap();
    let again = store
        .acquire_lease("process-managers", x, TTL)
        .await
        .unwrap();
    assert!(again.is_some_and(|l| l.token() > new.token()));
    let rows = store.leases().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].holder, rows[0].held), (x, true));
    drop(store);
    db.cleanup().await;
}

/// On SQLite one process serves the log: its leases are always its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_the_one_process_always_holds_its_leases() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let lease = store
        .acquire_lease("view:x", Uuid::now_v7(), TTL)
        .await
        .unwrap()
        .expect("alone");
    assert!(lease.live() && !lease.due());
    store.save_checkpoint_under("c", 5, &lease).await.unwrap();
    assert_eq!(store.checkpoint("c").await.unwrap(), 5);
    assert!(store.leases().await.unwrap().is_empty());
    drop(store);
    db.cleanup().await;
}

/// Two servers' process managers on one PostgreSQL log: one runs them,
/// under the lease; when it stops it gives the lease up and the other
/// takes over at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_runs_the_process_managers_and_hands_them_over_when_it_stops() {
    let Some(db) =
        TestDb::postgres("one_server_runs_the_process_managers_and_hands_them_over_when_it_stops")
            .await
    else {
        return;
    };
    let (store_a, store_b) = (db.open().await, db.open().await);
    let engine_a = jejak_engine::engine::Engine::open(store_a.clone())
        .await
        .unwrap();
    let engine_b = jejak_engine::engine::Engine::open(store_b.clone())
        .await
        .unwrap();
    let managers_a = std::sync::Arc::new(jejak_engine::process::ProcessManagers::new(engine_a));
    let (stop_a, stopped_a) = tokio::sync::oneshot::channel::<()>();
    let a = tokio::spawn({
        let managers = managers_a.clone();
        async move {
            managers
                .run(Duration::from_secs(60), async {
                    let _ = stopped_a.await;
                })
                .await;
        }
    });
    let holder = || async {
        store_b
            .leases()
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.name == jejak_engine::process::LEASE && l.held)
            .map(|l| l.holder)
    };
    let first = wait_until(&holder).await;
    let managers_b = jejak_engine::process::ProcessManagers::new(engine_b);
    let (stop_b, stopped_b) = tokio::sync::oneshot::channel::<()>();
    let b = tokio::spawn(async move {
        managers_b
            .run(Duration::from_secs(60), async {
                let _ = stopped_b.await;
            })
            .await;
    });
    assert_eq!(holder().await, Some(first), "the other stands by");
    stop_a.send(()).unwrap();
    a.await.unwrap();
    let second = wait_until(|| async { holder().await.filter(|h| *h != first) }).await;
    assert_ne!(second, first, "the other server took over");
    stop_b.send(()).unwrap();
    b.await.unwrap();
    drop((store_a, store_b));
    db.cleanup().await;
}

/// Waits (bounded) until `check` finds something, re-checking as often as
/// a standby tries a lease.
async fn wait_until<T, F: std::future::Future<Output = Option<T>>>(check: impl Fn() -> F) -> T {
    let found = async {
        loop {
            if let Some(found) = check().await {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), found)
        .await
        .expect("within 30 s")
}
