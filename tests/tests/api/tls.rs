//! TLS (rustls) when a certificate and key are configured.

use std::time::Duration;

use chrono::Utc;
use jejak_engine::clock::ManualClock;
use jejak_engine::domain::Role;
use jejak_proto::Bearer;
use jejak_proto::v1 as pb;
use jejak_server::{App, AppConfig, Keys, Tls};
use jejak_tests::TestDb;
use jejak_tests::app::TEST_SECRET;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_certificate_serves_tls_and_only_tls() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = certified.cert.pem();
    let key = certified.signing_key.serialize_pem();

    let db = TestDb::sqlite();
    let keys = Keys::new(TEST_SECRET).unwrap();
    let mut config = AppConfig::new(keys.clone());
    config.clock = std::sync::Arc::new(ManualClock::new(Utc::now()));
    let app = App::start(db.open().await, config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let tls = Tls {
        cert: cert.clone().into_bytes(),
        key: key.into_bytes(),
    };
    let server = tokio::spawn(jejak_server::run(listener, app, Some(tls), async {
        let _ = stopped.await;
    }));

    let token = keys.issue(
        "inspektorat-1",
        Role::Auditor,
        None,
        Duration::from_secs(600),
    );
    let secure = Endpoint::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&cert))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .expect("a TLS connection with the server's certificate");
    let mut audit = pb::audit_client::AuditClient::new(InterceptedService::new(
        secure,
        Bearer::new(Some(&token)).unwrap(),
    ));
    let digest = audit
        .get_digest(pb::GetDigestRequest {})
        .await
        .expect("a call over TLS")
        .into_inner();
    assert!(digest.position > 0, "the shipped workflows are in the log");

    // Plain HTTP/2 to the TLS port gets no answer.
    let plain = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_lazy();
    let mut audit = pb::audit_client::AuditClient::new(InterceptedService::new(
        plain,
        Bearer::new(Some(&token)).unwrap(),
    ));
    assert!(audit.get_digest(pb::GetDigestRequest {}).await.is_err());

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
