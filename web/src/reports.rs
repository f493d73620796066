//! The reports of the region as spreadsheets (ADR 0035): the innovation
//! register (a summary, every innovation, a sheet per OPD), the yearly
//! list for the national innovation index (IID) and a cohort's recap,
//! each built by a pure function of the service's answers
//! (`ListInnovations`, `GetInnovationDetail`, `GetStatistics`,
//! `ListProjects`, `GetProjectDetail`), and written as `.xlsx` through
//! `rust_xlsxwriter` or as the report's main table in CSV. The CLI's
//! `jejak report` fetches over gRPC and the portal through the service
//! functions as the visitor; both build and write here, so both give the
//! same bytes for the same answers.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use jejak_proto::v1 as pb;

use crate::words::Lang;

/// A cell of a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<u32> for Cell {
    fn from(n: u32) -> Self {
        Self::Number(f64::from(n))
    }
}

/// A table of a report: a sheet of the workbook.
#[derive(Clone, Debug, PartialEq)]
pub struct Sheet {
    /// Its name.
    pub name: String,
    /// The header row.
    pub header: Vec<&'static str>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The workbook could not be made.
    #[error("cannot write the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// The CSV could not be made.
    #[error("cannot write the CSV: {0}")]
    Csv(String),
    /// A sheet holds more rows than a workbook can.
    #[error("too many rows for a sheet")]
    TooManyRows,
}

/// The register's sheet of every innovation (CSV writes it; the workbook
/// has it too, after the summary).
pub const ALL: &str = "Semua";

/// The table a CSV holds: the only one, or (the register) every
/// innovation in one table.
pub fn main_table(sheets: &[Sheet]) -> Option<&Sheet> {
    sheets
        .iter()
        .find(|s| s.name == ALL)
        .or_else(|| sheets.first())
}

fn col_of(col: usize) -> u16 {
    u16::try_from(col).unwrap_or(u16::MAX)
}

/// A sheet's name as spreadsheets allow: at most 31 characters, none of
/// `[]:*?/\`.
fn sheet_name(name: &str) -> String {
    name.chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .take(31)
        .collect()
}

/// The workbook of `sheets`, its bytes.
///
/// # Errors
/// [`ReportError`].
pub fn xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, ReportError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for sheet in sheets {
        let page = book.add_worksheet();
        page.set_name(sheet_name(&sheet.name))?;
        for (col, title) in sheet.header.iter().enumerate() {
            page.write_string_with_format(0, col_of(col), *title, &bold)?;
        }
        for (row, cells) in sheet.rows.iter().enumerate() {
            let row = u32::try_from(row + 1).map_err(|_| ReportError::TooManyRows)?;
            for (col, cell) in cells.iter().enumerate() {
                match cell {
                    Cell::Text(text) => page.write_string(row, col_of(col), text)?,
                    Cell::Number(n) => page.write_number(row, col_of(col), *n)?,
                };
            }
        }
        page.autofit();
    }
    Ok(book.save_to_buffer()?)
}

/// `sheet` as CSV (UTF-8, a header row), its bytes.
///
/// # Errors
/// [`ReportError`].
pub fn csv(sheet: &Sheet) -> Result<Vec<u8>, ReportError> {
    let failed = |e: &dyn std::fmt::Display| ReportError::Csv(e.to_string());
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&sheet.header).map_err(|e| failed(&e))?;
    for row in &sheet.rows {
        out.write_record(row.iter().map(|cell| match cell {
            Cell::Text(text) => text.clone(),
            Cell::Number(n) => n.to_string(),
        }))
        .map_err(|e| failed(&e))?;
    }
    out.into_inner().map_err(|e| failed(&e))
}

/// A source's code on the wire (`health_competition`).
pub fn source_name(value: i32) -> String {
    pb::Source::try_from(value)
        .map(|s| s.as_str_name().trim_start_matches("SOURCE_").to_lowercase())
        .unwrap_or_default()
}

fn form_words(value: i32) -> &'static str {
    match pb::Form::try_from(value) {
        Ok(pb::Form::Governance) => "tata kelola pemerintahan daerah",
        Ok(pb::Form::PublicService) => "pelayanan publik",
        Ok(pb::Form::Other) => "lainnya",
        _ => "",
    }
}

fn digital_words(digital: bool) -> &'static str {
    if digital { "digital" } else { "non digital" }
}

fn sdgs(list: &[u32]) -> String {
    list.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each piece of evidence as `indicator: name (where)`.
fn evidence_words(d: &pb::InnovationDetail) -> String {
    d.evidence
        .iter()
        .filter_map(|e| {
            let a = e.attachment.as_ref()?;
            Some(format!("{}: {} ({})", e.indicator, a.name, a.uri))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Each adopter as `OPD, region, KIND NUMBER, YYYY-MM-DD` (its
/// agreement), `; ` between them: what `jejak import innovations` reads
/// back.
fn adopters_words(d: &pb::InnovationDetail) -> String {
    d.adopters
        .iter()
        .map(|a| match &a.agreement {
            Some(g) => format!(
                "{}, {}, {} {}, {}",
                a.opd, a.region, g.kind, g.number, g.signed_on
            ),
            None => format!("{}, {}", a.opd, a.region),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The day an innovation was registered (when it happened, ADR 0030), in
/// `zone`.
pub fn registered_on(e: &pb::InnovationEntry, zone: chrono_tz::Tz) -> String {
    e.registered_at
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.with_timezone(&zone).date_naive().to_string())
        .unwrap_or_default()
}

const REGISTER_HEADER: [&str; 26] = [
    "Nama Inovasi",
    "Perangkat Daerah",
    "Unit",
    "Tahapan",
    "Sumber",
    "Inisiator",
    "Bentuk",
    "Digital",
    "Urusan",
    "SDGs",
    "Tujuan",
    "Manfaat",
    "Anggaran (Rp)",
    "Dasar Hukum",
    "Nomor SK",
    "Tanggal SK",
    "Tanggal Registrasi",
    "Tanggal Uji Coba",
    "Tanggal Penerapan",
    "Vakum Sejak",
    "Asal Proyek Perubahan",
    "Replikasi Dari",
    "Jumlah Pengadopsi",
    "Pengadopsi",
    "Bukti per Indikator",
    "Id",
];

/// What a report needs beside the answers: the words' language, the
/// zone days are read in, and the units' names by code.
#[derive(Clone, Debug)]
pub struct Setting<'a> {
    /// The language of stages, sources and grades.
    pub lang: Lang,
    /// Where days are read.
    pub zone: chrono_tz::Tz,
    /// The units' names by code (a code without one shows as itself).
    pub names: &'a BTreeMap<String, String>,
}

impl Setting<'_> {
    fn unit(&self, code: &str) -> String {
        self.names
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }
}

fn register_row(d: &pb::InnovationDetail, s: &Setting<'_>) -> Vec<Cell> {
    let e = d.entry.clone().unwrap_or_default();
    let registered = registered_on(&e, s.zone);
    let opd = s.unit(&e.opd);
    vec![
        e.name.into(),
        opd.into(),
        e.unit.into(),
        s.lang.stage(&e.stage).into(),
        s.lang.source(&source_name(e.source)).into(),
        d.initiator_type.clone().into(),
        form_words(e.form).into(),
        digital_words(e.digital).into(),
        e.sector.into(),
        sdgs(&d.sdgs).into(),
        d.goal.clone().into(),
        d.benefit.clone().into(),
        Cell::Number(d.budget as f64),
        d.legal_basis.clone().into(),
        e.decree_number.into(),
        d.decree_date.clone().into(),
        registered.into(),
        e.pilot_started_on.into(),
        e.implemented_on.into(),
        e.dormant_since.into(),
        e.origin_project.into(),
        e.replica_of.into(),
        e.replication_count.into(),
        adopters_words(d).into(),
        evidence_words(d).into(),
        e.innovation_id.into(),
    ]
}

/// The register: a summary from `stats`, every innovation of `details`
/// (the region's own), and a sheet per OPD, by OPD and name.
pub fn register(
    details: &[pb::InnovationDetail],
    stats: &pb::InnovationStatistics,
    s: &Setting<'_>,
) -> Vec<Sheet> {
    let mut details: Vec<&pb::InnovationDetail> = details.iter().collect();
    details.sort_by(|a, b| {
        let key = |d: &pb::InnovationDetail| {
            d.entry
                .as_ref()
                .map(|e| (e.opd.clone(), e.name.clone()))
                .unwrap_or_default()
        };
        key(a).cmp(&key(b))
    });
    let mut summary = vec![
        vec!["Inovasi seluruhnya".into(), stats.total.into()],
        vec![
            "Perangkat daerah berinovasi".into(),
            Cell::Number((stats.coverage * 1000.0).round() / 10.0),
        ],
        vec![
            "Gini (ketimpangan antar OPD)".into(),
            Cell::Number(stats.gini),
        ],
        vec!["".into(), "".into()],
    ];
    let stage_order = ["proposed", "piloted", "adopted", "replicated", "dormant"];
    let mut stages: Vec<(&String, &u32)> = stats.by_stage.iter().collect();
    stages.sort_by_key(|(stage, _)| {
        stage_order
            .iter()
            .position(|st| st == stage)
            .unwrap_or(usize::MAX)
    });
    for (stage, count) in stages {
        summary.push(vec![
            format!("Tahapan: {}", s.lang.stage(stage)).into(),
            (*count).into(),
        ]);
    }
    for share in &stats.by_source {
        summary.push(vec![
            format!("Sumber: {}", s.lang.source(&source_name(share.source))).into(),
            share.count.into(),
        ]);
    }
    for opd in &stats.opds_without {
        summary.push(vec![
            format!(
                "Perangkat daerah tanpa inovasi: {}",
                s.names.get(opd).map_or(opd.as_str(), String::as_str)
            )
            .into(),
            0.into(),
        ]);
    }
    let mut sheets = vec![Sheet {
        name: "Ringkasan".into(),
        header: vec!["Ukuran", "Nilai"],
        rows: summary,
    }];
    sheets.push(Sheet {
        name: ALL.into(),
        header: REGISTER_HEADER.to_vec(),
        rows: details.iter().map(|d| register_row(d, s)).collect(),
    });
    let mut by_opd: BTreeMap<String, Vec<Vec<Cell>>> = BTreeMap::new();
    for d in &details {
        let opd = d.entry.as_ref().map(|e| e.opd.clone()).unwrap_or_default();
        by_opd.entry(opd).or_default().push(register_row(d, s));
    }
    for (opd, rows) in by_opd {
        sheets.push(Sheet {
            name: opd,
            header: REGISTER_HEADER.to_vec(),
            rows,
        });
    }
    sheets
}

/// An innovation's stage at the end of `year` in the index's words, from
/// its dates: implemented by then, *penerapan*; piloted, *uji coba*;
/// otherwise *inisiatif*.
fn iid_stage(e: &pb::InnovationEntry, end: NaiveDate) -> &'static str {
    let by = |date: &str| NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok_and(|d| d <= end);
    if by(&e.implemented_on) {
        "penerapan"
    } else if by(&e.pilot_started_on) {
        "uji coba"
    } else {
        "inisiatif"
    }
}

/// The IID list of `year`: the innovations of `details` registered by its
/// end. None when `year` has no 31 December.
pub fn iid(details: &[pb::InnovationDetail], year: i32, s: &Setting<'_>) -> Option<Vec<Sheet>> {
    let end = NaiveDate::from_ymd_opt(year, 12, 31)?;
    let rows = details
        .iter()
        .filter_map(|d| {
            let e = d.entry.as_ref()?;
            let registered = e
                .registered_at
                .as_ref()
                .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))?
                .date_naive();
            (registered <= end).then(|| {
                vec![
                    e.name.clone().into(),
                    s.unit(&e.opd).into(),
                    iid_stage(e, end).into(),
                    form_words(e.form).into(),
                    digital_words(e.digital).into(),
                    e.sector.clone().into(),
                    e.pilot_started_on.clone().into(),
                    e.implemented_on.clone().into(),
                    d.legal_basis.clone().into(),
                    e.decree_number.clone().into(),
                    Cell::from(u32::try_from(d.evidence.len()).unwrap_or(u32::MAX)),
                    evidence_words(d).into(),
                ]
            })
        })
        .collect();
    Some(vec![Sheet {
        name: format!("IID {year}"),
        header: vec![
            "Nama Inovasi",
            "Perangkat Daerah",
            "Tahapan",
            "Bentuk",
            "Digital",
            "Urusan",
            "Tanggal Uji Coba",
            "Tanggal Penerapan",
            "Dasar Hukum",
            "Nomor SK",
            "Jumlah Bukti",
            "Bukti per Indikator",
        ],
        rows,
    }])
}

/// A cohort's recap: each of `projects` (by code) beside its page of
/// `details` (the same order).
pub fn cohort_recap(
    cohort: &str,
    projects: &[pb::Project],
    details: &[pb::ProjectDetail],
    s: &Setting<'_>,
) -> Vec<Sheet> {
    let seminar = |results: &[pb::SeminarResult], yes: &str, no: &str| -> String {
        results
            .last()
            .map(|r| if r.accepted { yes } else { no }.to_owned())
            .unwrap_or_default()
    };
    let rows = projects
        .iter()
        .zip(details)
        .map(|(p, d)| {
            let done = p
                .milestones
                .iter()
                .filter(|m| m.status == pb::MilestoneStatus::Approved as i32)
                .count();
            vec![
                p.code.clone().into(),
                p.participant_name.clone().into(),
                p.title.clone().into(),
                s.unit(&p.opd).into(),
                s.lang.stage(&p.state).into(),
                format!("{done}/{}", p.milestones.len()).into(),
                seminar(&d.proposal_seminars, "diterima", "direvisi").into(),
                seminar(&d.final_seminars, "lulus", "tidak lulus").into(),
                p.final_score
                    .map_or(Cell::Text(String::new()), |score| score.into()),
                s.lang.grade(&p.grade).into(),
            ]
        })
        .collect();
    vec![Sheet {
        name: format!("Rekap {cohort}"),
        header: vec![
            "Kode",
            "Peserta",
            "Judul Proyek Perubahan",
            "Perangkat Daerah",
            "Tahap",
            "Tonggak Selesai",
            "Seminar Rancangan",
            "Seminar Akhir",
            "Nilai",
            "Predikat",
        ],
        rows,
    }]
}
