//! The web portal over HTTP (ADR 0034): signing in by a one-time link
//! (used once, on this server or another sharing the database), the
//! session cookie, CSRF on every form, signing out, revocation ending a
//! session, and refusals in the gRPC service's own words with the HTTP
//! status that fits.

use std::net::SocketAddr;
use std::time::Duration;

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_server::auth::{Grant, Issued};
use jejak_tests::TestDb;
use jejak_tests::app::{TestApp, spawn_app};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use super::{NIP, People, project_id};

jejak_tests::on_both_backends!(
    a_link_signs_in_once_and_its_session_ends_by_signing_out,
    a_revoked_link_ends_its_session,
    refusals_are_the_services_own_words_with_their_http_status,
    an_organizer_reads_the_cohort_board,
    an_auditor_reads_a_streams_history_and_verifies_a_digest,
    the_innovation_office_sees_the_citys_figures_as_the_statistics_rpc_gives_them
);

/// A portal on a random port over `app`, stopped when dropped.
pub(super) struct TestPortal {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestPortal {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub(super) async fn spawn_portal(app: &TestApp) -> TestPortal {
    spawn_portal_with(app, jejak_web::WebConfig::default()).await
}

pub(super) async fn spawn_portal_with(app: &TestApp, config: jejak_web::WebConfig) -> TestPortal {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn_portal_on(listener, app, config)
}

/// A portal on `listener` over `app`, stopped when dropped.
pub(super) fn spawn_portal_on(
    listener: tokio::net::TcpListener,
    app: &TestApp,
    config: jejak_web::WebConfig,
) -> TestPortal {
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = app.app.clone();
    tokio::spawn(async move {
        jejak_web::run(listener, served, config, async {
            let _ = stopped.await;
        })
        .await
        .expect("the portal runs");
    });
    TestPortal {
        addr,
        stop: Some(stop),
    }
}

/// A one-time sign-in link's code for `subject` in `role` (a participant
/// by NIP), as `jejak token issue --link` makes it.
pub(super) fn link(app: &TestApp, role: Role, subject: &str) -> Issued {
    let nip = (role == Role::Participant).then_some(subject);
    app.keys.issue_link(&Grant {
        subject: if nip.is_some() { "" } else { subject },
        nip,
        role,
        opd: None,
        provider: None,
        ttl: Duration::from_secs(900),
    })
}

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of cookie `name` among a response's `Set-Cookie` headers,
/// with the whole header.
pub(super) fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..]
                .split(';')
                .next()
                .unwrap_or("")
                .to_owned();
            (value, v.to_owned())
        })
}

/// The value of the hidden input `name` in `html`.
pub(super) fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// Opens the link's page and presses its button: the answer to the POST.
pub(super) async fn use_link(base: &str, code: &str) -> reqwest::Response {
    let http = client();
    let page = http
        .get(format!("{base}/masuk?kode={code}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the link's page opens");
    let (check, _) = set_cookie(&page, "jejak_masuk").expect("the sign-in check cookie");
    let html = page.text().await.unwrap();
    let form_check = hidden(&html, "cek").expect("the form's check");
    assert_eq!(form_check, check);
    http.post(format!("{base}/masuk"))
        .header(COOKIE, format!("jejak_masuk={check}"))
        .form(&[("kode", code), ("cek", &form_check)])
        .send()
        .await
        .unwrap()
}

/// Signs in by a fresh link: the session cookie's value.
pub(super) async fn signed_in(base: &str, code: &str) -> String {
    let answer = use_link(base, code).await;
    assert_eq!(
        answer.status(),
        StatusCode::SEE_OTHER,
        "signing in redirects"
    );
    set_cookie(&answer, "jejak_sesi")
        .expect("a session cookie")
        .0
}

pub(super) async fn get(base: &str, path: &str, session: &str) -> (StatusCode, String) {
    let answer = client()
        .get(format!("{base}{path}"))
        .header(COOKIE, format!("jejak_sesi={session}"))
        .send()
        .await
        .unwrap();
    (answer.status(), answer.text().await.unwrap())
}

async fn a_link_signs_in_once_and_its_session_ends_by_signing_out(db: &TestDb) {
    let app = spawn_app(db).await;
    let portal = spawn_portal(&app).await;
    let base = format!("http://{}", portal.addr);
    let issued = link(&app, Role::Mentor, "mentor-1");

    // Pressing the button without the page's check cookie signs nobody in
    // (a form posted from elsewhere).
    let forged = client()
        .post(format!("{base}/masuk"))
        .form(&[("kode", issued.token.as_str()), ("cek", "00")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&forged, "jejak_sesi").is_none());

    let answer = use_link(&base, &issued.token).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION], "/");
    let (session, header) = set_cookie(&answer, "jejak_sesi").expect("a session cookie");
    assert_eq!(session.len(), 64, "256 random bits, in hex");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(header.contains(attribute), "{header} has {attribute}");
    }
    assert!(!header.contains("Secure"), "not over plain HTTP by default");
    // Behind a TLS proxy (`--web-secure-cookies`) the cookie is Secure.
    let secure = spawn_portal_with(
        &app,
        jejak_web::WebConfig {
            secure_cookies: true,
            ..jejak_web::WebConfig::default()
        },
    )
    .await;
    let answer = use_link(
        &format!("http://{}", secure.addr),
        &link(&app, Role::Mentor, "mentor-1").token,
    )
    .await;
    let (_, header) = set_cookie(&answer, "jejak_sesi").expect("a session cookie");
    assert!(header.contains("; Secure"), "{header}");
    drop(secure);

    // The database keeps the session's hash, never its id.
    let now = app.app.engine().clock().now();
    assert!(
        app.app
            .engine()
            .store()
            .session(&session, now)
            .await
            .unwrap()
            .is_none()
    );

    // The link works once: a second use, on this or another server
    // sharing the database, is refused with a clear page.
    let again = use_link(&base, &issued.token).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&again, "jejak_sesi").is_none());
    assert!(again.text().await.unwrap().contains("sudah pernah dipakai"));
    let other = spawn_portal(&app).await;
    let again = use_link(&format!("http://{}", other.addr), &issued.token).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

    // The mentor is in: their inbox, in Indonesian by default, English on request.
    let (status, html) = get(&base, "/kotak-masuk", &session).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<html lang=\"id\">"), "{html}");
    assert!(html.contains("Kotak masuk"));
    let (_, english) = get(&base, "/kotak-masuk?lang=en", &session).await;
    assert!(english.contains("<html lang=\"en\">"));
    assert!(english.contains("Inbox"));

    // Signing out needs the session's CSRF token.
    let csrf = hidden(&html, "csrf").expect("the sign-out form's CSRF token");
    let refused = client()
        .post(format!("{base}/keluar"))
        .header(COOKIE, format!("jejak_sesi={session}"))
        .form(&[("csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(get(&base, "/kotak-masuk", &session).await.0, StatusCode::OK);
    let out = client()
        .post(format!("{base}/keluar"))
        .header(COOKIE, format!("jejak_sesi={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let (cleared, _) = set_cookie(&out, "jejak_sesi").expect("the cookie is cleared");
    assert!(cleared.is_empty());
    // The session row is ended: the old cookie opens nothing.
    let (status, html) = get(&base, "/kotak-masuk", &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("Silakan masuk"), "{html}");

    // A damaged link is refused with a page that says so.
    let bad = client()
        .get(format!("{base}/masuk?kode=not-a-link"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.text().await.unwrap().contains("ask for a new one"));
    // A bearer token is not a sign-in link.
    let token = app.token(Role::Mentor, "mentor-1");
    let bad = client()
        .get(format!("{base}/masuk?kode={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    drop(other);
    drop(portal);
    app.stop().await;
}

async fn a_revoked_link_ends_its_session(db: &TestDb) {
    let app = spawn_app(db).await;
    let people = People::of(&app);
    let portal = spawn_portal(&app).await;
    let base = format!("http://{}", portal.addr);
    let by_id = link(&app, Role::Mentor, "mentor-1");
    let session = signed_in(&base, &by_id.token).await;
    let other = signed_in(&base, &link(&app, Role::Mentor, "mentor-2").token).await;
    assert_eq!(get(&base, "/kotak-masuk", &session).await.0, StatusCode::OK);

    app.admin(&people.admin)
        .revoke_tokens(pb::RevokeTokensRequest {
            token_id: by_id.id.clone(),
            reason: "the phone was lost".into(),
            ..pb::RevokeTokensRequest::default()
        })
        .await
        .unwrap();
    app.app.refresh_revocations().await;
    let (status, html) = get(&base, "/kotak-masuk", &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("the token has been revoked"), "{html}");
    // Ended in the database too: the cookie opens nothing any more.
    let (_, html) = get(&base, "/kotak-masuk", &session).await;
    assert!(html.contains("Silakan masuk"));
    // Another person's session goes on.
    assert_eq!(get(&base, "/kotak-masuk", &other).await.0, StatusCode::OK);

    // Revoking a subject's tokens ends that subject's sessions.
    app.admin(&people.admin)
        .revoke_tokens(pb::RevokeTokensRequest {
            subject: "mentor-2".into(),
            reason: "left the office".into(),
            ..pb::RevokeTokensRequest::default()
        })
        .await
        .unwrap();
    app.app.refresh_revocations().await;
    assert_eq!(
        get(&base, "/kotak-masuk", &other).await.0,
        StatusCode::UNAUTHORIZED
    );
    drop(portal);
    app.stop().await;
}

async fn refusals_are_the_services_own_words_with_their_http_status(db: &TestDb) {
    let app = spawn_app(db).await;
    let people = People::of(&app);
    super::proposed(&app, &people).await;
    let portal = spawn_portal(&app).await;
    let base = format!("http://{}", portal.addr);
    let participant = signed_in(&base, &link(&app, Role::Participant, NIP).token).await;
    let stranger = signed_in(&base, &link(&app, Role::Mentor, "mentor-9").token).await;
    let mentor = signed_in(&base, &link(&app, Role::Mentor, "mentor-1").token).await;

    // The participant's own project, found by their NIP's person id.
    let (status, html) = get(&base, "/proyek", &participant).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Antrian daring perizinan berusaha"));
    assert!(html.contains("aria-current=\"step\""));

    // Not allowed: 403 with the service's words.
    let grpc = app
        .mentoring(&people.participant)
        .get_inbox(pb::GetInboxRequest::default())
        .await
        .unwrap_err();
    let (status, html) = get(&base, "/kotak-masuk", &participant).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        html.contains(grpc.message()),
        "{html} says {}",
        grpc.message()
    );

    // Someone else's project: 404, as over gRPC.
    let (status, _) = get(
        &base,
        &format!("/proyek?id={}", project_id().replace('/', "%2F")),
        &stranger,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Returning without a reason: 422 with the service's words; and a
    // decision in the wrong state: 409.
    let (_, page) = get(&base, "/kotak-masuk", &mentor).await;
    let csrf = hidden(&page, "csrf").unwrap();
    let post = |form: Vec<(&'static str, String)>| {
        let base = base.clone();
        let mentor = mentor.clone();
        async move {
            let answer = client()
                .post(format!("{base}/keputusan"))
                .header(COOKIE, format!("jejak_sesi={mentor}"))
                .form(&form)
                .send()
                .await
                .unwrap();
            (answer.status(), answer.text().await.unwrap())
        }
    };
    let (status, html) = post(vec![
        ("csrf", csrf.clone()),
        ("proyek", project_id()),
        ("jenis", "proposal".into()),
        ("aksi", "kembalikan".into()),
        ("alasan", String::new()),
    ])
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("reason"), "{html}");
    let (status, _) = post(vec![
        ("csrf", csrf.clone()),
        ("proyek", project_id()),
        ("jenis", "milestone_evidence".into()),
        ("tahap", "m1".into()),
        ("aksi", "setujui".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // A form without the session's CSRF token is refused before anything.
    let (status, _) = post(vec![
        ("csrf", "forged".into()),
        ("proyek", project_id()),
        ("jenis", "proposal".into()),
        ("aksi", "setujui-area".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Agreeing the change area by the portal is the service's write.
    let (status, _) = post(vec![
        ("csrf", csrf),
        ("proyek", project_id()),
        ("jenis", "proposal".into()),
        ("aksi", "setujui-area".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let detail = app
        .projects(&people.mentor)
        .get_project_detail(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        detail.notes.iter().any(|n| n.kind == "change_area_agreed"),
        "{:?}",
        detail.notes
    );
    drop(portal);
    app.stop().await;
}

async fn an_organizer_reads_the_cohort_board(db: &TestDb) {
    let app = spawn_app(db).await;
    let people = People::of(&app);
    super::proposed(&app, &people).await;
    let portal = spawn_portal(&app).await;
    let base = format!("http://{}", portal.addr);
    let organizer = signed_in(&base, &link(&app, Role::Organizer, "organizer-1").token).await;
    let (status, html) = get(&base, "/angkatan", &organizer).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(super::COHORT));
    let (status, html) = get(
        &base,
        &format!("/angkatan?id={}", super::COHORT),
        &organizer,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Siti Rahmawati"), "{html}");
    assert!(html.contains("Antrian daring perizinan berusaha"));
    // The figures are the service's.
    let progress = app
        .cohorts(&people.organizer)
        .get_cohort_progress(pb::GetCohortProgressRequest {
            cohort_id: super::COHORT.into(),
            min_position: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        html.contains(&format!("<dt>proyek</dt><dd>{}</dd>", progress.projects)),
        "{html}"
    );
    drop(portal);
    app.stop().await;
}

async fn an_auditor_reads_a_streams_history_and_verifies_a_digest(db: &TestDb) {
    let app = spawn_app(db).await;
    let people = People::of(&app);
    super::proposed(&app, &people).await;
    let portal = spawn_portal(&app).await;
    let base = format!("http://{}", portal.addr);
    let auditor = signed_in(&base, &link(&app, Role::Auditor, "insp-1").token).await;
    let code = project_id().replace('/', "%2F");
    let (status, html) = get(
        &base,
        &format!("/audit?aliran={code}&pada=2030-01-01"),
        &auditor,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"riwayat\""), "{html}");
    assert!(html.contains("(peserta)"), "the actor's role: {html}");
    assert!(html.contains("id=\"keadaan\""), "{html}");
    let digest = app
        .audit(&people.auditor)
        .get_digest(pb::GetDigestRequest {})
        .await
        .unwrap()
        .into_inner();
    let (status, html) = get(
        &base,
        &format!("/audit?digest={}:{}", digest.position, digest.hash),
        &auditor,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Utuh"), "{html}");
    let (_, html) = get(
        &base,
        &format!("/audit?digest={}:{}", digest.position, "0".repeat(64)),
        &auditor,
    )
    .await;
    assert!(html.contains("Tidak utuh"), "{html}");
    // Only auditors: a mentor is refused in the service's words.
    let mentor = signed_in(&base, &link(&app, Role::Mentor, "mentor-1").token).await;
    let (status, _) = get(&base, &format!("/audit?aliran={code}"), &mentor).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    drop(portal);
    app.stop().await;
}

async fn the_innovation_office_sees_the_citys_figures_as_the_statistics_rpc_gives_them(
    db: &TestDb,
) {
    let app = spawn_app(db).await;
    let people = People::of(&app);
    for id in ["inv-1", "inv-2"] {
        app.innovations(&people.brida)
            .register_innovation(super::refusals::register(id))
            .await
            .unwrap();
    }
    // One goes dormant: the page names it, as the register does.
    let mut brida = app.innovations(&people.brida);
    brida
        .register_innovation(pb::RegisterInnovationRequest {
            name: "Klinik Sore".into(),
            ..super::refusals::register("inv-3")
        })
        .await
        .unwrap();
    brida
        .judge_feasibility(pb::JudgeFeasibilityRequest {
            request_id: String::new(),
            innovation_id: "inv-3".into(),
            feasible: true,
            notes: "Layak".into(),
            expected_version: None,
        })
        .await
        .unwrap();
    brida
        .designate(pb::DesignateRequest {
            request_id: String::new(),
            innovation_id: "inv-3".into(),
            decree_number: "SK 3/2026".into(),
            decree_date: "2026-01-10".into(),
            expected_version: None,
        })
        .await
        .unwrap();
    use super::oracle::dated;
    brida
        .start_pilot(dated("inv-3", "2026-01-15", ""))
        .await
        .unwrap();
    brida
        .evaluate_pilot(dated("inv-3", "2026-02-01", "Berhasil"))
        .await
        .unwrap();
    brida
        .implement(dated("inv-3", "2026-02-10", "APBD 2026"))
        .await
        .unwrap();
    let dormant = brida
        .mark_dormant(dated("inv-3", "2026-02-20", "Anggaran habis"))
        .await
        .unwrap()
        .into_inner();
    let stats = app
        .innovations(&people.brida)
        .get_statistics(pb::GetStatisticsRequest {
            min_position: dormant.position,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.dormant, ["inv-3"]);
    let portal = spawn_portal(&app).await;
    let base = format!("http://{}", portal.addr);
    let brida = signed_in(&base, &link(&app, Role::BridaOfficer, "brida-1").token).await;
    let (status, html) = get(&base, "/kota", &brida).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(&format!("<dd id=\"jumlah\">{}</dd>", stats.total)),
        "{html}"
    );
    assert!(
        html.contains(&format!("<dd id=\"gini\">{:.3}</dd>", stats.gini)),
        "{html}"
    );
    for opd in &stats.by_opd {
        assert!(
            html.contains(&format!("<th scope=\"row\">{}</th>", opd.opd)),
            "{html}"
        );
    }
    assert!(html.contains("<svg id=\"lorenz\""), "{html}");
    assert!(
        html.contains("<ul id=\"vakum\"><li>Klinik Sore (dinkes)</li></ul>"),
        "{html}"
    );
    drop(portal);
    app.stop().await;
}
