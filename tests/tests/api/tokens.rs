//! Tokens: what a token must say, roles no token may carry, revocation
//! (on one server and on a second sharing the database), and tokens of
//! external OpenID Connect issuers checked against their key sets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jejak_proto::v1 as pb;
use jejak_server::Keys;
use jejak_server::auth::{ClaimNames, JwksSource, OidcConfig, OidcIssuer};
use jejak_tests::app::{TEST_SECRET, TestApp, spawn_app, spawn_app_with_keys};
use jejak_tests::{TestDb, on_both_backends};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;

use super::*;

on_both_backends!(
    a_token_must_name_issuer_audience_and_expiry_and_not_come_from_the_future,
    no_token_carries_an_internal_role,
    a_revoked_token_is_refused_on_every_server_sharing_the_log,
    tokens_of_an_oidc_issuer_are_checked_against_its_key_set_file,
    an_oidc_key_set_at_a_url_is_fetched_again_for_an_unknown_key_id,
    an_oidc_participant_acts_as_the_person_their_nip_was_enrolled_as,
);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token signed with the test server's secret, with exactly `claims`.
fn signed(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(TEST_SECRET),
    )
    .unwrap()
}

fn valid_claims() -> Value {
    json!({
        "sub": "insp-1", "role": "auditor", "iss": "jejak", "aud": "jejak",
        "iat": now(), "exp": now() + 600, "jti": uuid::Uuid::now_v7().to_string(),
    })
}

/// The code an RPC that every auditor may call answers with `token`.
async fn answer(app: &TestApp, token: &str) -> (Code, String) {
    match app.audit(token).get_digest(pb::GetDigestRequest {}).await {
        Ok(_) => (Code::Ok, String::new()),
        Err(status) => (status.code(), status.message().to_owned()),
    }
}

async fn a_token_must_name_issuer_audience_and_expiry_and_not_come_from_the_future(db: &TestDb) {
    let app = spawn_app(db).await;
    let with = |key: &str, value: Value| {
        let mut claims = valid_claims();
        claims[key] = value;
        claims
    };
    let without = |key: &str| {
        let mut claims = valid_claims();
        claims.as_object_mut().unwrap().remove(key);
        claims
    };
    let table: Vec<(&str, Value, Code)> = vec![
        ("valid", valid_claims(), Code::Ok),
        ("no exp", without("exp"), Code::Unauthenticated),
        (
            "expired",
            with("exp", json!(now() - 120)),
            Code::Unauthenticated,
        ),
        (
            "nbf 2 minutes ahead",
            with("nbf", json!(now() + 120)),
            Code::Unauthenticated,
        ),
        (
            "nbf within the leeway",
            with("nbf", json!(now() + 30)),
            Code::Ok,
        ),
        (
            "iat 2 minutes ahead",
            with("iat", json!(now() + 120)),
            Code::Unauthenticated,
        ),
        (
            "iat within the leeway",
            with("iat", json!(now() + 30)),
            Code::Ok,
        ),
        (
            "another issuer",
            with("iss", json!("someone-else")),
            Code::Unauthenticated,
        ),
        ("no issuer", without("iss"), Code::Unauthenticated),
        (
            "another audience",
            with("aud", json!("another-service")),
            Code::Unauthenticated,
        ),
        ("no audience", without("aud"), Code::Unauthenticated),
    ];
    for (case, claims, expected) in table {
        let (code, message) = answer(&app, &signed(&claims)).await;
        assert_eq!(code, expected, "{case}: {message}");
    }
    // jejak token issue's tokens carry what the server requires.
    let issued = app.keys.issue_token(&jejak_server::auth::Grant {
        subject: "insp-1",
        nip: None,
        role: jejak_engine::domain::Role::Auditor,
        opd: None,
        provider: None,
        ttl: Duration::from_secs(60),
    });
    assert_eq!(answer(&app, &issued.token).await.0, Code::Ok);
    // A server configured for another issuer and audience refuses them.
    let sibling = db.sibling().await;
    let other = spawn_app_with_keys(
        &sibling,
        Keys::new(TEST_SECRET)
            .unwrap()
            .with_issuer("kota-cilegon", "jejak-cilegon"),
    )
    .await;
    let (code, message) = answer(&other, &issued.token).await;
    assert_eq!(code, Code::Unauthenticated, "{message}");
    assert!(message.contains("issuer"), "{message}");
    let theirs = other.token(jejak_engine::domain::Role::Auditor, "insp-1");
    assert_eq!(answer(&other, &theirs).await.0, Code::Ok);
    other.stop().await;
    sibling.cleanup().await;
    app.stop().await;
}

async fn no_token_carries_an_internal_role(db: &TestDb) {
    let app = spawn_app(db).await;
    for role in ["system", "SYSTEM", " system "] {
        let mut claims = valid_claims();
        claims["role"] = json!(role);
        claims["sub"] = json!("jejak:overdue");
        let (code, message) = answer(&app, &signed(&claims)).await;
        assert_eq!(code, Code::Unauthenticated, "{role}: {message}");
        assert!(message.contains("jejak's own"), "{message}");
        // Not even for a write the system makes.
        let refused = app
            .cohorts(&signed(&claims))
            .open_cohort(open_cohort())
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Code::Unauthenticated);
    }
    app.stop().await;
}

async fn refused_within(app: &TestApp, token: &str, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        let (code, message) = answer(app, token).await;
        if code == Code::Unauthenticated {
            return message;
        }
        assert!(
            started.elapsed() < limit,
            "the token is still accepted after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_revoked_token_is_refused_on_every_server_sharing_the_log(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let grant = |ttl| jejak_server::auth::Grant {
        subject: "insp-1",
        nip: None,
        role: jejak_engine::domain::Role::Auditor,
        opd: None,
        provider: None,
        ttl,
    };
    let first = app.keys.issue_token(&grant(Duration::from_secs(600)));
    let second = app.keys.issue_token(&grant(Duration::from_secs(600)));
    assert_eq!(answer(&app, &first.token).await.0, Code::Ok);

    // Only operators revoke, and they say what.
    let revoke = |token_id: &str, subject: &str| pb::RevokeTokensRequest {
        request_id: String::new(),
        token_id: token_id.into(),
        subject: subject.into(),
        issued_before: String::new(),
        reason: "a laptop was stolen".into(),
    };
    for token in [&p.auditor, &p.organizer, &first.token] {
        let refused = app
            .admin(token)
            .revoke_tokens(revoke(&first.id, ""))
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    }
    for (token_id, subject) in [("", ""), ("x", "insp-1")] {
        let refused = app
            .admin(&p.admin)
            .revoke_tokens(revoke(token_id, subject))
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    }

    // One token by its id: refused at once on this server.
    let written = app
        .admin(&p.admin)
        .revoke_tokens(revoke(&first.id, ""))
        .await
        .expect("revoked")
        .into_inner();
    assert_eq!(written.events, ["TokenRevoked"]);
    let (code, message) = answer(&app, &first.token).await;
    assert_eq!(code, Code::Unauthenticated);
    assert!(message.contains("revoked"), "{message}");
    assert_eq!(
        answer(&app, &second.token).await.0,
        Code::Ok,
        "only that one"
    );

    // Recorded in the log, with who revoked it.
    let access = app
        .audit(&p.auditor)
        .read_stream(pb::ReadStreamRequest {
            stream_id: "access".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(access.events.len(), 1);
    assert_eq!(access.events[0].event_type, "TokenRevoked");
    assert!(access.events[0].metadata_json.contains("\"ops-1\""));

    // Every token of a subject issued before now.
    app.admin(&p.admin)
        .revoke_tokens(revoke("", "insp-1"))
        .await
        .expect("revoked");
    assert_eq!(answer(&app, &second.token).await.0, Code::Unauthenticated);
    let mut later = valid_claims();
    later["iat"] = json!(now() + 5);
    assert_eq!(
        answer(&app, &signed(&later)).await.0,
        Code::Ok,
        "a token issued after the revocation is taken"
    );
    assert_ne!(
        answer(&app, &p.admin).await.0,
        Code::Unauthenticated,
        "other subjects are not touched"
    );

    // A server started on the same log knows every revocation, and one
    // sharing it learns of new ones within seconds.
    let other = spawn_app(db).await;
    assert_eq!(answer(&other, &first.token).await.0, Code::Unauthenticated);
    assert_eq!(answer(&other, &second.token).await.0, Code::Unauthenticated);
    if db.is_postgres() {
        let third = app.keys.issue_token(&jejak_server::auth::Grant {
            subject: "insp-2",
            ..grant(Duration::from_secs(600))
        });
        assert_eq!(answer(&other, &third.token).await.0, Code::Ok);
        app.admin(&p.admin)
            .revoke_tokens(revoke(&third.id, ""))
            .await
            .expect("revoked on the first server");
        let message = refused_within(&other, &third.token, Duration::from_secs(10)).await;
        assert!(message.contains("revoked"), "{message}");
    }
    other.stop().await;
    app.stop().await;
}

// ---- OpenID Connect ------------------------------------------------------

/// A signing key the test made, with its public half as a JWK.
struct TestKey {
    kid: &'static str,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

fn rsa_key(kid: &'static str) -> TestKey {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::traits::PublicKeyParts as _;
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let der = private.to_pkcs1_der().unwrap();
    TestKey {
        kid,
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        jwk: json!({
            "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        }),
    }
}

fn ec_key(kid: &'static str) -> TestKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let point = pair.public_key_raw();
    assert_eq!(
        (point.len(), point[0]),
        (65, 4),
        "an uncompressed P-256 point"
    );
    TestKey {
        kid,
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk: json!({
            "kty": "EC", "kid": kid, "alg": "ES256", "crv": "P-256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        }),
    }
}

fn ed_key(kid: &'static str) -> TestKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    TestKey {
        kid,
        alg: Algorithm::EdDSA,
        encoding: EncodingKey::from_ed_der(&pair.serialize_der()),
        jwk: json!({
            "kty": "OKP", "kid": kid, "alg": "EdDSA", "crv": "Ed25519", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw()),
        }),
    }
}

fn jwks(keys: &[&TestKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }).to_string()
}

const ISSUER: &str = "https://sso.cilegon.example/realms/asn";

fn oidc_config(jwks: JwksSource) -> OidcConfig {
    OidcConfig {
        issuer: ISSUER.into(),
        audience: "jejak".into(),
        jwks,
        claims: ClaimNames {
            subject: "preferred_username".into(),
            role: "realm_access.roles".into(),
            opd: "unit_kerja".into(),
            provider: "penyelenggara".into(),
            nip: "nip_asn".into(),
        },
        roles: BTreeMap::from([
            ("jejak-auditor".to_owned(), "auditor".to_owned()),
            ("jejak-penyelenggara".to_owned(), "organizer".to_owned()),
            ("jejak-peserta".to_owned(), "participant".to_owned()),
        ]),
    }
}

/// A token of the external issuer signed with `key`.
fn external(key: &TestKey, overrides: &[(&str, Value)]) -> String {
    let mut claims = json!({
        "iss": ISSUER, "aud": "jejak", "sub": "5d1c-opaque-id", "preferred_username": "insp-9",
        "realm_access": { "roles": ["offline_access", "jejak-auditor"] },
        "iat": now(), "exp": now() + 600, "jti": uuid::Uuid::now_v7().to_string(),
    });
    for (key, value) in overrides {
        claims[*key] = value.clone();
    }
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.to_owned());
    jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
}

async fn tokens_of_an_oidc_issuer_are_checked_against_its_key_set_file(db: &TestDb) {
    let (rsa, ec, ed) = (rsa_key("rsa-1"), ec_key("ec-1"), ed_key("ed-1"));
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&rsa, &ec, &ed])).unwrap();
    let issuer = OidcIssuer::new(oidc_config(JwksSource::File(file)))
        .await
        .expect("the key set loads");
    let app = spawn_app_with_keys(db, Keys::new(TEST_SECRET).unwrap().with_oidc(issuer)).await;

    for key in [&rsa, &ec, &ed] {
        let (code, message) = answer(&app, &external(key, &[])).await;
        assert_eq!(code, Code::Ok, "{:?}: {message}", key.alg);
    }
    // The mapped subject, role and provider are who acts.
    let organizer = external(
        &ec,
        &[
            ("preferred_username", json!("organizer-9")),
            ("realm_access", json!({ "roles": ["jejak-penyelenggara"] })),
            ("penyelenggara", json!("bpsdm-banten")),
        ],
    );
    let opened = app
        .cohorts(&organizer)
        .open_cohort(open_cohort())
        .await
        .expect("an external organizer opens a cohort")
        .into_inner();
    let cohorts = app
        .cohorts(&organizer)
        .list_cohorts(pb::ListCohortsRequest {
            page: None,
            min_position: opened.position,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cohorts.cohorts[0].organizer, "organizer-9");
    // Rules of the provider the token names.
    let own = include_str!("../../../workflows/change-project-pkp.toml").replacen(
        "name = \"change-project-pkp\"",
        "name = \"pkp-bpsdm-banten\"",
        1,
    );
    app.admin(&organizer)
        .register_workflow(pb::RegisterWorkflowRequest {
            request_id: String::new(),
            file_name: "pkp.toml".into(),
            source: own,
        })
        .await
        .expect("registered for the provider the token names");

    let stranger = rsa_key("rsa-1");
    let refusals: Vec<(&str, String)> = vec![
        ("another key under a known kid", external(&stranger, &[])),
        ("an unknown kid", external(&ed_key("ed-unknown"), &[])),
        (
            "another audience",
            external(&rsa, &[("aud", json!("other"))]),
        ),
        (
            "another issuer",
            external(&rsa, &[("iss", json!("https://evil.example"))]),
        ),
        ("no expiry", {
            let mut claims = json!({
                "iss": ISSUER, "aud": "jejak", "preferred_username": "insp-9",
                "realm_access": { "roles": ["jejak-auditor"] }, "iat": now(),
            });
            claims["x"] = json!(1);
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some("ec-1".into());
            jsonwebtoken::encode(&header, &claims, &ec.encoding).unwrap()
        }),
        (
            "iat in the future",
            external(&ed, &[("iat", json!(now() + 3600))]),
        ),
        (
            "a role that maps to nothing",
            external(&rsa, &[("realm_access", json!({ "roles": ["admin"] }))]),
        ),
        (
            "no subject",
            external(&rsa, &[("preferred_username", Value::Null)]),
        ),
        ("an HS256 token naming the issuer", {
            let mut claims = valid_claims();
            claims["iss"] = json!(ISSUER);
            signed(&claims)
        }),
    ];
    for (case, token) in refusals {
        let (code, message) = answer(&app, &token).await;
        assert_eq!(code, Code::Unauthenticated, "{case}: {message}");
    }
    // jejak's own tokens still work beside the issuer's.
    assert_eq!(
        answer(
            &app,
            &app.token(jejak_engine::domain::Role::Auditor, "insp-1")
        )
        .await
        .0,
        Code::Ok
    );
    app.stop().await;
}

/// The city's identity service names a participant by its own subject and
/// their NIP: the NIP decides who acts, the person id their enrolment
/// recorded; a staff token's NIP is not theirs to act by.
async fn an_oidc_participant_acts_as_the_person_their_nip_was_enrolled_as(db: &TestDb) {
    let rsa = rsa_key("rsa-1");
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&rsa])).unwrap();
    let issuer = OidcIssuer::new(oidc_config(JwksSource::File(file)))
        .await
        .expect("the key set loads");
    let app = spawn_app_with_keys(db, Keys::new(TEST_SECRET).unwrap().with_oidc(issuer)).await;
    let p = People::of(&app);
    app.cohorts(&p.organizer)
        .open_cohort(open_cohort())
        .await
        .unwrap();
    app.cohorts(&p.organizer)
        .enrol_participant(enrol())
        .await
        .unwrap();
    let peserta = json!({ "roles": ["offline_access", "jejak-peserta"] });
    let participant = external(
        &rsa,
        &[
            ("preferred_username", json!("asn-77")),
            ("realm_access", peserta.clone()),
            ("nip_asn", json!(NIP)),
        ],
    );
    let written = app
        .projects(&participant)
        .propose(propose())
        .await
        .expect("the enrolled participant proposes")
        .into_inner();
    let person = find(&app, &p.organizer, NIP).await.unwrap().person_id;
    let project = app
        .projects(&participant)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: written.position,
        })
        .await
        .expect("their own project")
        .into_inner();
    assert_eq!(project.participant, person, "the person id, not 'asn-77'");

    // A NIP nobody was enrolled with is a participant of nothing.
    let stranger = external(
        &rsa,
        &[
            ("realm_access", peserta.clone()),
            ("nip_asn", json!("199001012015031001")),
        ],
    );
    let refused = app
        .projects(&stranger)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: 0,
        })
        .await
        .expect_err("not theirs");
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    // A NIP that is not one is refused, saying which claim.
    let malformed = external(
        &rsa,
        &[("realm_access", peserta), ("nip_asn", json!("1987"))],
    );
    let (code, message) = answer(&app, &malformed).await;
    assert_eq!(code, Code::Unauthenticated);
    assert!(message.contains("nip_asn"), "{message}");
    // Staff carry NIPs too; they act by their subject.
    let auditor = external(&rsa, &[("nip_asn", json!(NIP))]);
    assert_eq!(answer(&app, &auditor).await.0, Code::Ok);
    app.stop().await;
}

/// A tiny HTTP server on 127.0.0.1 that answers every request with the
/// current key set, counting the requests.
async fn serve_jwks(body: Arc<std::sync::Mutex<String>>, hits: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.lock().unwrap().clone();
            hits.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}/realms/asn/protocol/openid-connect/certs")
}

async fn an_oidc_key_set_at_a_url_is_fetched_again_for_an_unknown_key_id(db: &TestDb) {
    let (rsa, ec) = (rsa_key("rsa-1"), ec_key("ec-2"));
    let body = Arc::new(std::sync::Mutex::new(jwks(&[&rsa])));
    let hits = Arc::new(AtomicUsize::new(0));
    let url = serve_jwks(body.clone(), hits.clone()).await;
    let issuer = OidcIssuer::new(oidc_config(JwksSource::parse(&url)))
        .await
        .expect("the key set is fetched");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let app = spawn_app_with_keys(db, Keys::new(TEST_SECRET).unwrap().with_oidc(issuer)).await;

    assert_eq!(answer(&app, &external(&rsa, &[])).await.0, Code::Ok);
    assert_eq!(answer(&app, &external(&rsa, &[])).await.0, Code::Ok);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "known keys come from memory"
    );

    // The issuer rotates in a new key: the first token under it makes the
    // server read the set again, and is accepted.
    *body.lock().unwrap() = jwks(&[&rsa, &ec]);
    let (code, message) = answer(&app, &external(&ec, &[])).await;
    assert_eq!(code, Code::Ok, "{message}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // Unknown key ids do not make it fetch again and again.
    for _ in 0..3 {
        let (code, _) = answer(&app, &external(&ed_key("ed-9"), &[])).await;
        assert_eq!(code, Code::Unauthenticated);
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "at most one fetch per interval"
    );
    app.stop().await;
}
