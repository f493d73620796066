//! Lifecycles as data: workflow definitions, their validation, and the
//! interpreter that every decision passes through.
//!
//! A definition (TOML, see `workflows/` at the repository root) names the
//! lifecycle states, and one transition per command and source state: the
//! roles that may fire it, the sign-offs it needs and its guards, each from a
//! fixed, typed vocabulary ([`Guard`], [`SignOff`]). A transition with no
//! `from` creates the stream. Loading validates everything and names the
//! file, the place and the problem. A stream records the name, version and
//! content hash of the definition it started under and is decided by exactly
//! that version for ever.

mod registry;

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

pub use registry::{DEFAULT_WORKFLOWS, WorkflowRegistry};

use crate::domain::{Command, DomainError, Role, WorkflowSubject};

/// What kind of stream a workflow drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowKind {
    /// A change project (proyek / aksi perubahan).
    ChangeProject,
    /// A regional innovation.
    Innovation,
}

impl WorkflowKind {
    /// The commands a workflow of this kind may name.
    pub fn commands(self) -> &'static [&'static str] {
        match self {
            Self::ChangeProject => crate::domain::change_project::COMMANDS,
            Self::Innovation => crate::domain::innovation::COMMANDS,
        }
    }

    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChangeProject => "change_project",
            Self::Innovation => "innovation",
        }
    }
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal, $kind:ident, $says:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant,)* }

        impl $name {
            /// Every entry of the vocabulary.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The name used in workflow files.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)* }
            }

            /// The kind of stream it applies to.
            pub fn kind(self) -> WorkflowKind {
                match self { $(Self::$variant => WorkflowKind::$kind,)* }
            }

            /// What it means, in words, as refusals say it.
            pub fn says(self) -> &'static str {
                match self { $(Self::$variant => $says,)* }
            }

            fn parse(value: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|g| g.as_str() == value)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// Conditions on a stream's state that a transition may require.
    Guard {
        /// At least one short-term milestone is planned.
        MilestonePlanPresent = "milestone_plan_present", ChangeProject, "the proposal needs at least one short-term milestone";
        /// The proposal seminar has not accepted the proposal yet.
        ProposalNotYetAccepted = "proposal_not_yet_accepted", ChangeProject, "the proposal was already accepted at its seminar";
        /// The milestone named by the command has evidence attached.
        EvidenceAttached = "evidence_attached", ChangeProject, "the milestone needs evidence attached first";
        /// The milestone named by the command waits for the mentor.
        MilestoneSubmitted = "milestone_submitted", ChangeProject, "the milestone has no submitted evidence waiting for the mentor";
        /// Every short-term milestone is approved by the mentor.
        AllShortTermMilestonesApproved = "all_short_term_milestones_approved", ChangeProject, "every short-term milestone must be approved by the mentor";
        /// The final report is in.
        FinalReportSubmitted = "final_report_submitted", ChangeProject, "the final report must be submitted";
        /// The independent team judged the innovation feasible.
        FeasibilityJudgedFeasible = "feasibility_judged_feasible", Innovation, "the innovation must be judged feasible (layak) first";
        /// The regional head designated it by decree.
        Designated = "designated", Innovation, "the innovation must be designated by decree first";
        /// The pilot was evaluated.
        PilotEvaluated = "pilot_evaluated", Innovation, "the pilot must be evaluated first";
        /// Evidence is attached to the innovation.
        InnovationEvidenceAttached = "innovation_evidence_attached", Innovation, "the innovation needs evidence for at least one indicator";
    }
);

vocabulary!(
    /// Decisions by a person in a role that a transition may require.
    SignOff {
        /// The mentor agreed the change area.
        MentorChangeArea = "mentor.change_area", ChangeProject, "the mentor must agree the change area";
        /// The mentor approved the action plan.
        MentorActionPlan = "mentor.action_plan", ChangeProject, "the mentor must approve the action plan";
        /// The coach marked the proposal ready for its seminar.
        CoachProposalReady = "coach.proposal_ready", ChangeProject, "the coach must mark the proposal ready for seminar";
        /// The examiners accepted the proposal at its seminar.
        ExaminerProposalSeminar = "examiner.proposal_seminar", ChangeProject, "the examiners must accept the proposal at its seminar";
        /// The coach marked the final report ready for its seminar.
        CoachReportReady = "coach.report_ready", ChangeProject, "the coach must mark the final report ready for seminar";
        /// The final seminar passed the project.
        ExaminerFinalSeminar = "examiner.final_seminar", ChangeProject, "the examiners must pass the project at its final seminar";
        /// The organizer set the grade.
        OrganizerGrade = "organizer.grade", ChangeProject, "the organizer must set the final grade";
        /// The mentor endorsed that the unit keeps the change.
        MentorAdoption = "mentor.adoption", ChangeProject, "the mentor must endorse the adoption";
    }
);

/// A state of the lifecycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDef {
    /// Its name (`piloted`).
    pub name: String,
    /// What it means.
    #[serde(default)]
    pub description: String,
    /// Nothing leaves a final state.
    #[serde(default, rename = "final")]
    pub is_final: bool,
}

/// One transition: a command allowed in some states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The command (`approve_milestone`).
    pub command: String,
    /// The states it may fire in; empty: it creates the stream.
    pub from: Vec<String>,
    /// The state it moves to; `None`: the state stays.
    pub to: Option<String>,
    /// Who may fire it.
    pub roles: Vec<Role>,
    /// Conditions on the state.
    pub guards: Vec<Guard>,
    /// Decisions it needs first.
    pub sign_offs: Vec<SignOff>,
}

/// Which definition a stream runs under.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkflowRef {
    /// The definition's name.
    pub name: String,
    /// Its version.
    pub version: u32,
    /// SHA-256 of its source text.
    pub hash: String,
}

impl fmt::Display for WorkflowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} v{}", self.name, self.version)
    }
}

/// An owner in words: `global` or `provider CODE`.
pub fn owner_label(owner: Option<&str>) -> String {
    match owner {
        None => "global".into(),
        Some(provider) => format!("provider {provider}"),
    }
}

/// Which definition a new stream starts under: a name, and a version or
/// (`None`) the newest registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowPin {
    /// The definition's name.
    pub name: String,
    /// Its version; `None`: the newest.
    pub version: Option<u32>,
}

/// A validated workflow definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Workflow {
    /// Its name (`change-project-pka`).
    pub name: String,
    /// Its version; a registered version never changes.
    pub version: u32,
    /// The kind of stream it drives.
    pub kind: WorkflowKind,
    /// What it is for.
    pub description: String,
    /// The state a created stream is in.
    pub initial: String,
    /// The lifecycle states.
    pub states: Vec<StateDef>,
    /// The transitions.
    pub transitions: Vec<Transition>,
    /// The source text it was parsed from.
    #[serde(skip)]
    pub source: String,
    /// SHA-256 of `source`, lower-case hex.
    pub hash: String,
    /// Who may register its versions and open cohorts under it: `None`,
    /// global (shipped, or registered by an operator); `Some(provider)`,
    /// one training provider. Set at registration, not part of the source.
    #[serde(skip)]
    pub owner: Option<String>,
}

/// A definition that does not load: where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {place}: {problem}")]
pub struct WorkflowError {
    /// The file (or name) it came from.
    pub file: String,
    /// Where in it (`transitions[3] (approve_milestone)`).
    pub place: String,
    /// What is wrong.
    pub problem: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    name: String,
    version: u32,
    kind: String,
    #[serde(default)]
    description: String,
    initial: String,
    states: Vec<StateDef>,
    transitions: Vec<RawTransition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransition {
    command: String,
    #[serde(default)]
    from: Vec<String>,
    to: Option<String>,
    roles: Vec<String>,
    #[serde(default)]
    guards: Vec<String>,
    #[serde(default)]
    sign_offs: Vec<String>,
}

impl Workflow {
    /// Parses and validates a definition; `file` names it in errors.
    ///
    /// # Errors
    /// [`WorkflowError`] naming the file, the place and the problem: TOML
    /// syntax, an unknown kind, state, role, guard, sign-off or command, an
    /// unreachable state, a transition out of a final state, a missing or
    /// second creating transition.
    pub fn parse(file: &str, source: &str) -> Result<Self, WorkflowError> {
        let err = |place: &str, problem: String| WorkflowError {
            file: file.to_owned(),
            place: place.to_owned(),
            problem,
        };
        let raw: RawWorkflow = toml::from_str(source).map_err(|e| {
            let place = e
                .span()
                .map(|s| format!("line {}", source[..s.start].lines().count().max(1)))
                .unwrap_or_else(|| "file".into());
            err(&place, e.message().to_owned())
        })?;
        let kind = match raw.kind.as_str() {
            "change_project" => WorkflowKind::ChangeProject,
            "innovation" => WorkflowKind::Innovation,
            other => {
                return Err(err(
                    "kind",
                    format!("unknown kind '{other}'; use change_project or innovation"),
                ));
            }
        };
        if raw.name.trim().is_empty()
            || !raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err("name", "must be letters, digits, '-' or '_'".into()));
        }
        if raw.version == 0 {
            return Err(err("version", "versions start at 1".into()));
        }
        let mut names = HashSet::new();
        for (i, s) in raw.states.iter().enumerate() {
            if !names.insert(s.name.as_str()) {
                return Err(err(
                    &format!("states[{i}]"),
                    format!("state '{}' is defined twice", s.name),
                ));
            }
        }
        let state_list = || {
            raw.states
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !names.contains(raw.initial.as_str()) {
            return Err(err(
                "initial",
                format!(
                    "unknown state '{}'; states are {}",
                    raw.initial,
                    state_list()
                ),
            ));
        }
        let finals: HashSet<&str> = raw
            .states
            .iter()
            .filter(|s| s.is_final)
            .map(|s| s.name.as_str())
            .collect();
        let mut transitions = Vec::new();
        let mut seen = HashSet::new();
        for (i, t) in raw.transitions.iter().enumerate() {
            let place = format!("transitions[{i}] ({})", t.command);
            if !kind.commands().contains(&t.command.as_str()) {
                return Err(err(
                    &place,
                    format!(
                        "unknown command '{}' for a {} workflow; commands are {}",
                        t.command,
                        kind.as_str(),
                        kind.commands().join(", ")
                    ),
                ));
            }
            for s in t.from.iter().chain(&t.to) {
                if !names.contains(s.as_str()) {
                    return Err(err(
                        &place,
                        format!("unknown state '{s}'; states are {}", state_list()),
                    ));
                }
            }
            if let Some(f) = t.from.iter().find(|s| finals.contains(s.as_str())) {
                return Err(err(
                    &place,
                    format!("leaves the final state '{f}'; nothing leaves a final state"),
                ));
            }
            for s in &t.from {
                if !seen.insert((t.command.clone(), s.clone())) {
                    return Err(err(
                        &place,
                        format!("a second transition for '{}' from '{s}'", t.command),
                    ));
                }
            }
            if t.from.is_empty() && !seen.insert((t.command.clone(), String::new())) {
                return Err(err(
                    &place,
                    format!("a second creating transition for '{}'", t.command),
                ));
            }
            if t.roles.is_empty() {
                return Err(err(&place, "names no role that may fire it".into()));
            }
            let roles = t
                .roles
                .iter()
                .map(|r| {
                    let role = Role::parse(r).map_err(|e| err(&place, e.to_string()))?;
                    if matches!(role, Role::Auditor | Role::Admin) {
                        return Err(err(
                            &place,
                            format!("{role}s read and operate; they fire no transition"),
                        ));
                    }
                    Ok(role)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let guards = t
                .guards
                .iter()
                .map(|g| {
                    let guard = Guard::parse(g).ok_or_else(|| {
                        err(
                            &place,
                            format!(
                                "unknown guard '{g}'; guards are {}",
                                names_of(Guard::ALL, kind)
                            ),
                        )
                    })?;
                    if guard.kind() != kind {
                        return Err(err(
                            &place,
                            format!("guard '{g}' applies to {} workflows", guard.kind().as_str()),
                        ));
                    }
                    Ok(guard)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let sign_offs = t
                .sign_offs
                .iter()
                .map(|s| {
                    let sign_off = SignOff::parse(s).ok_or_else(|| {
                        err(
                            &place,
                            format!(
                                "unknown sign-off '{s}'; sign-offs are {}",
                                names_of(SignOff::ALL, kind)
                            ),
                        )
                    })?;
                    if sign_off.kind() != kind {
                        return Err(err(
                            &place,
                            format!(
                                "sign-off '{s}' applies to {} workflows",
                                sign_off.kind().as_str()
                            ),
                        ));
                    }
                    Ok(sign_off)
                })
                .collect::<Result<Vec<_>, _>>()?;
            transitions.push(Transition {
                command: t.command.clone(),
                from: t.from.clone(),
                to: t.to.clone(),
                roles,
                guards,
                sign_offs,
            });
        }
        let creating: Vec<_> = transitions.iter().filter(|t| t.from.is_empty()).collect();
        match creating.as_slice() {
            [] => {
                return Err(err(
                    "transitions",
                    "no transition creates the stream (one with no 'from')".into(),
                ));
            }
            [t] if t.to.as_deref() != Some(raw.initial.as_str()) => {
                return Err(err(
                    &format!("transitions ({})", t.command),
                    format!(
                        "the creating transition must lead to the initial state '{}'",
                        raw.initial
                    ),
                ));
            }
            [_] => {}
            _ => {
                return Err(err(
                    "transitions",
                    "more than one transition creates the stream".into(),
                ));
            }
        }
        // Every state must be reachable from the initial one.
        let mut reached: BTreeSet<&str> = BTreeSet::from([raw.initial.as_str()]);
        let mut queue = VecDeque::from([raw.initial.as_str()]);
        while let Some(s) = queue.pop_front() {
            for t in transitions.iter().filter(|t| t.from.iter().any(|f| f == s)) {
                if let Some(to) = t.to.as_deref()
                    && reached.insert(to)
                {
                    queue.push_back(to);
                }
            }
        }
        if let Some(s) = raw
            .states
            .iter()
            .find(|s| !reached.contains(s.name.as_str()))
        {
            return Err(err(
                &format!("states ({})", s.name),
                format!(
                    "state '{}' cannot be reached from '{}'",
                    s.name, raw.initial
                ),
            ));
        }
        Ok(Self {
            name: raw.name,
            version: raw.version,
            kind,
            description: raw.description,
            initial: raw.initial,
            states: raw.states,
            transitions,
            source: source.to_owned(),
            hash: hex::encode(Sha256::digest(source.as_bytes())),
            owner: None,
        })
    }

    /// The same definition, owned by `owner` (`None`: global).
    #[must_use]
    pub fn owned_by(mut self, owner: Option<String>) -> Self {
        self.owner = owner;
        self
    }

    /// Who owns it, in words (`global`, `provider bpsdm-banten`).
    pub fn owner_label(&self) -> String {
        owner_label(self.owner.as_deref())
    }

    /// Whether someone acting for `provider` (`None`: for no provider) may
    /// run cohorts under it: global definitions are everyone's, a
    /// provider's only its own.
    pub fn usable_by(&self, provider: Option<&str>) -> bool {
        match &self.owner {
            None => true,
            Some(owner) => provider == Some(owner.as_str()),
        }
    }

    /// How streams record this definition.
    pub fn reference(&self) -> WorkflowRef {
        WorkflowRef {
            name: self.name.clone(),
            version: self.version,
            hash: self.hash.clone(),
        }
    }

    /// Finds the transition for `command` on a stream in `state` and checks
    /// the actor's role. Deciders then check that the thing is the actor's
    /// own, and call [`Workflow::preconditions`].
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for a role that may not fire the command;
    /// [`DomainError::WrongState`] naming the state and where the command
    /// is allowed; `NotFound` / `AlreadyExists` for creating commands.
    pub fn transition<A: WorkflowSubject>(
        &self,
        state: &A::State,
        command: &Command<A::Command>,
    ) -> Result<&Transition, DomainError> {
        let name = A::command_name(&command.body);
        let readable = name.replace('_', " ");
        let current = A::lifecycle(state);
        let candidates: Vec<&Transition> = self
            .transitions
            .iter()
            .filter(|t| t.command == name)
            .collect();
        let role = command.actor.role;
        let forbidden = |roles: Vec<Role>| {
            let mut names: Vec<&str> = Vec::new();
            for role in roles {
                if !names.contains(&role.as_str()) {
                    names.push(role.as_str());
                }
            }
            DomainError::forbidden(format!(
                "{} may not {readable}; in workflow {} only {} may",
                role.a(),
                self.name,
                names.join(" or ")
            ))
        };
        if !candidates.is_empty() && !candidates.iter().any(|t| t.roles.contains(&role)) {
            return Err(forbidden(
                candidates
                    .iter()
                    .flat_map(|t| t.roles.iter().copied())
                    .collect(),
            ));
        }
        let transition = candidates.iter().copied().find(|t| match current {
            None => t.from.is_empty(),
            Some(s) => t.from.iter().any(|f| f == s),
        });
        let Some(transition) = transition else {
            return Err(match current {
                None => DomainError::NotFound {
                    what: A::LABEL,
                    id: String::new(),
                },
                Some(_) if candidates.iter().any(|t| t.from.is_empty()) => {
                    DomainError::AlreadyExists {
                        what: A::LABEL,
                        id: String::new(),
                    }
                }
                Some(s) => {
                    let allowed: Vec<&str> = candidates
                        .iter()
                        .flat_map(|t| t.from.iter().map(String::as_str))
                        .collect();
                    DomainError::WrongState {
                        command: readable,
                        kind: A::LABEL,
                        state: s.to_owned(),
                        hint: if allowed.is_empty() {
                            format!("workflow {} has no such step", self.name)
                        } else {
                            format!("it is allowed only while {}", allowed.join(" or "))
                        },
                    }
                }
            });
        };
        if !transition.roles.contains(&role) {
            return Err(forbidden(transition.roles.clone()));
        }
        Ok(transition)
    }

    /// Checks the sign-offs and guards of `transition`; returns the state
    /// to move to, when it changes.
    ///
    /// # Errors
    /// [`DomainError::Precondition`] naming the missing sign-off or guard.
    pub fn preconditions<A: WorkflowSubject>(
        &self,
        transition: &Transition,
        state: &A::State,
        command: &Command<A::Command>,
    ) -> Result<Option<String>, DomainError> {
        let readable = transition.command.replace('_', " ");
        if let Some(missing) = transition.sign_offs.iter().find(|s| !A::signed(state, **s)) {
            return Err(DomainError::Precondition {
                command: readable,
                missing: missing.says().to_owned(),
            });
        }
        if let Some(missing) = transition
            .guards
            .iter()
            .find(|g| !A::guard_holds(state, **g, command))
        {
            return Err(DomainError::Precondition {
                command: readable,
                missing: missing.says().to_owned(),
            });
        }
        Ok(transition
            .to
            .clone()
            .filter(|to| Some(to.as_str()) != A::lifecycle(state)))
    }

    /// The transition of `command` that fires in `state`, whoever asks:
    /// for the steps jejak takes on a stream to follow another one
    /// (a replication recorded on the other side, ADR 0027).
    pub fn step(&self, command: &str, state: &str) -> Option<&Transition> {
        self.transitions
            .iter()
            .find(|t| t.command == command && t.from.iter().any(|f| f == state))
    }

    /// Whether `state` is final.
    pub fn is_final(&self, state: &str) -> bool {
        self.states.iter().any(|s| s.name == state && s.is_final)
    }
}

fn names_of<T: Copy + fmt::Display + HasKind>(all: &[T], kind: WorkflowKind) -> String {
    all.iter()
        .filter(|v| v.kind_of() == kind)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

trait HasKind {
    fn kind_of(&self) -> WorkflowKind;
}

impl HasKind for Guard {
    fn kind_of(&self) -> WorkflowKind {
        self.kind()
    }
}

impl HasKind for SignOff {
    fn kind_of(&self) -> WorkflowKind {
        self.kind()
    }
}
