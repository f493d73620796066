//! Auditors' proofs: the verifier key, signed checkpoints, RFC 9162
//! inclusion and consistency proofs, and exports verified from the file
//! alone — over gRPC, or offline on a database (`--db`).

use std::io::BufRead as _;
use std::path::Path;

use jejak_engine::store::merkle::{Frontier, check_consistency, check_inclusion, leaf_hash};
use jejak_engine::store::{
    EventStore, HashedFields, RecordedEvent, SealKey, SignedCheckpoint, VerifierKey, chain_hash,
};
use jejak_proto::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::client::{Connection, Failure, Outcome, print_json};

fn refused(e: impl std::fmt::Display) -> Failure {
    Failure::Refused(e.to_string())
}

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(e.to_string())
}

fn read_text(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))
}

/// A verifier key given as text or as a file holding it.
pub fn vkey(text: &str) -> Result<VerifierKey, Failure> {
    let path = Path::new(text);
    let text = if !text.contains('+') && path.exists() {
        read_text(path)?
    } else {
        text.to_owned()
    };
    VerifierKey::parse(&text).map_err(usage)
}

fn seal_key(path: &Path) -> Result<SealKey, Failure> {
    SealKey::parse(&read_text(path)?).map_err(|e| usage(format!("{}: {e}", path.display())))
}

fn unhex(field: &str, text: &str) -> Result<[u8; 32], Failure> {
    hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            Failure::Refused(format!(
                "the server sent a {field} that is not a 64-digit hex hash"
            ))
        })
}

fn hexes(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// A checkpoint file: verified when a key is given, else only parsed.
fn kept_checkpoint(path: &Path, key: Option<&VerifierKey>) -> Result<SignedCheckpoint, Failure> {
    let note = read_text(path)?;
    match key {
        Some(key) => SignedCheckpoint::verify(&note, key)
            .map_err(|e| refused(format!("{}: {e}", path.display()))),
        None => SignedCheckpoint::parse_unverified(&note)
            .map_err(|e| usage(format!("{}: {e}", path.display()))),
    }
}

/// `jejak audit key`: the verifier key, from a key file or the server.
pub async fn key(c: &Connection, key_file: Option<&Path>, offline: bool) -> Outcome {
    let vkey = match key_file {
        Some(path) => seal_key(path)?.verifier().to_string(),
        None if offline => {
            return Err(Failure::Usage(
                "offline, the key comes from its file: give --key-file DATA_DIR/seal-key".into(),
            ));
        }
        None => {
            c.audit()?
                .get_checkpoint(pb::GetCheckpointRequest {})
                .await?
                .into_inner()
                .verifier_key
        }
    };
    if c.json {
        print_json(&serde_json::json!({ "verifier_key": vkey }));
    } else {
        say!("{vkey}");
    }
    Ok(())
}

/// The current signed checkpoint: from the server, or signed here with the
/// key file over a database.
async fn current(
    c: &Connection,
    store: Option<&EventStore>,
) -> Result<pb::SignedCheckpoint, Failure> {
    match store {
        Some(store) => {
            let signed = store.signed_checkpoint().await.map_err(refused)?;
            Ok(pb::SignedCheckpoint {
                tree_size: signed.checkpoint.size,
                root_hash: hex::encode(signed.checkpoint.root),
                note: signed.note,
                verifier_key: store
                    .config()
                    .seal_key
                    .as_ref()
                    .map(|k| k.verifier().to_string())
                    .unwrap_or_default(),
            })
        }
        None => Ok(c
            .audit()?
            .get_checkpoint(pb::GetCheckpointRequest {})
            .await?
            .into_inner()),
    }
}

/// `jejak audit checkpoint`: saves the current signed checkpoint.
pub async fn checkpoint(c: &Connection, store: Option<&EventStore>, out: Option<&Path>) -> Outcome {
    let cp = current(c, store).await?;
    if let Some(path) = out {
        std::fs::write(path, &cp.note)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    if c.json {
        print_json(&serde_json::json!({
            "tree_size": cp.tree_size, "root_hash": cp.root_hash, "note": cp.note,
            "verifier_key": cp.verifier_key,
        }));
    } else if let Some(path) = out {
        say!(
            "saved the checkpoint of {} events (root {}) to {}",
            cp.tree_size,
            cp.root_hash,
            path.display()
        );
    } else {
        say!("{}", cp.note.trim_end());
    }
    Ok(())
}

/// `jejak audit verify --checkpoint FILE --vkey KEY`: the log still
/// extends the kept checkpoint — its signature, then a consistency proof to
/// the log's current tree; no walk of the log.
pub async fn verify_checkpoint(
    c: &Connection,
    store: Option<&EventStore>,
    file: &Path,
    key: &VerifierKey,
) -> Outcome {
    let kept = kept_checkpoint(file, Some(key))?;
    let old = kept.checkpoint;
    let (new_size, new_root, proof) = match store {
        Some(store) => {
            // Offline the log's tree is vouched for up to its newest valid
            // seal: the head's chain hash is signed, and must be the tree's
            // last leaf.
            let Some(new_size) = store.newest_valid_seal(key).await.map_err(refused)? else {
                return Err(refused(
                    "no seal in the log verifies with this key: it was not written by this deployment, or was rewritten",
                ));
            };
            let new_root = store.tree_root(new_size).await.map_err(refused)?;
            let head = store
                .read_all(new_size - 1, 1)
                .await
                .map_err(refused)?
                .pop()
                .ok_or_else(|| refused("the sealed head is missing"))?;
            let path = store
                .inclusion_proof(new_size - 1, new_size)
                .await
                .map_err(refused)?;
            check_inclusion(
                &path,
                new_size,
                &new_root,
                new_size - 1,
                &leaf_hash(&head.hash),
            )
            .map_err(|e| refused(format!("the tree does not end in the sealed head: {e}")))?;
            if old.size > new_size {
                return Err(refused(format!(
                    "the log is sealed to {new_size} events, fewer than the checkpoint's {}: events were removed",
                    old.size
                )));
            }
            let proof = if old.size == 0 {
                Vec::new()
            } else {
                store
                    .consistency_proof(old.size, new_size)
                    .await
                    .map_err(refused)?
            };
            (new_size, new_root, proof)
        }
        None => {
            let cp = current(c, None).await?;
            let now = SignedCheckpoint::verify(&cp.note, key)
                .map_err(|e| refused(format!("the server's checkpoint: {e}")))?;
            if old.size > now.checkpoint.size {
                return Err(refused(format!(
                    "the server's checkpoint has {} events, fewer than the kept one's {}",
                    now.checkpoint.size, old.size
                )));
            }
            let proof = if old.size == 0 {
                Vec::new()
            } else {
                let p = c
                    .audit()?
                    .prove_consistency(pb::ProveConsistencyRequest {
                        old_size: old.size,
                        new_size: now.checkpoint.size,
                    })
                    .await?
                    .into_inner();
                p.hashes
                    .iter()
                    .map(|h| unhex("proof hash", h))
                    .collect::<Result<Vec<_>, _>>()?
            };
            (now.checkpoint.size, now.checkpoint.root, proof)
        }
    };
    let verdict = if old.size == 0 {
        Ok(())
    } else {
        check_consistency(&proof, new_size, &new_root, old.size, &old.root)
    };
    if c.json {
        print_json(&serde_json::json!({
            "consistent": verdict.is_ok(), "old_size": old.size, "old_root": hex::encode(old.root),
            "new_size": new_size, "new_root": hex::encode(new_root), "proof": hexes(&proof),
            "message": verdict.as_ref().err(),
        }));
    }
    match verdict {
        Ok(()) => {
            if !c.json {
                say!(
                    "consistent: the log of {new_size} events extends the checkpoint of {} events (signature and {}-hash consistency proof checked)",
                    old.size,
                    proof.len()
                );
            }
            Ok(())
        }
        Err(e) => Err(refused(format!(
            "the log does not extend the kept checkpoint: {e}"
        ))),
    }
}

/// `jejak audit prove POSITION --checkpoint FILE`: the inclusion proof of
/// an event in the kept checkpoint's tree, checked here.
pub async fn prove(
    c: &Connection,
    store: Option<&EventStore>,
    position: u64,
    file: &Path,
    key: Option<&VerifierKey>,
) -> Outcome {
    if position == 0 {
        return Err(usage("positions start at 1"));
    }
    let kept = kept_checkpoint(file, key)?.checkpoint;
    if position > kept.size {
        return Err(refused(format!(
            "position {position} is not in the checkpoint's tree of {} events",
            kept.size
        )));
    }
    let index = position - 1;
    let (chain, proof, content) = match store {
        Some(store) => {
            let event = store
                .read_all(index, 1)
                .await
                .map_err(refused)?
                .pop()
                .filter(|e| e.position == position)
                .ok_or_else(|| refused(format!("position {position} is missing from the log")))?;
            // The event's bytes lead to its chain hash, the leaf of the proof.
            let content = event.recompute_hash(&event.prev_hash) == event.hash;
            let proof = store
                .inclusion_proof(index, kept.size)
                .await
                .map_err(refused)?;
            (event.hash, proof, Some(content))
        }
        None => {
            let p = c
                .audit()?
                .prove_inclusion(pb::ProveInclusionRequest {
                    position,
                    tree_size: kept.size,
                })
                .await?
                .into_inner();
            let proof = p
                .hashes
                .iter()
                .map(|h| unhex("proof hash", h))
                .collect::<Result<Vec<_>, _>>()?;
            (unhex("chain hash", &p.chain_hash)?, proof, None)
        }
    };
    let leaf = leaf_hash(&chain);
    let verdict = check_inclusion(&proof, kept.size, &kept.root, index, &leaf);
    if c.json {
        print_json(&serde_json::json!({
            "included": verdict.is_ok() && content != Some(false),
            "position": position, "leaf_index": index, "tree_size": kept.size,
            "root_hash": hex::encode(kept.root), "chain_hash": hex::encode(chain),
            "leaf_hash": hex::encode(leaf), "hashes": hexes(&proof),
            "content_matches_hash": content, "signature_checked": key.is_some(),
        }));
    }
    if content == Some(false) {
        return Err(refused(format!(
            "position {position}: the event's content no longer matches its hash"
        )));
    }
    match verdict {
        Ok(()) => {
            if !c.json {
                say!(
                    "included: position {position} (leaf {index}) is in the tree of {} events with root {} ({} hashes){}",
                    kept.size,
                    hex::encode(kept.root),
                    proof.len(),
                    if key.is_some() {
                        ""
                    } else {
                        "; the checkpoint's signature was not checked (give --vkey)"
                    }
                );
                for h in &proof {
                    say!("  {}", hex::encode(h));
                }
            }
            Ok(())
        }
        Err(e) => Err(refused(format!("position {position}: {e}"))),
    }
}

/// `jejak audit consistency OLD [NEW]`: the consistency proof between two
/// tree sizes, checked against the two roots.
pub async fn consistency(
    c: &Connection,
    store: Option<&EventStore>,
    old: u64,
    new: Option<u64>,
) -> Outcome {
    let (new, proof, old_root, new_root) = match store {
        Some(store) => {
            let new = match new {
                Some(n) => n,
                None => store.tree_size().await.map_err(refused)?,
            };
            let proof = store.consistency_proof(old, new).await.map_err(refused)?;
            (
                new,
                proof,
                store.tree_root(old).await.map_err(refused)?,
                store.tree_root(new).await.map_err(refused)?,
            )
        }
        None => {
            let p = c
                .audit()?
                .prove_consistency(pb::ProveConsistencyRequest {
                    old_size: old,
                    new_size: new.unwrap_or(0),
                })
                .await?
                .into_inner();
            (
                p.new_size,
                p.hashes
                    .iter()
                    .map(|h| unhex("proof hash", h))
                    .collect::<Result<Vec<_>, _>>()?,
                unhex("old root", &p.old_root)?,
                unhex("new root", &p.new_root)?,
            )
        }
    };
    let verdict = check_consistency(&proof, new, &new_root, old, &old_root);
    if c.json {
        print_json(&serde_json::json!({
            "consistent": verdict.is_ok(), "old_size": old, "new_size": new,
            "old_root": hex::encode(old_root), "new_root": hex::encode(new_root), "hashes": hexes(&proof),
        }));
    } else {
        say!(
            "tree of {old} events (root {}) → tree of {new} events (root {}):",
            hex::encode(old_root),
            hex::encode(new_root)
        );
        for h in &proof {
            say!("  {}", hex::encode(h));
        }
    }
    verdict.map_err(refused)
}

/// One line of a JSON Lines export: an event with every hashed field
/// exactly as hashed (docs/hashes.md), or a seal.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // almost every line is an event; a box would cost each one
pub enum ExportLine<'a> {
    /// An event.
    Event(ExportEvent<'a>),
    /// A seal, written after the event it seals.
    Seal {
        /// The seal.
        seal: ExportSeal,
    },
}

/// An event as exported.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportEvent<'a> {
    pub position: u64,
    pub event_id: uuid::Uuid,
    #[serde(borrow)]
    pub stream_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub stream_type: std::borrow::Cow<'a, str>,
    pub stream_version: u64,
    #[serde(borrow)]
    pub event_type: std::borrow::Cow<'a, str>,
    pub event_version: u32,
    /// RFC 3339, UTC, microseconds: for people.
    pub recorded_at: String,
    /// Microseconds since the Unix epoch: the value hashed.
    pub recorded_at_micros: i64,
    /// The payload as JSON: its bytes are the exact text hashed.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<&'a RawValue>,
    /// The payload as a JSON string whose content is the exact text
    /// hashed: where that text is not JSON on its own (a row written by
    /// hand), and in exports written before `payload` (both are read).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub payload_json: Option<std::borrow::Cow<'a, str>>,
    /// The metadata, as `payload`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a RawValue>,
    /// The metadata, as `payload_json`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub metadata_json: Option<std::borrow::Cow<'a, str>>,
    /// The previous event's hash: on an export's first line only (every
    /// other line's is the line before it; exports written before
    /// 1 December 2026 carry it on every line, and it is then checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    pub hash: String,
    /// A full export only: the payload with its participants' personal
    /// fields opened, beside `payload` (which the hash covers), never
    /// in its place; not part of any hash.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub opened_json: Option<std::borrow::Cow<'a, str>>,
}

/// A seal as exported.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportSeal {
    pub position: u64,
    /// 8 hex digits.
    pub key_id: String,
    /// Hex.
    pub signature: String,
}

impl<'a> ExportEvent<'a> {
    /// From an event of the store; `first` of its export, with the hash
    /// it links to.
    pub fn of(e: &'a RecordedEvent, first: bool) -> Self {
        let (payload, payload_json) = as_written(&e.payload);
        let (metadata, metadata_json) = as_written(&e.metadata);
        Self {
            position: e.position,
            event_id: e.event_id,
            stream_id: e.stream_id.as_str().into(),
            stream_type: e.stream_type.as_str().into(),
            stream_version: e.stream_version,
            event_type: e.event_type.as_str().into(),
            event_version: e.event_version,
            recorded_at: e
                .recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            recorded_at_micros: e.recorded_at.timestamp_micros(),
            payload,
            payload_json,
            metadata,
            metadata_json,
            prev_hash: first.then(|| hex::encode(e.prev_hash)),
            hash: hex::encode(e.hash),
            opened_json: None,
        }
    }

    /// From an event of the wire; `first` of its export, as [`Self::of`].
    pub fn of_wire(e: &'a pb::Event, first: bool) -> Result<Self, Failure> {
        let at = e.recorded_at.unwrap_or_default();
        let micros = at.seconds * 1_000_000 + i64::from(at.nanos) / 1_000;
        let recorded_at = chrono::DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| refused("the server sent an event time out of range"))?;
        let (payload, payload_json) = as_written(&e.payload_json);
        let (metadata, metadata_json) = as_written(&e.metadata_json);
        Ok(Self {
            position: e.position,
            event_id: uuid::Uuid::parse_str(&e.event_id)
                .map_err(|_| refused("the server sent an event id that is not a UUID"))?,
            stream_id: e.stream_id.as_str().into(),
            stream_type: e.stream_type.as_str().into(),
            stream_version: e.stream_version,
            event_type: e.event_type.as_str().into(),
            event_version: e.event_version,
            recorded_at: recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            recorded_at_micros: micros,
            payload,
            payload_json,
            metadata,
            metadata_json,
            prev_hash: first.then(|| e.prev_hash.clone()),
            hash: e.hash.clone(),
            opened_json: (!e.opened_json.is_empty()).then(|| e.opened_json.as_str().into()),
        })
    }

    /// The payload's text hashed, from whichever form the line holds.
    fn payload_text(&self) -> Option<&str> {
        self.payload
            .map(RawValue::get)
            .or(self.payload_json.as_deref())
    }

    /// The metadata's text hashed, as [`Self::payload_text`].
    fn metadata_text(&self) -> Option<&str> {
        self.metadata
            .map(RawValue::get)
            .or(self.metadata_json.as_deref())
    }
}

/// A stored text as the line carries it: raw JSON, written verbatim so
/// that a reader gets back the very bytes hashed without escaping, when
/// it reads back as the same value inside the line; else a JSON string
/// (`payload_json`, `metadata_json`).
fn as_written(text: &str) -> (Option<&RawValue>, Option<std::borrow::Cow<'_, str>>) {
    match raw(text) {
        Some(raw) => (Some(raw), None),
        None => (None, Some(text.into())),
    }
}

/// How deep a raw value may nest: inside the line it sits one level
/// deeper, and serde_json reads at most 128 levels.
const RAW_DEPTH: usize = 100;

/// How deep `text`'s arrays and objects nest (brackets inside strings
/// not counted).
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// `text` as raw JSON, when it is JSON exactly as it stands (no
/// whitespace around it that a reader would drop), not `null` (which a
/// reader takes for an absent field), on one line (the export is one
/// line per event), and not so deeply nested that the line would be too
/// deep to read.
fn raw(text: &str) -> Option<&RawValue> {
    if text == "null" || text.contains(['\n', '\r']) || nesting(text) > RAW_DEPTH {
        return None;
    }
    serde_json::from_str::<&RawValue>(text)
        .ok()
        .filter(|r| r.get().len() == text.len())
}

impl ExportLine<'_> {
    /// Parses one line: a seal when it begins with its key, else an
    /// event.
    ///
    /// # Errors
    /// Why the line is not the one or the other.
    pub fn parse(line: &str) -> Result<ExportLine<'_>, serde_json::Error> {
        #[derive(Deserialize)]
        struct SealLine {
            seal: ExportSeal,
        }
        if line.trim_start().starts_with("{\"seal\"") {
            serde_json::from_str::<SealLine>(line).map(|s| ExportLine::Seal { seal: s.seal })
        } else {
            serde_json::from_str::<ExportEvent<'_>>(line).map(ExportLine::Event)
        }
    }
}

impl ExportSeal {
    fn of(s: &jejak_engine::store::Seal) -> Self {
        Self {
            position: s.position,
            key_id: format!("{:08x}", s.key_id),
            signature: hex::encode(s.signature),
        }
    }

    fn of_wire(s: pb::SealRecord) -> Self {
        Self {
            position: s.position,
            key_id: s.key_id,
            signature: s.signature,
        }
    }
}

/// Writes the export: events, each followed by its seal when it has one.
pub struct ExportWriter<W: std::io::Write> {
    out: W,
    /// Seals not yet written, oldest first.
    seals: std::collections::VecDeque<ExportSeal>,
    /// Events written.
    pub written: u64,
}

impl<W: std::io::Write> ExportWriter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out,
            seals: std::collections::VecDeque::new(),
            written: 0,
        }
    }

    fn io(e: impl std::fmt::Display) -> Failure {
        Failure::Usage(format!("cannot write the export: {e}"))
    }

    /// Writes one event, then its seal if it has one.
    pub fn event(&mut self, e: &ExportEvent<'_>) -> Result<(), Failure> {
        serde_json::to_writer(&mut self.out, e).map_err(Self::io)?;
        self.out.write_all(b"\n").map_err(Self::io)?;
        self.written += 1;
        while self.seals.front().is_some_and(|s| s.position <= e.position) {
            if let Some(seal) = self.seals.pop_front() {
                serde_json::to_writer(&mut self.out, &serde_json::json!({ "seal": seal }))
                    .map_err(Self::io)?;
                self.out.write_all(b"\n").map_err(Self::io)?;
            }
        }
        Ok(())
    }

    /// How far the seals queued reach.
    fn seals_to(&self) -> Option<u64> {
        self.seals.back().map(|s| s.position)
    }

    /// Flushes.
    pub fn finish(mut self) -> Result<u64, Failure> {
        self.out.flush().map_err(Self::io)?;
        Ok(self.written)
    }
}

/// Exports the log after `after` from the store: events and seals.
pub async fn export_offline<W: std::io::Write>(
    store: &EventStore,
    after: u64,
    writer: &mut ExportWriter<W>,
    mut progress: impl FnMut(u64),
) -> Result<(), Failure> {
    let mut seals_after = after;
    let mut seals_done = false;
    // The next batches are read while this one is written.
    let mut batches = store.read_all_ahead(after, 5_000).map_err(refused)?;
    loop {
        let batch = batches.next().await.map_err(refused)?;
        let Some(last) = batch.last().map(|e| e.position) else {
            break;
        };
        while !seals_done && writer.seals_to().unwrap_or(seals_after) < last {
            let seals = store
                .read_seals(seals_after, 10_000)
                .await
                .map_err(refused)?;
            seals_done = seals.len() < 10_000;
            if let Some(s) = seals.last() {
                seals_after = s.position;
            }
            writer.seals.extend(seals.iter().map(ExportSeal::of));
        }
        for e in &batch {
            writer.event(&ExportEvent::of(e, writer.written == 0))?;
        }
        progress(last);
    }
    Ok(())
}

/// Exports the log after `after` over gRPC: events and seals.
/// With `full_reason`, a full export (auditors): the server records the
/// reason in the log, then sends each participant's fields opened beside
/// the stored payload.
pub async fn export_online<W: std::io::Write>(
    c: &Connection,
    after: u64,
    full_reason: Option<&str>,
    writer: &mut ExportWriter<W>,
) -> Result<(), Failure> {
    use tokio_stream::StreamExt as _;
    let mut stream = c
        .audit()?
        .read_log(pb::ReadLogRequest {
            after_position: after,
            full_reason: full_reason.unwrap_or_default().to_owned(),
        })
        .await?
        .into_inner();
    let mut seals_after = after;
    let mut seals_done = false;
    while let Some(e) = stream.next().await {
        let e = e?;
        while !seals_done && writer.seals_to().unwrap_or(seals_after) < e.position {
            let seals = c
                .audit()?
                .read_seals(pb::ReadSealsRequest {
                    after_position: seals_after,
                    limit: 10_000,
                })
                .await?
                .into_inner()
                .seals;
            seals_done = seals.len() < 10_000;
            if let Some(s) = seals.last() {
                seals_after = s.position;
            }
            writer
                .seals
                .extend(seals.into_iter().map(ExportSeal::of_wire));
        }
        writer.event(&ExportEvent::of_wire(&e, writer.written == 0)?)?;
    }
    Ok(())
}

/// What verifying an export found.
#[derive(Debug, Serialize)]
struct ExportReport {
    intact: bool,
    events: u64,
    first_position: u64,
    last_position: u64,
    /// Up to which position a valid seal covers the export (with a key).
    sealed_to: Option<u64>,
    /// The tree root of the whole export (from position 1 only).
    tree_root: Option<String>,
    /// The kept checkpoint's size, when its root was matched.
    checkpoint_size: Option<u64>,
    message: String,
}

/// `jejak audit verify-export FILE [--checkpoint FILE --vkey KEY]`: the
/// chain, the seals and the tree recomputed from the file alone.
pub fn verify_export(
    c: &Connection,
    file: &Path,
    checkpoint: Option<&Path>,
    key: Option<&VerifierKey>,
) -> Outcome {
    let kept = checkpoint
        .map(|path| kept_checkpoint(path, key))
        .transpose()?;
    if kept.is_some() && key.is_none() {
        return Err(usage(
            "checking an export against a checkpoint needs the key that signed it: give --vkey",
        ));
    }
    let input = std::fs::File::open(file)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
    let reader = std::io::BufReader::with_capacity(1 << 20, input);
    let mut report = ExportReport {
        intact: true,
        events: 0,
        first_position: 0,
        last_position: 0,
        sealed_to: key.map(|_| 0),
        tree_root: None,
        checkpoint_size: None,
        message: String::new(),
    };
    let mut prev_hash = [0u8; 32];
    let mut tree = Frontier::default();
    let mut tree_usable = true;
    let mut root_at_checkpoint = None;
    // Chain hashes by position, for the seals that follow their events.
    let mut hashes: Vec<[u8; 32]> = Vec::new();
    let fail = |report: &mut ExportReport, message: String| {
        report.intact = false;
        report.message = message;
    };
    for (n, line) in reader.lines().enumerate() {
        let line =
            line.map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = match ExportLine::parse(&line) {
            Ok(p) => p,
            Err(e) => {
                fail(
                    &mut report,
                    format!("line {}: not an export line: {e}", n + 1),
                );
                break;
            }
        };
        match parsed {
            ExportLine::Event(e) => {
                let position = e.position;
                if report.events == 0 {
                    report.first_position = position;
                    tree_usable = position == 1;
                    if position > 1 {
                        prev_hash = match e
                            .prev_hash
                            .as_deref()
                            .and_then(|h| hex::decode(h).ok())
                            .and_then(|b| b.try_into().ok())
                        {
                            Some(h) => h,
                            None => {
                                fail(
                                    &mut report,
                                    format!(
                                        "position {position}: an export's first line after position 1 needs prev_hash, the hash it links to; a part cut from a longer export does not verify alone: export again with --after {}",
                                        position - 1
                                    ),
                                );
                                break;
                            }
                        };
                    }
                } else if position != report.last_position + 1 {
                    let message = format!(
                        "position {}: the event is missing",
                        report.last_position + 1
                    );
                    fail(&mut report, message);
                    break;
                }
                let (Some(payload), Some(metadata)) = (e.payload_text(), e.metadata_text()) else {
                    fail(
                        &mut report,
                        format!("position {position}: the line holds no payload or no metadata"),
                    );
                    break;
                };
                let Some(recorded_at) =
                    chrono::DateTime::from_timestamp_micros(e.recorded_at_micros)
                else {
                    fail(
                        &mut report,
                        format!("position {position}: recorded_at_micros is out of range"),
                    );
                    break;
                };
                let hash = chain_hash(
                    &prev_hash,
                    &HashedFields {
                        position,
                        event_id: e.event_id,
                        stream_id: &e.stream_id,
                        stream_type: &e.stream_type,
                        stream_version: e.stream_version,
                        event_type: &e.event_type,
                        event_version: e.event_version,
                        recorded_at,
                        payload,
                        metadata,
                    },
                );
                if e.prev_hash
                    .as_ref()
                    .is_some_and(|p| *p != hex::encode(prev_hash))
                {
                    fail(
                        &mut report,
                        format!(
                            "position {position}: the event does not link to the previous event's hash"
                        ),
                    );
                    break;
                }
                if e.hash != hex::encode(hash) {
                    fail(
                        &mut report,
                        format!(
                            "position {position}: the event's content no longer matches its hash"
                        ),
                    );
                    break;
                }
                prev_hash = hash;
                hashes.push(hash);
                if tree_usable {
                    tree.push_leaf(&hash);
                    if kept.as_ref().is_some_and(|k| k.checkpoint.size == position) {
                        root_at_checkpoint = Some(tree.root());
                    }
                }
                report.events += 1;
                report.last_position = position;
            }
            ExportLine::Seal { seal } => {
                let Some(key) = key else { continue };
                let index = seal.position.checked_sub(report.first_position);
                let hash = index.and_then(|i| hashes.get(i as usize));
                let parsed = (
                    u32::from_str_radix(&seal.key_id, 16).ok(),
                    hex::decode(&seal.signature)
                        .ok()
                        .and_then(|s| <[u8; 64]>::try_from(s).ok()),
                );
                if let (Some(hash), (Some(key_id), Some(signature))) = (hash, parsed)
                    && key.verify_seal(
                        &jejak_engine::store::Seal {
                            position: seal.position,
                            key_id,
                            signature,
                        },
                        hash,
                    )
                {
                    report.sealed_to = Some(seal.position);
                }
            }
        }
    }
    if report.intact && report.events == 0 {
        fail(&mut report, format!("{} holds no event", file.display()));
    }
    if report.intact
        && let Some(sealed) = report.sealed_to
        && sealed < report.last_position
    {
        let message = format!(
            "position {}: no valid seal covers the event: it was written without the deployment's key",
            sealed.max(report.first_position - 1) + 1
        );
        fail(&mut report, message);
    }
    if tree_usable && report.events > 0 {
        report.tree_root = Some(hex::encode(tree.root()));
    }
    if report.intact
        && let Some(kept) = &kept
    {
        let cp = &kept.checkpoint;
        match root_at_checkpoint {
            Some(root) if root == cp.root => report.checkpoint_size = Some(cp.size),
            Some(_) => fail(
                &mut report,
                format!(
                    "the export's first {} events do not have the checkpoint's root: the log was rewritten",
                    cp.size
                ),
            ),
            None if !tree_usable => fail(
                &mut report,
                "the export does not start at position 1, so its tree cannot be matched with the checkpoint".into(),
            ),
            None => {
                let message = format!(
                    "the export ends at {}, before the checkpoint's {} events",
                    report.last_position, cp.size
                );
                fail(&mut report, message);
            }
        }
    }
    if report.intact {
        report.message = format!(
            "intact: {} events (positions {}–{}) recomputed from the file{}{}{}",
            report.events,
            report.first_position,
            report.last_position,
            match report.sealed_to {
                Some(s) => format!(", sealed to {s}"),
                None => ", seals not checked (give --vkey)".into(),
            },
            report
                .tree_root
                .as_ref()
                .map(|r| format!(", tree root {r}"))
                .unwrap_or_default(),
            report
                .checkpoint_size
                .map(|s| format!(", matching the checkpoint of {s} events"))
                .unwrap_or_default(),
        );
    }
    if c.json {
        print_json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        say!("{}", report.message);
    }
    if report.intact {
        Ok(())
    } else {
        Err(Failure::Refused(format!(
            "the export is not intact: {}",
            report.message
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of an event whose payload is `text`, written and read back.
    fn round_trip(text: &str) -> (String, Option<String>) {
        let (payload, payload_json) = as_written(text);
        let (metadata, metadata_json) = as_written("{}");
        let event = ExportEvent {
            position: 2,
            event_id: uuid::Uuid::nil(),
            stream_id: "innovation-x".into(),
            stream_type: "innovation".into(),
            stream_version: 1,
            event_type: "Registered".into(),
            event_version: 1,
            recorded_at: "2026-12-01T00:00:00.000000Z".into(),
            recorded_at_micros: 0,
            payload,
            payload_json,
            metadata,
            metadata_json,
            prev_hash: Some("00".repeat(32)),
            hash: "00".repeat(32),
            opened_json: None,
        };
        let line = serde_json::to_string(&event).unwrap();
        let read = match ExportLine::parse(&line) {
            Ok(ExportLine::Event(e)) => e.payload_text().map(str::to_owned),
            other => panic!("{line}: {other:?}"),
        };
        (line, read)
    }

    #[test]
    fn every_stored_text_comes_back_from_its_line_byte_for_byte() {
        let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
        let wide = format!("[{}]", vec!["{\"a\":[1]}"; 300].join(","));
        for text in [
            r#"{"by":"mentor-1","note":"Sudah \"baik\""}"#,
            " {}",
            "{}\n",
            "{\n}",
            "{\"a\":\r1}",
            "null",
            "x",
            "",
            "[1, 2]",
            deep.as_str(),
            wide.as_str(),
        ] {
            let (line, read) = round_trip(text);
            assert!(!line.contains(['\n', '\r']), "{text:?}: one line, {line}");
            assert_eq!(read.as_deref(), Some(text), "{text:?}: {line}");
        }
        // Written verbatim where it can be: no escaping.
        let (line, _) = round_trip(r#"{"by":"mentor-1"}"#);
        assert!(line.contains(r#""payload":{"by":"mentor-1"}"#), "{line}");
        let (line, _) = round_trip(&wide);
        assert!(
            line.contains(r#""payload":[{"a":[1]},"#),
            "many brackets, shallow: {line}"
        );
        assert_eq!(nesting(r#"{"a":"[[{{","b":[{"c":"\"]"}]}"#), 3);
        let (line, _) = round_trip("null");
        assert!(line.contains(r#""payload_json":"null""#), "{line}");
    }

    #[test]
    fn a_broken_seal_line_is_reported_as_a_seal() {
        // Read as an event, it would only lack a `position`.
        let err = ExportLine::parse(r#"{"seal":{"position":"x"}}"#).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
        assert!(matches!(
            ExportLine::parse(r#"{"seal":{"position":3,"key_id":"0a0b0c0d","signature":"00"}}"#),
            Ok(ExportLine::Seal { .. })
        ));
    }
}
