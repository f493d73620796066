//! `jejak import innovations FILE` and `jejak import roster COHORT FILE`:
//! a spreadsheet (.xlsx, .ods, .xls) or a CSV read here, its headers
//! matched to jejak's fields (as Indonesian registers and rosters write
//! them, or by a `--mapping` file), its rows streamed to the server
//! (`Import.ImportInnovations`, `Import.ImportRoster`), which checks every
//! row and answers a report. A dry run unless `--apply` (ADR 0031).

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader as _};
use futures::StreamExt as _;
use jejak_proto::v1 as pb;
use jejak_server::import::{Field, INNOVATION_FIELDS, ROSTER_FIELDS, field_of_header, header_key};

use crate::client::{Connection, Failure, Outcome, print_json, table};

/// A file to import.
#[derive(Debug, clap::Args)]
pub struct FileArgs {
    /// The file: .xlsx, .ods, .xls or .csv (UTF-8; comma, semicolon or tab).
    file: PathBuf,
    /// A TOML file naming, for each of jejak's fields, the file's header
    /// for it (e.g. `name = "Judul"`); for layouts jejak does not know.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// The sheet to read (a workbook); by default the first whose headers
    /// name every field a row needs.
    #[arg(long)]
    sheet: Option<String>,
    /// Write. Without it, a dry run: every row checked, nothing written.
    #[arg(long)]
    apply: bool,
}

/// What to import.
#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// The region's innovation register (BRIDA, or an OPD's innovation
    /// officer for its own): headers such as Nama Inovasi, Perangkat
    /// Daerah, Tahapan, Inisiator, Bentuk, Urusan, Tujuan, Manfaat,
    /// Tanggal Uji Coba, Tanggal Penerapan (docs/import.md lists them all).
    Innovations(FileArgs),
    /// A cohort's roster (its organizer): NIP, Nama, Jabatan, Perangkat
    /// Daerah, Mentor, Coach, Penguji.
    Roster {
        /// The cohort, e.g. pka-2026-9.
        cohort: String,
        #[command(flatten)]
        file: FileArgs,
    },
}

/// Rows past which a progress bar shows (on a terminal).
const LARGE: usize = 200;

/// A sheet read: its name, headers, and rows with their numbers in the
/// file (the header is row 1 of a CSV).
struct Table {
    sheet: Option<String>,
    header: Vec<String>,
    rows: Vec<(u32, Vec<String>)>,
}

pub async fn run(c: &Connection, command: ImportCommand) -> Outcome {
    let (fields, args, cohort, roster) = match command {
        ImportCommand::Innovations(args) => (INNOVATION_FIELDS, args, String::new(), false),
        ImportCommand::Roster { cohort, file } => (ROSTER_FIELDS, file, cohort, true),
    };
    let what = if roster { "roster" } else { "register" };
    let mapping = match &args.mapping {
        Some(path) => mapping(path, fields)?,
        None => BTreeMap::new(),
    };
    let (table, columns) = read(&args.file, args.sheet.as_deref(), fields, &mapping)?;
    let unread: Vec<&str> = table
        .header
        .iter()
        .zip(&columns)
        .filter(|(h, f)| f.is_none() && !h.trim().is_empty())
        .map(|(h, _)| h.as_str())
        .collect();
    if !unread.is_empty() && !c.json {
        eprintln!("not read (no field of jejak's): {}", unread.join(", "));
    }
    let mut headers = HashMap::new();
    for (header, field) in table.header.iter().zip(&columns) {
        if let Some(field) = field {
            headers.insert((*field).to_owned(), header.clone());
        }
    }
    let rows: Vec<pb::ImportRow> = table
        .rows
        .iter()
        .map(|(number, cells)| pb::ImportRow {
            row: *number,
            cells: cells
                .iter()
                .zip(&columns)
                .filter_map(|(cell, field)| Some(((*field)?.to_owned(), cell.clone())))
                .filter(|(_, cell)| !cell.trim().is_empty())
                .collect(),
        })
        .collect();
    let count = rows.len();
    let bar = if count >= LARGE && std::io::stderr().is_terminal() && !c.json {
        indicatif::ProgressBar::new(count as u64).with_message("rows sent")
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let options = pb::ImportOptions {
        apply: args.apply,
        cohort_id: cohort,
        headers,
        file: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let sent = bar.clone();
    let messages = futures::stream::iter(
        std::iter::once(pb::import_request::Part::Options(options))
            .chain(rows.into_iter().map(pb::import_request::Part::Row))
            .map(|part| pb::ImportRequest { part: Some(part) }),
    )
    .inspect(move |m| {
        if matches!(m.part, Some(pb::import_request::Part::Row(_))) {
            sent.inc(1);
        }
    });
    let mut client = pb::import_client::ImportClient::new(c.channel()?);
    let answer = if roster {
        client.import_roster(messages).await
    } else {
        client.import_innovations(messages).await
    };
    bar.finish_and_clear();
    let report = answer?.into_inner();
    show(c, &report, table.sheet.as_deref(), what, args.apply)
}

/// The `--mapping` file: jejak's field → the file's header.
fn mapping(path: &Path, fields: &[Field]) -> Result<BTreeMap<String, String>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let map: BTreeMap<String, String> = toml::from_str(&text).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a mapping: {e}; write one line per field, e.g. name = \"Judul Inovasi\"",
            path.display()
        ))
    })?;
    if let Some(unknown) = map
        .keys()
        .find(|k| !fields.iter().any(|f| f.name == k.as_str()))
    {
        return Err(Failure::Usage(format!(
            "{}: '{unknown}' is not a field of this import; the fields are {}",
            path.display(),
            fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(map)
}

/// Each column's field: the mapping's, else the header's own.
fn columns(
    header: &[String],
    fields: &[Field],
    mapping: &BTreeMap<String, String>,
) -> Vec<Option<&'static str>> {
    header
        .iter()
        .map(|h| {
            let key = header_key(h);
            fields
                .iter()
                .find(|f| mapping.get(f.name).is_some_and(|m| header_key(m) == key))
                .map(|f| f.name)
                .or_else(|| field_of_header(fields, h).filter(|f| !mapping.contains_key(*f)))
        })
        .collect()
}

/// Why `columns` will not do: a required field without a column, a
/// field named by two.
fn lacking(
    columns: &[Option<&'static str>],
    header: &[String],
    fields: &[Field],
) -> Option<String> {
    for (i, field) in columns.iter().enumerate() {
        if let Some(field) = field
            && let Some(j) = columns[..i].iter().position(|f| f == &Some(*field))
        {
            return Some(format!(
                "columns '{}' and '{}' both hold {field}; leave one out or map them with --mapping",
                header[j], header[i]
            ));
        }
    }
    let missing: Vec<String> = fields
        .iter()
        .filter(|f| f.required && !columns.contains(&Some(f.name)))
        .map(|f| format!("{} ({})", f.headers[0], f.name))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "no column for {}; name the columns so, or map them with --mapping FILE (docs/import.md)",
            missing.join(", ")
        )
    })
}

fn read(
    path: &Path,
    sheet: Option<&str>,
    fields: &[Field],
    mapping: &BTreeMap<String, String>,
) -> Result<(Table, Vec<Option<&'static str>>), Failure> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let tables = match ext.as_str() {
        "csv" | "tsv" | "txt" => vec![read_csv(path)?],
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => read_book(path, sheet)?,
        _ => {
            return Err(Failure::Usage(format!(
                "{} is not a spreadsheet jejak reads; give an .xlsx, .ods, .xls or .csv file",
                path.display()
            )));
        }
    };
    let mut first_problem = None;
    for table in tables {
        let cols = columns(&table.header, fields, mapping);
        match lacking(&cols, &table.header, fields) {
            None => return Ok((table, cols)),
            Some(problem) => {
                let problem = match &table.sheet {
                    Some(name) => format!("sheet '{name}': {problem}"),
                    None => problem,
                };
                first_problem.get_or_insert(problem);
            }
        }
    }
    Err(Failure::Usage(first_problem.unwrap_or_else(|| {
        format!("{} holds no table", path.display())
    })))
}

fn read_csv(path: &Path) -> Result<Table, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Failure::Usage(format!(
            "{} is not UTF-8 text; save it as \"CSV UTF-8\"",
            path.display()
        ))
    })?;
    let text = text.trim_start_matches('\u{feff}');
    // The separator the header line uses most: spreadsheets set to
    // Indonesian write ';'.
    let first = text.lines().next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| Failure::Usage(format!("{} is not CSV: {e}", path.display())))?;
        let line = record.position().map_or(0, |p| p.line());
        records.push((line, record.iter().map(str::to_owned).collect::<Vec<_>>()));
    }
    Ok(table_of(None, records))
}

/// A table from its records: the first non-empty one is the header, the
/// empty ones are left out.
fn table_of(sheet: Option<String>, records: Vec<(u64, Vec<String>)>) -> Table {
    let mut records = records
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let header = records.next().map(|(_, h)| h).unwrap_or_default();
    Table {
        sheet,
        header,
        rows: records
            .map(|(n, cells)| (u32::try_from(n).unwrap_or(u32::MAX), cells))
            .collect(),
    }
}

fn read_book(path: &Path, sheet: Option<&str>) -> Result<Vec<Table>, Failure> {
    let mut book = calamine::open_workbook_auto(path).map_err(|e| {
        Failure::Usage(format!(
            "cannot read {} as a spreadsheet: {e}",
            path.display()
        ))
    })?;
    let names = book.sheet_names();
    let names: Vec<String> = match sheet {
        Some(wanted) => {
            if !names.iter().any(|n| n == wanted) {
                return Err(Failure::Usage(format!(
                    "{} has no sheet '{wanted}'; its sheets are {}",
                    path.display(),
                    names.join(", ")
                )));
            }
            vec![wanted.to_owned()]
        }
        None => names,
    };
    let mut tables = Vec::new();
    for name in names {
        let range = book.worksheet_range(&name).map_err(|e| {
            Failure::Usage(format!(
                "cannot read sheet '{name}' of {}: {e}",
                path.display()
            ))
        })?;
        let top = range.start().map_or(0, |(row, _)| row);
        let records = range
            .rows()
            .enumerate()
            .map(|(i, cells)| {
                (
                    u64::from(top) + i as u64 + 1,
                    cells.iter().map(cell_text).collect(),
                )
            })
            .collect();
        tables.push(table_of(Some(name), records));
    }
    Ok(tables)
}

/// A cell as the server reads it: text as written, whole numbers without
/// a decimal point, a date cell as YYYY-MM-DD. A number too long for a
/// spreadsheet to keep every digit (a NIP typed as a number) keeps its
/// exponent, so the server can say so.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Bool(true) => "ya".into(),
        Data::Bool(false) => "tidak".into(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) if f.abs() >= 1e15 => format!("{f:e}"),
        Data::Float(f) => f.to_string(),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|t| t.date().to_string())
            .unwrap_or_else(|| d.as_f64().to_string()),
    }
}

fn outcome_word(outcome: i32) -> &'static str {
    match pb::RowOutcome::try_from(outcome) {
        Ok(pb::RowOutcome::Written) => "written",
        Ok(pb::RowOutcome::Unchanged) => "unchanged",
        Ok(pb::RowOutcome::Refused) => "refused",
        _ => "",
    }
}

fn show(
    c: &Connection,
    report: &pb::ImportReport,
    sheet: Option<&str>,
    what: &str,
    apply: bool,
) -> Outcome {
    if c.json {
        print_json(&serde_json::json!({
            "applied": report.applied,
            "written": report.written,
            "unchanged": report.unchanged,
            "refused": report.refused,
            "position": report.position,
            "rows": report.rows.iter().map(|r| serde_json::json!({
                "row": r.row,
                "outcome": outcome_word(r.outcome),
                "column": r.column,
                "reason": r.reason,
                "id": r.id,
                "changes": r.changes,
            })).collect::<Vec<_>>(),
        }));
    } else {
        if let Some(sheet) = sheet {
            say!("sheet '{sheet}'");
        }
        let refused: Vec<Vec<String>> = report
            .rows
            .iter()
            .filter(|r| r.outcome == pb::RowOutcome::Refused as i32)
            .map(|r| vec![r.row.to_string(), r.column.clone(), r.reason.clone()])
            .collect();
        if refused.is_empty() {
            let verb = if report.applied { "" } else { "would be " };
            for r in report
                .rows
                .iter()
                .filter(|r| r.outcome == pb::RowOutcome::Written as i32)
            {
                let id = if r.id.is_empty() { "" } else { &r.id };
                say!("row {} {verb}written {id}: {}", r.row, r.changes.join("; "));
            }
        } else {
            say!("{}", table(&["row", "column", "why refused"], refused));
        }
        let rows = report.rows.len();
        let tally = format!(
            "{rows} {what} rows: {} {}, {} unchanged, {} refused",
            report.written,
            if report.applied {
                "written"
            } else {
                "to write"
            },
            report.unchanged,
            report.refused
        );
        if report.applied {
            say!("{tally} (log position {})", report.position);
        } else if report.refused > 0 {
            say!("{tally}; nothing written");
        } else {
            say!("{tally}; a dry run: nothing written (import again with --apply to write)");
        }
    }
    if report.refused > 0 {
        return Err(Failure::Refused(format!(
            "{} rows refused{}; correct them (or leave them out) and import again",
            report.refused,
            if apply && !report.applied {
                ", so nothing was written"
            } else {
                ""
            }
        )));
    }
    Ok(())
}
