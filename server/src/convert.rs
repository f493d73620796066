//! Wire types ⇄ domain types. Every conversion that can fail names the field.

use chrono::{DateTime, NaiveDate, Utc};
use jejak_engine::domain::change_project::Agreement;
use jejak_engine::domain::innovation::{Form, Source};
use jejak_engine::domain::values::{self, Attachment, Horizon, Level3, Rating, TrainingLevel};
use jejak_engine::domain::{Actor, DomainError};
use jejak_engine::engine::{Context, Outcome};
use jejak_proto::v1 as pb;
use tonic::Status;

use crate::error::{IntoStatus as _, invalid};

/// The most rows a page holds.
pub const MAX_PAGE_SIZE: u32 = 500;
const DEFAULT_PAGE_SIZE: u32 = 50;

/// Maps a domain validation error.
pub fn domain(err: DomainError) -> Status {
    err.into_status()
}

/// A `YYYY-MM-DD` field.
pub fn date(field: &str, value: &str) -> Result<NaiveDate, Status> {
    values::date(field, value).map_err(domain)
}

/// A date for the wire as `YYYY-MM-DD`; empty when there is none.
pub fn text_date(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

/// A timestamp for the wire.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A timestamp from the wire.
pub fn from_timestamp(field: &str, at: &prost_types::Timestamp) -> Result<DateTime<Utc>, Status> {
    DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).unwrap_or(0))
        .ok_or_else(|| invalid(field, "is not a representable moment"))
}

/// An attachment.
pub fn attachment(field: &str, a: &pb::Attachment) -> Result<Attachment, Status> {
    Attachment::new(field, &a.sha256, &a.uri, &a.name, &a.media_type)
        .map(|kept| kept.with_size(a.size))
        .map_err(domain)
}

/// A list of attachments.
pub fn attachments(field: &str, list: &[pb::Attachment]) -> Result<Vec<Attachment>, Status> {
    list.iter()
        .enumerate()
        .map(|(i, a)| attachment(&format!("{field}[{i}]"), a))
        .collect()
}

/// An agreement (required).
pub fn agreement(a: Option<&pb::Agreement>) -> Result<Agreement, Status> {
    let a = a.ok_or_else(|| invalid("agreement", "is required: kind, number and signed_on"))?;
    let document = a
        .document
        .as_ref()
        .map(|d| attachment("agreement.document", d))
        .transpose()?;
    Agreement::new(
        &a.kind,
        &a.number,
        date("agreement.signed_on", &a.signed_on)?,
        document,
    )
    .map_err(domain)
}

/// An agreement on the wire.
pub fn agreement_out(a: &Agreement) -> pb::Agreement {
    pb::Agreement {
        kind: a.kind.clone(),
        number: a.number.clone(),
        signed_on: a.signed_on.to_string(),
        document: a.document.as_ref().map(crate::services::attachment_out),
    }
}

/// A training level.
pub fn level(value: i32) -> Result<TrainingLevel, Status> {
    use pb::TrainingLevel as L;
    Ok(match L::try_from(value).unwrap_or(L::Unspecified) {
        L::PknI => TrainingLevel::PknI,
        L::PknIi => TrainingLevel::PknII,
        L::Pka => TrainingLevel::Pka,
        L::Pkp => TrainingLevel::Pkp,
        L::DiklatpimI => TrainingLevel::DiklatpimI,
        L::DiklatpimIi => TrainingLevel::DiklatpimII,
        L::DiklatpimIii => TrainingLevel::DiklatpimIII,
        L::DiklatpimIv => TrainingLevel::DiklatpimIV,
        L::Unspecified => {
            return Err(invalid(
                "level",
                "is required: PKN_I, PKN_II, PKA, PKP or a legacy DIKLATPIM level",
            ));
        }
    })
}

/// A training level for the wire, from its name.
pub fn level_out(name: &str) -> i32 {
    use pb::TrainingLevel as L;
    let level = match TrainingLevel::parse(name) {
        Ok(TrainingLevel::PknI) => L::PknI,
        Ok(TrainingLevel::PknII) => L::PknIi,
        Ok(TrainingLevel::Pka) => L::Pka,
        Ok(TrainingLevel::Pkp) => L::Pkp,
        Ok(TrainingLevel::DiklatpimI) => L::DiklatpimI,
        Ok(TrainingLevel::DiklatpimII) => L::DiklatpimIi,
        Ok(TrainingLevel::DiklatpimIII) => L::DiklatpimIii,
        Ok(TrainingLevel::DiklatpimIV) => L::DiklatpimIv,
        Err(_) => L::Unspecified,
    };
    level as i32
}

/// A horizon.
pub fn horizon(field: &str, value: i32) -> Result<Horizon, Status> {
    match pb::Horizon::try_from(value).unwrap_or(pb::Horizon::Unspecified) {
        pb::Horizon::Short => Ok(Horizon::Short),
        pb::Horizon::Medium => Ok(Horizon::Medium),
        pb::Horizon::Long => Ok(Horizon::Long),
        pb::Horizon::Unspecified => Err(invalid(field, "is required: SHORT, MEDIUM or LONG")),
    }
}

/// A horizon for the wire.
pub fn horizon_out(h: Horizon) -> i32 {
    (match h {
        Horizon::Short => pb::Horizon::Short,
        Horizon::Medium => pb::Horizon::Medium,
        Horizon::Long => pb::Horizon::Long,
    }) as i32
}

/// Low / medium / high.
pub fn level3(field: &str, value: i32) -> Result<Level3, Status> {
    match pb::Level::try_from(value).unwrap_or(pb::Level::Unspecified) {
        pb::Level::Low => Ok(Level3::Low),
        pb::Level::Medium => Ok(Level3::Medium),
        pb::Level::High => Ok(Level3::High),
        pb::Level::Unspecified => Err(invalid(field, "is required: LOW, MEDIUM or HIGH")),
    }
}

/// A final-seminar rating.
pub fn rating(field: &str, value: i32) -> Result<Rating, Status> {
    match pb::Rating::try_from(value).unwrap_or(pb::Rating::Unspecified) {
        pb::Rating::Below => Ok(Rating::Below),
        pb::Rating::Meets => Ok(Rating::Meets),
        pb::Rating::Exceeds => Ok(Rating::Exceeds),
        pb::Rating::Unspecified => Err(invalid(field, "is required: BELOW, MEETS or EXCEEDS")),
    }
}

/// An innovation source.
pub fn source(field: &str, value: i32) -> Result<Source, Status> {
    use pb::Source as S;
    Ok(match S::try_from(value).unwrap_or(S::Unspecified) {
        S::ChangeProject => Source::ChangeProject,
        S::HealthCompetition => Source::HealthCompetition,
        S::InnovationLab => Source::InnovationLab,
        S::OpdInitiative => Source::OpdInitiative,
        S::Community => Source::Community,
        S::Dprd => Source::Dprd,
        S::RegionalHead => Source::RegionalHead,
        S::Unspecified => return Err(invalid(field, "is required")),
    })
}

/// An innovation source for the wire.
pub fn source_out(s: Source) -> i32 {
    use pb::Source as S;
    (match s {
        Source::ChangeProject => S::ChangeProject,
        Source::HealthCompetition => S::HealthCompetition,
        Source::InnovationLab => S::InnovationLab,
        Source::OpdInitiative => S::OpdInitiative,
        Source::Community => S::Community,
        Source::Dprd => S::Dprd,
        Source::RegionalHead => S::RegionalHead,
    }) as i32
}

/// An innovation form.
pub fn form(value: i32) -> Result<Form, Status> {
    match pb::Form::try_from(value).unwrap_or(pb::Form::Unspecified) {
        pb::Form::Governance => Ok(Form::Governance),
        pb::Form::PublicService => Ok(Form::PublicService),
        pb::Form::Other => Ok(Form::Other),
        pb::Form::Unspecified => Err(invalid(
            "form",
            "is required: GOVERNANCE, PUBLIC_SERVICE or OTHER",
        )),
    }
}

/// An innovation form for the wire.
pub fn form_out(f: Form) -> i32 {
    (match f {
        Form::Governance => pb::Form::Governance,
        Form::PublicService => pb::Form::PublicService,
        Form::Other => pb::Form::Other,
    }) as i32
}

/// The command context: the caller's request id, namespaced by the caller
/// so that nobody can collide with another person's request; generated
/// when empty.
pub fn context(actor: &Actor, request_id: &str) -> Result<Context, Status> {
    let request_id = request_id.trim();
    if request_id.len() > 100 || request_id.chars().any(char::is_control) {
        return Err(invalid(
            "request_id",
            "must be at most 100 printable characters",
        ));
    }
    let request_id = if request_id.is_empty() {
        uuid::Uuid::now_v7().to_string()
    } else {
        request_id.to_owned()
    };
    Ok(Context::new(
        actor.clone(),
        format!("{}:{request_id}", actor.id),
    ))
}

/// What a write returns.
pub fn written(outcome: Outcome) -> pb::WriteResult {
    pb::WriteResult {
        stream_id: outcome.stream_id.to_string(),
        stream_version: outcome.stream_version,
        position: outcome.position,
        events: outcome.events,
        duplicate: outcome.duplicate,
    }
}

/// `min_position` of a read: 0 means "don't wait".
pub fn min_position(value: u64) -> Option<u64> {
    (value > 0).then_some(value)
}

/// The size a page asks for (0: the default) and its token.
fn page_request(request: Option<&pb::PageRequest>) -> Result<(usize, &str), Status> {
    let (size, token) = request.map_or((0, ""), |p| (p.page_size, p.page_token.as_str()));
    if size > MAX_PAGE_SIZE {
        return Err(invalid(
            "page.page_size",
            format!("{size} is above the limit of {MAX_PAGE_SIZE}"),
        ));
    }
    let size = if size == 0 { DEFAULT_PAGE_SIZE } else { size };
    Ok((size as usize, token))
}

fn foreign_token() -> Status {
    invalid(
        "page.page_token",
        "is not a token this server gave out; start again with an empty token",
    )
}

/// The offset and size a page asks for.
pub fn page(request: Option<&pb::PageRequest>) -> Result<(usize, usize), Status> {
    let (size, token) = page_request(request)?;
    let offset = if token.is_empty() {
        0
    } else {
        token.parse::<usize>().map_err(|_| foreign_token())?
    };
    Ok((offset, size))
}

/// A keyset page request: the key to read on after, and the page size.
/// Tokens are `after:KEY`, as [`key_token`] makes them.
pub fn page_after(request: Option<&pb::PageRequest>) -> Result<(Option<String>, usize), Status> {
    let (size, token) = page_request(request)?;
    let after = if token.is_empty() {
        None
    } else {
        Some(
            token
                .strip_prefix("after:")
                .filter(|key| !key.is_empty())
                .ok_or_else(foreign_token)?
                .to_owned(),
        )
    };
    Ok((after, size))
}

/// The page token that continues after `key` (empty: no more pages).
pub fn key_token(key: Option<String>) -> String {
    key.map(|k| format!("after:{k}")).unwrap_or_default()
}

/// One page of `rows` and the next page's token.
pub fn paginate<T>(rows: Vec<T>, (offset, size): (usize, usize)) -> (Vec<T>, String) {
    let total = rows.len();
    let page: Vec<T> = rows.into_iter().skip(offset).take(size).collect();
    let next = if offset + page.len() < total {
        (offset + page.len()).to_string()
    } else {
        String::new()
    };
    (page, next)
}
