//! The cohort (angkatan): one run of a training, its organizer, and the
//! participants enrolled with their mentor, coach and examiners.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::values::{CohortId, Nip, OpdCode, PersonId, ProjectCode, TrainingLevel, quoted, short};
use super::{Aggregate, Command, DomainError, Role};
use crate::workflow::{WorkflowKind, WorkflowPin, WorkflowRef};

/// A participant as enrolled: who they are and where they work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ParticipantRecord")]
pub struct Participant {
    /// Who they are to jejak: their subject and actor id (opaque).
    pub person: PersonId,
    /// Civil-servant number (personal data: found through the people
    /// index, never part of an id).
    pub nip: Nip,
    /// Full name.
    pub name: String,
    /// Position (jabatan).
    pub position: String,
    /// Their OPD.
    pub opd: OpdCode,
}

/// A participant as stored: written before person ids existed, one has
/// none and is read with [`PersonId::legacy`].
#[derive(Deserialize)]
struct ParticipantRecord {
    #[serde(default)]
    person: Option<PersonId>,
    nip: Nip,
    name: String,
    position: String,
    opd: OpdCode,
}

impl From<ParticipantRecord> for Participant {
    fn from(r: ParticipantRecord) -> Self {
        Self {
            person: r.person.unwrap_or_else(|| PersonId::legacy(&r.nip)),
            nip: r.nip,
            name: r.name,
            position: r.position,
            opd: r.opd,
        }
    }
}

impl Participant {
    /// Validates a participant; `person` is the id the people index holds
    /// for their NIP.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `participant.<field>`.
    pub fn new(
        person: PersonId,
        nip: &Nip,
        name: &str,
        position: &str,
        opd: &str,
    ) -> Result<Self, DomainError> {
        Ok(Self {
            person,
            nip: nip.clone(),
            name: short("participant.name", name)?,
            position: short("participant.position", position)?,
            opd: OpdCode::parse(opd).map_err(|e| rename(e, "participant.opd"))?,
        })
    }
}

fn rename(err: DomainError, field: &str) -> DomainError {
    match err {
        DomainError::Invalid { reason, .. } => DomainError::invalid(field, reason),
        other => other,
    }
}

/// A participant with the people assigned to them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// The participant.
    pub participant: Participant,
    /// Their mentor's user id (the direct superior).
    pub mentor: String,
    /// Their coach's user id.
    pub coach: String,
    /// Their examiners' user ids.
    pub examiners: Vec<String>,
    /// Their place in the order of enrolment in the cohort, from 1 (set by
    /// the cohort when it enrols them; 0 in enrolments written before).
    #[serde(default)]
    pub ordinal: u32,
}

impl Enrollment {
    /// Validates an enrollment: a mentor, a coach, one to five distinct
    /// examiners, nobody assigned to themselves, and nobody in two of
    /// these parts (the examiners judge what the mentor and coach
    /// guided; the coach comes from the provider, the mentor is the
    /// participant's superior).
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming the field.
    pub fn new(
        participant: Participant,
        mentor: &str,
        coach: &str,
        examiners: &[String],
    ) -> Result<Self, DomainError> {
        let mentor = short("mentor", mentor)?;
        let coach = short("coach", coach)?;
        if examiners.is_empty() || examiners.len() > 5 {
            return Err(DomainError::invalid(
                "examiners",
                "name one to five examiners",
            ));
        }
        let examiners = examiners
            .iter()
            .enumerate()
            .map(|(i, e)| short(&format!("examiners[{i}]"), e))
            .collect::<Result<Vec<_>, _>>()?;
        let mut unique = examiners.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != examiners.len() {
            return Err(DomainError::invalid(
                "examiners",
                "an examiner is named twice",
            ));
        }
        let me = |id: &str| id == participant.nip.as_str() || id == participant.person.as_str();
        if me(&mentor) || me(&coach) || examiners.iter().any(|e| me(e)) {
            return Err(DomainError::invalid(
                "mentor",
                "a participant cannot be their own mentor, coach or examiner",
            ));
        }
        if mentor == coach {
            return Err(DomainError::invalid(
                "coach",
                format!(
                    "{} is already the mentor; the coach is another person (a widyaiswara of the provider)",
                    quoted(&coach)
                ),
            ));
        }
        if let Some(both) = examiners.iter().find(|e| **e == mentor || **e == coach) {
            return Err(DomainError::invalid(
                "examiners",
                format!(
                    "{} is already the {}; an examiner judges the work independently, name another",
                    quoted(both),
                    if *both == mentor { "mentor" } else { "coach" }
                ),
            ));
        }
        Ok(Self {
            participant,
            mentor,
            coach,
            examiners,
            ordinal: 0,
        })
    }

    /// The short code of the participant's project in `cohort`, e.g.
    /// `pka-2026-9/017`; `None` for an enrolment written before codes.
    pub fn code(&self, cohort: &CohortId) -> Option<ProjectCode> {
        (self.ordinal > 0).then(|| ProjectCode::new(cohort, self.ordinal))
    }
}

/// What a change project needs to know of its cohort.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CohortFacts {
    /// The cohort.
    pub cohort_id: CohortId,
    /// Its training level.
    pub level: TrainingLevel,
    /// Its organizer.
    pub organizer: String,
    /// First day of the training.
    pub starts_on: NaiveDate,
    /// Last day of the training.
    pub ends_on: NaiveDate,
    /// The change-project workflow its projects start under.
    pub workflow: String,
    /// The version of it the cohort pinned; `None` only for cohorts opened
    /// before cohorts pinned a version (their projects take the newest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<u32>,
}

/// Commands on a cohort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CohortCommand {
    /// Open a new cohort; the acting organizer runs it.
    Open {
        /// Its id.
        cohort_id: CohortId,
        /// Training level.
        level: TrainingLevel,
        /// Training provider (penyelenggara), e.g. "BPSDM Provinsi Banten".
        provider: String,
        /// Year.
        year: i32,
        /// Cohort number within level, provider and year.
        number: u32,
        /// First day.
        starts_on: NaiveDate,
        /// Last day.
        ends_on: NaiveDate,
        /// The change-project workflow; the level's default when `None`.
        /// The cohort pins a version of it (resolved by the command
        /// handler), which the organizer must be allowed to use.
        workflow: Option<String>,
        /// The version to pin; the newest when `None`.
        workflow_version: Option<u32>,
    },
    /// Move the cohort's projects to another workflow (or version of it):
    /// only its organizer, and only while none of its projects has left
    /// the workflow's initial state.
    ChangeWorkflow {
        /// The workflow's name.
        workflow: String,
        /// Its version; `None`: the newest.
        version: Option<u32>,
        /// The lifecycle state of each of the cohort's projects that exists,
        /// by project id (read by the command handler).
        projects: BTreeMap<String, String>,
    },
    /// Enrol a participant with mentor, coach and examiners.
    Enrol(Enrollment),
    /// Change the people assigned to an enrolled participant.
    Reassign(Enrollment),
    /// Correct what the enrolment recorded of an enrolled participant:
    /// their name, position or OPD (the participant as it should read;
    /// their person and NIP are who they are and stay).
    AmendEnrolment(Participant),
}

/// What happened to a cohort.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CohortEvent {
    /// The cohort was opened.
    CohortOpened {
        /// Its id.
        cohort_id: CohortId,
        /// Level.
        level: TrainingLevel,
        /// Provider.
        provider: String,
        /// Year.
        year: i32,
        /// Number.
        number: u32,
        /// Organizer's user id.
        organizer: String,
        /// First day.
        starts_on: NaiveDate,
        /// Last day.
        ends_on: NaiveDate,
        /// The change-project workflow of its projects.
        workflow: String,
        /// The version of it pinned (absent in cohorts opened before pinning).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workflow_version: Option<u32>,
    },
    /// The organizer moved the cohort's projects to another workflow version.
    CohortWorkflowChanged {
        /// The workflow's name.
        workflow: String,
        /// The version now pinned.
        workflow_version: u32,
        /// The projects (all still in the initial state) moved with it.
        projects: Vec<String>,
    },
    /// A participant was enrolled.
    ParticipantEnrolled {
        /// The enrollment.
        enrollment: Enrollment,
    },
    /// Mentor, coach or examiners of a participant changed.
    StaffReassigned {
        /// The new enrollment.
        enrollment: Enrollment,
    },
    /// The organizer corrected a participant's name, position or OPD
    /// (personal fields sealed like the enrolment's, ADR 0022).
    EnrolmentAmended {
        /// The participant as the enrolment now reads.
        participant: Participant,
    },
}

/// A cohort as folded from its events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CohortState {
    /// Facts fixed when it opened; `None` before.
    pub facts: Option<CohortFacts>,
    /// Provider.
    pub provider: String,
    /// Year.
    pub year: i32,
    /// Number.
    pub number: u32,
    /// Enrolled participants by person.
    pub enrollments: BTreeMap<PersonId, Enrollment>,
}

/// Whether `actor` may run a cohort under `workflow`: a change-project
/// definition that is global or their own provider's.
fn usable(workflow: &crate::workflow::Workflow, actor: &super::Actor) -> Result<(), DomainError> {
    if workflow.kind != WorkflowKind::ChangeProject {
        return Err(DomainError::invalid(
            "workflow",
            format!(
                "{} is a {} workflow, not a change-project one",
                workflow.name,
                workflow.kind.as_str()
            ),
        ));
    }
    if !workflow.usable_by(actor.provider.as_deref()) {
        return Err(DomainError::forbidden(format!(
            "workflow {} belongs to {}; a cohort runs under a global workflow or one of its own provider's",
            workflow.name,
            workflow.owner_label()
        )));
    }
    Ok(())
}

/// The cohort decider.
#[derive(Debug)]
pub struct Cohort;

impl Aggregate for Cohort {
    const KIND: &'static str = "cohort";
    const LABEL: &'static str = "cohort";
    const SNAPSHOT_VERSION: u32 = 2;
    const PERSONAL: bool = true;
    type State = CohortState;
    type Command = CohortCommand;
    type Event = CohortEvent;

    fn decide(
        state: &CohortState,
        command: &Command<CohortCommand>,
    ) -> Result<Vec<CohortEvent>, DomainError> {
        let actor = &command.actor;
        if actor.role != Role::Organizer {
            return Err(DomainError::forbidden(format!(
                "{} may not run cohorts; organizers do",
                actor.role.a()
            )));
        }
        match &command.body {
            CohortCommand::Open {
                cohort_id,
                level,
                provider,
                year,
                number,
                starts_on,
                ends_on,
                workflow: _,
                workflow_version: _,
            } => {
                if state.facts.is_some() {
                    return Err(DomainError::AlreadyExists {
                        what: "cohort",
                        id: cohort_id.to_string(),
                    });
                }
                let pinned = command.workflow()?;
                usable(pinned, actor)?;
                let provider = short("provider", provider)?;
                if !(2000..=2100).contains(year) {
                    return Err(DomainError::invalid(
                        "year",
                        format!("{year} is not a plausible training year"),
                    ));
                }
                if *number == 0 {
                    return Err(DomainError::invalid("number", "cohort numbers start at 1"));
                }
                if ends_on <= starts_on {
                    return Err(DomainError::invalid(
                        "ends_on",
                        "the training must end after it starts",
                    ));
                }
                if (*ends_on - *starts_on).num_days() > 366 {
                    return Err(DomainError::invalid(
                        "ends_on",
                        "a training lasts at most a year",
                    ));
                }
                Ok(vec![CohortEvent::CohortOpened {
                    cohort_id: cohort_id.clone(),
                    level: *level,
                    provider,
                    year: *year,
                    number: *number,
                    organizer: actor.id.clone(),
                    starts_on: *starts_on,
                    ends_on: *ends_on,
                    workflow: pinned.name.clone(),
                    workflow_version: Some(pinned.version),
                }])
            }
            CohortCommand::ChangeWorkflow { projects, .. } => {
                let facts = state.facts.as_ref().ok_or(DomainError::NotFound {
                    what: "cohort",
                    id: String::new(),
                })?;
                if facts.organizer != actor.id {
                    return Err(DomainError::forbidden(format!(
                        "only the organizer of cohort {} may move it to another workflow",
                        facts.cohort_id
                    )));
                }
                let target = command.workflow()?;
                usable(target, actor)?;
                if let Some((project, lifecycle)) =
                    projects.iter().find(|(_, l)| **l != target.initial)
                {
                    return Err(DomainError::WrongState {
                        command: "move the cohort to another workflow".into(),
                        kind: "change project",
                        state: lifecycle.clone(),
                        hint: format!(
                            "project {project} has left '{}'; a cohort keeps its workflow once any of its projects moved on",
                            target.initial
                        ),
                    });
                }
                if facts.workflow == target.name && facts.workflow_version == Some(target.version) {
                    return Ok(vec![]);
                }
                Ok(vec![CohortEvent::CohortWorkflowChanged {
                    workflow: target.name.clone(),
                    workflow_version: target.version,
                    projects: projects.keys().cloned().collect(),
                }])
            }
            CohortCommand::AmendEnrolment(participant) => {
                let facts = state.facts.as_ref().ok_or(DomainError::NotFound {
                    what: "cohort",
                    id: String::new(),
                })?;
                if facts.organizer != actor.id {
                    return Err(DomainError::forbidden(format!(
                        "only the organizer of cohort {} may amend an enrolment",
                        facts.cohort_id
                    )));
                }
                let Some(current) = state.enrollments.get(&participant.person) else {
                    return Err(DomainError::NotFound {
                        what: "enrollment of",
                        id: "this participant".to_owned(),
                    });
                };
                if current.participant.nip != participant.nip {
                    return Err(DomainError::invalid(
                        "participant.nip",
                        "a NIP names who the participant is and is not amended; \
                         enrol the person with the right NIP instead",
                    ));
                }
                if current.participant == *participant {
                    return Ok(vec![]);
                }
                Ok(vec![CohortEvent::EnrolmentAmended {
                    participant: participant.clone(),
                }])
            }
            CohortCommand::Enrol(enrollment) | CohortCommand::Reassign(enrollment) => {
                let facts = state.facts.as_ref().ok_or(DomainError::NotFound {
                    what: "cohort",
                    id: String::new(),
                })?;
                if facts.organizer != actor.id {
                    return Err(DomainError::forbidden(format!(
                        "only the organizer of cohort {} may enrol or reassign",
                        facts.cohort_id
                    )));
                }
                let participant = &enrollment.participant;
                if matches!(command.body, CohortCommand::Enrol(_)) {
                    participant
                        .nip
                        .check_dates("participant.nip", command.today())?;
                }
                let enrolled = state.enrollments.get(&participant.person);
                // Who the participant is to others: their code, never their NIP.
                let who = |e: &Enrollment| {
                    e.code(&facts.cohort_id)
                        .map_or_else(|| "the participant".to_owned(), |c| c.to_string())
                };
                match (&command.body, enrolled) {
                    (CohortCommand::Enrol(_), Some(current)) => Err(DomainError::AlreadyExists {
                        what: "enrollment of",
                        id: who(current),
                    }),
                    (CohortCommand::Enrol(_), None) => {
                        if let Some(other) = state
                            .enrollments
                            .values()
                            .find(|e| e.participant.nip == participant.nip)
                        {
                            return Err(DomainError::AlreadyExists {
                                what: "enrollment of",
                                id: who(other),
                            });
                        }
                        let mut enrollment = enrollment.clone();
                        enrollment.ordinal =
                            u32::try_from(state.enrollments.len() + 1).map_err(|_| {
                                DomainError::invalid("participant", "the cohort is full")
                            })?;
                        Ok(vec![CohortEvent::ParticipantEnrolled { enrollment }])
                    }
                    (_, None) => Err(DomainError::NotFound {
                        what: "enrollment of",
                        id: "this participant".to_owned(),
                    }),
                    (_, Some(current)) => {
                        let mut enrollment = enrollment.clone();
                        enrollment.ordinal = current.ordinal;
                        // A reassignment changes the staff; the participant
                        // reads as enrolled (amended by `AmendEnrolment`).
                        enrollment.participant = current.participant.clone();
                        if *current == enrollment {
                            Ok(vec![])
                        } else {
                            Ok(vec![CohortEvent::StaffReassigned { enrollment }])
                        }
                    }
                }
            }
        }
    }

    fn evolve(mut state: CohortState, event: &CohortEvent) -> CohortState {
        match event {
            CohortEvent::CohortOpened {
                cohort_id,
                level,
                provider,
                year,
                number,
                organizer,
                starts_on,
                ends_on,
                workflow,
                workflow_version,
            } => {
                state.facts = Some(CohortFacts {
                    cohort_id: cohort_id.clone(),
                    level: *level,
                    organizer: organizer.clone(),
                    starts_on: *starts_on,
                    ends_on: *ends_on,
                    workflow: workflow.clone(),
                    workflow_version: *workflow_version,
                });
                state.provider.clone_from(provider);
                state.year = *year;
                state.number = *number;
            }
            CohortEvent::CohortWorkflowChanged {
                workflow,
                workflow_version,
                ..
            } => {
                if let Some(facts) = state.facts.as_mut() {
                    facts.workflow.clone_from(workflow);
                    facts.workflow_version = Some(*workflow_version);
                }
            }
            CohortEvent::ParticipantEnrolled { enrollment }
            | CohortEvent::StaffReassigned { enrollment } => {
                state
                    .enrollments
                    .insert(enrollment.participant.person.clone(), enrollment.clone());
            }
            CohortEvent::EnrolmentAmended { participant } => {
                if let Some(enrollment) = state.enrollments.get_mut(&participant.person) {
                    enrollment.participant = participant.clone();
                }
            }
        }
        state
    }

    fn command_name(command: &CohortCommand) -> &'static str {
        match command {
            CohortCommand::Open { .. } => "open",
            CohortCommand::Enrol(_) => "enrol",
            CohortCommand::Reassign(_) => "reassign",
            CohortCommand::ChangeWorkflow { .. } => "change_workflow",
            CohortCommand::AmendEnrolment(_) => "amend_enrolment",
        }
    }

    fn workflow_of(_: &CohortState) -> Option<&WorkflowRef> {
        None
    }

    fn workflow_for_new(command: &CohortCommand) -> Option<WorkflowPin> {
        match command {
            CohortCommand::Open {
                level,
                workflow,
                workflow_version,
                ..
            } => Some(WorkflowPin {
                name: workflow
                    .clone()
                    .unwrap_or_else(|| level.default_workflow().to_owned()),
                version: *workflow_version,
            }),
            CohortCommand::ChangeWorkflow {
                workflow, version, ..
            } => Some(WorkflowPin {
                name: workflow.clone(),
                version: *version,
            }),
            CohortCommand::Enrol(_)
            | CohortCommand::Reassign(_)
            | CohortCommand::AmendEnrolment(_) => None,
        }
    }
}
