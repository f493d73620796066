//! A cohort's roster: each row names a participant by NIP and enrols them
//! with their mentor, coach and examiners, or, for one enrolled before,
//! amends the name, position or OPD that changed (`AmendEnrolment`, sealed
//! with the participant's key like the enrolment, ADR 0022) and reassigns
//! the staff that changed (ADR 0027); never a second enrolment (ADR 0031).

use std::collections::HashMap;

use jejak_engine::domain::cohort::{Cohort, CohortCommand, CohortState, Enrollment, Participant};
use jejak_engine::domain::units::{UnitKind, UnitsState};
use jejak_engine::domain::values::{CohortId, Nip, PersonId};
use jejak_engine::domain::{Actor, DomainError};
use jejak_proto::v1 as pb;
use tonic::Status;

use super::{Cells, Done, Refusal, report, request_id, unit_code};
use crate::App;
use crate::convert::context;
use crate::error::status;
use crate::import::{self as cell, ROSTER_FIELDS};

/// What a row says of its participant.
struct Wanted {
    nip: Nip,
    name: String,
    position: String,
    opd: String,
    mentor: String,
    coach: String,
    examiners: Vec<String>,
}

fn domain_field(err: DomainError) -> Refusal {
    let renamed = match err {
        DomainError::Invalid { field, reason } => {
            let field = field
                .trim_start_matches("participant.")
                .split('[')
                .next()
                .unwrap_or_default()
                .to_owned();
            DomainError::Invalid { field, reason }
        }
        other => other,
    };
    Refusal::domain(&renamed, ROSTER_FIELDS, "")
}

fn read(c: &Cells<'_>, units: &UnitsState) -> Result<Wanted, Refusal> {
    let nip_text = c.required("nip")?;
    let nip = Nip::parse_field("nip", nip_text).map_err(|e| {
        let refusal = domain_field(e);
        if nip_text.contains(['e', 'E']) {
            Refusal::new(
                "nip",
                format!(
                    "{}: the spreadsheet kept the NIP as a number and lost its last digits; \
                     format the NIP column as text and write the NIPs again",
                    refusal.reason
                ),
            )
        } else {
            refusal
        }
    })?;
    let opd = unit_code(
        units,
        "opd",
        c.required("opd")?,
        &[UnitKind::Opd, UnitKind::Kecamatan],
    )?;
    let wanted = Wanted {
        nip,
        name: c.required("name")?.to_owned(),
        position: c.required("position")?.to_owned(),
        opd: opd.to_string(),
        mentor: c.required("mentor")?.to_owned(),
        coach: c.required("coach")?.to_owned(),
        examiners: cell::list(c.required("examiners")?),
    };
    // Checked as an enrolment is, before anything is looked up.
    let participant = Participant::new(
        PersonId::generate(),
        &wanted.nip,
        &wanted.name,
        &wanted.position,
        &wanted.opd,
    )
    .map_err(domain_field)?;
    Enrollment::new(
        participant,
        &wanted.mentor,
        &wanted.coach,
        &wanted.examiners,
    )
    .map_err(domain_field)?;
    Ok(wanted)
}

/// What a row becomes against the cohort as it is (one per row of a file,
/// held for the import's length: its size does not matter).
#[allow(clippy::large_enum_variant)]
enum Plan {
    Enrol,
    /// An enrolled participant whose row differs: their fields amended
    /// (with the names of those that changed), their staff reassigned.
    Change {
        amend: Option<(Participant, Vec<&'static str>)>,
        reassign: Option<(Enrollment, Vec<&'static str>)>,
        held: Enrollment,
    },
    Unchanged(Enrollment),
}

impl Plan {
    /// What the report says a row changes.
    fn changes(&self) -> Vec<String> {
        match self {
            Plan::Enrol => vec!["enrolled".into()],
            Plan::Change {
                amend, reassign, ..
            } => amend
                .iter()
                .map(|(_, f)| format!("amended: {}", f.join(", ")))
                .chain(
                    reassign
                        .iter()
                        .map(|(_, f)| format!("reassigned: {}", f.join(", "))),
                )
                .collect(),
            Plan::Unchanged(_) => vec![],
        }
    }
}

fn plan(w: &Wanted, enrolled: Option<&Enrollment>) -> Result<Plan, Refusal> {
    let Some(held) = enrolled else {
        return Ok(Plan::Enrol);
    };
    let p = &held.participant;
    let participant = Participant::new(
        p.person.clone(),
        &p.nip,
        w.name.trim(),
        w.position.trim(),
        &w.opd,
    )
    .map_err(domain_field)?;
    let amended: Vec<&'static str> = [
        ("name", participant.name != p.name),
        ("position", participant.position != p.position),
        ("opd", participant.opd != p.opd),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    let mut changed = Vec::new();
    if held.mentor != w.mentor {
        changed.push("mentor");
    }
    if held.coach != w.coach {
        changed.push("coach");
    }
    if held.examiners != w.examiners {
        changed.push("examiners");
    }
    if amended.is_empty() && changed.is_empty() {
        return Ok(Plan::Unchanged(held.clone()));
    }
    let reassign = if changed.is_empty() {
        None
    } else {
        let enrollment = Enrollment::new(participant.clone(), &w.mentor, &w.coach, &w.examiners)
            .map_err(domain_field)?;
        Some((enrollment, changed))
    };
    Ok(Plan::Change {
        amend: (!amended.is_empty()).then_some((participant, amended)),
        reassign,
        held: held.clone(),
    })
}

impl App {
    pub(super) async fn import_roster_rows(
        &self,
        actor: &Actor,
        options: &pb::ImportOptions,
        rows: Vec<pb::ImportRow>,
    ) -> Result<pb::ImportReport, Status> {
        if options.cohort_id.trim().is_empty() {
            return Err(crate::error::invalid(
                "cohort_id",
                "is required: name the cohort the roster is of in the options (jejak cohort list)",
            ));
        }
        let cohort_id = CohortId::parse(&options.cohort_id).map_err(crate::convert::domain)?;
        let not_found = || {
            Status::not_found(format!(
                "cohort {cohort_id} is not one of yours; check its name (jejak cohort list)"
            ))
        };
        let cohort: CohortState = self
            .own_cohort(actor, &cohort_id)
            .await?
            .ok_or_else(not_found)?;
        let units = self.units().await?;
        let today = self.engine().today();
        let store = self.engine().store();
        let mut seen: HashMap<String, u32> = HashMap::new();
        // Each row read, then planned against the cohort as enrolled.
        let mut planned = Vec::with_capacity(rows.len());
        for row in &rows {
            let cells = Cells {
                cells: &row.cells,
                today,
            };
            let result = match read(&cells, &units) {
                Ok(w) => match seen.insert(w.nip.as_str().to_owned(), row.row) {
                    Some(first) => Err(Refusal::new(
                        "nip",
                        format!(
                            "names the same participant as row {first}; one row per participant"
                        ),
                    )),
                    None => {
                        let person = store.find_person(&w.nip).await.map_err(status)?;
                        let enrolled = person.and_then(|p| cohort.enrollments.get(&p));
                        plan(&w, enrolled).map(|plan| (w, plan))
                    }
                },
                Err(refusal) => Err(refusal),
            };
            planned.push((row.row, result));
        }
        // The commands of every row, decided in turn on the cohort.
        let mut commands = Vec::new();
        let mut index = Vec::new();
        for (i, (_, result)) in planned.iter().enumerate() {
            if let Ok((
                _,
                Plan::Change {
                    amend, reassign, ..
                },
            )) = result
            {
                // The amendment first: the reassignment keeps the
                // participant as the cohort then reads.
                for body in amend
                    .iter()
                    .map(|(p, _)| CohortCommand::AmendEnrolment(p.clone()))
                    .chain(
                        reassign
                            .iter()
                            .map(|(e, _)| CohortCommand::Reassign(e.clone())),
                    )
                {
                    commands.push((context(actor, "import-preview")?, body));
                    index.push(i);
                }
                continue;
            }
            let body = match result {
                Ok((w, Plan::Enrol)) => {
                    let participant = Participant::new(
                        PersonId::generate(),
                        &w.nip,
                        &w.name,
                        &w.position,
                        &w.opd,
                    )
                    .map_err(crate::convert::domain)?;
                    CohortCommand::Enrol(
                        Enrollment::new(participant, &w.mentor, &w.coach, &w.examiners)
                            .map_err(crate::convert::domain)?,
                    )
                }
                _ => continue,
            };
            commands.push((context(actor, "import-preview")?, body));
            index.push(i);
        }
        let answers = self
            .engine()
            .preview::<Cohort>(cohort_id.as_str(), commands)
            .await
            .map_err(status)?;
        let mut checked: Vec<(u32, Result<Done, Refusal>)> = planned
            .iter()
            .map(|(row, result)| {
                let done = result.as_ref().map(|(_, plan)| Done {
                    id: match plan {
                        Plan::Enrol => String::new(),
                        Plan::Change { held, .. } | Plan::Unchanged(held) => code(&cohort_id, held),
                    },
                    changes: plan.changes(),
                });
                (*row, done.map_err(Clone::clone))
            })
            .collect();
        for (i, answer) in index.into_iter().zip(answers) {
            if let Err(err) = answer {
                checked[i].1 = Err(domain_field(err));
            }
        }
        let refused = checked.iter().any(|(_, r)| r.is_err());
        if !options.apply || refused {
            return Ok(report(checked, &options.headers, false, 0));
        }
        let mut position = 0;
        let mut written = Vec::with_capacity(planned.len());
        for (row, result) in planned {
            let (w, plan) = result.expect("no row was refused");
            let line = match plan {
                Plan::Unchanged(e) => Ok(Done {
                    id: code(&cohort_id, &e),
                    changes: vec![],
                }),
                Plan::Enrol => {
                    let r = pb::EnrolParticipantRequest {
                        request_id: String::new(),
                        cohort_id: cohort_id.to_string(),
                        participant: Some(pb::ParticipantInfo {
                            nip: w.nip.as_str().to_owned(),
                            name: w.name.clone(),
                            position: w.position.clone(),
                            opd: w.opd.clone(),
                        }),
                        mentor: w.mentor.clone(),
                        coach: w.coach.clone(),
                        examiners: w.examiners.clone(),
                        expected_version: None,
                    };
                    let what = format!(
                        "enrol|{}|{:?}",
                        w.nip.as_str(),
                        (&w.mentor, &w.coach, &w.examiners)
                    );
                    let ctx = context(actor, &request_id("roster", cohort_id.as_str(), &what))?;
                    match self.enrol(&ctx, &r).await {
                        Ok(answer) => {
                            let answer = answer.into_inner();
                            position = position.max(answer.position);
                            Ok(Done {
                                id: String::new(),
                                changes: if answer.events.is_empty() || answer.duplicate {
                                    vec![]
                                } else {
                                    vec!["enrolled".into()]
                                },
                            })
                        }
                        Err(refused) if is_refusal(&refused) => {
                            Err(Refusal::new("", refused.message().to_owned()))
                        }
                        Err(failed) => return Err(failed),
                    }
                }
                Plan::Change {
                    amend,
                    reassign,
                    held,
                } => {
                    let id = code(&cohort_id, &held);
                    let mut changes = Vec::new();
                    let mut refused = None;
                    if let Some((participant, fields)) = amend {
                        let what = format!(
                            "amend|{}|{:?}",
                            w.nip.as_str(),
                            (
                                &participant.name,
                                &participant.position,
                                participant.opd.as_str()
                            )
                        );
                        let ctx = context(actor, &request_id("roster", cohort_id.as_str(), &what))?;
                        match self
                            .engine()
                            .amend_enrolment(&ctx, &cohort_id, participant)
                            .await
                        {
                            Ok(outcome) => {
                                position = position.max(outcome.position);
                                if !outcome.events.is_empty() && !outcome.duplicate {
                                    changes.push(format!("amended: {}", fields.join(", ")));
                                }
                            }
                            Err(jejak_engine::engine::CommandError::Domain(err)) => {
                                refused = Some(domain_field(err));
                            }
                            Err(err) => return Err(status(err)),
                        }
                    }
                    if let (None, Some((enrollment, fields))) = (&refused, reassign) {
                        let what = format!(
                            "reassign|{}|{:?}",
                            w.nip.as_str(),
                            (&w.mentor, &w.coach, &w.examiners)
                        );
                        let ctx = context(actor, &request_id("roster", cohort_id.as_str(), &what))?;
                        match self
                            .engine()
                            .reassign_staff(&ctx, &cohort_id, enrollment)
                            .await
                        {
                            Ok(outcome) => {
                                position = position.max(outcome.position);
                                if !outcome.events.is_empty() && !outcome.duplicate {
                                    changes.push(format!("reassigned: {}", fields.join(", ")));
                                }
                            }
                            Err(jejak_engine::engine::CommandError::Domain(err)) => {
                                refused = Some(domain_field(err));
                            }
                            Err(err) => return Err(status(err)),
                        }
                    }
                    match refused {
                        Some(refusal) => Err(refusal),
                        None => Ok(Done { id, changes }),
                    }
                }
            };
            written.push((row, line));
        }
        // The codes of those just enrolled.
        if let Some(cohort) = self
            .engine()
            .get::<Cohort>(cohort_id.as_str())
            .await
            .map_err(status)?
        {
            let codes: HashMap<&str, String> = cohort
                .state
                .enrollments
                .values()
                .map(|e| (e.participant.nip.as_str(), code(&cohort_id, e)))
                .collect();
            for ((_, line), row) in written.iter_mut().zip(&rows) {
                if let (Ok(done), Some(nip)) = (line, row.cells.get("nip")) {
                    let nip: String = nip.chars().filter(|c| !c.is_whitespace()).collect();
                    if let Some(code) = codes.get(nip.as_str()) {
                        done.id = code.clone();
                    }
                }
            }
        }
        Ok(report(written, &options.headers, true, position))
    }
}

/// The participant's project code in the cohort (empty for an enrolment
/// made before codes).
fn code(cohort: &CohortId, e: &Enrollment) -> String {
    e.code(cohort).map(|c| c.to_string()).unwrap_or_default()
}

/// A status that is the domain's answer about the row, not an outage.
fn is_refusal(status: &Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::InvalidArgument
            | tonic::Code::PermissionDenied
            | tonic::Code::NotFound
            | tonic::Code::AlreadyExists
            | tonic::Code::FailedPrecondition
    )
}
