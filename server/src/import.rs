//! Spreadsheets in (ADR 0031): the fields an import knows, the headers
//! Indonesian registers and rosters write them under, and how a cell's
//! text is read (dates, yes/no, rupiah, lists, the register's words for
//! stages, sources and forms).
//!
//! The client reads the file and sends each row as its cells under these
//! field names (`Import.ImportInnovations`, `Import.ImportRoster`); the
//! server reads the cells with the functions here, and the deciders judge
//! the commands they become.
//!
//! ```
//! use jejak_server::import::{INNOVATION_FIELDS, field_of_header, stage};
//! assert_eq!(field_of_header(INNOVATION_FIELDS, " nama  INOVASI "), Some("name"));
//! assert_eq!(stage("Uji Coba").unwrap(), "piloted");
//! ```

use chrono::NaiveDate;

/// A field of an import: its name on the wire, the headers files give it,
/// and whether a row needs it.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// jejak's name for it (the key of a row's cells, and of a mapping file).
    pub name: &'static str,
    /// Headers it is found under, compared without case, spaces or
    /// punctuation; the first is how jejak writes it.
    pub headers: &'static [&'static str],
    /// A row without it is refused.
    pub required: bool,
}

const fn field(name: &'static str, headers: &'static [&'static str], required: bool) -> Field {
    Field {
        name,
        headers,
        required,
    }
}

/// The fields of the innovation register, in the order of
/// `jejak report register`.
pub const INNOVATION_FIELDS: &[Field] = &[
    field(
        "name",
        &["Nama Inovasi", "Judul Inovasi", "Inovasi", "Nama"],
        true,
    ),
    field(
        "opd",
        &[
            "Perangkat Daerah",
            "OPD",
            "SKPD",
            "Unit Kerja",
            "Perangkat Daerah Pengampu",
        ],
        true,
    ),
    field("unit", &["Unit", "Unit Pelaksana", "UPTD"], false),
    field(
        "stage",
        &["Tahapan", "Tahapan Inovasi", "Tahap", "Status"],
        true,
    ),
    field(
        "source",
        &["Sumber", "Sumber Inovasi", "Asal Inovasi"],
        false,
    ),
    field(
        "initiator",
        &["Inisiator", "Inisiator Inovasi", "Jenis Inisiator"],
        true,
    ),
    field("form", &["Bentuk", "Bentuk Inovasi", "Jenis Inovasi"], true),
    field("digital", &["Digital", "Digital / Non Digital"], false),
    field(
        "sector",
        &["Urusan", "Urusan Pemerintahan", "Urusan Inovasi"],
        true,
    ),
    field("sdgs", &["SDGs", "Tujuan SDGs"], false),
    field("goal", &["Tujuan", "Tujuan Inovasi"], true),
    field("benefit", &["Manfaat", "Manfaat Inovasi"], true),
    field("budget", &["Anggaran (Rp)", "Anggaran", "Biaya"], false),
    field("legal_basis", &["Dasar Hukum", "Regulasi"], false),
    field("decree_number", &["Nomor SK", "No SK", "SK"], false),
    field("decree_date", &["Tanggal SK"], false),
    field(
        "registered_on",
        &["Tanggal Registrasi", "Tanggal Inisiatif", "Tanggal Daftar"],
        false,
    ),
    field(
        "pilot_started_on",
        &["Tanggal Uji Coba", "Waktu Uji Coba", "Mulai Uji Coba"],
        false,
    ),
    field(
        "implemented_on",
        &["Tanggal Penerapan", "Waktu Penerapan", "Mulai Penerapan"],
        false,
    ),
    field("dormant_since", &["Vakum Sejak", "Tanggal Vakum"], false),
    field("replica_of", &["Replikasi Dari"], false),
    field("adopters", &["Pengadopsi", "Replikasi Oleh"], false),
    field("id", &["Id", "ID Inovasi"], false),
];

/// The fields of a cohort's roster.
pub const ROSTER_FIELDS: &[Field] = &[
    field("nip", &["NIP", "NIP Peserta", "Nomor Induk Pegawai"], true),
    field("name", &["Nama", "Nama Peserta", "Nama Lengkap"], true),
    field("position", &["Jabatan", "Jabatan Peserta"], true),
    field(
        "opd",
        &[
            "Perangkat Daerah",
            "OPD",
            "Perangkat Daerah/OPD",
            "SKPD",
            "Unit Kerja",
            "Instansi",
        ],
        true,
    ),
    field("mentor", &["Mentor", "Atasan Langsung"], true),
    field("coach", &["Coach", "Pembimbing"], true),
    field("examiners", &["Penguji", "Para Penguji"], true),
];

/// A header as it is compared: lower case, letters and digits only
/// (`Anggaran (Rp)` and `anggaran rp` are one).
pub fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The field `header` names among `fields`: one of its headers, or its
/// own name, case, spaces and punctuation aside.
pub fn field_of_header(fields: &[Field], header: &str) -> Option<&'static str> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    fields
        .iter()
        .find(|f| header_key(f.name) == key || f.headers.iter().any(|h| header_key(h) == key))
        .map(|f| f.name)
}

/// What is wrong with a cell: the reason, to be said with its column.
pub type CellError = String;

/// The words of a stage (the register's own, the index's three, and
/// jejak's codes) as the innovation lifecycle's state.
///
/// # Errors
/// The words it knows, when `text` is none of them.
pub fn stage(text: &str) -> Result<&'static str, CellError> {
    let key = header_key(text);
    Ok(match key.as_str() {
        "inisiatif" | "inisiasi" | "usulan" | "initiative" | "proposed" => "proposed",
        "ujicoba" | "ujicob" | "pilot" | "piloted" => "piloted",
        "penerapan" | "diterapkan" | "implementasi" | "implementation" | "adopted" => "adopted",
        "replikasi" | "direplikasi" | "replication" | "replicated" => "replicated",
        "vakum" | "tidakaktif" | "dormant" => "dormant",
        _ => {
            return Err(format!(
                "{} is not a stage; write inisiatif, uji coba, penerapan, replikasi or vakum",
                quoted(text)
            ));
        }
    })
}

/// An innovation's source, from its words in the register (as `jejak
/// report register` writes them) or its code.
///
/// # Errors
/// The words it knows.
pub fn source(text: &str) -> Result<&'static str, CellError> {
    let key = header_key(text);
    Ok(match key.as_str() {
        "proyekperubahan" | "changeproject" | "aksiperubahan" => "change_project",
        "puskesmaslombainovasikesehatan"
        | "puskesmas"
        | "lombainovasikesehatan"
        | "healthcompetition"
        | "puskesmashealthinnovationcompetition" => "health_competition",
        "laboratoriuminovasi" | "labinovasi" | "innovationlab" => "innovation_lab",
        "inisiatifopd" | "opd" | "opdinitiative" | "perangkatdaerah" => "opd_initiative",
        "masyarakat" | "community" => "community",
        "dprd" | "anggotadprd" => "dprd",
        "kepaladaerah" | "regionalhead" => "regional_head",
        _ => {
            return Err(format!(
                "{} is not a source; write proyek perubahan, puskesmas, laboratorium inovasi, \
                 inisiatif OPD, masyarakat, DPRD or kepala daerah",
                quoted(text)
            ));
        }
    })
}

/// The source a register without a source column implies by its
/// initiator: the regional head, a DPRD member, the community; otherwise
/// the OPD's own initiative.
pub fn source_of_initiator(initiator: &str) -> &'static str {
    let key = header_key(initiator);
    if key.contains("kepaladaerah") || key.contains("bupati") || key.contains("walikota") {
        "regional_head"
    } else if key.contains("dprd") {
        "dprd"
    } else if key.contains("masyarakat") || key.contains("komunitas") {
        "community"
    } else {
        "opd_initiative"
    }
}

/// An innovation's form: `governance`, `public_service` or `other`.
///
/// # Errors
/// The words it knows.
pub fn form(text: &str) -> Result<&'static str, CellError> {
    let key = header_key(text);
    Ok(match key.as_str() {
        "tatakelolapemerintahandaerah"
        | "tatakelolapemerintahan"
        | "inovasitatakelolapemerintahandaerah"
        | "governance" => "governance",
        "pelayananpublik" | "inovasipelayananpublik" | "publicservice" => "public_service",
        "lainnya" | "bentuklainnya" | "inovasidaerahlainnya" | "other" => "other",
        _ => {
            return Err(format!(
                "{} is not a form; write tata kelola pemerintahan daerah, pelayanan publik or lainnya",
                quoted(text)
            ));
        }
    })
}

/// Digital or not: `digital`/`non digital`, `ya`/`tidak`, yes/no, 1/0.
///
/// # Errors
/// The words it knows.
pub fn yes_no(text: &str) -> Result<bool, CellError> {
    match header_key(text).as_str() {
        "" | "nondigital" | "tidak" | "no" | "false" | "0" | "bukan" => Ok(false),
        "digital" | "ya" | "yes" | "true" | "1" => Ok(true),
        _ => Err(format!(
            "{} is neither; write digital or non digital (ya / tidak)",
            quoted(text)
        )),
    }
}

/// An amount in rupiah: `15000000`, `15.000.000`, `Rp 15.000.000,00`.
///
/// # Errors
/// What to write instead.
pub fn rupiah(text: &str) -> Result<u64, CellError> {
    let mut t: String = text
        .trim()
        .trim_start_matches(['R', 'r'])
        .trim_start_matches(['P', 'p'])
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    // Cents (",00", ".00", ".0"), as spreadsheets write a number.
    for cents in [",00", ".00", ",0", ".0"] {
        if t.len() > cents.len() && t.ends_with(cents) {
            t.truncate(t.len() - cents.len());
            break;
        }
    }
    let digits: String = t.chars().filter(|c| *c != '.' && *c != ',').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{} is not an amount in rupiah; write e.g. 15000000 or 15.000.000",
            quoted(text)
        ));
    }
    digits
        .parse()
        .map_err(|_| format!("{} is too large an amount", quoted(text)))
}

/// SDG numbers (1 to 17) written in one cell: `3, 16`.
///
/// # Errors
/// The number that is not an SDG.
pub fn sdgs(text: &str) -> Result<Vec<u8>, CellError> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| match p.parse::<u8>() {
            Ok(g) if (1..=17).contains(&g) => Ok(g),
            _ => Err(format!("{p} is not an SDG; they run 1 to 17")),
        })
        .collect()
}

/// A list written in one cell: `a, b; c`.
pub fn list(text: &str) -> Vec<String> {
    text.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

const MONTHS: [(&str, u32); 24] = [
    ("januari", 1),
    ("februari", 2),
    ("maret", 3),
    ("april", 4),
    ("mei", 5),
    ("juni", 6),
    ("juli", 7),
    ("agustus", 8),
    ("september", 9),
    ("oktober", 10),
    ("november", 11),
    ("desember", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("jun", 6),
    ("jul", 7),
    ("agu", 8),
    ("agt", 8),
    ("sep", 9),
    ("okt", 10),
    ("nov", 11),
    ("des", 12),
];

/// A day: `2024-03-01`, `01/03/2024`, `1-3-2024`, `1 Maret 2024` (day
/// before month, as Indonesia writes it), a spreadsheet's date-and-time
/// (its day); never after `today`.
///
/// # Errors
/// What to write instead, or that it is in the future.
pub fn date(text: &str, today: NaiveDate) -> Result<NaiveDate, CellError> {
    let t = text.trim();
    let head = t.split(['T', ' ']).next().unwrap_or(t);
    let parsed = NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%d/%m/%Y"))
        .or_else(|_| NaiveDate::parse_from_str(t, "%d-%m-%Y"))
        .or_else(|_| NaiveDate::parse_from_str(t, "%d.%m.%Y"))
        .ok()
        .or_else(|| {
            let words: Vec<&str> = t.split_whitespace().collect();
            let [day, month, year] = words.as_slice() else {
                return None;
            };
            let month = month.to_lowercase();
            let month = MONTHS.iter().find(|(m, _)| *m == month)?.1;
            NaiveDate::from_ymd_opt(year.parse().ok()?, month, day.parse().ok()?)
        });
    match parsed {
        Some(day) if day > today => Err(format!(
            "{day} is in the future (today is {today}); an import records what has happened"
        )),
        Some(day) => Ok(day),
        None => Err(format!(
            "{} is not a date; write YYYY-MM-DD, e.g. 2024-03-01 (or 01/03/2024)",
            quoted(text)
        )),
    }
}

/// A cell's text as a reason quotes it.
fn quoted(text: &str) -> String {
    jejak_engine::domain::values::quoted(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_matched_without_case_spaces_or_punctuation() {
        assert_eq!(
            field_of_header(INNOVATION_FIELDS, "ANGGARAN (RP)"),
            Some("budget")
        );
        assert_eq!(
            field_of_header(INNOVATION_FIELDS, "tanggal  uji coba"),
            Some("pilot_started_on")
        );
        assert_eq!(
            field_of_header(ROSTER_FIELDS, "Perangkat Daerah / OPD"),
            Some("opd")
        );
        assert_eq!(field_of_header(ROSTER_FIELDS, "pilot"), None);
        assert_eq!(
            field_of_header(INNOVATION_FIELDS, "legal_basis"),
            Some("legal_basis")
        );
    }

    #[test]
    fn cells_are_read_as_registers_write_them() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let day = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        for text in [
            "2024-03-01",
            "01/03/2024",
            "1-3-2024",
            "1 Maret 2024",
            "2024-03-01 00:00:00",
        ] {
            assert_eq!(date(text, today), Ok(day), "{text}");
        }
        assert!(date("2027-01-01", today).unwrap_err().contains("future"));
        assert!(date("kemarin", today).unwrap_err().contains("YYYY-MM-DD"));
        assert_eq!(rupiah("Rp 15.000.000,00"), Ok(15_000_000));
        assert_eq!(rupiah("15000000"), Ok(15_000_000));
        assert!(rupiah("lima juta").is_err());
        assert_eq!(sdgs("3, 16"), Ok(vec![3, 16]));
        assert!(sdgs("18").is_err());
        assert_eq!(stage(" UJI  COBA"), Ok("piloted"));
        assert!(stage("selesai").unwrap_err().contains("inisiatif"));
        assert_eq!(
            source("puskesmas / lomba inovasi kesehatan"),
            Ok("health_competition")
        );
        assert_eq!(form("Pelayanan Publik"), Ok("public_service"));
        assert_eq!(yes_no("non digital"), Ok(false));
        assert_eq!(source_of_initiator("Kepala Daerah"), "regional_head");
        assert_eq!(list("penguji-1; penguji-2"), vec!["penguji-1", "penguji-2"]);
    }

    proptest::proptest! {
        /// Whatever a cell holds, reading it answers: a value or a reason,
        /// never a panic, and a date is never after today.
        #[test]
        fn any_cell_is_read_or_refused_with_a_reason(text in "\\PC{0,40}") {
            let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
            if let Ok(day) = date(&text, today) {
                proptest::prop_assert!(day <= today);
            }
            for reason in [
                stage(&text).err(),
                source(&text).err(),
                form(&text).err(),
                yes_no(&text).err(),
                rupiah(&text).err(),
                sdgs(&text).err(),
            ]
            .into_iter()
            .flatten()
            {
                proptest::prop_assert!(!reason.is_empty());
            }
            let _ = (list(&text), source_of_initiator(&text), header_key(&text));
        }
    }
}
