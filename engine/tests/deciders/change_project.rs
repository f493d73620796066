use jejak_engine::domain::change_project::{
    Agreement, ChangeProject, Grade, ProjectCommand as C, ProjectEvent as E, Replication,
    TargetRating,
};
use jejak_engine::domain::values::{
    CohortId, Horizon, OpdCode, PersonId, ProjectId, Rating, TrainingLevel,
};
use jejak_engine::domain::{Actor, DomainError, Role};

use crate::fixtures::*;

type Project = Given<ChangeProject>;

fn pka() -> Project {
    Project::new(Some(workflow("change-project-pka")))
}

fn state_change(events: &[E]) -> Option<(String, String)> {
    events.iter().find_map(|e| match e {
        E::StateChanged { from, to, .. } => Some((from.clone(), to.clone())),
        _ => None,
    })
}

fn proposed() -> Project {
    let mut p = pka();
    p.ok(participant(), propose(TrainingLevel::Pka));
    p
}

fn accepted() -> Project {
    let mut p = proposed();
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
    p
}

fn piloted() -> Project {
    let mut p = accepted();
    p.ok(organizer(), C::StartWorkplacePhase);
    p
}

fn submit(p: &mut Project, m: &str) {
    p.ok(
        participant(),
        C::SubmitEvidence {
            milestone_id: mid(m),
            attachments: vec![file("notulen.pdf")],
            note: String::new(),
        },
    );
}

fn all_short_approved() -> Project {
    let mut p = piloted();
    for m in ["m1", "m2", "m3"] {
        submit(&mut p, m);
        p.ok(
            mentor(),
            C::ApproveMilestone {
                milestone_id: mid(m),
                note: String::new(),
            },
        );
    }
    p
}

fn ratings() -> Vec<TargetRating> {
    ["m1", "m2", "m3"]
        .map(|m| TargetRating {
            milestone_id: mid(m),
            rating: Rating::Meets,
        })
        .to_vec()
}

fn graded() -> Project {
    let mut p = all_short_approved();
    p.ok(
        participant(),
        C::SubmitFinalReport {
            summary: "Antrian daring berjalan".into(),
            attachments: vec![file("laporan.pdf")],
        },
    );
    p.ok(
        examiner(),
        C::RecordFinalSeminar {
            ratings: ratings(),
            score: 86,
            notes: String::new(),
        },
    );
    p.ok(
        organizer(),
        C::SetGrade {
            grade: Grade::Memuaskan,
        },
    );
    p
}

fn adopted() -> Project {
    let mut p = graded();
    p.ok(
        mentor(),
        C::EndorseAdoption {
            note: String::new(),
        },
    );
    p
}

fn replication(opd: &str) -> C {
    C::RecordReplication(Replication {
        adopter_opd: OpdCode::parse(opd).unwrap(),
        adopter_region: "Kota Serang".into(),
        agreement: Agreement::new("PKS", "001/PKS/2026", date(2026, 9, 1), None).unwrap(),
    })
}

#[test]
fn a_participant_proposes_their_project_under_the_cohort_workflow() {
    let mut p = pka();
    let events = p.ok(participant(), propose(TrainingLevel::Pka));
    assert!(
        matches!(&events[0], E::ProjectProposed { workflow, project_id, .. }
        if workflow.name == "change-project-pka" && workflow.version == 1 && *project_id == ProjectId::for_participant(&CohortId::parse("pka-2026-1").unwrap(), &PersonId::parse(PERSON).unwrap()))
    );
    assert_eq!(
        state_change(&events),
        Some((String::new(), "proposed".into()))
    );
    assert_eq!(p.state.milestones.len(), 5);
}

#[test]
fn only_the_participant_themself_may_propose() {
    let mut p = pka();
    says(
        &forbidden(p.refused(mentor(), propose(TrainingLevel::Pka))),
        "only participant may",
    );
    let other = Actor::new(OTHER_PERSON, Role::Participant);
    says(
        &forbidden(p.refused(other, propose(TrainingLevel::Pka))),
        "only their own",
    );
    says(
        &forbidden(p.refused(Actor::new("a", Role::Auditor), propose(TrainingLevel::Pka))),
        "auditor",
    );
}

#[test]
fn a_proposal_needs_a_short_term_milestone_and_dates_inside_its_horizons() {
    let mut p = pka();
    let mut no_short = proposal();
    no_short.milestones.retain(|m| m.horizon != Horizon::Short);
    let body = C::Propose {
        cohort: cohort(TrainingLevel::Pka),
        enrollment: enrollment(),
        proposal: no_short,
    };
    says(
        &precondition(p.refused(participant(), body)),
        "short-term milestone",
    );

    let mut late = proposal();
    late.milestones[1].due = date(2026, 8, 1);
    let body = C::Propose {
        cohort: cohort(TrainingLevel::Pka),
        enrollment: enrollment(),
        proposal: late,
    };
    assert_eq!(
        invalid(p.refused(participant(), body)),
        "proposal.milestones[1].due"
    );

    let mut twice = proposal();
    twice.milestones[2].id = mid("m1");
    let body = C::Propose {
        cohort: cohort(TrainingLevel::Pka),
        enrollment: enrollment(),
        proposal: twice,
    };
    assert_eq!(
        invalid(p.refused(participant(), body)),
        "proposal.milestones[2].id"
    );

    let mut untitled = proposal();
    untitled.title = "  ".into();
    let body = C::Propose {
        cohort: cohort(TrainingLevel::Pka),
        enrollment: enrollment(),
        proposal: untitled,
    };
    assert_eq!(invalid(p.refused(participant(), body)), "proposal.title");
}

#[test]
fn proposing_twice_is_refused() {
    let mut p = proposed();
    assert!(matches!(
        p.refused(participant(), propose(TrainingLevel::Pka)),
        DomainError::AlreadyExists { .. }
    ));
}

#[test]
fn the_mentor_agrees_the_area_before_approving_the_plan() {
    let mut p = proposed();
    says(
        &precondition(p.refused(
            mentor(),
            C::ApproveActionPlan {
                note: String::new(),
            },
        )),
        "agree the change area",
    );
    assert!(matches!(
        p.ok(mentor(), C::AgreeChangeArea)[..],
        [E::ChangeAreaAgreed { .. }]
    ));
    assert!(matches!(
        p.ok(
            mentor(),
            C::ApproveActionPlan {
                note: "Lanjutkan".into()
            }
        )[..],
        [E::ActionPlanApproved { .. }]
    ));
    assert!(
        p.ok(mentor(), C::AgreeChangeArea).is_empty(),
        "agreeing again changes nothing"
    );
}

#[test]
fn only_the_projects_own_mentor_decides() {
    let mut p = proposed();
    let stranger = Actor::new("mentor-2", Role::Mentor);
    says(
        &forbidden(p.refused(stranger, C::AgreeChangeArea)),
        "not this project's mentor",
    );
    says(
        &forbidden(p.refused(participant(), C::AgreeChangeArea)),
        "only mentor may",
    );
}

#[test]
fn a_returned_plan_needs_a_reason_and_a_new_approval() {
    let mut p = proposed();
    p.ok(mentor(), C::AgreeChangeArea);
    p.ok(
        mentor(),
        C::ApproveActionPlan {
            note: String::new(),
        },
    );
    assert_eq!(
        invalid(p.refused(mentor(), C::ReturnActionPlan { reason: " ".into() })),
        "reason"
    );
    p.ok(
        mentor(),
        C::ReturnActionPlan {
            reason: "Target terlalu umum".into(),
        },
    );
    assert_eq!(
        p.state.action_plan_returned_reason.as_deref(),
        Some("Target terlalu umum")
    );
    says(
        &precondition(p.refused(
            examiner(),
            C::RecordProposalSeminar {
                accepted: true,
                notes: String::new(),
            },
        )),
        "approve the action plan",
    );
}

#[test]
fn the_proposal_seminar_accepts_or_sends_back_for_revision() {
    let mut p = proposed();
    p.ok(mentor(), C::AgreeChangeArea);
    p.ok(
        mentor(),
        C::ApproveActionPlan {
            note: String::new(),
        },
    );
    says(
        &forbidden(p.refused(
            coach(),
            C::RecordProposalSeminar {
                accepted: true,
                notes: String::new(),
            },
        )),
        "only examiner may",
    );
    let stranger = Actor::new("examiner-9", Role::Examiner);
    says(
        &forbidden(p.refused(
            stranger,
            C::RecordProposalSeminar {
                accepted: true,
                notes: String::new(),
            },
        )),
        "not this project's examiner",
    );
    assert_eq!(
        invalid(p.refused(
            examiner(),
            C::RecordProposalSeminar {
                accepted: false,
                notes: String::new()
            }
        )),
        "notes"
    );
    p.ok(
        examiner(),
        C::RecordProposalSeminar {
            accepted: false,
            notes: "Perjelas baseline".into(),
        },
    );
    says(
        &precondition(p.refused(organizer(), C::StartWorkplacePhase)),
        "accept the proposal",
    );

    let mut revised = proposal();
    revised.baseline = "Rata-rata 3 jam 20 menit menunggu (survei Feb 2026)".into();
    assert!(matches!(
        p.ok(participant(), C::ReviseProposal { proposal: revised })[..],
        [E::ProposalRevised { .. }]
    ));
    says(
        &precondition(p.refused(
            examiner(),
            C::RecordProposalSeminar {
                accepted: true,
                notes: String::new(),
            },
        )),
        "approve the action plan",
    );
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
    says(
        &precondition(p.refused(
            participant(),
            C::ReviseProposal {
                proposal: proposal(),
            },
        )),
        "already accepted",
    );
}

#[test]
fn the_organizer_starts_the_workplace_phase_once_plan_and_seminar_are_signed() {
    let mut p = proposed();
    says(
        &precondition(p.refused(organizer(), C::StartWorkplacePhase)),
        "approve the action plan",
    );
    let mut p = accepted();
    says(
        &forbidden(p.refused(
            Actor::new("organizer-2", Role::Organizer),
            C::StartWorkplacePhase,
        )),
        "organizer of the project's cohort",
    );
    let events = p.ok(organizer(), C::StartWorkplacePhase);
    assert_eq!(
        state_change(&events),
        Some(("proposed".into(), "piloted".into()))
    );
    assert_eq!(p.state.workplace_started_on, Some(date(2026, 3, 10)));
}

#[test]
fn evidence_waits_for_the_workplace_phase() {
    let mut p = accepted();
    let (state, hint) = wrong_state(p.refused(
        participant(),
        C::SubmitEvidence {
            milestone_id: mid("m1"),
            attachments: vec![file("a.pdf")],
            note: String::new(),
        },
    ));
    assert_eq!(state, "proposed");
    says(&hint, "piloted");
}

#[test]
fn a_milestone_is_submitted_returned_resubmitted_and_approved() {
    let mut p = piloted();
    says(
        &precondition(p.refused(
            mentor(),
            C::ApproveMilestone {
                milestone_id: mid("m1"),
                note: String::new(),
            },
        )),
        "no submitted evidence",
    );
    assert_eq!(
        invalid(p.refused(
            participant(),
            C::SubmitEvidence {
                milestone_id: mid("m1"),
                attachments: vec![],
                note: String::new()
            }
        )),
        "attachments"
    );
    assert_eq!(
        invalid(p.refused(
            participant(),
            C::SubmitEvidence {
                milestone_id: mid("m9"),
                attachments: vec![file("a.pdf")],
                note: String::new()
            }
        )),
        "milestone_id"
    );
    submit(&mut p, "m1");
    assert_eq!(
        invalid(p.refused(
            mentor(),
            C::ReturnMilestone {
                milestone_id: mid("m1"),
                reason: String::new()
            }
        )),
        "reason"
    );
    p.ok(
        mentor(),
        C::ReturnMilestone {
            milestone_id: mid("m1"),
            reason: "Daftar hadir belum ada".into(),
        },
    );
    says(
        &precondition(p.refused(
            mentor(),
            C::ApproveMilestone {
                milestone_id: mid("m1"),
                note: String::new(),
            },
        )),
        "no submitted evidence",
    );
    submit(&mut p, "m1");
    p.ok(
        mentor(),
        C::ApproveMilestone {
            milestone_id: mid("m1"),
            note: "Baik".into(),
        },
    );
    assert_eq!(p.state.milestones[&mid("m1")].evidence.len(), 2);
    says(
        &precondition(p.refused(
            participant(),
            C::SubmitEvidence {
                milestone_id: mid("m1"),
                attachments: vec![file("b.pdf")],
                note: String::new(),
            },
        )),
        "approved already",
    );
    says(
        &forbidden(p.refused(
            Actor::new("mentor-2", Role::Mentor),
            C::ApproveMilestone {
                milestone_id: mid("m2"),
                note: String::new(),
            },
        )),
        "mentor",
    );
}

#[test]
fn the_timer_flags_a_milestone_past_due_once() {
    let mut p = piloted();
    p.now = at(2026, 4, 16);
    let events = p.ok(
        system(),
        C::MarkMilestoneOverdue {
            milestone_id: mid("m1"),
        },
    );
    assert!(matches!(&events[..], [E::MilestoneOverdue { due, .. }] if *due == date(2026, 4, 15)));
    assert!(
        p.ok(
            system(),
            C::MarkMilestoneOverdue {
                milestone_id: mid("m1")
            }
        )
        .is_empty(),
        "only once"
    );
    assert!(
        p.ok(
            system(),
            C::MarkMilestoneOverdue {
                milestone_id: mid("m2")
            }
        )
        .is_empty(),
        "not due yet"
    );
    says(
        &forbidden(p.refused(
            mentor(),
            C::MarkMilestoneOverdue {
                milestone_id: mid("m2"),
            },
        )),
        "only system may",
    );
}

#[test]
fn the_final_report_needs_every_short_term_milestone_approved() {
    let mut p = piloted();
    let report = C::SubmitFinalReport {
        summary: "Selesai".into(),
        attachments: vec![file("laporan.pdf")],
    };
    says(
        &precondition(p.refused(participant(), report.clone())),
        "every short-term milestone",
    );
    let mut p = all_short_approved();
    p.ok(participant(), report);
    assert!(p.state.final_report.is_some());
}

#[test]
fn the_final_seminar_rates_every_short_term_target_and_scores() {
    let mut p = all_short_approved();
    says(
        &precondition(p.refused(
            examiner(),
            C::RecordFinalSeminar {
                ratings: ratings(),
                score: 80,
                notes: String::new(),
            },
        )),
        "final report",
    );
    p.ok(
        participant(),
        C::SubmitFinalReport {
            summary: "Selesai".into(),
            attachments: vec![file("laporan.pdf")],
        },
    );
    assert_eq!(
        invalid(p.refused(
            examiner(),
            C::RecordFinalSeminar {
                ratings: ratings()[..2].to_vec(),
                score: 80,
                notes: String::new()
            }
        )),
        "ratings"
    );
    assert_eq!(
        invalid(p.refused(
            examiner(),
            C::RecordFinalSeminar {
                ratings: ratings(),
                score: 101,
                notes: String::new()
            }
        )),
        "score"
    );
    let events = p.ok(
        examiner(),
        C::RecordFinalSeminar {
            ratings: ratings(),
            score: 55,
            notes: "Perlu perbaikan".into(),
        },
    );
    assert!(matches!(
        &events[..],
        [E::FinalSeminarHeld { passed: false, .. }]
    ));
    says(
        &precondition(p.refused(
            organizer(),
            C::SetGrade {
                grade: Grade::Memuaskan,
            },
        )),
        "pass the project",
    );
    // A result is recorded once; a mistaken one is corrected, with a reason.
    says(
        &precondition(p.refused(
            examiner(),
            C::RecordFinalSeminar {
                ratings: ratings(),
                score: 75,
                notes: String::new(),
            },
        )),
        "recorded already",
    );
    assert_eq!(
        invalid(p.refused(
            examiner(),
            C::CorrectFinalSeminar {
                ratings: ratings(),
                score: 75,
                notes: String::new(),
                reason: String::new(),
            },
        )),
        "reason"
    );
    let events = p.ok(
        examiner(),
        C::CorrectFinalSeminar {
            ratings: ratings(),
            score: 75,
            notes: String::new(),
            reason: "Nilai 55 salah ketik; berita acara menulis 75".into(),
        },
    );
    assert!(matches!(
        &events[..],
        [E::FinalSeminarCorrected {
            score: 75,
            passed: true,
            ..
        }]
    ));
    // Both results stay in the history.
    assert!(
        p.events
            .iter()
            .any(|e| matches!(e, E::FinalSeminarHeld { score: 55, .. }))
    );
    forbidden(p.refused(
        organizer(),
        C::CorrectFinalSeminar {
            ratings: ratings(),
            score: 90,
            notes: String::new(),
            reason: "salah".into(),
        },
    ));
    says(
        &precondition(p.refused(
            organizer(),
            C::CorrectGrade {
                grade: Grade::Memuaskan,
                reason: "belum ada".into(),
            },
        )),
        "not recorded yet",
    );
    p.ok(
        organizer(),
        C::SetGrade {
            grade: Grade::CukupMemuaskan,
        },
    );
    says(
        &precondition(p.refused(
            organizer(),
            C::SetGrade {
                grade: Grade::Memuaskan,
            },
        )),
        "recorded already",
    );
    let events = p.ok(
        organizer(),
        C::CorrectGrade {
            grade: Grade::Memuaskan,
            reason: "Rekap nilai keliru".into(),
        },
    );
    assert!(matches!(
        &events[..],
        [E::GradeCorrected {
            grade: Grade::Memuaskan,
            ..
        }]
    ));
    assert_eq!(p.state.grade, Some(Grade::Memuaskan));
    // Once graded, a correction may change the score, never into a fail:
    // a grade stands only on a passed final seminar.
    says(
        &precondition(p.refused(
            examiner(),
            C::CorrectFinalSeminar {
                ratings: ratings(),
                score: 30,
                notes: String::new(),
                reason: "Salah input".into(),
            },
        )),
        "graded already",
    );
    p.ok(
        examiner(),
        C::CorrectFinalSeminar {
            ratings: ratings(),
            score: 80,
            notes: String::new(),
            reason: "Rekap berita acara".into(),
        },
    );
    assert_eq!(Grade::Memuaskan.label(), "memuaskan");
    assert_eq!(Grade::as_written("sangat_memuaskan"), "sangat memuaskan");
}

#[test]
fn adoption_needs_the_final_seminar_the_grade_and_the_mentors_endorsement() {
    let mut p = all_short_approved();
    p.ok(
        participant(),
        C::SubmitFinalReport {
            summary: "Selesai".into(),
            attachments: vec![file("laporan.pdf")],
        },
    );
    says(
        &precondition(p.refused(
            mentor(),
            C::EndorseAdoption {
                note: String::new(),
            },
        )),
        "final seminar",
    );
    p.ok(
        examiner(),
        C::RecordFinalSeminar {
            ratings: ratings(),
            score: 90,
            notes: String::new(),
        },
    );
    says(
        &precondition(p.refused(
            mentor(),
            C::EndorseAdoption {
                note: String::new(),
            },
        )),
        "final grade",
    );
    p.ok(
        organizer(),
        C::SetGrade {
            grade: Grade::SangatMemuaskan,
        },
    );
    says(
        &forbidden(p.refused(
            organizer(),
            C::EndorseAdoption {
                note: String::new(),
            },
        )),
        "only mentor may",
    );
    let events = p.ok(
        mentor(),
        C::EndorseAdoption {
            note: "Unit melanjutkan".into(),
        },
    );
    assert_eq!(
        state_change(&events),
        Some(("piloted".into(), "adopted".into()))
    );
}

#[test]
fn after_adoption_medium_term_milestones_go_on_and_replication_is_recorded() {
    let mut p = adopted();
    submit(&mut p, "m4");
    p.ok(
        mentor(),
        C::ApproveMilestone {
            milestone_id: mid("m4"),
            note: String::new(),
        },
    );
    let link = p.ok(
        system(),
        C::LinkInnovation {
            innovation_id: jejak_engine::domain::values::InnovationId::parse("cp.x").unwrap(),
        },
    );
    assert_eq!(link.len(), 1);
    says(
        &forbidden(p.refused(participant(), replication("dinkes"))),
        "only mentor or brida_officer may",
    );
    let events = p.ok(mentor(), replication("dinkes"));
    assert_eq!(
        state_change(&events),
        Some(("adopted".into(), "replicated".into()))
    );
    assert!(matches!(
        p.refused(mentor(), replication("dinkes")),
        DomainError::AlreadyExists { .. }
    ));
    let events = p.ok(
        Actor::new("brida-1", Role::BridaOfficer),
        replication("disdik"),
    );
    assert_eq!(state_change(&events), None, "replicated stays replicated");
    let (state, hint) = wrong_state(p.refused(
        participant(),
        C::Withdraw {
            reason: "Pindah tugas".into(),
        },
    ));
    assert_eq!(state, "replicated");
    says(&hint, "proposed or piloted or deferred");
}

#[test]
fn graduation_is_deferred_and_resumed_by_the_organizer() {
    let mut p = piloted();
    assert_eq!(
        invalid(p.refused(
            organizer(),
            C::DeferGraduation {
                reason: String::new()
            }
        )),
        "reason"
    );
    let events = p.ok(
        organizer(),
        C::DeferGraduation {
            reason: "Sakit".into(),
        },
    );
    assert_eq!(
        state_change(&events),
        Some(("piloted".into(), "deferred".into()))
    );
    wrong_state(p.refused(
        organizer(),
        C::SetGrade {
            grade: Grade::Memuaskan,
        },
    ));
    submit(&mut p, "m1");
    let events = p.ok(organizer(), C::Resume);
    assert_eq!(
        state_change(&events),
        Some(("deferred".into(), "piloted".into()))
    );
}

#[test]
fn a_withdrawn_project_accepts_nothing_more() {
    let mut p = piloted();
    assert_eq!(
        invalid(p.refused(
            participant(),
            C::Withdraw {
                reason: String::new()
            }
        )),
        "reason"
    );
    let events = p.ok(
        participant(),
        C::Withdraw {
            reason: "Mutasi jabatan".into(),
        },
    );
    assert_eq!(
        state_change(&events),
        Some(("piloted".into(), "withdrawn".into()))
    );
    let (state, _) = wrong_state(p.refused(
        participant(),
        C::SubmitEvidence {
            milestone_id: mid("m1"),
            attachments: vec![file("a.pdf")],
            note: String::new(),
        },
    ));
    assert_eq!(state, "withdrawn");
    wrong_state(p.refused(organizer(), C::Resume));
}

#[test]
fn coaches_comment_and_auditors_change_nothing() {
    let mut p = proposed();
    assert!(matches!(
        p.ok(
            coach(),
            C::Comment {
                text: "Perjelas indikator".into()
            }
        )[..],
        [E::CommentAdded {
            role: Role::Coach,
            ..
        }]
    ));
    assert_eq!(
        invalid(p.refused(
            coach(),
            C::Comment {
                text: String::new()
            }
        )),
        "note"
    );
    says(
        &forbidden(p.refused(participant(), C::Comment { text: "x".into() })),
        "participant may not comment",
    );
    for body in [
        C::AgreeChangeArea,
        C::StartWorkplacePhase,
        C::Comment { text: "x".into() },
    ] {
        says(
            &forbidden(p.refused(Actor::new("insp-1", Role::Auditor), body)),
            "auditor may not",
        );
    }
}

#[test]
fn pkn_needs_the_coachs_readiness_before_both_seminars() {
    let mut p = Project::new(Some(workflow("change-project-pkn")));
    p.ok(participant(), propose(TrainingLevel::PknII));
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
            C::RecordProposalSeminar {
                accepted: true,
                notes: String::new(),
            },
        )),
        "coach must mark the proposal ready",
    );
    p.ok(coach(), C::MarkProposalReady);
    p.ok(
        examiner(),
        C::RecordProposalSeminar {
            accepted: true,
            notes: String::new(),
        },
    );
    p.ok(organizer(), C::StartWorkplacePhase);
    for m in ["m1", "m2", "m3"] {
        submit(&mut p, m);
        p.ok(
            mentor(),
            C::ApproveMilestone {
                milestone_id: mid(m),
                note: String::new(),
            },
        );
    }
    says(
        &precondition(p.refused(coach(), C::MarkReportReady)),
        "final report",
    );
    p.ok(
        participant(),
        C::SubmitFinalReport {
            summary: "Selesai".into(),
            attachments: vec![file("laporan.pdf")],
        },
    );
    says(
        &precondition(p.refused(
            examiner(),
            C::RecordFinalSeminar {
                ratings: ratings(),
                score: 80,
                notes: String::new(),
            },
        )),
        "coach must mark the final report ready",
    );
    p.ok(coach(), C::MarkReportReady);
    p.ok(
        examiner(),
        C::RecordFinalSeminar {
            ratings: ratings(),
            score: 80,
            notes: String::new(),
        },
    );
}

#[test]
fn pkp_has_no_proposal_seminar() {
    let mut p = Project::new(Some(workflow("change-project-pkp")));
    p.ok(participant(), propose(TrainingLevel::Pkp));
    let (_, hint) = wrong_state(p.refused(
        examiner(),
        C::RecordProposalSeminar {
            accepted: true,
            notes: String::new(),
        },
    ));
    says(&hint, "no such step");
    p.ok(mentor(), C::AgreeChangeArea);
    p.ok(
        mentor(),
        C::ApproveActionPlan {
            note: String::new(),
        },
    );
    let events = p.ok(organizer(), C::StartWorkplacePhase);
    assert_eq!(
        state_change(&events),
        Some(("proposed".into(), "piloted".into()))
    );
}

#[test]
fn the_whole_pka_journey_reaches_replicated() {
    let mut p = adopted();
    p.ok(mentor(), replication("dinkes"));
    assert_eq!(p.state.lifecycle.as_deref(), Some("replicated"));
    assert_eq!(p.state.grade, Some(Grade::Memuaskan));
}
