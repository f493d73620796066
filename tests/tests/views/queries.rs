use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use jejak_engine::domain::change_project::{ChangeProject, ProjectCommand as P};
use jejak_engine::domain::innovation::{Form, Innovation, InnovationCommand as I, Profile, Source};
use jejak_engine::domain::values::{InnovationId, OpdCode};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::Context;
use jejak_engine::store::{AppendRequest, ExpectedVersion, Metadata, NewEvent, StreamId};
use jejak_projections::WaitError;
use jejak_projections::views::{
    self, BoardFilter, Dormant, InboxKind, RegisterFilter, ViewError, Views, gini, statistics,
};
use jejak_tests::history::{self, Step};
use jejak_tests::{TestDb, on_both_backends};

use super::{caught_up, engine, runner};

on_both_backends!(
    statistics_match_figures_computed_by_hand,
    a_caller_reads_its_own_write,
    the_mentor_inbox_lists_what_waits_oldest_first,
    cohort_progress_and_activity_follow_the_history,
    activity_is_read_from_the_log_by_actor_from_any_position,
);

#[test]
fn the_gini_coefficient_is_zero_when_even_and_grows_with_concentration() {
    assert_eq!(gini(&[]), 0.0);
    assert_eq!(gini(&[0, 0, 0]), 0.0);
    assert!((gini(&[3, 3, 3]) - 0.0).abs() < 1e-12);
    // Sorted [0, 0, 2, 2, 6]: 2·(3·2 + 4·2 + 5·6) / (5·10) − 6/5 = 0.56.
    assert!((gini(&[6, 0, 2, 0, 2]) - 0.56).abs() < 1e-12);
    // One of four has everything: (n−1)/n = 0.75.
    assert!((gini(&[0, 0, 0, 8]) - 0.75).abs() < 1e-12);
}

async fn register(engine: &jejak_engine::engine::Engine, id: &str, opd: &str, source: Source) {
    let profile = Profile {
        name: format!("Inovasi {id}"),
        opd: OpdCode::parse(opd).unwrap(),
        unit: (source == Source::HealthCompetition).then(|| "Puskesmas Jombang".to_owned()),
        region: "Kota Cilegon".into(),
        source,
        initiator_type: "ASN".into(),
        form: Form::PublicService,
        digital: false,
        sector: "kesehatan".into(),
        sdgs: BTreeSet::new(),
        goal: "Tujuan".into(),
        benefit: "Manfaat".into(),
        budget: None,
        legal_basis: None,
    };
    let ctx = Context::new(
        Actor::new("brida-1", Role::BridaOfficer),
        format!("reg-{id}"),
    );
    let body = I::Register {
        innovation_id: InnovationId::parse(id).unwrap(),
        profile,
        origin: None,
    };
    engine.execute::<Innovation>(id, &ctx, body).await.unwrap();
}

async fn statistics_match_figures_computed_by_hand(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    let runner = runner(store, 100).await;
    views::spawn_all(&runner);
    let views = Views::new(runner.clone(), Duration::from_secs(10));
    // Ten innovations: six from the puskesmas of the health office, three
    // change projects (two DPMPTSP, one Dukcapil), one OPD initiative (Dukcapil).
    for i in 0..6 {
        register(
            &engine,
            &format!("pkm-{i}"),
            "dinkes",
            Source::HealthCompetition,
        )
        .await;
    }
    register(&engine, "cp-1", "dpmptsp", Source::ChangeProject).await;
    register(&engine, "cp-2", "dpmptsp", Source::ChangeProject).await;
    register(&engine, "cp-3", "disdukcapil", Source::ChangeProject).await;
    register(&engine, "opd-1", "disdukcapil", Source::OpdInitiative).await;
    let head = engine.store().digest().await.unwrap().position;
    let known: Vec<String> = ["dinkes", "dpmptsp", "disdukcapil", "bappeda", "dishub"]
        .map(String::from)
        .to_vec();
    let stats = views
        .statistics(&known, "Kota Cilegon", &Dormant::default(), Some(head))
        .await
        .unwrap();

    assert_eq!(stats.total, 10);
    let shares: Vec<(&str, u32, f64)> = stats
        .by_source
        .iter()
        .map(|s| (s.source.as_str(), s.count, s.percent))
        .collect();
    assert_eq!(
        shares,
        [
            ("health_competition", 6, 60.0),
            ("change_project", 3, 30.0),
            ("opd_initiative", 1, 10.0)
        ]
    );
    assert_eq!(stats.opds_without, ["bappeda", "dishub"]);
    assert!((stats.coverage - 0.6).abs() < 1e-12, "3 of 5 OPDs");
    assert!((stats.gini - 0.56).abs() < 1e-12, "counts 6, 2, 2, 0, 0");
    let dinkes = stats.by_opd.iter().find(|o| o.opd == "dinkes").unwrap();
    assert_eq!(
        (dinkes.total, dinkes.by_stage.get("proposed").copied()),
        (6, Some(6))
    );
    assert_eq!(stats.by_stage.get("proposed"), Some(&10));
    assert!(stats.dormant.is_empty() && stats.most_replicated.is_empty());

    let puskesmas = views
        .register(
            &RegisterFilter {
                source: Some("health_competition".into()),
                ..RegisterFilter::default()
            },
            None,
            500,
            None,
        )
        .await
        .unwrap()
        .rows;
    assert_eq!(puskesmas.len(), 6);
    assert_eq!(puskesmas[0].unit.as_deref(), Some("Puskesmas Jombang"));
    let rows = views
        .register(&RegisterFilter::default(), None, 500, None)
        .await
        .unwrap()
        .rows;
    let by_hand = statistics(&rows, &known.iter().cloned().collect());
    assert_eq!(by_hand, stats);
    // Pages of three, each after the last key of the one before, give the same rows.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = views
            .register(&RegisterFilter::default(), after.as_deref(), 3, None)
            .await
            .unwrap();
        assert!(page.rows.len() <= 3);
        paged.extend(page.rows);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, rows);
    // A filter that leaves rows out still fills whole pages.
    let first = views
        .register(
            &RegisterFilter {
                source: Some("health_competition".into()),
                ..RegisterFilter::default()
            },
            None,
            4,
            None,
        )
        .await
        .unwrap();
    assert_eq!(first.rows.len(), 4);
    assert!(first.next.is_some());
    runner.shutdown();
}

async fn a_caller_reads_its_own_write(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    let runner = runner(store, 100).await;
    views::spawn_all(&runner);
    let views = Views::new(runner.clone(), Duration::from_secs(10));
    history::setup(&engine).await.unwrap();
    history::play(&engine, &[Step::Project { project: 0, op: 0 }], "w")
        .await
        .unwrap();
    let id = history::project_id(&engine, 0).await;
    let outcome = engine
        .execute::<ChangeProject>(
            &id,
            &Context::new(Actor::new("mentor-0", Role::Mentor), "agree"),
            P::AgreeChangeArea,
        )
        .await
        .unwrap();
    let row = views
        .project(&id, Some(outcome.position))
        .await
        .unwrap()
        .expect("the project is on the board");
    assert!(
        row.change_area_agreed,
        "the write is visible right after it returned"
    );
    // Without a position, a read still waits (briefly) for what this server committed.
    let approved = engine
        .execute::<ChangeProject>(
            &id,
            &Context::new(Actor::new("mentor-0", Role::Mentor), "approve"),
            P::ApproveActionPlan {
                note: String::new(),
            },
        )
        .await
        .unwrap();
    assert!(approved.position > outcome.position);
    let fresh = views
        .project(&id, None)
        .await
        .unwrap()
        .expect("the project is on the board");
    assert!(
        fresh.action_plan_approved,
        "a read without a position sees the server's own writes"
    );
    let impatient = Views::new(runner.clone(), Duration::from_millis(50));
    match impatient.project(&id, Some(outcome.position + 1_000)).await {
        Err(ViewError::Wait(WaitError::Timeout {
            wanted, reached, ..
        })) => {
            assert_eq!(
                (wanted, reached),
                (outcome.position + 1_000, approved.position)
            );
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    runner.shutdown();
}

async fn the_mentor_inbox_lists_what_waits_oldest_first(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    let runner = runner(store, 100).await;
    views::spawn_all(&runner);
    let views = Views::new(runner.clone(), Duration::from_secs(10));
    history::setup(&engine).await.unwrap();
    // Project 0 (mentor-0) goes to the workplace phase and submits m1;
    // project 2 (mentor-0 too) is only proposed; project 1 belongs to mentor-1.
    let mut steps: Vec<Step> = (0..5).map(|op| Step::Project { project: 0, op }).collect();
    steps.push(Step::Project { project: 2, op: 0 });
    steps.push(Step::Project { project: 1, op: 0 });
    steps.push(Step::Project { project: 0, op: 5 });
    history::play(&engine, &steps, "i").await.unwrap();
    let head = engine.store().digest().await.unwrap().position;
    let inbox = views
        .inbox("mentor-0", Utc::now(), Some(head))
        .await
        .unwrap();
    let items: Vec<(InboxKind, &str, Option<&str>)> = inbox
        .iter()
        .map(|i| (i.kind, i.project_id.as_str(), i.milestone_id.as_deref()))
        .collect();
    let (first, third) = (
        history::project_id(&engine, 0).await,
        history::project_id(&engine, 2).await,
    );
    assert_eq!(
        items,
        [
            (InboxKind::Proposal, third.as_str(), None),
            (InboxKind::MilestoneEvidence, first.as_str(), Some("m1")),
        ]
    );
    assert!(inbox.windows(2).all(|w| w[0].since <= w[1].since));
    assert!(inbox.iter().all(|i| i.age_seconds >= 0));
    assert_eq!(
        views
            .inbox("mentor-1", Utc::now(), None)
            .await
            .unwrap()
            .len(),
        1
    );
    runner.shutdown();
}

async fn cohort_progress_and_activity_follow_the_history(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    let runner = runner(store, 100).await;
    views::spawn_all(&runner);
    let views = Views::new(runner.clone(), Duration::from_secs(10));
    history::setup(&engine).await.unwrap();
    // Project 1 (score 60) goes all the way; project 0 stays a proposal;
    // project 3 withdraws.
    let mut steps = Vec::new();
    for op in 0..14 {
        steps.push(Step::Project { project: 1, op });
    }
    steps.extend([0, 1, 2].map(|op| Step::Project { project: 0, op }));
    steps.push(Step::Project { project: 3, op: 0 });
    steps.push(Step::Project { project: 3, op: 14 });
    history::play(&engine, &steps, "c").await.unwrap();
    let head = engine.store().digest().await.unwrap().position;
    let progress = views
        .cohort_progress("pka-2026-1", Some(head))
        .await
        .unwrap();
    assert_eq!(progress.cohort.as_ref().map(|c| c.enrolled), Some(4));
    assert_eq!(progress.projects, 3);
    assert_eq!(progress.by_state.get("adopted"), Some(&1));
    assert_eq!(progress.by_state.get("proposed"), Some(&1));
    assert_eq!(progress.by_state.get("withdrawn"), Some(&1));
    assert_eq!(
        (
            progress.proposal_accepted,
            progress.final_passed,
            progress.final_failed
        ),
        (1, 1, 0)
    );
    assert_eq!(progress.grades.get("memuaskan"), Some(&1));

    let board = views
        .board(
            &BoardFilter {
                state: Some("adopted".into()),
                ..BoardFilter::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(board.len(), 1);
    let short = board[0].counts(jejak_engine::domain::values::Horizon::Short);
    assert_eq!((short.approved, short.submitted, short.total), (2, 0, 2));
    assert_eq!(
        board[0].next_due(),
        Some(chrono::NaiveDate::from_ymd_opt(2027, 2, 5).unwrap())
    );

    let mentor = views.activity("mentor-1", 0, 100, None).await.unwrap();
    assert!(
        mentor
            .iter()
            .all(|a| a.actor_id == "mentor-1" && a.actor_role == "mentor")
    );
    assert_eq!(
        mentor
            .iter()
            .filter(|a| a.event_type == "MilestoneApproved")
            .count(),
        2
    );
    let later = views
        .activity("mentor-1", mentor[1].position, 100, None)
        .await
        .unwrap();
    assert_eq!(later.len(), mentor.len() - 2, "pages after a position");
    assert_eq!(later[..], mentor[2..]);
    for status in runner.statuses() {
        let status = caught_up(&runner, &status.name).await;
        assert_eq!((status.lag_events, status.lag_seconds), (0, 0.0));
    }
    runner.shutdown();
}

/// Two people's activity interleaved with events of no person: read whole,
/// and a few rows at a time after every position, straight from the log
/// (no view runs).
async fn activity_is_read_from_the_log_by_actor_from_any_position(db: &TestDb) {
    let store = db.open().await;
    let runner = runner(store.clone(), 50).await;
    let views = Views::new(runner.clone(), Duration::from_millis(200));
    let mut mine = Vec::new();
    for n in 0..400u64 {
        // auditor-10's id begins with auditor-1's.
        let actor = ["auditor-1", "auditor-10", "system"][n as usize % 3];
        let mut metadata = Metadata::default();
        if actor != "system" {
            metadata.actor_id = Some(actor.into());
            metadata.actor_role = Some("auditor".into());
        }
        let written = store
            .append(
                AppendRequest::new(
                    StreamId::parse(format!("note-{}", n % 5)).unwrap(),
                    "note",
                    ExpectedVersion::Any,
                )
                .event(
                    NewEvent::new("Noted", serde_json::json!({ "n": n })).with_metadata(metadata),
                ),
            )
            .await
            .unwrap();
        if actor == "auditor-1" {
            mine.push(written.position);
        }
    }
    let head = store.digest().await.unwrap().position;
    let all = views
        .activity("auditor-1", 0, 10_000, Some(head))
        .await
        .unwrap();
    assert_eq!(all.iter().map(|r| r.position).collect::<Vec<_>>(), mine);
    assert!(all.iter().all(|r| r.actor_id == "auditor-1"
        && r.actor_role == "auditor"
        && r.event_type == "Noted"
        && r.stream_type == "note"));
    assert_eq!(
        views.activity("auditor-1", 0, 3, None).await.unwrap(),
        all[..3],
        "at most the limit"
    );
    assert!(
        views
            .activity("nobody", 0, 100, None)
            .await
            .unwrap()
            .is_empty()
    );
    for after in [0, mine[0], mine[64], mine[64] - 1, head] {
        let mut paged = Vec::new();
        let mut from = after;
        loop {
            let page = views.activity("auditor-1", from, 7, None).await.unwrap();
            let Some(last) = page.last() else { break };
            assert!(page.len() <= 7);
            from = last.position;
            paged.extend(page);
        }
        let expected: Vec<_> = all.iter().filter(|r| r.position > after).cloned().collect();
        assert_eq!(paged, expected, "after position {after}");
    }
    // A position the log does not hold yet is waited for, then refused.
    match views.activity("auditor-1", 0, 10, Some(head + 1)).await {
        Err(ViewError::Wait(WaitError::Timeout { wanted, .. })) => assert_eq!(wanted, head + 1),
        other => panic!("expected a timeout, got {other:?}"),
    }
    runner.shutdown();
}
