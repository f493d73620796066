//! Auditors: history, past states, verification, digests, export, follow —
//! over gRPC, or offline on a database (`--db`) with no server at all.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use jejak_engine::domain::Aggregate;
use jejak_engine::domain::change_project::ChangeProject;
use jejak_engine::domain::cohort::Cohort;
use jejak_engine::domain::innovation::Innovation;
use jejak_engine::engine::{Engine, stream_of};
use jejak_engine::store::{Digest, EventStore, SealKey, StoreConfig, StreamId};
use jejak_proto::v1 as pb;
use tokio_stream::StreamExt as _;

use super::proofs;
use crate::client::{Connection, Failure, Outcome, print_json, table, time};

/// Auditors: read, replay, verify. Add --db to work on a database directly.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Work offline on this database (sqlite://FILE or postgres://…), read-only, with no server.
    #[arg(long, global = true)]
    pub db: Option<String>,
    /// With --db: the deployment's seal key file (DATA_DIR/seal-key), to sign checkpoints offline.
    #[arg(long, global = true)]
    pub key_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Every event of one stream: who did what and when.
    History {
        /// The stream, e.g. cohort-pka-2026-1 or change_project-0193…; a
        /// change project also by its code, e.g. pka-2026-1/001.
        stream: String,
    },
    /// A project's, innovation's or cohort's state at a version or a moment.
    StateAt {
        /// change_project, innovation or cohort.
        #[arg(long, default_value = "change_project")]
        kind: String,
        /// Its id (a change project's also by its code, e.g. pka-2026-1/001).
        id: String,
        /// The stream version.
        #[arg(long, conflicts_with = "at")]
        version: Option<u64>,
        /// The moment, RFC 3339 (e.g. 2026-03-01T00:00:00Z).
        #[arg(long)]
        at: Option<String>,
        /// With --at: what had happened by then (each fact's effective
        /// time, for a history written after the fact), instead of what
        /// the log had recorded by then.
        #[arg(long, requires = "at")]
        effective: bool,
    },
    /// Verifies the hash chain, and against a digest you kept.
    Verify {
        /// First position.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Last position (default: the head).
        #[arg(long)]
        to: Option<u64>,
        /// A digest kept earlier, POSITION:HASH.
        #[arg(long)]
        digest: Option<String>,
        /// A checkpoint kept earlier (`audit checkpoint --out FILE`): check that the log
        /// extends it by its signature and a consistency proof, without walking the log.
        #[arg(long, requires = "vkey")]
        checkpoint: Option<PathBuf>,
        /// The deployment's verifier key (NAME+ID+BASE64, as `audit key` prints it, or a
        /// file holding it): seals are checked with it.
        #[arg(long)]
        vkey: Option<String>,
    },
    /// The deployment's verifier key, in signed-note form: keep it to check seals and checkpoints.
    Key,
    /// The current signed checkpoint (C2SP tlog-checkpoint): keep it to prove later that
    /// the log only grew.
    Checkpoint {
        /// Save it to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The RFC 9162 inclusion proof of the event at POSITION in a kept checkpoint's tree.
    Prove {
        /// The event's position.
        position: u64,
        /// The checkpoint file.
        #[arg(long)]
        checkpoint: PathBuf,
        /// The verifier key, to check the checkpoint's signature.
        #[arg(long)]
        vkey: Option<String>,
    },
    /// The RFC 9162 consistency proof between two tree sizes.
    Consistency {
        /// The older size.
        old: u64,
        /// The newer size (default: the log's).
        new: Option<u64>,
    },
    /// Recomputes chain, seals and Merkle tree from an export file alone.
    VerifyExport {
        /// The JSON Lines export (`audit export --out FILE`).
        file: PathBuf,
        /// A checkpoint the export must match (needs --vkey).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The verifier key: seals are checked with it.
        #[arg(long)]
        vkey: Option<String>,
    },
    /// The current digest, POSITION:HASH: keep it to prove later that nothing was rewritten.
    Digest,
    /// Exports the log as JSON Lines: redacted (participants' personal
    /// fields stay sealed, as stored), and it verifies.
    Export {
        /// Write to this file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only events after this position.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// A full export, for auditors, with the reason recorded in the log:
        /// each event that seals personal fields also carries them opened
        /// (`opened_json`). Over the server only.
        #[arg(long, value_name = "REASON")]
        full: Option<String>,
    },
    /// Re-hashes every evidence file the server stored against the log and
    /// lists the missing and altered ones (exit 1 when any); over gRPC.
    Evidence,
    /// Writes a consistent copy of a SQLite log (with --db), safe beside a running server.
    Copy {
        /// The new file to write (it must not exist).
        out: PathBuf,
    },
    /// What one person did, oldest first: every write they made, with
    /// when, in which role and on which stream (yours without being an
    /// auditor; anyone's as one).
    Activity {
        /// The person: a staff user id (mentor-1), a participant's person id or NIP.
        actor: String,
        /// Only after this log position.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many entries (0: all).
        #[arg(long, default_value_t = 0)]
        limit: u32,
    },
    /// Follows the log live.
    Follow {
        /// Start after this position.
        #[arg(long, default_value_t = 0)]
        after: u64,
    },
}

fn line(e: &pb::Event) -> serde_json::Value {
    serde_json::json!({
        "position": e.position, "event_id": e.event_id, "stream_id": e.stream_id, "stream_type": e.stream_type,
        "stream_version": e.stream_version, "event_type": e.event_type, "event_version": e.event_version,
        "payload_json": e.payload_json, "metadata_json": e.metadata_json, "recorded_at": time(e.recorded_at.as_ref()),
        "prev_hash": e.prev_hash, "hash": e.hash,
    })
}

/// A snapshot `verify` found not matching the log.
#[derive(serde::Serialize)]
struct BadSnapshotLine {
    stream_id: String,
    stream_version: u64,
    position: u64,
    reason: String,
}

/// A new (or emptied) file only its owner may read.
fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

fn progress(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

async fn offline(
    url: &str,
    key_file: Option<&std::path::Path>,
    vkey: Option<&str>,
) -> Result<Engine, Failure> {
    let seal_key = key_file
        .map(|path| {
            std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))
                .and_then(|text| {
                    SealKey::parse(&text)
                        .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))
                })
        })
        .transpose()?;
    let config = StoreConfig {
        read_only: true,
        seal_key,
        verifier_key: vkey.map(proofs::vkey).transpose()?,
        ..StoreConfig::default()
    };
    let store = EventStore::open(url, config)
        .await
        .map_err(|e| Failure::Usage(format!("cannot open {url}: {e}")))?;
    Engine::open(store)
        .await
        .map_err(|e| Failure::Usage(format!("cannot read {url}: {e}")))
}

fn history_out(c: &Connection, events: &[pb::Event]) {
    if c.json {
        print_json(&serde_json::json!(
            events.iter().map(line).collect::<Vec<_>>()
        ));
        return;
    }
    let rows = events.iter().map(|e| {
        let metadata: serde_json::Value =
            serde_json::from_str(&e.metadata_json).unwrap_or_default();
        let who = format!(
            "{} ({})",
            metadata["actor_id"].as_str().unwrap_or("-"),
            metadata["actor_role"].as_str().unwrap_or("-")
        );
        vec![
            e.position.to_string(),
            e.stream_version.to_string(),
            crate::client::local_time(e.recorded_at.as_ref()),
            who,
            e.event_type.clone(),
        ]
    });
    say!(
        "{}",
        table(&["position", "version", "recorded at", "who", "what"], rows)
    );
}

async fn state_offline<A: Aggregate>(
    engine: &Engine,
    id: &str,
    version: Option<u64>,
    at: Option<chrono::DateTime<chrono::Utc>>,
    effective: bool,
) -> Result<(StreamId, u64, serde_json::Value), Failure> {
    let resolved;
    let id = if A::KIND == ChangeProject::KIND {
        resolved = engine
            .project_id(id)
            .await
            .map_err(|e| Failure::Refused(e.to_string()))?;
        resolved.as_str()
    } else {
        id
    };
    let stream = stream_of::<A>(id).map_err(|e| Failure::Usage(e.to_string()))?;
    // Answers as the server does: an unknown stream or a version past its
    // head is refused, not shown as an empty state.
    let current = engine
        .store()
        .stream_version(&stream)
        .await
        .map_err(|e| Failure::Refused(e.to_string()))?
        .unwrap_or(0);
    if current == 0 {
        return Err(Failure::Refused(format!(
            "{} {id} does not exist",
            A::LABEL
        )));
    }
    let (state, version) = match (version, at) {
        (Some(0), _) => {
            return Err(Failure::Usage(
                "--version: stream versions start at 1".into(),
            ));
        }
        (Some(v), _) if v > current => {
            return Err(Failure::Usage(format!(
                "--version: {v} is past the stream's version {current}"
            )));
        }
        (Some(v), _) => (
            engine
                .state_at_version::<A>(&stream, v)
                .await
                .map_err(|e| Failure::Refused(e.to_string()))?,
            v,
        ),
        (None, Some(at)) if effective => engine
            .state_at_effective_time::<A>(&stream, at)
            .await
            .map_err(|e| Failure::Refused(e.to_string()))?,
        (None, Some(at)) => engine
            .state_at_time::<A>(&stream, at)
            .await
            .map_err(|e| Failure::Refused(e.to_string()))?,
        (None, None) => return Err(Failure::Usage("give --version N or --at MOMENT".into())),
    };
    Ok((
        stream,
        version,
        serde_json::to_value(state).unwrap_or_default(),
    ))
}

pub async fn run(c: &Connection, args: AuditArgs) -> Outcome {
    let vkey_arg = match &args.command {
        AuditCommand::Verify { vkey, .. } => vkey.clone(),
        _ => None,
    };
    let engine = match &args.db {
        Some(url) => Some(offline(url, args.key_file.as_deref(), vkey_arg.as_deref()).await?),
        None => None,
    };
    let store = engine.as_ref().map(Engine::store);
    match args.command {
        AuditCommand::History { stream } => {
            let events = match &engine {
                Some(engine) => {
                    let stream = engine
                        .stream_named(&stream)
                        .await
                        .map_err(|e| Failure::Refused(e.to_string()))?;
                    engine
                        .store()
                        .read_stream_to_end(&stream)
                        .await
                        .map_err(|e| Failure::Refused(e.to_string()))?
                        .into_iter()
                        .map(jejak_server::event_to_wire)
                        .collect()
                }
                None => {
                    let mut events = Vec::new();
                    let mut from = 1;
                    loop {
                        let page = c
                            .audit()?
                            .read_stream(pb::ReadStreamRequest {
                                stream_id: stream.clone(),
                                from_version: from,
                                limit: 500,
                            })
                            .await?
                            .into_inner();
                        let n = page.events.len();
                        events.extend(page.events);
                        if n < 500 {
                            break;
                        }
                        from += 500;
                    }
                    events
                }
            };
            if events.is_empty() {
                return Err(Failure::Refused(format!(
                    "stream {stream} has no events; check the id (e.g. a project's code COHORT/NNN, or change_project-ID)"
                )));
            }
            history_out(c, &events);
            Ok(())
        }
        AuditCommand::StateAt {
            kind,
            id,
            version,
            at,
            effective,
        } => {
            let at = at
                .map(|a| {
                    chrono::DateTime::parse_from_rfc3339(&a)
                        .map(|t| t.with_timezone(&chrono::Utc))
                        .map_err(|_| {
                            Failure::Usage(format!(
                                "--at '{a}' is not an RFC 3339 moment, e.g. 2026-03-01T00:00:00Z"
                            ))
                        })
                })
                .transpose()?;
            let (stream, version, state) = match &engine {
                Some(engine) => match kind.as_str() {
                    "change_project" => {
                        state_offline::<ChangeProject>(engine, &id, version, at, effective).await?
                    }
                    "innovation" => {
                        state_offline::<Innovation>(engine, &id, version, at, effective).await?
                    }
                    "cohort" => {
                        state_offline::<Cohort>(engine, &id, version, at, effective).await?
                    }
                    other => {
                        return Err(Failure::Usage(format!(
                            "--kind is change_project, innovation or cohort, not '{other}'"
                        )));
                    }
                },
                None => {
                    let kind = match kind.as_str() {
                        "change_project" => pb::StreamKind::ChangeProject,
                        "innovation" => pb::StreamKind::Innovation,
                        "cohort" => pb::StreamKind::Cohort,
                        other => {
                            return Err(Failure::Usage(format!(
                                "--kind is change_project, innovation or cohort, not '{other}'"
                            )));
                        }
                    };
                    let request = pb::GetStateAtRequest {
                        kind: kind as i32,
                        id,
                        version: version.unwrap_or(0),
                        at: at.map(|t| prost_types::Timestamp {
                            seconds: t.timestamp(),
                            nanos: t.timestamp_subsec_nanos() as i32,
                        }),
                        effective,
                    };
                    let s = c.audit()?.get_state_at(request).await?.into_inner();
                    (
                        StreamId::parse(s.stream_id).map_err(|e| Failure::Usage(e.to_string()))?,
                        s.version,
                        serde_json::from_str(&s.state_json).unwrap_or_default(),
                    )
                }
            };
            if c.json {
                print_json(
                    &serde_json::json!({ "stream_id": stream.as_str(), "version": version, "state": state }),
                );
            } else {
                say!(
                    "{stream} at version {version}: {}",
                    state["lifecycle"].as_str().unwrap_or("(no lifecycle)")
                );
                say!(
                    "{}",
                    serde_json::to_string_pretty(&state).unwrap_or_default()
                );
            }
            Ok(())
        }
        AuditCommand::Verify {
            checkpoint: Some(file),
            vkey: Some(vkey),
            ..
        } => proofs::verify_checkpoint(c, store, &file, &proofs::vkey(&vkey)?).await,
        AuditCommand::Key => proofs::key(c, args.key_file.as_deref(), args.db.is_some()).await,
        AuditCommand::Checkpoint { out } => proofs::checkpoint(c, store, out.as_deref()).await,
        AuditCommand::Prove {
            position,
            checkpoint,
            vkey,
        } => {
            let vkey = vkey.as_deref().map(proofs::vkey).transpose()?;
            proofs::prove(c, store, position, &checkpoint, vkey.as_ref()).await
        }
        AuditCommand::Consistency { old, new } => proofs::consistency(c, store, old, new).await,
        AuditCommand::VerifyExport {
            file,
            checkpoint,
            vkey,
        } => {
            let vkey = vkey.as_deref().map(proofs::vkey).transpose()?;
            proofs::verify_export(c, &file, checkpoint.as_deref(), vkey.as_ref())
        }
        AuditCommand::Verify {
            from,
            to,
            digest,
            vkey,
            ..
        } => {
            let digest = digest
                .map(|d| Digest::parse(&d).map_err(|e| Failure::Usage(e.to_string())))
                .transpose()?;
            let (intact, checked, last, message, bad_snapshots): (
                _,
                _,
                _,
                _,
                Vec<BadSnapshotLine>,
            ) = match &engine {
                Some(engine) => {
                    let store = engine.store();
                    let head = store
                        .digest()
                        .await
                        .map_err(|e| Failure::Refused(e.to_string()))?
                        .position;
                    let bar = progress(head, "verifying");
                    let report = store
                        .verify_with_progress(from, to, digest, |p| bar.set_position(p))
                        .await
                        .map_err(|e| Failure::Usage(e.to_string()))?;
                    bar.finish_and_clear();
                    let message = report.summary();
                    let bad = store
                        .check_snapshots()
                        .await
                        .map_err(|e| Failure::Refused(e.to_string()))?
                        .into_iter()
                        .map(|b| BadSnapshotLine {
                            reason: b.fault.to_string(),
                            stream_id: b.stream_id,
                            stream_version: b.stream_version,
                            position: b.position,
                        })
                        .collect();
                    (
                        report.is_intact(),
                        report.checked,
                        report.digest.to_text(),
                        message,
                        bad,
                    )
                }
                None => {
                    let request = pb::VerifyRequest {
                        from_position: from,
                        to_position: to.unwrap_or(0),
                        digest: digest.map(|d| pb::Digest {
                            position: d.position,
                            hash: hex::encode(d.hash),
                        }),
                    };
                    let r = c.audit()?.verify(request).await?.into_inner();
                    if let Some(vkey) = &vkey {
                        let mine = proofs::vkey(vkey)?;
                        let theirs = c
                            .audit()?
                            .get_checkpoint(pb::GetCheckpointRequest {})
                            .await?
                            .into_inner()
                            .verifier_key;
                        if theirs != mine.as_str() {
                            return Err(Failure::Refused(format!(
                                "the server seals with {theirs}, not with the key you gave ({mine})"
                            )));
                        }
                    }
                    let last = r
                        .digest
                        .map(|d| format!("{}:{}", d.position, d.hash))
                        .unwrap_or_default();
                    let bad = r
                        .bad_snapshots
                        .into_iter()
                        .map(|b| BadSnapshotLine {
                            stream_id: b.stream_id,
                            stream_version: b.stream_version,
                            position: b.position,
                            reason: b.reason,
                        })
                        .collect();
                    (r.intact, r.checked, last, r.message, bad)
                }
            };
            if c.json {
                print_json(
                    &serde_json::json!({ "intact": intact, "checked": checked, "digest": last, "message": message, "bad_snapshots": bad_snapshots }),
                );
            } else {
                say!("{message}");
                for b in &bad_snapshots {
                    say!(
                        "snapshot of {} at version {} (position {}) is ignored: {}",
                        b.stream_id,
                        b.stream_version,
                        b.position,
                        b.reason
                    );
                }
            }
            if !intact {
                Err(Failure::Refused(format!(
                    "the log is not intact: {message}"
                )))
            } else if !bad_snapshots.is_empty() {
                Err(Failure::Refused(format!(
                    "the log is intact, but {} snapshot(s) do not match it; loading ignores them \
                     (they are a cache, folded again from the events)",
                    bad_snapshots.len()
                )))
            } else {
                Ok(())
            }
        }
        AuditCommand::Digest => {
            let digest = match &engine {
                Some(engine) => engine
                    .store()
                    .digest()
                    .await
                    .map_err(|e| Failure::Refused(e.to_string()))?
                    .to_text(),
                None => {
                    let d = c
                        .audit()?
                        .get_digest(pb::GetDigestRequest {})
                        .await?
                        .into_inner();
                    format!("{}:{}", d.position, d.hash)
                }
            };
            if c.json {
                print_json(&serde_json::json!({ "digest": digest }));
            } else {
                say!("{digest}");
            }
            Ok(())
        }
        AuditCommand::Export { out, after, full } => {
            if full.is_some() && engine.is_some() {
                return Err(Failure::Usage(
                    "a full export is made by the server, which records who asked and why \
                     in the log: drop --db and connect as an auditor"
                        .into(),
                ));
            }
            let writer: Box<dyn std::io::Write> = match &out {
                // The log holds personal data: only its owner may read the file.
                Some(path) => Box::new(std::io::BufWriter::with_capacity(
                    1 << 20,
                    private_file(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut exporter = proofs::ExportWriter::new(writer);
            match &engine {
                Some(engine) => {
                    let store = engine.store();
                    let head = store
                        .digest()
                        .await
                        .map_err(|e| Failure::Refused(e.to_string()))?
                        .position;
                    let bar = out
                        .as_ref()
                        .map(|_| progress(head.saturating_sub(after), "exporting"));
                    proofs::export_offline(store, after, &mut exporter, |last| {
                        if let Some(bar) = &bar {
                            bar.set_position(last - after);
                        }
                    })
                    .await?;
                    if let Some(bar) = bar {
                        bar.finish_and_clear();
                    }
                }
                None => proofs::export_online(c, after, full.as_deref(), &mut exporter).await?,
            }
            let written = exporter.finish()?;
            if let Some(path) = out {
                eprintln!("exported {written} events to {}", path.display());
            }
            Ok(())
        }
        AuditCommand::Activity {
            actor,
            after,
            limit,
        } => {
            if engine.is_some() {
                return Err(Failure::Usage(
                    "the activity trail is read through the server: run audit activity without --db"
                        .into(),
                ));
            }
            super::activity::run(c, actor, after, limit).await
        }
        AuditCommand::Evidence => {
            if engine.is_some() {
                return Err(Failure::Usage(
                    "the stored files are with the server: run audit evidence without --db".into(),
                ));
            }
            super::evidence::audit(c).await
        }
        AuditCommand::Copy { out } => {
            let Some(engine) = &engine else {
                return Err(Failure::Usage(
                    "copy works on a database file: add --db sqlite://FILE".into(),
                ));
            };
            engine
                .store()
                .copy_to(&out)
                .await
                .map_err(|e| Failure::Refused(e.to_string()))?;
            let copy = offline(&format!("sqlite://{}", out.display()), None, None).await?;
            let digest = copy
                .store()
                .digest()
                .await
                .map_err(|e| Failure::Refused(e.to_string()))?;
            if c.json {
                print_json(&serde_json::json!({
                    "out": out.display().to_string(), "events": digest.position, "digest": digest.to_text(),
                }));
            } else {
                say!(
                    "copied {} events to {} (digest {})",
                    digest.position,
                    out.display(),
                    digest.to_text()
                );
            }
            Ok(())
        }
        AuditCommand::Follow { after } => {
            match &engine {
                Some(engine) => {
                    let mut subscription = engine.store().subscribe(after);
                    loop {
                        let e = subscription
                            .next()
                            .await
                            .map_err(|e| Failure::Refused(e.to_string()))?;
                        say!("{}", line(&jejak_server::event_to_wire(e)));
                    }
                }
                None => {
                    let mut stream = c
                        .audit()?
                        .follow_log(pb::ReadLogRequest {
                            after_position: after,
                            ..Default::default()
                        })
                        .await?
                        .into_inner();
                    while let Some(e) = stream.next().await {
                        say!("{}", line(&e?));
                    }
                }
            }
            Ok(())
        }
    }
}
