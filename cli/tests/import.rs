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
