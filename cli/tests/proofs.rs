//! An auditor keeps a signed checkpoint, later proves that the log only
//! grew (over gRPC and offline on a copy), proves an event's inclusion, and
//! verifies an export from the file alone — and tampering with the export
//! is found at its position.

mod common;

use std::process::Command;

use common::{BIN, Server};

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_auditor_keeps_a_checkpoint_and_proves_the_log_only_grew() {
    let server = Server::start();
    let auditor = server.token("auditor", "inspektorat-1");
    let run = |args: &[&str]| server.jejak(Some(&auditor), args).output().unwrap();

    // The key, from the server and from its file, in signed-note form.
    let key: serde_json::Value =
        serde_json::from_str(&stdout(&run(&["audit", "key", "--json"]))).unwrap();
    let vkey = key["verifier_key"].as_str().unwrap().to_owned();
    assert!(vkey.starts_with("jejak.local/log+"), "{vkey}");
    let from_file = stdout(&run(&["audit", "key", "--key-file", "data/seal-key"]));
    assert_eq!(from_file.trim(), vkey);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(server.path().join("data/seal-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let first = server.path().join("first.checkpoint");
    stdout(&run(&[
        "audit",
        "checkpoint",
        "--out",
        first.to_str().unwrap(),
    ]));
    let note = std::fs::read_to_string(&first).unwrap();
    assert!(note.starts_with("jejak.local/log\n"), "{note}");

    // The demo city is written into the same log by another process, sealed
    // with the same key from the data folder.
    stdout(&server.jejak(None, &["demo"]).output().unwrap());

    let said = stdout(&run(&[
        "audit",
        "verify",
        "--checkpoint",
        first.to_str().unwrap(),
        "--vkey",
        &vkey,
    ]));
    assert!(said.contains("consistent"), "{said}");

    let second = server.path().join("second.checkpoint");
    stdout(&run(&[
        "audit",
        "checkpoint",
        "--out",
        second.to_str().unwrap(),
    ]));
    let proof: serde_json::Value = serde_json::from_str(&stdout(&run(&[
        "audit",
        "prove",
        "5",
        "--checkpoint",
        second.to_str().unwrap(),
        "--vkey",
        &vkey,
        "--json",
    ])))
    .unwrap();
    assert_eq!(proof["included"], true, "{proof}");
    assert_eq!(proof["leaf_index"], 4);
    assert!(proof["tree_size"].as_u64().unwrap() > 1_000);
    assert!(!proof["hashes"].as_array().unwrap().is_empty());

    let consistency: serde_json::Value =
        serde_json::from_str(&stdout(&run(&["audit", "consistency", "3", "--json"]))).unwrap();
    assert_eq!(consistency["consistent"], true, "{consistency}");

    // The export carries every hashed field as hashed, and the seals.
    let export = server.path().join("log.jsonl");
    stdout(&run(&[
        "audit",
        "export",
        "--out",
        export.to_str().unwrap(),
    ]));
    let check = |file: &std::path::Path| {
        Command::new(BIN)
            .args([
                "audit",
                "verify-export",
                file.to_str().unwrap(),
                "--checkpoint",
                second.to_str().unwrap(),
                "--vkey",
                &vkey,
            ])
            .output()
            .unwrap()
    };
    let said = stdout(&check(&export));
    assert!(
        said.contains("intact") && said.contains("matching the checkpoint"),
        "{said}"
    );

    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // A payload changed in the file: found at its position.
    let changed = server.path().join("changed.jsonl");
    let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let at = edited
        .iter()
        .position(|l| l.contains("\"position\":100,"))
        .unwrap();
    edited[at] = edited[at].replacen("\"payload\":{", "\"payload\":{\"x\":1,", 1);
    std::fs::write(&changed, edited.join("\n")).unwrap();
    let out = check(&changed);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("position 100"), "{said}");
    // An export in the form written before 1 December 2026 (payload and
    // metadata as JSON strings, prev_hash on every line) still verifies,
    // and a wrong prev_hash on a later line is then found.
    let mut previous = String::new();
    let old_form: Vec<String> = lines
        .iter()
        .map(|line| {
            let mut fields: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
                serde_json::from_str(line).unwrap();
            if fields.contains_key("seal") {
                return (*line).to_owned();
            }
            for (raw, string) in [("payload", "payload_json"), ("metadata", "metadata_json")] {
                let text = fields.remove(raw).unwrap().get().to_owned();
                fields.insert(
                    string.into(),
                    serde_json::value::to_raw_value(&text).unwrap(),
                );
            }
            if !previous.is_empty() {
                fields.insert(
                    "prev_hash".into(),
                    serde_json::value::to_raw_value(&previous).unwrap(),
                );
            }
            previous = serde_json::from_str(fields["hash"].get()).unwrap();
            serde_json::to_string(&fields).unwrap()
        })
        .collect();
    let old = server.path().join("old.jsonl");
    std::fs::write(&old, old_form.join("\n")).unwrap();
    let said = stdout(&check(&old));
    assert!(
        said.contains("intact") && said.contains("matching the checkpoint"),
        "{said}"
    );
    let mut relinked = old_form.clone();
    let at = relinked
        .iter()
        .position(|l| l.contains("\"position\":7,"))
        .unwrap();
    relinked[at] = relinked[at].replacen("\"prev_hash\":\"", "\"prev_hash\":\"00", 1);
    std::fs::write(&old, relinked.join("\n")).unwrap();
    let out = check(&old);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("position 7") && said.contains("previous event's hash"),
        "{said}"
    );

    // An export after a position starts with the hash it links to and
    // verifies alone, seals too; a part cut from a longer export says how
    // to get one that does.
    let part = server.path().join("part.jsonl");
    stdout(&run(&[
        "audit",
        "export",
        "--after",
        "50",
        "--out",
        part.to_str().unwrap(),
    ]));
    let verify_alone = |file: &std::path::Path| {
        Command::new(BIN)
            .args([
                "audit",
                "verify-export",
                file.to_str().unwrap(),
                "--vkey",
                &vkey,
            ])
            .output()
            .unwrap()
    };
    let said = stdout(&verify_alone(&part));
    assert!(
        said.contains("intact") && said.contains("positions 51–"),
        "{said}"
    );
    let from = lines
        .iter()
        .position(|l| l.contains("\"position\":60,"))
        .unwrap();
    let cut_part = server.path().join("cut-part.jsonl");
    std::fs::write(&cut_part, lines[from..].join("\n")).unwrap();
    let out = verify_alone(&cut_part);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("position 60") && said.contains("--after 59"),
        "{said}"
    );

    // The seals cut off after an event: the events after the last seal left are unsealed.
    let cut = server.path().join("cut.jsonl");
    let last_seal = lines
        .iter()
        .rposition(|l| l.starts_with("{\"seal\""))
        .unwrap();
    let kept: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != last_seal)
        .map(|(_, l)| *l)
        .collect();
    std::fs::write(&cut, kept.join("\n")).unwrap();
    let out = Command::new(BIN)
        .args([
            "audit",
            "verify-export",
            cut.to_str().unwrap(),
            "--vkey",
            &vkey,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no valid seal covers"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Offline, on a copy: seals checked with the key, and the checkpoint.
    let dir = server.stop().expect("a folder");
    let db = format!("sqlite://{}", dir.path().join("data/jejak.db").display());
    let offline = |args: &[&str]| {
        Command::new(BIN)
            .arg("audit")
            .arg("--db")
            .arg(&db)
            .args(args)
            .env_remove("JEJAK_SERVER")
            .env_remove("JEJAK_TOKEN")
            .output()
            .unwrap()
    };
    let said = stdout(&offline(&["verify", "--vkey", &vkey]));
    assert!(
        said.contains("intact") && said.contains("sealed to"),
        "{said}"
    );
    let said = stdout(&offline(&[
        "verify",
        "--checkpoint",
        first.to_str().unwrap(),
        "--vkey",
        &vkey,
    ]));
    assert!(said.contains("consistent"), "{said}");
    stdout(&offline(&[
        "prove",
        "7",
        "--checkpoint",
        second.to_str().unwrap(),
        "--vkey",
        &vkey,
    ]));
    // Another deployment's key does not vouch for this log.
    let other = "other.example/log+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let out = offline(&["verify", "--vkey", other]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
