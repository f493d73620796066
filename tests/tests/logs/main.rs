//! What the server logs, in a process of its own: these tests give each of
//! their threads a log dispatcher, which the api tests' hundreds of refused
//! calls on other threads at the same time must not disturb.

mod refused_log;

use jejak_proto::v1 as pb;

/// A participant's NIP.
pub const NIP: &str = "198703152010011003";

/// Opening a cohort, which only an organizer may do.
pub fn open_cohort() -> pb::OpenCohortRequest {
    pb::OpenCohortRequest {
        expected_version: None,
        request_id: String::new(),
        cohort_id: "pka-2026-1".into(),
        level: pb::TrainingLevel::Pka as i32,
        provider: "BPSDM Provinsi Banten".into(),
        year: 2026,
        number: 1,
        starts_on: "2026-03-01".into(),
        ends_on: "2026-06-30".into(),
        workflow: String::new(),
        workflow_version: 0,
    }
}
