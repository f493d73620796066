//! Trials: a SQLite log on a full disk and on a read-only file system. The
//! server says clearly why a write failed, stays up for reads, and loses
//! nothing; once there is room again, writes go on by themselves.
//!
//! Each trial mounts a small file system of its own (tmpfs), which needs
//! root; elsewhere it says so and does not run (under `CI=true` it must).

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::Server;
use common::trial::{Load, channel, check, innovation};
use jejak_proto::v1 as pb;
use tonic::Code;

/// A tmpfs of `size` mounted on a fresh folder; unmounted on drop.
struct SmallDisk {
    _dir: tempfile::TempDir,
    mount: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path().join("disk");
        std::fs::create_dir(&mount).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .output()
            .unwrap();
        if !out.status.success() {
            let why = format!(
                "cannot mount a small file system here (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("skipped: {why}");
            return None;
        }
        Some(Self { _dir: dir, mount })
    }

    fn path(&self) -> &Path {
        &self.mount
    }

    fn remount(&self, mode: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.mount)
            .status()
            .unwrap();
        assert!(status.success(), "remount {mode}");
    }

    /// Fills what is left of the disk with a ballast file.
    fn fill(&self) -> PathBuf {
        let ballast = self.mount.join("ballast");
        let mut file = std::fs::File::create(&ballast).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while file
            .write_all(&chunk)
            .and_then(|()| file.sync_all())
            .is_ok()
        {}
        ballast
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

async fn register(server: &Server, token: &str, id: &str) -> Result<u64, tonic::Status> {
    let mut innovations =
        pb::innovations_client::InnovationsClient::new(channel(&server.url, token));
    Ok(innovations
        .register_innovation(innovation(id))
        .await?
        .into_inner()
        .position)
}

/// Reads that every role relies on still work: the register (holding at
/// least `expect_innovations`, once it has applied `min_position`) and the
/// log's verification.
async fn reads_work(server: &Server, expect_innovations: usize, min_position: u64) {
    let brida = server.token("brida_officer", "brida-1");
    let auditor = server.token("auditor", "inspektorat-1");
    let mut innovations =
        pb::innovations_client::InnovationsClient::new(channel(&server.url, &brida));
    let listed = innovations
        .list_innovations(pb::ListInnovationsRequest {
            page: Some(pb::PageRequest {
                page_size: 500,
                page_token: String::new(),
            }),
            min_position,
            ..Default::default()
        })
        .await
        .expect("the register can be read")
        .into_inner();
    assert!(listed.innovations.len() >= expect_innovations);
    let mut audit = pb::audit_client::AuditClient::new(channel(&server.url, &auditor));
    let verified = audit
        .verify(pb::VerifyRequest::default())
        .await
        .expect("the log can be verified")
        .into_inner();
    assert!(verified.intact, "{}", verified.message);
}

#[test]
fn a_full_disk_refuses_writes_clearly_and_they_resume_when_there_is_room() {
    let Some(disk) = SmallDisk::mount("16m") else {
        return;
    };
    let server = Server::start_in(disk.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let brida = server.token("brida_officer", "brida-1");
    let seen = runtime.block_on(async {
        let mut load = Load::start(&server.url, &brida, "disk", 4);
        let first = load.next_success().await;
        // The register holds it before the disk fills (the views cannot
        // write on a full disk either; they serve what they hold).
        reads_work(&server, 1, first).await;
        let ballast = disk.fill();
        // The disk is full: writes fail, each with UNAVAILABLE saying why.
        let code = tokio::time::timeout(Duration::from_secs(120), load.next_failure())
            .await
            .expect("a write fails on the full disk");
        assert_eq!(code, Code::Unavailable);
        // A refused write may free a little room, so another may fit: write
        // until one is refused, and read why.
        let mut refused = None;
        for n in 0..1_000 {
            if let Err(status) = register(&server, &brida, &format!("on-a-full-disk-{n}")).await {
                refused = Some(status);
                break;
            }
        }
        let refused = refused.expect("writes are refused on the full disk");
        assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
        assert!(
            refused.message().contains("disk is full"),
            "the error says why: {}",
            refused.message()
        );
        reads_work(&server, 1, 0).await;

        std::fs::remove_file(ballast).unwrap();
        tokio::time::timeout(Duration::from_secs(60), load.next_success())
            .await
            .expect("writes go on once there is room");
        load.stop().await
    });
    seen.assert_only_unavailable();
    runtime.block_on(check(&server, &seen.acked));
}

#[test]
fn a_read_only_log_is_served_for_reading_and_refuses_writes_clearly() {
    let Some(disk) = SmallDisk::mount("64m") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = Server::start_in(disk.path());
    let brida = server.token("brida_officer", "brida-1");
    let written: Vec<u64> = runtime.block_on(async {
        let mut positions = Vec::new();
        for n in 0..5 {
            positions.push(register(&server, &brida, &format!("ro-{n}")).await.unwrap());
        }
        positions
    });
    // The views hold every write before the file system turns read-only.
    runtime.block_on(reads_work(
        &server,
        written.len(),
        written[written.len() - 1],
    ));
    server.stop();

    disk.remount("ro");
    let server = Server::start_in(disk.path());
    runtime.block_on(async {
        reads_work(&server, written.len(), 0).await;
        let refused = register(&server, &brida, "on-a-read-only-disk")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
        assert!(
            refused.message().contains("read-only"),
            "the error says why: {}",
            refused.message()
        );
        // Still serving after the refusal.
        reads_work(&server, written.len(), 0).await;
    });
    drop(server);
    disk.remount("rw");
}
