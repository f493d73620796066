//! The Audit service's proofs: the signed checkpoint, inclusion and
//! consistency proofs (RFC 9162), and the seals, for exports.

use jejak_engine::store::merkle::leaf_hash;
use jejak_engine::store::{EventStore, StoreError};
use jejak_proto::v1 as pb;
use tonic::Status;

use crate::error::{invalid, status};

fn hexes(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

fn checkpoint_status(err: StoreError) -> Status {
    match err {
        StoreError::InvalidInput {
            field: "seal_key", ..
        } => Status::failed_precondition(
            "this server has no seal key, so it signs no checkpoints; start it with its data folder",
        ),
        other => status(other),
    }
}

/// The current signed checkpoint.
pub(crate) async fn checkpoint(store: &EventStore) -> Result<pb::SignedCheckpoint, Status> {
    let signed = store.signed_checkpoint().await.map_err(checkpoint_status)?;
    let vkey = store
        .config()
        .seal_key
        .as_ref()
        .map(|k| k.verifier().to_string())
        .unwrap_or_default();
    Ok(pb::SignedCheckpoint {
        note: signed.note,
        tree_size: signed.checkpoint.size,
        root_hash: hex::encode(signed.checkpoint.root),
        verifier_key: vkey,
    })
}

/// The size a proof is asked of: given, or the current checkpoint's.
async fn size_or_checkpoint(store: &EventStore, size: u64) -> Result<u64, Status> {
    if size > 0 {
        return Ok(size);
    }
    Ok(store
        .signed_checkpoint()
        .await
        .map_err(checkpoint_status)?
        .checkpoint
        .size)
}

/// The inclusion proof of the event at `position` in the tree of `tree_size`.
pub(crate) async fn inclusion(
    store: &EventStore,
    r: pb::ProveInclusionRequest,
) -> Result<pb::InclusionProof, Status> {
    if r.position == 0 {
        return Err(invalid("position", "positions start at 1"));
    }
    let size = size_or_checkpoint(store, r.tree_size).await?;
    let index = r.position - 1;
    let hashes = store.inclusion_proof(index, size).await.map_err(status)?;
    let event = store
        .read_all(index, 1)
        .await
        .map_err(status)?
        .pop()
        .ok_or_else(|| Status::not_found(format!("position {} is not in the log", r.position)))?;
    Ok(pb::InclusionProof {
        leaf_index: index,
        tree_size: size,
        leaf_hash: hex::encode(leaf_hash(&event.hash)),
        hashes: hexes(&hashes),
        root_hash: hex::encode(store.tree_root(size).await.map_err(status)?),
        chain_hash: hex::encode(event.hash),
    })
}

/// The consistency proof between two sizes.
pub(crate) async fn consistency(
    store: &EventStore,
    r: pb::ProveConsistencyRequest,
) -> Result<pb::ConsistencyProof, Status> {
    let new_size = size_or_checkpoint(store, r.new_size).await?;
    let hashes = store
        .consistency_proof(r.old_size, new_size)
        .await
        .map_err(status)?;
    Ok(pb::ConsistencyProof {
        old_size: r.old_size,
        new_size,
        hashes: hexes(&hashes),
        old_root: hex::encode(store.tree_root(r.old_size).await.map_err(status)?),
        new_root: hex::encode(store.tree_root(new_size).await.map_err(status)?),
    })
}

/// Seals after a position.
pub(crate) async fn seals(
    store: &EventStore,
    r: pb::ReadSealsRequest,
) -> Result<pb::ReadSealsResponse, Status> {
    let limit = match r.limit {
        0 => 10_000,
        n @ 1..=10_000 => n as usize,
        n => return Err(invalid("limit", format!("{n} is above 10000"))),
    };
    let seals = store
        .read_seals(r.after_position, limit)
        .await
        .map_err(status)?;
    Ok(pb::ReadSealsResponse {
        seals: seals
            .into_iter()
            .map(|s| pb::SealRecord {
                position: s.position,
                key_id: format!("{:08x}", s.key_id),
                signature: hex::encode(s.signature),
            })
            .collect(),
    })
}
