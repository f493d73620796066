//! Who may change the rules: workflow definitions have owners, cohorts pin
//! the version their projects run under, and only a cohort's organizer
//! moves it, while none of its projects has moved on.

use jejak_proto::v1 as pb;
use jejak_tests::app::{TestApp, spawn_app};
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(
    an_organizer_cannot_change_another_providers_rules,
    a_provider_keeps_rules_of_its_own,
    moving_a_cohort_is_its_organizers_recorded_command_until_a_project_moves_on,
);

const PKA: &str = include_str!("../../../workflows/change-project-pka.toml");

/// Version 2 of the shipped PKA workflow in which a participant approves
/// their own milestones: the attack of the issue.
fn self_approving_pka_v2() -> String {
    let v2 = PKA.replacen("version = 1", "version = 2", 1).replacen(
        "command = \"approve_milestone\"\nfrom = [\"piloted\", \"deferred\", \"adopted\", \"replicated\"]\nroles = [\"mentor\"]",
        "command = \"approve_milestone\"\nfrom = [\"piloted\", \"deferred\", \"adopted\", \"replicated\"]\nroles = [\"mentor\", \"participant\"]",
        1,
    );
    assert_ne!(
        v2,
        PKA.replacen("version = 1", "version = 2", 1),
        "the attack changes a rule"
    );
    v2
}

fn register(source: &str) -> pb::RegisterWorkflowRequest {
    pb::RegisterWorkflowRequest {
        request_id: String::new(),
        file_name: "rules.toml".into(),
        source: source.into(),
    }
}

fn code<T: std::fmt::Debug>(result: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

async fn project_workflow(app: &TestApp, token: &str, position: u64) -> String {
    app.projects(token)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: position,
        })
        .await
        .expect("the project")
        .into_inner()
        .workflow
}

async fn cohort_row(app: &TestApp, token: &str, cohort: &str, position: u64) -> pb::Cohort {
    app.cohorts(token)
        .list_cohorts(pb::ListCohortsRequest {
            page: None,
            min_position: position,
        })
        .await
        .expect("the cohorts")
        .into_inner()
        .cohorts
        .into_iter()
        .find(|c| c.cohort_id == cohort)
        .expect("the cohort is listed")
}

fn opened_by_b(id: &str) -> pb::OpenCohortRequest {
    pb::OpenCohortRequest {
        cohort_id: id.into(),
        provider: "Penyelenggara B".into(),
        ..open_cohort()
    }
}

async fn an_organizer_cannot_change_another_providers_rules(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let organizer_a = app.organizer_token("organizer-a", "penyelenggara-a");
    let organizer_b = app.organizer_token("organizer-1", "penyelenggara-b");

    // Provider B's cohort opens under the shipped PKA workflow, version 1.
    app.cohorts(&organizer_b)
        .open_cohort(opened_by_b(COHORT))
        .await
        .expect("B opens its cohort");
    app.cohorts(&organizer_b)
        .enrol_participant(enrol())
        .await
        .expect("B enrols");

    // The attack: provider A's organizer registers a version 2 of the
    // shipped workflow in which participants approve their own milestones.
    let attack = app
        .admin(&organizer_a)
        .register_workflow(register(&self_approving_pka_v2()))
        .await
        .expect_err("refused");
    assert_eq!(attack.code(), Code::PermissionDenied, "{attack:?}");
    assert!(
        attack.message().contains("belongs to global"),
        "{}",
        attack.message()
    );
    // Nor may an organizer whose token names no provider, nor B.
    for token in [&p.organizer, &organizer_b] {
        assert_eq!(
            code(
                app.admin(token)
                    .register_workflow(register(&self_approving_pka_v2()))
                    .await
            ),
            Code::PermissionDenied
        );
    }
    let listed = app
        .admin(&p.admin)
        .list_workflows(pb::ListWorkflowsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        !listed
            .workflows
            .iter()
            .any(|w| w.name == "change-project-pka" && w.version == 2),
        "nothing was registered"
    );

    // An operator may publish a new global version; B's cohort stays pinned.
    app.admin(&p.admin)
        .register_workflow(register(&PKA.replacen("version = 1", "version = 2", 1)))
        .await
        .expect("an operator registers a global version");
    let proposed = app
        .projects(&p.participant)
        .propose(propose())
        .await
        .expect("propose")
        .into_inner();
    assert_eq!(
        project_workflow(&app, &p.participant, proposed.position).await,
        "change-project-pka v1",
        "B's next project runs under B's pinned version, not the newest registered"
    );
    let row = cohort_row(&app, &organizer_b, COHORT, proposed.position).await;
    assert_eq!(
        (row.workflow.as_str(), row.workflow_version),
        ("change-project-pka", 1)
    );

    // A cohort opened now pins the newest, unless it names a version.
    let opened = app
        .cohorts(&organizer_b)
        .open_cohort(opened_by_b("pka-2026-2"))
        .await
        .expect("open")
        .into_inner();
    let row = cohort_row(&app, &organizer_b, "pka-2026-2", opened.position).await;
    assert_eq!(row.workflow_version, 2);
    let opened = app
        .cohorts(&organizer_b)
        .open_cohort(pb::OpenCohortRequest {
            workflow_version: 1,
            ..opened_by_b("pka-2026-3")
        })
        .await
        .expect("open at version 1")
        .into_inner();
    let row = cohort_row(&app, &organizer_b, "pka-2026-3", opened.position).await;
    assert_eq!(row.workflow_version, 1);
    let unknown = app
        .cohorts(&organizer_b)
        .open_cohort(pb::OpenCohortRequest {
            workflow_version: 9,
            ..opened_by_b("pka-2026-4")
        })
        .await
        .expect_err("no version 9");
    assert_eq!(unknown.code(), Code::InvalidArgument, "{unknown:?}");
    app.stop().await;
}

async fn a_provider_keeps_rules_of_its_own(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let organizer_a = app.organizer_token("organizer-a", "penyelenggara-a");
    let organizer_b = app.organizer_token("organizer-b", "penyelenggara-b");
    let own = PKA.replacen(
        "name = \"change-project-pka\"",
        "name = \"pka-penyelenggara-a\"",
        1,
    );
    let registered = app
        .admin(&organizer_a)
        .register_workflow(register(&own))
        .await
        .expect("A registers rules of its own under a name of its own")
        .into_inner();
    assert_eq!(registered.workflow.unwrap().version, 1);
    app.admin(&organizer_a)
        .register_workflow(register(&own.replacen("version = 1", "version = 2", 1)))
        .await
        .expect("A registers a new version of its own rules");
    // B may neither change them nor run a cohort under them; A may.
    let stolen = app
        .admin(&organizer_b)
        .register_workflow(register(&own.replacen("version = 1", "version = 3", 1)))
        .await
        .expect_err("refused");
    assert_eq!(stolen.code(), Code::PermissionDenied);
    assert!(
        stolen.message().contains("provider penyelenggara-a"),
        "{}",
        stolen.message()
    );
    let borrowed = app
        .cohorts(&organizer_b)
        .open_cohort(pb::OpenCohortRequest {
            workflow: "pka-penyelenggara-a".into(),
            ..open_cohort()
        })
        .await
        .expect_err("refused");
    assert_eq!(borrowed.code(), Code::PermissionDenied, "{borrowed:?}");
    // Nor may an operator change a provider's rules.
    assert_eq!(
        code(
            app.admin(&p.admin)
                .register_workflow(register(&own.replacen("version = 1", "version = 3", 1)))
                .await
        ),
        Code::PermissionDenied
    );
    let opened = app
        .cohorts(&organizer_a)
        .open_cohort(pb::OpenCohortRequest {
            cohort_id: "pka-a-1".into(),
            workflow: "pka-penyelenggara-a".into(),
            ..open_cohort()
        })
        .await
        .expect("A runs a cohort under its own rules")
        .into_inner();
    let row = cohort_row(&app, &organizer_a, "pka-a-1", opened.position).await;
    assert_eq!(
        (row.workflow.as_str(), row.workflow_version),
        ("pka-penyelenggara-a", 2)
    );
    let owners: Vec<(String, u32, String)> = app
        .admin(&p.admin)
        .list_workflows(pb::ListWorkflowsRequest {})
        .await
        .unwrap()
        .into_inner()
        .workflows
        .into_iter()
        .filter(|w| w.name == "pka-penyelenggara-a" || w.name == "change-project-pka")
        .map(|w| (w.name, w.version, w.owner))
        .collect();
    assert_eq!(
        owners,
        [
            ("change-project-pka".to_owned(), 1, "global".to_owned()),
            (
                "pka-penyelenggara-a".to_owned(),
                1,
                "provider penyelenggara-a".to_owned()
            ),
            (
                "pka-penyelenggara-a".to_owned(),
                2,
                "provider penyelenggara-a".to_owned()
            ),
        ]
    );
    // The owner is in the log: a server started on it knows it.
    let again = spawn_app(db).await;
    assert_eq!(
        code(
            again
                .admin(&organizer_b)
                .register_workflow(register(&own.replacen("version = 1", "version = 3", 1)))
                .await
        ),
        Code::PermissionDenied
    );
    again.stop().await;
    app.stop().await;
}

async fn moving_a_cohort_is_its_organizers_recorded_command_until_a_project_moves_on(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let moved_project_stream = proposed(&app, &p).await.stream_id;
    app.admin(&p.admin)
        .register_workflow(register(&PKA.replacen("version = 1", "version = 2", 1)))
        .await
        .expect("an operator registers version 2");
    let change = |version: u32| pb::ChangeCohortWorkflowRequest {
        request_id: format!("move-to-v{version}"),
        cohort_id: COHORT.into(),
        workflow: "change-project-pka".into(),
        version,
        expected_version: None,
    };
    let stranger = app.organizer_token("organizer-a", "penyelenggara-a");
    for token in [&stranger, &p.mentor, &p.participant, &p.admin] {
        assert_eq!(
            code(app.cohorts(token).change_cohort_workflow(change(2)).await),
            Code::PermissionDenied
        );
    }
    let unknown = app
        .cohorts(&p.organizer)
        .change_cohort_workflow(change(7))
        .await
        .expect_err("no version 7");
    assert_eq!(unknown.code(), Code::InvalidArgument, "{unknown:?}");

    let moved = app
        .cohorts(&p.organizer)
        .change_cohort_workflow(change(2))
        .await
        .expect("the organizer moves the cohort")
        .into_inner();
    assert_eq!(moved.events, ["CohortWorkflowChanged"]);
    assert_eq!(
        project_workflow(&app, &p.participant, moved.position).await,
        "change-project-pka v2",
        "the project still in 'proposed' moved with its cohort"
    );
    let row = cohort_row(&app, &p.organizer, COHORT, moved.position).await;
    assert_eq!(row.workflow_version, 2);
    let again = app
        .cohorts(&p.organizer)
        .change_cohort_workflow(change(2))
        .await
        .expect("a repeat")
        .into_inner();
    assert!(again.duplicate);
    // Recorded: who moved it, on the cohort and on the project.
    let stream = app
        .audit(&p.auditor)
        .read_stream(pb::ReadStreamRequest {
            stream_id: moved_project_stream.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        stream
            .events
            .iter()
            .any(|e| e.event_type == "WorkflowChanged"
                && e.metadata_json.contains("\"organizer-1\"")),
        "{:?}",
        stream
            .events
            .iter()
            .map(|e| &e.event_type)
            .collect::<Vec<_>>()
    );

    // Once a project has left 'proposed', the cohort keeps its version.
    let mentor = || app.mentoring(&p.mentor);
    mentor().agree_change_area(action("agree")).await.unwrap();
    mentor()
        .approve_action_plan(action("approve"))
        .await
        .unwrap();
    app.seminars(&p.examiner)
        .record_proposal_seminar(pb::ProposalSeminarRequest {
            request_id: "seminar".into(),
            project_id: project_id(),
            accepted: true,
            notes: String::new(),
            expected_version: None,
        })
        .await
        .unwrap();
    app.cohorts(&p.organizer)
        .start_workplace_phase(action("start"))
        .await
        .unwrap();
    let late = app
        .cohorts(&p.organizer)
        .change_cohort_workflow(change(1))
        .await
        .expect_err("refused");
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
    assert!(late.message().contains("piloted"), "{}", late.message());
    app.stop().await;
}
