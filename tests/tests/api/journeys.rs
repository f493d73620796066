//! The whole job of each person (issue 19), one journey per role, through
//! the real gRPC server on both backends: what each of them does in an
//! ordinary cohort, and what they rely on seeing afterwards. Points tested
//! in depth elsewhere (evidence.rs, lifecycle.rs, project_page.rs,
//! units.rs) are walked here as that person would, briefly.

use jejak_proto::v1 as pb;
use jejak_tests::app::TestApp;

pub(super) use super::evidence::{app_with_folder, download, in_workplace, pdf, pdf_of, upload};
pub(super) use super::lifecycle::{
    adopted, event_after, final_seminar, get, grade, inbox, ratings, reason,
};
pub(super) use super::*;

mod auditor;
mod coach;
mod examiner;
mod innovation_office;
mod mentor;
mod operator;
mod organizer;
mod participant;

pub(super) fn noted(id: &str, note: &str) -> pb::ProjectAction {
    pb::ProjectAction {
        note: note.into(),
        ..action(id)
    }
}

pub(super) fn decision(id: &str, m: &str, reason: &str) -> pb::MilestoneDecision {
    pb::MilestoneDecision {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        milestone_id: m.into(),
        reason: reason.into(),
    }
}

pub(super) fn submit(
    id: &str,
    m: &str,
    attachments: Vec<pb::Attachment>,
) -> pb::SubmitEvidenceRequest {
    pb::SubmitEvidenceRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        milestone_id: m.into(),
        attachments,
        note: format!("Bukti {m}"),
    }
}

pub(super) async fn page(
    app: &TestApp,
    token: &str,
    position: u64,
) -> Result<pb::ProjectDetail, tonic::Status> {
    app.projects(token)
        .get_project_detail(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: position,
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Every note on the page as (kind, who, text).
pub(super) fn notes(d: &pb::ProjectDetail) -> Vec<(String, String, String)> {
    d.notes
        .iter()
        .map(|n| {
            (
                n.kind.clone(),
                n.stamp.clone().unwrap_or_default().by,
                n.text.clone(),
            )
        })
        .collect()
}

pub(super) fn said(kind: &str, by: &str, text: &str) -> (String, String, String) {
    (kind.into(), by.into(), text.into())
}

/// The kinds of a stream's events, oldest first.
pub(super) async fn history(app: &TestApp, auditor: &str, stream: &str) -> Vec<pb::Event> {
    app.audit(auditor)
        .read_stream(pb::ReadStreamRequest {
            stream_id: stream.into(),
            from_version: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .events
}

pub(super) fn kinds(events: &[pb::Event]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

pub(super) fn the_plan_with_m3_on(due: &str) -> Vec<pb::MilestonePlan> {
    let mut milestones = proposal().milestones;
    milestones[2].due = due.into();
    milestones
}

pub(super) fn plan_change(id: &str, due: &str) -> pb::PlanChangeRequest {
    pb::PlanChangeRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        milestones: the_plan_with_m3_on(due),
        reason: "Rapat pleno diundur".into(),
    }
}

pub(super) fn replicate_project(
    id: &str,
    opd: &str,
    region: &str,
) -> pb::ProjectReplicationRequest {
    pb::ProjectReplicationRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        adopter_opd: opd.into(),
        adopter_region: region.into(),
        agreement: Some(pb::Agreement {
            kind: "PKS".into(),
            number: format!("{id}/PKS/2026"),
            signed_on: "2026-09-01".into(),
            document: None,
        }),
    }
}

pub(super) fn replicate_innovation(
    id: &str,
    innovation: &str,
    opd: &str,
    region: &str,
) -> pb::InnovationReplicationRequest {
    pb::InnovationReplicationRequest {
        expected_version: None,
        request_id: id.into(),
        innovation_id: innovation.into(),
        adopter_opd: opd.into(),
        adopter_region: region.into(),
        agreement: Some(pb::Agreement {
            kind: "MoU".into(),
            number: format!("{id}/MoU/2026"),
            signed_on: "2026-10-01".into(),
            document: None,
        }),
    }
}

pub(super) async fn innovation(
    app: &TestApp,
    token: &str,
    id: &str,
    position: u64,
) -> pb::InnovationEntry {
    app.innovations(token)
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: id.into(),
            min_position: position,
        })
        .await
        .unwrap()
        .into_inner()
}

/// From a proposal to the workplace phase, with the people's default steps.
pub(super) async fn in_workplace_from_proposed(app: &TestApp, p: &People) {
    let mentor = || app.mentoring(&p.mentor);
    mentor().agree_change_area(action("agree")).await.unwrap();
    mentor()
        .approve_action_plan(action("approve-plan"))
        .await
        .unwrap();
    app.seminars(&p.examiner)
        .record_proposal_seminar(pb::ProposalSeminarRequest {
            expected_version: None,
            request_id: "seminar".into(),
            project_id: project_id(),
            accepted: true,
            notes: String::new(),
        })
        .await
        .unwrap();
    app.cohorts(&p.organizer)
        .start_workplace_phase(action("start"))
        .await
        .unwrap();
}
