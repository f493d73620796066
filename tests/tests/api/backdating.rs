//! A history written after the fact (ADR 0030): a write backdated with
//! `x-jejak-occurred-at` by a token carrying the claim `backdate` keeps
//! the log's own time and carries when it happened; the inbox, the
//! project's page and time travel by effective time use it; any other
//! token sending the header is refused and nothing is written.

use chrono::{DateTime, Timelike as _, Utc};
use jejak_engine::clock::Clock as _;
use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_server::auth::OCCURRED_AT_HEADER;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(
    a_backdated_write_keeps_its_recorded_time_and_views_use_when_it_happened,
    backdating_is_refused_to_an_ordinary_token_and_in_the_future
);

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

fn time(t: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    let t = t.expect("a time");
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap()).unwrap()
}

async fn a_backdated_write_keeps_its_recorded_time_and_views_use_when_it_happened(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let now = app.clock.now();
    let proposed_on = (now - chrono::Duration::days(40))
        .with_nanosecond(0)
        .unwrap();
    let agreed_on = proposed_on + chrono::Duration::days(3);
    let organizer = backdating(&app, Role::Organizer, "organizer-1", None);
    let participant = backdating(&app, Role::Participant, "", Some(NIP));
    let mentor = backdating(&app, Role::Mentor, "mentor-1", None);
    let opened = proposed_on - chrono::Duration::days(10);
    app.cohorts(&organizer)
        .open_cohort(at(open_cohort(), opened))
        .await
        .unwrap();
    app.cohorts(&organizer)
        .enrol_participant(at(enrol(), opened))
        .await
        .unwrap();
    let written = app
        .projects(&participant)
        .propose(at(propose(), proposed_on))
        .await
        .unwrap()
        .into_inner();

    // The log recorded it now; its metadata says when it happened.
    let stream =
        jejak_engine::store::StreamId::parse(format!("change_project-{}", id_of(&written)))
            .unwrap();
    let events = app
        .app
        .engine()
        .store()
        .read_stream(&stream, jejak_engine::store::Direction::Forward, None, 10)
        .await
        .unwrap();
    let first = &events[0];
    assert_eq!(first.occurred_at(), proposed_on);
    assert!(
        first.recorded_at > proposed_on + chrono::Duration::days(39),
        "the log's own time is never backdated: {}",
        first.recorded_at
    );
    assert_eq!(
        first.decoded_metadata().occurred_at,
        Some(proposed_on),
        "the effective time is in the hashed metadata"
    );

    // The mentor's inbox: waiting since it was proposed, 40 days ago.
    let inbox = app
        .mentoring(&p.mentor)
        .get_inbox(pb::GetInboxRequest {
            min_position: written.position,
        })
        .await
        .unwrap()
        .into_inner();
    let item = inbox.items.first().expect("the proposal waits");
    assert_eq!(time(item.since.as_ref()), proposed_on);
    assert!(
        item.age_seconds >= 39 * 86_400,
        "waiting for 40 days: {}",
        item.age_seconds
    );

    let agreed = app
        .mentoring(&mentor)
        .agree_change_area(at(action("agree"), agreed_on))
        .await
        .unwrap()
        .into_inner();
    // An ordinary write after the backdated ones carries no effective time.
    let commented = app
        .projects(&p.coach)
        .comment(pb::ProjectAction {
            note: "Perjelas kondisi awal".into(),
            ..action("comment")
        })
        .await
        .unwrap()
        .into_inner();

    // The page: when each thing happened, and when it was recorded when
    // that differs.
    let page = app
        .projects(&p.participant)
        .get_project_detail(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: commented.position.max(agreed.position),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(time(page.proposal_at.as_ref()), proposed_on);
    let stamp = |kind: &str| {
        page.notes
            .iter()
            .find(|n| n.kind == kind)
            .and_then(|n| n.stamp.clone())
            .unwrap_or_else(|| panic!("a note {kind}"))
    };
    let agreement = stamp("change_area_agreed");
    assert_eq!(time(agreement.at.as_ref()), agreed_on);
    assert!(time(agreement.recorded_at.as_ref()) > agreed_on);
    let comment = stamp("comment");
    assert!(time(comment.at.as_ref()) > agreed_on);
    assert_eq!(
        comment.recorded_at, None,
        "recorded when it happened: one time"
    );

    // Time travel: by the log's time the project did not exist 20 days
    // ago; by when things happened it had been proposed.
    let state_at = |effective: bool| {
        let app = &app;
        let auditor = p.auditor.clone();
        async move {
            app.audit(&auditor)
                .get_state_at(pb::GetStateAtRequest {
                    kind: pb::StreamKind::ChangeProject as i32,
                    id: project_id(),
                    version: 0,
                    at: Some(ts(proposed_on + chrono::Duration::days(1))),
                    effective,
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    assert_eq!(state_at(false).await.version, 0);
    let then = state_at(true).await;
    // Every event the proposal wrote, none of the agreement's.
    assert_eq!(
        (then.version, then.lifecycle.as_str()),
        (events.len() as u64, "proposed")
    );
}

async fn backdating_is_refused_to_an_ordinary_token_and_in_the_future(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let now = app.clock.now();
    let refused = app
        .cohorts(&p.organizer)
        .open_cohort(at(open_cohort(), now - chrono::Duration::days(30)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("--backdate"), "{refused:?}");

    let organizer = backdating(&app, Role::Organizer, "organizer-1", None);
    let ahead = app
        .cohorts(&organizer)
        .open_cohort(at(open_cohort(), now + chrono::Duration::days(1)))
        .await
        .unwrap_err();
    assert_eq!(ahead.code(), Code::InvalidArgument, "{ahead:?}");
    assert!(ahead.message().contains("future"), "{ahead:?}");

    let mut garbled = tonic::Request::new(open_cohort());
    garbled
        .metadata_mut()
        .insert(OCCURRED_AT_HEADER, "last tuesday".parse().unwrap());
    let garbled = app
        .cohorts(&organizer)
        .open_cohort(garbled)
        .await
        .unwrap_err();
    assert_eq!(garbled.code(), Code::InvalidArgument, "{garbled:?}");

    // Nothing was written by any of them.
    assert_eq!(app.app.engine().store().digest().await.unwrap().position, {
        // The shipped workflows only.
        let all = app.app.engine().store().read_all(0, 100).await.unwrap();
        assert!(all.iter().all(|e| e.event_type == "WorkflowRegistered"));
        all.len() as u64
    });
    // The same token without the header writes as ever, now.
    let opened = app
        .cohorts(&organizer)
        .open_cohort(open_cohort())
        .await
        .unwrap()
        .into_inner();
    let event = app
        .app
        .engine()
        .store()
        .read_all(opened.position - 1, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(event.decoded_metadata().occurred_at, None);
    assert_eq!(event.occurred_at(), event.recorded_at);
}
