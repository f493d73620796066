//! Random and malformed messages to the write RPCs: every call gets an
//! answer (an error or a write), the server never falls over, and the log
//! stays valid.

use jejak_proto::v1 as pb;
use jejak_tests::TestDb;
use jejak_tests::app::spawn_app;
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;

use super::*;

fn wild() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9.-]{1,20}",
        any::<String>(),
        "[0-9]{18}",
        "20[0-9]{2}-[0-9]{2}-[0-9]{2}",
        Just("x".repeat(6_000)),
    ]
}

#[derive(Debug, Clone)]
struct Wild {
    a: String,
    b: String,
    c: String,
    d: String,
    n: u32,
    e: i32,
}

fn wilds() -> impl Strategy<Value = Wild> {
    (wild(), wild(), wild(), wild(), any::<u32>(), -2i32..12).prop_map(|(a, b, c, d, n, e)| Wild {
        a,
        b,
        c,
        d,
        n,
        e,
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The chain verifies after whatever was sent.
async fn assert_log_intact(app: &jejak_tests::app::TestApp, p: &People) {
    let verified = app
        .audit(&p.auditor)
        .verify(pb::VerifyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{}", verified.message);
}

#[test]
fn random_requests_to_the_write_rpcs_get_answers_and_leave_the_log_valid() {
    let rt = runtime();
    rt.block_on(async {
        let db = TestDb::sqlite();
        let app = spawn_app(&db).await;
        let p = People::of(&app);
        proposed(&app, &p).await;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for _ in 0..150 {
            let w = wilds().new_tree(&mut runner).unwrap().current();
            let attachment = pb::Attachment {
                sha256: w.a.clone(),
                uri: w.b.clone(),
                name: w.c.clone(),
                media_type: w.d.clone(),
                ..pb::Attachment::default()
            };
            let calls: Vec<Result<(), tonic::Status>> = vec![
                app.cohorts(&p.organizer)
                    .open_cohort(pb::OpenCohortRequest {
                        expected_version: None,
                        request_id: w.a.clone(),
                        cohort_id: w.b.clone(),
                        level: w.e,
                        provider: w.c.clone(),
                        year: w.n as i32,
                        number: w.n,
                        starts_on: w.d.clone(),
                        ends_on: w.a.clone(),
                        workflow: w.c.clone(),
                        workflow_version: 0,
                    })
                    .await
                    .map(drop),
                app.cohorts(&p.organizer)
                    .enrol_participant(pb::EnrolParticipantRequest {
                        expected_version: None,
                        request_id: w.b.clone(),
                        cohort_id: COHORT.into(),
                        participant: Some(pb::ParticipantInfo {
                            nip: w.a.clone(),
                            name: w.b.clone(),
                            position: w.c.clone(),
                            opd: w.d.clone(),
                        }),
                        mentor: w.a.clone(),
                        coach: w.b.clone(),
                        examiners: vec![w.c.clone()],
                    })
                    .await
                    .map(drop),
                app.projects(&p.participant)
                    .revise_proposal(pb::ReviseProposalRequest {
                        expected_version: None,
                        request_id: w.c.clone(),
                        project_id: project_id(),
                        proposal: Some(pb::Proposal {
                            title: w.a.clone(),
                            change_area: w.b.clone(),
                            problem: w.c.clone(),
                            baseline: w.d.clone(),
                            goal_short_term: w.a.clone(),
                            milestones: vec![pb::MilestonePlan {
                                id: w.b.clone(),
                                horizon: w.e,
                                title: w.c.clone(),
                                due: w.d.clone(),
                                expected_output: w.a.clone(),
                            }],
                            ..Default::default()
                        }),
                    })
                    .await
                    .map(drop),
                app.projects(&p.participant)
                    .submit_evidence(pb::SubmitEvidenceRequest {
                        expected_version: None,
                        request_id: w.d.clone(),
                        project_id: w.a.clone(),
                        milestone_id: w.b.clone(),
                        attachments: vec![attachment.clone()],
                        note: w.c.clone(),
                    })
                    .await
                    .map(drop),
                app.mentoring(&p.mentor)
                    .return_milestone(pb::MilestoneDecision {
                        expected_version: None,
                        request_id: w.a.clone(),
                        project_id: project_id(),
                        milestone_id: w.c.clone(),
                        reason: w.d.clone(),
                    })
                    .await
                    .map(drop),
                app.seminars(&p.examiner)
                    .record_final_seminar(pb::FinalSeminarRequest {
                        expected_version: None,
                        request_id: w.b.clone(),
                        project_id: project_id(),
                        ratings: vec![pb::TargetRating {
                            milestone_id: w.a.clone(),
                            rating: w.e,
                        }],
                        score: w.n,
                        notes: w.c.clone(),
                    })
                    .await
                    .map(drop),
                app.innovations(&p.brida)
                    .register_innovation(pb::RegisterInnovationRequest {
                        expected_version: None,
                        request_id: w.c.clone(),
                        innovation_id: w.a.clone(),
                        name: w.b.clone(),
                        opd: w.c.clone(),
                        unit: w.d.clone(),
                        region: w.a.clone(),
                        source: w.e,
                        initiator_type: w.b.clone(),
                        form: w.e,
                        digital: w.n.is_multiple_of(2),
                        sector: w.c.clone(),
                        sdgs: vec![w.n % 20],
                        goal: w.d.clone(),
                        benefit: w.a.clone(),
                        budget: u64::from(w.n),
                        legal_basis: String::new(),
                    })
                    .await
                    .map(drop),
                app.innovations(&p.brida)
                    .add_evidence(pb::AddEvidenceRequest {
                        expected_version: None,
                        request_id: w.d.clone(),
                        innovation_id: w.b.clone(),
                        indicator: w.c.clone(),
                        attachment: Some(attachment),
                    })
                    .await
                    .map(drop),
                app.admin(&p.organizer)
                    .register_workflow(pb::RegisterWorkflowRequest {
                        request_id: w.a.clone(),
                        file_name: w.b.clone(),
                        source: w.c.clone(),
                    })
                    .await
                    .map(drop),
            ];
            for result in calls {
                if let Err(status) = result {
                    assert!(
                        !matches!(
                            status.code(),
                            tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::Unavailable
                        ),
                        "an honest answer, not a failure: {status:?} for {w:?}"
                    );
                }
            }
        }
        assert_log_intact(&app, &p).await;
        app.stop().await;
    });
}

/// Sends any bytes as a message and hands back whatever comes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawBytes;

impl tonic::codec::Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Self;
    type Decoder = Self;
    fn encoder(&mut self) -> Self {
        Self
    }
    fn decoder(&mut self) -> Self {
        Self
    }
}

impl tonic::codec::Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let n = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, n).to_vec()))
    }
}

/// Every method of every jejak service: its path and whether it streams.
fn methods() -> Vec<(String, bool)> {
    use prost::Message as _;
    let set = prost_types::FileDescriptorSet::decode(jejak_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods = Vec::new();
    for file in set.file {
        for service in &file.service {
            for method in &service.method {
                methods.push((
                    format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                    method.server_streaming(),
                ));
            }
        }
    }
    methods
}

/// Bodies that are not the message the method expects: random bytes, and
/// protobuf that lies about lengths, overflows varints or nests too deep.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 64..2048),
        Just(vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        Just(vec![
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
        ]),
        Just([0x0a, 0x02].repeat(200)),
        Just(vec![0x0a, 0x04, 0xff, 0xfe, 0xfd, 0xfc]),
        Just(vec![0x7f; 9]),
        // Field 2 (an id or a message) holding bytes that are not UTF-8.
        Just(vec![0x12, 0x02, 0xff, 0xfe]),
    ]
}

#[test]
fn random_bytes_as_request_bodies_to_every_rpc_get_answers_and_leave_the_log_valid() {
    let rt = runtime();
    rt.block_on(async {
        let db = TestDb::sqlite();
        let app = spawn_app(&db).await;
        let p = People::of(&app);
        proposed(&app, &p).await;
        let tokens = [
            &p.organizer,
            &p.participant,
            &p.mentor,
            &p.brida,
            &p.auditor,
            &p.admin,
        ];
        let methods = methods();
        assert!(methods.len() > 30, "every service's methods: {methods:?}");
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for round in 0..30 {
            for (m, (path, streaming)) in methods.iter().enumerate() {
                let body = bodies().new_tree(&mut runner).unwrap().current();
                let token = tokens[(round + m) % tokens.len()];
                let mut grpc = tonic::client::Grpc::new(app.authed(Some(token)));
                grpc.ready().await.expect("the server takes calls");
                let path: tonic::codegen::http::uri::PathAndQuery = path.parse().unwrap();
                let request = tonic::Request::new(body.clone());
                let answer = if *streaming {
                    grpc.server_streaming(request, path.clone(), RawBytes)
                        .await
                        .map(drop)
                } else {
                    grpc.unary(request, path.clone(), RawBytes).await.map(drop)
                };
                if let Err(status) = answer {
                    let honest = match status.code() {
                        // A message that does not parse is the caller's mistake.
                        tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::Unavailable => {
                            false
                        }
                        _ => true,
                    };
                    assert!(honest, "{path} with {body:02x?}: {status:?}");
                }
            }
        }
        assert_log_intact(&app, &p).await;
        app.stop().await;
    });
}
