//! `jejak report`: the city's reports as spreadsheets, made from what the
//! server answers (the register, its statistics, the cohort's projects):
//! the innovation register (one sheet per OPD and a summary), the yearly
//! list for the national innovation index (IID), and a cohort's recap.
//! `.xlsx` through `rust_xlsxwriter`; `--csv` writes the report's main
//! table for tools that read text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;
use futures::{StreamExt as _, TryStreamExt as _};
use jejak_proto::v1 as pb;

use crate::client::{Connection, Failure, Outcome, unit_names};
use crate::words::lang;

/// Where a report goes.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Out {
    /// A spreadsheet (.xlsx): opens in LibreOffice and Excel.
    #[arg(long)]
    xlsx: Option<PathBuf>,
    /// The report's main table as CSV (UTF-8, a header row).
    #[arg(long)]
    csv: Option<PathBuf>,
}

/// The reports.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// The region's innovation register with every field: one sheet per
    /// OPD, and a summary sheet (counts per stage and source, OPDs without
    /// innovation).
    Register(Out),
    /// The innovations a year's national innovation index (IID) asks about:
    /// those registered by the end of the year, their stage that year in
    /// the index's words (inisiatif, uji coba, penerapan), form, digital,
    /// sector, dates, legal basis, and the evidence per indicator.
    Iid {
        /// The year reported.
        #[arg(long)]
        year: i32,
        #[command(flatten)]
        out: Out,
    },
    /// A cohort's recap: participant, project, milestones done, both
    /// seminars, score and predikat.
    Cohort {
        /// The cohort, e.g. pka-2026-9.
        cohort: String,
        #[command(flatten)]
        out: Out,
    },
}

/// A cell of a report.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Text(String),
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
#[derive(Debug)]
struct Sheet {
    name: String,
    header: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

/// Innovations fetched at once while a report is made.
const AT_ONCE: usize = 16;

pub async fn run(c: &Connection, command: ReportCommand) -> Outcome {
    let (sheets, out, what) = match command {
        ReportCommand::Register(out) => (register(c).await?, out, "the innovation register"),
        ReportCommand::Iid { year, out } => (iid(c, year).await?, out, "the IID list"),
        ReportCommand::Cohort { cohort, out } => {
            (cohort_recap(c, &cohort).await?, out, "the cohort's recap")
        }
    };
    match (out.xlsx, out.csv) {
        (Some(path), _) => {
            write_xlsx(&path, &sheets)?;
            say!(
                "{what}: {} sheets, {} rows, written to {}",
                sheets.len(),
                main_table(&sheets).rows.len(),
                path.display()
            );
        }
        (_, Some(path)) => {
            let main = main_table(&sheets);
            write_csv(&path, main)?;
            say!(
                "{what}: {} rows written to {}",
                main.rows.len(),
                path.display()
            );
        }
        (None, None) => {
            return Err(Failure::Usage(
                "name where it goes: --xlsx FILE or --csv FILE".into(),
            ));
        }
    }
    Ok(())
}

/// The table a CSV holds: the only one, or (the register) every
/// innovation in one table.
fn main_table(sheets: &[Sheet]) -> &Sheet {
    sheets
        .iter()
        .find(|s| s.name == ALL)
        .unwrap_or_else(|| &sheets[0])
}

/// The register's sheet of every innovation (CSV writes it; the workbook
/// has it too, after the summary).
const ALL: &str = "Semua";

fn write_xlsx(path: &Path, sheets: &[Sheet]) -> anyhow::Result<()> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for sheet in sheets {
        let page = book.add_worksheet();
        page.set_name(sheet_name(&sheet.name))?;
        for (col, title) in sheet.header.iter().enumerate() {
            page.write_string_with_format(0, col_of(col), *title, &bold)?;
        }
        for (row, cells) in sheet.rows.iter().enumerate() {
            let row = u32::try_from(row + 1).context("too many rows for a sheet")?;
            for (col, cell) in cells.iter().enumerate() {
                match cell {
                    Cell::Text(text) => page.write_string(row, col_of(col), text)?,
                    Cell::Number(n) => page.write_number(row, col_of(col), *n)?,
                };
            }
        }
        page.autofit();
    }
    save_private(path, &book.save_to_buffer()?)
}

/// Writes a report readable by its owner only (0600: it names people),
/// replacing the file at `path` at once, never leaving half a report.
fn save_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(format!(".partial-{}", std::process::id()));
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    jejak_server::files::write_private(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("cannot write {}", path.display()))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })
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

fn write_csv(path: &Path, sheet: &Sheet) -> anyhow::Result<()> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&sheet.header)?;
    for row in &sheet.rows {
        out.write_record(row.iter().map(|cell| match cell {
            Cell::Text(text) => text.clone(),
            Cell::Number(n) => n.to_string(),
        }))?;
    }
    save_private(path, &out.into_inner().context("cannot write the CSV")?)
}

/// The region's own innovations (the register also lists replicas other
/// regions registered), with their details, and the region's statistics.
async fn innovations(
    c: &Connection,
) -> Result<(Vec<pb::InnovationDetail>, pb::InnovationStatistics), Failure> {
    let mut client = c.innovations()?;
    let stats = client
        .get_statistics(pb::GetStatisticsRequest::default())
        .await?
        .into_inner();
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_innovations(pb::ListInnovationsRequest {
                page: Some(pb::PageRequest {
                    page_size: 500,
                    page_token: token,
                }),
                ..Default::default()
            })
            .await?
            .into_inner();
        ids.extend(
            page.innovations
                .into_iter()
                .filter(|i| i.region == stats.region)
                .map(|i| i.innovation_id),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let details = futures::stream::iter(ids)
        .map(|innovation_id| {
            let mut client = client.clone();
            async move {
                client
                    .get_innovation_detail(pb::GetInnovationRequest {
                        innovation_id,
                        min_position: 0,
                    })
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .buffered(AT_ONCE)
        .try_collect()
        .await?;
    Ok((details, stats))
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

/// The day an innovation was registered (when it happened, ADR 0030),
/// where the reader is.
fn registered_on(e: &pb::InnovationEntry) -> String {
    e.registered_at
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| {
            t.with_timezone(&crate::client::time_zone())
                .date_naive()
                .to_string()
        })
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

fn register_row(d: &pb::InnovationDetail, names: &BTreeMap<String, String>) -> Vec<Cell> {
    let e = d.entry.clone().unwrap_or_default();
    let registered = registered_on(&e);
    let opd = names.get(&e.opd).cloned().unwrap_or_else(|| e.opd.clone());
    vec![
        e.name.into(),
        opd.into(),
        e.unit.into(),
        lang().stage(&e.stage).into(),
        lang()
            .source(&super::innovation::source_name(e.source))
            .into(),
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

async fn register(c: &Connection) -> Result<Vec<Sheet>, Failure> {
    let (mut details, stats) = innovations(c).await?;
    details.sort_by(|a, b| {
        let key = |d: &pb::InnovationDetail| {
            d.entry
                .as_ref()
                .map(|e| (e.opd.clone(), e.name.clone()))
                .unwrap_or_default()
        };
        key(a).cmp(&key(b))
    });
    let names: BTreeMap<String, String> = unit_names(c).await.into_iter().collect();
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
            .position(|s| s == stage)
            .unwrap_or(usize::MAX)
    });
    for (stage, count) in stages {
        summary.push(vec![
            format!("Tahapan: {}", lang().stage(stage)).into(),
            (*count).into(),
        ]);
    }
    for share in &stats.by_source {
        summary.push(vec![
            format!(
                "Sumber: {}",
                lang().source(&super::innovation::source_name(share.source))
            )
            .into(),
            share.count.into(),
        ]);
    }
    for opd in &stats.opds_without {
        summary.push(vec![
            format!(
                "Perangkat daerah tanpa inovasi: {}",
                names.get(opd).map_or(opd.as_str(), String::as_str)
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
        rows: details.iter().map(|d| register_row(d, &names)).collect(),
    });
    let mut by_opd: BTreeMap<String, Vec<Vec<Cell>>> = BTreeMap::new();
    for d in &details {
        let opd = d.entry.as_ref().map(|e| e.opd.clone()).unwrap_or_default();
        by_opd.entry(opd).or_default().push(register_row(d, &names));
    }
    for (opd, rows) in by_opd {
        sheets.push(Sheet {
            name: opd,
            header: REGISTER_HEADER.to_vec(),
            rows,
        });
    }
    Ok(sheets)
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

async fn iid(c: &Connection, year: i32) -> Result<Vec<Sheet>, Failure> {
    let end = NaiveDate::from_ymd_opt(year, 12, 31)
        .ok_or_else(|| Failure::Usage(format!("{year} is not a year")))?;
    let (details, _) = innovations(c).await?;
    let names: BTreeMap<String, String> = unit_names(c).await.into_iter().collect();
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
                    names
                        .get(&e.opd)
                        .cloned()
                        .unwrap_or_else(|| e.opd.clone())
                        .into(),
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
    Ok(vec![Sheet {
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

async fn cohort_recap(c: &Connection, cohort: &str) -> Result<Vec<Sheet>, Failure> {
    let mut projects = Vec::new();
    let mut token = String::new();
    let mut client = c.projects()?;
    loop {
        let page = client
            .list_projects(pb::ListProjectsRequest {
                page: Some(pb::PageRequest {
                    page_size: 500,
                    page_token: token,
                }),
                cohort_id: cohort.to_owned(),
                ..Default::default()
            })
            .await?
            .into_inner();
        projects.extend(page.projects);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    projects.sort_by(|a, b| a.code.cmp(&b.code));
    let names: BTreeMap<String, String> = unit_names(c).await.into_iter().collect();
    if projects.is_empty() {
        return Err(Failure::Refused(format!(
            "cohort {cohort} has no project you may read; check its name (jejak cohort list)"
        )));
    }
    let details: Vec<pb::ProjectDetail> = futures::stream::iter(projects.iter())
        .map(|p| {
            let mut client = client.clone();
            let project_id = p.project_id.clone();
            async move {
                client
                    .get_project_detail(pb::GetProjectRequest {
                        project_id,
                        ..Default::default()
                    })
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .buffered(AT_ONCE)
        .try_collect()
        .await?;
    let seminar = |results: &[pb::SeminarResult], yes: &str, no: &str| -> String {
        results
            .last()
            .map(|s| if s.accepted { yes } else { no }.to_owned())
            .unwrap_or_default()
    };
    let rows = projects
        .iter()
        .zip(&details)
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
                names
                    .get(&p.opd)
                    .cloned()
                    .unwrap_or_else(|| p.opd.clone())
                    .into(),
                lang().stage(&p.state).into(),
                format!("{done}/{}", p.milestones.len()).into(),
                seminar(&d.proposal_seminars, "diterima", "direvisi").into(),
                seminar(&d.final_seminars, "lulus", "tidak lulus").into(),
                p.final_score
                    .map_or(Cell::Text(String::new()), |s| s.into()),
                lang().grade(&p.grade).into(),
            ]
        })
        .collect();
    Ok(vec![Sheet {
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
    }])
}
