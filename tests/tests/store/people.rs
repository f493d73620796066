//! The people index (ADR 0020): one opaque person id per NIP, agreed by
//! every concurrent caller, deleted when the person is erased.

use jejak_engine::domain::values::Nip;
use jejak_tests::{TestDb, on_both_backends};

on_both_backends!(
    a_nip_has_one_person_id_however_many_ask_at_once,
    a_forgotten_person_is_no_longer_found_by_their_nip,
);

async fn a_nip_has_one_person_id_however_many_ask_at_once(db: &TestDb) {
    let store = db.open().await;
    let nip = Nip::parse("198703152010011003").unwrap();
    assert_eq!(store.find_person(&nip).await.unwrap(), None);
    let asks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let nip = nip.clone();
            tokio::spawn(async move { store.person_for_nip(&nip).await.unwrap() })
        })
        .collect();
    let mut ids = Vec::new();
    for ask in asks {
        ids.push(ask.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every caller got the same person id: {ids:?}");
    let person = ids.pop().unwrap();
    assert_eq!(store.find_person(&nip).await.unwrap(), Some(person.clone()));
    // Opaque: a UUIDv7 with nothing of the NIP in it.
    let uuid = uuid::Uuid::parse_str(person.as_str()).unwrap();
    assert_eq!(uuid.get_version_num(), 7);
    assert!(!person.as_str().contains(nip.as_str()));
    let other = Nip::parse("199001012015032001").unwrap();
    assert_ne!(store.person_for_nip(&other).await.unwrap(), person);
}

async fn a_forgotten_person_is_no_longer_found_by_their_nip(db: &TestDb) {
    let store = db.open().await;
    let nip = Nip::parse("198703152010011003").unwrap();
    let person = store.person_for_nip(&nip).await.unwrap();
    assert!(store.forget_person(&person).await.unwrap());
    assert_eq!(store.find_person(&nip).await.unwrap(), None);
    assert!(
        !store.forget_person(&person).await.unwrap(),
        "nothing left to forget"
    );
    // Enrolled again later, they are a new person to jejak.
    assert_ne!(store.person_for_nip(&nip).await.unwrap(), person);
}
