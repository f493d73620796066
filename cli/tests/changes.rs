//! The commands of what changes after the fact, against a spawned server:
//! `cohort reassign`, `project change-plan`, `mentor approve-change` /
//! `return-change`, `seminar correct-*`, `innovation amend`, `project
//! replicate`; and `--request-id` on writes (generated and printed with
//! `--json`, the same id sent again changing nothing); what each reads back
//! (`innovation show`, `project status`, `audit activity`).

mod common;

use std::process::Output;

use common::Server;

fn ok(out: Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// Refused (exit 1) with `words` in the reason: the command reached its RPC.
fn refused(out: Output, words: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(words), "'{stderr}' does not say '{words}'");
}

const CODE: &str = "pka-2026-9/001";

#[test]
fn each_change_after_the_fact_has_its_command_and_writes_retry_safely() {
    let server = Server::start();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
    let proposal = examples.join("proposal.toml");
    let organizer = server.token("organizer", "bkpsdm-admin");
    let participant = server.token("participant", "198703152010011003");
    let mentor = server.token("mentor", "kepala-dpmptsp");
    let new_mentor = server.token("mentor", "sekretaris-dpmptsp");
    let examiner = server.token("examiner", "penguji-1");
    let brida = server.token("brida_officer", "brida-1");
    let run = |token: &str, args: &[&str]| server.jejak(Some(token), args).output().unwrap();

    ok(run(
        &organizer,
        &[
            "cohort",
            "open",
            "pka-2026-9",
            "--level",
            "pka",
            "--provider",
            "BPSDM Banten",
            "--year",
            "2026",
            "--number",
            "9",
            "--starts",
            "2026-12-01",
            "--ends",
            "2027-03-31",
        ],
    ));
    let person = [
        "--nip",
        "198703152010011003",
        "--name",
        "Siti Rahmawati",
        "--position",
        "Kepala Bidang Pelayanan",
        "--opd",
        "dpmptsp",
        "--coach",
        "wi-1",
        "--examiner",
        "penguji-1",
    ];
    let enrol: Vec<&str> = [
        "cohort",
        "enrol",
        "pka-2026-9",
        "--mentor",
        "kepala-dpmptsp",
    ]
    .into_iter()
    .chain(person)
    .collect();
    ok(run(&organizer, &enrol));
    ok(run(
        &participant,
        &[
            "project",
            "propose",
            "--cohort",
            "pka-2026-9",
            "--file",
            proposal.to_str().unwrap(),
        ],
    ));

    // A write without --request-id prints the one it generated with --json;
    // sent again with it, nothing changes.
    // The participant is named by NIP alone: she stays as enrolled.
    let reassign: Vec<&str> = [
        "cohort",
        "reassign",
        "pka-2026-9",
        "--nip",
        "198703152010011003",
        "--mentor",
        "sekretaris-dpmptsp",
        "--coach",
        "wi-1",
        "--examiner",
        "penguji-1",
        "--json",
    ]
    .into_iter()
    .collect();
    let first = ok(run(&organizer, &reassign));
    let id = first["request_id"]
        .as_str()
        .expect("a request id")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{first}");
    assert_eq!(first["duplicate"], false);
    let again: Vec<&str> = reassign
        .iter()
        .copied()
        .chain(["--request-id", id.as_str()])
        .collect();
    let second = ok(run(&organizer, &again));
    assert_eq!(
        (&second["request_id"], &second["duplicate"]),
        (&first["request_id"], &serde_json::json!(true))
    );

    // The old mentor is refused; the new one decides.
    refused(run(&mentor, &["mentor", "agree", CODE]), "");
    ok(run(&new_mentor, &["mentor", "agree", CODE]));
    ok(run(&new_mentor, &["mentor", "approve-plan", CODE]));
    ok(run(&examiner, &["seminar", "proposal", CODE, "--accepted"]));
    refused(
        run(&examiner, &["seminar", "proposal", CODE, "--accepted"]),
        "recorded already",
    );
    ok(run(&organizer, &["cohort", "start-phase", CODE]));
    refused(
        run(
            &examiner,
            &[
                "seminar",
                "correct-proposal",
                CODE,
                "--accepted",
                "--reason",
                "salah",
            ],
        ),
        "allowed only while proposed",
    );

    // The participant asks to move m3; the mentor returns, then approves.
    let plan = server.path().join("plan.toml");
    std::fs::write(
        &plan,
        std::fs::read_to_string(&proposal)
            .unwrap()
            .replace("2027-03-15", "2027-03-25"),
    )
    .unwrap();
    let change = [
        "project",
        "change-plan",
        CODE,
        "--file",
        plan.to_str().unwrap(),
        "--reason",
        "Rapat pleno diundur",
    ];
    ok(run(&participant, &change));
    ok(run(
        &new_mentor,
        &["mentor", "return-change", CODE, "--note", "Tetap"],
    ));
    ok(run(&participant, &change));
    ok(run(&new_mentor, &["mentor", "approve-change", CODE]));
    let shown = ok(run(&participant, &["project", "show", CODE, "--json"]));
    assert!(shown.to_string().contains("2027-03-25"), "{shown}");

    // Corrections and replication reach their RPCs (and say why not yet).
    refused(
        run(
            &examiner,
            &[
                "seminar",
                "correct-final",
                CODE,
                "--rate",
                "m1=meets",
                "--rate",
                "m2=meets",
                "--rate",
                "m3=meets",
                "--score",
                "80",
                "--reason",
                "salah",
            ],
        ),
        "not recorded yet",
    );
    refused(
        run(
            &organizer,
            &[
                "seminar",
                "correct-grade",
                CODE,
                "memuaskan",
                "--reason",
                "salah",
            ],
        ),
        "not recorded yet",
    );
    refused(
        run(
            &new_mentor,
            &[
                "project",
                "replicate",
                CODE,
                "--opd",
                "dinsos",
                "--region",
                "Kota Serang",
                "--number",
                "1/PKS",
                "--signed",
                "2027-05-01",
            ],
        ),
        "replication",
    );

    // An innovation's profile is amended.
    ok(run(
        &brida,
        &[
            "innovation",
            "register",
            "inv-1",
            "--name",
            "Antrian daring",
            "--opd",
            "dpmptsp",
            "--source",
            "opd_initiative",
            "--sector",
            "perizinan",
            "--goal",
            "Antri daring",
            "--benefit",
            "Tidak antre",
            "--form",
            "governance",
            "--digital",
            "--sdg",
            "16",
            "--budget",
            "35000000",
        ],
    ));
    // Only what is given changes; the rest stays as it is.
    let amended = ok(run(
        &brida,
        &[
            "innovation",
            "amend",
            "inv-1",
            "--name",
            "Antrian daring perizinan",
            "--legal-basis",
            "Perwal 7/2026",
            "--json",
        ],
    ));
    assert_eq!(amended["events"], serde_json::json!(["ProfileAmended"]));
    let report = server.path().join("register.csv");
    ok(run(
        &brida,
        &["report", "register", "--csv", report.to_str().unwrap()],
    ));
    let mut rows = csv::Reader::from_path(&report).unwrap();
    let header = rows.headers().unwrap().clone();
    let row = rows.records().next().unwrap().unwrap();
    let field = |name: &str| row[header.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(field("Nama Inovasi"), "Antrian daring perizinan");
    assert_eq!(field("Dasar Hukum"), "Perwal 7/2026");
    assert_eq!(field("Anggaran (Rp)"), "35000000");
    assert_eq!(field("SDGs"), "16");
    assert_eq!(field("Bentuk"), "tata kelola pemerintahan daerah");
    assert_eq!(field("Digital"), "digital");
    assert_eq!(field("Urusan"), "perizinan");

    // What each reads back: the innovation's entry, the project's row, and
    // one person's trail.
    let shown = ok(run(&brida, &["innovation", "show", "inv-1", "--json"]));
    assert_eq!(
        (&shown["name"], &shown["sector"]),
        (
            &serde_json::json!("Antrian daring perizinan"),
            &serde_json::json!("perizinan")
        )
    );
    let page = run(&brida, &["innovation", "show", "inv-1", "--lang", "en"]);
    assert!(
        String::from_utf8_lossy(&page.stdout).contains("Antrian daring perizinan"),
        "{page:?}"
    );
    let status = ok(run(&participant, &["project", "status", CODE, "--json"]));
    assert_eq!(status[0]["code"], CODE);
    assert_eq!(status[0]["state"], "piloted");
    let auditor = server.token("auditor", "inspektorat-1");
    let trail = ok(run(
        &auditor,
        &["audit", "activity", "sekretaris-dpmptsp", "--json"],
    ));
    let did: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        did,
        [
            "ChangeAreaAgreed",
            "ActionPlanApproved",
            "PlanChangeReturned",
            "PlanChangeApproved"
        ],
        "{trail}"
    );
    let table = run(&auditor, &["audit", "activity", "sekretaris-dpmptsp"]);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("ActionPlanApproved"),
        "{table:?}"
    );
    // Another person's trail is the auditors' to read.
    refused(
        run(&mentor, &["audit", "activity", "sekretaris-dpmptsp"]),
        "",
    );
    server.stop();
}
