//! `Import.ImportInnovations` and `Import.ImportRoster` (ADR 0031): a
//! client-streaming call whose first message holds the options and the
//! rest the file's rows. Every row is read and checked, as the commands it
//! becomes, by the deciders (a dry run asks [`Engine::preview`], which
//! writes nothing); only when no row is refused, and the caller asked to
//! apply, are they executed, in the file's order, each under request ids
//! derived from what it writes: the same file again writes nothing.
//!
//! [`Engine::preview`]: jejak_engine::engine::Engine::preview

mod innovations;
mod roster;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use jejak_engine::domain::DomainError;
use jejak_engine::domain::units::{UnitKind, UnitMatch, UnitsState};
use jejak_engine::domain::values::OpdCode;
use jejak_engine::engine::Context;
use jejak_proto::v1 as pb;
use prost::Message as _;
use sha2::{Digest as _, Sha256};
use tonic::{Request, Response, Status, Streaming};

use crate::App;
use crate::auth::OCCURRED_AT_HEADER;
use crate::convert::context;
use crate::import::Field;

/// A row's refusal: the field it is about (jejak's name; empty for the
/// row as a whole) and why.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Refusal {
    field: String,
    reason: String,
}

impl Refusal {
    fn new(field: &str, reason: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    /// The domain's refusal, about its field when that is one of the
    /// import's, otherwise about `fallback`.
    fn domain(err: &DomainError, fields: &[Field], fallback: &str) -> Self {
        match err {
            DomainError::Invalid { field, reason } => {
                let known = fields.iter().any(|f| f.name == field);
                Self::new(
                    if known { field } else { fallback },
                    if known {
                        reason.clone()
                    } else {
                        format!("{field}: {reason}")
                    },
                )
            }
            other => Self::new(fallback, other.to_string()),
        }
    }
}

/// A row's cells, read field by field.
pub(crate) struct Cells<'a> {
    cells: &'a HashMap<String, String>,
    today: NaiveDate,
}

impl<'a> Cells<'a> {
    /// The cell's text, trimmed; `None` when empty or absent.
    fn get(&self, field: &str) -> Option<&'a str> {
        self.cells
            .get(field)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The cell's text, required.
    fn required(&self, field: &str) -> Result<&'a str, Refusal> {
        self.get(field).ok_or_else(|| {
            Refusal::new(
                field,
                "is empty; the row needs it (a missing field)".to_owned(),
            )
        })
    }

    /// The cell read by `read`, when there is one.
    fn read<T>(
        &self,
        field: &str,
        read: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, Refusal> {
        self.get(field)
            .map(|text| read(text).map_err(|reason| Refusal::new(field, reason)))
            .transpose()
    }

    /// A date, never after today.
    fn date(&self, field: &str) -> Result<Option<NaiveDate>, Refusal> {
        let today = self.today;
        self.read(field, |t| crate::import::date(t, today))
    }
}

/// What a row wrote, or would.
pub(crate) struct Done {
    /// What it names (an innovation id, a project code).
    id: String,
    /// What it writes, in words; empty when unchanged.
    changes: Vec<String>,
}

/// How many rows an import may stream, and bytes in all.
fn too_many(limits: &crate::limits::Limits, rows: usize, bytes: usize) -> Option<Status> {
    if rows > limits.max_import_rows {
        return Some(Status::resource_exhausted(format!(
            "an import takes at most {} rows; split the file and import each part",
            limits.max_import_rows
        )));
    }
    if bytes > limits.max_import_bytes {
        return Some(Status::resource_exhausted(format!(
            "an import takes at most {} MiB of rows; split the file and import each part",
            limits.max_import_bytes / (1024 * 1024)
        )));
    }
    None
}

impl App {
    /// The options and rows of an import's stream, within the limits.
    async fn import_rows(
        &self,
        mut stream: Streaming<pb::ImportRequest>,
        fields: &[Field],
    ) -> Result<(pb::ImportOptions, Vec<pb::ImportRow>), Status> {
        let first = stream.message().await?.and_then(|m| m.part);
        let Some(pb::import_request::Part::Options(options)) = first else {
            return Err(Status::invalid_argument(
                "the first message of an import holds its options (apply, cohort_id, headers); \
                 the rows follow",
            ));
        };
        let mut rows = Vec::new();
        let mut bytes = 0usize;
        while let Some(message) = stream.message().await? {
            bytes += message.encoded_len();
            match message.part {
                Some(pb::import_request::Part::Row(row)) => {
                    if let Some(unknown) = row
                        .cells
                        .keys()
                        .find(|k| !fields.iter().any(|f| f.name == k.as_str()))
                    {
                        return Err(Status::invalid_argument(format!(
                            "row {}: {} is not a field of this import; the fields are {}",
                            row.row,
                            jejak_engine::domain::values::quoted(unknown),
                            fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                        )));
                    }
                    rows.push(row);
                }
                _ => {
                    return Err(Status::invalid_argument(
                        "after the options, an import's messages are rows",
                    ));
                }
            }
            if let Some(status) = too_many(self.limits(), rows.len(), bytes) {
                return Err(status);
            }
        }
        Ok((options, rows))
    }
}

/// An import's request id for one command: derived from the import's
/// kind, the stream and what the command says, so that the same row
/// imported again repeats it (and writes nothing).
fn request_id(kind: &str, stream: &str, what: &str) -> String {
    let mut hash = Sha256::new();
    for part in [kind, stream, what] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    format!("import-{}", &hex::encode(hash.finalize())[..32])
}

/// The context of one command of an import, dated `on` (the row's own
/// date, ADR 0031) when given: 09:00 that day where the region is, or now
/// if that is later than now.
fn dated_context(
    app: &App,
    actor: &jejak_engine::domain::Actor,
    request_id: &str,
    on: Option<NaiveDate>,
) -> Result<Context, Status> {
    let ctx = context(actor, request_id)?;
    let Some(day) = on else {
        return Ok(ctx);
    };
    let now = app.engine().clock().now();
    let at: DateTime<Utc> = day
        .and_hms_opt(9, 0, 0)
        .and_then(|t| t.and_local_timezone(app.engine().utc_offset(now)).single())
        .map_or(now, |t| t.with_timezone(&Utc))
        .min(now);
    Ok(ctx.occurred_at(at))
}

/// The code of the unit `given` names (its code or its name, case and
/// spaces aside), of `kinds`; while the region defines no units, `given`
/// read as a code.
fn unit_code(
    units: &UnitsState,
    field: &str,
    given: &str,
    kinds: &[UnitKind],
) -> Result<OpdCode, Refusal> {
    let key = crate::import::header_key(given);
    if let Some(unit) = units.units.values().find(|u| {
        kinds.contains(&u.kind)
            && (u.code.as_str().eq_ignore_ascii_case(given.trim())
                || crate::import::header_key(&u.name) == key)
    }) {
        return Ok(unit.code.clone());
    }
    match units.check(given, kinds, true) {
        UnitMatch::Undefined => OpdCode::parse(given).map_err(|e| {
            Refusal::new(
                field,
                format!(
                    "{}; the region defines no units yet, so write the unit's code",
                    match e {
                        DomainError::Invalid { reason, .. } => reason,
                        other => other.to_string(),
                    }
                ),
            )
        }),
        _ => Err(match units.require(field, given, kinds, true) {
            Err(DomainError::Invalid { reason, .. }) => Refusal::new(field, reason),
            _ => Refusal::new(field, "is not a unit of this region"),
        }),
    }
}

/// The report of rows checked (and written, when `applied`).
fn report(
    results: Vec<(u32, Result<Done, Refusal>)>,
    headers: &HashMap<String, String>,
    applied: bool,
    position: u64,
) -> pb::ImportReport {
    let mut out = pb::ImportReport {
        applied,
        position,
        ..Default::default()
    };
    for (row, result) in results {
        let line = match result {
            Ok(done) if done.changes.is_empty() => {
                out.unchanged += 1;
                pb::RowReport {
                    row,
                    outcome: pb::RowOutcome::Unchanged as i32,
                    id: done.id,
                    ..Default::default()
                }
            }
            Ok(done) => {
                out.written += 1;
                pb::RowReport {
                    row,
                    outcome: pb::RowOutcome::Written as i32,
                    id: done.id,
                    changes: done.changes,
                    ..Default::default()
                }
            }
            Err(refusal) => {
                out.refused += 1;
                let column = if refusal.field.is_empty() {
                    String::new()
                } else {
                    headers
                        .get(&refusal.field)
                        .cloned()
                        .unwrap_or(refusal.field)
                };
                pb::RowReport {
                    row,
                    outcome: pb::RowOutcome::Refused as i32,
                    column,
                    reason: refusal.reason,
                    ..Default::default()
                }
            }
        };
        out.rows.push(line);
    }
    out
}

/// The header `x-jejak-occurred-at` has no place in an import: each fact
/// is dated by its row.
fn no_backdating<T>(request: &Request<T>) -> Result<(), Status> {
    if request.metadata().get(OCCURRED_AT_HEADER).is_some() {
        return Err(Status::invalid_argument(format!(
            "an import dates each fact by its row's own dates; send it without {OCCURRED_AT_HEADER}"
        )));
    }
    Ok(())
}

impl App {
    /// An import's caller, options and rows: refused before a row is read
    /// to a caller none of `roles` (the roles the rows' commands allow).
    async fn import_call(
        &self,
        request: Request<Streaming<pb::ImportRequest>>,
        roles: &[jejak_engine::domain::Role],
        what: &str,
        fields: &[Field],
    ) -> Result<
        (
            jejak_engine::domain::Actor,
            pb::ImportOptions,
            Vec<pb::ImportRow>,
        ),
        Status,
    > {
        no_backdating(&request)?;
        let actor = self.caller(&request)?.actor;
        super::require(&actor, roles, what)?;
        let (options, rows) = self.import_rows(request.into_inner(), fields).await?;
        Ok((actor, options, rows))
    }
}

#[tonic::async_trait]
impl pb::import_server::Import for App {
    async fn import_innovations(
        &self,
        request: Request<Streaming<pb::ImportRequest>>,
    ) -> Result<Response<pb::ImportReport>, Status> {
        use jejak_engine::domain::Role;
        let (actor, options, rows) = self
            .import_call(
                request,
                &[Role::BridaOfficer, Role::InnovationOfficer],
                "import the innovation register",
                crate::import::INNOVATION_FIELDS,
            )
            .await?;
        let report = self.import_innovation_rows(&actor, &options, rows).await?;
        Ok(Response::new(report))
    }

    async fn import_roster(
        &self,
        request: Request<Streaming<pb::ImportRequest>>,
    ) -> Result<Response<pb::ImportReport>, Status> {
        let (actor, options, rows) = self
            .import_call(
                request,
                &[jejak_engine::domain::Role::Organizer],
                "import a cohort's roster",
                crate::import::ROSTER_FIELDS,
            )
            .await?;
        let report = self.import_roster_rows(&actor, &options, rows).await?;
        Ok(Response::new(report))
    }
}
