//! Delivery of the outbox as a deployment runs it (ADR 0032, addendum):
//! two deliverers on one PostgreSQL send each message once, also when the
//! lease of one lapses in the middle of its round; email over STARTTLS and
//! implicit TLS with a login by PLAIN or LOGIN, against the tests' own SMTP
//! server under a self-signed certificate, and what `admin outbox` says
//! when the certificate or the login is refused; sent messages pruned
//! after their retention, failed ones kept until retried or dismissed; a
//! staff member's contact erased by its key; texts in the recipient's
//! language.

use std::collections::BTreeSet;

use chrono::Duration;
use jejak_engine::clock::Clock as _;
use jejak_engine::store::NewMessage;
use jejak_notify::{Deliverer, LEASE, NotifyConfig, SmtpAuth, SmtpConfig, SmtpTls};
use jejak_proto::v1 as pb;
use jejak_tests::app::{TestApp, spawn_app};
use jejak_tests::sinks::{SinkOptions, SinkTls, SmtpSink, self_signed};
use jejak_tests::{TestDb, on_both_backends};

use super::*;

on_both_backends!(
    sent_messages_are_pruned_and_failed_ones_kept_until_dismissed,
    a_staff_members_contact_is_erased_by_its_key,
    messages_are_written_in_the_recipients_language,
);

const MENTOR_MAIL: &str = "mentor@dpmptsp.cilegonkota.go.id";

/// The mentor's contact: email only, each inbox item at once.
async fn mentor_contact(app: &TestApp, p: &People) {
    app.notifications(&p.mentor)
        .set_contact(pb::SetContactRequest {
            contact: Some(pb::Contact {
                email: MENTOR_MAIL.into(),
                digest: false,
                ..pb::Contact::default()
            }),
        })
        .await
        .expect("the contact is set");
}

/// `n` inbox messages to the mentor, ids `{prefix}-0000`…, made now.
async fn messages(app: &TestApp, prefix: &str, n: usize) -> BTreeSet<String> {
    let now = app.clock.now();
    let made: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            // Ids as the notifier makes them: hexadecimal and dashes.
            id: format!("{prefix}-{i:04}"),
            recipient: "mentor-1".into(),
            recipient_role: "mentor".into(),
            kind: "inbox".into(),
            facts: "{}".into(),
            cause_position: 1,
            created_at: now,
        })
        .collect();
    app.app.engine().store().enqueue(&made).await.unwrap();
    made.into_iter().map(|m| m.id).collect()
}

fn smtp(sink: &SmtpSink) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.addr.port(),
        from: "jejak <jejak@bpsdm.bantenprov.go.id>".into(),
        tls: SmtpTls::None,
        credentials: None,
        auth: SmtpAuth::Any,
        ca_pem: None,
    }
}

fn deliverer(app: &TestApp, smtp: SmtpConfig) -> Deliverer {
    Deliverer::new(
        app.app.engine().clone(),
        NotifyConfig {
            smtp: Some(smtp),
            ..NotifyConfig::default()
        },
    )
    .unwrap()
}

/// The outbox's row of message `id`, as an operator lists it.
async fn listed(app: &TestApp, p: &People, id: &str) -> pb::OutboxMessage {
    app.notifications(&p.admin)
        .list_outbox(pb::ListOutboxRequest {
            filter: "all".into(),
            limit: 1000,
        })
        .await
        .unwrap()
        .into_inner()
        .messages
        .into_iter()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("{id} is in the outbox"))
}

/// The Message-IDs the sink received, each with how often.
async fn received(sink: &SmtpSink) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for mail in sink.mails().await {
        *seen.entry(mail.message_id()).or_default() += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliverers_on_one_postgres_send_each_message_once() {
    let Some(db) = TestDb::postgres("two_deliverers_send_once").await else {
        return;
    };
    let app = spawn_app(&db).await;
    let p = People::of(&app);
    mentor_contact(&app, &p).await;
    let sink = SmtpSink::start().await;
    let (one, two) = (deliverer(&app, smtp(&sink)), deliverer(&app, smtp(&sink)));
    let store = app.app.engine().store();

    // Two rounds at once: each claims what the other does not.
    let mut all = messages(&app, "a0b1", 60).await;
    let (a, b) = tokio::join!(one.deliver_due(), two.deliver_due());
    assert_eq!(a.unwrap().sent + b.unwrap().sent, 60);

    // One's lease lapses after it claimed a round (it hung, say): the
    // other takes the lease over and sends only what nobody claims; the
    // first sends what it claimed, and its settle is recorded under its
    // claim; it claims nothing more under the lease it lost.
    let claimed_ids = messages(&app, "c0d1", 20).await;
    all.extend(claimed_ids.iter().cloned());
    let ttl = std::time::Duration::from_secs(30);
    let mut first = store
        .acquire_lease(LEASE, uuid::Uuid::now_v7(), ttl)
        .await
        .unwrap()
        .expect("nobody holds the lease");
    let claimed = one.claim(Some(&first)).await.unwrap();
    assert_eq!(claimed.ids().len(), 20);
    let later = messages(&app, "e0f1", 10).await;
    all.extend(later.iter().cloned());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(db.url())
        .await
        .unwrap();
    sqlx::query("UPDATE leases SET expires_at = clock_timestamp() WHERE name = $1")
        .bind(LEASE)
        .execute(&mut conn)
        .await
        .unwrap();
    let mut second = store
        .acquire_lease(LEASE, uuid::Uuid::now_v7(), ttl)
        .await
        .unwrap()
        .expect("the lapsed lease is taken over");
    assert!(second.token() > first.token());
    let done = two.deliver_under(&mut second).await.unwrap();
    assert_eq!(done.sent, 10, "only what nobody claimed");
    let refused = one.claim(Some(&first)).await.unwrap_err();
    assert!(refused.to_string().contains("lapsed"), "{refused}");
    one.send_claimed(claimed, Some(&mut first)).await.unwrap();
    // Whatever the first could not send is due again once its claim ran
    // out, and the new holder sends it; nothing is sent twice.
    app.clock.advance(Duration::minutes(10));
    two.deliver_under(&mut second).await.unwrap();
    let seen = received(&sink).await;
    assert_eq!(seen.len(), all.len(), "every message reached the server");
    assert!(
        seen.values().all(|n| *n == 1),
        "each message sent once: {seen:?}"
    );
    let summary = store.outbox_summary().await.unwrap();
    assert_eq!((summary.sent, summary.pending), (90, 0));
    app.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_over_starttls_and_tls_with_the_login_configured() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let p = People::of(&app);
    mentor_contact(&app, &p).await;
    let identity = self_signed();
    let login = ("jejak".to_owned(), "rahasia-smtp".to_owned());
    let secured = |tls: SinkTls, mechanisms: Vec<&'static str>| SinkOptions {
        tls,
        identity: Some(identity.clone()),
        login: Some(login.clone()),
        mechanisms,
    };
    let trusted = |sink: &SmtpSink, tls: SmtpTls, auth: SmtpAuth| SmtpConfig {
        tls,
        credentials: Some(login.clone()),
        auth,
        ca_pem: Some(identity.0.clone().into_bytes()),
        ..smtp(sink)
    };

    // STARTTLS, logging in by LOGIN.
    let starttls = SmtpSink::start_with(secured(SinkTls::StartTls, vec!["PLAIN", "LOGIN"])).await;
    messages(&app, "5a01", 1).await;
    let sent = deliverer(&app, trusted(&starttls, SmtpTls::StartTls, SmtpAuth::Login))
        .deliver_due()
        .await
        .unwrap();
    assert_eq!(sent.sent, 1);
    assert_eq!(starttls.wait_for(1).await[0].to, vec![MENTOR_MAIL]);
    assert_eq!(starttls.logins().await, vec!["LOGIN"]);

    // TLS from the first byte, by PLAIN.
    let implicit = SmtpSink::start_with(secured(SinkTls::Implicit, vec!["PLAIN", "LOGIN"])).await;
    messages(&app, "5a02", 1).await;
    let sent = deliverer(&app, trusted(&implicit, SmtpTls::Tls, SmtpAuth::Plain))
        .deliver_due()
        .await
        .unwrap();
    assert_eq!(sent.sent, 1);
    assert_eq!(implicit.wait_for(1).await.len(), 1);
    assert_eq!(implicit.logins().await, vec!["PLAIN"]);

    // A certificate jejak was not told to trust: nothing sent, and the
    // outbox says why and what to do.
    let id = messages(&app, "5a03", 1).await.pop_first().unwrap();
    let untrusted = SmtpConfig {
        ca_pem: None,
        ..trusted(&starttls, SmtpTls::StartTls, SmtpAuth::Any)
    };
    let failed = deliverer(&app, untrusted).deliver_due().await.unwrap();
    assert_eq!(failed.failed, 1);
    let row = listed(&app, &p, &id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert!(
        row.last_error.contains("certificate is not trusted"),
        "{}",
        row.last_error
    );
    assert!(
        row.last_error.contains("--smtp-ca-file"),
        "{}",
        row.last_error
    );

    // A login the server refuses: the same.
    let id = messages(&app, "5a04", 1).await.pop_first().unwrap();
    let wrong = SmtpConfig {
        credentials: Some(("jejak".to_owned(), "salah".to_owned())),
        ..trusted(&implicit, SmtpTls::Tls, SmtpAuth::Plain)
    };
    let failed = deliverer(&app, wrong).deliver_due().await.unwrap();
    assert_eq!(failed.failed, 1);
    let row = listed(&app, &p, &id).await;
    assert!(
        row.last_error.contains("refused the login"),
        "{}",
        row.last_error
    );
    assert!(
        row.last_error.contains("--smtp-credentials-file"),
        "{}",
        row.last_error
    );
    // Neither server took a mail it should not have.
    assert_eq!(starttls.mails().await.len(), 1);
    assert_eq!(implicit.mails().await.len(), 1);
    app.stop().await;
    db.cleanup().await;
}

async fn sent_messages_are_pruned_and_failed_ones_kept_until_dismissed(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    mentor_contact(&app, &p).await;
    let sink = SmtpSink::start().await;
    let store = app.app.engine().store();
    messages(&app, "7a01", 3).await;
    let sender = deliverer(&app, smtp(&sink));
    assert_eq!(sender.deliver_due().await.unwrap().sent, 3);
    // One that fails (nobody listens at that port) stays failing.
    let id = messages(&app, "7a02", 1).await.pop_first().unwrap();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let failing = deliverer(
        &app,
        SmtpConfig {
            port: closed,
            ..smtp(&sink)
        },
    );
    assert_eq!(failing.deliver_due().await.unwrap().failed, 1);
    // Within the retention nothing is pruned.
    app.clock.advance(Duration::days(89));
    assert_eq!(sender.prune().await.unwrap(), 0);
    // Past it the sent ones go; the failed one stays.
    app.clock.advance(Duration::days(2));
    assert_eq!(sender.prune().await.unwrap(), 3);
    let summary = app
        .notifications(&p.admin)
        .list_outbox(pb::ListOutboxRequest::default())
        .await
        .unwrap()
        .into_inner()
        .summary
        .unwrap();
    assert_eq!((summary.sent, summary.pending, summary.retrying), (0, 1, 1));
    // An operator dismisses it: dropped with the reason, counted, kept.
    let dismissed = app
        .notifications(&p.admin)
        .dismiss_outbox_message(pb::DismissOutboxMessageRequest {
            id: id.clone(),
            reason: "alamat lama".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(dismissed.status, "dropped");
    assert!(dismissed.last_error.contains("alamat lama"));
    let summary = store.outbox_summary().await.unwrap();
    assert_eq!((summary.pending, summary.dropped), (0, 1));
    assert_eq!(
        sender.prune().await.unwrap(),
        0,
        "a dropped message is not pruned"
    );
    let unknown = app
        .notifications(&p.admin)
        .dismiss_outbox_message(pb::DismissOutboxMessageRequest {
            id: "0193a0b2-0000-7000-8000-000000000000".into(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    app.stop().await;
}

async fn a_staff_members_contact_is_erased_by_its_key(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    mentor_contact(&app, &p).await;
    let store = app.app.engine().store();
    let key = app
        .notifications(&p.mentor)
        .get_contact(pb::GetContactRequest {})
        .await
        .unwrap()
        .into_inner()
        .key_id;
    assert_ne!(key, "mentor-1", "a staff key names nobody");
    let waiting = messages(&app, "8a01", 1).await.pop_first().unwrap();
    // The operator erases the mentor's contact by its key, as a person's.
    app.admin(&p.admin)
        .erase_person(pb::ErasePersonRequest {
            request_id: String::new(),
            person_id: key.clone(),
            basis: "UU 27/2022 Pasal 8: permintaan mentor 2026-03-02".into(),
        })
        .await
        .unwrap();
    assert!(store.contact_row("mentor-1").await.unwrap().is_none());
    let row = listed(&app, &p, &waiting).await;
    assert_eq!(row.status, "dropped");
    assert!(row.last_error.contains("erased"), "{}", row.last_error);
    let sink = SmtpSink::start().await;
    deliverer(&app, smtp(&sink)).deliver_due().await.unwrap();
    assert!(sink.mails().await.is_empty());
    let shown = app
        .notifications(&p.mentor)
        .get_contact(pb::GetContactRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!shown.set && shown.email.is_empty());
    // Nothing of theirs is sealed under that key again: a new contact is
    // refused, saying why.
    let again = app
        .notifications(&p.mentor)
        .set_contact(pb::SetContactRequest {
            contact: Some(pb::Contact {
                email: MENTOR_MAIL.into(),
                ..pb::Contact::default()
            }),
        })
        .await
        .unwrap_err();
    assert!(again.message().contains("erased"), "{again:?}");
    // A mentor who set no contact has no key to erase.
    let unknown = app
        .admin(&p.admin)
        .erase_person(pb::ErasePersonRequest {
            request_id: String::new(),
            person_id: jejak_engine::notifications::staff_key("mentor-9"),
            basis: "UU 27/2022 Pasal 8".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");
    app.stop().await;
}

async fn messages_are_written_in_the_recipients_language(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    mentor_contact(&app, &p).await;
    let sink = SmtpSink::start().await;
    let sender = deliverer(&app, smtp(&sink));
    messages(&app, "9a01", 1).await;
    sender.deliver_due().await.unwrap();
    // The mentor chooses English; the same contact otherwise.
    let chosen = app
        .notifications(&p.mentor)
        .set_contact(pb::SetContactRequest {
            contact: Some(pb::Contact {
                email: MENTOR_MAIL.into(),
                digest: false,
                lang: "en".into(),
                ..pb::Contact::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(chosen.lang, "en");
    messages(&app, "9a02", 1).await;
    sender.deliver_due().await.unwrap();
    let mails = sink.wait_for(2).await;
    let subjects: Vec<String> = mails
        .iter()
        .map(jejak_tests::sinks::Mail::subject)
        .collect();
    assert!(
        subjects[0].starts_with("Rancangan proyek perubahan menunggu"),
        "{subjects:?}"
    );
    assert!(
        subjects[1].starts_with("A change project proposal awaits"),
        "{subjects:?}"
    );
    assert!(mails[1].body.contains("Dear mentor"), "{}", mails[1].body);
    let refused = app
        .notifications(&p.mentor)
        .set_contact(pb::SetContactRequest {
            contact: Some(pb::Contact {
                email: MENTOR_MAIL.into(),
                lang: "jawa".into(),
                ..pb::Contact::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("lang"), "{refused:?}");
    app.stop().await;
}
