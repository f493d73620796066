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

/// Payloads near the real ones: objects with the fields events carry,
/// some of them of the wrong type, some extra, some missing.
fn payload() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("project_id"),
        Just("milestone_id"),
        Just("note"),
        Just("from"),
        Just("to"),
        Just("reason"),
        Just("type"),
        Just("innovation_id"),
        Just("on"),
        Just("x"),
        Just("command"),
        Just("by"),
    ];
    let value = prop_oneof![
        Just(serde_json::json!("pka-2025-1.198001012006041001")),
        Just(serde_json::json!("m1")),
        Just(serde_json::json!("2026-01-05")),
        Just(serde_json::json!(7)),
        Just(serde_json::json!(null)),
        Just(serde_json::json!({ "nested": [1, 2] })),
        any::<String>().prop_map(serde_json::Value::from),
    ];
    // Whole payloads of real events, with an extra field or a field too many.
    let real = prop_oneof![
        Just(r#"{"from":"proposed","to":"piloted","command":"start_pilot"}"#),
        Just(r#"{"milestone_id":"m1","by":"mentor-1","note":"good"}"#),
        Just(r#"{"from":"proposed","to":"piloted","command":"start_pilot","x":[1]}"#),
        Just(r#"{"milestone_id":"m1","by":"mentor-1","note":"good","type":"StateChanged"}"#),
    ];
    prop_oneof![
        real.prop_map(str::to_owned),
        prop::collection::btree_map(field, value, 0..6)
            .prop_map(|m| serde_json::to_string(&m).unwrap()),
        text(),
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
    fn a_payload_decodes_alike_read_directly_and_through_the_upcasting_path(event_type in prop_oneof![Just("ProjectProposed".to_string()), Just("MilestoneApproved".to_string()), Just("StateChanged".to_string()), Just("InnovationRegistered".to_string()), any::<String>()], payload in payload()) {
        // Version 1 is read straight from the text; any other version goes
        // through a JSON tree to be upcast (no step changes it today).
        let direct = recorded(event_type, payload, "{}".into());
        let upcast = RecordedEvent { event_version: 2, ..direct.clone() };
        macro_rules! alike {
            ($t:ty) => {{
                let (a, b) = (decode::<$t>(&direct), decode::<$t>(&upcast));
                prop_assert_eq!(a.is_ok(), b.is_ok(), "{:?} vs {:?}", a, b);
                prop_assert_eq!(a.ok(), b.ok());
            }};
        }
        alike!(ProjectEvent);
        alike!(InnovationEvent);
        alike!(CohortEvent);
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

#[test]
fn a_real_payload_decodes_on_both_paths_as_the_variant_its_event_type_names() {
    let mut event = recorded(
        "MilestoneApproved".into(),
        r#"{"milestone_id":"m1","by":"mentor-1","note":"good"}"#.into(),
        "{}".into(),
    );
    let direct = decode::<ProjectEvent>(&event).unwrap();
    event.event_version = 2;
    assert_eq!(decode::<ProjectEvent>(&event).unwrap(), direct);
    assert!(matches!(direct, ProjectEvent::MilestoneApproved { ref by, .. } if by == "mentor-1"));
    // The event type column alone names the variant: a `type` field in the
    // payload is a field the variant does not have, and is passed over.
    event.payload = r#"{"milestone_id":"m1","by":"mentor-1","note":"good","type":"X"}"#.into();
    for version in [1, 2] {
        event.event_version = version;
        assert_eq!(decode::<ProjectEvent>(&event).unwrap(), direct);
    }
    // A payload without the variant's fields, or of another shape, is refused
    // on both paths.
    for payload in [r#"{"by":"mentor-1"}"#, r#"["m1","mentor-1","good"]"#, "7"] {
        event.payload = payload.into();
        for version in [1, 2] {
            event.event_version = version;
            assert!(
                decode::<ProjectEvent>(&event).is_err(),
                "{payload} v{version}"
            );
        }
    }
    // An event type that names no variant is refused, and says so.
    event.event_type = "NoSuchEvent".into();
    event.payload = r#"{"milestone_id":"m1","by":"mentor-1","note":"good"}"#.into();
    for version in [1, 2] {
        event.event_version = version;
        let err = decode::<ProjectEvent>(&event).unwrap_err().to_string();
        assert!(err.contains("unknown variant `NoSuchEvent`"), "{err}");
    }
}
