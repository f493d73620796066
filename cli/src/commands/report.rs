//! `jejak report`: the city's reports as spreadsheets, made from what the
//! server answers (the register, its statistics, the cohort's projects):
//! the innovation register (one sheet per OPD and a summary), the yearly
//! list for the national innovation index (IID), and a cohort's recap.
//! `.xlsx` through `rust_xlsxwriter`; `--csv` writes the report's main
//! table for tools that read text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use jejak_proto::v1 as pb;
use jejak_web::reports::{self, Setting, Sheet};

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
                main_table(&sheets)?.rows.len(),
                path.display()
            );
        }
        (_, Some(path)) => {
            let main = main_table(&sheets)?;
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
fn main_table(sheets: &[Sheet]) -> anyhow::Result<&Sheet> {
    reports::main_table(sheets).context("the report has no table")
}

fn write_xlsx(path: &Path, sheets: &[Sheet]) -> anyhow::Result<()> {
    save_private(path, &reports::xlsx(sheets)?)
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

fn write_csv(path: &Path, sheet: &Sheet) -> anyhow::Result<()> {
    save_private(path, &reports::csv(sheet)?)
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

/// The units' names by code, as the server has them.
async fn names(c: &Connection) -> BTreeMap<String, String> {
    unit_names(c).await.into_iter().collect()
}

async fn register(c: &Connection) -> Result<Vec<Sheet>, Failure> {
    let (details, stats) = innovations(c).await?;
    let names = names(c).await;
    let setting = Setting {
        lang: lang(),
        zone: crate::client::time_zone(),
        names: &names,
    };
    Ok(reports::register(&details, &stats, &setting))
}

async fn iid(c: &Connection, year: i32) -> Result<Vec<Sheet>, Failure> {
    if chrono::NaiveDate::from_ymd_opt(year, 12, 31).is_none() {
        return Err(Failure::Usage(format!("{year} is not a year")));
    }
    let (details, _) = innovations(c).await?;
    let names = names(c).await;
    let setting = Setting {
        lang: lang(),
        zone: crate::client::time_zone(),
        names: &names,
    };
    reports::iid(&details, year, &setting)
        .ok_or_else(|| Failure::Usage(format!("{year} is not a year")))
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
    let names = names(c).await;
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
    let setting = Setting {
        lang: lang(),
        zone: crate::client::time_zone(),
        names: &names,
    };
    Ok(reports::cohort_recap(cohort, &projects, &details, &setting))
}
