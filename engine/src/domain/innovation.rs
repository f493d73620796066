//! The regional innovation (inovasi daerah): registered, judged feasible,
//! designated by decree, piloted, implemented (and maybe dormant), and
//! replicated by other OPDs or regions, each adopter getting an innovation
//! of its own linked to the original.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::change_project::Agreement;
use super::values::{
    Attachment, InnovationId, OpdCode, ProjectId, long, optional_long, region_key, short,
};
use super::{Actor, Aggregate, Command, DomainError, Role, WorkflowSubject};
use crate::workflow::{Guard, SignOff, WorkflowPin, WorkflowRef};

/// Every command an innovation workflow may name.
pub const COMMANDS: &[&str] = &[
    "register",
    "judge_feasibility",
    "designate",
    "start_pilot",
    "evaluate_pilot",
    "implement",
    "mark_dormant",
    "resume",
    "record_replication",
    "add_evidence",
    "record_award",
];

/// The workflow new innovations start under (its newest version).
pub const INNOVATION_WORKFLOW: &str = "innovation";

/// Where an innovation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A leadership-training change project.
    ChangeProject,
    /// A puskesmas, e.g. after a health-worker competition.
    HealthCompetition,
    /// The city's innovation laboratory.
    InnovationLab,
    /// An OPD's own initiative.
    OpdInitiative,
    /// The community.
    Community,
    /// The regional parliament.
    Dprd,
    /// The regional head.
    RegionalHead,
}

impl Source {
    /// Every source.
    pub const ALL: [Self; 7] = [
        Self::ChangeProject,
        Self::HealthCompetition,
        Self::InnovationLab,
        Self::OpdInitiative,
        Self::Community,
        Self::Dprd,
        Self::RegionalHead,
    ];

    /// Its name on the wire and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChangeProject => "change_project",
            Self::HealthCompetition => "health_competition",
            Self::InnovationLab => "innovation_lab",
            Self::OpdInitiative => "opd_initiative",
            Self::Community => "community",
            Self::Dprd => "dprd",
            Self::RegionalHead => "regional_head",
        }
    }

    /// Parses a source name.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `source`.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let v = value.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == v)
            .ok_or_else(|| {
                DomainError::invalid(
                    "source",
                    format!(
                        "{} is not a source; use one of {}",
                        super::values::quoted(value),
                        Self::ALL.map(Self::as_str).join(", ")
                    ),
                )
            })
    }
}

/// The form of an innovation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// Tata kelola pemerintahan.
    Governance,
    /// Pelayanan publik.
    PublicService,
    /// Bentuk lainnya.
    Other,
}

/// What is kept of an innovation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Name.
    pub name: String,
    /// Owning OPD.
    pub opd: OpdCode,
    /// Unit within it (a puskesmas, a school), if any.
    pub unit: Option<String>,
    /// Region (kota / kabupaten).
    pub region: String,
    /// Where it came from.
    pub source: Source,
    /// Initiator type (kepala daerah, ASN, masyarakat …).
    pub initiator_type: String,
    /// Governance, public service or other.
    pub form: Form,
    /// Digital or not.
    pub digital: bool,
    /// Government affair (urusan), e.g. "kesehatan".
    pub sector: String,
    /// Sustainable Development Goals it serves (1–17).
    pub sdgs: BTreeSet<u8>,
    /// Its goal.
    pub goal: String,
    /// Its benefit.
    pub benefit: String,
    /// Budget in rupiah, if any.
    pub budget: Option<u64>,
    /// Legal basis (the regulation or decree it rests on), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
}

impl Profile {
    /// Checks texts and SDGs.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming the field.
    pub fn validate(&self) -> Result<(), DomainError> {
        short("name", &self.name)?;
        if let Some(unit) = &self.unit {
            short("unit", unit)?;
        }
        if let Some(basis) = &self.legal_basis {
            short("legal_basis", basis)?;
        }
        short("region", &self.region)?;
        short("initiator_type", &self.initiator_type)?;
        short("sector", &self.sector)?;
        long("goal", &self.goal)?;
        long("benefit", &self.benefit)?;
        if let Some(bad) = self.sdgs.iter().find(|g| !(1..=17).contains(*g)) {
            return Err(DomainError::invalid(
                "sdgs",
                format!("{bad} is not an SDG; they run 1 to 17"),
            ));
        }
        Ok(())
    }
}

/// Where a registered innovation came from in jejak.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Registered when this change project was adopted.
    ChangeProject(ProjectId),
    /// The adopter's own copy of this innovation.
    ReplicaOf(InnovationId),
}

/// What an officer may amend of an innovation's profile: everything but
/// its OPD, region, source and initiator.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Amendment {
    pub name: String,
    pub unit: Option<String>,
    pub form: Form,
    pub digital: bool,
    pub sector: String,
    pub sdgs: BTreeSet<u8>,
    pub goal: String,
    pub benefit: String,
    pub budget: Option<u64>,
    pub legal_basis: Option<String>,
}

impl Amendment {
    /// `profile` amended.
    pub fn apply(&self, profile: &Profile) -> Profile {
        Profile {
            name: self.name.clone(),
            unit: self.unit.clone(),
            form: self.form,
            digital: self.digital,
            sector: self.sector.clone(),
            sdgs: self.sdgs.clone(),
            goal: self.goal.clone(),
            benefit: self.benefit.clone(),
            budget: self.budget,
            legal_basis: self.legal_basis.clone(),
            ..profile.clone()
        }
    }
}

/// A step of an innovation's life that happened before jejak kept it, as
/// an imported register records it (ADR 0031): the register's word for
/// where the innovation stands, with the dates it gives. Recorded as the
/// lifecycle's own events (`Designated`, `PilotStarted`, `Implemented`,
/// `MarkedDormant`), each with the `StateChanged` it implies, under the
/// command `record_register_step`; the guards of the workflow (a
/// feasibility judgement before a pilot …) are not asked of it, since the
/// register does not say them. Steps only move an innovation forward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterStep {
    /// Designated by this decree on this day.
    Designated {
        /// The decree's number.
        decree_number: String,
        /// Its date.
        decree_date: NaiveDate,
    },
    /// Piloted (uji coba) from this day.
    Piloted {
        /// The pilot's first day.
        on: NaiveDate,
    },
    /// Implemented (penerapan) from this day.
    Implemented {
        /// The first day.
        on: NaiveDate,
    },
    /// Dormant (vakum) since this day.
    Dormant {
        /// Since.
        on: NaiveDate,
    },
}

/// The stage a register step leaves an innovation at, and the stages it
/// may come from.
fn register_step_stages(step: &RegisterStep) -> Option<(&'static str, &'static [&'static str])> {
    match step {
        RegisterStep::Designated { .. } => None,
        RegisterStep::Piloted { .. } => Some(("piloted", &["proposed"])),
        RegisterStep::Implemented { .. } => Some(("adopted", &["proposed", "piloted"])),
        RegisterStep::Dormant { .. } => {
            Some(("dormant", &["proposed", "piloted", "adopted", "replicated"]))
        }
    }
}

/// What an imported register's dormant innovation is recorded with: the
/// register says it is dormant, not why.
pub const DORMANT_BY_REGISTER: &str = "vakum menurut register yang diimpor";

/// Commands on an innovation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum InnovationCommand {
    Register {
        innovation_id: InnovationId,
        profile: Profile,
        origin: Option<Origin>,
    },
    JudgeFeasibility {
        feasible: bool,
        notes: String,
    },
    Designate {
        decree_number: String,
        decree_date: NaiveDate,
    },
    StartPilot {
        on: NaiveDate,
    },
    EvaluatePilot {
        on: NaiveDate,
        evaluation: String,
    },
    Implement {
        on: NaiveDate,
        budget_line: String,
    },
    MarkDormant {
        on: NaiveDate,
        reason: String,
    },
    Resume {
        on: NaiveDate,
    },
    RecordReplication {
        adopter_opd: OpdCode,
        adopter_region: String,
        agreement: Agreement,
    },
    AddEvidence {
        indicator: String,
        attachment: Attachment,
    },
    RecordAward {
        title: String,
        year: i32,
        awarded_by: String,
    },
    /// The officer amends the profile (a correction, recorded as such).
    AmendProfile(Amendment),
    /// jejak: an innovation registered by a change project's adoption
    /// starts at the stage the project reached.
    CarryProjectStage {
        stage: String,
        on: NaiveDate,
    },
    /// A step an imported register records (ADR 0031).
    RecordRegisterStep(RegisterStep),
    /// jejak: the change project this innovation came from was replicated.
    FollowProjectReplication {
        adopter_opd: OpdCode,
        adopter_region: String,
        agreement: Agreement,
    },
}

/// What happened to an innovation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum InnovationEvent {
    InnovationRegistered {
        innovation_id: InnovationId,
        profile: Profile,
        origin: Option<Origin>,
        workflow: WorkflowRef,
        by: String,
    },
    FeasibilityJudged {
        feasible: bool,
        notes: String,
        by: String,
    },
    Designated {
        decree_number: String,
        decree_date: NaiveDate,
    },
    PilotStarted {
        on: NaiveDate,
    },
    PilotEvaluated {
        on: NaiveDate,
        evaluation: String,
    },
    Implemented {
        on: NaiveDate,
        budget_line: String,
    },
    MarkedDormant {
        on: NaiveDate,
        reason: String,
    },
    Resumed {
        on: NaiveDate,
    },
    ReplicationRecorded {
        adopter_innovation_id: InnovationId,
        adopter_opd: OpdCode,
        adopter_region: String,
        agreement: Agreement,
    },
    EvidenceAdded {
        indicator: String,
        attachment: Attachment,
    },
    AwardRecorded {
        title: String,
        year: i32,
        awarded_by: String,
    },
    StateChanged {
        from: String,
        to: String,
        command: String,
    },
    /// The profile was amended by its officer: the whole profile as it now
    /// stands (the earlier one stays in the history).
    ProfileAmended {
        profile: Profile,
        by: String,
    },
    /// Registered by a change project's adoption, the innovation starts at
    /// the stage the project reached (`StateChanged` follows).
    ProjectStageCarried {
        project_id: ProjectId,
        stage: String,
        on: NaiveDate,
    },
}

/// An adopter of a replicated innovation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adopter {
    /// The adopter's own innovation.
    pub innovation_id: InnovationId,
    /// Its OPD.
    pub opd: OpdCode,
    /// Its region.
    pub region: String,
    /// The agreement it was recorded with (`None` only in a state folded
    /// by a version that did not keep it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
}

/// An innovation as folded from its events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct InnovationState {
    pub innovation_id: Option<InnovationId>,
    pub lifecycle: Option<String>,
    pub workflow: Option<WorkflowRef>,
    pub profile: Option<Profile>,
    pub origin: Option<Origin>,
    /// `Some(true)` layak, `Some(false)` tidak layak.
    pub feasible: Option<bool>,
    pub decree: Option<(String, NaiveDate)>,
    pub pilot_started_on: Option<NaiveDate>,
    pub pilot_evaluated_on: Option<NaiveDate>,
    pub implemented_on: Option<NaiveDate>,
    pub budget_line: Option<String>,
    pub dormant_since: Option<NaiveDate>,
    pub adopters: Vec<Adopter>,
    pub evidence: Vec<(String, Attachment)>,
    pub awards: Vec<(String, i32)>,
}

impl InnovationState {
    /// The latest date on record, which a new dated step may not precede.
    fn latest_date(&self) -> Option<NaiveDate> {
        [
            self.decree.as_ref().map(|d| d.1),
            self.pilot_started_on,
            self.pilot_evaluated_on,
            self.implemented_on,
            self.dormant_since,
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

fn may_act(actor: &Actor, opd: &OpdCode) -> Result<(), DomainError> {
    match actor.role {
        Role::BridaOfficer | Role::System => Ok(()),
        Role::InnovationOfficer if actor.opd.as_ref() == Some(opd) => Ok(()),
        Role::InnovationOfficer => Err(DomainError::forbidden(format!(
            "an innovation officer acts only for their own OPD; this innovation belongs to {opd}"
        ))),
        role => Err(DomainError::forbidden(format!(
            "{} may not change the innovation register",
            role.a()
        ))),
    }
}

/// How far ahead of today a dated step may be recorded: a step far in the
/// future would hold every later step of the innovation back until then.
const MAX_DAYS_AHEAD: u64 = 366;

fn in_order(
    field: &str,
    on: NaiveDate,
    state: &InnovationState,
    today: NaiveDate,
) -> Result<(), DomainError> {
    if today
        .checked_add_days(chrono::Days::new(MAX_DAYS_AHEAD))
        .is_some_and(|limit| on > limit)
    {
        return Err(DomainError::invalid(
            field,
            format!(
                "{on} is more than a year ahead; record a step when it is at most {MAX_DAYS_AHEAD} days away"
            ),
        ));
    }
    match state.latest_date() {
        Some(latest) if on < latest => Err(DomainError::invalid(
            field,
            format!(
                "{on} is before {latest}, the latest date already on record; dates must be in order"
            ),
        )),
        _ => Ok(()),
    }
}

/// The innovation decider.
#[derive(Debug)]
pub struct Innovation;

impl Aggregate for Innovation {
    const KIND: &'static str = "innovation";
    const LABEL: &'static str = "innovation";
    // 3: an adopter keeps its agreement.
    const SNAPSHOT_VERSION: u32 = 3;
    type State = InnovationState;
    type Command = InnovationCommand;
    type Event = InnovationEvent;

    /// An innovation is the business of its OPD's officer, BRIDA,
    /// auditors and jejak itself.
    fn concerns(state: &InnovationState, actor: &Actor) -> bool {
        match &state.profile {
            _ if actor.role == Role::Auditor => true,
            Some(profile) => may_act(actor, &profile.opd).is_ok(),
            None => true,
        }
    }

    fn decide(
        state: &InnovationState,
        command: &Command<InnovationCommand>,
    ) -> Result<Vec<InnovationEvent>, DomainError> {
        use InnovationCommand as C;
        use InnovationEvent as E;
        if state.lifecycle.is_none() && !matches!(command.body, C::Register { .. }) {
            return Err(DomainError::NotFound {
                what: Self::LABEL,
                id: String::new(),
            });
        }
        let workflow = command.workflow()?;

        let opd = match (&command.body, &state.profile) {
            (C::Register { profile, .. }, _) => &profile.opd,
            (_, Some(profile)) => &profile.opd,
            (_, None) => {
                return Err(DomainError::NotFound {
                    what: "innovation",
                    id: String::new(),
                });
            }
        };
        let mut events = match &command.body {
            C::Register {
                innovation_id,
                profile,
                origin,
            } => {
                profile.validate()?;
                if workflow.kind != crate::workflow::WorkflowKind::Innovation {
                    return Err(DomainError::invalid(
                        "workflow",
                        "is not an innovation workflow",
                    ));
                }
                vec![E::InnovationRegistered {
                    innovation_id: innovation_id.clone(),
                    profile: profile.clone(),
                    origin: origin.clone(),
                    workflow: workflow.reference(),
                    by: command.actor.id.clone(),
                }]
            }
            C::JudgeFeasibility { feasible, notes } => vec![E::FeasibilityJudged {
                feasible: *feasible,
                notes: optional_long("notes", notes)?.unwrap_or_default(),
                by: command.actor.id.clone(),
            }],
            C::Designate {
                decree_number,
                decree_date,
            } => {
                in_order("decree_date", *decree_date, state, command.today())?;
                vec![E::Designated {
                    decree_number: short("decree_number", decree_number)?,
                    decree_date: *decree_date,
                }]
            }
            C::StartPilot { on } => {
                in_order("on", *on, state, command.today())?;
                vec![E::PilotStarted { on: *on }]
            }
            C::EvaluatePilot { on, evaluation } => {
                in_order("on", *on, state, command.today())?;
                vec![E::PilotEvaluated {
                    on: *on,
                    evaluation: long("evaluation", evaluation)?,
                }]
            }
            C::Implement { on, budget_line } => {
                in_order("on", *on, state, command.today())?;
                vec![E::Implemented {
                    on: *on,
                    budget_line: short("budget_line", budget_line)?,
                }]
            }
            C::MarkDormant { on, reason } => {
                in_order("on", *on, state, command.today())?;
                vec![E::MarkedDormant {
                    on: *on,
                    reason: long("reason", reason)?,
                }]
            }
            C::Resume { on } => {
                in_order("on", *on, state, command.today())?;
                vec![E::Resumed { on: *on }]
            }
            C::AmendProfile(amendment) => {
                let current = state.profile.as_ref().ok_or(DomainError::NotFound {
                    what: "innovation",
                    id: String::new(),
                })?;
                let profile = amendment.apply(current);
                profile.validate()?;
                if profile == *current {
                    return Ok(vec![]);
                }
                vec![E::ProfileAmended {
                    profile,
                    by: command.actor.id.clone(),
                }]
            }
            C::CarryProjectStage { stage, on } => {
                let Some(Origin::ChangeProject(project_id)) = &state.origin else {
                    return Err(DomainError::invalid(
                        "stage",
                        "only an innovation registered by a change project's adoption carries its stage",
                    ));
                };
                if !workflow.states.iter().any(|s| s.name == *stage) {
                    return Err(DomainError::invalid(
                        "stage",
                        format!("workflow {} has no state '{stage}'", workflow.name),
                    ));
                }
                vec![E::ProjectStageCarried {
                    project_id: project_id.clone(),
                    stage: stage.clone(),
                    on: *on,
                }]
            }
            C::RecordRegisterStep(step) => {
                let event = match step {
                    RegisterStep::Designated {
                        decree_number,
                        decree_date,
                    } => {
                        if state.decree.is_some() {
                            return Err(DomainError::invalid(
                                "decree_number",
                                "the innovation is designated already; a decree is recorded once",
                            ));
                        }
                        in_order("decree_date", *decree_date, state, command.today())?;
                        E::Designated {
                            decree_number: short("decree_number", decree_number)?,
                            decree_date: *decree_date,
                        }
                    }
                    RegisterStep::Piloted { on } => {
                        in_order("pilot_started_on", *on, state, command.today())?;
                        E::PilotStarted { on: *on }
                    }
                    RegisterStep::Implemented { on } => {
                        in_order("implemented_on", *on, state, command.today())?;
                        E::Implemented {
                            on: *on,
                            budget_line: String::new(),
                        }
                    }
                    RegisterStep::Dormant { on } => {
                        in_order("dormant_since", *on, state, command.today())?;
                        E::MarkedDormant {
                            on: *on,
                            reason: DORMANT_BY_REGISTER.to_owned(),
                        }
                    }
                };
                vec![event]
            }
            C::RecordReplication {
                adopter_opd,
                adopter_region,
                agreement,
            }
            | C::FollowProjectReplication {
                adopter_opd,
                adopter_region,
                agreement,
            } => {
                let region = short("adopter_region", adopter_region)?;
                let profile = state.profile.as_ref().ok_or(DomainError::NotFound {
                    what: "innovation",
                    id: String::new(),
                })?;
                let same = |a: &str, b: &str| region_key(a) == region_key(b);
                if *adopter_opd == profile.opd && same(&region, &profile.region) {
                    return Err(DomainError::invalid(
                        "adopter_opd",
                        "the owner cannot replicate its own innovation",
                    ));
                }
                if state
                    .adopters
                    .iter()
                    .any(|a| a.opd == *adopter_opd && same(&a.region, &region))
                {
                    if matches!(command.body, C::FollowProjectReplication { .. }) {
                        // Recorded here already (or here first): once.
                        return Ok(vec![]);
                    }
                    return Err(DomainError::AlreadyExists {
                        what: "replication by",
                        id: format!("{adopter_opd} ({region})"),
                    });
                }
                let original = state.innovation_id.as_ref().ok_or(DomainError::NotFound {
                    what: "innovation",
                    id: String::new(),
                })?;
                vec![E::ReplicationRecorded {
                    adopter_innovation_id: InnovationId::replica(original, adopter_opd, &region),
                    adopter_opd: adopter_opd.clone(),
                    adopter_region: region,
                    agreement: agreement.clone(),
                }]
            }
            C::AddEvidence {
                indicator,
                attachment,
            } => {
                vec![E::EvidenceAdded {
                    indicator: short("indicator", indicator)?,
                    attachment: attachment.clone(),
                }]
            }
            C::RecordAward {
                title,
                year,
                awarded_by,
            } => {
                if !(1990..=2100).contains(year) {
                    return Err(DomainError::invalid(
                        "year",
                        format!("{year} is not a plausible award year"),
                    ));
                }
                vec![E::AwardRecorded {
                    title: short("title", title)?,
                    year: *year,
                    awarded_by: short("awarded_by", awarded_by)?,
                }]
            }
        };
        // The request itself was checked first; now whose it is, then its state.
        may_act(&command.actor, opd)?;
        let current = state.lifecycle.clone().unwrap_or_default();
        match &command.body {
            // A correction, in any state: not a step of the lifecycle.
            C::AmendProfile(_) => {
                if !matches!(
                    command.actor.role,
                    Role::InnovationOfficer | Role::BridaOfficer
                ) {
                    return Err(DomainError::forbidden(
                        "only an innovation officer of its OPD or BRIDA amends an innovation's profile",
                    ));
                }
                return Ok(events);
            }
            // A register's step (ADR 0031): forward only, by its officer.
            C::RecordRegisterStep(step) => {
                if !matches!(
                    command.actor.role,
                    Role::InnovationOfficer | Role::BridaOfficer
                ) {
                    return Err(DomainError::forbidden(
                        "only an innovation officer of its OPD or BRIDA records a register's steps",
                    ));
                }
                if let Some((to, from)) = register_step_stages(step) {
                    if !from.contains(&current.as_str()) {
                        return Err(DomainError::WrongState {
                            command: "record register step".into(),
                            kind: Self::LABEL,
                            state: current,
                            hint: format!(
                                "an import moves an innovation forward to {to}, never back or sideways"
                            ),
                        });
                    }
                    if !workflow.states.iter().any(|s| s.name == to) {
                        return Err(DomainError::invalid(
                            "stage",
                            format!("workflow {} has no state '{to}'", workflow.name),
                        ));
                    }
                    events.push(E::StateChanged {
                        from: current,
                        to: to.to_owned(),
                        command: Self::command_name(&command.body).to_owned(),
                    });
                }
                return Ok(events);
            }
            // Steps jejak takes to follow a change project (ADR 0027).
            C::CarryProjectStage { .. } | C::FollowProjectReplication { .. } => {
                if command.actor.role != Role::System {
                    return Err(DomainError::forbidden(
                        "jejak alone carries a change project's stage or replication to its innovation",
                    ));
                }
                let to = match &command.body {
                    C::CarryProjectStage { stage, .. } => {
                        if current != workflow.initial {
                            return Ok(vec![]);
                        }
                        Some(stage.clone())
                    }
                    _ => match workflow.step("record_replication", &current) {
                        Some(step) => step.to.clone(),
                        None => {
                            return Err(DomainError::WrongState {
                                command: "record replication".into(),
                                kind: Self::LABEL,
                                state: current,
                                hint: "an innovation is replicated once it is implemented".into(),
                            });
                        }
                    },
                };
                if events.is_empty() {
                    return Ok(events);
                }
                if let Some(to) = to.filter(|to| *to != current) {
                    events.push(E::StateChanged {
                        from: current,
                        to,
                        command: Self::command_name(&command.body).to_owned(),
                    });
                }
                return Ok(events);
            }
            _ => {}
        }
        let transition = workflow.transition::<Self>(state, command)?;
        let to = workflow.preconditions::<Self>(transition, state, command)?;
        if events.is_empty() {
            return Ok(events);
        }
        if let Some(to) = to {
            events.push(E::StateChanged {
                from: state.lifecycle.clone().unwrap_or_default(),
                to,
                command: Self::command_name(&command.body).to_owned(),
            });
        }
        Ok(events)
    }

    fn evolve(mut s: InnovationState, event: &InnovationEvent) -> InnovationState {
        use InnovationEvent as E;
        match event {
            E::InnovationRegistered {
                innovation_id,
                profile,
                origin,
                workflow,
                ..
            } => {
                s.innovation_id = Some(innovation_id.clone());
                s.profile = Some(profile.clone());
                s.origin = origin.clone();
                s.workflow = Some(workflow.clone());
            }
            E::FeasibilityJudged { feasible, .. } => s.feasible = Some(*feasible),
            E::Designated {
                decree_number,
                decree_date,
            } => s.decree = Some((decree_number.clone(), *decree_date)),
            E::PilotStarted { on } => s.pilot_started_on = Some(*on),
            E::PilotEvaluated { on, .. } => s.pilot_evaluated_on = Some(*on),
            E::Implemented { on, budget_line } => {
                s.implemented_on = Some(*on);
                s.budget_line = Some(budget_line.clone());
            }
            E::MarkedDormant { on, .. } => s.dormant_since = Some(*on),
            E::Resumed { .. } => s.dormant_since = None,
            E::ReplicationRecorded {
                adopter_innovation_id,
                adopter_opd,
                adopter_region,
                agreement,
            } => s.adopters.push(Adopter {
                innovation_id: adopter_innovation_id.clone(),
                opd: adopter_opd.clone(),
                region: adopter_region.clone(),
                agreement: Some(agreement.clone()),
            }),
            E::EvidenceAdded {
                indicator,
                attachment,
            } => s.evidence.push((indicator.clone(), attachment.clone())),
            E::AwardRecorded { title, year, .. } => s.awards.push((title.clone(), *year)),
            E::StateChanged { to, .. } => s.lifecycle = Some(to.clone()),
            E::ProfileAmended { profile, .. } => s.profile = Some(profile.clone()),
            E::ProjectStageCarried { on, .. } => s.implemented_on = Some(*on),
        }
        s
    }

    fn command_name(command: &InnovationCommand) -> &'static str {
        use InnovationCommand as C;
        match command {
            C::Register { .. } => "register",
            C::JudgeFeasibility { .. } => "judge_feasibility",
            C::Designate { .. } => "designate",
            C::StartPilot { .. } => "start_pilot",
            C::EvaluatePilot { .. } => "evaluate_pilot",
            C::Implement { .. } => "implement",
            C::MarkDormant { .. } => "mark_dormant",
            C::Resume { .. } => "resume",
            C::RecordReplication { .. } => "record_replication",
            C::AddEvidence { .. } => "add_evidence",
            C::RecordAward { .. } => "record_award",
            C::AmendProfile(_) => "amend_profile",
            C::CarryProjectStage { .. } => "carry_project_stage",
            C::RecordRegisterStep(_) => "record_register_step",
            C::FollowProjectReplication { .. } => "follow_project_replication",
        }
    }

    fn workflow_of(state: &InnovationState) -> Option<&WorkflowRef> {
        state.workflow.as_ref()
    }

    fn workflow_for_new(command: &InnovationCommand) -> Option<WorkflowPin> {
        match command {
            InnovationCommand::Register { .. } => Some(WorkflowPin {
                name: INNOVATION_WORKFLOW.to_owned(),
                version: None,
            }),
            _ => None,
        }
    }
}

impl WorkflowSubject for Innovation {
    fn lifecycle(state: &InnovationState) -> Option<&str> {
        state.lifecycle.as_deref()
    }

    fn guard_holds(state: &InnovationState, guard: Guard, _: &Command<InnovationCommand>) -> bool {
        match guard {
            Guard::FeasibilityJudgedFeasible => state.feasible == Some(true),
            Guard::Designated => state.decree.is_some(),
            Guard::PilotEvaluated => state.pilot_evaluated_on.is_some(),
            Guard::InnovationEvidenceAttached => !state.evidence.is_empty(),
            _ => false,
        }
    }

    fn signed(_: &InnovationState, _: SignOff) -> bool {
        false
    }
}
