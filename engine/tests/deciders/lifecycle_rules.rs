//! The rules of the lifecycles (ADR 0027): a project follows its cohort's
//! reassignment, results are recorded once and corrected with a reason,
//! the milestone plan changes after acceptance through the mentor, an
//! innovation's profile is amended as its own event, replication meets in
//! both lifecycles, and every shipped workflow walks its whole path with
//! the sign-offs it describes.

use std::collections::BTreeSet;

use jejak_engine::domain::change_project::{
    Agreement, ChangeProject, Grade, ProjectCommand as C, ProjectEvent as E, Replication, Staff,
    TargetRating,
};
use jejak_engine::domain::cohort::Participant;
use jejak_engine::domain::innovation::{
    Amendment, Form, Innovation, InnovationCommand as I, InnovationEvent as IE, Origin, Profile,
    Source,
};
use jejak_engine::domain::values::{
    Horizon, InnovationId, Nip, OpdCode, PersonId, ProjectId, Rating, TrainingLevel,
};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::workflow::{SignOff, WorkflowRegistry};

use crate::fixtures::*;

type Project = Given<ChangeProject>;

fn pka() -> Project {
    let mut p = Project::new(Some(workflow("change-project-pka")));
    p.ok(participant(), propose(TrainingLevel::Pka));
    p
}

fn staff(mentor: &str) -> Staff {
    Staff {
        mentor: mentor.into(),
        coach: "coach-1".into(),
        examiners: vec!["examiner-1".into()],
    }
}

fn replication(opd: &str) -> Replication {
    Replication {
        adopter_opd: OpdCode::parse(opd).unwrap(),
        adopter_region: "Kota Serang".into(),
        agreement: Agreement::new("PKS", "001/PKS/2026", date(2026, 9, 1), None).unwrap(),
    }
}

fn ratings() -> Vec<TargetRating> {
    ["m1", "m2", "m3"]
        .map(|m| TargetRating {
            milestone_id: mid(m),
            rating: Rating::Meets,
        })
        .to_vec()
}

/// Walks `p` from proposed to adopted, as the workflow asks: the coach's
/// readiness only where the definition requires it (and then the seminar
/// is refused before it).
fn walk_to_adopted(p: &mut Project) {
    let wf = p.workflow.clone().unwrap();
    let has = |command: &str| wf.transitions.iter().any(|t| t.command == command);
    let needs = |command: &str, sign_off: SignOff| {
        wf.transitions
            .iter()
            .any(|t| t.command == command && t.sign_offs.contains(&sign_off))
    };
    p.ok(mentor(), C::AgreeChangeArea);
    p.ok(
        mentor(),
        C::ApproveActionPlan {
            note: String::new(),
        },
    );
    if has("record_proposal_seminar") {
        let seminar = C::RecordProposalSeminar {
            accepted: true,
            notes: String::new(),
        };
        if needs("record_proposal_seminar", SignOff::CoachProposalReady) {
            says(
                &precondition(p.refused(examiner(), seminar.clone())),
                "coach",
            );
            p.ok(coach(), C::MarkProposalReady);
        }
        p.ok(examiner(), seminar);
    }
    p.ok(organizer(), C::StartWorkplacePhase);
    for m in ["m1", "m2", "m3"] {
        p.ok(
            participant(),
            C::SubmitEvidence {
                milestone_id: mid(m),
                attachments: vec![file("notulen.pdf")],
                note: String::new(),
            },
        );
        p.ok(
            mentor(),
            C::ApproveMilestone {
                milestone_id: mid(m),
                note: String::new(),
            },
        );
    }
    p.ok(
        participant(),
        C::SubmitFinalReport {
            summary: "Selesai".into(),
            attachments: vec![file("laporan.pdf")],
        },
    );
    let seminar = C::RecordFinalSeminar {
        ratings: ratings(),
        score: 85,
        notes: String::new(),
    };
    if needs("record_final_seminar", SignOff::CoachReportReady) {
        says(
            &precondition(p.refused(examiner(), seminar.clone())),
            "coach",
        );
        p.ok(coach(), C::MarkReportReady);
    }
    p.ok(examiner(), seminar);
    p.ok(
        organizer(),
        C::SetGrade {
            grade: Grade::SangatMemuaskan,
        },
    );
    p.ok(
        mentor(),
        C::EndorseAdoption {
            note: String::new(),
        },
    );
    assert_eq!(p.state.lifecycle.as_deref(), Some("adopted"));
}

#[test]
fn every_shipped_change_project_workflow_walks_from_proposal_to_replication() {
    let shipped = WorkflowRegistry::defaults().unwrap();
    let mut walked = 0;
    for wf in shipped
        .iter()
        .filter(|w| w.kind == jejak_engine::workflow::WorkflowKind::ChangeProject)
    {
        let level = match wf.name.as_str() {
            "change-project-pkn" => TrainingLevel::PknII,
            "change-project-pka" => TrainingLevel::Pka,
            "change-project-pkp" => TrainingLevel::Pkp,
            other => panic!("a shipped workflow the walk does not know: {other}"),
        };
        // The description says whether the coach's readiness is required.
        let coach_required = wf
            .transitions
            .iter()
            .any(|t| t.sign_offs.contains(&SignOff::CoachProposalReady));
        assert_eq!(
            wf.description.contains("coach readiness"),
            coach_required,
            "{}: its description and its sign-offs disagree",
            wf.name
        );
        let mut p = Project::new(Some(std::sync::Arc::new(wf.clone())));
        p.ok(participant(), propose(level));
        walk_to_adopted(&mut p);
        p.ok(mentor(), C::RecordReplication(replication("dinkes")));
        assert_eq!(
            p.state.lifecycle.as_deref(),
            Some("replicated"),
            "{}",
            wf.name
        );
        walked += 1;
    }
    assert_eq!(walked, 3);
}

#[test]
fn the_shipped_innovation_workflow_walks_from_initiative_to_replication() {
    let mut i = Given::<Innovation>::new(Some(workflow("innovation")));
    i.now = at(2026, 9, 1);
    let dinkes = || officer("dinkes");
    i.ok(
        dinkes(),
        I::Register {
            innovation_id: InnovationId::parse("inv-1").unwrap(),
            profile: profile(),
            origin: None,
        },
    );
    i.ok(
        dinkes(),
        I::JudgeFeasibility {
            feasible: true,
            notes: String::new(),
        },
    );
    i.ok(
        dinkes(),
        I::Designate {
            decree_number: "188.45/12/2026".into(),
            decree_date: date(2026, 2, 1),
        },
    );
    i.ok(
        dinkes(),
        I::StartPilot {
            on: date(2026, 3, 1),
        },
    );
    i.ok(
        dinkes(),
        I::EvaluatePilot {
            on: date(2026, 5, 1),
            evaluation: "Berhasil".into(),
        },
    );
    i.ok(
        dinkes(),
        I::Implement {
            on: date(2026, 6, 1),
            budget_line: "5.01.02".into(),
        },
    );
    i.ok(
        dinkes(),
        I::RecordReplication {
            adopter_opd: OpdCode::parse("dinkes").unwrap(),
            adopter_region: "Kota Serang".into(),
            agreement: Agreement::new("PKS", "1/2026", date(2026, 8, 1), None).unwrap(),
        },
    );
    assert_eq!(i.state.lifecycle.as_deref(), Some("replicated"));
}

#[test]
fn a_project_follows_its_cohorts_reassignment() {
    let mut p = pka();
    let new_mentor = Actor::new("mentor-2", Role::Mentor);
    p.ok(mentor(), C::AgreeChangeArea);
    // Only the cohort's organizer (or jejak) moves the project's people.
    for who in [
        participant(),
        mentor(),
        Actor::new("organizer-9", Role::Organizer),
    ] {
        forbidden(p.refused(
            who,
            C::AssignStaff {
                staff: staff("mentor-2"),
                cohort_version: 5,
            },
        ));
    }
    let events = p.ok(
        organizer(),
        C::AssignStaff {
            staff: staff("mentor-2"),
            cohort_version: 5,
        },
    );
    assert!(matches!(
        &events[..],
        [E::StaffAssigned {
            cohort_version: 5,
            ..
        }]
    ));
    // The same reassignment repeated (the process manager) writes nothing,
    // and an older one arriving late changes nothing.
    for version in [5, 4] {
        assert!(
            p.ok(
                system(),
                C::AssignStaff {
                    staff: staff("mentor-1"),
                    cohort_version: version,
                },
            )
            .is_empty()
        );
    }
    // From here on the old mentor is refused and the new one decides.
    says(
        &forbidden(p.refused(
            mentor(),
            C::ApproveActionPlan {
                note: String::new(),
            },
        )),
        "not this project's mentor",
    );
    let events = p.ok(
        new_mentor,
        C::ApproveActionPlan {
            note: String::new(),
        },
    );
    assert!(matches!(&events[..], [E::ActionPlanApproved { by, .. }] if by == "mentor-2"));
    // History keeps who decided what: the agreement by the old mentor.
    assert!(
        p.events
            .iter()
            .any(|e| matches!(e, E::ChangeAreaAgreed { by } if by == "mentor-1"))
    );
}

#[test]
fn a_proposal_seminar_is_recorded_once_and_corrected_with_a_reason() {
    let mut p = pka();
    p.ok(mentor(), C::AgreeChangeArea);
    p.ok(
        mentor(),
        C::ApproveActionPlan {
            note: String::new(),
        },
    );
    says(
        &precondition(p.refused(
            examiner(),
            C::CorrectProposalSeminar {
                accepted: true,
                notes: String::new(),
                reason: "x".into(),
            },
        )),
        "not recorded yet",
    );
    p.ok(
        examiner(),
        C::RecordProposalSeminar {
            accepted: false,
            notes: "Perjelas baseline".into(),
        },
    );
    says(
        &precondition(p.refused(
            examiner(),
            C::RecordProposalSeminar {
                accepted: true,
                notes: String::new(),
            },
        )),
        "recorded already",
    );
    let events = p.ok(
        examiner(),
        C::CorrectProposalSeminar {
            accepted: true,
            notes: String::new(),
            reason: "Salah centang di formulir".into(),
        },
    );
    assert!(matches!(
        &events[..],
        [E::ProposalSeminarCorrected { accepted: true, .. }]
    ));
    assert_eq!(p.state.proposal_seminar, Some(true));
    p.ok(organizer(), C::StartWorkplacePhase);
    // After the proposal stage, the proposal seminar is not corrected.
    wrong_state(p.refused(
        examiner(),
        C::CorrectProposalSeminar {
            accepted: false,
            notes: "x".into(),
            reason: "x".into(),
        },
    ));
}

#[test]
fn the_milestone_plan_changes_after_acceptance_through_the_mentor() {
    let mut p = pka();
    let mut plan = proposal().milestones;
    plan[1].due = date(2026, 5, 30);
    let request = |plan: &Vec<_>| C::RequestPlanChange {
        milestones: plan.clone(),
        reason: "Rapat koordinasi diundur".into(),
    };
    // Before acceptance the participant revises the proposal instead.
    wrong_state(p.refused(participant(), request(&plan)));
    p.ok(mentor(), C::AgreeChangeArea);
    p.ok(
        mentor(),
        C::ApproveActionPlan {
            note: String::new(),
        },
    );
    p.ok(
        examiner(),
        C::RecordProposalSeminar {
            accepted: true,
            notes: String::new(),
        },
    );
    p.ok(organizer(), C::StartWorkplacePhase);
    p.ok(
        participant(),
        C::SubmitEvidence {
            milestone_id: mid("m1"),
            attachments: vec![file("sk.pdf")],
            note: String::new(),
        },
    );
    p.ok(
        mentor(),
        C::ApproveMilestone {
            milestone_id: mid("m1"),
            note: String::new(),
        },
    );
    // An approved milestone stays as it was approved.
    let mut moved = plan.clone();
    moved[0].due = date(2026, 4, 20);
    assert_eq!(
        invalid(p.refused(participant(), request(&moved))),
        "milestones"
    );
    forbidden(p.refused(mentor(), request(&plan)));
    assert_eq!(
        invalid(p.refused(
            participant(),
            C::RequestPlanChange {
                milestones: plan.clone(),
                reason: String::new(),
            },
        )),
        "reason"
    );
    says(
        &precondition(p.refused(
            mentor(),
            C::ApprovePlanChange {
                note: String::new(),
            },
        )),
        "plan change requested",
    );
    p.ok(participant(), request(&plan));
    says(
        &precondition(p.refused(participant(), request(&plan))),
        "already requested",
    );
    forbidden(p.refused(
        participant(),
        C::ApprovePlanChange {
            note: String::new(),
        },
    ));
    p.ok(
        mentor(),
        C::ReturnPlanChange {
            reason: "Tetap pada tanggal semula".into(),
        },
    );
    assert_eq!(p.state.milestones[&mid("m2")].plan.due, date(2026, 5, 15));
    p.ok(participant(), request(&plan));
    let events = p.ok(
        Actor::new("mentor-1", Role::Mentor),
        C::ApprovePlanChange {
            note: "Setuju".into(),
        },
    );
    assert!(matches!(&events[..], [E::PlanChangeApproved { .. }]));
    assert_eq!(p.state.milestones[&mid("m2")].plan.due, date(2026, 5, 30));

    // A change that rewrites a milestone approved after it was requested
    // is not approved: the approved milestone stays as it was.
    let mut rewritten = p.state.proposal.as_ref().unwrap().milestones.clone();
    rewritten[1].title = "Judul baru".into();
    p.ok(participant(), request(&rewritten));
    p.ok(
        participant(),
        C::SubmitEvidence {
            milestone_id: mid("m2"),
            attachments: vec![file("notulen.pdf")],
            note: String::new(),
        },
    );
    p.ok(
        mentor(),
        C::ApproveMilestone {
            milestone_id: mid("m2"),
            note: String::new(),
        },
    );
    says(
        &precondition(p.refused(
            mentor(),
            C::ApprovePlanChange {
                note: String::new(),
            },
        )),
        "keeps milestone 'm2' as approved",
    );
    p.ok(
        mentor(),
        C::ReturnPlanChange {
            reason: "m2 sudah disetujui".into(),
        },
    );
    assert_ne!(p.state.milestones[&mid("m2")].plan.title, "Judul baru");
    assert_eq!(
        p.state.milestones[&mid("m1")].status,
        jejak_engine::domain::change_project::MilestoneStatus::Approved
    );
    assert!(
        p.state
            .proposal
            .as_ref()
            .unwrap()
            .milestones
            .iter()
            .any(|m| m.horizon == Horizon::Short)
    );
}

#[test]
fn replication_meets_in_both_lifecycles_once() {
    let mut p = pka();
    walk_to_adopted(&mut p);
    let follow = || C::FollowInnovationReplication(replication("dinsos"));
    // Only jejak carries an innovation's replication to its project.
    forbidden(p.refused(mentor(), follow()));
    let events = p.ok(system(), follow());
    assert!(matches!(
        &events[..],
        [E::ReplicationRecorded { .. }, E::StateChanged { to, .. }] if to == "replicated"
    ));
    // Once: the same replication again writes nothing.
    assert!(p.ok(system(), follow()).is_empty());
    // Recorded by hand as well, it is the same replication.
    p.refused(mentor(), C::RecordReplication(replication("dinsos")));
    assert_eq!(p.state.replications.len(), 1);
}

fn profile() -> Profile {
    Profile {
        name: "Antrian daring perizinan".into(),
        opd: OpdCode::parse("dinkes").unwrap(),
        unit: None,
        region: "Kota Cilegon".into(),
        source: Source::ChangeProject,
        initiator_type: "ASN".into(),
        form: Form::Governance,
        digital: false,
        sector: "Pelayanan perizinan".into(),
        sdgs: BTreeSet::new(),
        goal: "Antrian daring".into(),
        benefit: "Waktu tunggu turun".into(),
        budget: None,
        legal_basis: None,
    }
}

fn from_project() -> Given<Innovation> {
    let mut i = Given::<Innovation>::new(Some(workflow("innovation")));
    let project = ProjectId::parse("0192f5e4-7c1a-7b3e-9d2a-5f0c8e1b2a3d").unwrap();
    i.ok(
        system(),
        I::Register {
            innovation_id: InnovationId::from_project(&project),
            profile: profile(),
            origin: Some(Origin::ChangeProject(project)),
        },
    );
    i
}

#[test]
fn an_adopted_projects_innovation_starts_at_penerapan() {
    let mut i = from_project();
    let carry = || I::CarryProjectStage {
        stage: "adopted".into(),
        on: date(2026, 7, 1),
    };
    forbidden(i.refused(officer("dinkes"), carry()));
    let events = i.ok(system(), carry());
    assert!(matches!(
        &events[..],
        [IE::ProjectStageCarried { .. }, IE::StateChanged { from, to, .. }]
            if from == "proposed" && to == "adopted"
    ));
    assert!(i.ok(system(), carry()).is_empty());
    // An innovation registered by hand carries no project's stage.
    let mut own = Given::<Innovation>::new(Some(workflow("innovation")));
    own.ok(
        officer("dinkes"),
        I::Register {
            innovation_id: InnovationId::parse("inv-2").unwrap(),
            profile: profile(),
            origin: None,
        },
    );
    assert_eq!(invalid(own.refused(system(), carry())), "stage");
    // Implemented, it follows the project's replication, once; the
    // project's own OPD in its own region is refused.
    let follow = |opd: &str, region: &str| I::FollowProjectReplication {
        adopter_opd: OpdCode::parse(opd).unwrap(),
        adopter_region: region.into(),
        agreement: Agreement::new("PKS", "1/2026", date(2026, 8, 1), None).unwrap(),
    };
    assert_eq!(
        invalid(i.refused(system(), follow("dinkes", "Kota Cilegon"))),
        "adopter_opd"
    );
    let events = i.ok(system(), follow("dinkes", "Kota Serang"));
    assert!(matches!(
        &events[..],
        [IE::ReplicationRecorded { .. }, IE::StateChanged { to, .. }] if to == "replicated"
    ));
    assert!(i.ok(system(), follow("dinkes", "Kota Serang")).is_empty());
    assert_eq!(i.state.adopters.len(), 1);
}

#[test]
fn an_officer_amends_the_profile_as_its_own_event() {
    let mut i = from_project();
    let amendment = Amendment {
        name: "Antrian daring DPMPTSP".into(),
        unit: Some("Mal Pelayanan Publik".into()),
        form: Form::PublicService,
        digital: true,
        sector: "penanaman modal".into(),
        sdgs: BTreeSet::from([9, 16]),
        goal: "Antrian daring di semua loket".into(),
        benefit: "Waktu tunggu turun 80%".into(),
        budget: Some(10_000_000),
        legal_basis: Some("Perwal 12/2026".into()),
    };
    forbidden(i.refused(officer("dpmptsp"), I::AmendProfile(amendment.clone())));
    forbidden(i.refused(system(), I::AmendProfile(amendment.clone())));
    let events = i.ok(officer("dinkes"), I::AmendProfile(amendment.clone()));
    let [
        IE::ProfileAmended {
            profile: amended,
            by,
        },
    ] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!(by, "officer-1");
    assert_eq!(amended.name, "Antrian daring DPMPTSP");
    assert_eq!(amended.legal_basis.as_deref(), Some("Perwal 12/2026"));
    // What is not amendable stays.
    assert_eq!(amended.opd.as_str(), "dinkes");
    assert_eq!(amended.source, Source::ChangeProject);
    // The same amendment again changes nothing; a bad one names its field.
    assert!(
        i.ok(officer("dinkes"), I::AmendProfile(amendment.clone()))
            .is_empty()
    );
    let bad = Amendment {
        sdgs: BTreeSet::from([18]),
        ..amendment
    };
    assert_eq!(
        invalid(i.refused(officer("dinkes"), I::AmendProfile(bad))),
        "sdgs"
    );
}

#[test]
fn a_project_follows_its_cohorts_enrolment_amendment() {
    let mut p = pka();
    let amended = someone(NIP, "Siti Rahmawati Putri", "Kepala Bidang", "dinkes").unwrap();
    let follow = |participant: &Participant, cohort_version: u64| C::FollowEnrolment {
        participant: participant.clone(),
        cohort_version,
    };
    // Only the cohort's organizer (or jejak) amends the project's participant.
    for who in [
        participant(),
        mentor(),
        Actor::new("organizer-9", Role::Organizer),
    ] {
        forbidden(p.refused(who, follow(&amended, 5)));
    }
    let events = p.ok(organizer(), follow(&amended, 5));
    assert!(matches!(
        &events[..],
        [E::ParticipantAmended {
            cohort_version: 5,
            ..
        }]
    ));
    assert_eq!(p.state.participant(), Some(&amended));
    // Repeated, or an older version arriving late: nothing.
    let before = enrollment().participant;
    assert!(p.ok(system(), follow(&amended, 6)).is_empty());
    assert!(p.ok(system(), follow(&before, 4)).is_empty());
    assert_eq!(p.state.participant(), Some(&amended));
    // Another person's fields are not this project's.
    let stranger = Participant::new(
        PersonId::generate(),
        &Nip::parse_field("nip", "199001012015032001").unwrap(),
        "Budi",
        "Staf",
        "dinkes",
    )
    .unwrap();
    assert_eq!(
        invalid(p.refused(system(), follow(&stranger, 7))),
        "participant"
    );
}
