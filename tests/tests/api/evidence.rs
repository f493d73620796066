//! Evidence files over gRPC (ADR 0026): uploads stored by the hash the
//! server computes, in a folder through object_store's local backend;
//! limits and media types; who may download; a submission naming a file
//! that is not stored; what the mentor's inbox shows; the auditor's
//! re-hash finding an altered and a missing file.

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_server::evidence::{EvidenceConfig, EvidenceStore};
use jejak_tests::TestDb;
use jejak_tests::app::{TestApp, spawn_app_with};
use sha2::{Digest as _, Sha256};
use tonic::Code;

use super::{People, action, file, project_id, proposed};

jejak_tests::on_both_backends!(
    stored_files_are_uploaded_fetched_by_who_may_read_and_shown_in_the_inbox,
    an_auditor_finds_an_altered_and_a_missing_file,
    an_innovations_officer_uploads_evidence_that_its_readers_fetch,
    a_stored_file_is_recorded_only_where_it_was_uploaded
);

const LIMIT: u64 = 256 * 1024;

pub(super) async fn app_with_folder(db: &TestDb) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::folder(&dir.path().join("evidence")).unwrap();
    let app = spawn_app_with(db, |config| {
        config.evidence = EvidenceConfig {
            store,
            max_bytes: LIMIT,
            ..EvidenceConfig::default()
        };
    })
    .await;
    (app, dir)
}

/// Proposed, agreed, approved, accepted and in the workplace phase.
pub(super) async fn in_workplace(app: &TestApp, p: &People) {
    proposed(app, p).await;
    let mentor = app.mentoring(&p.mentor);
    mentor
        .clone()
        .agree_change_area(action("agree"))
        .await
        .unwrap();
    mentor
        .clone()
        .approve_action_plan(action("approve-plan"))
        .await
        .unwrap();
    app.seminars(&p.examiner)
        .record_proposal_seminar(pb::ProposalSeminarRequest {
            expected_version: None,
            request_id: "seminar".into(),
            project_id: project_id(),
            accepted: true,
            notes: String::new(),
        })
        .await
        .unwrap();
    app.cohorts(&p.organizer)
        .start_workplace_phase(action("start"))
        .await
        .unwrap();
}

fn upload_parts(project: &str, name: &str, media: &str, content: &[u8]) -> Vec<pb::UploadRequest> {
    let mut parts = vec![pb::UploadRequest {
        part: Some(pb::upload_request::Part::Metadata(pb::UploadMetadata {
            project_id: project.into(),
            innovation_id: String::new(),
            name: name.into(),
            media_type: media.into(),
        })),
    }];
    parts.extend(content.chunks(64 * 1024).map(|c| pb::UploadRequest {
        part: Some(pb::upload_request::Part::Chunk(c.to_vec())),
    }));
    parts
}

/// A file a PDF reader would recognise: the PDF header, then `body`.
pub(super) fn pdf(body: &[u8]) -> Vec<u8> {
    [b"%PDF-1.7\n".as_slice(), body].concat()
}

/// A PDF of `len` bytes.
pub(super) fn pdf_of(len: usize) -> Vec<u8> {
    let mut bytes = pdf(b"");
    bytes.extend((bytes.len()..len).map(|i| (i % 251) as u8));
    bytes
}

pub(super) async fn upload(
    app: &TestApp,
    token: &str,
    name: &str,
    media: &str,
    content: &[u8],
) -> Result<pb::UploadResponse, tonic::Status> {
    app.evidence(token)
        .upload(tokio_stream::iter(upload_parts(
            &project_id(),
            name,
            media,
            content,
        )))
        .await
        .map(tonic::Response::into_inner)
}

pub(super) async fn download(
    app: &TestApp,
    token: &str,
    file: &str,
) -> Result<(pb::Attachment, Vec<u8>), tonic::Status> {
    let mut stream = app
        .evidence(token)
        .download(pb::DownloadRequest {
            file: file.into(),
            project_id: project_id(),
            innovation_id: String::new(),
        })
        .await?
        .into_inner();
    let mut attachment = None;
    let mut bytes = Vec::new();
    while let Some(message) = stream.message().await? {
        if let Some(a) = message.attachment {
            attachment = Some(a);
        }
        bytes.extend(message.chunk);
    }
    Ok((attachment.expect("the first message names the file"), bytes))
}

fn submit(
    id: &str,
    milestone: &str,
    attachments: Vec<pb::Attachment>,
) -> pb::SubmitEvidenceRequest {
    pb::SubmitEvidenceRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        milestone_id: milestone.into(),
        attachments,
        note: String::new(),
    }
}

/// Every file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

async fn stored_files_are_uploaded_fetched_by_who_may_read_and_shown_in_the_inbox(db: &TestDb) {
    let (app, dir) = app_with_folder(db).await;
    let p = People::of(&app);
    in_workplace(&app, &p).await;

    // Uploaded in chunks; the server computes hash and size.
    let content = pdf_of(200_000);
    let hash = hex::encode(Sha256::digest(&content));
    let stored = upload(
        &app,
        &p.participant,
        "notulen.pdf",
        "application/pdf",
        &content,
    )
    .await
    .unwrap();
    let attachment = stored.attachment.clone().unwrap();
    assert_eq!(attachment.uri, format!("jejak:sha256/{hash}"));
    assert_eq!(
        (
            attachment.sha256.as_str(),
            attachment.size,
            attachment.asserted
        ),
        (hash.as_str(), Some(200_000), false)
    );
    assert!(!stored.already_stored);
    let again = upload(
        &app,
        &p.participant,
        "salinan.pdf",
        "application/pdf",
        &content,
    )
    .await
    .unwrap();
    assert!(again.already_stored, "the same content is kept once");

    // Refused: a type not on the list, a file whose content is not of its
    // declared type, a file over the limit, an empty one.
    let refused = upload(
        &app,
        &p.participant,
        "x.exe",
        "application/x-msdownload",
        b"MZ",
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("application/pdf"),
        "{}",
        refused.message()
    );
    let disguised = upload(
        &app,
        &p.participant,
        "notulen.pdf",
        "application/pdf",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",
    )
    .await
    .unwrap_err();
    assert_eq!(disguised.code(), Code::InvalidArgument, "{disguised:?}");
    assert!(
        disguised
            .message()
            .contains("declared application/pdf, but its content is"),
        "{}",
        disguised.message()
    );
    let big = vec![7u8; LIMIT as usize + 1];
    let refused = upload(&app, &p.participant, "besar.pdf", "application/pdf", &big)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let refused = upload(&app, &p.participant, "kosong.pdf", "application/pdf", b"")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    // Nothing is left of the refused uploads: one file in the folder (and
    // the record of what it was uploaded for).
    let kept: Vec<_> = files_under(&dir.path().join("evidence"))
        .into_iter()
        .filter(|f| !f.starts_with(dir.path().join("evidence/grants")))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&kept[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Who may upload: the project's participant (and mentor), not a coach,
    // and not someone else's mentor, who does not see the project at all.
    let coach = upload(&app, &p.coach, "c.pdf", "application/pdf", &pdf(b"x"))
        .await
        .unwrap_err();
    assert_eq!(coach.code(), Code::PermissionDenied, "{coach:?}");
    let stranger = app.token(Role::Mentor, "mentor-2");
    let refused = upload(&app, &stranger, "c.pdf", "application/pdf", &pdf(b"x"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");

    // A submission naming a file that is not stored is refused.
    let missing = pb::Attachment {
        sha256: "ef".repeat(32),
        uri: format!("jejak:sha256/{}", "ef".repeat(32)),
        name: "hilang.pdf".into(),
        media_type: "application/pdf".into(),
        ..pb::Attachment::default()
    };
    let refused = app
        .projects(&p.participant)
        .submit_evidence(submit("ev-missing", "m1", vec![missing]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("upload it first"),
        "{}",
        refused.message()
    );

    // The stored file and a link kept elsewhere, submitted together; the
    // server decides `asserted` and the stored file's size, whatever the
    // request says.
    let mut claimed = attachment.clone();
    claimed.size = Some(1);
    let link = pb::Attachment {
        size: Some(5_000),
        asserted: false,
        ..file("daftar-hadir.pdf")
    };
    let written = app
        .projects(&p.participant)
        .submit_evidence(submit("ev-m1", "m1", vec![claimed, link.clone()]))
        .await
        .unwrap()
        .into_inner();

    // The mentor's inbox shows what is to be approved, and how to fetch it.
    let inbox = app
        .mentoring(&p.mentor)
        .get_inbox(pb::GetInboxRequest {
            min_position: written.position,
        })
        .await
        .unwrap()
        .into_inner();
    let item = inbox
        .items
        .iter()
        .find(|i| i.kind == pb::InboxKind::MilestoneEvidence as i32)
        .expect("the milestone waits");
    assert_eq!(
        (
            item.milestone_id.as_str(),
            item.milestone_title.as_str(),
            item.expected_output.as_str()
        ),
        ("m1", "Tahap m1", "SK tim efektif, notulen, daftar hadir")
    );
    assert_eq!(item.change_area, "Pelayanan perizinan");
    assert_eq!(item.evidence.len(), 2);
    assert_eq!(
        item.evidence[0], attachment,
        "stored: the server's size, not asserted"
    );
    assert_eq!(
        (
            item.evidence[1].uri.as_str(),
            item.evidence[1].size,
            item.evidence[1].asserted
        ),
        (link.uri.as_str(), Some(5_000), true)
    );

    // Who may read the project downloads it, by URI or by hash.
    for token in [&p.mentor, &p.participant, &p.examiner, &p.auditor] {
        let (got, bytes) = download(&app, token, &attachment.uri).await.unwrap();
        assert_eq!(got.sha256, hash);
        assert!(bytes == content, "the same bytes");
    }
    let (_, bytes) = download(&app, &p.organizer, &hash).await.unwrap();
    assert_eq!(bytes.len(), content.len());
    // Others are told the project does not exist.
    let other = app.token(Role::Participant, "0192f5e4-0000-7000-8000-000000000001");
    for token in [&stranger, &p.officer, &other] {
        let refused = download(&app, token, &attachment.uri).await.unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    }
    // A file this project's evidence does not name is not served through it.
    let refused = download(&app, &p.mentor, &"ef".repeat(32))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    let refused = download(&app, &p.mentor, "notulen.pdf").await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
}

async fn an_auditor_finds_an_altered_and_a_missing_file(db: &TestDb) {
    let (app, _dir) = app_with_folder(db).await;
    let p = People::of(&app);
    in_workplace(&app, &p).await;
    let mut stored = Vec::new();
    for (m, text) in [
        ("m1", "notulen rapat"),
        ("m2", "daftar hadir"),
        ("m3", "foto kegiatan"),
    ] {
        let a = upload(
            &app,
            &p.participant,
            &format!("{m}.txt"),
            "text/plain",
            text.as_bytes(),
        )
        .await
        .unwrap()
        .attachment
        .unwrap();
        app.projects(&p.participant)
            .submit_evidence(submit(&format!("ev-{m}"), m, vec![a.clone()]))
            .await
            .unwrap();
        stored.push(a);
    }
    let audit = || async {
        app.evidence(&p.auditor)
            .audit_files(pb::AuditFilesRequest {})
            .await
            .map(tonic::Response::into_inner)
    };
    let clean = audit().await.unwrap();
    assert_eq!((clean.checked, clean.intact), (3, 3));
    assert!(clean.findings.is_empty());

    let files = &app.app.evidence().store;
    std::fs::write(files.file_of(&stored[0].sha256).unwrap(), b"notulen palsu").unwrap();
    std::fs::remove_file(files.file_of(&stored[2].sha256).unwrap()).unwrap();
    let report = audit().await.unwrap();
    assert_eq!((report.checked, report.intact), (3, 1));
    let found: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.sha256.clone(), f.problem, f.name.clone()))
        .collect();
    let mut expected = vec![
        (
            stored[0].sha256.clone(),
            pb::FileProblem::Altered as i32,
            "m1.txt".to_owned(),
        ),
        (
            stored[2].sha256.clone(),
            pb::FileProblem::Missing as i32,
            "m3.txt".to_owned(),
        ),
    ];
    expected.sort();
    let mut found = found;
    found.sort();
    assert_eq!(found, expected);
    let altered = report
        .findings
        .iter()
        .find(|f| f.problem == pb::FileProblem::Altered as i32)
        .unwrap();
    assert_eq!(
        altered.actual_sha256,
        hex::encode(Sha256::digest(b"notulen palsu"))
    );

    // Only an auditor audits.
    let refused = app
        .evidence(&p.participant)
        .audit_files(pb::AuditFilesRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
}

async fn an_innovations_officer_uploads_evidence_that_its_readers_fetch(db: &TestDb) {
    let (app, _dir) = app_with_folder(db).await;
    let p = People::of(&app);
    app.innovations(&p.brida)
        .register_innovation(super::refusals::register("inv-1"))
        .await
        .unwrap();
    let health = app.officer_token("officer-dinkes", "dinkes");
    let parts = |innovation: &str| {
        vec![
            pb::UploadRequest {
                part: Some(pb::upload_request::Part::Metadata(pb::UploadMetadata {
                    project_id: String::new(),
                    innovation_id: innovation.into(),
                    name: "perwal.pdf".into(),
                    media_type: "application/pdf".into(),
                })),
            },
            pb::UploadRequest {
                part: Some(pb::upload_request::Part::Chunk(b"%PDF-1.4 perwal".to_vec())),
            },
        ]
    };
    let attachment = app
        .evidence(&health)
        .upload(tokio_stream::iter(parts("inv-1")))
        .await
        .unwrap()
        .into_inner()
        .attachment
        .unwrap();
    // Another OPD's officer is told it does not exist.
    let refused = app
        .evidence(&p.officer)
        .upload(tokio_stream::iter(parts("inv-1")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    app.innovations(&health)
        .add_evidence(pb::AddEvidenceRequest {
            expected_version: None,
            request_id: "ev".into(),
            innovation_id: "inv-1".into(),
            indicator: "regulasi".into(),
            attachment: Some(attachment.clone()),
        })
        .await
        .unwrap();
    let fetch = |token: &str| {
        let mut client = app.evidence(token);
        let uri = attachment.uri.clone();
        async move {
            let mut stream = client
                .download(pb::DownloadRequest {
                    file: uri,
                    project_id: String::new(),
                    innovation_id: "inv-1".into(),
                })
                .await?
                .into_inner();
            let mut bytes = Vec::new();
            while let Some(message) = stream.message().await? {
                bytes.extend(message.chunk);
            }
            Ok::<_, tonic::Status>(bytes)
        }
    };
    for token in [&health, &p.brida, &p.auditor] {
        assert_eq!(fetch(token).await.unwrap(), b"%PDF-1.4 perwal");
    }
    for token in [&p.officer, &p.participant] {
        let refused = fetch(token).await.unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    }
}

/// A hash alone opens nothing (ADR 0026): a file uploaded for an
/// innovation cannot be attached to a project by naming its hash (and so
/// fetched through it); BRIDA, which may act on a project but reads none,
/// fetches none of its files.
async fn a_stored_file_is_recorded_only_where_it_was_uploaded(db: &TestDb) {
    let (app, _dir) = app_with_folder(db).await;
    let p = People::of(&app);
    in_workplace(&app, &p).await;
    app.innovations(&p.brida)
        .register_innovation(super::refusals::register("inv-1"))
        .await
        .unwrap();
    let health = app.officer_token("officer-dinkes", "dinkes");
    let secret = b"%PDF-1.4 surat rahasia dinas kesehatan".to_vec();
    let theirs = app
        .evidence(&health)
        .upload(tokio_stream::iter(vec![
            pb::UploadRequest {
                part: Some(pb::upload_request::Part::Metadata(pb::UploadMetadata {
                    project_id: String::new(),
                    innovation_id: "inv-1".into(),
                    name: "rahasia.pdf".into(),
                    media_type: "application/pdf".into(),
                })),
            },
            pb::UploadRequest {
                part: Some(pb::upload_request::Part::Chunk(secret.clone())),
            },
        ]))
        .await
        .unwrap()
        .into_inner()
        .attachment
        .unwrap();
    // The participant names its hash on her own project: refused, nothing written.
    let refused = app
        .projects(&p.participant)
        .submit_evidence(submit("steal", "m1", vec![theirs.clone()]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("not uploaded for this project"),
        "{refused:?}"
    );
    let fetched = download(&app, &p.participant, &theirs.uri)
        .await
        .unwrap_err();
    assert_eq!(fetched.code(), Code::NotFound, "{fetched:?}");
    // Uploaded for the project, the same bytes may be recorded there.
    let own = upload(
        &app,
        &p.participant,
        "surat.pdf",
        "application/pdf",
        &secret,
    )
    .await
    .unwrap()
    .attachment
    .unwrap();
    assert_eq!(own.sha256, theirs.sha256);
    app.projects(&p.participant)
        .submit_evidence(submit("own", "m1", vec![own.clone()]))
        .await
        .unwrap();
    assert!(download(&app, &p.mentor, &own.uri).await.is_ok());
    assert!(download(&app, &p.participant, &own.uri).await.is_ok());
    // The mentor's download is on the participant's record of reads; her own is not.
    let person = app
        .cohorts(&p.organizer)
        .find_participant(pb::FindParticipantRequest {
            nip: super::NIP.into(),
            cohort_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .person_id;
    let report = app
        .admin(&p.auditor)
        .get_privacy_report(pb::PrivacyReportRequest { person_id: person })
        .await
        .unwrap()
        .into_inner();
    let downloads: Vec<&str> = report
        .reads
        .iter()
        .filter(|r| r.why.starts_with("Evidence.Download"))
        .map(|r| r.reader.as_str())
        .collect();
    assert_eq!(downloads, ["mentor-1"], "{report:?}");
    // BRIDA reads no project, nor its files.
    let brida = download(&app, &p.brida, &own.uri).await.unwrap_err();
    assert_eq!(brida.code(), Code::NotFound, "{brida:?}");
    app.stop().await;
}
