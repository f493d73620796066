//! A project's page (`ProjectDetail`, ADR 0028) is folded on read from
//! its stream: for random histories it agrees with the decider's own fold
//! (milestones, state, proposal, grade), lists every submission of
//! evidence and every decision in log order, and reads "[dihapus]" for
//! the proposal's names once the participant is erased.

use std::sync::Arc;

use jejak_engine::clock::SystemClock;
use jejak_engine::domain::change_project::{ChangeProject, ProjectEvent};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::{Context, Engine, EngineConfig};
use jejak_engine::privacy::{ERASED, MasterKey};
use jejak_projections::views::ProjectDetail;
use jejak_tests::history::{self, Step};
use jejak_tests::{TestDb, on_both_backends};

on_both_backends!(a_project_page_agrees_with_the_deciders_fold_and_forgets_an_erased_participant);

async fn a_project_page_agrees_with_the_deciders_fold_and_forgets_an_erased_participant(
    db: &TestDb,
) {
    let store = db.open().await;
    let engine = Engine::open_with(
        store,
        Arc::new(SystemClock),
        EngineConfig {
            master_key: Some(MasterKey::generate()),
            ..EngineConfig::default()
        },
    )
    .await
    .unwrap();
    history::setup(&engine).await.unwrap();
    // Every move of the shipped lifecycle on two projects, in turn.
    let steps: Vec<Step> = (0u8..19)
        .flat_map(|op| [0u8, 1].map(|project| Step::Project { project, op }))
        .collect();
    history::play(&engine, &steps, "page").await.unwrap();
    for project in [0u8, 1] {
        let id = history::project_id(&engine, project).await;
        let history = engine.history::<ChangeProject>(&id).await.unwrap();
        let page = ProjectDetail::fold(&history).expect("the project exists");
        let state = engine.get::<ChangeProject>(&id).await.unwrap().unwrap();
        assert_eq!(page.version, state.version);
        assert_eq!(Some(page.state.clone()), state.state.lifecycle);
        assert_eq!(page.proposal, state.state.proposal);
        assert_eq!(page.grade.as_ref().map(|g| g.grade), state.state.grade);
        for m in &page.milestones {
            let folded = &state.state.milestones[&m.plan.id];
            assert_eq!((m.status, m.overdue), (folded.status, folded.overdue));
            let evidence: Vec<_> = m
                .submissions
                .iter()
                .flat_map(|s| s.attachments.clone())
                .collect();
            assert_eq!(evidence, folded.evidence, "{}", m.plan.id);
        }
        // A note per decision, comment and step, oldest first, stamped
        // with the actor the log names.
        let decided = history
            .iter()
            .filter(|r| !matches!(r.event, ProjectEvent::StateChanged { .. }))
            .filter(|r| !matches!(r.event, ProjectEvent::ProjectProposed { .. }))
            .count();
        assert_eq!(page.notes.len(), decided);
        assert!(
            page.notes
                .windows(2)
                .all(|w| w[0].stamp.at <= w[1].stamp.at)
        );
        assert!(page.notes.iter().all(|n| !n.stamp.role.is_empty()));
        // The history goes far: seminars held, evidence submitted.
        assert!(!page.proposal_seminars.is_empty(), "{page:#?}");
        assert!(
            page.milestones.iter().any(|m| !m.submissions.is_empty()),
            "{page:#?}"
        );
    }

    // Erased, the participant's proposal names read "[dihapus]".
    let id = history::project_id(&engine, 0).await;
    let before = ProjectDetail::fold(&engine.history::<ChangeProject>(&id).await.unwrap()).unwrap();
    let names = |d: &ProjectDetail| -> Vec<String> {
        let p = d.proposal.as_ref().unwrap();
        p.team
            .iter()
            .map(|m| m.name.clone())
            .chain(p.stakeholders.iter().map(|s| s.name.clone()))
            .collect()
    };
    assert!(names(&before).contains(&history::team_member(0)));
    let person = engine
        .get::<jejak_engine::domain::cohort::Cohort>("pka-2026-1")
        .await
        .unwrap()
        .unwrap()
        .state
        .enrollments
        .values()
        .find(|e| e.participant.nip.as_str() == history::nip(0))
        .unwrap()
        .participant
        .person
        .clone();
    engine
        .erase_person(
            &Context::new(Actor::new("op-1", Role::Admin), "erase-0"),
            person.as_str(),
            "UU 27/2022 Pasal 8",
        )
        .await
        .unwrap();
    let after = ProjectDetail::fold(&engine.history::<ChangeProject>(&id).await.unwrap()).unwrap();
    assert!(
        names(&after).iter().all(|n| n == ERASED),
        "{:?}",
        names(&after)
    );
    assert_eq!(after.notes, before.notes);
}
