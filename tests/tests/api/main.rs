//! jejak over real gRPC on 127.0.0.1:0, against SQLite and PostgreSQL.

mod backdating;
mod bad_input;
mod city_stats;
mod delivery;
mod evidence;
mod fuzz;
mod import;
mod journey;
mod journeys;
mod lifecycle;
mod limits;
mod notifications;
mod oracle;
mod people;
mod portal;
mod portal_browser;
mod portal_oidc;
mod portal_reports;
mod privacy;
mod project_page;
mod proofs;
mod refusals;
mod reports;
mod requests;
mod rules;
mod tls;
mod tokens;
mod units;

use chrono::{DateTime, Utc};
use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_server::auth::{Grant, OCCURRED_AT_HEADER};
use jejak_tests::app::TestApp;
use std::time::Duration;

pub const NIP: &str = "198703152010011003";
pub const COHORT: &str = "pka-2026-1";

/// The participant's project, named by its code: the cohort and their
/// enrolment number (they are the cohort's first). Accepted wherever a
/// project id is.
pub fn project_id() -> String {
    format!("{COHORT}/001")
}

/// The project id a write names by its stream (an opaque UUID).
pub fn id_of(written: &pb::WriteResult) -> String {
    written
        .stream_id
        .strip_prefix("change_project-")
        .expect("a change project's stream")
        .to_owned()
}

/// The people of a cohort, with their tokens.
#[derive(Debug)]
pub struct People {
    pub organizer: String,
    pub participant: String,
    pub mentor: String,
    pub coach: String,
    pub examiner: String,
    pub brida: String,
    pub officer: String,
    pub auditor: String,
    pub admin: String,
}

impl People {
    pub fn of(app: &TestApp) -> Self {
        Self {
            organizer: app.token(Role::Organizer, "organizer-1"),
            participant: app.token(Role::Participant, NIP),
            mentor: app.token(Role::Mentor, "mentor-1"),
            coach: app.token(Role::Coach, "coach-1"),
            examiner: app.token(Role::Examiner, "examiner-1"),
            brida: app.token(Role::BridaOfficer, "brida-1"),
            officer: app.officer_token("officer-1", "dpmptsp"),
            auditor: app.token(Role::Auditor, "insp-1"),
            admin: app.token(Role::Admin, "ops-1"),
        }
    }
}

pub fn file(name: &str) -> pb::Attachment {
    pb::Attachment {
        sha256: "ab".repeat(32),
        uri: format!("https://arsip.cilegon.example/{name}"),
        name: name.into(),
        media_type: "application/pdf".into(),
        ..pb::Attachment::default()
    }
}

/// Adds the OPDs `opds` (code, name) to the region, as its operator.
pub async fn add_opds(app: &TestApp, admin: &str, opds: &[(&str, &str)]) {
    for (code, name) in opds {
        app.admin(admin)
            .add_unit(pb::AddUnitRequest {
                request_id: format!("unit-{code}"),
                unit: Some(pb::Unit {
                    code: (*code).into(),
                    name: (*name).into(),
                    kind: "opd".into(),
                    parent: String::new(),
                }),
            })
            .await
            .unwrap();
    }
}

/// `Cohorts.FindParticipant` by NIP, as `token`.
pub async fn find(
    app: &TestApp,
    token: &str,
    nip: &str,
) -> Result<pb::FindParticipantResponse, tonic::Status> {
    app.cohorts(token)
        .find_participant(pb::FindParticipantRequest {
            nip: nip.into(),
            cohort_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

pub fn open_cohort() -> pb::OpenCohortRequest {
    pb::OpenCohortRequest {
        expected_version: None,
        request_id: String::new(),
        cohort_id: COHORT.into(),
        level: pb::TrainingLevel::Pka as i32,
        provider: "BPSDM Provinsi Banten".into(),
        year: 2026,
        number: 1,
        starts_on: "2026-03-01".into(),
        ends_on: "2026-06-30".into(),
        workflow: String::new(),
        workflow_version: 0,
    }
}

pub fn enrol() -> pb::EnrolParticipantRequest {
    pb::EnrolParticipantRequest {
        expected_version: None,
        request_id: String::new(),
        cohort_id: COHORT.into(),
        participant: Some(pb::ParticipantInfo {
            nip: NIP.into(),
            name: "Siti Rahmawati".into(),
            position: "Kepala Bidang Pelayanan Perizinan".into(),
            opd: "dpmptsp".into(),
        }),
        mentor: "mentor-1".into(),
        coach: "coach-1".into(),
        examiners: vec!["examiner-1".into()],
    }
}

pub fn proposal() -> pb::Proposal {
    let milestone = |id: &str, due: &str| pb::MilestonePlan {
        id: id.into(),
        horizon: pb::Horizon::Short as i32,
        title: format!("Tahap {id}"),
        due: due.into(),
        expected_output: "SK tim efektif, notulen, daftar hadir".into(),
    };
    pb::Proposal {
        title: "Antrian daring perizinan berusaha".into(),
        change_area: "Pelayanan perizinan".into(),
        problem: "Antrian panjang di loket".into(),
        baseline: "Rata-rata 3 jam menunggu".into(),
        goal_short_term: "Antrian daring di satu loket".into(),
        goal_medium_term: "Semua loket".into(),
        goal_long_term: String::new(),
        stakeholders: vec![pb::Stakeholder {
            name: "Kepala DPMPTSP".into(),
            internal: true,
            influence: pb::Level::High as i32,
            interest: pb::Level::High as i32,
        }],
        team: vec![pb::TeamMember {
            name: "Budi".into(),
            role: "Koordinator".into(),
        }],
        milestones: vec![
            milestone("m1", "2026-04-15"),
            milestone("m2", "2026-05-15"),
            milestone("m3", "2026-06-15"),
        ],
    }
}

pub fn propose() -> pb::ProposeRequest {
    pb::ProposeRequest {
        expected_version: None,
        request_id: String::new(),
        cohort_id: COHORT.into(),
        proposal: Some(proposal()),
    }
}

/// Opens the cohort, enrols the participant and has them propose.
pub async fn proposed(app: &TestApp, people: &People) -> pb::WriteResult {
    app.cohorts(&people.organizer)
        .open_cohort(open_cohort())
        .await
        .expect("open");
    app.cohorts(&people.organizer)
        .enrol_participant(enrol())
        .await
        .expect("enrol");
    app.projects(&people.participant)
        .propose(propose())
        .await
        .expect("propose")
        .into_inner()
}

pub fn action(request_id: &str) -> pb::ProjectAction {
    pb::ProjectAction {
        expected_version: None,
        request_id: request_id.into(),
        project_id: project_id(),
        note: String::new(),
    }
}

/// A token for `subject` in `role` that may backdate.
pub fn backdating(app: &TestApp, role: Role, subject: &str, nip: Option<&str>) -> String {
    app.keys
        .issue_backdating_token(&Grant {
            subject,
            nip,
            role,
            opd: None,
            provider: None,
            ttl: Duration::from_secs(3600),
        })
        .token
}

/// `message` sent as having happened at `at`.
pub fn at<T>(message: T, at: DateTime<Utc>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        OCCURRED_AT_HEADER,
        at.to_rfc3339().parse().expect("an ASCII value"),
    );
    request
}
