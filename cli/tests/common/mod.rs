//! A `jejak serve` process for the command's tests and trials.

#![allow(dead_code)]

pub mod postgres;
pub mod trial;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_jejak");

/// `jejak cohort open` of the README's cohort, pka-2026-9.
pub const OPEN_PKA_2026_9: &[&str] = &[
    "cohort",
    "open",
    "pka-2026-9",
    "--level",
    "pka",
    "--provider",
    "BPSDM Provinsi Banten",
    "--year",
    "2026",
    "--number",
    "9",
    "--starts",
    "2026-12-01",
    "--ends",
    "2027-03-31",
];

pub struct Server {
    child: Child,
    pub url: String,
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl Server {
    /// `jejak serve` in a fresh folder on a free port; returns once it serves.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let mut server = Self::start_in(&path);
        server.dir = Some(dir);
        server
    }

    /// `jejak serve` in `path` (its data folder is `path/data`).
    pub fn start_in(path: &Path) -> Self {
        Self::start_on(path, None)
    }

    /// `jejak serve` in `path` on the log at `database_url` (default: the
    /// SQLite file in `path/data`).
    pub fn start_on(path: &Path, database_url: Option<&str>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            // The portal on a free port of its own, never the default one.
            .args(["--web-addr", "127.0.0.1:0"])
            .current_dir(path)
            .env_remove("JEJAK_DATABASE_URL")
            .envs(database_url.map(|url| ("JEJAK_DATABASE_URL", url)))
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            assert!(!line.contains("ERROR"), "the server failed: {line}");
            if line.contains("serving gRPC") {
                break;
            }
        }
        // Keep draining the server's log so it never blocks on a full pipe;
        // JEJAK_TRIAL_LOG=1 shows it.
        let show = std::env::var_os("JEJAK_TRIAL_LOG").is_some();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if show {
                    eprintln!("server: {line}");
                }
            }
        });
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir: None,
            path: path.to_path_buf(),
        }
    }

    /// The server's resident memory now, in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        status_kib(self.child.id(), "VmRSS:")
    }

    /// The server's peak resident memory so far, in KiB (Linux).
    pub fn peak_rss_kib(&self) -> u64 {
        status_kib(self.child.id(), "VmHWM:")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `jejak ARGS` as a client of this server, in its folder.
    pub fn jejak(&self, token: Option<&str>, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.path())
            .env("JEJAK_SERVER", &self.url);
        match token {
            Some(token) => cmd.env("JEJAK_TOKEN", token),
            None => cmd.env_remove("JEJAK_TOKEN"),
        };
        cmd
    }

    /// A token for `subject` in `role`; a participant's `subject` is their
    /// NIP (the token names it, the server maps it to their person id).
    pub fn token(&self, role: &str, subject: &str) -> String {
        let by = if role == "participant" {
            "--nip"
        } else {
            "--subject"
        };
        let out = self
            .jejak(None, &["token", "issue", "--role", role, by, subject])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Stops the server with SIGTERM and waits for a clean exit; returns
    /// the folder of a server made by [`Server::start`].
    pub fn stop(mut self) -> Option<tempfile::TempDir> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(
            exit.success(),
            "the server stopped cleanly on SIGTERM: {exit:?}"
        );
        self.dir.take()
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
