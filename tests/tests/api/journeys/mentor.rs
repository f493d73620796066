//! The mentor: the inbox with what is to be approved and its files,
//! decisions with reasons, a plan change, and the hand-over on reassignment.

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::{TestDb, on_both_backends};
use sha2::{Digest as _, Sha256};
use tonic::Code;

use super::*;

on_both_backends!(a_mentor_opens_the_evidence_decides_and_hands_over);

async fn a_mentor_opens_the_evidence_decides_and_hands_over(db: &TestDb) {
    let (app, _files) = app_with_folder(db).await;
    let p = People::of(&app);
    let proposed = proposed(&app, &p).await;
    // The proposal waits in her inbox with what is to be agreed.
    let waiting = inbox(&app, &p.mentor, proposed.position).await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].kind, pb::InboxKind::Proposal as i32);
    assert_eq!(
        (
            waiting[0].participant_name.as_str(),
            waiting[0].change_area.as_str()
        ),
        ("Siti Rahmawati", "Pelayanan perizinan")
    );
    in_workplace_from_proposed(&app, &p).await;

    // The participant uploads a file; the inbox item carries its name,
    // type, size, hash and where to fetch it; the mentor downloads it.
    let content = pdf_of(70_000);
    let hash = hex::encode(Sha256::digest(&content));
    let stored = upload(
        &app,
        &p.participant,
        "sk-tim.pdf",
        "application/pdf",
        &content,
    )
    .await
    .unwrap()
    .attachment
    .unwrap();
    let submitted = app
        .projects(&p.participant)
        .submit_evidence(submit("ev-m1", "m1", vec![stored]))
        .await
        .unwrap()
        .into_inner();
    let waiting = inbox(&app, &p.mentor, submitted.position).await;
    let item = waiting
        .iter()
        .find(|i| i.kind == pb::InboxKind::MilestoneEvidence as i32)
        .expect("m1 waits");
    assert_eq!(item.milestone_id, "m1");
    let [evidence] = &item.evidence[..] else {
        panic!("one file: {item:?}");
    };
    assert_eq!(
        (
            evidence.name.as_str(),
            evidence.media_type.as_str(),
            evidence.size,
            evidence.sha256.as_str(),
            evidence.uri.clone(),
            evidence.asserted
        ),
        (
            "sk-tim.pdf",
            "application/pdf",
            Some(70_000),
            hash.as_str(),
            format!("jejak:sha256/{hash}"),
            false
        )
    );
    let (_, bytes) = download(&app, &p.mentor, &evidence.uri).await.unwrap();
    assert!(bytes == content, "the mentor reads the file as uploaded");

    // A return needs a reason; with one, it goes back to the participant.
    let reasonless = app
        .mentoring(&p.mentor)
        .return_milestone(decision("return-bare", "m1", ""))
        .await
        .unwrap_err();
    assert_eq!(reasonless.code(), Code::InvalidArgument, "{reasonless:?}");
    let returned = app
        .mentoring(&p.mentor)
        .return_milestone(decision("return-m1", "m1", "Tanda tangan belum ada"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        inbox(&app, &p.mentor, returned.position)
            .await
            .iter()
            .all(|i| i.kind != pb::InboxKind::MilestoneEvidence as i32),
        "nothing of m1 waits once returned"
    );
    app.projects(&p.participant)
        .submit_evidence(submit("ev-m1-again", "m1", vec![file("sk-tim-ttd.pdf")]))
        .await
        .unwrap();
    app.mentoring(&p.mentor)
        .approve_milestone(decision("ok-m1", "m1", "Lengkap"))
        .await
        .unwrap();

    // A plan change waits for her; she approves it.
    let requested = app
        .projects(&p.participant)
        .request_plan_change(plan_change("change", "2026-06-25"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        inbox(&app, &p.mentor, requested.position)
            .await
            .iter()
            .any(|i| i.kind == pb::InboxKind::PlanChange as i32)
    );
    app.mentoring(&p.mentor)
        .approve_plan_change(action("approve-change"))
        .await
        .unwrap();

    // m2 waits when the organizer reassigns the project to mentor-2: from
    // then on the project, its page and the open item are mentor-2's.
    let pending = app
        .projects(&p.participant)
        .submit_evidence(submit("ev-m2", "m2", vec![file("bukti-m2.pdf")]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(inbox(&app, &p.mentor, pending.position).await.len(), 1);
    let reassigned = app
        .cohorts(&p.organizer)
        .reassign_staff(pb::EnrolParticipantRequest {
            request_id: "reassign".into(),
            mentor: "mentor-2".into(),
            ..enrol()
        })
        .await
        .unwrap()
        .into_inner();
    let new_mentor = app.token(Role::Mentor, "mentor-2");
    assert!(inbox(&app, &p.mentor, reassigned.position).await.is_empty());
    let moved = inbox(&app, &new_mentor, reassigned.position).await;
    assert_eq!(
        moved
            .iter()
            .map(|i| i.milestone_id.as_str())
            .collect::<Vec<_>>(),
        ["m2"]
    );
    let refused = app
        .mentoring(&p.mentor)
        .approve_milestone(decision("old-ok-m2", "m2", ""))
        .await
        .unwrap_err();
    assert!(
        matches!(refused.code(), Code::PermissionDenied | Code::NotFound),
        "{refused:?}"
    );
    let listed = |token: String| {
        let mut client = app.projects(&token);
        async move {
            client
                .list_projects(pb::ListProjectsRequest {
                    min_position: reassigned.position,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .projects
                .into_iter()
                .map(|p| p.code)
                .collect::<Vec<_>>()
        }
    };
    assert!(
        listed(p.mentor.clone()).await.is_empty(),
        "the old mentor lost it"
    );
    assert_eq!(listed(new_mentor.clone()).await, [project_id()]);
    let approved = app
        .mentoring(&new_mentor)
        .approve_milestone(decision("new-ok-m2", "m2", "Diterima"))
        .await
        .unwrap()
        .into_inner();
    // The page says who decided what: the first mentor's decisions stay hers.
    let d = page(&app, &new_mentor, approved.position).await.unwrap();
    let all = notes(&d);
    for expected in [
        said("milestone_returned", "mentor-1", "Tanda tangan belum ada"),
        said("milestone_approved", "mentor-1", "Lengkap"),
        said("milestone_approved", "mentor-2", "Diterima"),
    ] {
        assert!(all.contains(&expected), "{expected:?} in {all:#?}");
    }
    app.stop().await;
}
