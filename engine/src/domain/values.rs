//! Validated values: each built only through a constructor that checks it.

use std::fmt;

use chrono::{Datelike as _, NaiveDate};
use serde::{Deserialize, Serialize};

use super::DomainError;

/// Longest short text (names, titles, numbers), in characters.
pub const SHORT_TEXT: usize = 200;
/// Longest long text (problem statements, goals, reasons), in characters.
pub const LONG_TEXT: usize = 5_000;

/// Checks a text field: trimmed, non-empty, at most `max` characters, no
/// control characters (newlines and tabs allowed when `multiline`).
///
/// # Errors
/// [`DomainError::Invalid`] naming `field`.
pub fn text(field: &str, value: &str, max: usize, multiline: bool) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    let len = value.chars().count();
    if len > max {
        return Err(DomainError::invalid(
            field,
            format!("is {len} characters long; the limit is {max}"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
    {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// A short required text (a name, a title, a number).
///
/// # Errors
/// [`DomainError::Invalid`] naming `field`.
pub fn short(field: &str, value: &str) -> Result<String, DomainError> {
    text(field, value, SHORT_TEXT, false)
}

/// A long required text (a problem statement, a reason).
///
/// # Errors
/// [`DomainError::Invalid`] naming `field`.
pub fn long(field: &str, value: &str) -> Result<String, DomainError> {
    text(field, value, LONG_TEXT, true)
}

/// An optional long text: empty means absent.
///
/// # Errors
/// [`DomainError::Invalid`] naming `field`.
pub fn optional_long(field: &str, value: &str) -> Result<Option<String>, DomainError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        long(field, value).map(Some)
    }
}

/// The most characters of a caller's input an error message quotes.
pub const QUOTED: usize = 100;

/// A caller's input as an error message quotes it: in single quotes, at
/// most [`QUOTED`] characters (then `…` and the full length), control
/// characters shown as `?`. An answer quoting it always fits in the
/// metadata a standard gRPC client accepts.
pub fn quoted(value: &str) -> String {
    let shown: String = value
        .chars()
        .take(QUOTED)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let len = value.chars().count();
    if len > QUOTED {
        format!("'{shown}…' ({len} characters)")
    } else {
        format!("'{shown}'")
    }
}

/// Parses `YYYY-MM-DD`.
///
/// # Errors
/// [`DomainError::Invalid`] naming `field`.
pub fn date(field: &str, value: &str) -> Result<NaiveDate, DomainError> {
    let text = value.trim();
    // Strict ISO 8601: four, two and two digits (chrono alone takes `2026-1-5`).
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let date = shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            DomainError::invalid(
                field,
                format!(
                    "{} is not a date; write YYYY-MM-DD, e.g. 2026-01-05",
                    quoted(value)
                ),
            )
        })?;
    if !(FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        return Err(DomainError::invalid(
            field,
            format!("{date} is not a plausible date; years run from {FIRST_YEAR} to {LAST_YEAR}"),
        ));
    }
    Ok(date)
}

/// The earliest year a date may fall in.
pub const FIRST_YEAR: i32 = 1900;
/// The latest year a date may fall in.
pub const LAST_YEAR: i32 = 2100;

/// A civil-servant number (NIP): 18 digits — birth date (YYYYMMDD), month of
/// first appointment (YYYYMM), sex (1 or 2), and a 3-digit sequence.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Nip(String);

impl Nip {
    /// Validates a NIP; spaces are ignored (NIPs are often written in groups).
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `nip` and what is wrong.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        Self::parse_field("nip", value)
    }

    /// The NIP of an erased person, as folds and views read it: its
    /// text is [`crate::privacy::ERASED`] (`[dihapus]`). Only read back
    /// from the log, never parsed from input, and equal to no real NIP.
    pub fn erased() -> Self {
        Self(crate::privacy::ERASED.to_owned())
    }

    /// Whether this is the NIP of an erased person ([`Nip::erased`]).
    pub fn is_erased(&self) -> bool {
        self.0 == crate::privacy::ERASED
    }

    /// As [`Nip::parse`], naming `field` in errors.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `field`.
    pub fn parse_field(field: &str, value: &str) -> Result<Self, DomainError> {
        let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 18 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::invalid(
                field,
                format!(
                    "{} must be 18 digits: birth date, appointment month, sex and a sequence",
                    quoted(value)
                ),
            ));
        }
        let birth = NaiveDate::parse_from_str(&digits[0..8], "%Y%m%d").map_err(|_| {
            DomainError::invalid(
                field,
                format!("digits 1–8 ({}) are not a real birth date", &digits[0..8]),
            )
        })?;
        let year: i32 = digits[8..12].parse().unwrap_or(0);
        let month: u32 = digits[12..14].parse().unwrap_or(0);
        let appointed = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(|| {
            DomainError::invalid(
                field,
                format!(
                    "digits 9–14 ({}) are not a real appointment month",
                    &digits[8..14]
                ),
            )
        })?;
        if appointed <= birth {
            return Err(DomainError::invalid(
                field,
                "the appointment month comes before the birth date; check the digits",
            ));
        }
        if !matches!(&digits[14..15], "1" | "2") {
            return Err(DomainError::invalid(field, "digit 15 (sex) must be 1 or 2"));
        }
        if &digits[15..18] == "000" {
            return Err(DomainError::invalid(
                field,
                "the sequence (digits 16–18) starts at 001",
            ));
        }
        Ok(Self(digits))
    }

    /// Checks the dates the NIP holds against `today`: the first
    /// appointment came at 18 or later (its month is not before the month
    /// of the 18th birthday) and is not in the future. Checked when a
    /// participant is enrolled, not when a stored NIP is read back.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `field`.
    pub fn check_dates(&self, field: &str, today: NaiveDate) -> Result<(), DomainError> {
        if self.is_erased() {
            return Err(DomainError::invalid(
                field,
                "the person was erased; enrol them anew with their NIP",
            ));
        }
        let digits = |range: std::ops::Range<usize>| self.0[range].parse::<i32>().unwrap_or(0);
        let (born_year, born_month) = (digits(0..4), digits(4..6));
        let (appointed_year, appointed_month) = (digits(8..12), digits(12..14));
        let appointed = appointed_year * 12 + appointed_month;
        if appointed < (born_year + 18) * 12 + born_month {
            return Err(DomainError::invalid(
                field,
                format!(
                    "the appointment month {appointed_year}-{appointed_month:02} comes before \
                     the 18th birthday ({}-{born_month:02}); check the digits",
                    born_year + 18
                ),
            ));
        }
        if appointed > today.year() * 12 + i32::try_from(today.month()).unwrap_or(12) {
            return Err(DomainError::invalid(
                field,
                format!(
                    "the appointment month {appointed_year}-{appointed_month:02} is in the \
                     future; check the digits"
                ),
            ));
        }
        Ok(())
    }

    /// The NIP's 18 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date written in the NIP.
    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[0..8], "%Y%m%d").unwrap_or_default()
    }
}

impl fmt::Display for Nip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Nip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        if raw == crate::privacy::ERASED {
            return Ok(Self::erased());
        }
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates an id: 1–100 characters of letters, digits, `-`, `_`, `.`.
            ///
            /// # Errors
            /// [`DomainError::Invalid`] naming the field.
            pub fn parse(value: &str) -> Result<Self, DomainError> {
                let value = value.trim();
                if value.is_empty() || value.len() > 100
                    || !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    return Err(DomainError::invalid(
                        $field,
                        format!("{} must be 1–100 letters, digits, '-', '_' or '.'", $crate::domain::values::quoted(value)),
                    ));
                }
                Ok(Self(value.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A cohort (angkatan), e.g. `pka-2026-3`.
    CohortId, "cohort_id"
);
id_type!(
    /// A change project.
    ProjectId, "project_id"
);
id_type!(
    /// A milestone within its project, e.g. `m1`.
    MilestoneId, "milestone_id"
);
id_type!(
    /// A regional innovation.
    InnovationId, "innovation_id"
);
id_type!(
    /// A work unit (OPD) code, e.g. `dinkes` or `dpmptsp`.
    OpdCode, "opd"
);

/// A person jejak keeps data about (a participant): an opaque UUIDv7 with
/// nothing personal in it. It is their subject id in tokens, the actor id
/// of what they do, and the key of everything kept per person. A NIP is
/// mapped to it by the people index of the store (`store::people`), which
/// is erased with the person.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PersonId(String);

impl PersonId {
    /// A new person id (UUIDv7).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// Validates a person id: a UUID in its hyphenated lower-case form.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `person_id`.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        Self::parse_field("person_id", value)
    }

    /// As [`PersonId::parse`], naming `field` in errors.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `field`.
    pub fn parse_field(field: &str, value: &str) -> Result<Self, DomainError> {
        let value = value.trim();
        match uuid::Uuid::try_parse(value) {
            Ok(id) if !id.is_nil() => Ok(Self(id.hyphenated().to_string())),
            _ => Err(DomainError::invalid(
                field,
                format!(
                    "{} is not a person id; a person id is a UUID such as \
                     0192f5e4-7c1a-7b3e-9d2a-5f0c8e1b2a3d (`jejak cohort find --nip` finds one)",
                    quoted(value)
                ),
            )),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PersonId {
    /// The person id a participant written before person ids existed is
    /// read with: derived from their NIP, the same on every read.
    pub fn legacy(nip: &Nip) -> Self {
        Self(name_based_id("jejak/legacy-person", &[nip.as_str()]))
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PersonId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A name-based UUID of `parts` (RFC 9562 UUIDv8 from SHA-256, the
/// name-based form the RFC gives for SHA-256, section B.2): the same
/// inputs always give the same id, and the id reveals nothing of them.
pub fn name_based_id(namespace: &str, parts: &[&str]) -> String {
    use sha2::{Digest as _, Sha256};
    let mut hash = Sha256::new();
    hash.update(namespace.as_bytes());
    for part in parts {
        // Length-prefixed, so no two lists of parts hash alike.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

impl ProjectId {
    /// The one project of a participant in a cohort: a name-based UUID of
    /// the cohort and the person, so it is the same however often it is
    /// worked out, and carries nothing personal.
    pub fn for_participant(cohort: &CohortId, person: &PersonId) -> Self {
        Self(name_based_id(
            "jejak/change-project",
            &[cohort.as_str(), person.as_str()],
        ))
    }
}

/// One region however it is written (`Kota Serang`, `kota serang`,
/// `kota-serang`): how regions are compared and how a replica's id names
/// its region.
pub fn region_key(region: &str) -> String {
    region
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

impl InnovationId {
    /// The innovation registered when a change project is adopted.
    pub fn from_project(project: &ProjectId) -> Self {
        Self(name_based_id(
            "jejak/innovation-of-project",
            &[project.as_str()],
        ))
    }

    /// The adopter's own innovation when `original` is replicated by `opd`
    /// in `region`.
    pub fn replica(original: &InnovationId, adopter: &OpdCode, region: &str) -> Self {
        let region = region_key(region);
        Self(name_based_id(
            "jejak/innovation-replica",
            &[original.as_str(), adopter.as_str(), &region],
        ))
    }
}

/// A change project's short human code: its cohort and the participant's
/// enrolment ordinal in it, e.g. `pka-2026-9/017`. Nothing personal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectCode(String);

impl ProjectCode {
    /// The code of the participant enrolled `ordinal`-th in `cohort`.
    pub fn new(cohort: &CohortId, ordinal: u32) -> Self {
        Self(format!("{cohort}/{ordinal:03}"))
    }

    /// Parses a code, `COHORT/NNN`.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `project_code`.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let value = value.trim();
        let bad = || {
            DomainError::invalid(
                "project_code",
                format!(
                    "{} is not a project code; a code is the cohort and an enrolment number, \
                     e.g. pka-2026-9/017",
                    quoted(value)
                ),
            )
        };
        let (cohort, ordinal) = value.split_once('/').ok_or_else(bad)?;
        let cohort = CohortId::parse(cohort).map_err(|_| bad())?;
        let ordinal: u32 = ordinal.parse().map_err(|_| bad())?;
        if ordinal == 0 {
            return Err(bad());
        }
        Ok(Self::new(&cohort, ordinal))
    }

    /// Its cohort and enrolment number.
    pub fn parts(&self) -> (&str, u32) {
        let (cohort, ordinal) = self.0.rsplit_once('/').unwrap_or((&self.0, "0"));
        (cohort, ordinal.parse().unwrap_or(0))
    }

    /// Whether `value` is written as a code (has a `/`), not an id.
    pub fn looks_like(value: &str) -> bool {
        value.contains('/')
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An attachment as evidence: never a blob in the log, always its content
/// hash, where it lives, its name and media type, so an auditor can prove
/// what was approved. A file uploaded to jejak lives at a [`STORED_SCHEME`]
/// URI (`jejak:sha256/<hex>`), its hash and size computed by the server
/// (`asserted` false); evidence kept elsewhere carries the hash the
/// participant states (`asserted` true, ADR 0026).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Where the content lives (`jejak:sha256/…`, `https://…`, `s3://…`;
    /// events recorded before jejak stored files may name `file:…`).
    pub uri: String,
    /// File name shown to people.
    pub name: String,
    /// Media type, e.g. `application/pdf`.
    pub media_type: String,
    /// Size in bytes: the stored file's; for evidence kept elsewhere what
    /// the participant states, or unknown (`None`, and for every
    /// attachment recorded before payload version 2).
    pub size: Option<u64>,
    /// True when the hash is the participant's word (evidence kept
    /// elsewhere, and every attachment recorded before payload version 2);
    /// false when jejak stored the file and computed the hash itself.
    pub asserted: bool,
}

/// The URI scheme of files stored by jejak: `jejak:sha256/<64 hex digits>`.
pub const STORED_SCHEME: &str = "jejak:sha256/";

impl Attachment {
    /// Validates an attachment kept elsewhere, whose hash the participant
    /// asserts (`asserted` true, size unknown).
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming the field of `field` that is wrong.
    pub fn new(
        field: &str,
        sha256: &str,
        uri: &str,
        name: &str,
        media_type: &str,
    ) -> Result<Self, DomainError> {
        let sha256 = sha256.trim().to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(DomainError::invalid(
                &format!("{field}.sha256"),
                "must be the 64 hex digits of the content's SHA-256",
            ));
        }
        let uri = text(&format!("{field}.uri"), uri, 2_000, false)?;
        // Where evidence may be kept: stored by jejak, or an address anyone
        // who may read it can open (not a path on someone's machine, not a
        // script).
        let scheme = uri
            .split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("https" | "http" | "s3" | "jejak")) {
            return Err(DomainError::invalid(
                &format!("{field}.uri"),
                "must be a stored file (jejak:sha256/…) or an https://, http:// or s3:// address",
            ));
        }
        if uri.starts_with("jejak:") && Self::stored_hash(&uri).is_none() {
            return Err(DomainError::invalid(
                &format!("{field}.uri"),
                "a file stored by jejak is named jejak:sha256/ and its 64 hex digits",
            ));
        }
        if let Some(stored) = Self::stored_hash(&uri)
            && stored != sha256
        {
            return Err(DomainError::invalid(
                &format!("{field}.sha256"),
                "must be the hash the jejak:sha256/ URI names",
            ));
        }
        let name = short(&format!("{field}.name"), name)?;
        let media_type = short(&format!("{field}.media_type"), media_type)?;
        if !media_type.contains('/') {
            return Err(DomainError::invalid(
                &format!("{field}.media_type"),
                "must be a media type such as application/pdf or image/jpeg",
            ));
        }
        Ok(Self {
            sha256,
            uri,
            name,
            media_type,
            size: None,
            asserted: true,
        })
    }

    /// A file jejak stored, its hash and size computed by the server
    /// (`asserted` false), at `jejak:sha256/<hex>`.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming the field of `field` that is wrong.
    pub fn stored(
        field: &str,
        sha256: &str,
        size: u64,
        name: &str,
        media_type: &str,
    ) -> Result<Self, DomainError> {
        let sha256 = sha256.trim().to_ascii_lowercase();
        let uri = format!("{STORED_SCHEME}{sha256}");
        Ok(Self {
            size: Some(size),
            asserted: false,
            ..Self::new(field, &sha256, &uri, name, media_type)?
        })
    }

    /// With the size the participant states for a file kept elsewhere.
    #[must_use]
    pub fn with_size(mut self, size: Option<u64>) -> Self {
        self.size = size;
        self
    }

    /// The hash a `jejak:sha256/<hex>` URI names (lower case), or `None`
    /// for any other URI.
    pub fn stored_hash(uri: &str) -> Option<String> {
        let hex = uri.trim().strip_prefix(STORED_SCHEME)?.to_ascii_lowercase();
        (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
    }
}

/// Training level of a cohort.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingLevel {
    /// Pelatihan Kepemimpinan Nasional tingkat I.
    PknI,
    /// Pelatihan Kepemimpinan Nasional tingkat II.
    PknII,
    /// Pelatihan Kepemimpinan Administrator.
    Pka,
    /// Pelatihan Kepemimpinan Pengawas.
    Pkp,
    /// Legacy Diklatpim I.
    DiklatpimI,
    /// Legacy Diklatpim II.
    DiklatpimII,
    /// Legacy Diklatpim III.
    DiklatpimIII,
    /// Legacy Diklatpim IV.
    DiklatpimIV,
}

impl TrainingLevel {
    /// All levels.
    pub const ALL: [Self; 8] = [
        Self::PknI,
        Self::PknII,
        Self::Pka,
        Self::Pkp,
        Self::DiklatpimI,
        Self::DiklatpimII,
        Self::DiklatpimIII,
        Self::DiklatpimIV,
    ];

    /// The name used in files and on the wire (`pkn_i`, `pka`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PknI => "pkn_i",
            Self::PknII => "pkn_ii",
            Self::Pka => "pka",
            Self::Pkp => "pkp",
            Self::DiklatpimI => "diklatpim_i",
            Self::DiklatpimII => "diklatpim_ii",
            Self::DiklatpimIII => "diklatpim_iii",
            Self::DiklatpimIV => "diklatpim_iv",
        }
    }

    /// Parses a level name.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `level` and listing the levels.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let v = value.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Self::ALL.into_iter().find(|l| l.as_str() == v).ok_or_else(|| {
            DomainError::invalid(
                "level",
                format!("{} is not a training level; use one of pkn_i, pkn_ii, pka, pkp, diklatpim_i … diklatpim_iv", quoted(value)),
            )
        })
    }

    /// The default change-project workflow for this level.
    pub fn default_workflow(self) -> &'static str {
        match self {
            Self::PknI | Self::PknII | Self::DiklatpimI | Self::DiklatpimII => "change-project-pkn",
            Self::Pka | Self::DiklatpimIII => "change-project-pka",
            Self::Pkp | Self::DiklatpimIV => "change-project-pkp",
        }
    }
}

/// When a milestone falls: within the training, or after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Horizon {
    /// Jangka pendek: done within the training (about two months).
    Short,
    /// Jangka menengah: within a year after the training.
    Medium,
    /// Jangka panjang: within five years after the training.
    Long,
}

impl Horizon {
    /// Parses `short`, `medium` or `long` (or the Indonesian `pendek`, `menengah`, `panjang`).
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "short" | "pendek" | "jangka_pendek" => Ok(Self::Short),
            "medium" | "menengah" | "jangka_menengah" => Ok(Self::Medium),
            "long" | "panjang" | "jangka_panjang" => Ok(Self::Long),
            _ => Err(DomainError::invalid(
                field,
                format!("{} must be short, medium or long", quoted(value)),
            )),
        }
    }
}

/// A final-seminar rating of one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    /// Kurang.
    Below,
    /// Sesuai.
    Meets,
    /// Melampaui.
    Exceeds,
}

/// Low / medium / high, for stakeholder influence and interest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level3 {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_nip_parses_and_typos_are_caught() {
        let nip = Nip::parse("198703152010011003").unwrap();
        assert_eq!(
            nip.birth_date(),
            NaiveDate::from_ymd_opt(1987, 3, 15).unwrap()
        );
        assert_eq!(Nip::parse("19870315 201001 1 003").unwrap(), nip);
        let reason = |v: &str| Nip::parse(v).unwrap_err().to_string();
        assert!(reason("19870315201001100").contains("18 digits"));
        assert!(reason("19871345201001100a").contains("18 digits"));
        assert!(reason("198713452010011003").contains("birth date"));
        assert!(reason("198703152010131003").contains("appointment month"));
        assert!(reason("198703151980011003").contains("before the birth"));
        assert!(reason("198703152010013003").contains("sex"));
        assert!(reason("198703152010011000").contains("sequence"));
    }

    #[test]
    fn texts_are_trimmed_bounded_and_printable() {
        assert_eq!(
            short("title", "  Sistem antrian  ").unwrap(),
            "Sistem antrian"
        );
        assert!(short("title", "").is_err());
        assert!(short("title", &"x".repeat(201)).is_err());
        assert!(short("title", "a\nb").is_err());
        assert!(long("problem", "a\nb").is_ok());
        assert!(long("problem", "a\u{0}b").is_err());
        assert_eq!(optional_long("notes", " ").unwrap(), None);
    }

    #[test]
    fn attachments_need_a_hash_a_uri_and_a_media_type() {
        let hash = "a".repeat(64);
        assert!(
            Attachment::new("e", &hash, "https://x/y.pdf", "SK Tim", "application/pdf").is_ok()
        );
        assert!(Attachment::new("e", "abc", "https://x", "n", "a/b").is_err());
        assert!(Attachment::new("e", &hash, "nowhere", "n", "a/b").is_err());
        for elsewhere in ["file:///etc/passwd", "javascript:alert(1)", "ftp://x/y"] {
            assert!(Attachment::new("e", &hash, elsewhere, "n", "a/b").is_err());
        }
        assert!(Attachment::new("e", &hash, "https://x", "n", "pdf").is_err());
    }

    #[test]
    fn ids_and_levels_validate() {
        assert!(CohortId::parse("pka-2026-3").is_ok());
        assert!(CohortId::parse("pka 2026").is_err());
        assert_eq!(TrainingLevel::parse("PKA").unwrap(), TrainingLevel::Pka);
        assert_eq!(
            TrainingLevel::parse("Diklatpim IV").unwrap(),
            TrainingLevel::DiklatpimIV
        );
        assert!(TrainingLevel::parse("pkz").is_err());
        let original = InnovationId::parse("inv-1").unwrap();
        let opd = OpdCode::parse("dinkes").unwrap();
        let replica = InnovationId::replica(&original, &opd, "Kota Serang");
        assert_eq!(
            replica,
            InnovationId::replica(&original, &opd, "Kota Serang")
        );
        assert_ne!(
            replica,
            InnovationId::replica(&original, &opd, "Kota Cilegon")
        );
        assert_eq!(
            replica,
            InnovationId::replica(&original, &opd, " kota-serang")
        );
        assert!(InnovationId::parse(replica.as_str()).is_ok());
    }

    #[test]
    fn ids_of_people_and_projects_carry_nothing_personal() {
        let cohort = CohortId::parse("pka-2026-9").unwrap();
        let person = PersonId::generate();
        assert_eq!(PersonId::parse(person.as_str()).unwrap(), person);
        assert!(PersonId::parse("198703152010011003").is_err());
        let project = ProjectId::for_participant(&cohort, &person);
        assert_eq!(project, ProjectId::for_participant(&cohort, &person));
        assert_ne!(
            project,
            ProjectId::for_participant(&cohort, &PersonId::generate())
        );
        assert!(!project.as_str().contains(person.as_str()));
        assert!(ProjectId::parse(project.as_str()).is_ok());
        let innovation = InnovationId::from_project(&project);
        assert!(!innovation.as_str().contains(project.as_str()));
        assert_eq!(ProjectCode::new(&cohort, 17).as_str(), "pka-2026-9/017");
        assert_eq!(
            ProjectCode::parse(" pka-2026-9/17 ").unwrap(),
            ProjectCode::new(&cohort, 17)
        );
        assert!(ProjectCode::parse("pka-2026-9/0").is_err());
        assert!(ProjectCode::parse("pka-2026-9").is_err());
    }
}
