//! The domain: cohorts, change projects and regional innovations as
//! deciders, and the values they are made of.
//!
//! Every aggregate is an [`Aggregate`]: a synchronous, I/O-free
//! `decide(&State, &Command) -> Result<Vec<Event>, DomainError>` and an
//! `evolve(State, &Event) -> State` without business logic. Time, ids, the
//! acting person and the workflow definition arrive with the [`Command`].

pub mod change_project;
pub mod cohort;
pub mod innovation;
pub mod units;
pub mod values;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::workflow::{Guard, SignOff, Workflow, WorkflowPin, WorkflowRef};
use values::OpdCode;

/// The roles people act in (DOMAIN.md, "Roles"), plus the system itself
/// for process managers and timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Peserta: drafts and proposes their own change project.
    Participant,
    /// Mentor (atasan langsung): approves or returns proposal and milestones.
    Mentor,
    /// Coach (widyaiswara): comments, marks ready for seminar.
    Coach,
    /// Penguji: records seminar results.
    Examiner,
    /// Penyelenggara: runs cohorts, grades.
    Organizer,
    /// Admin inovasi of one OPD.
    InnovationOfficer,
    /// BRIDA officer: innovation officer for all OPDs.
    BridaOfficer,
    /// Auditor / inspektorat: reads everything, changes nothing.
    Auditor,
    /// Operator of a jejak server: projections and workflow listings; no
    /// decision in any project or innovation.
    Admin,
    /// jejak itself (process managers, timers).
    System,
}

impl Role {
    /// Every role.
    pub const ALL: [Self; 10] = [
        Self::Participant,
        Self::Mentor,
        Self::Coach,
        Self::Examiner,
        Self::Organizer,
        Self::InnovationOfficer,
        Self::BridaOfficer,
        Self::Auditor,
        Self::Admin,
        Self::System,
    ];

    /// The role's name in files, tokens and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Participant => "participant",
            Self::Mentor => "mentor",
            Self::Coach => "coach",
            Self::Examiner => "examiner",
            Self::Organizer => "organizer",
            Self::InnovationOfficer => "innovation_officer",
            Self::BridaOfficer => "brida_officer",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
            Self::System => "system",
        }
    }

    /// Parses a role name.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `role` and listing the roles.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let v = value.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == v)
            .ok_or_else(|| {
                DomainError::invalid(
                    "role",
                    format!(
                        "{} is not a role; use one of {}",
                        values::quoted(value),
                        Self::ALL.map(Self::as_str).join(", ")
                    ),
                )
            })
    }
}

impl Role {
    /// The role with its article, as a sentence says it: `an examiner`,
    /// `a mentor`.
    #[must_use]
    pub fn a(self) -> String {
        let name = self.as_str();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {name}")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is acting: a person (id is a user id or NIP) in a role, and for
/// innovation officers the OPD they act for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User id or NIP.
    pub id: String,
    /// The role they act in.
    pub role: Role,
    /// The OPD an innovation officer acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opd: Option<OpdCode>,
    /// The training provider an organizer acts for (a code such as
    /// `bpsdm-banten`): whose workflow definitions they may change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl Actor {
    /// A person acting in a role.
    pub fn new(id: impl Into<String>, role: Role) -> Self {
        Self {
            id: id.into(),
            role,
            opd: None,
            provider: None,
        }
    }

    /// An organizer acting for training provider `provider`.
    pub fn organizer_of(id: impl Into<String>, provider: impl Into<String>) -> Self {
        Self {
            provider: Some(provider.into()),
            ..Self::new(id, Role::Organizer)
        }
    }

    /// An innovation officer of `opd`.
    pub fn officer(id: impl Into<String>, opd: OpdCode) -> Self {
        Self {
            opd: Some(opd),
            ..Self::new(id, Role::InnovationOfficer)
        }
    }

    /// jejak itself, for process managers and timers.
    pub fn system(what: &str) -> Self {
        Self::new(format!("jejak:{what}"), Role::System)
    }
}

/// Why the domain refused a command. Each says what is wrong and what
/// would make it right.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field is missing or malformed.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field, as the caller named it (`milestones[2].due`).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The actor may not do this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The thing acted on does not exist.
    #[error("{what} {id} does not exist")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Creating something that exists already.
    #[error("{what} {id} already exists")]
    AlreadyExists {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The command does not fit the current lifecycle state.
    #[error("cannot {command} while the {kind} is {state}: {hint}")]
    WrongState {
        /// The command.
        command: String,
        /// `change project` or `innovation`.
        kind: &'static str,
        /// The current state.
        state: String,
        /// Which states allow it, or which transition would be needed.
        hint: String,
    },
    /// A guard or sign-off of the workflow is not met yet.
    #[error("cannot {command} yet: {missing}")]
    Precondition {
        /// The command.
        command: String,
        /// What is missing, in words.
        missing: String,
    },
}

impl DomainError {
    /// An invalid field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    /// A refusal for lack of rights.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden(reason.into())
    }
}

/// A command with everything the decider needs that is not in the state.
#[derive(Clone, Debug)]
pub struct Command<C> {
    /// Who acts.
    pub actor: Actor,
    /// When (from the injected clock).
    pub at: DateTime<Utc>,
    /// The region's offset from UTC at that moment (its time zone): what
    /// day "today" is.
    pub utc_offset: chrono::FixedOffset,
    /// Makes the command idempotent.
    pub request_id: String,
    /// The workflow the stream runs under (resolved by the command handler);
    /// `None` for streams without a lifecycle (cohorts).
    pub workflow: Option<Arc<Workflow>>,
    /// What to do.
    pub body: C,
}

impl<C> Command<C> {
    /// The day the command is made, where the region is.
    pub fn today(&self) -> NaiveDate {
        self.at.with_timezone(&self.utc_offset).date_naive()
    }

    /// The workflow the command is decided under.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] when the command handler resolved none.
    pub fn workflow(&self) -> Result<&Workflow, DomainError> {
        self.workflow.as_deref().ok_or_else(|| {
            DomainError::invalid(
                "workflow",
                "no workflow definition was resolved for this stream",
            )
        })
    }
}

/// A decider over one stream type.
pub trait Aggregate {
    /// The stream type; never changes once written.
    const KIND: &'static str;
    /// How people call it in messages (`change project`).
    const LABEL: &'static str;
    /// Schema version of the state for snapshots; bump when `State` changes shape.
    const SNAPSHOT_VERSION: u32;
    /// Whether its events and state carry personal fields, sealed in the
    /// log and in snapshots (ADR 0022).
    const PERSONAL: bool = false;
    /// The state folded from events.
    type State: Default + Clone + fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What can be asked of it.
    type Command: fmt::Debug + Send + Sync;
    /// What it records.
    type Event: Clone + fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync;

    /// Decides what happens; no I/O.
    ///
    /// # Errors
    /// [`DomainError`] with a reason a person can act on.
    fn decide(
        state: &Self::State,
        command: &Command<Self::Command>,
    ) -> Result<Vec<Self::Event>, DomainError>;

    /// Applies one event; no business logic.
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;

    /// The workflow command name of `command` (`approve_milestone`).
    fn command_name(command: &Self::Command) -> &'static str;

    /// The workflow the stream runs under, once it exists.
    fn workflow_of(state: &Self::State) -> Option<&WorkflowRef>;

    /// The workflow a creating command starts the stream under (by name,
    /// and a pinned version or the newest), or the one a command on a
    /// stream without a lifecycle needs (a cohort pinning its projects'
    /// workflow). `None` when it needs none.
    fn workflow_for_new(_command: &Self::Command) -> Option<WorkflowPin> {
        None
    }

    /// Whether `actor` may learn that this stream exists: someone it is
    /// none of the business of is answered as if it did not exist, before
    /// anything else is decided, so that no refusal tells them what it
    /// holds. Every stream is everyone's business unless an aggregate says
    /// otherwise.
    fn concerns(_state: &Self::State, _actor: &Actor) -> bool {
        true
    }

    /// The person whose data key seals what the stream's events say of
    /// other people without naming a participant themselves (a revised
    /// proposal's team and stakeholders: ADR 0024). `None` by default.
    fn personal_owner(_state: &Self::State) -> Option<&str> {
        None
    }

    /// Folds events into a state.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::State
    where
        Self::Event: 'a,
    {
        events
            .into_iter()
            .fold(Self::State::default(), Self::evolve)
    }
}

/// What a workflow asks of an aggregate's state: guards and sign-offs.
pub trait WorkflowSubject: Aggregate {
    /// The lifecycle state, `None` before the stream exists.
    fn lifecycle(state: &Self::State) -> Option<&str>;
    /// Whether `guard` holds for `command` on `state`.
    fn guard_holds(state: &Self::State, guard: Guard, command: &Command<Self::Command>) -> bool;
    /// Whether `sign_off` was given.
    fn signed(state: &Self::State, sign_off: SignOff) -> bool;
}
