//! Reads that do not scan a view (ADR 0033) answer exactly what a read of
//! every document answers: on random histories, applied live in small
//! batches, every filter of the board and the register, paged and whole,
//! every mentor's inbox, every cohort's progress and the statistics equal
//! the same figures folded from the whole view; the terms and counts kept
//! beside the documents equal those rebuilt from the log, and a forged one
//! is named.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{caught_up, engine, on_random_histories, rebuild_all, runner};
use chrono::Utc;
use jejak_engine::process::ProcessManagers;
use jejak_projections::DifferenceKind;
use jejak_projections::views::{
    self, BoardFilter, CohortRow, Dormant, InnovationRow, Page, ProjectRow, RegisterFilter, Views,
    check_all, inbox_of, progress_of, statistics,
};
use jejak_tests::history::{self, Step};
use jejak_tests::{TestDb, on_both_backends};

on_both_backends!(
    reads_agree_with_folds_at_every_stage_of_a_history,
    a_forged_term_or_count_is_named_by_the_check,
);

/// The region of the histories' innovations.
const REGION: &str = "Kota Cilegon";

/// Every document of view `name`, decoded.
async fn all<D: serde::de::DeserializeOwned>(views: &Views, name: &str) -> Vec<D> {
    views
        .runner()
        .documents(name)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, doc)| serde_json::from_str(&doc).unwrap())
        .collect()
}

/// Every value a field takes in `rows`, and `None`, and one nobody has.
fn choices<T>(rows: &[T], field: impl Fn(&T) -> Vec<String>) -> Vec<Option<String>> {
    let mut seen: BTreeSet<String> = rows.iter().flat_map(field).collect();
    seen.insert("nobody-has-this".into());
    std::iter::once(None)
        .chain(seen.into_iter().map(Some))
        .collect()
}

/// The board's filters to try: each field alone, and pairs of them.
fn board_filters(rows: &[ProjectRow]) -> Vec<BoardFilter> {
    let one = |f: &dyn Fn(&ProjectRow) -> Vec<String>| choices(rows, f);
    let cohorts = one(&|r| vec![r.cohort_id.clone()]);
    let opds = one(&|r| vec![r.opd.clone()]);
    let mentors = one(&|r| vec![r.mentor.clone()]);
    let states = one(&|r| vec![r.state.clone()]);
    let participants = one(&|r| vec![r.participant.clone()]);
    let coaches = one(&|r| vec![r.coach.clone()]);
    let examiners = one(&|r| r.examiners.clone());
    let organizers = one(&|r| vec![r.organizer.clone()]);
    let pairs = |a: &[Option<String>],
                 b: &[Option<String>],
                 make: &dyn Fn(&Option<String>, &Option<String>) -> BoardFilter| {
        a.iter()
            .flat_map(|x| b.iter().map(move |y| (x, y)))
            .map(|(x, y)| make(x, y))
            .collect::<Vec<_>>()
    };
    let mut filters = pairs(&opds, &states, &|opd, state| BoardFilter {
        opd: opd.clone(),
        state: state.clone(),
        ..BoardFilter::default()
    });
    filters.extend(pairs(&mentors, &states, &|mentor, state| BoardFilter {
        mentor: mentor.clone(),
        state: state.clone(),
        ..BoardFilter::default()
    }));
    filters.extend(pairs(&cohorts, &participants, &|cohort, participant| {
        BoardFilter {
            cohort_id: cohort.clone(),
            participant: participant.clone(),
            ..BoardFilter::default()
        }
    }));
    for organizer in &organizers {
        filters.extend(pairs(&coaches, &examiners, &|coach, examiner| {
            BoardFilter {
                coach: coach.clone(),
                examiner: examiner.clone(),
                organizer: organizer.clone(),
                ..BoardFilter::default()
            }
        }));
    }
    filters
}

/// Every page of a read, `size` rows at a time, each after the last key
/// of the one before.
async fn paged<T>(size: usize, mut read: impl AsyncFnMut(Option<String>) -> Page<T>) -> Vec<T> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = read(after.take()).await;
        assert!(page.rows.len() <= size);
        rows.extend(page.rows);
        match page.next {
            Some(next) => after = Some(next),
            None => return rows,
        }
    }
}

/// Every read by terms against the same read folded from the whole view.
async fn indexed_reads_equal_full_folds(views: &Views) {
    let mut board: Vec<ProjectRow> = all(views, "project_board").await;
    views.open_rows(&mut board).await.unwrap();
    let register: Vec<InnovationRow> = all(views, "innovation_register").await;
    let cohorts: Vec<CohortRow> = all(views, "cohorts").await;

    for filter in board_filters(&board) {
        let expected: Vec<ProjectRow> = board
            .iter()
            .filter(|r| filter.matches(r))
            .cloned()
            .collect();
        assert_eq!(
            views.board(&filter, None).await.unwrap(),
            expected,
            "{filter:?}"
        );
        for size in [1, 2, 3] {
            let paged = paged(size, async |after| {
                views
                    .board_page(&filter, after.as_deref(), size, None)
                    .await
                    .unwrap()
            })
            .await;
            assert_eq!(paged, expected, "pages of {size}, {filter:?}");
        }
    }

    let now = Utc::now();
    let mentors: BTreeSet<String> = board.iter().map(|r| r.mentor.clone()).collect();
    for mentor in mentors.iter().chain(["nobody-has-this".to_owned()].iter()) {
        let rows: Vec<ProjectRow> = board
            .iter()
            .filter(|r| &r.mentor == mentor)
            .cloned()
            .collect();
        assert_eq!(
            views.inbox(mentor, now, None).await.unwrap(),
            inbox_of(&rows, now),
            "the inbox of {mentor}"
        );
    }

    for cohort in cohorts
        .iter()
        .map(|c| c.cohort_id.clone())
        .chain(["nobody-has-this".into()])
    {
        let rows: Vec<ProjectRow> = board
            .iter()
            .filter(|r| r.cohort_id == cohort)
            .cloned()
            .collect();
        let row = cohorts.iter().find(|c| c.cohort_id == cohort).cloned();
        let expected = progress_of(row, &rows);
        let progress = views.cohort_progress(&cohort, None).await.unwrap();
        assert_eq!(progress, expected, "the progress of {cohort}");
        assert_eq!(
            progress.late_people, expected.late_people,
            "the late of {cohort}"
        );
    }

    let opds = choices(&register, |r| vec![r.opd.clone()]);
    let stages = choices(&register, |r| vec![r.stage.clone()]);
    let sources = choices(&register, |r| vec![r.source.as_str().to_owned()]);
    for opd in &opds {
        for stage in &stages {
            for source in &sources {
                for dormant_only in [false, true] {
                    let filter = RegisterFilter {
                        opd: opd.clone(),
                        stage: stage.clone(),
                        source: source.clone(),
                        dormant_only,
                    };
                    let expected: Vec<InnovationRow> = register
                        .iter()
                        .filter(|r| filter.matches(r))
                        .cloned()
                        .collect();
                    for size in [1, 2, 500] {
                        let paged = paged(size, async |after| {
                            views
                                .register(&filter, after.as_deref(), size, None)
                                .await
                                .unwrap()
                        })
                        .await;
                        assert_eq!(paged, expected, "pages of {size}, {filter:?}");
                    }
                }
            }
        }
    }

    for region in [REGION, "Kabupaten Serang", "nowhere"] {
        let known: Vec<String> = ["dinkes", "dishub"].map(String::from).to_vec();
        let mut every: BTreeSet<String> = known.iter().cloned().collect();
        every.extend(board.iter().map(|r| r.opd.clone()));
        let rows: Vec<InnovationRow> = register
            .iter()
            .filter(|r| r.region == region)
            .cloned()
            .collect();
        // Every dormant one named; the first two; one OPD's, the first one.
        for dormant in [
            Dormant {
                limit: usize::MAX,
                opd: None,
            },
            Dormant {
                limit: 2,
                opd: None,
            },
            Dormant {
                limit: 1,
                opd: Some("dinkes".into()),
            },
        ] {
            let mut expected = statistics(&rows, &every);
            dormant.narrow(&mut expected);
            assert_eq!(
                views
                    .statistics(&known, region, &dormant, None)
                    .await
                    .unwrap(),
                expected,
                "the statistics of {region}, {dormant:?}"
            );
        }
    }
}

/// A random history played while the views follow it in small batches,
/// then checked, read, rebuilt and read again.
async fn reads_agree(db: &TestDb, steps: &[Step]) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    let runner = runner(store, 5).await;
    views::spawn_all(&runner);
    let views =
        Views::new(runner.clone(), Duration::from_secs(30)).with_privacy(engine.privacy().clone());
    history::setup(&engine).await.unwrap();
    // In two halves, the managers between: views apply some of it in
    // batches that change what is kept beside documents already written.
    let (first, second) = steps.split_at(steps.len() / 2);
    history::play(&engine, first, "a").await.unwrap();
    ProcessManagers::new(engine.clone())
        .run_once()
        .await
        .unwrap();
    history::play(&engine, second, "b").await.unwrap();
    ProcessManagers::new(engine.clone())
        .run_once()
        .await
        .unwrap();
    for name in runner.names() {
        caught_up(&runner, name).await;
    }
    for check in check_all(&runner).await.unwrap() {
        assert!(
            check.matches(),
            "kept beside the documents as rebuilt: {check:?}"
        );
    }
    indexed_reads_equal_full_folds(&views).await;
    rebuild_all(&runner).await;
    indexed_reads_equal_full_folds(&views).await;
    runner.shutdown();
}

/// A history in stages, with the reads compared after each: every kind of
/// waiting for a mentor, lateness, seminars, grades, withdrawal, dormancy
/// and replication come and go on the way.
async fn reads_agree_with_folds_at_every_stage_of_a_history(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    let runner = runner(store, 3).await;
    views::spawn_all(&runner);
    let views =
        Views::new(runner.clone(), Duration::from_secs(30)).with_privacy(engine.privacy().clone());
    history::setup(&engine).await.unwrap();
    let p = |project: u8, ops: &[u8]| -> Vec<Step> {
        ops.iter()
            .map(|&op| Step::Project { project, op })
            .collect()
    };
    let innovations = |ops: std::ops::Range<u8>| -> Vec<Step> {
        ops.flat_map(|op| (0..5).map(move |innovation| Step::Innovation { innovation, op }))
            .collect()
    };
    let stages: Vec<Vec<Step>> = vec![
        // Four proposals wait for their mentors.
        [p(0, &[0]), p(1, &[0]), p(2, &[0]), p(3, &[0])].concat(),
        // Three start their workplace phase; evidence waits; the timer
        // flags what is past due. The innovations are implemented and go
        // dormant (the days of a stage's steps follow their order).
        [
            p(0, &[1, 2, 3, 4, 5]),
            p(1, &[1, 2, 3, 4, 5]),
            p(2, &[1, 2, 3, 4]),
            innovations(0..7),
        ]
        .concat(),
        // A plan change waits; evidence is returned; project 1 passes its
        // final seminar, is graded, and its adoption waits.
        [p(2, &[20]), p(0, &[7]), p(1, &[6, 8, 9, 10, 11, 12])].concat(),
        // Decisions: adoption endorsed, plan change approved, a withdrawal,
        // a deferral; innovations go on.
        [p(1, &[13, 17]), p(2, &[21]), p(3, &[14]), p(0, &[15])].concat(),
        // Dormant ones resume, on days after they went dormant;
        // replications, evidence and awards.
        [
            vec![Step::Project { project: 3, op: 22 }; 60],
            innovations(7..11),
        ]
        .concat(),
        // Corrections and a resumption.
        [p(1, &[18, 19]), p(0, &[16, 5, 6, 8, 9])].concat(),
    ];
    let managers = ProcessManagers::new(engine.clone());
    let mut seen = BTreeSet::new();
    for (stage, steps) in stages.iter().enumerate() {
        history::play(&engine, steps, &format!("s{stage}"))
            .await
            .unwrap();
        managers.run_once().await.unwrap();
        managers.tick_timers().await.unwrap();
        for name in runner.names() {
            caught_up(&runner, name).await;
        }
        let mut board: Vec<ProjectRow> = all(&views, "project_board").await;
        views.open_rows(&mut board).await.unwrap();
        for item in inbox_of(&board, Utc::now()) {
            seen.insert(format!("{:?}", item.kind));
        }
        if board.iter().any(|r| r.overdue_count() > 0) {
            seen.insert("late".to_owned());
        }
        let register: Vec<InnovationRow> = all(&views, "innovation_register").await;
        for row in &register {
            if row.dormant {
                seen.insert("dormant".to_owned());
            }
            if row.adopters > 0 {
                seen.insert("replicated".to_owned());
            }
        }
        indexed_reads_equal_full_folds(&views).await;
    }
    for check in check_all(&runner).await.unwrap() {
        assert!(check.matches(), "{check:?}");
    }
    // The history met every kind of waiting, lateness, dormancy and replication.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            "AdoptionEndorsement",
            "MilestoneEvidence",
            "PlanChange",
            "Proposal",
            "dormant",
            "late",
            "replicated"
        ]
    );
    runner.shutdown();
}

/// Random histories (proptest) on both backends.
#[test]
fn reads_by_terms_and_counts_equal_folds_of_the_whole_view() {
    on_random_histories(
        "reads_by_terms_and_counts_equal_folds_of_the_whole_view",
        4,
        150,
        async |db, steps| reads_agree(db, steps).await,
    );
}

async fn a_forged_term_or_count_is_named_by_the_check(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    let steps: Vec<Step> = (0..8u8)
        .flat_map(|op| {
            [
                Step::Project { project: 0, op },
                Step::Project { project: 1, op },
            ]
        })
        .collect();
    history::play(&engine, &steps, "forge").await.unwrap();
    let runner = runner(store, 50).await;
    views::spawn_all(&runner);
    for name in runner.names() {
        caught_up(&runner, name).await;
    }
    let board = runner.documents("project_board").await.unwrap();
    let moved = &board[0].0;
    // Someone with database access moves a project to another mentor's
    // inbox behind the view's back, and changes a cohort's count.
    db.views_raw_sql(&format!(
        "UPDATE view_terms SET value = 'mentor-forged' WHERE view = 'project_board' AND name = 'mentor' AND key = '{moved}'; \
         UPDATE view_counts SET n = n + 5 WHERE view = 'project_board' AND name = 'state';"
    ))
    .await
    .unwrap();
    let checks = check_all(&runner).await.unwrap();
    let found: BTreeMap<String, DifferenceKind> = checks
        .iter()
        .find(|c| c.name == "project_board")
        .unwrap()
        .differences
        .iter()
        .map(|d| (d.key.clone(), d.kind))
        .collect();
    assert_eq!(
        found.get(moved.as_str()),
        Some(&DifferenceKind::Changed),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(k, kind)| k.starts_with("count state of ") && *kind == DifferenceKind::Changed),
        "{found:?}"
    );
    runner.shutdown();
}
