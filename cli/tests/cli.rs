//! The jejak command against a spawned server: the README's tour as
//! written, --json, exit codes, and the offline audit of a copied (and a
//! tampered) database file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, Server};

use assert_cmd::prelude::*;
use sqlx::Connection as _;

fn readme_tour() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let start = readme
        .find("## A five-minute tour")
        .expect("the README has a tour");
    let block = &readme[start..];
    let code = block
        .split("```sh\n")
        .nth(1)
        .expect("a shell block")
        .split("```")
        .next()
        .unwrap();
    code.lines()
        // Built already by cargo; the live watch is tried separately.
        .filter(|l| !l.starts_with("cargo build") && !l.contains("mentor watch &"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn copy_examples(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
    std::fs::create_dir_all(to.join("docs/examples")).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            to.join("docs/examples").join(entry.file_name()),
        )
        .unwrap();
    }
}

fn bin_dir() -> PathBuf {
    PathBuf::from(BIN).parent().unwrap().to_path_buf()
}

#[test]
fn the_readme_tour_runs_as_written_and_an_auditor_verifies_a_copy_offline() {
    let server = Server::start();
    copy_examples(server.path());
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &readme_tour()])
        .current_dir(server.path())
        .env("PATH", path)
        .env("JEJAK_SERVER", &server.url)
        .env_remove("JEJAK_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the tour failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("demo city loaded"), "{stdout}");
    // The demo's 86 and the sample register's six.
    assert!(stdout.contains("92 innovations"), "{stdout}");
    // The sample register: checked, then written, six rows.
    assert!(
        stdout.contains("6 register rows: 6 to write, 0 unchanged, 0 refused; a dry run"),
        "{stdout}"
    );
    assert!(
        stdout.contains("6 register rows: 6 written, 0 unchanged, 0 refused"),
        "{stdout}"
    );
    assert!(stdout.contains("ActionPlanApproved"), "{stdout}");
    // The participant read her mentor's note on her page.
    let note = stdout
        .find("Lanjutkan")
        .expect("the mentor's note on her page");
    assert!(
        note > stdout.find("ActionPlanApproved").unwrap(),
        "{stdout}"
    );
    // The mentor saw the uploaded file in the inbox and opened it.
    assert!(
        stdout.contains(
            "notulen-m1.txt (text/plain, 337 bytes, sha256 c610e00efd917da36d766ecda0113f54b0ffeaf79a73cde730a313555c1ea6d0)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("NOTULEN RAPAT TIM EFEKTIF"), "{stdout}");
    assert!(stdout.contains("intact:"), "{stdout}");

    // --json: stable field names.
    let auditor = server.token("auditor", "inspektorat-1");
    let out = server
        .jejak(Some(&auditor), &["audit", "digest", "--json"])
        .output()
        .unwrap();
    let digest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = digest["digest"].as_str().unwrap().to_owned();
    let head: u64 = digest.split(':').next().unwrap().parse().unwrap();
    assert!(
        head > 1_000,
        "the demo and the tour are in the log: {digest}"
    );
    let mentor = server.token("mentor", "kepala-dpmptsp");
    let out = server
        .jejak(Some(&mentor), &["project", "list", "--json"])
        .output()
        .unwrap();
    let projects: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = projects
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "pka-2026-9/001")
        .expect("the tour's project");
    let project_id = ours["project_id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&project_id).is_ok(), "{ours}");
    assert_eq!(ours["state"], "piloted");
    assert_eq!(ours["milestones"][0]["status"], "submitted");

    // Exit codes: 1 refused, 2 usage, 2 unreachable; one sentence each.
    let participant = server.token("participant", "198703152010011003");
    let refused = server
        .jejak(Some(&participant), &["mentor", "agree", "pka-2026-9/001"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&refused.get_output().stderr).contains("only mentor may"));
    server
        .jejak(
            Some(&participant),
            &[
                "cohort",
                "open",
                "x",
                "--level",
                "pkz",
                "--provider",
                "p",
                "--year",
                "2026",
                "--number",
                "1",
                "--starts",
                "2026-01-01",
                "--ends",
                "2026-02-01",
            ],
        )
        .assert()
        .code(2);
    server
        .jejak(Some(&participant), &["cohort", "open"])
        .assert()
        .code(2);
    let unreachable = server
        .jejak(
            Some(&auditor),
            &["audit", "digest", "--server", "http://127.0.0.1:1"],
        )
        .assert()
        .code(2);
    assert!(
        String::from_utf8_lossy(&unreachable.get_output().stderr).contains("cannot be reached")
    );
    let unauthenticated = server.jejak(None, &["audit", "digest"]).assert().code(1);
    assert!(String::from_utf8_lossy(&unauthenticated.get_output().stderr).contains("JEJAK_TOKEN"));

    // A moment with fractions of a second reaches the server whole: the
    // state at the very microsecond version 2 was recorded is version 2.
    let live = format!("sqlite://{}", server.path().join("data/jejak.db").display());
    let (recorded, ids, personal): (String, Vec<String>, Vec<String>) =
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let mut conn = sqlx::SqliteConnection::connect(&live).await.unwrap();
            let at = sqlx::query_scalar(
                "SELECT recorded_at FROM events WHERE stream_id = ? AND stream_version = 2",
            )
            .bind(format!("change_project-{project_id}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
            // Every id of the demo city and the tour: streams, events,
            // metadata (actor, request, correlation, causation), request records.
            let ids = sqlx::query_scalar(
                "SELECT stream_id || ' ' || event_id || ' ' || metadata FROM events \
                 UNION ALL SELECT request_id || ' ' || stream_id FROM requests",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            // Every payload that names a participant, and every snapshot.
            let personal = sqlx::query_scalar(
                "SELECT payload FROM events WHERE event_type IN \
                 ('ParticipantEnrolled', 'StaffReassigned', 'ProjectProposed') \
                 UNION ALL SELECT state FROM snapshots",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            conn.close().await.unwrap();
            (at, ids, personal)
        });
    // Over the demo city's whole log, every participant is sealed: no
    // payload or snapshot holds a NIP, name or position in plain text (ADR 0022).
    assert!(personal.len() > 50, "the city's enrolments and proposals");
    for text in &personal {
        assert!(
            !text.contains("\"nip\"") && !text.contains("\"position\""),
            "a participant in plain text: {text}"
        );
    }
    assert!(
        personal
            .iter()
            .all(|t| !t.contains("\"enrollment\"") || t.contains("\"sealed\""))
    );
    // No id holds a NIP (nor anything shaped like one): not the tour's
    // participant's, not one of the demo city's.
    assert!(ids.len() > 1_000);
    // (A write's fingerprint, a SHA-256 in hex, is left out: 64 random hex
    // digits hold a run of 18 decimal ones in about one write of 300.)
    for id in &ids {
        assert!(
            !id.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|word| !(word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit())))
                .any(|word| word
                    .as_bytes()
                    .split(|b| !b.is_ascii_digit())
                    .any(|run| run.len() >= 18)),
            "an id holds a NIP: {id}"
        );
    }
    let out = server
        .jejak(
            Some(&auditor),
            &[
                "audit",
                "state-at",
                "pka-2026-9/001",
                "--at",
                &recorded,
                "--json",
            ],
        )
        .output()
        .unwrap();
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state["version"], 2, "at {recorded}");

    // The views match the log, the chain was verified on start, and a
    // consistent copy is taken beside the running server.
    let admin = server.token("admin", "operator-1");
    let checked = server
        .jejak(Some(&admin), &["admin", "check-views"])
        .assert()
        .success();
    let said = String::from_utf8_lossy(&checked.get_output().stdout).into_owned();
    assert_eq!(said.matches("matches the log").count(), 3, "{said}");
    let status = server
        .jejak(Some(&admin), &["admin", "status", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    // It started on an empty log: nothing to verify, nothing recorded.
    assert_eq!(status["verified_position"], 0, "{status}");
    assert_eq!(status["bad_snapshots_ignored"], 0);
    let taken = server.path().join("taken.db");
    let copied = Command::new(BIN)
        .args(["audit", "--db", &live, "copy", taken.to_str().unwrap()])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&copied.get_output().stdout).contains("copied"));

    // The auditor is handed a copy of the database file and works offline.
    let dir = server.stop().expect("a server with a folder of its own");
    let copy = dir.path().join("copy.db");
    std::fs::copy(dir.path().join("data/jejak.db"), &copy).unwrap();
    for suffix in ["-wal", "-shm"] {
        let wal = dir.path().join(format!("data/jejak.db{suffix}"));
        if wal.exists() {
            std::fs::copy(&wal, dir.path().join(format!("copy.db{suffix}"))).unwrap();
        }
    }
    let db = format!("sqlite://{}", copy.display());
    let offline = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("audit")
            .arg("--db")
            .arg(&db)
            .args(args)
            .env_remove("JEJAK_SERVER")
            .env_remove("JEJAK_TOKEN");
        cmd
    };
    let ok = offline(&["verify", "--digest", &digest]).assert().success();
    assert!(String::from_utf8_lossy(&ok.get_output().stdout).contains("intact"));
    let state = offline(&["state-at", "pka-2026-9/001", "--version", "2", "--json"])
        .output()
        .unwrap();
    let state: serde_json::Value = serde_json::from_slice(&state.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&state.stderr)));
    assert_eq!(state["state"]["lifecycle"], "proposed");
    // Offline answers as the server does: no such project, no such version.
    let unknown = offline(&["state-at", "pka-2026-9/099", "--version", "1"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&unknown.get_output().stderr).contains("does not exist"));
    let past = offline(&["state-at", &project_id, "--version", "9999"])
        .assert()
        .code(2);
    assert!(
        String::from_utf8_lossy(&past.get_output().stderr).contains("past the stream's version")
    );
    // The copy taken beside the running server holds the log up to the digest.
    let taken = format!("sqlite://{}", dir.path().join("taken.db").display());
    Command::new(BIN)
        .args(["audit", "--db", &taken, "verify", "--digest", &digest])
        .assert()
        .success();
    let export = dir.path().join("log.jsonl");
    offline(&["export", "--out", export.to_str().unwrap()])
        .assert()
        .success();
    let lines = std::fs::read_to_string(&export).unwrap().lines().count() as u64;
    assert!(
        lines >= head,
        "the export holds every event up to the digest"
    );

    // Someone with database access changes one event; verify names it.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
        sqlx::raw_sql("DROP TRIGGER events_no_update; UPDATE events SET payload = '{\"note\":\"forged\"}' WHERE position = 1200;")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let broken = offline(&["verify", "--digest", &digest]).assert().code(1);
    let said = String::from_utf8_lossy(&broken.get_output().stderr).into_owned();
    assert!(said.contains("position 1200"), "{said}");
}

#[test]
fn bench_prints_every_figure_beside_its_baseline_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = Command::new(BIN)
        .args([
            "bench",
            "--seconds",
            "1",
            "--events",
            "3000",
            "--json-out",
            json.to_str().unwrap(),
        ])
        .env_remove("JEJAK_BENCH_POSTGRES_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("append, 64 writers (group commit)")
            && table.contains("baseline: 1-row INSERT commits"),
        "{table}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let figures = report["figures"].as_array().unwrap();
    assert_eq!(figures.len(), 57, "every measurement of the SQLite run");
    // The scale section: each read and the mixed load at both sizes.
    for read in [
        "statistics, ",
        "first page of projects, ",
        "a mentor's inbox, ",
        "cohort progress, ",
        "mixed load, ",
    ] {
        let sizes = figures
            .iter()
            .filter(|f| f["name"].as_str().unwrap().starts_with(read))
            .inspect(|f| assert!(f["value"].as_f64().unwrap() > 0.0, "{f}"))
            .count();
        assert_eq!(sizes, 2, "{read} at the small and the big log");
    }
    for name in [
        "rebuild every view from zero",
        "peak memory during the rebuild",
        "gRPC end to end, 64 clients",
        "engine direct, 64 clients",
        "server peak memory",
        "comments, 16 clients, no inbox watches",
        "comments, 16 clients, 200 inbox watches open",
    ] {
        let f = figures
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} is measured"));
        assert!(f["value"].as_f64().unwrap() > 0.0, "{f}");
    }
    // Every missed target says what limits it.
    for f in figures.iter().filter(|f| f["pass"] == false) {
        let missed = format!("missed: sqlite {}", f["name"].as_str().unwrap());
        assert!(table.contains(&missed), "{missed} in {table}");
    }
    // The reads, the rebuild and the load stand beside the raw database's
    // read of the same rows, measured in the same run.
    for name in [
        "read the whole log",
        "subscription catch-up",
        "rebuild every view from zero",
        "load a stream of 1,000 events",
    ] {
        let f = figures.iter().find(|f| f["name"] == name).unwrap();
        assert!(
            f["baseline"].as_f64().unwrap() > 0.0 && f["ratio"].is_number(),
            "{f}"
        );
    }
    for name in [
        "baseline: raw read of the log",
        "baseline: raw read of a load's columns of those 1,000 rows",
        "baseline: the export's bytes written to a file",
    ] {
        assert!(figures.iter().any(|f| f["name"] == name), "{name}");
    }
    for f in figures
        .iter()
        .filter(|f| f["name"].as_str().unwrap().starts_with("append"))
    {
        assert!(
            f["value"].as_f64().unwrap() > 0.0
                && f["baseline"].as_f64().unwrap() > 0.0
                && f["ratio"].is_number(),
            "{f}"
        );
        assert!(f["p99_ms"].is_number());
    }
}

/// Evidence by the command (ADR 0026): `project evidence --attach` uploads
/// and submits, `--link --sha256` records a file kept elsewhere, the
/// mentor's inbox shows both, `evidence get` fetches the stored one, and
/// `audit evidence` finds it altered (exit 1).
#[test]
fn evidence_is_attached_linked_fetched_and_audited_by_the_command() {
    let server = Server::start();
    copy_examples(server.path());
    let run = |token: &str, args: &[&str]| {
        let out = server.jejak(Some(token), args).output().unwrap();
        assert!(
            out.status.success(),
            "jejak {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let nip = "198703152010011003";
    let organizer = server.token("organizer", "bkpsdm-admin");
    let participant = server.token("participant", nip);
    let mentor = server.token("mentor", "kepala-dpmptsp");
    let examiner = server.token("examiner", "penguji-1");
    let auditor = server.token("auditor", "inspektorat-1");
    let project = "pka-2026-9/001";
    run(&organizer, common::OPEN_PKA_2026_9);
    run(
        &organizer,
        &[
            "cohort",
            "enrol",
            "pka-2026-9",
            "--nip",
            nip,
            "--name",
            "Siti Rahmawati",
            "--position",
            "Kepala Bidang",
            "--opd",
            "dpmptsp",
            "--mentor",
            "kepala-dpmptsp",
            "--coach",
            "wi-1",
            "--examiner",
            "penguji-1",
        ],
    );
    run(
        &participant,
        &[
            "project",
            "propose",
            "--cohort",
            "pka-2026-9",
            "--file",
            "docs/examples/proposal.toml",
        ],
    );
    run(&mentor, &["mentor", "agree", project]);
    run(&mentor, &["mentor", "approve-plan", project]);
    run(&examiner, &["seminar", "proposal", project, "--accepted"]);
    run(&organizer, &["cohort", "start-phase", project]);

    let notulen = server.path().join("notulen.pdf");
    std::fs::write(&notulen, b"%PDF-1.4 notulen rapat tim efektif").unwrap();
    let hash = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(b"%PDF-1.4 notulen rapat tim efektif"))
    };
    let link_hash = "ab".repeat(32);
    let out = run(
        &participant,
        &[
            "project",
            "evidence",
            project,
            "--milestone",
            "m1",
            "--attach",
            "notulen.pdf",
            "--link",
            "https://arsip.example/daftar-hadir.pdf",
            "--sha256",
            &link_hash,
            "--json",
        ],
    );
    let written: serde_json::Value = serde_json::from_str(&out).unwrap();
    let request_id = written["request_id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&request_id).is_ok(), "{written}");
    assert_eq!(written["events"][0], "EvidenceSubmitted", "{written}");
    // The same request again is answered by its first result.
    let again = run(
        &participant,
        &[
            "project",
            "evidence",
            project,
            "--milestone",
            "m1",
            "--attach",
            "notulen.pdf",
            "--link",
            "https://arsip.example/daftar-hadir.pdf",
            "--sha256",
            &link_hash,
            "--json",
            "--request-id",
            &request_id,
        ],
    );
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["duplicate"], true, "{again}");

    // A type the server does not take is refused (exit 1), naming it.
    std::fs::write(server.path().join("alat.exe"), b"MZ").unwrap();
    let refused = server
        .jejak(
            Some(&participant),
            &[
                "project",
                "evidence",
                project,
                "--milestone",
                "m2",
                "--attach",
                "alat.exe",
            ],
        )
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("application/octet-stream"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let inbox: serde_json::Value =
        serde_json::from_str(&run(&mentor, &["mentor", "inbox", "--json"])).unwrap();
    let item = inbox
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["milestone_id"] == "m1")
        .expect("m1 waits");
    let uri = format!("jejak:sha256/{hash}");
    assert_eq!(item["evidence"][0]["uri"], uri.as_str(), "{item}");
    assert_eq!(item["evidence"][0]["asserted"], false, "{item}");
    assert_eq!(item["evidence"][0]["size"], 34, "{item}");
    assert_eq!(item["evidence"][1]["asserted"], true, "{item}");
    let table = run(&mentor, &["mentor", "inbox"]);
    assert!(
        table.contains(&format!("jejak evidence get {uri}")),
        "{table}"
    );

    run(
        &mentor,
        &[
            "evidence",
            "get",
            &uri,
            "--project",
            project,
            "--out",
            "fetched.pdf",
        ],
    );
    assert_eq!(
        std::fs::read(server.path().join("fetched.pdf")).unwrap(),
        b"%PDF-1.4 notulen rapat tim efektif"
    );

    let audit = run(&auditor, &["audit", "evidence"]);
    assert!(audit.contains("1 intact"), "{audit}");
    let stored = server
        .path()
        .join("data/evidence/sha256")
        .join(&hash[..2])
        .join(&hash);
    std::fs::write(&stored, b"%PDF-1.4 notulen yang diubah").unwrap();
    let out = server
        .jejak(Some(&auditor), &["audit", "evidence", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "altered: exit 1");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["problem"], "altered", "{report}");
    assert_eq!(report["findings"][0]["sha256"], hash.as_str(), "{report}");
    server.stop();
}

/// Runs `jejak ARGS` as `token` and returns its standard output; fails the
/// test on a non-zero exit.
fn run(server: &Server, token: &str, args: &[&str]) -> String {
    let out = server
        .jejak(Some(token), args)
        .env("JEJAK_TIME_ZONE", "Asia/Jakarta")
        .env_remove("JEJAK_LANG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jejak {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn people_read_the_projects_page_in_their_words_with_units_and_a_cohort_wide_start() {
    let server = Server::start();
    copy_examples(server.path());
    let operator = server.token("admin", "operator-1");
    let organizer = server.token("organizer", "bkpsdm-admin");
    let participant = server.token("participant", "198703152010011003");
    let mentor = server.token("mentor", "kepala-dpmptsp");
    let coach = server.token("coach", "wi-1");
    let examiner = server.token("examiner", "penguji-1");

    // The operator keeps the region's units: one by one, and from a file
    // (loading it again changes nothing).
    run(
        &server,
        &operator,
        &[
            "admin",
            "unit",
            "add",
            "dinkes",
            "--name",
            "Dinas Kesehatan",
        ],
    );
    std::fs::write(
        server.path().join("units.toml"),
        "[[unit]]\ncode = \"dpmptsp\"\nname = \"DPMPTSP\"\n\n\
         [[unit]]\ncode = \"pkm-cibeber\"\nname = \"Puskesmas Cibeber\"\nkind = \"puskesmas\"\nparent = \"dinkes\"\n",
    )
    .unwrap();
    let loaded = run(
        &server,
        &operator,
        &["admin", "units", "load", "units.toml"],
    );
    assert!(loaded.contains("2 units added"), "{loaded}");
    let again = run(
        &server,
        &operator,
        &["admin", "units", "load", "units.toml"],
    );
    assert!(again.contains("0 units added, 2 already there"), "{again}");
    // A unit refused midway: the load says what it left behind.
    std::fs::write(
        server.path().join("bad-units.toml"),
        "[[unit]]\ncode = \"dishub\"\nname = \"Dinas Perhubungan\"\n\n\
         [[unit]]\ncode = \"pkm-baru\"\nname = \"Puskesmas Baru\"\nkind = \"puskesmas\"\nparent = \"nope\"\n",
    )
    .unwrap();
    let bad = server
        .jejak(
            Some(&operator),
            &["admin", "units", "load", "bad-units.toml"],
        )
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(
        said.contains("unit 'pkm-baru'") && said.contains("1 units were added"),
        "{said}"
    );
    let listed: serde_json::Value = serde_json::from_str(&run(
        &server,
        &organizer,
        &["admin", "unit", "list", "--kind", "puskesmas", "--json"],
    ))
    .unwrap();
    assert_eq!(listed[0]["code"], "pkm-cibeber");
    assert_eq!(listed[0]["parent"], "dinkes");

    // An enrolment in an OPD the region lacks: refused, the nearest named.
    run(&server, &organizer, common::OPEN_PKA_2026_9);
    let enrol = |opd: &str| {
        server
            .jejak(
                Some(&organizer),
                &[
                    "cohort",
                    "enrol",
                    "pka-2026-9",
                    "--nip",
                    "198703152010011003",
                    "--name",
                    "Siti Rahmawati",
                    "--position",
                    "Kepala Bidang",
                    "--opd",
                    opd,
                    "--mentor",
                    "kepala-dpmptsp",
                    "--coach",
                    "wi-1",
                    "--examiner",
                    "penguji-1",
                ],
            )
            .output()
            .unwrap()
    };
    let typo = enrol("dpmtsp");
    assert_eq!(typo.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&typo.stderr).contains("did you mean dpmptsp"),
        "{}",
        String::from_utf8_lossy(&typo.stderr)
    );
    assert!(enrol("dpmptsp").status.success());

    // The proposal, the mentor's word, the coach's comment, the seminar.
    let code = "pka-2026-9/001";
    run(
        &server,
        &participant,
        &[
            "project",
            "propose",
            "--cohort",
            "pka-2026-9",
            "--file",
            "docs/examples/proposal.toml",
        ],
    );
    run(&server, &mentor, &["mentor", "agree", code]);
    run(
        &server,
        &mentor,
        &["mentor", "approve-plan", code, "--note", "Lanjutkan, Bu"],
    );
    run(
        &server,
        &coach,
        &[
            "project",
            "comment",
            code,
            "Tambahkan indikator waktu tunggu",
        ],
    );
    run(
        &server,
        &examiner,
        &[
            "seminar",
            "proposal",
            code,
            "--accepted",
            "--notes",
            "Layak",
        ],
    );

    // The organizer starts the whole cohort; a retry starts nothing twice.
    let started = run(
        &server,
        &organizer,
        &[
            "cohort",
            "start-phase",
            "pka-2026-9",
            "--all",
            "--request-id",
            "start-1",
        ],
    );
    assert!(started.contains("1 of 1 started"), "{started}");
    assert!(started.contains("dimulai"), "{started}");
    let retried: serde_json::Value = serde_json::from_str(&run(
        &server,
        &organizer,
        &[
            "cohort",
            "start-phase",
            "pka-2026-9",
            "--all",
            "--request-id",
            "start-1",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(retried["started"], 1, "{retried}");

    // The participant reads her page: Indonesian by default, local times.
    let page = run(&server, &participant, &["project", "show", code]);
    for words in [
        "Rancangan",
        "area perubahan: Pelayanan perizinan",
        "tahap: uji coba",
        "tim efektif",
        "Budi Santoso",
        "rencana aksi disetujui: Lanjutkan, Bu",
        "komentar: Tambahkan indikator waktu tunggu",
        "seminar rancangan: diterima",
        "keluaran",
        "WIB",
        "kepala-dpmptsp (mentor)",
    ] {
        assert!(page.contains(words), "{words:?} in:\n{page}");
    }
    // In English on request, the flag or JEJAK_LANG.
    let english = run(
        &server,
        &participant,
        &["project", "show", code, "--lang", "en"],
    );
    for words in [
        "Proposal",
        "stage: pilot",
        "action plan approved: Lanjutkan, Bu",
    ] {
        assert!(english.contains(words), "{words:?} in:\n{english}");
    }
    let by_env = server
        .jejak(Some(&participant), &["project", "show", code])
        .env("JEJAK_LANG", "en")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&by_env.stdout).contains("stage: pilot"));
    // --json: everything, with codes.
    let json: serde_json::Value = serde_json::from_str(&run(
        &server,
        &participant,
        &["project", "show", code, "--json"],
    ))
    .unwrap();
    assert_eq!(json["state"], "piloted");
    assert_eq!(json["state_label"], "uji coba");
    assert_eq!(json["proposal"]["change_area"], "Pelayanan perizinan");
    assert_eq!(json["proposal"]["team"][0]["name"], "Budi Santoso");
    assert!(
        json["milestones"][0]["expected_output"]
            .as_str()
            .is_some_and(|o| !o.is_empty()),
        "{json}"
    );
    let notes = json["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n["kind"] == "action_plan_approved"
            && n["text"] == "Lanjutkan, Bu"
            && n["stamp"]["by"] == "kepala-dpmptsp"
            && n["stamp"]["role"] == "mentor"),
        "{json}"
    );
    assert_eq!(json["proposal_seminars"][0]["accepted"], true);
    assert_eq!(json["proposal_seminars"][0]["notes"], "Layak");
    // Tables use the domain's words too.
    let list = run(&server, &mentor, &["project", "list"]);
    assert!(list.contains("uji coba"), "{list}");
}
