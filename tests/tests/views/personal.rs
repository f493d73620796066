//! A participant's fields, and the names of their proposal's team and
//! stakeholders, are sealed wherever jejak keeps them — event payloads,
//! snapshots, view documents — and opened only when read; after their
//! erasure every read shows "[dihapus]", the chain verifies, and their NIP
//! and name and the names their proposal gave are in no database file
//! (ADR 0022, 0024).

use std::sync::Arc;
use std::time::Duration;

use jejak_engine::clock::SystemClock;
use jejak_engine::domain::change_project::{
    ChangeProject, ProjectCommand, ProjectState, TeamMember,
};
use jejak_engine::domain::cohort::{Cohort, CohortState};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::{CommandError, Context, Engine, EngineConfig};
use jejak_engine::privacy::{ERASED, MasterKey};
use jejak_engine::store::EventStore;
use jejak_projections::views::{self, BoardFilter, Views};
use jejak_tests::history::{self, Step, nip};
use jejak_tests::{TestDb, on_both_backends};

use super::{caught_up, dump, rebuild_all, runner};

on_both_backends!(a_participant_is_sealed_everywhere_and_reads_as_dihapus_after_erasure);

fn name(i: u8) -> String {
    format!("Peserta {i}")
}

/// The team member participant 0's revised proposal adds.
const REVISED_MEMBER: &str = "Anggota Revisi Tim";

/// The names a project's proposal gives its team and stakeholders.
fn proposal_names(state: &ProjectState) -> Vec<String> {
    let proposal = state.proposal.as_ref().unwrap();
    proposal
        .team
        .iter()
        .map(|m| m.name.clone())
        .chain(proposal.stakeholders.iter().map(|s| s.name.clone()))
        .collect()
}

async fn engine_with(store: EventStore, master: &MasterKey) -> Engine {
    Engine::open_with(
        store,
        Arc::new(SystemClock),
        EngineConfig {
            master_key: Some(master.clone()),
            // Small, so that cohorts and projects are snapshotted.
            snapshot_every: 2,
            ..EngineConfig::default()
        },
    )
    .await
    .unwrap()
}

fn enrolled(cohort: &CohortState, i: u8) -> jejak_engine::domain::cohort::Participant {
    cohort
        .enrollments
        .values()
        .find(|e| e.participant.name == name(i) || e.ordinal == u32::from(i) + 1)
        .unwrap()
        .participant
        .clone()
}

async fn cohort(engine: &Engine) -> CohortState {
    engine
        .get::<Cohort>("pka-2026-1")
        .await
        .unwrap()
        .unwrap()
        .state
}

/// The rows of `sql`, as text.
async fn texts(store: &EventStore, sql: &str) -> Vec<String> {
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        (_, Some(pool)) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        _ => unreachable!("a store is on one backend"),
    }
}

async fn a_participant_is_sealed_everywhere_and_reads_as_dihapus_after_erasure(db: &TestDb) {
    let store = db.open().await;
    let master = MasterKey::generate();
    let engine = engine_with(store.clone(), &master).await;
    let runner = runner(store.clone(), 100).await;
    views::spawn_all(&runner);
    let views =
        Views::new(runner.clone(), Duration::from_secs(30)).with_privacy(engine.privacy().clone());
    history::setup(&engine).await.unwrap();
    // Participants 0 and 2 propose and go on, 0 revising the proposal
    // first with one more team member; 1 and 3 only enrol.
    let steps = |ops: std::ops::Range<u8>| -> Vec<Step> {
        [0u8, 2]
            .into_iter()
            .flat_map(|project| ops.clone().map(move |op| Step::Project { project, op }))
            .collect()
    };
    history::play(&engine, &steps(0..1), "sealed")
        .await
        .unwrap();
    let project = history::project_id(&engine, 0).await;
    let mut revised = history::proposal(0);
    revised.team.push(TeamMember {
        name: REVISED_MEMBER.into(),
        role: "Anggota".into(),
    });
    let participant_0 = enrolled(&cohort(&engine).await, 0).person;
    let written = engine
        .execute::<ChangeProject>(
            &project,
            &Context::new(
                Actor::new(participant_0.as_str(), Role::Participant),
                "revise-0",
            ),
            ProjectCommand::ReviseProposal { proposal: revised },
        )
        .await
        .unwrap();
    assert_eq!(written.events, ["ProposalRevised"]);
    history::play(&engine, &steps(1..6), "sealed-on")
        .await
        .unwrap();
    let project_2 = history::project_id(&engine, 2).await;
    let project_state = |engine: &Engine, id: &str| {
        let (engine, id) = (engine.clone(), id.to_owned());
        async move {
            engine
                .get::<ChangeProject>(&id)
                .await
                .unwrap()
                .unwrap()
                .state
        }
    };
    // The proposal's names, and every secret of participant `i`.
    let secrets = |i: u8| {
        let mut all = vec![
            nip(i),
            name(i),
            history::team_member(i),
            history::stakeholder(i),
        ];
        if i == 0 {
            all.push(REVISED_MEMBER.to_owned());
        }
        all
    };

    // Folds open the fields.
    let before = cohort(&engine).await;
    for i in 0..4 {
        assert_eq!(enrolled(&before, i).name, name(i));
        assert_eq!(enrolled(&before, i).nip.as_str(), nip(i));
    }
    assert_eq!(
        proposal_names(&project_state(&engine, &project).await),
        [
            history::team_member(0),
            REVISED_MEMBER.to_owned(),
            history::stakeholder(0)
        ]
    );
    // No payload, snapshot or view document holds them.
    let events = store.read_all(0, 10_000).await.unwrap();
    let snapshots = texts(&store, "SELECT state FROM snapshots").await;
    assert!(
        snapshots.iter().any(|s| s.contains("\"sealed\"")),
        "the cohort and projects were snapshotted, sealed: {snapshots:?}"
    );
    assert!(
        snapshots.iter().any(|s| s.contains("\"names\"")),
        "the projects' proposals were snapshotted with their names sealed: {snapshots:?}"
    );
    caught_up(&runner, "project_board").await;
    let documents: Vec<String> = dump(&runner)
        .await
        .into_values()
        .flatten()
        .map(|(_, doc)| doc)
        .collect();
    let stored = events
        .iter()
        .map(|e| e.payload.clone())
        .chain(snapshots)
        .chain(documents);
    for text in stored {
        for i in 0..4 {
            for secret in secrets(i) {
                assert!(!text.contains(&secret), "{secret} in {text}");
            }
            assert!(!text.contains("Kepala Seksi"), "{text}");
        }
    }
    // A read opens them.
    let row = views.project(&project, None).await.unwrap().unwrap();
    assert_eq!(
        (row.participant_name.as_str(), row.participant_nip.as_str()),
        (name(0).as_str(), nip(0).as_str())
    );
    assert_eq!(row.position, "Kepala Seksi");
    // On a cold cache, a fold over many people and a list of many rows
    // each fetch their keys in one query, not one per person.
    let cold = engine_with(db.open().await, &master).await;
    assert_eq!(cold.privacy().key_lookups(), 0);
    for i in 0..4 {
        assert_eq!(enrolled(&cohort(&cold).await, i).name, name(i));
    }
    assert_eq!(
        cold.privacy().key_lookups(),
        1,
        "the cohort's 4 participants"
    );
    let cold = engine_with(db.open().await, &master).await;
    let rows = Views::new(runner.clone(), Duration::from_secs(30))
        .with_privacy(cold.privacy().clone())
        .board(&BoardFilter::default(), None)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.participant_name != ERASED));
    assert_eq!(cold.privacy().key_lookups(), 1, "the board's 2 rows");

    let head = store.digest().await.unwrap();
    let operator = |request: &str| Context::new(Actor::new("op-1", Role::Admin), request);
    for i in [0u8, 1] {
        engine
            .erase_person(
                &operator(&format!("erase-{i}")),
                enrolled(&before, i).person.as_str(),
                "UU 27/2022 Pasal 8",
            )
            .await
            .unwrap();
    }

    // Folds, here and in a process started afresh, read "[dihapus]".
    let fresh = engine_with(db.open().await, &master).await;
    for engine in [&engine, &fresh] {
        let after = cohort(engine).await;
        for i in [0u8, 1] {
            let p = enrolled(&after, i);
            assert_eq!(
                (p.name.as_str(), p.nip.as_str(), p.position.as_str()),
                (ERASED, ERASED, ERASED)
            );
        }
        for i in [2u8, 3] {
            assert_eq!(enrolled(&after, i).name, name(i));
        }
        let state = project_state(engine, &project).await;
        assert_eq!(state.participant().unwrap().name, ERASED);
        assert_eq!(proposal_names(&state), [ERASED; 3]);
        assert_eq!(
            proposal_names(&project_state(engine, &project_2).await),
            [history::team_member(2), history::stakeholder(2)]
        );
    }
    // Views read "[dihapus]" at once, and after a rebuild.
    for rebuilt in [false, true] {
        if rebuilt {
            rebuild_all(&runner).await;
        }
        let rows = views.board(&BoardFilter::default(), None).await.unwrap();
        assert_eq!(rows.len(), 2);
        for row in rows {
            if row.project_id == project {
                assert_eq!(row.participant_name, ERASED);
                assert_eq!(row.participant_nip, ERASED);
            } else {
                assert_eq!(row.participant_name, name(2));
            }
        }
    }
    for check in views::check_all(&runner).await.unwrap() {
        assert!(
            check.differences.is_empty() && check.failed.is_none(),
            "{check:?}"
        );
    }
    // Nothing is recorded of an erased person again: participant 1 cannot
    // propose, and is told why.
    let refused = history::play(&engine, &[Step::Project { project: 1, op: 0 }], "late").await;
    let participant_1 = enrolled(&cohort(&engine).await, 1);
    assert_eq!(participant_1.name, ERASED);
    match refused {
        Ok(0) | Err(_) => {}
        other => panic!("an erased participant proposed: {other:?}"),
    }
    let stream = jejak_engine::engine::stream_of::<ChangeProject>(
        &jejak_engine::domain::values::ProjectId::for_participant(
            &jejak_engine::domain::values::CohortId::parse("pka-2026-1").unwrap(),
            &participant_1.person,
        )
        .to_string(),
    )
    .unwrap();
    assert!(
        store
            .read_stream_after(&stream, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let err = engine
        .execute::<ChangeProject>(
            stream.as_str().strip_prefix("change_project-").unwrap(),
            &Context::new(
                Actor::new(participant_1.person.as_str(), Role::Participant),
                "late-2",
            ),
            jejak_engine::domain::change_project::ProjectCommand::Propose {
                cohort: cohort(&engine).await.facts.unwrap(),
                enrollment: cohort(&engine)
                    .await
                    .enrollments
                    .get(&participant_1.person)
                    .unwrap()
                    .clone(),
                proposal: history::proposal(1),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::Domain(_)), "{err:?}");
    assert!(err.to_string().contains("was erased"), "{err}");

    // The chain verifies and still leads to the digest taken before.
    let report = store.verify(1, None, Some(head)).await.unwrap();
    assert!(report.is_intact(), "{report:?}");

    // Their NIP and name are in no file: log, snapshots, views, index, keys.
    let Some(files) = jejak_tests::files_of(
        db,
        &["events", "snapshots", "view_docs", "people", "person_keys"],
    )
    .await
    else {
        return;
    };
    for i in [0u8, 1] {
        for secret in secrets(i) {
            assert!(
                !jejak_tests::holds(&files, secret.as_bytes()),
                "{secret} is in {files:?}"
            );
        }
    }
}
