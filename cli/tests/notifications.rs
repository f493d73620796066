//! `jejak me contact` and `jejak admin outbox` against a real `jejak serve`
//! (ADR 0032): a mentor keeps their own contact; an operator reads the
//! outbox and its numbers in `admin status`.

mod common;

use common::Server;

fn run(server: &Server, token: &str, args: &[&str]) -> std::process::Output {
    server.jejak(Some(token), args).output().unwrap()
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_mentor_keeps_a_contact_and_an_operator_reads_the_outbox() {
    let server = Server::start();
    let mentor = server.token("mentor", "mentor-1");
    let admin = server.token("admin", "ops-1");
    let shown = ok(run(&server, &mentor, &["me", "contact", "show"]));
    assert!(shown.contains("no contact set"), "{shown}");
    let set = ok(run(
        &server,
        &mentor,
        &[
            "me",
            "contact",
            "set",
            "--email",
            "mentor@dpmptsp.cilegonkota.go.id",
            "--immediate",
            "--opt-out",
            "weekly-summary",
        ],
    ));
    assert!(set.contains("each item at once"), "{set}");
    // What is not given stays as it was.
    ok(run(
        &server,
        &mentor,
        &["me", "contact", "set", "--whatsapp", "0812 3456 7890"],
    ));
    let json: serde_json::Value = serde_json::from_str(&ok(run(
        &server,
        &mentor,
        &["me", "contact", "show", "--json"],
    )))
    .unwrap();
    assert_eq!(json["email"], "mentor@dpmptsp.cilegonkota.go.id");
    assert_eq!(json["whatsapp"], "+6281234567890");
    assert_eq!(json["digest"], false);
    assert_eq!(json["opt_out"], serde_json::json!(["weekly_summary"]));
    assert_eq!(json["lang"], "id");
    // In English from now on; the rest as it was.
    let english = ok(run(
        &server,
        &mentor,
        &["me", "contact", "set", "--lang", "en"],
    ));
    assert!(english.contains("English"), "{english}");
    assert!(english.contains("+6281234567890"), "{english}");
    let bad = run(
        &server,
        &mentor,
        &["me", "contact", "set", "--email", "not an address"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid email"));
    assert!(ok(run(&server, &mentor, &["me", "contact", "clear"])).contains("deleted"));

    let status = ok(run(&server, &admin, &["admin", "status"]));
    assert!(status.contains("outbox: 0 pending"), "{status}");
    let listed: serde_json::Value = serde_json::from_str(&ok(run(
        &server,
        &admin,
        &["admin", "outbox", "list", "--failed", "--json"],
    )))
    .unwrap();
    assert_eq!(listed["messages"], serde_json::json!([]));
    assert_eq!(listed["summary"]["failed"], 0);
    let unknown = run(
        &server,
        &admin,
        &[
            "admin",
            "outbox",
            "retry",
            "0193a0b2-0000-7000-8000-000000000000",
        ],
    );
    assert_eq!(unknown.status.code(), Some(1));
    let dismissed = run(
        &server,
        &admin,
        &[
            "admin",
            "outbox",
            "dismiss",
            "0193a0b2-0000-7000-8000-000000000000",
            "--reason",
            "alamat lama",
        ],
    );
    assert_eq!(dismissed.status.code(), Some(1), "an unknown message");
    assert!(String::from_utf8_lossy(&dismissed.stderr).contains("does not exist"));
    let refused = run(&server, &mentor, &["admin", "outbox", "list"]);
    assert_eq!(refused.status.code(), Some(1));
    server.stop();
}
