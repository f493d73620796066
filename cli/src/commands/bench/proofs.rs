//! The auditor's figures over the scaled-up log, beside the raw read of the
//! same run: verifying chain, seals and tree; a consistency proof to a kept
//! checkpoint; an inclusion proof; an export to a file.

use std::time::Instant;

use jejak_engine::store::merkle::{check_consistency, check_inclusion, leaf_hash};
use jejak_engine::store::{Checkpoint, EventStore, SignedCheckpoint};

use super::{Run, median_ms};
use crate::commands::proofs::{ExportWriter, export_offline};

/// Adds the four figures to `run`; `raw` is the raw read of the log, rows/s.
pub async fn measure(
    run: &mut Run,
    store: &EventStore,
    raw: f64,
    total: u64,
) -> anyhow::Result<()> {
    let backend = run.backend;
    eprintln!("[{backend}] verifying chain, seals and tree over {total} events …");
    let t = Instant::now();
    let report = store.verify(1, None, None).await?;
    let verify = total as f64 / t.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.is_intact() && report.sealed_to == Some(total) && report.tree_root.is_some(),
        "the bench's own log does not verify: {}",
        report.summary()
    );
    run.add(
        "verify the whole log (chain, seals, tree)",
        verify,
        "events/s",
        None,
        Some(raw),
        "≥ 0.8 × the raw read".into(),
        verify >= 0.8 * raw,
    );
    run.limited_by(format!(
        "jejak: the raw database reads {raw:.0} rows/s; verify hashes each event's bytes and its leaf"
    ));

    eprintln!("[{backend}] a kept checkpoint, consistency and inclusion proofs …");
    let key = store
        .config()
        .seal_key
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the bench's store has a seal key"))?;
    let vkey = key.verifier();
    let old = total / 2;
    let kept = Checkpoint {
        origin: key.name().to_owned(),
        size: old,
        root: store.tree_root(old).await?,
    }
    .sign(&key)?
    .note;
    // What `audit verify --checkpoint` does offline: the kept checkpoint's
    // signature, the newest seal, the tree's root, the proof, its check.
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let kept = SignedCheckpoint::verify(&kept, &vkey)?.checkpoint;
        let size = store
            .newest_valid_seal(&vkey)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no valid seal"))?;
        let root = store.tree_root(size).await?;
        let proof = store.consistency_proof(kept.size, size).await?;
        check_consistency(&proof, size, &root, kept.size, &kept.root)
            .map_err(|e| anyhow::anyhow!(e))?;
        times.push(t.elapsed());
    }
    let consistency = median_ms(times);
    run.add(
        &format!("consistency of {total} events with a checkpoint kept at {old}"),
        consistency,
        "ms",
        None,
        None,
        "≤ 50 ms".into(),
        consistency <= 50.0,
    );
    run.limited_by("jejak: a signature, a seal and O(log n) stored hashes".into());

    let root = store.tree_root(total).await?;
    let mut times = Vec::new();
    for i in 0..101u64 {
        let index = (i * 7_919 * 104_729) % total;
        let t = Instant::now();
        let proof = store.inclusion_proof(index, total).await?;
        let event = store
            .read_all(index, 1)
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("event {} is missing", index + 1))?;
        check_inclusion(&proof, total, &root, index, &leaf_hash(&event.hash))
            .map_err(|e| anyhow::anyhow!(e))?;
        times.push(t.elapsed());
    }
    let inclusion = median_ms(times);
    run.add(
        "inclusion proof of an event",
        inclusion,
        "ms",
        None,
        None,
        "≤ 5 ms".into(),
        inclusion <= 5.0,
    );
    run.limited_by("jejak: O(log n) stored hashes and the event, two statements".into());

    eprintln!("[{backend}] exporting {total} events to a file …");
    let path = std::env::temp_dir().join(format!(
        "jejak-bench-export-{}.jsonl",
        uuid::Uuid::now_v7().simple()
    ));
    let t = Instant::now();
    let file = std::fs::File::create(&path)?;
    let mut writer = ExportWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
    export_offline(store, 0, &mut writer, |_| {})
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let written = writer.finish().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let export_secs = t.elapsed().as_secs_f64();
    let export = written as f64 / export_secs;
    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    // The machine's side of it: as many bytes written to a new file, while
    // the export's file still holds its pages.
    let write_secs = write_bytes(bytes);
    let _ = std::fs::remove_file(&path);
    let write_secs = write_secs?;
    run.add(
        "baseline: the export's bytes written to a file",
        bytes as f64 / 1e6 / write_secs,
        "MB/s",
        None,
        None,
        "reference".into(),
        true,
    );
    run.add(
        "export to a file",
        export,
        "events/s",
        None,
        Some(raw),
        "≥ 300000 events/s".into(),
        export >= 300_000.0,
    );
    let size = format!(
        "each event is written as a JSON line ({} bytes on average)",
        bytes / written.max(1)
    );
    run.limited_by(if raw < 300_000.0 {
        format!("the machine: the raw database reads {raw:.0} rows/s")
    } else if write_secs >= 0.5 * export_secs {
        format!(
            "the machine: writing the export's {} MB alone takes {write_secs:.1} s here, \
             {:.0} % of the export's time; {size}",
            bytes / 1_000_000,
            100.0 * write_secs / export_secs
        )
    } else {
        format!("jejak: the raw database reads {raw:.0} rows/s; {size}")
    });
    Ok(())
}

/// Seconds to write `bytes` to a new file in 1 MiB writes and flush them
/// to the page cache, as the export does; the file is removed.
fn write_bytes(bytes: u64) -> anyhow::Result<f64> {
    use std::io::Write as _;
    let path = std::env::temp_dir().join(format!(
        "jejak-bench-write-{}.bin",
        uuid::Uuid::now_v7().simple()
    ));
    let chunk: Vec<u8> = (0..1usize << 20).map(|i| b'a' + (i % 26) as u8).collect();
    let t = Instant::now();
    let written = (|| {
        let mut file = std::fs::File::create(&path)?;
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            file.write_all(&chunk[..n])?;
            left -= n as u64;
        }
        file.flush()
    })();
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    written?;
    Ok(secs)
}
