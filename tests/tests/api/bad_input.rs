//! Bad input on every write RPC: INVALID_ARGUMENT naming the field, and
//! nothing written.

use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::{Code, Status};

use super::*;

on_both_backends!(
    bad_input_on_every_write_rpc_is_named_and_writes_nothing,
    dates_nips_and_names_are_strict_and_errors_quote_little,
    bodies_that_do_not_decode_are_the_callers_mistake
);

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
            expected_version: None,
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
            legal_basis: String::new(),
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
                expected_version: None,
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
        expected_version: None,
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
                expected_version: None,
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
                expected_version: None,
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
        "invalid note:",
    );
    names(
        app.projects(&p.coach)
            .mark_ready_for_seminar(pb::MarkReadyRequest {
                expected_version: None,
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
            expected_version: None,
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
            expected_version: None,
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
            expected_version: None,
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
            expected_version: None,
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
            expected_version: None,
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
            expected_version: None,
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
            expected_version: None,
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
            expected_version: None,
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
                expected_version: None,
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
                expected_version: None,
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
            expected_version: None,
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
            legal_basis: String::new(),
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
        expected_version: None,
        request_id: "d".into(),
        innovation_id: "inv-1".into(),
        on: on.into(),
        text: text.into(),
    };
    names(
        i.judge_feasibility(pb::JudgeFeasibilityRequest {
            expected_version: None,
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
            expected_version: None,
            request_id: "d".into(),
            innovation_id: "inv-1".into(),
            decree_number: String::new(),
            decree_date: "2026-01-01".into(),
        })
        .await,
        "decree_number",
    );
    names(i.start_pilot(dated("2026-02-31", "")).await, "on");
    // The evaluation, budget line and reason are the request's `text`.
    names(
        i.evaluate_pilot(dated("2026-03-01", "")).await,
        "invalid text:",
    );
    names(i.implement(dated("2026-03-01", "")).await, "invalid text:");
    names(
        i.mark_dormant(dated("2026-03-01", "")).await,
        "invalid text:",
    );
    names(i.resume(dated("", "")).await, "on");
    names(
        i.record_replication(pb::InnovationReplicationRequest {
            expected_version: None,
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
            expected_version: None,
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
            expected_version: None,
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
            expected_version: None,
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
            expected_version: None,
            request_id: "big".into(),
            project_id: pid.clone(),
            proposal: Some(huge),
        })
        .await;
    assert!(
        matches!(refused, Err(ref s) if s.code() == Code::ResourceExhausted),
        "an oversized message: {refused:?}"
    );

    assert_eq!(
        app.app.engine().store().digest().await.unwrap(),
        before,
        "nothing was written"
    );
    app.stop().await;
}

/// INVALID_ARGUMENT whose `jejak-field` is exactly `field` and whose
/// message says `says`.
#[track_caller]
fn refuses(result: Result<tonic::Response<pb::WriteResult>, Status>, field: &str, says: &str) {
    match result {
        Err(status) if status.code() == Code::InvalidArgument => {
            assert_eq!(
                status
                    .metadata()
                    .get("jejak-field")
                    .map(|v| v.to_str().unwrap()),
                Some(field),
                "{status:?}"
            );
            assert!(
                status.message().contains(says),
                "'{}' does not say '{says}'",
                status.message()
            );
        }
        other => panic!("expected INVALID_ARGUMENT on {field}, got {other:?}"),
    }
}

async fn dates_nips_and_names_are_strict_and_errors_quote_little(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    proposed(&app, &p).await;
    let before = app.app.engine().store().digest().await.unwrap();
    let mut c = app.cohorts(&p.organizer);

    // Dates: strict ISO 8601, in a plausible range.
    for (date, says) in [
        ("2026-1-5", "write YYYY-MM-DD"),
        ("2026-01-5", "write YYYY-MM-DD"),
        ("26-01-05", "write YYYY-MM-DD"),
        ("2026/01/05", "write YYYY-MM-DD"),
        ("+2026-01-05", "write YYYY-MM-DD"),
        ("0000-01-05", "not a plausible date"),
        ("9999-12-31", "not a plausible date"),
    ] {
        refuses(
            c.open_cohort(pb::OpenCohortRequest {
                cohort_id: "strict-dates".into(),
                starts_on: date.into(),
                ..open_cohort()
            })
            .await,
            "starts_on",
            says,
        );
    }

    // A NIP's own dates: appointed at 18 or later, and not in the future
    // (the test clock stands at 2026-03-02).
    for (nip, says) in [
        ("200001012010011001", "before the 18th birthday"),
        ("200001012017121001", "before the 18th birthday"),
        ("199001012026041001", "in the future"),
    ] {
        let mut enrol = enrol();
        enrol.participant.as_mut().unwrap().nip = nip.into();
        refuses(c.enrol_participant(enrol).await, "participant.nip", says);
    }
    assert_eq!(
        app.app.engine().store().digest().await.unwrap(),
        before,
        "no refused date or NIP was written"
    );
    let mut at_eighteen = enrol();
    at_eighteen.participant.as_mut().unwrap().nip = "200001012018011001".into();
    c.enrol_participant(at_eighteen)
        .await
        .expect("appointed in the month of the 18th birthday");
    let before = app.app.engine().store().digest().await.unwrap();

    // Fields are named as on the wire.
    let mut goalless = proposal();
    goalless.goal_short_term = String::new();
    refuses(
        app.projects(&p.participant)
            .revise_proposal(pb::ReviseProposalRequest {
                request_id: String::new(),
                project_id: project_id(),
                proposal: Some(goalless),
                expected_version: None,
            })
            .await,
        "proposal.goal_short_term",
        "is required",
    );

    // A long input is quoted in part: the answer stays small.
    let long = "z".repeat(20_000);
    let mut c = app.cohorts(&p.organizer);
    for result in [
        c.open_cohort(pb::OpenCohortRequest {
            cohort_id: long.clone(),
            ..open_cohort()
        })
        .await,
        c.open_cohort(pb::OpenCohortRequest {
            cohort_id: "long-date".into(),
            ends_on: long.clone(),
            ..open_cohort()
        })
        .await,
    ] {
        let status = result.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().len() < 400,
            "{} bytes",
            status.message().len()
        );
        assert!(
            status.message().contains(&"z".repeat(100)),
            "{}",
            status.message()
        );
        assert!(
            !status.message().contains(&"z".repeat(101)),
            "{}",
            status.message()
        );
        assert!(
            status.message().contains("20000 characters"),
            "{}",
            status.message()
        );
    }

    assert_eq!(
        app.app.engine().store().digest().await.unwrap(),
        before,
        "nothing was written"
    );
    app.stop().await;
}

/// Sends `body` as the request of `path` and returns the status.
async fn raw(app: &jejak_tests::app::TestApp, token: &str, path: &str, body: Vec<u8>) -> Status {
    let mut grpc = tonic::client::Grpc::new(app.authed(Some(token)));
    grpc.ready().await.expect("the server takes calls");
    grpc.unary(
        tonic::Request::new(body),
        path.parse().unwrap(),
        super::fuzz::RawBytes,
    )
    .await
    .expect_err("refused")
}

async fn bodies_that_do_not_decode_are_the_callers_mistake(db: &TestDb) {
    use prost::Message as _;
    let app = spawn_app(db).await;
    let p = People::of(&app);
    proposed(&app, &p).await;
    let before = app.app.engine().store().digest().await.unwrap();
    let comment = "/jejak.v1.ChangeProjects/Comment";

    // A string that is not UTF-8: field 3 (`note`) holding 0xff 0xfe.
    let mut body = action("utf8").encode_to_vec();
    body.extend_from_slice(&[0x1a, 0x02, 0xff, 0xfe]);
    let status = raw(&app, &p.coach, comment, body).await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("UTF-8"), "{}", status.message());

    // Bytes that are no message at all.
    let status = raw(
        &app,
        &p.coach,
        comment,
        vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
    )
    .await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // A message over the size limit.
    let status = raw(&app, &p.coach, comment, vec![0u8; 5 * 1024 * 1024]).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    assert_eq!(app.app.engine().store().digest().await.unwrap(), before);
    app.stop().await;
}
