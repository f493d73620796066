//! Signing in to the portal through the region's identity provider (ADR
//! 0036), against a small provider in the test process: discovery, a key
//! set with an RSA key, an authorize endpoint that sends the visitor back
//! with a code, and a token endpoint that checks the client, the PKCE
//! verifier and the redirect, and answers with a signed ID token. Also the
//! session's length, and the portal over HTTPS.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jejak_engine::domain::Role;
use jejak_engine::store::GrantRow;
use jejak_proto::v1 as pb;
use jejak_tests::TestDb;
use jejak_tests::app::{TestApp, spawn_app};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::People;
use super::portal::{
    TestPortal, client, get, hidden, link, set_cookie, spawn_portal_on, spawn_portal_with, use_link,
};

jejak_tests::on_both_backends!(
    a_granted_account_signs_in_and_its_session_is_a_links_session,
    an_account_without_a_grant_is_refused_with_whom_to_ask,
    a_sign_in_that_does_not_check_out_opens_no_session,
    a_revoked_grant_signs_in_no_more_and_ends_its_sessions,
    a_session_past_its_length_lands_on_the_sign_in_page
);

const CLIENT_ID: &str = "jejak-portal";
const CLIENT_SECRET: &str = "the-portals-client-secret";

/// What the provider does to the next ID token it signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tamper {
    None,
    Expired,
    OtherKey,
    OtherAudience,
    OtherNonce,
}

struct Issued {
    challenge: String,
    nonce: String,
    redirect_uri: String,
    subject: String,
}

struct IdpState {
    issuer: String,
    key: EncodingKey,
    /// A key the provider does not publish, under the same key id.
    stranger: EncodingKey,
    jwk: Value,
    /// The account that signs in next.
    subject: String,
    tamper: Tamper,
    codes: HashMap<String, Issued>,
}

type Shared = Arc<Mutex<IdpState>>;

/// The identity provider, on a random port, stopped when dropped.
struct Idp {
    issuer: String,
    state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Idp {
    /// The account that signs in next, and what happens to its token.
    fn next(&self, subject: &str, tamper: Tamper) {
        let mut state = self.state.lock().unwrap();
        state.subject = subject.to_owned();
        state.tamper = tamper;
    }
}

fn rsa_pair() -> (EncodingKey, rsa::RsaPrivateKey) {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let der = private.to_pkcs1_der().unwrap();
    (EncodingKey::from_rsa_der(der.as_bytes()), private)
}

async fn spawn_idp() -> Idp {
    use rsa::traits::PublicKeyParts as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let issuer = format!("http://{addr}/realms/asn");
    let (key, private) = rsa_pair();
    let (stranger, _) = rsa_pair();
    let state = Arc::new(Mutex::new(IdpState {
        issuer: issuer.clone(),
        key,
        stranger,
        jwk: json!({
            "kty": "RSA", "kid": "idp-1", "alg": "RS256", "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        }),
        subject: String::new(),
        tamper: Tamper::None,
        codes: HashMap::new(),
    }));
    let app = axum::Router::new()
        .route(
            "/realms/asn/.well-known/openid-configuration",
            routing::get(discovery),
        )
        .route("/realms/asn/certs", routing::get(certs))
        .route("/realms/asn/auth", routing::get(authorize))
        .route("/realms/asn/token", routing::post(token))
        .with_state(state.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Idp {
        issuer,
        state,
        stop: Some(stop),
    }
}

/// A JSON answer (the portal's axum has no `json` feature).
fn json_answer(status: AxumStatus, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn discovery(State(state): State<Shared>) -> Response {
    let issuer = state.lock().unwrap().issuer.clone();
    json_answer(
        AxumStatus::OK,
        &json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/certs"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }),
    )
}

async fn certs(State(state): State<Shared>) -> Response {
    let jwk = state.lock().unwrap().jwk.clone();
    json_answer(AxumStatus::OK, &json!({ "keys": [jwk] }))
}

/// The visitor "signs in" at once: back to the portal with a code.
async fn authorize(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    assert_eq!(param("response_type"), "code");
    assert_eq!(param("client_id"), CLIENT_ID);
    assert_eq!(param("code_challenge_method"), "S256", "PKCE with S256");
    assert!(param("scope").split(' ').any(|s| s == "openid"));
    assert!(!param("nonce").is_empty() && !param("state").is_empty());
    let code = uuid::Uuid::now_v7().to_string();
    let mut state = state.lock().unwrap();
    let subject = state.subject.clone();
    state.codes.insert(
        code.clone(),
        Issued {
            challenge: param("code_challenge"),
            nonce: param("nonce"),
            redirect_uri: param("redirect_uri"),
            subject,
        },
    );
    let back = reqwest::Url::parse_with_params(
        &param("redirect_uri"),
        &[("code", code.as_str()), ("state", param("state").as_str())],
    )
    .unwrap();
    Redirect::to(back.as_str()).into_response()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Exchanges a code once, for the client that proves it holds the PKCE
/// verifier of the code's challenge.
async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let refuse = |error: &str| json_answer(AxumStatus::BAD_REQUEST, &json!({ "error": error }));
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(basic.as_str())
    {
        return json_answer(
            AxumStatus::UNAUTHORIZED,
            &json!({ "error": "invalid_client" }),
        );
    }
    let param = |name: &str| form.get(name).cloned().unwrap_or_default();
    if param("grant_type") != "authorization_code" {
        return refuse("unsupported_grant_type");
    }
    let mut state = state.lock().unwrap();
    // A code is spent by its first exchange, good or bad.
    let Some(issued) = state.codes.remove(&param("code")) else {
        return refuse("invalid_grant");
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(param("code_verifier").as_bytes()));
    if challenge != issued.challenge || param("redirect_uri") != issued.redirect_uri {
        return refuse("invalid_grant");
    }
    let tamper = state.tamper;
    let mut claims = json!({
        "iss": state.issuer, "aud": CLIENT_ID, "sub": issued.subject,
        "iat": now(), "exp": now() + 300, "nonce": issued.nonce,
        "email": "someone@cilegon.example", "name": "Someone",
    });
    match tamper {
        Tamper::None | Tamper::OtherKey => {}
        Tamper::Expired => {
            claims["iat"] = json!(now() - 7200);
            claims["exp"] = json!(now() - 3600);
        }
        Tamper::OtherAudience => claims["aud"] = json!("another-app"),
        Tamper::OtherNonce => claims["nonce"] = json!("a-nonce-of-another-sign-in"),
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("idp-1".to_owned());
    let key = if tamper == Tamper::OtherKey {
        &state.stranger
    } else {
        &state.key
    };
    let id_token = jsonwebtoken::encode(&header, &claims, key).unwrap();
    json_answer(
        AxumStatus::OK,
        &json!({
            "access_token": "an-access-token", "token_type": "Bearer", "expires_in": 300,
            "id_token": id_token,
        }),
    )
}

async fn oidc_portal(app: &TestApp, idp: &Idp) -> (TestPortal, String) {
    oidc_portal_with(app, idp, jejak_web::WebConfig::default()).await
}

async fn oidc_portal_with(
    app: &TestApp,
    idp: &Idp,
    config: jejak_web::WebConfig,
) -> (TestPortal, String) {
    // The portal's address must be known before it starts: the provider
    // sends visitors back to it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = jejak_web::WebConfig {
        oidc: Some(jejak_web::OidcSettings {
            issuer: idp.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            public_url: base.clone(),
        }),
        ..config
    };
    (spawn_portal_on(listener, app, config), base)
}

/// The portal's answer when the visitor comes back from the provider,
/// after starting at the portal and passing the provider.
struct Back {
    response: reqwest::Response,
}

/// Starts a sign-in at the portal and follows the provider back: the
/// portal's pending cookie and the URL the provider sends the visitor to.
async fn through_provider(base: &str) -> (String, String) {
    let http = client();
    let start = http
        .get(format!("{base}/masuk/daerah"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER, "off to the provider");
    let (pending, header) = set_cookie(&start, "jejak_oidc").expect("the pending sign-in's cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/masuk/daerah"] {
        assert!(header.contains(attribute), "{header} has {attribute}");
    }
    let to = start.headers()[LOCATION].to_str().unwrap().to_owned();
    let at = http.get(&to).send().await.unwrap();
    assert_eq!(
        at.status(),
        StatusCode::SEE_OTHER,
        "the provider sends them back"
    );
    let back = at.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&format!("{base}/masuk/daerah/kembali?")),
        "{back}"
    );
    (pending, back)
}

async fn come_back(back: &str, pending: &str) -> Back {
    let response = client()
        .get(back)
        .header(COOKIE, format!("jejak_oidc={pending}"))
        .send()
        .await
        .unwrap();
    Back { response }
}

/// A whole sign-in through the provider: the portal's last answer.
async fn sign_in(base: &str) -> Back {
    let (pending, back) = through_provider(base).await;
    come_back(&back, &pending).await
}

/// The session cookie a successful sign-in set.
async fn session_of(back: Back) -> String {
    let response = back.response;
    assert_eq!(response.status(), StatusCode::OK, "signed in");
    let (session, header) = set_cookie(&response, "jejak_sesi").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(header.contains(attribute), "{header} has {attribute}");
    }
    let (cleared, _) = set_cookie(&response, "jejak_oidc").expect("the pending cookie is cleared");
    assert!(cleared.is_empty());
    let html = response.text().await.unwrap();
    assert!(
        html.contains("url=/"),
        "the page goes on to the start: {html}"
    );
    session
}

/// A refusal: its status and page, and no session.
async fn refused(back: Back) -> (StatusCode, String) {
    let response = back.response;
    assert!(
        set_cookie(&response, "jejak_sesi").is_none(),
        "a refused sign-in opens no session"
    );
    (response.status(), response.text().await.unwrap())
}

async fn grant(app: &TestApp, idp: &Idp, account: &str, subject: &str, role: Role) -> GrantRow {
    let row = GrantRow {
        issuer: idp.issuer.clone(),
        issuer_subject: account.into(),
        grant_id: uuid::Uuid::now_v7().to_string(),
        subject: subject.into(),
        role: role.as_str().into(),
        opd: None,
        provider: None,
        granted_at: chrono::Utc::now(),
    };
    app.app
        .engine()
        .store()
        .put_portal_grant(&row)
        .await
        .unwrap();
    row
}

async fn a_granted_account_signs_in_and_its_session_is_a_links_session(db: &TestDb) {
    let app = spawn_app(db).await;
    let people = People::of(&app);
    let idp = spawn_idp().await;
    let (portal, base) = oidc_portal(&app, &idp).await;

    // The sign-in pages offer the region's account.
    let start = client().get(format!("{base}/")).send().await.unwrap();
    let html = start.text().await.unwrap();
    assert!(html.contains("Masuk dengan akun daerah"), "{html}");
    assert!(html.contains("href=\"/masuk/daerah\""));
    let english = client()
        .get(format!("{base}/masuk?lang=en"))
        .send()
        .await
        .unwrap();
    assert!(
        english
            .text()
            .await
            .unwrap()
            .contains("Sign in with the region's account")
    );

    grant(&app, &idp, "f81d4fae-7dec-11d0", "mentor-1", Role::Mentor).await;
    idp.next("f81d4fae-7dec-11d0", Tamper::None);
    let session = session_of(sign_in(&base).await).await;
    let (status, html) = get(&base, "/", &session).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (status, html) = get(&base, "/kotak-masuk", &session).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Kotak masuk"));

    // Stored as a link's session is: the hash of its id, the jejak subject,
    // nothing of the account's name or email.
    let rows = session_rows(&app).await;
    assert!(rows.iter().all(|r| !r.contains(&session)), "{rows:?}");
    assert!(rows.iter().any(|r| r.contains("mentor-1")), "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| !r.contains("someone") && !r.contains("Someone")),
        "{rows:?}"
    );

    // `jejak admin revoke --subject` ends it, as it ends a link's.
    let other = {
        grant(&app, &idp, "0badc0de", "mentor-2", Role::Mentor).await;
        idp.next("0badc0de", Tamper::None);
        session_of(sign_in(&base).await).await
    };
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

    // Signing out needs the CSRF token and ends the session.
    let csrf = hidden(&html, "csrf").expect("the sign-out form's CSRF token");
    let out = client()
        .post(format!("{base}/keluar"))
        .header(COOKIE, format!("jejak_sesi={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let (status, html) = get(&base, "/kotak-masuk", &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("Sesi Anda sudah berakhir"), "{html}");
    drop(portal);
    drop(idp);
    app.stop().await;
}

/// Every stored session row, as text.
async fn session_rows(app: &TestApp) -> Vec<String> {
    let store = app.app.engine().store();
    let sql = "SELECT id_hash || ' ' || subject || ' ' || role || ' ' || token_id || ' ' || \
               COALESCE(grant_id, '') FROM portal_sessions";
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        (_, Some(pool)) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        _ => unreachable!("a store is on one backend"),
    }
}

async fn an_account_without_a_grant_is_refused_with_whom_to_ask(db: &TestDb) {
    let app = spawn_app(db).await;
    let idp = spawn_idp().await;
    let (portal, base) = oidc_portal(&app, &idp).await;
    idp.next("5d1c-unknown-account", Tamper::None);
    let (status, html) = refused(sign_in(&base).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("belum diberi akses"), "{html}");
    assert!(html.contains("admin jejak"), "whom to ask: {html}");
    assert!(
        html.contains("5d1c-unknown-account"),
        "the account's code, for the administrator: {html}"
    );
    // A grant for another issuer with the same subject is not this one's.
    let row = GrantRow {
        issuer: "https://another-idp.example".into(),
        ..grant(&app, &idp, "x", "mentor-1", Role::Mentor).await
    };
    let row = GrantRow {
        issuer_subject: "5d1c-unknown-account".into(),
        grant_id: uuid::Uuid::now_v7().to_string(),
        ..row
    };
    app.app
        .engine()
        .store()
        .put_portal_grant(&row)
        .await
        .unwrap();
    let (status, _) = refused(sign_in(&base).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    drop(portal);
    drop(idp);
    app.stop().await;
}

async fn a_sign_in_that_does_not_check_out_opens_no_session(db: &TestDb) {
    let app = spawn_app(db).await;
    let idp = spawn_idp().await;
    let (portal, base) = oidc_portal(&app, &idp).await;
    grant(&app, &idp, "acct-1", "mentor-1", Role::Mentor).await;
    idp.next("acct-1", Tamper::None);

    // Another state than the one this browser started with.
    let (pending, back) = through_provider(&base).await;
    let forged = back.replace("state=", "state=x");
    let (status, html) = refused(come_back(&forged, &pending).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        html.contains("bukan untuk permintaan masuk yang dimulai di peramban ini"),
        "{html}"
    );

    // Back without the cookie (started in another browser, or forged).
    let (_, back) = through_provider(&base).await;
    let answer = client().get(&back).send().await.unwrap();
    let (status, html) = refused(Back { response: answer }).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("tidak dimulai dari peramban ini"), "{html}");

    // A pending cookie not signed by this server.
    let (_, back) = through_provider(&base).await;
    let (status, _) = refused(come_back(&back, "eyJhbGciOiJIUzI1NiJ9.e30.AAAA").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The provider's refusal.
    let answer = client()
        .get(format!(
            "{base}/masuk/daerah/kembali?error=access_denied&state=s"
        ))
        .send()
        .await
        .unwrap();
    let (status, html) = refused(Back { response: answer }).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("tidak menyelesaikan proses masuk"), "{html}");

    // ID tokens that do not check out, each with its reason.
    for (tamper, words) in [
        (Tamper::Expired, "sudah kedaluwarsa"),
        (Tamper::OtherKey, "Tanda tangan pada tanda masuk"),
        (Tamper::OtherAudience, "bukan untuk jejak"),
        (Tamper::OtherNonce, "bukan untuk permintaan masuk ini"),
    ] {
        idp.next("acct-1", tamper);
        let (status, html) = refused(sign_in(&base).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{tamper:?}");
        assert!(html.contains(words), "{tamper:?}: {html}");
    }

    // A code works once: coming back twice with it opens nothing more.
    idp.next("acct-1", Tamper::None);
    let (pending, back) = through_provider(&base).await;
    session_of(come_back(&back, &pending).await).await;
    let (status, html) = refused(come_back(&back, &pending).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("tidak menerima kode masuk"), "{html}");
    drop(portal);
    drop(idp);
    app.stop().await;
}

async fn a_revoked_grant_signs_in_no_more_and_ends_its_sessions(db: &TestDb) {
    let app = spawn_app(db).await;
    let idp = spawn_idp().await;
    let (portal, base) = oidc_portal(&app, &idp).await;
    let store = app.app.engine().store();
    grant(&app, &idp, "acct-9", "mentor-1", Role::Mentor).await;
    idp.next("acct-9", Tamper::None);
    let session = session_of(sign_in(&base).await).await;
    assert_eq!(get(&base, "/kotak-masuk", &session).await.0, StatusCode::OK);
    let listed = store.portal_grants(Some(&idp.issuer)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].subject, "mentor-1");

    // Granted again as someone else: the old session opens nothing.
    grant(&app, &idp, "acct-9", "mentor-2", Role::Mentor).await;
    assert_eq!(store.portal_grants(None).await.unwrap().len(), 1);
    let (status, html) = get(&base, "/kotak-masuk", &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("Sesi Anda sudah berakhir"), "{html}");
    let session = session_of(sign_in(&base).await).await;
    assert_eq!(get(&base, "/kotak-masuk", &session).await.0, StatusCode::OK);

    // Revoked: its session ends, and it cannot sign in again.
    assert!(
        store
            .remove_portal_grant(&idp.issuer, "acct-9")
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_portal_grant(&idp.issuer, "acct-9")
            .await
            .unwrap()
    );
    assert_eq!(
        get(&base, "/kotak-masuk", &session).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = refused(sign_in(&base).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    drop(portal);
    drop(idp);
    app.stop().await;
}

async fn a_session_past_its_length_lands_on_the_sign_in_page(db: &TestDb) {
    let app = spawn_app(db).await;
    let portal = spawn_portal_with(
        &app,
        jejak_web::WebConfig {
            session_ttl: Duration::from_secs(2 * 3600),
            ..jejak_web::WebConfig::default()
        },
    )
    .await;
    let base = format!("http://{}", portal.addr);
    let answer = use_link(&base, &link(&app, Role::Mentor, "mentor-1").token).await;
    let (session, header) = set_cookie(&answer, "jejak_sesi").expect("a session cookie");
    assert!(header.contains("Max-Age=7200"), "{header}");
    assert_eq!(get(&base, "/kotak-masuk", &session).await.0, StatusCode::OK);

    app.clock.advance(chrono::Duration::minutes(119));
    assert_eq!(get(&base, "/kotak-masuk", &session).await.0, StatusCode::OK);
    app.clock.advance(chrono::Duration::minutes(2));
    let (status, html) = get(&base, "/kotak-masuk", &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("Sesi Anda sudah berakhir"), "{html}");
    assert!(html.contains("waktunya habis"), "{html}");
    drop(portal);
    app.stop().await;
}

/// The portal over HTTPS with its own certificate: pages, and cookies
/// Secure without being told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_serves_https_and_its_cookies_are_secure() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = certified.cert.pem();
    let key = certified.signing_key.serialize_pem();
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = app.app.clone();
    let tls = jejak_server::Tls {
        cert: cert.clone().into_bytes(),
        key: key.into_bytes(),
    };
    let server = tokio::spawn(async move {
        jejak_web::serve(
            listener,
            served,
            jejak_web::WebConfig::default(),
            Some(&tls),
            async {
                let _ = stopped.await;
            },
        )
        .await
    });
    let https = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", addr.port());
    let code = link(&app, Role::Mentor, "mentor-1").token;
    let page = https
        .get(format!("{base}/masuk?kode={code}"))
        .send()
        .await
        .expect("the portal answers over HTTPS");
    assert_eq!(page.status(), StatusCode::OK);
    let (check, header) = set_cookie(&page, "jejak_masuk").expect("the sign-in check cookie");
    assert!(header.contains("; Secure"), "{header}");
    let answer = https
        .post(format!("{base}/masuk"))
        .header(COOKIE, format!("jejak_masuk={check}"))
        .form(&[("kode", code.as_str()), ("cek", check.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (session, header) = set_cookie(&answer, "jejak_sesi").expect("a session cookie");
    assert!(header.contains("; Secure"), "{header}");
    let inbox = https
        .get(format!("{base}/kotak-masuk"))
        .header(COOKIE, format!("jejak_sesi={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), StatusCode::OK);

    // Plain HTTP to the HTTPS port gets no page.
    let plain = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .map(|r| r.status());
    assert!(
        plain.as_ref().is_ok_and(|s| *s != StatusCode::OK) || plain.is_err(),
        "{plain:?}"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    app.stop().await;
    db.cleanup().await;
}
