//! Spreadsheets in (`jejak import`): the demo city's register, exported
//! with `jejak report register --xlsx` and imported into an empty log,
//! gives the same statistics (`Innovations.GetStatistics`), on SQLite and,
//! under CI, on PostgreSQL; imported again it writes nothing. The sample
//! files in docs/examples read alike in every format.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{BIN, Server};

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn json(out: Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).unwrap()
}

/// Waits until `jejak ARGS --json` as `token` answers what `done` accepts,
/// and returns that answer.
fn until(
    server: &Server,
    token: &str,
    args: &[&str],
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let answer = json(server.jejak(Some(token), args).output().unwrap());
        if done(&answer) {
            return answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never came: {answer}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The views have applied the log up to `head`.
fn caught_up(server: &Server, head: u64) {
    let operator = server.token("admin", "operator-1");
    until(server, &operator, &["admin", "status", "--json"], |s| {
        s["views"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["position"].as_u64() >= Some(head))
    });
}

fn demo(dir: &Path, database_url: Option<&str>) -> u64 {
    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "--data-dir"]).arg(dir.join("data"));
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let said = ok(cmd
        .env_remove("JEJAK_SERVER")
        .env_remove("JEJAK_DATABASE_URL")
        .output()
        .unwrap());
    said.split("the log is at ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("the demo names the log's head: {said}"))
}

/// The region's units of `from` as a units file for `jejak admin units
/// load`; returns the codes of its OPDs and kecamatan.
fn units_file(from: &Server, token: &str, path: &Path) -> Vec<String> {
    let units = json(
        from.jejak(Some(token), &["admin", "unit", "list", "--json"])
            .output()
            .unwrap(),
    );
    let mut toml = String::new();
    for u in units.as_array().unwrap() {
        toml.push_str(&format!(
            "[[unit]]\ncode = {}\nname = {}\nkind = {}\nparent = {}\n\n",
            u["code"], u["name"], u["kind"], u["parent"]
        ));
    }
    std::fs::write(path, toml).unwrap();
    units
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["kind"] != "puskesmas")
        .map(|u| u["code"].as_str().unwrap().to_owned())
        .collect()
}

/// `innovation stats --json` over the city's OPDs `opds` (the log adds
/// those its cohorts name: an empty log has none).
fn stats_args(opds: &[String]) -> Vec<&str> {
    let mut args = vec!["innovation", "stats", "--json"];
    for opd in opds {
        args.extend(["--opd", opd.as_str()]);
    }
    args
}

fn the_demo_city_exported_and_imported_gives_the_same_statistics(
    source_url: Option<&str>,
    target_url: Option<&str>,
) {
    let source_dir = tempfile::tempdir().unwrap();
    let head = demo(source_dir.path(), source_url);
    let source = Server::start_on(source_dir.path(), source_url);
    caught_up(&source, head);
    let brida = source.token("brida_officer", "brida-1");
    let operator = source.token("admin", "operator-1");
    let opds = units_file(&source, &operator, &source.path().join("units.toml"));
    let stats = json(
        source
            .jejak(Some(&brida), &stats_args(&opds))
            .output()
            .unwrap(),
    );
    assert!(stats["total"].as_u64().unwrap() > 50, "{stats}");
    ok(source
        .jejak(
            Some(&brida),
            &["report", "register", "--xlsx", "register.xlsx"],
        )
        .output()
        .unwrap());
    let file = source.path().join("register.xlsx");

    let target_dir = tempfile::tempdir().unwrap();
    let target = Server::start_on(target_dir.path(), target_url);
    let operator = target.token("admin", "operator-1");
    let brida = target.token("brida_officer", "brida-1");
    ok(target
        .jejak(
            Some(&operator),
            &[
                "admin",
                "units",
                "load",
                source.path().join("units.toml").to_str().unwrap(),
            ],
        )
        .output()
        .unwrap());
    let import = |apply: bool| {
        let mut args = vec!["import", "innovations", file.to_str().unwrap(), "--json"];
        if apply {
            args.push("--apply");
        }
        json(target.jejak(Some(&brida), &args).output().unwrap())
    };
    // A dry run first: every row would be written, nothing is.
    let dry = import(false);
    assert_eq!(dry["refused"], 0, "{dry}");
    assert_eq!(dry["applied"], false);
    let rows = dry["written"].as_u64().unwrap();
    assert_eq!(rows, stats["total"].as_u64().unwrap(), "{dry}");
    let applied = import(true);
    assert_eq!(applied["applied"], true, "{applied}");
    assert_eq!(applied["refused"], 0, "{applied}");
    // A replica registered by its original's replication before its own
    // row came is unchanged by that row.
    assert_eq!(
        applied["written"].as_u64().unwrap() + applied["unchanged"].as_u64().unwrap(),
        rows,
        "{applied}"
    );
    // The replicas the process managers register follow the import: the
    // statistics are the same once the target has them.
    let same = until(&target, &brida, &stats_args(&opds), |s| s == &stats);
    assert_eq!(same, stats);
    // Imported again: nothing to write.
    let again = import(true);
    assert_eq!(again["written"], 0, "{again}");
    assert_eq!(again["unchanged"].as_u64(), Some(rows));
    target.stop();
    source.stop();
}

#[test]
fn the_demo_city_exported_and_imported_gives_the_same_statistics_on_sqlite() {
    the_demo_city_exported_and_imported_gives_the_same_statistics(None, None);
}

#[test]
fn the_demo_city_exported_and_imported_gives_the_same_statistics_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(source) = rt.block_on(jejak_tests::TestDb::postgres("import_source")) else {
        return;
    };
    let target = rt.block_on(source.sibling());
    the_demo_city_exported_and_imported_gives_the_same_statistics(
        Some(source.url()),
        Some(target.url()),
    );
    rt.block_on(source.cleanup());
    rt.block_on(target.cleanup());
}

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples")
}

/// `docs/examples/inovasi.xlsx` holds what `inovasi.csv` holds, dates as
/// date cells and amounts as numbers, as an office's workbook holds them.
/// When the CSV changed, the workbook is written anew from it and the test
/// fails, asking for the new workbook to be committed.
#[test]
fn the_sample_xlsx_holds_the_sample_csv() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Inovasi").unwrap();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(examples().join("inovasi.csv"))
        .unwrap();
    for (r, record) in csv.records().enumerate() {
        let r = u32::try_from(r).unwrap();
        for (c, value) in record.unwrap().iter().enumerate() {
            let c = u16::try_from(c).unwrap();
            if chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() {
                let day = rust_xlsxwriter::ExcelDateTime::parse_from_str(value).unwrap();
                sheet.write_date_with_format(r, c, &day, &date).unwrap();
            } else if r > 0 && !value.is_empty() && value.chars().all(|ch| ch.is_ascii_digit()) {
                sheet
                    .write_number(r, c, value.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                sheet.write_string(r, c, value).unwrap();
            }
        }
    }
    sheet.autofit();
    let fresh = tempfile::tempdir().unwrap();
    book.save(fresh.path().join("inovasi.xlsx")).unwrap();
    let cells = |path: &Path| {
        use calamine::Reader as _;
        let mut book = calamine::open_workbook_auto(path).unwrap();
        book.worksheet_range("Inovasi").unwrap()
    };
    let committed = examples().join("inovasi.xlsx");
    if cells(&committed) != cells(&fresh.path().join("inovasi.xlsx")) {
        std::fs::copy(fresh.path().join("inovasi.xlsx"), &committed).unwrap();
        panic!(
            "docs/examples/inovasi.xlsx did not hold inovasi.csv; it is written anew from it: commit it"
        );
    }
}

#[test]
fn the_sample_register_reads_alike_in_every_format_and_a_roster_enrols_once() {
    let server = Server::start();
    demo(server.path(), None);
    let brida = server.token("brida_officer", "brida-1");
    let import = |file: &Path, extra: &[&str]| {
        let mut args = vec!["import", "innovations", file.to_str().unwrap(), "--json"];
        args.extend_from_slice(extra);
        json(server.jejak(Some(&brida), &args).output().unwrap())
    };
    // The CSV, the workbook and the OpenDocument sheet are one register.
    let csv = import(&examples().join("inovasi.csv"), &[]);
    assert_eq!(
        (csv["written"].as_u64(), csv["refused"].as_u64()),
        (Some(6), Some(0)),
        "{csv}"
    );
    assert_eq!(csv["applied"], false);
    for other in ["inovasi.xlsx", "inovasi.ods"] {
        assert_eq!(import(&examples().join(other), &[]), csv, "{other}");
    }
    let human = ok(server
        .jejak(
            Some(&brida),
            &[
                "import",
                "innovations",
                examples().join("inovasi.xlsx").to_str().unwrap(),
            ],
        )
        .output()
        .unwrap());
    assert!(human.contains("a dry run: nothing written"), "{human}");
    assert!(human.contains("piloted 2025-09-15"), "{human}");
    let applied = import(&examples().join("inovasi.xlsx"), &["--apply"]);
    assert_eq!(applied["written"].as_u64(), Some(6), "{applied}");
    // Dated by their rows: the IID list of 2023 holds the two the sample
    // registered that year (the demo's history is younger), at the stage
    // each had reached by the year's end.
    ok(server
        .jejak(
            Some(&brida),
            &["report", "iid", "--year", "2023", "--csv", "iid-2023.csv"],
        )
        .output()
        .unwrap());
    let mut iid: Vec<(String, String)> = csv::Reader::from_path(server.path().join("iid-2023.csv"))
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[2].to_owned())
        })
        .collect();
    iid.sort();
    assert_eq!(
        iid,
        [
            ("Ambulans Panggilan".to_owned(), "uji coba".to_owned()),
            ("Gelanggang Sehat Remaja".to_owned(), "penerapan".to_owned()),
        ]
    );
    // The same register again, as CSV: nothing to write.
    let again = import(&examples().join("inovasi.csv"), &["--apply"]);
    assert_eq!(again["unchanged"].as_u64(), Some(6), "{again}");

    // Another layout, named by a mapping file; a budget changed is an
    // amendment of that innovation.
    let text = std::fs::read_to_string(examples().join("inovasi.csv")).unwrap();
    let (_, rows) = text.split_once('\n').unwrap();
    let header = "Judul,SKPD,Status Inovasi,Pengusul,Jenis,Digital,Bidang,Maksud,Hasil,Biaya,Uji Coba,Diterapkan,Vakum Sejak,Pengadopsi\n";
    let rows = rows.replace(",25000000,", ",27500000,");
    std::fs::write(server.path().join("lain.csv"), format!("{header}{rows}")).unwrap();
    std::fs::write(
        server.path().join("peta.toml"),
        "name = \"Judul\"\nopd = \"SKPD\"\nstage = \"Status Inovasi\"\ninitiator = \"Pengusul\"\n\
         form = \"Jenis\"\nsector = \"Bidang\"\ngoal = \"Maksud\"\nbenefit = \"Hasil\"\nbudget = \"Biaya\"\n\
         pilot_started_on = \"Uji Coba\"\nimplemented_on = \"Diterapkan\"\n",
    )
    .unwrap();
    let mapped = import(
        &server.path().join("lain.csv"),
        &["--mapping", "peta.toml", "--apply"],
    );
    assert_eq!(
        (mapped["written"].as_u64(), mapped["unchanged"].as_u64()),
        (Some(1), Some(5)),
        "{mapped}"
    );
    assert_eq!(mapped["rows"][0]["changes"][0], "amended: budget");
    // Without the mapping, what is missing is named, and nothing is sent.
    let unmapped = server
        .jejak(Some(&brida), &["import", "innovations", "lain.csv"])
        .output()
        .unwrap();
    assert_eq!(unmapped.status.code(), Some(2));
    let said = String::from_utf8_lossy(&unmapped.stderr);
    assert!(said.contains("no column for Nama Inovasi (name)"), "{said}");
    assert!(said.contains("--mapping"), "{said}");

    // A roster, by its organizer: enrolled once.
    let organizer = server.token("organizer", "bkpsdm-admin");
    ok(server
        .jejak(Some(&organizer), common::OPEN_PKA_2026_9)
        .output()
        .unwrap());
    let roster = examples().join("roster-pka.csv");
    let enrol = |apply: bool| {
        let mut args = vec![
            "import",
            "roster",
            "pka-2026-9",
            roster.to_str().unwrap(),
            "--json",
        ];
        if apply {
            args.push("--apply");
        }
        json(server.jejak(Some(&organizer), &args).output().unwrap())
    };
    let first = enrol(true);
    assert_eq!(first["written"].as_u64(), Some(2), "{first}");
    assert_eq!(first["rows"][0]["id"], "pka-2026-9/001");
    let second = enrol(true);
    assert_eq!(second["unchanged"].as_u64(), Some(2), "{second}");
    // An enrolment amended by hand, only the field given; the roster,
    // which says otherwise, would amend it back, and its dry run says so.
    let amended = server
        .jejak(
            Some(&organizer),
            &[
                "cohort",
                "amend-enrolment",
                "pka-2026-9",
                "--nip",
                "198512202010121002",
                "--position",
                "Sekretaris Dinas",
            ],
        )
        .output()
        .unwrap();
    assert!(ok(amended).contains("enrolment amended"));
    let nothing = server
        .jejak(
            Some(&organizer),
            &[
                "cohort",
                "amend-enrolment",
                "pka-2026-9",
                "--nip",
                "198512202010121002",
            ],
        )
        .output()
        .unwrap();
    assert_eq!(
        nothing.status.code(),
        Some(2),
        "nothing to amend is a usage error"
    );
    let back = enrol(false);
    assert_eq!(
        back["rows"][1]["changes"],
        serde_json::json!(["amended: position"]),
        "{back}"
    );
    // BRIDA does not import a roster.
    let refused = server
        .jejak(
            Some(&brida),
            &["import", "roster", "pka-2026-9", roster.to_str().unwrap()],
        )
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    server.stop();
}
