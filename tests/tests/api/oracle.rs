//! No oracle for strangers: whoever may not see a project or an innovation
//! gets, on every RPC that names it, word for word the answer they would
//! get for one that does not exist. And who reads what: BRIDA the whole
//! register but no change project; an OPD's officer the city's counts but
//! only their own OPD's innovations, dormant ones included.

use jejak_proto::v1 as pb;
use jejak_tests::{TestDb, on_both_backends};
use tonic::{Code, Status};

use super::refusals::{call_on, fixture, register};
use super::*;

on_both_backends!(
    strangers_learn_nothing_of_what_exists,
    brida_reads_the_register_and_officers_their_own_opd,
    a_list_of_projects_holds_what_the_caller_may_see_and_is_paged_by_key
);

/// Every RPC that names one project.
pub(crate) const ON_A_PROJECT: &[&str] = &[
    "Cohorts.StartWorkplacePhase",
    "ChangeProjects.ReviseProposal",
    "ChangeProjects.SubmitEvidence",
    "ChangeProjects.SubmitFinalReport",
    "ChangeProjects.Withdraw",
    "ChangeProjects.Comment",
    "ChangeProjects.MarkReadyForSeminar",
    "ChangeProjects.GetProject",
    "ChangeProjects.GetProjectDetail",
    "Mentoring.AgreeChangeArea",
    "Mentoring.ApproveActionPlan",
    "Mentoring.ReturnActionPlan",
    "Mentoring.ApproveMilestone",
    "Mentoring.ReturnMilestone",
    "Mentoring.EndorseAdoption",
    "Mentoring.RecordReplication",
    "Seminars.RecordProposalSeminar",
    "Seminars.RecordFinalSeminar",
    "Seminars.SetGrade",
    "Seminars.DeferGraduation",
    "Seminars.ResumeParticipant",
    "Evidence.Upload",
    "Evidence.Download",
    "ChangeProjects.RequestPlanChange",
    "Mentoring.ApprovePlanChange",
    "Mentoring.ReturnPlanChange",
    "Seminars.CorrectProposalSeminar",
    "Seminars.CorrectFinalSeminar",
    "Seminars.CorrectGrade",
];

/// Every RPC that names one innovation.
pub(crate) const ON_AN_INNOVATION: &[&str] = &[
    "Innovations.JudgeFeasibility",
    "Innovations.Designate",
    "Innovations.StartPilot",
    "Innovations.EvaluatePilot",
    "Innovations.Implement",
    "Innovations.MarkDormant",
    "Innovations.Resume",
    "Innovations.RecordReplication",
    "Innovations.AddEvidence",
    "Innovations.RecordAward",
    "Innovations.AmendProfile",
    "Innovations.GetInnovation",
    "Innovations.GetInnovationDetail",
];

/// People the project (of `participant`, `mentor`, … in the fixture) is
/// none of the business of.
pub(crate) const PROJECT_STRANGERS: &[&str] = &[
    "other-participant",
    "other-mentor",
    "other-coach",
    "other-examiner",
    "other-organizer",
    "officer",
    "admin",
];

/// People the health office's innovation is none of the business of (the
/// officer is DPMPTSP's).
pub(crate) const INNOVATION_STRANGERS: &[&str] =
    &["officer", "participant", "mentor", "organizer", "admin"];

/// A code no participant of the cohort has: answered as a project the
/// caller may not see.
const MISSING_PROJECT: &str = "pka-2026-1/099";
const MISSING_INNOVATION: &str = "inv-404";

/// The answer with the id it names taken out.
fn answer(result: Result<(), Status>, id: &str) -> (Code, String) {
    match result {
        Ok(()) => (Code::Ok, String::new()),
        Err(status) => (status.code(), status.message().replace(id, "ID")),
    }
}

async fn strangers_learn_nothing_of_what_exists(db: &TestDb) {
    let (app, tokens) = fixture(db).await;
    let before = app.app.engine().store().digest().await.unwrap();
    let pid = project_id();
    let mut cases = Vec::new();
    for rpc in ON_A_PROJECT {
        for who in PROJECT_STRANGERS {
            cases.push((*rpc, *who));
        }
    }
    cases.push(("ChangeProjects.GetProject", "brida"));
    for rpc in ON_AN_INNOVATION {
        for who in INNOVATION_STRANGERS {
            cases.push((*rpc, *who));
        }
    }
    for (rpc, who) in cases {
        let token = Some(tokens[who].as_str());
        let (existing, missing) = if rpc.starts_with("Innovations.") {
            (
                call_on(&app, rpc, token, &pid, "inv-1").await,
                call_on(&app, rpc, token, &pid, MISSING_INNOVATION).await,
            )
        } else {
            (
                call_on(&app, rpc, token, &pid, "inv-1").await,
                call_on(&app, rpc, token, MISSING_PROJECT, "inv-1").await,
            )
        };
        let existing = answer(
            existing,
            if rpc.starts_with("Innovations.") {
                "inv-1"
            } else {
                &pid
            },
        );
        let missing = answer(
            missing,
            if rpc.starts_with("Innovations.") {
                MISSING_INNOVATION
            } else {
                MISSING_PROJECT
            },
        );
        assert_eq!(
            existing, missing,
            "{rpc} as {who}: the same answer whether it exists or not"
        );
        assert_eq!(existing.0, Code::NotFound, "{rpc} as {who}: {existing:?}");
        for secret in ["m1", "proposed", "milestone", "state"] {
            assert!(
                !existing.1.contains(secret),
                "{rpc} as {who} learns '{secret}': {}",
                existing.1
            );
        }
    }
    assert_eq!(
        app.app.engine().store().digest().await.unwrap(),
        before,
        "no stranger wrote anything"
    );
    app.stop().await;
}

pub(super) fn dated(innovation_id: &str, on: &str, text: &str) -> pb::DatedRequest {
    pb::DatedRequest {
        request_id: String::new(),
        innovation_id: innovation_id.into(),
        on: on.into(),
        text: text.into(),
        expected_version: None,
    }
}

async fn brida_reads_the_register_and_officers_their_own_opd(db: &TestDb) {
    let (app, tokens) = fixture(db).await;
    // DPMPTSP's officer registers an innovation of their own and takes it
    // to dormancy; the health office's (inv-1) stays where it is.
    let officer = &tokens["officer"];
    let mut own = app.innovations(officer);
    own.register_innovation(pb::RegisterInnovationRequest {
        opd: "dpmptsp".into(),
        name: "Perizinan keliling".into(),
        unit: String::new(),
        sector: "penanaman modal".into(),
        ..register("inv-dp")
    })
    .await
    .expect("register");
    own.judge_feasibility(pb::JudgeFeasibilityRequest {
        request_id: String::new(),
        innovation_id: "inv-dp".into(),
        feasible: true,
        notes: "Layak".into(),
        expected_version: None,
    })
    .await
    .expect("feasible");
    own.designate(pb::DesignateRequest {
        request_id: String::new(),
        innovation_id: "inv-dp".into(),
        decree_number: "SK 1/2026".into(),
        decree_date: "2026-01-10".into(),
        expected_version: None,
    })
    .await
    .expect("designate");
    own.start_pilot(dated("inv-dp", "2026-01-15", ""))
        .await
        .expect("pilot");
    own.evaluate_pilot(dated("inv-dp", "2026-02-01", "Berhasil"))
        .await
        .expect("evaluate");
    own.implement(dated("inv-dp", "2026-02-10", "APBD 2026"))
        .await
        .expect("implement");
    let dormant = own
        .mark_dormant(dated("inv-dp", "2026-02-20", "Anggaran habis"))
        .await
        .expect("dormant")
        .into_inner();

    let list = |token: &str, dormant_only: bool| {
        let mut client = app.innovations(token);
        async move {
            let mut ids: Vec<String> = client
                .list_innovations(pb::ListInnovationsRequest {
                    dormant_only,
                    min_position: dormant.position,
                    ..Default::default()
                })
                .await
                .expect("a list")
                .into_inner()
                .innovations
                .into_iter()
                .map(|i| i.innovation_id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(
        list(officer, false).await,
        ["inv-dp"],
        "their own OPD's only"
    );
    assert_eq!(
        list(officer, true).await,
        ["inv-dp"],
        "dormant ones included"
    );
    assert_eq!(list(&tokens["brida"], false).await, ["inv-1", "inv-dp"]);
    assert_eq!(list(&tokens["brida"], true).await, ["inv-dp"]);

    // The counts are the city's, for the officer as for BRIDA.
    let stats = |token: &str| {
        let mut client = app.innovations(token);
        async move {
            client
                .get_statistics(pb::GetStatisticsRequest {
                    min_position: dormant.position,
                    ..Default::default()
                })
                .await
                .expect("statistics")
                .into_inner()
        }
    };
    let officers = stats(officer).await;
    let bridas = stats(&tokens["brida"]).await;
    assert_eq!(officers.total, 2, "city-wide: {officers:?}");
    assert_eq!(officers.by_stage, bridas.by_stage);
    assert_eq!(officers.by_opd, bridas.by_opd);
    assert_eq!(officers.by_stage.get("dormant"), Some(&1));
    // The lists name only their own OPD's innovations.
    assert_eq!(officers.dormant, ["inv-dp"]);
    assert_eq!(bridas.dormant, ["inv-dp"]);
    assert_eq!((officers.dormant_total, bridas.dormant_total), (1, 1));
    let health = app.officer_token("officer-2", "dinkes");
    let healths = stats(&health).await;
    assert_eq!(healths.total, 2);
    assert!(healths.dormant.is_empty(), "{healths:?}");
    assert_eq!(healths.dormant_total, 0, "their OPD's dormant, counted");
    assert_eq!(list(&health, false).await, ["inv-1"]);

    // BRIDA reads innovations, not change projects.
    let projects = app
        .projects(&tokens["brida"])
        .list_projects(pb::ListProjectsRequest::default())
        .await
        .expect("a list")
        .into_inner();
    assert!(projects.projects.is_empty(), "{projects:?}");
    let project = app
        .projects(&tokens["brida"])
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: 0,
        })
        .await
        .expect_err("not BRIDA's to read");
    assert_eq!(project.code(), Code::NotFound);
    // The auditor reads both.
    assert_eq!(list(&tokens["auditor"], false).await, ["inv-1", "inv-dp"]);
    app.projects(&tokens["auditor"])
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: 0,
        })
        .await
        .expect("the auditor reads every project");
    app.stop().await;
}

async fn a_list_of_projects_holds_what_the_caller_may_see_and_is_paged_by_key(db: &TestDb) {
    let (app, tokens) = fixture(db).await;
    let list = |token: &str, request: pb::ListProjectsRequest| {
        let mut client = app.projects(token);
        async move { client.list_projects(request).await.map(|r| r.into_inner()) }
    };
    // Each role reads its own projects, read by their terms (ADR 0033);
    // a stranger and a role that reads no projects read an empty list.
    let mut id = String::new();
    for who in [
        "participant",
        "mentor",
        "coach",
        "examiner",
        "organizer",
        "auditor",
    ] {
        let page = list(&tokens[who], pb::ListProjectsRequest::default())
            .await
            .expect("a list");
        let codes: Vec<String> = page.projects.iter().map(|p| p.code.clone()).collect();
        assert_eq!(codes, [project_id()], "{who}");
        id.clone_from(&page.projects[0].project_id);
        assert!(page.next_page_token.is_empty(), "{who}: one page");
    }
    for who in [
        "other-participant",
        "other-mentor",
        "other-coach",
        "other-examiner",
        "other-organizer",
        "brida",
        "officer",
        "admin",
    ] {
        let page = list(&tokens[who], pb::ListProjectsRequest::default())
            .await
            .expect("a list");
        assert!(page.projects.is_empty(), "{who}: {page:?}");
    }
    // A mentor asking for another mentor's projects reads none of them.
    let page = list(
        &tokens["other-mentor"],
        pb::ListProjectsRequest {
            mentor: "mentor-1".into(),
            ..Default::default()
        },
    )
    .await
    .expect("a list");
    assert!(page.projects.is_empty(), "{page:?}");
    // Pages are continued after a key; a token this server did not give
    // out (an offset, as lists once had) is refused, saying what to do.
    let refused = list(
        &tokens["auditor"],
        pb::ListProjectsRequest {
            page: Some(pb::PageRequest {
                page_size: 1,
                page_token: "1".into(),
            }),
            ..Default::default()
        },
    )
    .await
    .expect_err("a foreign token");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("empty token"), "{refused:?}");
    let after = list(
        &tokens["auditor"],
        pb::ListProjectsRequest {
            page: Some(pb::PageRequest {
                page_size: 1,
                page_token: format!("after:{id}"),
            }),
            ..Default::default()
        },
    )
    .await
    .expect("the page after the last");
    assert!(after.projects.is_empty() && after.next_page_token.is_empty());
    app.stop().await;
}
