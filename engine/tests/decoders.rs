//! Bad input to every decoder and parser: random bytes and random text get
//! an error, never a panic.

use chrono::Utc;
use jejak_engine::codec::decode;
use jejak_engine::domain::Role;
use jejak_engine::domain::change_project::{Grade, ProjectEvent};
use jejak_engine::domain::cohort::CohortEvent;
use jejak_engine::domain::innovation::{InnovationEvent, Source};
use jejak_engine::domain::values::{self, CohortId, Horizon, Nip, TrainingLevel};
use jejak_engine::store::{Digest, RecordedEvent, StreamId};
use jejak_engine::workflow::Workflow;
use proptest::prelude::*;

fn recorded(event_type: String, payload: String, metadata: String) -> RecordedEvent {
    RecordedEvent {
        position: 1,
        event_id: uuid::Uuid::now_v7(),
        stream_id: StreamId::parse("s").unwrap(),
        stream_type: "change_project".into(),
        stream_version: 1,
        event_type,
        event_version: 1,
        payload,
        metadata,
        recorded_at: Utc::now(),
        prev_hash: [0; 32],
        hash: [0; 32],
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..256)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        // Almost-valid JSON: objects with random keys and values.
        prop::collection::btree_map("[a-z_]{1,12}", any::<String>(), 0..6)
            .prop_map(|m| serde_json::to_string(&m).unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn event_decoders_never_panic(event_type in prop_oneof![Just("ProjectProposed".to_string()), Just("MilestoneApproved".to_string()), Just("InnovationRegistered".to_string()), any::<String>()], payload in text(), metadata in text()) {
        let event = recorded(event_type, payload, metadata);
        let _ = decode::<ProjectEvent>(&event);
        let _ = decode::<InnovationEvent>(&event);
        let _ = decode::<CohortEvent>(&event);
        let _ = event.decoded_metadata();
        let _ = event.decode_payload::<serde_json::Value>();
    }

    #[test]
    fn value_parsers_refuse_garbage_with_an_error(input in any::<String>()) {
        let _ = Nip::parse(&input);
        let _ = CohortId::parse(&input);
        let _ = TrainingLevel::parse(&input);
        let _ = Horizon::parse("horizon", &input);
        let _ = Role::parse(&input);
        let _ = Source::parse(&input);
        let _ = Grade::parse(&input);
        let _ = values::date("date", &input);
        let _ = values::short("name", &input);
        let _ = StreamId::parse(input.clone());
        let _ = Digest::parse(&input);
        prop_assert!(Workflow::parse("random.toml", &input).is_err());
    }
}
