//! The city's reports as spreadsheets (`jejak report`): the register with
//! a sheet per OPD and a summary, the yearly IID list, a cohort's recap;
//! read back with `calamine`, they say what the views say, and they are
//! the owner's alone (0600).

mod common;

use calamine::{Data, Reader as _, Xlsx, open_workbook};
use common::Server;

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        other => other.to_string(),
    }
}

#[cfg(unix)]
fn assert_private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{} is {mode:o}", path.display());
}

#[test]
fn reports_are_spreadsheets_that_say_what_the_views_say() {
    let server = Server::start();
    let demo = stdout(&server.jejak(None, &["demo"]).output().unwrap());
    let brida = server.token("brida_officer", "brida-1");
    let run =
        |token: &str, args: &[&str]| stdout(&server.jejak(Some(token), args).output().unwrap());
    // Another process wrote the demo: wait until the server's views have
    // applied the log up to where the demo left it.
    let head: u64 = demo
        .split("the log is at ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("the demo names the log's head: {demo}"));
    let operator = server.token("admin", "operator-1");
    let started = std::time::Instant::now();
    loop {
        let status: serde_json::Value =
            serde_json::from_str(&run(&operator, &["admin", "status", "--json"])).unwrap();
        let views = status["views"].as_array().unwrap();
        if views.iter().all(|v| v["position"].as_u64() >= Some(head)) {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the views did not reach {head}: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let stats: serde_json::Value =
        serde_json::from_str(&run(&brida, &["innovation", "stats", "--json"])).unwrap();
    let total = stats["total"].as_u64().unwrap();
    assert!(total > 50, "{stats}");

    // The register: a summary, every innovation, and one sheet per OPD.
    let said = run(&brida, &["report", "register", "--xlsx", "register.xlsx"]);
    assert!(said.contains(&format!("{total} rows")), "{said}");
    let path = server.path().join("register.xlsx");
    #[cfg(unix)]
    assert_private(&path);
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let names = book.sheet_names();
    assert_eq!(names[0], "Ringkasan");
    assert_eq!(names[1], "Semua");
    let summary = book.worksheet_range("Ringkasan").unwrap();
    let first = summary.rows().nth(1).unwrap();
    assert_eq!(text(&first[0]), "Inovasi seluruhnya");
    assert_eq!(text(&first[1]), total.to_string());
    let all = book.worksheet_range("Semua").unwrap();
    assert_eq!(text(&all.rows().next().unwrap()[0]), "Nama Inovasi");
    assert_eq!(
        all.rows().count() as u64,
        total + 1,
        "a header and a row each"
    );
    let per_opd: u64 = names[2..]
        .iter()
        .map(|n| book.worksheet_range(n).unwrap().rows().count() as u64 - 1)
        .sum();
    assert_eq!(per_opd, total, "the OPD sheets hold every innovation once");
    // Stages in Indonesian, as the summary counts them.
    let stage_rows = summary
        .rows()
        .filter(|r| text(&r[0]).starts_with("Tahapan: "))
        .count();
    assert!(stage_rows >= 3, "{stage_rows}");
    assert!(all.rows().skip(1).all(|r| {
        ["inisiatif", "uji coba", "penerapan", "replikasi", "vakum"].contains(&text(&r[3]).as_str())
    }));

    // The IID list of a year: stages in the index's three words.
    run(
        &brida,
        &["report", "iid", "--year", "2026", "--csv", "iid.csv"],
    );
    let iid = server.path().join("iid.csv");
    #[cfg(unix)]
    assert_private(&iid);
    let mut rows = csv::Reader::from_path(&iid).unwrap();
    let stages: Vec<String> = rows.records().map(|r| r.unwrap()[2].to_owned()).collect();
    assert_eq!(
        stages.len() as u64,
        total,
        "the demo's innovations are of this year"
    );
    assert!(
        stages
            .iter()
            .all(|s| ["inisiatif", "uji coba", "penerapan"].contains(&s.as_str())),
        "{stages:?}"
    );
    // A year before any was registered: a header alone.
    run(
        &brida,
        &["report", "iid", "--year", "2019", "--csv", "iid-2019.csv"],
    );
    let old = std::fs::read_to_string(server.path().join("iid-2019.csv")).unwrap();
    assert_eq!(old.lines().count(), 1, "{old}");

    // A cohort's recap: a row per project, grades as the predikat.
    let organizer = server.token("organizer", "bkpsdm-admin");
    let projects: serde_json::Value = serde_json::from_str(&run(
        &organizer,
        &["project", "list", "--cohort", "pka-2025-1", "--json"],
    ))
    .unwrap();
    let projects = projects.as_array().unwrap();
    run(
        &organizer,
        &["report", "cohort", "pka-2025-1", "--xlsx", "cohort.xlsx"],
    );
    let mut book: Xlsx<_> = open_workbook(server.path().join("cohort.xlsx")).unwrap();
    let recap = book.worksheet_range("Rekap pka-2025-1").unwrap();
    assert_eq!(recap.rows().count(), projects.len() + 1);
    let graded = recap
        .rows()
        .skip(1)
        .filter(|r| text(&r[9]).ends_with("memuaskan"))
        .count();
    let with_grade = projects
        .iter()
        .filter(|p| p["grade"].as_str().is_some_and(|g| !g.is_empty()))
        .count();
    assert_eq!(graded, with_grade);

    // Refused with what to do: no destination; a cohort nobody may read;
    // a reader who may not read the register.
    let none = server
        .jejak(Some(&brida), &["report", "register"])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
    let unknown = server
        .jejak(
            Some(&organizer),
            &["report", "cohort", "nope", "--csv", "x.csv"],
        )
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("jejak cohort list"));
    let mentor = server.token("mentor", "kepala-dpmptsp");
    let refused = server
        .jejak(Some(&mentor), &["report", "register", "--csv", "r.csv"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        !server.path().join("r.csv").exists(),
        "nothing half-written"
    );
    server.stop();
}
