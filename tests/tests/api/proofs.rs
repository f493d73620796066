//! The Audit service's proofs over gRPC: a signed checkpoint, inclusion
//! and consistency proofs checked here against it, the seals; and only
//! auditors may ask.

use jejak_engine::domain::Role;
use jejak_engine::store::SignedCheckpoint;
use jejak_engine::store::merkle::{check_consistency, check_inclusion};
use jejak_proto::v1 as pb;
use jejak_tests::app::{spawn_app, test_seal_key};
use jejak_tests::{TestDb, on_both_backends};

on_both_backends!(an_auditor_checks_proofs_against_a_signed_checkpoint);

fn unhex(h: &str) -> [u8; 32] {
    hex::decode(h).unwrap().try_into().unwrap()
}

async fn an_auditor_checks_proofs_against_a_signed_checkpoint(db: &TestDb) {
    let app = spawn_app(db).await;
    let auditor = app.token(Role::Auditor, "inspektorat-1");
    let vkey = test_seal_key().verifier();
    let cp = app
        .audit(&auditor)
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cp.verifier_key, vkey.to_string());
    let signed = SignedCheckpoint::verify(&cp.note, &vkey)
        .unwrap()
        .checkpoint;
    assert!(signed.size > 0, "the workflow definitions are in the log");
    assert_eq!(signed.size, cp.tree_size);

    let p = app
        .audit(&auditor)
        .prove_inclusion(pb::ProveInclusionRequest {
            position: 1,
            tree_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let hashes: Vec<[u8; 32]> = p.hashes.iter().map(|h| unhex(h)).collect();
    check_inclusion(&hashes, signed.size, &signed.root, 0, &unhex(&p.leaf_hash)).unwrap();

    let c = app
        .audit(&auditor)
        .prove_consistency(pb::ProveConsistencyRequest {
            old_size: 1,
            new_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let hashes: Vec<[u8; 32]> = c.hashes.iter().map(|h| unhex(h)).collect();
    check_consistency(&hashes, signed.size, &signed.root, 1, &unhex(&c.old_root)).unwrap();

    let verified = app
        .audit(&auditor)
        .verify(pb::VerifyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{}", verified.message);
    assert_eq!(verified.sealed_to, signed.size);
    let seals = app
        .audit(&auditor)
        .read_seals(pb::ReadSealsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .seals;
    assert_eq!(seals.last().unwrap().position, signed.size);

    // Bad input names the field; others than auditors are refused.
    let err = app
        .audit(&auditor)
        .prove_inclusion(pb::ProveInclusionRequest {
            position: signed.size + 1,
            tree_size: signed.size,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    let participant = app.token(Role::Participant, "198703152010011003");
    let err = app
        .audit(&participant)
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    app.stop().await;
}
