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

/// An attachment as payload version 2 writes it.
fn attachment_v2() -> serde_json::Value {
    serde_json::json!({
        "sha256": "ab".repeat(32),
        "uri": format!("jejak:sha256/{}", "ab".repeat(32)),
        "name": "notulen.pdf",
        "media_type": "application/pdf",
        "size": 2048,
        "asserted": false,
    })
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
        Just("attachments"),
        Just("attachment"),
        Just("indicator"),
        Just("summary"),
    ];
    let value = prop_oneof![
        Just(serde_json::json!("pka-2025-1.198001012006041001")),
        Just(serde_json::json!("m1")),
        Just(serde_json::json!("2026-01-05")),
        Just(serde_json::json!(7)),
        Just(serde_json::json!(null)),
        Just(serde_json::json!({ "nested": [1, 2] })),
        Just(attachment_v2()),
        Just(serde_json::json!([attachment_v2()])),
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
    fn a_payload_decodes_alike_read_directly_and_through_the_upcasting_path(event_type in prop_oneof![Just("EvidenceSubmitted".to_string()), Just("FinalReportSubmitted".to_string()), Just("EvidenceAdded".to_string()), Just("ReplicationRecorded".to_string())], payload in payload()) {
        // The current version (2) is read straight from the text; version 1
        // goes through a JSON tree to be upcast, which only gives an
        // attachment the fields it lacks (these have them all).
        let direct = RecordedEvent { event_version: 2, ..recorded(event_type, payload, "{}".into()) };
        let upcast = RecordedEvent { event_version: 1, ..direct.clone() };
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
    fn a_payload_version_newer_than_the_code_knows_is_refused(event_type in prop_oneof![Just("EvidenceSubmitted".to_string()), Just("MilestoneApproved".to_string()), Just("StateChanged".to_string()), any::<String>()], ahead in 1u32..1000, payload in payload()) {
        let current = jejak_engine::codec::current_version(&event_type);
        let event = RecordedEvent { event_version: current + ahead, ..recorded(event_type, payload, "{}".into()) };
        for err in [
            decode::<ProjectEvent>(&event).map(drop).unwrap_err(),
            decode::<InnovationEvent>(&event).map(drop).unwrap_err(),
            decode::<CohortEvent>(&event).map(drop).unwrap_err(),
        ] {
            prop_assert!(err.to_string().contains("upgrade jejak"), "{}", err);
        }
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
    // EvidenceAdded is at version 2: read straight from the text at 2, and
    // through the upcasting path at 1.
    let v2 = serde_json::json!({"indicator": "regulasi", "attachment": attachment_v2()});
    let mut event = recorded("EvidenceAdded".into(), v2.to_string(), "{}".into());
    event.event_version = 2;
    let direct = decode::<InnovationEvent>(&event).unwrap();
    event.event_version = 1;
    assert_eq!(decode::<InnovationEvent>(&event).unwrap(), direct);
    assert!(
        matches!(direct, InnovationEvent::EvidenceAdded { ref attachment, .. } if attachment.size == Some(2048) && !attachment.asserted)
    );
    // The event type column alone names the variant: a `type` field in the
    // payload is a field the variant does not have, and is passed over.
    let mut typed = v2.clone();
    typed["type"] = "X".into();
    event.payload = typed.to_string();
    for version in [1, 2] {
        event.event_version = version;
        assert_eq!(decode::<InnovationEvent>(&event).unwrap(), direct);
    }
    // A payload without the variant's fields, or of another shape, is refused
    // on both paths.
    for payload in [r#"{"indicator":"x"}"#, r#"["x",{}]"#, "7"] {
        event.payload = payload.into();
        for version in [1, 2] {
            event.event_version = version;
            assert!(
                decode::<InnovationEvent>(&event).is_err(),
                "{payload} v{version}"
            );
        }
    }
    // An event type at version 1 is read straight from the text.
    let event = recorded(
        "MilestoneApproved".into(),
        r#"{"milestone_id":"m1","by":"mentor-1","note":"good"}"#.into(),
        "{}".into(),
    );
    assert!(matches!(
        decode::<ProjectEvent>(&event).unwrap(),
        ProjectEvent::MilestoneApproved { ref by, .. } if by == "mentor-1"
    ));
    // An event type that names no variant is refused, and says so.
    let mut event = event;
    event.event_type = "NoSuchEvent".into();
    let err = decode::<ProjectEvent>(&event).unwrap_err().to_string();
    assert!(err.contains("unknown variant `NoSuchEvent`"), "{err}");
}

/// Version 1 of an attachment (before sizes were kept) reads as of
/// unknown size, its hash asserted.
#[test]
fn an_attachment_of_version_1_is_upcast_as_asserted_of_unknown_size() {
    let v1 = serde_json::json!({
        "milestone_id": "m1",
        "note": "",
        "attachments": [{
            "sha256": "cd".repeat(32),
            "uri": "file:///home/siti/notulen.pdf",
            "name": "notulen.pdf",
            "media_type": "application/pdf",
        }],
    });
    let event = recorded("EvidenceSubmitted".into(), v1.to_string(), "{}".into());
    let ProjectEvent::EvidenceSubmitted { attachments, .. } =
        decode::<ProjectEvent>(&event).unwrap()
    else {
        panic!("EvidenceSubmitted");
    };
    assert_eq!((attachments[0].size, attachments[0].asserted), (None, true));
    // Read as version 2, the same payload lacks the fields: it is not
    // guessed at.
    let event = RecordedEvent {
        event_version: 2,
        ..event
    };
    assert!(decode::<ProjectEvent>(&event).is_err());
}
