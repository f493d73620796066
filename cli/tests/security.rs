//! The server's files are private whatever the umask, and the token secret
//! never needs the command line.

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_jejak");

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `jejak serve` in `dir` under `umask`, on a free port; returns once it serves.
fn serve(dir: &Path, umask: &str) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("sh")
        .args([
            "-c",
            &format!("umask {umask} && exec \"$0\" serve --listen 127.0.0.1:{port} --web-addr 127.0.0.1:0"),
            BIN,
        ])
        .current_dir(dir)
        .env_remove("JEJAK_DATABASE_URL")
        .env_remove("JEJAK_TOKEN_SECRET")
        .env_remove("JEJAK_TOKEN_SECRET_FILE")
        .env_remove("JEJAK_DATA_DIR")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut served = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        assert!(!line.contains("ERROR"), "the server failed: {line}");
        if line.contains("serving gRPC") {
            served = true;
            break;
        }
    }
    assert!(served, "the server did not start");
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    (child, port)
}

#[test]
fn the_data_folder_log_and_secret_are_private_whatever_the_umask() {
    for umask in ["000", "022"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut child, _) = serve(dir.path(), umask);
        let data = dir.path().join("data");
        let mut modes = vec![(data.clone(), mode(&data))];
        // The log has been written (the shipped workflows): WAL and
        // shared memory exist beside it, and beside the views' file.
        for file in [
            "jwt-secret",
            "jejak.db",
            "jejak.db-wal",
            "jejak.db-shm",
            "jejak-views.db",
            "jejak-views.db-wal",
            "jejak-views.db-shm",
        ] {
            modes.push((data.join(file), mode(&data.join(file))));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            modes
                .iter()
                .map(|(_, m)| format!("{m:o}"))
                .collect::<Vec<_>>(),
            ["700", "600", "600", "600", "600", "600", "600", "600"],
            "umask {umask}: {modes:?}"
        );
    }
}

/// Whatever a `jejak` command writes is its user's alone, under an umask
/// that would share it: the demo's data folder and log, written before any
/// server made them private.
#[test]
fn what_any_command_writes_is_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .args(["-c", "umask 000 && exec \"$0\" demo --data-dir fresh", BIN])
        .current_dir(dir.path())
        .env_remove("JEJAK_SERVER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = dir.path().join("fresh");
    assert_eq!(mode(&data), 0o700);
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), want, "{}", path.display());
    }
}

fn issue(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["token", "issue", "--role", "auditor", "--subject", "insp-1"])
        .args(args)
        .current_dir(dir.path())
        .env_remove("JEJAK_TOKEN_SECRET")
        .env_remove("JEJAK_TOKEN_SECRET_FILE");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn the_token_secret_comes_from_a_file_or_the_environment_and_a_flag_is_warned_of() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "a-secret-of-at-least-32-bytes-for-the-tests";
    let file = dir.path().join("secret");
    std::fs::write(&file, secret).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let file = file.to_str().unwrap();

    let quiet = |out: &std::process::Output| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("warning"), "{stderr}");
        assert!(stderr.contains("token id (jti):"), "{stderr}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .split('.')
                .count(),
            3
        );
    };
    quiet(&issue(&["--token-secret-file", file], &[]));
    quiet(&issue(&[], &[("JEJAK_TOKEN_SECRET_FILE", file)]));
    quiet(&issue(&[], &[("JEJAK_TOKEN_SECRET", secret)]));

    let flagged = issue(&["--token-secret", secret], &[]);
    let stderr = String::from_utf8_lossy(&flagged.stderr);
    assert!(
        stderr.contains("warning: --token-secret puts the secret on the command line"),
        "{stderr}"
    );

    // A secret file others may read is used, with a warning.
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = issue(&["--token-secret-file", file], &[]);
    assert!(String::from_utf8_lossy(&loose.stderr).contains("may be read by others"));
}

#[test]
fn an_operator_revokes_a_token_with_jejak_admin_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = serve(dir.path(), "077");
    let jejak = |token: &str, args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env("JEJAK_SERVER", format!("http://127.0.0.1:{port}"))
            .env("JEJAK_TOKEN", token)
            .env_remove("JEJAK_TOKEN_SECRET")
            .env_remove("JEJAK_TOKEN_SECRET_FILE")
            .output()
            .unwrap()
    };
    let issue = |role: &str, subject: &str| {
        let out = jejak(
            "",
            &["token", "issue", "--role", role, "--subject", subject],
        );
        assert!(out.status.success());
        let stderr = String::from_utf8(out.stderr).unwrap();
        let id = stderr
            .lines()
            .find_map(|l| l.strip_prefix("token id (jti): "))
            .expect("the token's id")
            .trim()
            .to_owned();
        (String::from_utf8(out.stdout).unwrap().trim().to_owned(), id)
    };
    let (admin, _) = issue("admin", "ops-1");
    let (auditor, id) = issue("auditor", "insp-1");
    assert!(jejak(&auditor, &["audit", "digest"]).status.success());
    let revoked = jejak(
        &admin,
        &[
            "admin",
            "revoke",
            "--token-id",
            &id,
            "--reason",
            "laptop stolen",
        ],
    );
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let refused = jejak(&auditor, &["audit", "digest"]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("revoked"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn token_issue_link_prints_a_one_time_sign_in_link_to_the_portal() {
    let out = issue(&["--link"], &[("JEJAK_WEB_ADDR", "127.0.0.1:18080")]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stdout
            .trim()
            .starts_with("http://127.0.0.1:18080/masuk?kode=ey"),
        "{stdout}"
    );
    assert!(stderr.contains("link id (jti): "), "{stderr}");
    // The address people open, when given.
    let out = issue(
        &["--link", "--web-url", "https://jejak.cilegon.example/"],
        &[],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout
            .trim()
            .starts_with("https://jejak.cilegon.example/masuk?kode="),
        "{stdout}"
    );
}
