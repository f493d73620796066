//! Views are caches under the chain: checking rebuilds each from the log
//! and names every document the live one holds otherwise.

use jejak_projections::DifferenceKind;
use jejak_projections::views::{check_all, spawn_all};
use jejak_tests::history::{self, Step};
use jejak_tests::{TestDb, on_both_backends};

use super::{caught_up, engine, runner};

on_both_backends!(checking_the_views_names_every_document_changed_behind_their_back);

async fn checking_the_views_names_every_document_changed_behind_their_back(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    let steps: Vec<Step> = (0..19u8)
        .flat_map(|op| {
            [
                Step::Project { project: 0, op },
                Step::Project { project: 1, op },
                Step::Innovation {
                    innovation: 0,
                    op: op % 11,
                },
            ]
        })
        .collect();
    history::play(&engine, &steps, "check").await.unwrap();
    let runner = runner(store, 50).await;
    spawn_all(&runner);
    for name in runner.names() {
        caught_up(&runner, name).await;
    }
    let head = runner.store().digest().await.unwrap().position;
    let checks = check_all(&runner).await.unwrap();
    assert_eq!(checks.len(), 3);
    for check in &checks {
        assert!(check.matches(), "{check:?}");
        assert_eq!(check.position, head);
        assert!(check.documents > 0, "{check:?}");
    }

    // Someone with database access edits one document, deletes another
    // and adds one the log never made.
    let board = runner.documents("project_board").await.unwrap();
    let (changed, deleted) = (&board[0].0, &board[1].0);
    let generation = runner
        .statuses()
        .into_iter()
        .find(|s| s.name == "project_board")
        .unwrap()
        .generation;
    db.views_raw_sql(&format!(
        "UPDATE view_docs SET doc = '{{\"forged\":true}}' WHERE view = 'project_board' AND key = '{changed}'; \
         DELETE FROM view_docs WHERE view = 'project_board' AND key = '{deleted}'; \
         INSERT INTO view_docs (view, generation, key, doc) \
         VALUES ('project_board', {generation}, 'zz-forged', '{{}}');"
    ))
    .await
    .unwrap();
    let checks = check_all(&runner).await.unwrap();
    let board = checks.iter().find(|c| c.name == "project_board").unwrap();
    let mut found: Vec<(&str, DifferenceKind)> = board
        .differences
        .iter()
        .map(|d| (d.key.as_str(), d.kind))
        .collect();
    found.sort_unstable();
    let mut expected = vec![
        (changed.as_str(), DifferenceKind::Changed),
        (deleted.as_str(), DifferenceKind::Missing),
        ("zz-forged", DifferenceKind::Extra),
    ];
    expected.sort_unstable();
    assert_eq!(found, expected);
    for other in checks.iter().filter(|c| c.name != "project_board") {
        assert!(other.matches(), "{other:?}");
    }
    runner.shutdown();
}
