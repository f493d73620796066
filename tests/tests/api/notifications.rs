//! Notifications (ADR 0032) against a real SMTP server and a webhook
//! receiver on 127.0.0.1, started by the tests: the right people get the
//! right messages, each once, across a server restart; a mentor's daily
//! digest and the reminders before and after a milestone's due date follow
//! the `ManualClock`; a failing endpoint is retried with backoff and shows
//! in the outbox; a person's contact is theirs, sealed, and erased with them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, TimeZone as _, Utc};
use jejak_engine::clock::Clock as _;
use jejak_engine::privacy::MasterKey;
use jejak_notify::{NotifyConfig, SmtpConfig, SmtpTls, WebhookConfig, sign};
use jejak_proto::v1 as pb;
use jejak_tests::app::{TestApp, spawn_app_with};
use jejak_tests::sinks::{Hook, HookSink, Mail, SmtpSink};
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(
    the_right_people_hear_each_thing_once_across_a_restart,
    a_mentor_gets_the_inbox_as_one_daily_digest,
    reminders_before_and_after_a_due_date_go_on_after_the_training,
    a_failing_endpoint_is_retried_with_backoff_and_shows_in_the_outbox,
    a_contact_is_its_owners_sealed_and_erased_with_them,
    a_proposal_is_reminded_before_its_plan_falls_due,
    a_first_start_mid_week_waits_for_the_summary_day,
);

const SECRET: &[u8] = b"a-webhook-secret-shared-with-the-gateway";
const MENTOR_MAIL: &str = "mentor@dpmptsp.cilegonkota.go.id";
const PARTICIPANT_MAIL: &str = "peserta@dpmptsp.cilegonkota.go.id";
const ORGANIZER_MAIL: &str = "penyelenggara@bpsdm.bantenprov.go.id";

/// A server whose notifications go to `smtp` and `hook`, with a master key
/// that survives a restart.
async fn spawn(db: &TestDb, smtp: &SmtpSink, hook: &HookSink) -> TestApp {
    spawn_on(db, smtp, hook, None).await
}

/// As [`spawn`], its engine on `clock` when given (the tests' own clock
/// starts on Monday 2 March 2026).
async fn spawn_on(
    db: &TestDb,
    smtp: &SmtpSink,
    hook: &HookSink,
    clock: Option<std::sync::Arc<jejak_engine::clock::ManualClock>>,
) -> TestApp {
    let (smtp_port, url) = (smtp.addr.port(), hook.url());
    spawn_app_with(db, move |config| {
        if let Some(clock) = clock {
            config.clock = clock;
        }
        config.engine.master_key = Some(MasterKey::from_bytes(&[9; 32]));
        config.notify = NotifyConfig {
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".into(),
                port: smtp_port,
                from: "jejak <jejak@bpsdm.bantenprov.go.id>".into(),
                tls: SmtpTls::None,
                credentials: None,
                auth: jejak_notify::SmtpAuth::Any,
                ca_pem: None,
            }),
            webhook: Some(WebhookConfig::new(&url, SECRET.to_vec()).unwrap()),
            // Delivery in the background only as the server starts: the
            // tests deliver with `notify_now`, after moving the clock.
            every: std::time::Duration::from_secs(3600),
            ..NotifyConfig::default()
        };
    })
    .await
}

fn contact(email: &str, whatsapp: &str, digest: bool, opt_out: &[&str]) -> pb::SetContactRequest {
    pb::SetContactRequest {
        contact: Some(pb::Contact {
            email: email.into(),
            whatsapp: whatsapp.into(),
            digest,
            opt_out: opt_out.iter().map(|k| (*k).to_owned()).collect(),
            ..pb::Contact::default()
        }),
    }
}

async fn set_contact(app: &TestApp, token: &str, request: pb::SetContactRequest) {
    app.notifications(token)
        .set_contact(request)
        .await
        .expect("the contact is set");
}

async fn enrolled(app: &TestApp, p: &People) {
    app.cohorts(&p.organizer)
        .open_cohort(open_cohort())
        .await
        .expect("open");
    app.cohorts(&p.organizer)
        .enrol_participant(enrol())
        .await
        .expect("enrol");
}

/// A server with its receivers, the cohort open and the participant enrolled.
async fn rig(db: &TestDb) -> (TestApp, People, SmtpSink, HookSink) {
    let (smtp, hook) = (SmtpSink::start().await, HookSink::start().await);
    let app = spawn(db, &smtp, &hook).await;
    let p = People::of(&app);
    enrolled(&app, &p).await;
    (app, p, smtp, hook)
}

/// The whole outbox, as an operator lists it.
async fn outbox(app: &TestApp, p: &People) -> pb::ListOutboxResponse {
    app.notifications(&p.admin)
        .list_outbox(pb::ListOutboxRequest::default())
        .await
        .unwrap()
        .into_inner()
}

async fn notify(app: &TestApp) {
    app.app.notify_now().await.expect("notifications run");
}

/// The mails to `address`, by subject.
fn to<'a>(mails: &'a [Mail], address: &str) -> Vec<&'a Mail> {
    mails
        .iter()
        .filter(|m| m.to.iter().any(|t| t == address))
        .collect()
}

fn subjects(mails: &[&Mail]) -> Vec<String> {
    let mut s: Vec<String> = mails.iter().map(|m| m.subject()).collect();
    s.sort();
    s
}

fn signed_right(hook: &Hook) -> bool {
    hook.headers.get("x-jejak-signature") == Some(&sign(SECRET, &hook.body))
}

fn seminar(accepted: bool) -> pb::ProposalSeminarRequest {
    pb::ProposalSeminarRequest {
        expected_version: None,
        request_id: String::new(),
        project_id: project_id(),
        accepted,
        notes: "Perjelas indikator keberhasilan".into(),
    }
}

async fn the_right_people_hear_each_thing_once_across_a_restart(db: &TestDb) {
    let (app, p, smtp, hook) = rig(db).await;
    set_contact(&app, &p.mentor, contact(MENTOR_MAIL, "", false, &[])).await;
    set_contact(
        &app,
        &p.participant,
        contact(PARTICIPANT_MAIL, "0812-3456-7890", true, &[]),
    )
    .await;
    set_contact(&app, &p.organizer, contact(ORGANIZER_MAIL, "", true, &[])).await;
    // The coach sets no contact and hears nothing.
    app.projects(&p.participant)
        .propose(propose())
        .await
        .expect("propose");
    notify(&app).await;
    // The mentor (at once, as chosen) and the organizer (Monday's summary).
    let mails = smtp.wait_for(2).await;
    let mentor = to(&mails, MENTOR_MAIL);
    assert_eq!(
        subjects(&mentor),
        ["Rancangan proyek perubahan menunggu persetujuan Anda (pka-2026-1/001)"]
    );
    assert!(mentor[0].body.contains("Antrian daring perizinan berusaha"));
    let organizer = to(&mails, ORGANIZER_MAIL);
    assert_eq!(
        subjects(&organizer),
        ["Ringkasan mingguan angkatan pka-2026-1 (2026-W10)"]
    );
    assert!(
        organizer[0].body.contains("- rancangan: 1"),
        "{}",
        organizer[0].body
    );
    assert!(
        organizer[0]
            .body
            .contains("Tidak ada milestone yang terlambat")
    );
    app.mentoring(&p.mentor)
        .agree_change_area(action("agree"))
        .await
        .unwrap();
    let mut approve = action("approve");
    approve.note = "Lanjutkan, libatkan Dukcapil".into();
    app.mentoring(&p.mentor)
        .approve_action_plan(approve)
        .await
        .unwrap();
    notify(&app).await;
    let mails = smtp.wait_for(3).await;
    let decision = to(&mails, PARTICIPANT_MAIL);
    assert_eq!(
        subjects(&decision),
        ["Rencana aksi Anda disetujui (pka-2026-1/001)"]
    );
    assert!(decision[0].body.contains("Lanjutkan, libatkan Dukcapil"));
    // The participant's WhatsApp number, through the signed webhook.
    let hooks = hook.wait_for(1).await;
    assert!(signed_right(&hooks[0]), "{:?}", hooks[0].headers);
    let body = hooks[0].json();
    assert_eq!(body["whatsapp"], "+6281234567890");
    assert_eq!(body["kind"], "decision");
    assert_eq!(
        body["id"].as_str(),
        Some(decision[0].message_id().split('@').next().unwrap())
    );

    // A restart: nothing is sent again, and what happens next is told once.
    app.stop().await;
    let app = spawn(db, &smtp, &hook).await;
    notify(&app).await;
    app.seminars(&p.examiner)
        .record_proposal_seminar(seminar(true))
        .await
        .unwrap();
    notify(&app).await;
    notify(&app).await;
    let mails = smtp.wait_for(4).await;
    let hooks = hook.wait_for(2).await;
    assert_eq!(
        mails.len(),
        4,
        "{:#?}",
        subjects(&mails.iter().collect::<Vec<_>>())
    );
    assert_eq!(hooks.len(), 2);
    assert_eq!(
        subjects(&to(&mails, PARTICIPANT_MAIL)),
        [
            "Hasil seminar rancangan: diterima (pka-2026-1/001)",
            "Rencana aksi Anda disetujui (pka-2026-1/001)",
        ]
    );
    let ids: BTreeSet<String> = mails.iter().map(Mail::message_id).collect();
    assert_eq!(ids.len(), 4, "every mail is its own message");
    // Nothing personal travels: no name, no NIP.
    for mail in &mails {
        assert!(
            !mail.body.contains("Siti") && !mail.body.contains(NIP),
            "{}",
            mail.body
        );
    }
    let outbox = outbox(&app, &p).await;
    let summary = outbox.summary.unwrap();
    assert_eq!((summary.pending, summary.failed, summary.sent), (0, 0, 4));
    app.stop().await;
}

async fn a_mentor_gets_the_inbox_as_one_daily_digest(db: &TestDb) {
    let (app, p, smtp, _hook) = rig(db).await;
    // The default: a daily digest.
    set_contact(&app, &p.mentor, contact(MENTOR_MAIL, "", true, &[])).await;
    app.projects(&p.participant)
        .propose(propose())
        .await
        .unwrap();
    let mut revised = proposal();
    revised.title = "Antrian daring perizinan dan nonperizinan".into();
    app.projects(&p.participant)
        .revise_proposal(pb::ReviseProposalRequest {
            expected_version: None,
            request_id: String::new(),
            project_id: project_id(),
            proposal: Some(revised),
        })
        .await
        .unwrap();
    // Monday 15:00 WIB: both wait for Tuesday's digest at 07:00 WIB.
    notify(&app).await;
    assert!(smtp.mails().await.is_empty());
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 2, 23, 59, 0).unwrap());
    notify(&app).await;
    assert!(smtp.mails().await.is_empty(), "06:59 WIB: not yet");
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap());
    notify(&app).await;
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject(),
        "Ringkasan harian: 2 hal menunggu persetujuan Anda"
    );
    assert!(mails[0].body.contains("Antrian daring perizinan berusaha"));
    assert!(
        mails[0]
            .body
            .contains("Antrian daring perizinan dan nonperizinan")
    );
    notify(&app).await;
    assert_eq!(smtp.mails().await.len(), 1, "a digest is sent once");
    let outbox = outbox(&app, &p).await;
    let inbox: Vec<&pb::OutboxMessage> = outbox
        .messages
        .iter()
        .filter(|m| m.kind == "inbox")
        .collect();
    assert_eq!(inbox.len(), 2);
    assert!(inbox.iter().all(|m| m.status == "sent"
        && format!("<{}@jejak>", m.delivery_id) == mails[0].headers["message-id"]));
    app.stop().await;
}

async fn reminders_before_and_after_a_due_date_go_on_after_the_training(db: &TestDb) {
    let (app, p, smtp, _hook) = rig(db).await;
    // Here the participant wants only the reminders,
    set_contact(
        &app,
        &p.participant,
        contact(PARTICIPANT_MAIL, "", true, &["decision", "seminar"]),
    )
    .await;
    // and the mentor too.
    set_contact(&app, &p.mentor, contact(MENTOR_MAIL, "", false, &["inbox"])).await;
    let mut plan = proposal();
    plan.milestones.truncate(1);
    plan.milestones.push(pb::MilestonePlan {
        id: "m4".into(),
        horizon: pb::Horizon::Medium as i32,
        title: "Semua loket memakai antrian daring".into(),
        due: "2026-12-01".into(),
        expected_output: "Laporan pemanfaatan".into(),
    });
    app.projects(&p.participant)
        .propose(pb::ProposeRequest {
            proposal: Some(plan),
            ..propose()
        })
        .await
        .unwrap();
    // Into the workplace phase, where milestones fall overdue.
    super::journeys::in_workplace_from_proposed(&app, &p).await;
    let step = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 1, 0, 0).unwrap();
    // Three days before m1 falls due (15 April).
    app.clock.set(step(2026, 4, 12));
    notify(&app).await;
    let mails = smtp.wait_for(2).await;
    for address in [PARTICIPANT_MAIL, MENTOR_MAIL] {
        assert_eq!(
            subjects(&to(&mails, address)),
            ["Pengingat: milestone jatuh tempo 15 April 2026 (pka-2026-1/001)"]
        );
    }
    notify(&app).await;
    // Past it without approval: overdue, to both.
    app.clock.set(step(2026, 4, 16));
    notify(&app).await;
    let mails = smtp.wait_for(4).await;
    for address in [PARTICIPANT_MAIL, MENTOR_MAIL] {
        assert_eq!(
            subjects(&to(&mails, address)),
            [
                "Milestone terlambat: Tahap m1 (pka-2026-1/001)",
                "Pengingat: milestone jatuh tempo 15 April 2026 (pka-2026-1/001)",
            ]
        );
    }
    // After the training (it ended 30 June): the medium-term milestone.
    app.clock.set(step(2026, 11, 28));
    notify(&app).await;
    let mails = smtp.wait_for(6).await;
    let soon: Vec<&Mail> = to(&mails, PARTICIPANT_MAIL)
        .into_iter()
        .filter(|m| m.subject().contains("1 Desember 2026"))
        .collect();
    assert_eq!(soon.len(), 1);
    assert!(soon[0].body.contains("jangka menengah"), "{}", soon[0].body);
    app.clock.set(step(2026, 12, 2));
    notify(&app).await;
    notify(&app).await;
    let mails = smtp.wait_for(8).await;
    assert_eq!(
        mails.len(),
        8,
        "{:#?}",
        subjects(&mails.iter().collect::<Vec<_>>())
    );
    let per_person: BTreeMap<String, usize> = mails.iter().fold(BTreeMap::new(), |mut n, m| {
        *n.entry(m.to.join(",")).or_default() += 1;
        n
    });
    assert_eq!(per_person[PARTICIPANT_MAIL], 4);
    assert_eq!(per_person[MENTOR_MAIL], 4);
    // Still overdue a month on, after the training: told again, both; a
    // day later nothing more; again after another month. The short-term
    // milestone, overdue since April, is not (it belonged to the training).
    app.clock.set(step(2026, 12, 31));
    notify(&app).await;
    let mails = smtp.wait_for(10).await;
    let again: Vec<&Mail> = to(&mails, MENTOR_MAIL)
        .into_iter()
        .filter(|m| m.subject().starts_with("Masih terlambat"))
        .collect();
    assert_eq!(again.len(), 1, "{:#?}", subjects(&to(&mails, MENTOR_MAIL)));
    assert!(
        again[0].body.contains("jangka menengah"),
        "{}",
        again[0].body
    );
    assert!(
        again[0]
            .subject()
            .contains("Semua loket memakai antrian daring")
    );
    app.clock.set(step(2027, 1, 1));
    notify(&app).await;
    app.clock.set(step(2027, 1, 30));
    notify(&app).await;
    let mails = smtp.wait_for(12).await;
    assert_eq!(
        mails.len(),
        12,
        "{:#?}",
        subjects(&mails.iter().collect::<Vec<_>>())
    );
    // What they opted out of was dropped, and says so.
    let outbox = outbox(&app, &p).await;
    for kind in ["inbox", "decision", "seminar"] {
        let dropped = outbox.messages.iter().find(|m| m.kind == kind).unwrap();
        assert_eq!(dropped.status, "dropped");
        assert!(dropped.last_error.contains("opted out"), "{dropped:?}");
    }
    app.stop().await;
}

async fn a_failing_endpoint_is_retried_with_backoff_and_shows_in_the_outbox(db: &TestDb) {
    let (app, p, _smtp, hook) = rig(db).await;
    set_contact(
        &app,
        &p.participant,
        contact("", "+6281234567890", true, &[]),
    )
    .await;
    app.projects(&p.participant)
        .propose(propose())
        .await
        .unwrap();
    hook.answer(500);
    app.mentoring(&p.mentor)
        .agree_change_area(action("agree"))
        .await
        .unwrap();
    app.mentoring(&p.mentor)
        .return_action_plan(pb::ReasonRequest {
            expected_version: None,
            request_id: String::new(),
            project_id: project_id(),
            reason: "Tambahkan pemangku kepentingan eksternal".into(),
        })
        .await
        .unwrap();
    notify(&app).await;
    hook.wait_for(1).await;
    let failed = |app: &TestApp| {
        let admin = p.admin.clone();
        let mut client = app.notifications(&admin);
        async move {
            client
                .list_outbox(pb::ListOutboxRequest {
                    filter: "failed".into(),
                    limit: 0,
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let listed = failed(&app).await;
    assert_eq!(listed.messages.len(), 1, "{listed:?}");
    let message = &listed.messages[0];
    assert_eq!((message.status.as_str(), message.attempts), ("pending", 1));
    assert!(message.last_error.contains("500"), "{message:?}");
    let wait = |m: &pb::OutboxMessage| {
        m.next_attempt_at.as_ref().unwrap().seconds - app.clock.now().timestamp()
    };
    assert_eq!(wait(message), 30, "the first retry after 30 s");
    let status = app
        .admin(&p.admin)
        .get_projection_status(pb::GetProjectionStatusRequest {})
        .await
        .unwrap()
        .into_inner()
        .outbox
        .unwrap();
    assert_eq!((status.pending, status.retrying), (1, 1));
    assert!(status.oldest_pending.is_some());
    // Not due before its backoff has passed.
    app.clock.advance(Duration::seconds(29));
    notify(&app).await;
    assert_eq!(hook.hooks().await.len(), 1);
    app.clock.advance(Duration::seconds(2));
    notify(&app).await;
    hook.wait_for(2).await;
    let message = failed(&app).await.messages.remove(0);
    assert_eq!(message.attempts, 2);
    assert_eq!(wait(&message), 60, "the wait doubles");
    // The operator mends the gateway and retries the message at once.
    hook.answer(200);
    let retried = app
        .notifications(&p.admin)
        .retry_outbox_message(pb::RetryOutboxMessageRequest {
            id: message.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((retried.status.as_str(), retried.attempts), ("pending", 0));
    notify(&app).await;
    let hooks = hook.wait_for(3).await;
    assert_eq!(hooks.len(), 3);
    assert!(hooks.iter().all(signed_right));
    let ids: BTreeSet<&String> = hooks
        .iter()
        .map(|h| &h.headers["x-jejak-message-id"])
        .collect();
    assert_eq!(ids.len(), 1, "every attempt carries the message's one id");
    assert!(
        hooks[2].json()["text"]
            .as_str()
            .unwrap()
            .contains("Tambahkan pemangku kepentingan eksternal")
    );
    assert!(failed(&app).await.messages.is_empty());
    let bad = app
        .notifications(&p.admin)
        .list_outbox(pb::ListOutboxRequest {
            filter: "broken".into(),
            limit: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("all, failed or pending"), "{bad:?}");
    // Retrying is the operators'; an unknown id is not found.
    let refused = app
        .notifications(&p.mentor)
        .retry_outbox_message(pb::RetryOutboxMessageRequest {
            id: message.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let unknown = app
        .notifications(&p.admin)
        .retry_outbox_message(pb::RetryOutboxMessageRequest {
            id: "0193a0b2-0000-7000-8000-000000000000".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    app.stop().await;
}

async fn a_contact_is_its_owners_sealed_and_erased_with_them(db: &TestDb) {
    let (app, p, smtp, _hook) = rig(db).await;
    // Bad input says what is wrong.
    let bad = app
        .notifications(&p.participant)
        .set_contact(contact("siti at dpmptsp", "", true, &[]))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("email"), "{bad:?}");
    let bad = app
        .notifications(&p.participant)
        .set_contact(contact("", "12ab", true, &[]))
        .await
        .unwrap_err();
    assert!(bad.message().contains("whatsapp"), "{bad:?}");
    let bad = app
        .notifications(&p.participant)
        .set_contact(contact(PARTICIPANT_MAIL, "", true, &["gossip"]))
        .await
        .unwrap_err();
    assert!(bad.message().contains("opt_out"), "{bad:?}");
    // Those who receive nothing keep no contact.
    let refused = app
        .notifications(&p.auditor)
        .set_contact(contact("insp@cilegonkota.go.id", "", true, &[]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    set_contact(
        &app,
        &p.participant,
        contact(PARTICIPANT_MAIL, "081234567890", true, &["seminar"]),
    )
    .await;
    let mine = app
        .notifications(&p.participant)
        .get_contact(pb::GetContactRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(mine.set);
    assert_eq!(mine.whatsapp, "+6281234567890");
    assert_eq!(mine.opt_out, ["seminar"]);
    let person = find(&app, &p.organizer, NIP).await.unwrap().person_id;
    assert_eq!(mine.key_id, person);
    // Stored sealed: the address is not in the row.
    let store = app.app.engine().store();
    let row = store.contact_row(&person).await.unwrap().unwrap();
    assert!(!row.sealed.contains("peserta@") && !row.sealed.contains("812345"));
    // Something to send them, then their erasure.
    app.projects(&p.participant)
        .propose(propose())
        .await
        .unwrap();
    super::journeys::in_workplace_from_proposed(&app, &p).await;
    app.app.process_managers().run_all_once().await.unwrap();
    app.admin(&p.admin)
        .erase_person(pb::ErasePersonRequest {
            request_id: String::new(),
            person_id: person.clone(),
            basis: "UU 27/2022 Pasal 8: permintaan 2026-03-02".into(),
        })
        .await
        .unwrap();
    assert!(store.contact_row(&person).await.unwrap().is_none());
    notify(&app).await;
    assert!(to(&smtp.mails().await, PARTICIPANT_MAIL).is_empty());
    let outbox = outbox(&app, &p).await;
    let theirs: Vec<&pb::OutboxMessage> = outbox
        .messages
        .iter()
        .filter(|m| m.recipient == person)
        .collect();
    assert!(!theirs.is_empty());
    assert!(theirs.iter().all(|m| m.status == "dropped"), "{theirs:?}");
    // A mentor's own contact: set, shown, cleared.
    set_contact(&app, &p.mentor, contact(MENTOR_MAIL, "", false, &[])).await;
    let cleared = app
        .notifications(&p.mentor)
        .clear_contact(pb::ClearContactRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(cleared.deleted);
    let shown = app
        .notifications(&p.mentor)
        .get_contact(pb::GetContactRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!shown.set && shown.email.is_empty());
    // A contact that does not open (damaged, or moved from another's row)
    // fails its own messages and holds nobody else's back.
    set_contact(&app, &p.mentor, contact(MENTOR_MAIL, "", false, &[])).await;
    set_contact(&app, &p.organizer, contact(ORGANIZER_MAIL, "", true, &[])).await;
    let mut moved = store.contact_row("mentor-1").await.unwrap().unwrap();
    moved.sealed = store
        .contact_row("organizer-1")
        .await
        .unwrap()
        .unwrap()
        .sealed;
    store.save_contact(&moved, app.clock.now()).await.unwrap();
    // Monday 13 April, 08:00 WIB: m1 falls due in two days; a new week.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 4, 13, 1, 0, 0).unwrap());
    notify(&app).await;
    let mails = smtp.wait_for(1).await;
    assert_eq!(
        subjects(&to(&mails, ORGANIZER_MAIL)),
        ["Ringkasan mingguan angkatan pka-2026-1 (2026-W16)"]
    );
    let failed = app
        .notifications(&p.admin)
        .list_outbox(pb::ListOutboxRequest {
            filter: "failed".into(),
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(failed.messages.len(), 1, "{failed:?}");
    assert_eq!(failed.messages[0].recipient, "mentor-1");
    assert!(
        failed.messages[0]
            .last_error
            .contains("contact could not be read"),
        "{failed:?}"
    );
    app.stop().await;
}

async fn a_proposal_is_reminded_before_its_plan_falls_due(db: &TestDb) {
    let (app, p, smtp, _hook) = rig(db).await;
    set_contact(
        &app,
        &p.participant,
        contact(PARTICIPANT_MAIL, "", true, &["decision", "seminar"]),
    )
    .await;
    set_contact(&app, &p.mentor, contact(MENTOR_MAIL, "", false, &["inbox"])).await;
    app.projects(&p.participant)
        .propose(propose())
        .await
        .unwrap();
    // Still at the proposal three days before m1 falls due (15 April):
    // both hear of it, told that the plan awaits approval.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 4, 12, 1, 0, 0).unwrap());
    notify(&app).await;
    let mails = smtp.wait_for(2).await;
    for address in [PARTICIPANT_MAIL, MENTOR_MAIL] {
        let theirs = to(&mails, address);
        assert_eq!(
            subjects(&theirs),
            ["Pengingat: milestone jatuh tempo 15 April 2026 (pka-2026-1/001)"]
        );
        assert!(
            theirs[0].body.contains("rencana aksinya belum disetujui"),
            "{}",
            theirs[0].body
        );
    }
    // Past the date nothing is flagged overdue: the plan is not accepted
    // yet, and the workflow marks milestones overdue from the workplace
    // phase on.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 4, 16, 1, 0, 0).unwrap());
    notify(&app).await;
    notify(&app).await;
    assert_eq!(smtp.mails().await.len(), 2);
    app.stop().await;
}

async fn a_first_start_mid_week_waits_for_the_summary_day(db: &TestDb) {
    let (smtp, hook) = (SmtpSink::start().await, HookSink::start().await);
    // First started on Wednesday 4 March 2026, 15:00 WIB.
    let clock = std::sync::Arc::new(jejak_engine::clock::ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 4, 8, 0, 0).unwrap(),
    ));
    let app = spawn_on(db, &smtp, &hook, Some(clock.clone())).await;
    let p = People::of(&app);
    enrolled(&app, &p).await;
    set_contact(&app, &p.organizer, contact(ORGANIZER_MAIL, "", true, &[])).await;
    app.projects(&p.participant)
        .propose(propose())
        .await
        .unwrap();
    notify(&app).await;
    notify(&app).await;
    let outbox = outbox(&app, &p).await;
    assert!(
        outbox.messages.iter().all(|m| m.kind != "weekly_summary"),
        "no summary of a week already under way: {:?}",
        outbox.messages
    );
    // Monday 9 March, 07:00 WIB: the week's summary.
    clock.set(Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).unwrap());
    notify(&app).await;
    let mails = smtp.wait_for(1).await;
    assert_eq!(
        subjects(&to(&mails, ORGANIZER_MAIL)),
        ["Ringkasan mingguan angkatan pka-2026-1 (2026-W11)"]
    );
    app.stop().await;
}
