//! Bad input on every write RPC: INVALID_ARGUMENT naming the field, and
//! nothing written.

use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::{Code, Status};

use super::*;

on_both_backends!(bad_input_on_every_write_rpc_is_named_and_writes_nothing);

#[track_caller]
fn names(result: Result<tonic::Response<pb::WriteResult>, Status>, field: &str) {
    match result {
        Err(status) if status.code() == Code::InvalidArgument => {
            assert!(
                status.message().contains(field),
                "'{}' does not name {field}",
                status.message()
            );
        }
        other => panic!("expected INVALID_ARGUMENT naming {field}, got {other:?}"),
    }
}

async fn bad_input_on_every_write_rpc_is_named_and_writes_nothing(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    proposed(&app, &p).await;
    app.innovations(&p.brida)
        .register_innovation(pb::RegisterInnovationRequest {
            request_id: "reg".into(),
            innovation_id: "inv-1".into(),
            name: "Posyandu Remaja".into(),
            opd: "dinkes".into(),
            unit: String::new(),
            region: "Kota Cilegon".into(),
            source: pb::Source::HealthCompetition as i32,
            initiator_type: "ASN".into(),
            form: pb::Form::PublicService as i32,
            digital: false,
            sector: "kesehatan".into(),
            sdgs: vec![3],
            goal: "Tujuan".into(),
            benefit: "Manfaat".into(),
            budget: 0,
        })
        .await
        .unwrap();
    let before = app.app.engine().store().digest().await.unwrap();
    let long = "x".repeat(300);
    let pid = project_id();

    // Cohorts.
    let mut c = app.cohorts(&p.organizer);
    names(
        c.open_cohort(pb::OpenCohortRequest {
            cohort_id: "pka 2026".into(),
            ..open_cohort()
        })
        .await,
        "cohort_id",
    );
    names(
        c.open_cohort(pb::OpenCohortRequest {
            cohort_id: "x1".into(),
            level: 0,
            ..open_cohort()
        })
        .await,
        "level",
    );
    names(
        c.open_cohort(pb::OpenCohortRequest {
            cohort_id: "x2".into(),
            starts_on: "2026-02-30".into(),
            ..open_cohort()
        })
        .await,
        "starts_on",
    );
    names(
        c.open_cohort(pb::OpenCohortRequest {
            cohort_id: "x3".into(),
            ends_on: "2026-01-01".into(),
            ..open_cohort()
        })
        .await,
        "ends_on",
    );
    names(
        c.open_cohort(pb::OpenCohortRequest {
            cohort_id: "x4".into(),
            provider: long.clone(),
            ..open_cohort()
        })
        .await,
        "provider",
    );
    names(
        c.open_cohort(pb::OpenCohortRequest {
            cohort_id: "x5".into(),
            request_id: "r\u{0}".into(),
            ..open_cohort()
        })
        .await,
        "request_id",
    );
    let mut bad_nip = enrol();
    bad_nip.participant.as_mut().unwrap().nip = "19871345201001100".into();
    names(c.enrol_participant(bad_nip).await, "participant.nip");
    names(
        c.enrol_participant(pb::EnrolParticipantRequest {
            participant: None,
            ..enrol()
        })
        .await,
        "participant",
    );
    names(
        c.reassign_staff(pb::EnrolParticipantRequest {
            examiners: vec![],
            ..enrol()
        })
        .await,
        "examiners",
    );
    names(
        c.start_workplace_phase(pb::ProjectAction {
            project_id: "no such id!".into(),
            ..action("x")
        })
        .await,
        "project_id",
    );

    // Change projects.
    let mut projects = app.projects(&p.participant);
    let mut out_of_order = proposal();
    out_of_order.milestones[1].due = "2026-08-01".into();
    names(
        projects
            .propose(pb::ProposeRequest {
                proposal: Some(out_of_order),
                ..propose()
            })
            .await,
        "proposal.milestones[1].due",
    );
    let mut not_a_date = proposal();
    not_a_date.milestones[0].due = "15/04/2026".into();
    names(
        projects
            .propose(pb::ProposeRequest {
                proposal: Some(not_a_date),
                ..propose()
            })
            .await,
        "proposal.milestones[0].due",
    );
    let mut no_horizon = proposal();
    no_horizon.milestones[2].horizon = 0;
    names(
        projects
            .propose(pb::ProposeRequest {
                proposal: Some(no_horizon),
                ..propose()
            })
            .await,
        "proposal.milestones[2].horizon",
    );
    names(
        projects
            .propose(pb::ProposeRequest {
                proposal: None,
                ..propose()
            })
            .await,
        "proposal",
    );
    let mut oversized = proposal();
    oversized.title = long.clone();
    names(
        projects
            .revise_proposal(pb::ReviseProposalRequest {
                request_id: "rev".into(),
                project_id: pid.clone(),
                proposal: Some(oversized),
            })
            .await,
        "proposal.title",
    );
    let mut bad_hash = file("a.pdf");
    bad_hash.sha256 = "1234".into();
    let evidence = |attachments: Vec<pb::Attachment>, milestone: &str| pb::SubmitEvidenceRequest {
        request_id: "ev".into(),
        project_id: pid.clone(),
        milestone_id: milestone.into(),
        attachments,
        note: String::new(),
    };
    names(
        projects
            .submit_evidence(evidence(vec![bad_hash], "m1"))
            .await,
        "attachments[0].sha256",
    );
    names(
        projects.submit_evidence(evidence(vec![], "m1")).await,
        "attachments",
    );
    names(
        projects
            .submit_evidence(evidence(vec![file("a.pdf")], "m 1"))
            .await,
        "milestone_id",
    );
    names(
        projects
            .submit_final_report(pb::SubmitFinalReportRequest {
                request_id: "rep".into(),
                project_id: pid.clone(),
                summary: "S".into(),
                attachments: vec![],
            })
            .await,
        "attachments",
    );
    names(
        projects
            .withdraw(pb::ReasonRequest {
                request_id: "w".into(),
                project_id: pid.clone(),
                reason: "  ".into(),
            })
            .await,
        "reason",
    );
    names(
        app.projects(&p.coach)
            .comment(pb::ProjectAction {
                note: String::new(),
                ..action("c")
            })
            .await,
        "text",
    );
    names(
        app.projects(&p.coach)
            .mark_ready_for_seminar(pb::MarkReadyRequest {
                request_id: "m".into(),
                project_id: pid.clone(),
                seminar: 0,
            })
            .await,
        "seminar",
    );

    // Mentoring.
    let mut m = app.mentoring(&p.mentor);
    names(
        m.return_action_plan(pb::ReasonRequest {
            request_id: "r".into(),
            project_id: pid.clone(),
            reason: String::new(),
        })
        .await,
        "reason",
    );
    names(
        m.approve_action_plan(pb::ProjectAction {
            note: long.repeat(20),
            ..action("a")
        })
        .await,
        "note",
    );
    names(
        m.return_milestone(pb::MilestoneDecision {
            request_id: "r".into(),
            project_id: pid.clone(),
            milestone_id: "m1".into(),
            reason: String::new(),
        })
        .await,
        "reason",
    );
    names(
        m.approve_milestone(pb::MilestoneDecision {
            request_id: "a".into(),
            project_id: pid.clone(),
            milestone_id: "m9".into(),
            reason: String::new(),
        })
        .await,
        "milestone_id",
    );
    names(
        m.endorse_adoption(pb::ProjectAction {
            project_id: String::new(),
            ..action("e")
        })
        .await,
        "project_id",
    );
    names(
        m.record_replication(pb::ProjectReplicationRequest {
            request_id: "r".into(),
            project_id: pid.clone(),
            adopter_opd: "dinas pendidikan".into(),
            adopter_region: "Kota Serang".into(),
            agreement: None,
        })
        .await,
        "adopter_opd",
    );
    names(
        m.record_replication(pb::ProjectReplicationRequest {
            request_id: "r".into(),
            project_id: pid.clone(),
            adopter_opd: "disdik".into(),
            adopter_region: "Kota Serang".into(),
            agreement: None,
        })
        .await,
        "agreement",
    );

    // Seminars.
    let mut s = app.seminars(&p.examiner);
    names(
        s.record_proposal_seminar(pb::ProposalSeminarRequest {
            request_id: "s".into(),
            project_id: pid.clone(),
            accepted: false,
            notes: String::new(),
        })
        .await,
        "notes",
    );
    names(
        s.record_final_seminar(pb::FinalSeminarRequest {
            request_id: "f".into(),
            project_id: pid.clone(),
            ratings: vec![],
            score: 250,
            notes: String::new(),
        })
        .await,
        "score",
    );
    let unrated = vec![pb::TargetRating {
        milestone_id: "m1".into(),
        rating: 0,
    }];
    names(
        s.record_final_seminar(pb::FinalSeminarRequest {
            request_id: "f".into(),
            project_id: pid.clone(),
            ratings: unrated,
            score: 80,
            notes: String::new(),
        })
        .await,
        "ratings[0].rating",
    );
    names(
        app.seminars(&p.organizer)
            .set_grade(pb::SetGradeRequest {
                request_id: "g".into(),
                project_id: pid.clone(),
                grade: "A+".into(),
            })
            .await,
        "grade",
    );
    names(
        app.seminars(&p.organizer)
            .defer_graduation(pb::ReasonRequest {
                request_id: "d".into(),
                project_id: pid.clone(),
                reason: String::new(),
            })
            .await,
        "reason",
    );

    // Innovations.
    let mut i = app.innovations(&p.brida);
    let register = |f: &dyn Fn(&mut pb::RegisterInnovationRequest)| {
        let mut r = pb::RegisterInnovationRequest {
            request_id: "reg2".into(),
            innovation_id: "inv-2".into(),
            name: "Nama".into(),
            opd: "dinkes".into(),
            unit: String::new(),
            region: "Kota Cilegon".into(),
            source: pb::Source::Community as i32,
            initiator_type: "Masyarakat".into(),
            form: pb::Form::Other as i32,
            digital: false,
            sector: "sosial".into(),
            sdgs: vec![1],
            goal: "Tujuan".into(),
            benefit: "Manfaat".into(),
            budget: 0,
        };
        f(&mut r);
        r
    };
    names(
        i.register_innovation(register(&|r| r.sdgs = vec![18]))
            .await,
        "sdgs",
    );
    names(
        i.register_innovation(register(&|r| r.source = 0)).await,
        "source",
    );
    names(
        i.register_innovation(register(&|r| r.form = 0)).await,
        "form",
    );
    names(
        i.register_innovation(register(&|r| r.name = String::new()))
            .await,
        "name",
    );
    names(
        i.register_innovation(register(&|r| r.opd = "Dinas Kesehatan".into()))
            .await,
        "opd",
    );
    names(
        i.register_innovation(register(&|r| r.innovation_id = "inv 2".into()))
            .await,
        "innovation_id",
    );
    let dated = |on: &str, text: &str| pb::DatedRequest {
        request_id: "d".into(),
        innovation_id: "inv-1".into(),
        on: on.into(),
        text: text.into(),
    };
    names(
        i.judge_feasibility(pb::JudgeFeasibilityRequest {
            request_id: "j".into(),
            innovation_id: "inv-1".into(),
            feasible: true,
            notes: long.repeat(20),
        })
        .await,
        "notes",
    );
    names(
        i.designate(pb::DesignateRequest {
            request_id: "d".into(),
            innovation_id: "inv-1".into(),
            decree_number: String::new(),
            decree_date: "2026-01-01".into(),
        })
        .await,
        "decree_number",
    );
    names(i.start_pilot(dated("2026-02-31", "")).await, "on");
    names(
        i.evaluate_pilot(dated("2026-03-01", "")).await,
        "evaluation",
    );
    names(i.implement(dated("2026-03-01", "")).await, "budget_line");
    names(i.mark_dormant(dated("2026-03-01", "")).await, "reason");
    names(i.resume(dated("", "")).await, "on");
    names(
        i.record_replication(pb::InnovationReplicationRequest {
            request_id: "r".into(),
            innovation_id: "inv-1".into(),
            adopter_opd: "disdik".into(),
            adopter_region: String::new(),
            agreement: None,
        })
        .await,
        "agreement",
    );
    names(
        i.add_evidence(pb::AddEvidenceRequest {
            request_id: "e".into(),
            innovation_id: "inv-1".into(),
            indicator: "regulasi".into(),
            attachment: None,
        })
        .await,
        "attachment",
    );
    let mut no_type = file("sk.pdf");
    no_type.media_type = "pdf".into();
    names(
        i.add_evidence(pb::AddEvidenceRequest {
            request_id: "e".into(),
            innovation_id: "inv-1".into(),
            indicator: "regulasi".into(),
            attachment: Some(no_type),
        })
        .await,
        "attachment.media_type",
    );
    names(
        i.record_award(pb::RecordAwardRequest {
            request_id: "a".into(),
            innovation_id: "inv-1".into(),
            title: "Top".into(),
            year: 1800,
            awarded_by: "Kemen".into(),
        })
        .await,
        "year",
    );

    // Admin.
    let bad_workflow = pb::RegisterWorkflowRequest {
        request_id: "w".into(),
        file_name: "mine.toml".into(),
        source: "name = \"x\"\nversion = 1\nkind = \"cohort\"".into(),
    };
    match app
        .admin(&p.organizer)
        .register_workflow(bad_workflow)
        .await
    {
        Err(status) if status.code() == Code::InvalidArgument => assert!(
            status.message().contains("mine.toml"),
            "{}",
            status.message()
        ),
        other => panic!("expected INVALID_ARGUMENT naming the file, got {other:?}"),
    }

    // Limits: a page too large, a request too large.
    let too_many = app
        .projects(&p.mentor)
        .list_projects(pb::ListProjectsRequest {
            page: Some(pb::PageRequest {
                page_size: 501,
                page_token: String::new(),
            }),
            ..Default::default()
        })
        .await;
    assert!(
        matches!(too_many, Err(ref s) if s.code() == Code::InvalidArgument && s.message().contains("page.page_size")),
        "{too_many:?}"
    );
    let mut huge = proposal();
    huge.problem = "x".repeat(5 * 1024 * 1024);
    let refused = app
        .projects(&p.participant)
        .revise_proposal(pb::ReviseProposalRequest {
            request_id: "big".into(),
            project_id: pid.clone(),
            proposal: Some(huge),
        })
        .await;
    assert!(
        matches!(refused, Err(ref s) if s.code() == Code::OutOfRange || s.code() == Code::ResourceExhausted),
        "{refused:?}"
    );

    assert_eq!(
        app.app.engine().store().digest().await.unwrap(),
        before,
        "nothing was written"
    );
    app.stop().await;
}
