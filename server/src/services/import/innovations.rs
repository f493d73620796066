//! The innovation register's rows: each row names an innovation (by its
//! `id`, or by its OPD and name) and becomes the commands that bring
//! jejak's innovation to what the row says: registered (dated by the
//! row's registration date, else its earliest), the steps its dates give
//! (decree, pilot, implementation, dormancy; `RecordRegisterStep`, dated
//! each by its own day), its replications (dated by their agreements),
//! and an amendment of a profile that changed (dated now).

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use jejak_engine::domain::change_project::Agreement;
use jejak_engine::domain::innovation::{
    Amendment, Form, Innovation, InnovationCommand as I, InnovationState, Origin, Profile,
    RegisterStep, Source,
};
use jejak_engine::domain::units::{UnitKind, UnitsState};
use jejak_engine::domain::values::{InnovationId, OpdCode, name_based_id, region_key};
use jejak_engine::domain::{Actor, DomainError};
use jejak_engine::engine::CommandError;
use jejak_proto::v1 as pb;
use tonic::Status;

use super::{Cells, Done, Refusal, dated_context, report, request_id, unit_code};
use crate::App;
use crate::error::status;
use crate::import::{self as cell, INNOVATION_FIELDS};

/// What a row says of its innovation.
#[derive(Debug)]
struct Wanted {
    id: InnovationId,
    profile: Profile,
    stage: &'static str,
    registered_on: Option<NaiveDate>,
    decree: Option<(String, NaiveDate)>,
    piloted: Option<NaiveDate>,
    implemented: Option<NaiveDate>,
    dormant: Option<NaiveDate>,
    replica_of: Option<InnovationId>,
    adopters: Vec<(OpdCode, String, Agreement)>,
}

/// One command a row becomes.
struct Step {
    /// What it does, in the report's words.
    label: String,
    /// The field a refusal of it is about.
    field: &'static str,
    /// Its day (the command is dated by it), if any.
    on: Option<NaiveDate>,
    body: I,
}

/// The id of an innovation a row names by its OPD and name alone: a
/// name-based UUID of both (ADR 0020), the same however often the file is
/// imported.
fn imported_id(opd: &OpdCode, name: &str) -> InnovationId {
    let name = cell::header_key(name);
    InnovationId::parse(&name_based_id(
        "jejak/imported-innovation",
        &[opd.as_str(), &name],
    ))
    .expect("a UUID is an id")
}

fn domain_field(err: DomainError) -> Refusal {
    // The decider's names for what the import calls otherwise.
    let renamed = match err {
        DomainError::Invalid { field, reason } => {
            let field = match field.as_str() {
                "initiator_type" => "initiator".to_owned(),
                f if f.starts_with("agreement") || f.starts_with("adopter") => {
                    "adopters".to_owned()
                }
                f => f.to_owned(),
            };
            DomainError::Invalid { field, reason }
        }
        other => other,
    };
    Refusal::domain(&renamed, INNOVATION_FIELDS, "")
}

/// `OPD, region, KIND NUMBER, YYYY-MM-DD` per adopter, `;` between them.
fn adopters(text: &str, today: NaiveDate) -> Result<Vec<(OpdCode, String, Agreement)>, Refusal> {
    let bad = |reason: String| Refusal::new("adopters", reason);
    text.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|one| {
            let parts: Vec<&str> = one.split(',').map(str::trim).collect();
            let [opd, region, agreement, signed] = parts.as_slice() else {
                return Err(bad(format!(
                    "{} is not an adopter; write OPD, region, agreement and its date, e.g. \
                     dinkes, Kota Serang, PKS 12/PKS/2024, 2024-05-02 (';' between adopters)",
                    jejak_engine::domain::values::quoted(one)
                )));
            };
            let opd = OpdCode::parse(opd).map_err(|e| domain_field(e).about("adopters"))?;
            let signed = cell::date(signed, today).map_err(bad)?;
            let (kind, number) = agreement.split_once(' ').unwrap_or((agreement, ""));
            let agreement = Agreement::new(kind, number, signed, None)
                .map_err(|e| domain_field(e).about("adopters"))?;
            Ok((opd, (*region).to_owned(), agreement))
        })
        .collect()
}

impl Refusal {
    /// The same refusal about `field`.
    fn about(mut self, field: &str) -> Self {
        self.field = field.to_owned();
        self
    }
}

fn read(c: &Cells<'_>, units: &UnitsState, region: &str) -> Result<Wanted, Refusal> {
    let name = c.required("name")?;
    let opd = unit_code(
        units,
        "opd",
        c.required("opd")?,
        &[UnitKind::Opd, UnitKind::Kecamatan],
    )?;
    let unit = match c.get("unit") {
        Some(unit) => {
            units
                .require(
                    "unit",
                    unit,
                    &[UnitKind::Puskesmas, UnitKind::Kecamatan, UnitKind::Opd],
                    true,
                )
                .map_err(domain_field)?;
            Some(unit.to_owned())
        }
        None => None,
    };
    let stage = c
        .read("stage", cell::stage)?
        .ok_or_else(|| Refusal::new("stage", "is empty; the row needs it (a missing field)"))?;
    let initiator = c.required("initiator")?;
    let source = match c.read("source", cell::source)? {
        Some(code) => code,
        None => cell::source_of_initiator(initiator),
    };
    let form = match c.read("form", cell::form)? {
        Some("governance") => Form::Governance,
        Some("public_service") => Form::PublicService,
        Some(_) => Form::Other,
        None => {
            return Err(Refusal::new(
                "form",
                "is empty; the row needs it (a missing field)",
            ));
        }
    };
    let sdgs: BTreeSet<u8> = c
        .read("sdgs", cell::sdgs)?
        .unwrap_or_default()
        .into_iter()
        .collect();
    let profile = Profile {
        name: name.to_owned(),
        opd: opd.clone(),
        unit,
        region: region.to_owned(),
        source: Source::parse(source).map_err(domain_field)?,
        initiator_type: initiator.to_owned(),
        form,
        digital: c.read("digital", cell::yes_no)?.unwrap_or(false),
        sector: c.required("sector")?.to_owned(),
        sdgs,
        goal: c.required("goal")?.to_owned(),
        benefit: c.required("benefit")?.to_owned(),
        budget: c.read("budget", cell::rupiah)?.filter(|b| *b > 0),
        legal_basis: c.get("legal_basis").map(str::to_owned),
    };
    profile.validate().map_err(domain_field)?;
    let id = match c.get("id") {
        Some(id) => InnovationId::parse(id).map_err(|e| domain_field(e).about("id"))?,
        None => imported_id(&opd, name),
    };
    let decree = match (c.get("decree_number"), c.date("decree_date")?) {
        (Some(number), Some(day)) => Some((number.to_owned(), day)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(Refusal::new(
                "decree_date",
                "is empty while the decree's number is given; a decree has both",
            ));
        }
        (None, Some(_)) => {
            return Err(Refusal::new(
                "decree_number",
                "is empty while the decree's date is given; a decree has both",
            ));
        }
    };
    let replica_of = c
        .get("replica_of")
        .map(|id| InnovationId::parse(id).map_err(|e| domain_field(e).about("replica_of")))
        .transpose()?;
    let wanted = Wanted {
        id,
        profile,
        stage,
        registered_on: c.date("registered_on")?,
        decree,
        piloted: c.date("pilot_started_on")?,
        implemented: c.date("implemented_on")?,
        dormant: c.date("dormant_since")?,
        replica_of,
        adopters: match c.get("adopters") {
            Some(text) => adopters(text, c.today)?,
            None => Vec::new(),
        },
    };
    consistent(&wanted)?;
    Ok(wanted)
}

/// A stage's words in the report (the register's).
fn words(stage: &str) -> &str {
    match stage {
        "proposed" => "inisiatif",
        "piloted" => "uji coba",
        "adopted" => "penerapan",
        "replicated" => "replikasi",
        "dormant" => "vakum",
        other => other,
    }
}

/// A row's stage and dates agree: each stage has the date it starts
/// with, and no date of a later stage.
fn consistent(w: &Wanted) -> Result<(), Refusal> {
    let missing = |field: &str, what: &str| {
        Refusal::new(
            field,
            format!(
                "is empty; a row at stage {} says when {what} (a missing field)",
                words(w.stage)
            ),
        )
    };
    match w.stage {
        "piloted" if w.piloted.is_none() => {
            return Err(missing("pilot_started_on", "its pilot started"));
        }
        "adopted" | "replicated" if w.implemented.is_none() => {
            return Err(missing("implemented_on", "it was implemented"));
        }
        "dormant" if w.dormant.is_none() => {
            return Err(missing("dormant_since", "it became dormant"));
        }
        "replicated" if w.adopters.is_empty() => {
            return Err(Refusal::new(
                "adopters",
                "is empty; a row at stage replikasi names who adopted it (a missing field)",
            ));
        }
        _ => {}
    }
    let later = |field: &str| {
        Refusal::new(
            "stage",
            format!(
                "is {} while the row gives a {field}; write the stage the dates reach (or leave the date out)",
                words(w.stage)
            ),
        )
    };
    if w.stage == "proposed" && w.piloted.is_some() {
        return Err(later("pilot date"));
    }
    if matches!(w.stage, "proposed" | "piloted") && w.implemented.is_some() {
        return Err(later("date of implementation"));
    }
    if w.stage != "dormant" && w.dormant.is_some() {
        return Err(later("dormant date"));
    }
    if !w.adopters.is_empty() && !matches!(w.stage, "replicated" | "dormant") {
        return Err(later("list of adopters"));
    }
    Ok(())
}

fn rank(stage: &str) -> u8 {
    match stage {
        "proposed" => 0,
        "piloted" => 1,
        "adopted" => 2,
        _ => 3,
    }
}

/// The commands that bring `state` (none: not registered) to what `w`
/// says, or why they cannot.
fn plan(w: &Wanted, state: Option<&InnovationState>) -> Result<Vec<Step>, Refusal> {
    let mut steps = Vec::new();
    let blank = InnovationState::default();
    let (s, current) = match state.filter(|s| s.profile.is_some()) {
        None => {
            let first = [
                w.registered_on,
                w.decree.as_ref().map(|d| d.1),
                w.piloted,
                w.implemented,
                w.dormant,
            ]
            .into_iter()
            .flatten()
            .min();
            steps.push(Step {
                label: "registered".into(),
                field: "",
                // Its registration day, or a step's before it: never
                // registered after a step it took.
                on: first,
                body: I::Register {
                    innovation_id: w.id.clone(),
                    profile: w.profile.clone(),
                    origin: w.replica_of.clone().map(Origin::ReplicaOf),
                },
            });
            (&blank, "proposed".to_owned())
        }
        Some(s) => {
            let held = s.profile.as_ref().expect("filtered");
            let fixed = |field: &str, theirs: &str, ours: &str, what: &str| {
                Refusal::new(
                    field,
                    format!(
                        "is {} in the file, {} in jejak; an import does not change an innovation's {what} \
                         (an amendment changes the rest of its profile)",
                        jejak_engine::domain::values::quoted(theirs),
                        jejak_engine::domain::values::quoted(ours)
                    ),
                )
            };
            if held.opd != w.profile.opd {
                return Err(fixed(
                    "opd",
                    w.profile.opd.as_str(),
                    held.opd.as_str(),
                    "OPD",
                ));
            }
            if held.source != w.profile.source {
                return Err(fixed(
                    "source",
                    w.profile.source.as_str(),
                    held.source.as_str(),
                    "source",
                ));
            }
            if held.initiator_type != w.profile.initiator_type {
                return Err(fixed(
                    "initiator",
                    &w.profile.initiator_type,
                    &held.initiator_type,
                    "initiator",
                ));
            }
            if let Some(step) = amendment(&w.profile, held) {
                steps.push(step);
            }
            (s, s.lifecycle.clone().unwrap_or_default())
        }
    };
    let refuse_back = || {
        Refusal::new(
            "stage",
            format!(
                "is {} in the file, {} in jejak; an import moves an innovation forward, never back",
                words(w.stage),
                words(&current)
            ),
        )
    };
    if current == "dormant" && w.stage != "dormant" {
        return Err(Refusal::new(
            "stage",
            format!(
                "is {} in the file, vakum in jejak; resume it first (jejak innovation resume)",
                words(w.stage)
            ),
        ));
    }
    if w.stage != "dormant" && rank(&current) > rank(w.stage) {
        return Err(refuse_back());
    }
    let differs = |field: &str, what: &str, file: NaiveDate, held: NaiveDate| {
        Refusal::new(
            field,
            format!(
                "is {file} in the file, {held} in jejak; an import does not change the day {what}"
            ),
        )
    };
    match (&w.decree, &s.decree) {
        (Some((number, day)), None) => steps.push(Step {
            label: format!("designated ({number}, {day})"),
            field: "decree_number",
            on: Some(*day),
            body: I::RecordRegisterStep(RegisterStep::Designated {
                decree_number: number.clone(),
                decree_date: *day,
            }),
        }),
        (Some((number, day)), Some((held_number, held_day)))
            if number != held_number || day != held_day =>
        {
            return Err(Refusal::new(
                "decree_number",
                format!(
                    "is {number} of {day} in the file, {held_number} of {held_day} in jejak; \
                     an import does not change a decree"
                ),
            ));
        }
        _ => {}
    }
    match (w.piloted, s.pilot_started_on) {
        (Some(file), Some(held)) if file != held => {
            return Err(differs("pilot_started_on", "its pilot started", file, held));
        }
        (Some(on), None) if current == "proposed" => steps.push(Step {
            label: format!("piloted {on}"),
            field: "pilot_started_on",
            on: Some(on),
            body: I::RecordRegisterStep(RegisterStep::Piloted { on }),
        }),
        _ => {}
    }
    match (w.implemented, s.implemented_on) {
        (Some(file), Some(held)) if file != held => {
            return Err(differs("implemented_on", "it was implemented", file, held));
        }
        (Some(on), None) if matches!(current.as_str(), "proposed" | "piloted") => {
            steps.push(Step {
                label: format!("implemented {on}"),
                field: "implemented_on",
                on: Some(on),
                body: I::RecordRegisterStep(RegisterStep::Implemented { on }),
            });
        }
        _ => {}
    }
    for (opd, region, agreement) in &w.adopters {
        let known = s
            .adopters
            .iter()
            .any(|a| a.opd == *opd && region_key(&a.region) == region_key(region));
        if known {
            continue;
        }
        if current == "dormant" {
            return Err(Refusal::new(
                "adopters",
                format!(
                    "names {opd} ({region}), which jejak has not recorded, and the innovation is \
                     vakum in jejak: a dormant innovation is not replicated"
                ),
            ));
        }
        steps.push(Step {
            label: format!("replicated by {opd} ({region})"),
            field: "adopters",
            on: Some(agreement.signed_on),
            body: I::RecordReplication {
                adopter_opd: opd.clone(),
                adopter_region: region.clone(),
                agreement: agreement.clone(),
            },
        });
    }
    match (w.dormant, s.dormant_since) {
        (Some(file), Some(held)) if file != held => {
            return Err(differs("dormant_since", "it became dormant", file, held));
        }
        (Some(on), None) if current != "dormant" => steps.push(Step {
            label: format!("vakum since {on}"),
            field: "dormant_since",
            on: Some(on),
            body: I::RecordRegisterStep(RegisterStep::Dormant { on }),
        }),
        _ => {}
    }
    Ok(steps)
}

/// An amendment of `held` to `wanted`'s amendable fields, if any differ.
fn amendment(wanted: &Profile, held: &Profile) -> Option<Step> {
    let amended = Amendment {
        name: wanted.name.clone(),
        unit: wanted.unit.clone(),
        form: wanted.form,
        digital: wanted.digital,
        sector: wanted.sector.clone(),
        sdgs: wanted.sdgs.clone(),
        goal: wanted.goal.clone(),
        benefit: wanted.benefit.clone(),
        budget: wanted.budget,
        legal_basis: wanted.legal_basis.clone(),
    };
    let after = amended.apply(held);
    let changed: Vec<&str> = [
        ("name", after.name != held.name),
        ("unit", after.unit != held.unit),
        ("form", after.form != held.form),
        ("digital", after.digital != held.digital),
        ("sector", after.sector != held.sector),
        ("sdgs", after.sdgs != held.sdgs),
        ("goal", after.goal != held.goal),
        ("benefit", after.benefit != held.benefit),
        ("budget", after.budget != held.budget),
        ("legal_basis", after.legal_basis != held.legal_basis),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(field, _)| field)
    .collect();
    (!changed.is_empty()).then(|| Step {
        label: format!("amended: {}", changed.join(", ")),
        field: "",
        on: None,
        body: I::AmendProfile(amended),
    })
}

impl App {
    /// The rows read and planned against the log as it is; the refused
    /// ones with why.
    pub(super) async fn import_innovation_rows(
        &self,
        actor: &Actor,
        options: &pb::ImportOptions,
        rows: Vec<pb::ImportRow>,
    ) -> Result<pb::ImportReport, Status> {
        let units = self.units().await?;
        let engine = self.engine();
        let region = engine.config().region.clone();
        let today = engine.today();
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut read_rows = Vec::with_capacity(rows.len());
        for row in &rows {
            let cells = Cells {
                cells: &row.cells,
                today,
            };
            let wanted = read(&cells, &units, &region).and_then(|w| {
                match seen.insert(w.id.to_string(), row.row) {
                    Some(first) => Err(Refusal::new(
                        "",
                        format!("names the same innovation as row {first}; one row per innovation"),
                    )),
                    None => Ok(w),
                }
            });
            read_rows.push((row.row, wanted));
        }
        // Every row checked as the deciders would decide its commands.
        let mut checked = Vec::with_capacity(read_rows.len());
        for (row, wanted) in &read_rows {
            let result = match wanted {
                Ok(w) => self.preview_innovation(actor, w).await?,
                Err(refusal) => Err(refusal.clone()),
            };
            checked.push((*row, result));
        }
        let refused = checked.iter().any(|(_, r)| r.is_err());
        if !options.apply || refused {
            return Ok(report(checked, &options.headers, false, 0));
        }
        let mut written = Vec::with_capacity(read_rows.len());
        let mut position = 0;
        for (row, wanted) in read_rows {
            let w = wanted.expect("no row was refused");
            let (result, at) = self.apply_innovation(actor, &w).await?;
            position = position.max(at);
            written.push((row, result));
        }
        Ok(report(written, &options.headers, true, position))
    }

    async fn innovation_state(&self, id: &InnovationId) -> Result<Option<InnovationState>, Status> {
        Ok(self
            .engine()
            .get::<Innovation>(id.as_str())
            .await
            .map_err(status)?
            .map(|l| l.state))
    }

    fn contexts(
        &self,
        actor: &Actor,
        w: &Wanted,
        steps: Vec<Step>,
    ) -> Result<Vec<(Step, jejak_engine::engine::Context)>, Status> {
        steps
            .into_iter()
            .map(|step| {
                let what = format!("{:?}|{:?}", step.body, step.on);
                let id = request_id("innovation", w.id.as_str(), &what);
                let ctx = dated_context(self, actor, &id, step.on)?;
                Ok((step, ctx))
            })
            .collect()
    }

    async fn preview_innovation(
        &self,
        actor: &Actor,
        w: &Wanted,
    ) -> Result<Result<Done, Refusal>, Status> {
        let state = self.innovation_state(&w.id).await?;
        let steps = match plan(w, state.as_ref()) {
            Ok(steps) => steps,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let steps = self.contexts(actor, w, steps)?;
        let labels: Vec<(String, &'static str)> = steps
            .iter()
            .map(|(s, _)| (s.label.clone(), s.field))
            .collect();
        let answers = self
            .engine()
            .preview::<Innovation>(
                w.id.as_str(),
                steps.into_iter().map(|(s, ctx)| (ctx, s.body)).collect(),
            )
            .await
            .map_err(status)?;
        for ((_, field), answer) in labels.iter().zip(&answers) {
            if let Err(err) = answer {
                let refusal = domain_field(err.clone());
                return Ok(Err(if refusal.field.is_empty() {
                    refusal.about(field)
                } else {
                    refusal
                }));
            }
        }
        Ok(Ok(Done {
            id: w.id.to_string(),
            changes: labels.into_iter().map(|(label, _)| label).collect(),
        }))
    }

    /// Writes what `w` says; a registration another writer made meanwhile
    /// (a replica registered by its original's replication) is planned
    /// against once more.
    async fn apply_innovation(
        &self,
        actor: &Actor,
        w: &Wanted,
    ) -> Result<(Result<Done, Refusal>, u64), Status> {
        let mut position = 0;
        let mut changes = Vec::new();
        'again: for attempt in 0..2 {
            let state = self.innovation_state(&w.id).await?;
            let steps = match plan(w, state.as_ref()) {
                Ok(steps) => steps,
                Err(refusal) => return Ok((Err(refusal), position)),
            };
            for (step, ctx) in self.contexts(actor, w, steps)? {
                match self
                    .engine()
                    .execute::<Innovation>(w.id.as_str(), &ctx, step.body)
                    .await
                {
                    Ok(outcome) => {
                        position = position.max(outcome.position);
                        if !outcome.events.is_empty() && !outcome.duplicate {
                            changes.push(step.label);
                        }
                    }
                    Err(CommandError::Domain(DomainError::AlreadyExists { .. }))
                        if attempt == 0 =>
                    {
                        continue 'again;
                    }
                    Err(CommandError::Domain(err)) => {
                        let refusal = domain_field(err);
                        let refusal = if refusal.field.is_empty() {
                            refusal.about(step.field)
                        } else {
                            refusal
                        };
                        return Ok((Err(refusal), position));
                    }
                    Err(err) => return Err(status(err)),
                }
            }
            break;
        }
        Ok((
            Ok(Done {
                id: w.id.to_string(),
                changes,
            }),
            position,
        ))
    }
}
