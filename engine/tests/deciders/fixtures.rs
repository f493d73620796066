//! A harness in the shape of given / when / then, and the people and
//! papers of a typical PKA cohort.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use jejak_engine::domain::change_project::{
    Goals, MilestonePlan, ProjectCommand, Proposal, Stakeholder, TeamMember,
};
use jejak_engine::domain::cohort::{CohortFacts, Enrollment, Participant};
use jejak_engine::domain::values::{
    Attachment, CohortId, Horizon, Level3, MilestoneId, Nip, OpdCode, PersonId, TrainingLevel,
};
use jejak_engine::domain::{Actor, Aggregate, Command, DomainError, Role};
use jejak_engine::workflow::{Workflow, WorkflowRegistry};

pub const NIP: &str = "198703152010011003";
pub const OTHER_NIP: &str = "199001012015032001";
/// The person id the people index holds for [`NIP`].
pub const PERSON: &str = "0192f5e4-7c1a-7b3e-9d2a-5f0c8e1b2a3d";
/// Another participant's person id.
pub const OTHER_PERSON: &str = "0192f5e4-7c1a-7b3e-9d2a-5f0c8e1b2a3e";

/// A participant with NIP `nip`, named by [`PERSON`] (the NIP checked as
/// the server checks it).
pub fn someone(
    nip: &str,
    name: &str,
    position: &str,
    opd: &str,
) -> Result<Participant, DomainError> {
    let nip = Nip::parse_field("participant.nip", nip)?;
    Participant::new(PersonId::parse(PERSON)?, &nip, name, position, opd)
}

pub fn workflow(name: &str) -> Arc<Workflow> {
    let all = WorkflowRegistry::defaults().expect("the shipped workflows load");
    Arc::new(
        all.into_iter()
            .find(|w| w.name == name)
            .expect("a shipped workflow"),
    )
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap()
}

pub fn participant() -> Actor {
    Actor::new(PERSON, Role::Participant)
}
pub fn mentor() -> Actor {
    Actor::new("mentor-1", Role::Mentor)
}
pub fn coach() -> Actor {
    Actor::new("coach-1", Role::Coach)
}
pub fn examiner() -> Actor {
    Actor::new("examiner-1", Role::Examiner)
}
pub fn organizer() -> Actor {
    Actor::new("organizer-1", Role::Organizer)
}
pub fn system() -> Actor {
    Actor::system("test")
}

pub fn cohort(level: TrainingLevel) -> CohortFacts {
    CohortFacts {
        cohort_id: CohortId::parse("pka-2026-1").unwrap(),
        level,
        organizer: "organizer-1".into(),
        starts_on: date(2026, 3, 1),
        ends_on: date(2026, 6, 30),
        workflow: level.default_workflow().into(),
        workflow_version: Some(1),
    }
}

pub fn enrollment() -> Enrollment {
    let p = someone(NIP, "Siti Rahmawati", "Kepala Bidang Pelayanan", "dpmptsp").unwrap();
    Enrollment::new(p, "mentor-1", "coach-1", &["examiner-1".to_string()]).unwrap()
}

pub fn milestone(id: &str, horizon: Horizon, due: NaiveDate) -> MilestonePlan {
    MilestonePlan {
        id: MilestoneId::parse(id).unwrap(),
        horizon,
        title: format!("Milestone {id}"),
        due,
        expected_output: "SK tim efektif, notulen rapat".into(),
    }
}

pub fn proposal() -> Proposal {
    Proposal {
        title: "Antrian daring perizinan berusaha".into(),
        change_area: "Pelayanan perizinan".into(),
        problem: "Antrian panjang di loket perizinan".into(),
        baseline: "Rata-rata 3 jam menunggu".into(),
        goals: Goals {
            short_term: "Antrian daring berjalan di satu loket".into(),
            medium_term: "Semua loket memakai antrian daring".into(),
            long_term: "Layanan perizinan sepenuhnya daring".into(),
        },
        stakeholders: vec![Stakeholder {
            name: "Kepala DPMPTSP".into(),
            internal: true,
            influence: Level3::High,
            interest: Level3::High,
        }],
        team: vec![TeamMember {
            name: "Budi".into(),
            role: "Koordinator".into(),
        }],
        milestones: vec![
            milestone("m1", Horizon::Short, date(2026, 4, 15)),
            milestone("m2", Horizon::Short, date(2026, 5, 15)),
            milestone("m3", Horizon::Short, date(2026, 6, 15)),
            milestone("m4", Horizon::Medium, date(2027, 3, 1)),
            milestone("m5", Horizon::Long, date(2030, 1, 1)),
        ],
    }
}

pub fn propose(level: TrainingLevel) -> ProjectCommand {
    ProjectCommand::Propose {
        cohort: cohort(level),
        enrollment: enrollment(),
        proposal: proposal(),
    }
}

pub fn file(name: &str) -> Attachment {
    Attachment::new(
        "attachments[0]",
        &"ab".repeat(32),
        &format!("https://arsip.example/{name}"),
        name,
        "application/pdf",
    )
    .unwrap()
}

pub fn mid(id: &str) -> MilestoneId {
    MilestoneId::parse(id).unwrap()
}

/// A stream under test: the events so far and its workflow.
pub struct Given<A: Aggregate> {
    pub events: Vec<A::Event>,
    pub state: A::State,
    pub workflow: Option<Arc<Workflow>>,
    pub now: DateTime<Utc>,
}

impl<A: Aggregate> Given<A> {
    pub fn new(workflow: Option<Arc<Workflow>>) -> Self {
        Self {
            events: vec![],
            state: A::State::default(),
            workflow,
            now: at(2026, 3, 10),
        }
    }

    /// When `actor` asks `body`: the events decided, or the refusal. On
    /// success the events are applied, so the next step starts from them.
    pub fn when(&mut self, actor: Actor, body: A::Command) -> Result<Vec<A::Event>, DomainError> {
        let command = Command {
            actor,
            at: self.now,
            utc_offset: chrono::FixedOffset::east_opt(0).expect("UTC"),
            request_id: "r".into(),
            workflow: self.workflow.clone(),
            body,
        };
        let events = A::decide(&self.state, &command)?;
        for e in &events {
            self.state = A::evolve(std::mem::take(&mut self.state), e);
        }
        self.events.extend(events.clone());
        Ok(events)
    }

    /// As `when`, expecting success.
    #[track_caller]
    pub fn ok(&mut self, actor: Actor, body: A::Command) -> Vec<A::Event> {
        match self.when(actor, body) {
            Ok(events) => events,
            Err(err) => panic!("expected success, was refused: {err}"),
        }
    }

    /// As `when`, expecting a refusal; nothing is applied.
    #[track_caller]
    pub fn refused(&mut self, actor: Actor, body: A::Command) -> DomainError {
        let before = self.events.len();
        match self.when(actor, body) {
            Ok(events) => panic!("expected a refusal, got {events:?}"),
            Err(err) => {
                assert_eq!(self.events.len(), before);
                err
            }
        }
    }
}

/// Asserts a refusal of a kind whose message contains `words`.
#[track_caller]
pub fn says(text: &impl ToString, words: &str) {
    let text = text.to_string();
    assert!(text.contains(words), "'{text}' does not say '{words}'");
}

#[track_caller]
pub fn forbidden(err: DomainError) -> String {
    match err {
        DomainError::Forbidden(reason) => reason,
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

#[track_caller]
pub fn precondition(err: DomainError) -> String {
    match err {
        DomainError::Precondition { missing, .. } => missing,
        other => panic!("expected Precondition, got {other:?}"),
    }
}

#[track_caller]
pub fn wrong_state(err: DomainError) -> (String, String) {
    match err {
        DomainError::WrongState { state, hint, .. } => (state, hint),
        other => panic!("expected WrongState, got {other:?}"),
    }
}

#[track_caller]
pub fn invalid(err: DomainError) -> String {
    match err {
        DomainError::Invalid { field, .. } => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

pub fn officer(opd: &str) -> Actor {
    Actor::officer("officer-1", OpdCode::parse(opd).unwrap())
}
