//! Request ids and stream versions: a request id names one command; many
//! copies of one request at once write once; a write can name the version
//! it was made against; commands that do not conflict all go through.

use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(
    a_request_id_names_one_command,
    a_request_id_names_one_rule_change_and_one_revocation,
    copies_of_one_request_at_once_write_once,
    a_stale_expected_version_is_aborted_with_the_current_one,
    a_hundred_comments_at_once_all_go_through
);

fn comment(request_id: &str, note: &str) -> pb::ProjectAction {
    pb::ProjectAction {
        note: note.into(),
        ..action(request_id)
    }
}

async fn a_request_id_names_one_command(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    proposed(&app, &p).await;
    let first = app
        .projects(&p.coach)
        .comment(comment("c-1", "Perjelas baseline"))
        .await
        .expect("the first command")
        .into_inner();
    assert!(!first.duplicate);
    let before = app.app.engine().store().digest().await.unwrap();

    // The same command again is a repeat: the first result, nothing written.
    let again = app
        .projects(&p.coach)
        .comment(comment("c-1", "Perjelas baseline"))
        .await
        .expect("a repeat")
        .into_inner();
    assert!(again.duplicate);
    assert_eq!(
        (again.stream_version, again.position),
        (first.stream_version, first.position)
    );

    // Other arguments, or another RPC, under the same id: refused.
    let other_text = app
        .projects(&p.coach)
        .comment(comment("c-1", "Tambahkan data survei"))
        .await
        .expect_err("other arguments");
    let other_rpc = app
        .projects(&p.coach)
        .mark_ready_for_seminar(pb::MarkReadyRequest {
            request_id: "c-1".into(),
            project_id: project_id(),
            seminar: pb::SeminarKind::Proposal as i32,
            expected_version: None,
        })
        .await
        .expect_err("another RPC");
    assert_eq!(
        app.app.engine().store().digest().await.unwrap(),
        before,
        "nothing was written"
    );
    // Two RPCs that take the same message, sent the very same bytes.
    app.mentoring(&p.mentor)
        .agree_change_area(action("same-bytes"))
        .await
        .expect("agreed");
    let same_bytes = app
        .mentoring(&p.mentor)
        .endorse_adoption(action("same-bytes"))
        .await
        .expect_err("another RPC, the same message");
    let before = app.app.engine().store().digest().await.unwrap();
    for status in [other_text, other_rpc, same_bytes] {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status
                .message()
                .contains("already used for another command"),
            "{}",
            status.message()
        );
        assert_eq!(
            status.metadata().get("jejak-field").unwrap(),
            "request_id",
            "the field is named"
        );
    }
    assert_eq!(
        app.app.engine().store().digest().await.unwrap(),
        before,
        "nothing was written"
    );

    // Request ids are the caller's own: another person may use the same one.
    let mentor = app
        .projects(&p.mentor)
        .comment(comment("c-1", "Lanjutkan"))
        .await
        .expect("another caller's id")
        .into_inner();
    assert!(!mentor.duplicate);
    app.stop().await;
}

/// Registering a workflow and revoking tokens keep their request ids as
/// every other write does: the same command again is a repeat, another
/// command under a used id is refused and registers or revokes nothing.
async fn a_request_id_names_one_rule_change_and_one_revocation(db: &TestDb) {
    const PKA: &str = include_str!("../../../workflows/change-project-pka.toml");
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let register = |request_id: &str, version: u32| pb::RegisterWorkflowRequest {
        request_id: request_id.into(),
        file_name: "pka.toml".into(),
        source: PKA.replacen("version = 1", &format!("version = {version}"), 1),
    };
    let first = app
        .admin(&p.admin)
        .register_workflow(register("w-1", 2))
        .await
        .expect("registered")
        .into_inner();
    assert!(!first.result.unwrap().duplicate);
    let again = app
        .admin(&p.admin)
        .register_workflow(register("w-1", 2))
        .await
        .expect("a repeat")
        .into_inner();
    assert!(again.result.unwrap().duplicate);
    assert_eq!(again.workflow.unwrap().version, 2);
    let before = app.app.engine().store().digest().await.unwrap();
    let other = app
        .admin(&p.admin)
        .register_workflow(register("w-1", 3))
        .await
        .expect_err("another definition under a used id");
    assert_eq!(other.code(), Code::InvalidArgument, "{other:?}");
    assert!(
        other.message().contains("already used for another command"),
        "{}",
        other.message()
    );
    let listed = app
        .admin(&p.admin)
        .list_workflows(pb::ListWorkflowsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        !listed
            .workflows
            .iter()
            .any(|w| w.name == "change-project-pka" && w.version == 3),
        "version 3 was not registered"
    );

    let revoke = |request_id: &str, token_id: &str| pb::RevokeTokensRequest {
        request_id: request_id.into(),
        token_id: token_id.into(),
        reason: "token left on a shared computer".into(),
        ..Default::default()
    };
    let revoked = app
        .admin(&p.admin)
        .revoke_tokens(revoke("r-1", "token-a"))
        .await
        .expect("revoked")
        .into_inner();
    assert!(!revoked.duplicate);
    let repeat = app
        .admin(&p.admin)
        .revoke_tokens(revoke("r-1", "token-a"))
        .await
        .expect("a repeat")
        .into_inner();
    assert!(repeat.duplicate);
    assert_eq!(repeat.position, revoked.position);
    let before_revocations = app.app.engine().store().digest().await.unwrap();
    assert_eq!(before_revocations.position, before.position + 1);
    let other = app
        .admin(&p.admin)
        .revoke_tokens(revoke("r-1", "token-b"))
        .await
        .expect_err("another token under a used id");
    assert_eq!(other.code(), Code::InvalidArgument, "{other:?}");
    assert_eq!(
        app.app.engine().store().digest().await.unwrap(),
        before_revocations,
        "nothing was written"
    );
    app.stop().await;
}

async fn copies_of_one_request_at_once_write_once(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    proposed(&app, &p).await;
    let before = app.app.engine().store().digest().await.unwrap();
    let calls = (0..32).map(|_| {
        let mut mentoring = app.mentoring(&p.mentor);
        async move { mentoring.agree_change_area(action("agree-once")).await }
    });
    let answers: Vec<pb::WriteResult> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|answer| {
            answer
                .expect("every copy gets the first result")
                .into_inner()
        })
        .collect();
    let firsts: Vec<_> = answers.iter().filter(|a| !a.duplicate).collect();
    assert_eq!(firsts.len(), 1, "exactly one copy writes: {answers:?}");
    let first = firsts[0];
    assert!(!first.events.is_empty());
    for answer in &answers {
        assert_eq!(
            (answer.stream_version, answer.position),
            (first.stream_version, first.position),
            "every copy answers the first result"
        );
    }
    let after = app.app.engine().store().digest().await.unwrap();
    assert_eq!(
        after.position,
        before.position + first.events.len() as u64,
        "the events of one command, once"
    );
    app.stop().await;
}

async fn a_stale_expected_version_is_aborted_with_the_current_one(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let proposed = proposed(&app, &p).await;
    let seen = proposed.stream_version;

    // Two people edit at version `seen`: the first goes through...
    let first = app
        .projects(&p.coach)
        .comment(pb::ProjectAction {
            expected_version: Some(seen),
            ..comment("e-1", "Perjelas baseline")
        })
        .await
        .expect("the version the coach saw is current")
        .into_inner();
    assert_eq!(first.stream_version, seen + 1);
    let before = app.app.engine().store().digest().await.unwrap();

    // ...the second is told the version it missed, and nothing is written.
    let stale = app
        .mentoring(&p.mentor)
        .agree_change_area(pb::ProjectAction {
            expected_version: Some(seen),
            ..action("e-2")
        })
        .await
        .expect_err("a stale version");
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    assert_eq!(
        stale.metadata().get("jejak-actual-version").unwrap(),
        (seen + 1).to_string().as_str()
    );
    assert!(
        stale.message().contains(&(seen + 1).to_string()),
        "{}",
        stale.message()
    );
    assert_eq!(app.app.engine().store().digest().await.unwrap(), before);

    // Repeating the first request with its old version is still a repeat.
    let again = app
        .projects(&p.coach)
        .comment(pb::ProjectAction {
            expected_version: Some(seen),
            ..comment("e-1", "Perjelas baseline")
        })
        .await
        .expect("a repeat")
        .into_inner();
    assert!(again.duplicate);

    // With the current version the same decision goes through.
    app.mentoring(&p.mentor)
        .agree_change_area(pb::ProjectAction {
            expected_version: Some(seen + 1),
            ..action("e-3")
        })
        .await
        .expect("the current version");
    app.stop().await;
}

async fn a_hundred_comments_at_once_all_go_through(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let proposed = proposed(&app, &p).await;
    let people = [&p.coach, &p.mentor, &p.examiner, &p.organizer];
    let calls = (0..100).map(|i| {
        let mut projects = app.projects(people[i % people.len()]);
        async move {
            projects
                .comment(comment(&format!("many-{i}"), &format!("Catatan {i}")))
                .await
        }
    });
    let answers = futures::future::join_all(calls).await;
    let mut versions: Vec<u64> = answers
        .into_iter()
        .map(|a| a.expect("no comment is refused").into_inner())
        .map(|a| {
            assert!(!a.duplicate);
            a.stream_version
        })
        .collect();
    versions.sort_unstable();
    let expected: Vec<u64> = (1..=100).map(|n| proposed.stream_version + n).collect();
    assert_eq!(versions, expected, "each comment has a version of its own");
    app.stop().await;
}
