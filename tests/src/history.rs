//! Random but meaningful histories, written through the engine's own
//! commands: a cohort with a few change projects and a few innovations,
//! each moved by the people who would rightly act, with returns,
//! deferrals, withdrawals, dormancy and replication mixed in. Refusals are
//! part of the game and are ignored.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate};
use jejak_engine::domain::change_project::{
    Agreement, ChangeProject, Goals, Grade, MilestonePlan, ProjectCommand as P, Proposal,
    Replication, Stakeholder, TargetRating, TeamMember,
};
use jejak_engine::domain::cohort::{Cohort, CohortCommand, Enrollment, Participant};
use jejak_engine::domain::innovation::{Form, Innovation, InnovationCommand as I, Profile, Source};
use jejak_engine::domain::values::{
    Attachment, CohortId, Horizon, InnovationId, Level3, MilestoneId, Nip, OpdCode, PersonId,
    ProjectId, Rating, TrainingLevel,
};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::{CommandError, Context, Engine};
use proptest::prelude::*;

/// One step of a history: which thing, which move.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// Move number `op` on project number `project`.
    Project {
        /// Which participant's project (0–3).
        project: u8,
        /// Which move.
        op: u8,
    },
    /// Move number `op` on innovation number `innovation`.
    Innovation {
        /// Which innovation (0–4).
        innovation: u8,
        /// Which move.
        op: u8,
    },
}

/// Histories of up to `max` steps.
pub fn steps(max: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        (0u8..4, 0u8..23).prop_map(|(project, op)| Step::Project { project, op }),
        (0u8..5, 0u8..11).prop_map(|(innovation, op)| Step::Innovation { innovation, op }),
    ];
    prop::collection::vec(step, 1..max)
}

/// The OPDs of the history's people and innovations.
pub const OPDS: [&str; 4] = ["dpmptsp", "dinkes", "disdukcapil", "bappeda"];

/// The NIP of the history's participant `i` (their name is `Peserta {i}`).
pub fn nip(i: u8) -> String {
    format!("19870315201001100{}", i + 1)
}

fn date(day: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .checked_add_days(Days::new(day))
        .unwrap()
}

fn file() -> Attachment {
    Attachment::new(
        "attachments[0]",
        &"ef".repeat(32),
        "https://arsip.example/bukti.pdf",
        "bukti.pdf",
        "application/pdf",
    )
    .expect("a valid attachment")
}

fn mid(id: &str) -> MilestoneId {
    MilestoneId::parse(id).expect("a valid milestone id")
}

/// Opens the cohort and enrols four participants.
///
/// # Errors
/// When the engine fails.
pub async fn setup(engine: &Engine) -> Result<(), CommandError> {
    let organizer = Actor::new("organizer-1", Role::Organizer);
    let open = CohortCommand::Open {
        cohort_id: CohortId::parse("pka-2026-1")?,
        level: TrainingLevel::Pka,
        provider: "BPSDM Provinsi Banten".into(),
        year: 2026,
        number: 1,
        starts_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        ends_on: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        workflow: None,
        workflow_version: None,
    };
    engine
        .execute::<Cohort>(
            "pka-2026-1",
            &Context::new(organizer.clone(), "setup-open"),
            open,
        )
        .await?;
    for i in 0..4u8 {
        let number = Nip::parse(&nip(i))?;
        let person = engine.store().person_for_nip(&number).await?;
        let participant = Participant::new(
            person,
            &number,
            &format!("Peserta {i}"),
            "Kepala Seksi",
            OPDS[usize::from(i % 3)],
        )?;
        let enrollment = Enrollment::new(
            participant,
            &format!("mentor-{}", i % 2),
            "coach-1",
            &["examiner-1".to_string()],
        )?;
        let ctx = Context::new(organizer.clone(), format!("setup-enrol-{i}"));
        engine
            .execute::<Cohort>("pka-2026-1", &ctx, CohortCommand::Enrol(enrollment))
            .await?;
    }
    Ok(())
}

/// The id of the history's project `project` (its participant's, in the
/// history's cohort), once [`setup`] enrolled them.
///
/// # Panics
/// Before [`setup`].
pub async fn project_id(engine: &Engine, project: u8) -> String {
    let cohort = engine
        .get::<Cohort>("pka-2026-1")
        .await
        .expect("the cohort reads")
        .expect("set up")
        .state;
    let person = person_of(project, &cohort).expect("enrolled");
    ProjectId::for_participant(&CohortId::parse("pka-2026-1").expect("an id"), &person).to_string()
}

/// The person id of the history's participant `project`.
fn person_of(project: u8, cohort: &jejak_engine::domain::cohort::CohortState) -> Option<PersonId> {
    cohort
        .enrollments
        .values()
        .find(|e| e.participant.nip.as_str() == nip(project))
        .map(|e| e.participant.person.clone())
}

/// The name of the stakeholder that participant `project`'s proposal names.
pub fn stakeholder(project: u8) -> String {
    format!("Pemangku Kepentingan {project}")
}

/// The name of the team member that participant `project`'s proposal names.
pub fn team_member(project: u8) -> String {
    format!("Anggota Tim {project}")
}

/// The proposal of the history's participant `project`: it names a
/// stakeholder and a team member, other people whose names are personal.
pub fn proposal(project: u8) -> Proposal {
    let milestone = |id: &str, horizon, due| MilestonePlan {
        id: mid(id),
        horizon,
        title: format!("Tahap {id}"),
        due,
        expected_output: "Notulen".into(),
    };
    Proposal {
        title: format!("Perubahan {project}"),
        change_area: "Pelayanan".into(),
        problem: "Antrian".into(),
        baseline: "3 jam".into(),
        goals: Goals {
            short_term: "Antrian daring".into(),
            medium_term: String::new(),
            long_term: String::new(),
        },
        stakeholders: vec![Stakeholder {
            name: stakeholder(project),
            internal: true,
            influence: Level3::High,
            interest: Level3::Medium,
        }],
        team: vec![TeamMember {
            name: team_member(project),
            role: "Ketua".into(),
        }],
        milestones: vec![
            milestone("m1", Horizon::Short, date(60)),
            milestone("m2", Horizon::Short, date(120)),
            milestone("m3", Horizon::Medium, date(400)),
        ],
    }
}

fn project_move(
    project: u8,
    op: u8,
    engine_cohort: &jejak_engine::domain::cohort::CohortState,
) -> Option<(Actor, P)> {
    let person = person_of(project, engine_cohort)?;
    let participant = Actor::new(person.as_str(), Role::Participant);
    let mentor = Actor::new(format!("mentor-{}", project % 2), Role::Mentor);
    let examiner = Actor::new("examiner-1", Role::Examiner);
    let organizer = Actor::new("organizer-1", Role::Organizer);
    let ratings = || {
        ["m1", "m2"]
            .map(|m| TargetRating {
                milestone_id: mid(m),
                rating: Rating::Meets,
            })
            .to_vec()
    };
    Some(match op {
        0 => {
            let enrollment = engine_cohort
                .enrollments
                .values()
                .find(|e| e.participant.nip.as_str() == nip(project))?
                .clone();
            let proposal = proposal(project);
            (
                participant,
                P::Propose {
                    cohort: engine_cohort.facts.clone()?,
                    enrollment,
                    proposal,
                },
            )
        }
        1 => (mentor, P::AgreeChangeArea),
        2 => (
            mentor,
            P::ApproveActionPlan {
                note: String::new(),
            },
        ),
        3 => (
            examiner,
            P::RecordProposalSeminar {
                accepted: true,
                notes: String::new(),
            },
        ),
        4 => (organizer, P::StartWorkplacePhase),
        5 => (
            participant,
            P::SubmitEvidence {
                milestone_id: mid("m1"),
                attachments: vec![file()],
                note: String::new(),
            },
        ),
        6 => (
            mentor,
            P::ApproveMilestone {
                milestone_id: mid("m1"),
                note: String::new(),
            },
        ),
        7 => (
            mentor,
            P::ReturnMilestone {
                milestone_id: mid("m1"),
                reason: "Kurang lengkap".into(),
            },
        ),
        8 => (
            participant,
            P::SubmitEvidence {
                milestone_id: mid("m2"),
                attachments: vec![file()],
                note: String::new(),
            },
        ),
        9 => (
            mentor,
            P::ApproveMilestone {
                milestone_id: mid("m2"),
                note: String::new(),
            },
        ),
        10 => (
            participant,
            P::SubmitFinalReport {
                summary: "Selesai".into(),
                attachments: vec![file()],
            },
        ),
        11 => (
            examiner,
            P::RecordFinalSeminar {
                ratings: ratings(),
                score: 50 + project * 10,
                notes: String::new(),
            },
        ),
        12 => (
            organizer,
            P::SetGrade {
                grade: Grade::Memuaskan,
            },
        ),
        13 => (
            mentor,
            P::EndorseAdoption {
                note: String::new(),
            },
        ),
        14 => (
            participant,
            P::Withdraw {
                reason: "Mutasi".into(),
            },
        ),
        15 => (
            organizer,
            P::DeferGraduation {
                reason: "Sakit".into(),
            },
        ),
        16 => (organizer, P::Resume),
        17 => (
            mentor,
            P::RecordReplication(Replication {
                adopter_opd: OpdCode::parse("disdik").ok()?,
                adopter_region: "Kota Serang".into(),
                agreement: Agreement::new("PKS", "1/PKS", date(300), None).ok()?,
            }),
        ),
        // Corrections and plan changes (ADR 0027).
        18 => (
            examiner,
            P::CorrectFinalSeminar {
                ratings: ratings(),
                score: 95 - project * 10,
                notes: String::new(),
                reason: "Nilai tertukar".into(),
            },
        ),
        19 => (
            organizer,
            P::CorrectGrade {
                grade: Grade::SangatMemuaskan,
                reason: "Rekap keliru".into(),
            },
        ),
        20 => {
            let mut milestones = proposal(project).milestones;
            milestones[1].due = date(150);
            (
                participant,
                P::RequestPlanChange {
                    milestones,
                    reason: "Jadwal rapat bergeser".into(),
                },
            )
        }
        21 => (
            mentor,
            P::ApprovePlanChange {
                note: String::new(),
            },
        ),
        _ => (
            Actor::new("coach-1", Role::Coach),
            P::Comment {
                text: "Catatan".into(),
            },
        ),
    })
}

fn innovation_move(innovation: u8, op: u8, day: u64) -> (Actor, I) {
    let opd = OPDS[usize::from(innovation % 2)];
    let officer = Actor::officer("officer", OpdCode::parse(opd).expect("a valid OPD"));
    let id = InnovationId::parse(&format!("inv-{innovation}")).expect("a valid id");
    let body = match op {
        0 => I::Register {
            innovation_id: id,
            profile: Profile {
                name: format!("Inovasi {innovation}"),
                opd: OpdCode::parse(opd).expect("a valid OPD"),
                unit: None,
                region: "Kota Cilegon".into(),
                source: if innovation.is_multiple_of(2) {
                    Source::OpdInitiative
                } else {
                    Source::HealthCompetition
                },
                initiator_type: "ASN".into(),
                form: Form::PublicService,
                digital: innovation.is_multiple_of(2),
                sector: "pelayanan".into(),
                sdgs: BTreeSet::from([3, 16]),
                goal: "Layanan lebih cepat".into(),
                benefit: "Warga terlayani".into(),
                budget: None,
                legal_basis: None,
            },
            origin: None,
        },
        1 => I::JudgeFeasibility {
            feasible: true,
            notes: String::new(),
        },
        2 => I::Designate {
            decree_number: format!("SK {innovation}"),
            decree_date: date(day),
        },
        3 => I::StartPilot { on: date(day) },
        4 => I::EvaluatePilot {
            on: date(day),
            evaluation: "Baik".into(),
        },
        5 => I::Implement {
            on: date(day),
            budget_line: "5.1".into(),
        },
        6 => I::MarkDormant {
            on: date(day),
            reason: "Vakum".into(),
        },
        7 => I::Resume { on: date(day) },
        8 => I::RecordReplication {
            adopter_opd: OpdCode::parse(OPDS[usize::from(2 + day as u8 % 2)]).expect("a valid OPD"),
            adopter_region: format!("Kabupaten {}", day % 3),
            agreement: Agreement::new("MoU", "2/MoU", date(day), None).expect("a valid agreement"),
        },
        9 => I::AddEvidence {
            indicator: "regulasi".into(),
            attachment: file(),
        },
        _ => I::RecordAward {
            title: "Top Inovasi".into(),
            year: 2026,
            awarded_by: "KemenPAN-RB".into(),
        },
    };
    (officer, body)
}

/// Runs `steps` through `engine` (after [`setup`]); refusals are skipped.
/// Returns how many commands were accepted.
///
/// # Errors
/// When the engine fails for another reason than a refusal.
pub async fn play(engine: &Engine, steps: &[Step], tag: &str) -> Result<usize, CommandError> {
    let cohort = engine
        .get::<Cohort>("pka-2026-1")
        .await?
        .map(|c| c.state)
        .unwrap_or_default();
    let mut accepted = 0;
    for (i, step) in steps.iter().enumerate() {
        let request = format!("{tag}-{i}");
        let result = match *step {
            Step::Project { project, op } => {
                let Some((actor, body)) = project_move(project, op, &cohort) else {
                    continue;
                };
                let Some(person) = person_of(project, &cohort) else {
                    continue;
                };
                let id = ProjectId::for_participant(&CohortId::parse("pka-2026-1")?, &person)
                    .to_string();
                engine
                    .execute::<ChangeProject>(&id, &Context::new(actor, request), body)
                    .await
            }
            Step::Innovation { innovation, op } => {
                let (actor, body) = innovation_move(innovation, op, 10 + i as u64);
                engine
                    .execute::<Innovation>(
                        &format!("inv-{innovation}"),
                        &Context::new(actor, request),
                        body,
                    )
                    .await
            }
        };
        match result {
            Ok(_) => accepted += 1,
            Err(CommandError::Domain(_)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(accepted)
}
