//! A jejak server on a random port, with typed clients, for end-to-end tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use jejak_engine::clock::ManualClock;
use jejak_engine::domain::Role;
use jejak_engine::domain::values::OpdCode;
use jejak_proto::v1 as pb;
use jejak_server::{App, AppConfig, Keys};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::TestDb;

pub use jejak_proto::{Authed, Bearer};

/// A running server and what tests need to talk to it.
#[derive(Debug)]
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its token keys.
    pub keys: Keys,
    /// Its clock, which tests move.
    pub clock: Arc<ManualClock>,
    /// The app itself (engine, views).
    pub app: App,
    channel: Channel,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// The secret every test server signs with.
pub const TEST_SECRET: &[u8] = b"jejak-test-secret-of-at-least-32-bytes!";

/// Starts a server on `db` at 127.0.0.1:0, its clock at 2 March 2026.
///
/// # Panics
/// When the server cannot start.
pub async fn spawn_app(db: &TestDb) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// As [`spawn_app`], checking tokens with `keys` (for example keys that
/// also accept an external issuer's tokens).
///
/// # Panics
/// When the server cannot start.
pub async fn spawn_app_with_keys(db: &TestDb, keys: Keys) -> TestApp {
    spawn_configured(db, keys, |_| {}).await
}

/// [`spawn_app`], with `configure` changing the server's configuration
/// first (its limits, say).
///
/// # Panics
/// When the server cannot start.
pub async fn spawn_app_with(db: &TestDb, configure: impl FnOnce(&mut AppConfig)) -> TestApp {
    spawn_configured(
        db,
        Keys::new(TEST_SECRET).expect("a long secret"),
        configure,
    )
    .await
}

async fn spawn_configured(
    db: &TestDb,
    keys: Keys,
    configure: impl FnOnce(&mut AppConfig),
) -> TestApp {
    // Sealed as a server is: every batch, with a key of the tests' own.
    let store = db
        .open_with(jejak_engine::store::StoreConfig {
            seal_key: Some(test_seal_key()),
            ..jejak_engine::store::StoreConfig::default()
        })
        .await;
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap(),
    ));
    let mut config = AppConfig::new(keys.clone());
    config.clock = clock.clone();
    config.timer_tick = Duration::from_secs(3600);
    configure(&mut config);
    let app = App::start(store, config).await.expect("the app starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("an address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = app.clone();
    let server = tokio::spawn(async move {
        jejak_server::run(listener, served, None, async {
            let _ = stopped.await;
        })
        .await
        .expect("the server runs");
    });
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("an endpoint")
        .connect_lazy();
    TestApp {
        addr,
        keys,
        clock,
        app,
        channel,
        stop: Some(stop),
        server: Some(server),
    }
}

/// The seal key of [`spawn_app`]'s server.
///
/// # Panics
/// Never: the name is valid.
pub fn test_seal_key() -> jejak_engine::store::SealKey {
    jejak_engine::store::SealKey::from_seed("jejak.test/log", [7; 32]).expect("a valid key name")
}

impl TestApp {
    /// A token for `subject` in `role`, valid for an hour. A participant
    /// named by NIP gets a token naming the NIP (claim `nip`), which the
    /// server maps to their person id, as `jejak token issue --nip` makes.
    pub fn token(&self, role: Role, subject: &str) -> String {
        if role == Role::Participant && jejak_engine::domain::values::Nip::parse(subject).is_ok() {
            return self.nip_token(subject);
        }
        let opd =
            (role == Role::InnovationOfficer).then(|| OpdCode::parse("dinkes").expect("an OPD"));
        self.keys
            .issue(subject, role, opd.as_ref(), Duration::from_secs(3600))
    }

    /// A participant's token naming their NIP and no subject.
    pub fn nip_token(&self, nip: &str) -> String {
        self.keys
            .issue_token(&jejak_server::auth::Grant {
                subject: "",
                nip: Some(nip),
                role: Role::Participant,
                opd: None,
                provider: None,
                ttl: Duration::from_secs(3600),
            })
            .token
    }

    /// A token for an innovation officer of `opd`.
    pub fn officer_token(&self, subject: &str, opd: &str) -> String {
        self.keys.issue(
            subject,
            Role::InnovationOfficer,
            Some(&OpdCode::parse(opd).expect("an OPD")),
            Duration::from_secs(3600),
        )
    }

    /// A token for an organizer acting for training provider `provider`.
    pub fn organizer_token(&self, subject: &str, provider: &str) -> String {
        self.keys
            .issue_token(&jejak_server::auth::Grant {
                subject,
                nip: None,
                role: Role::Organizer,
                opd: None,
                provider: Some(provider),
                ttl: Duration::from_secs(3600),
            })
            .token
    }

    /// A channel that sends `token` (or none).
    pub fn authed(&self, token: Option<&str>) -> Authed {
        InterceptedService::new(
            self.channel.clone(),
            Bearer::new(token).expect("an ASCII token"),
        )
    }

    /// The Cohorts client.
    pub fn cohorts(&self, token: &str) -> pb::cohorts_client::CohortsClient<Authed> {
        pb::cohorts_client::CohortsClient::new(self.authed(Some(token)))
    }
    /// The ChangeProjects client.
    pub fn projects(
        &self,
        token: &str,
    ) -> pb::change_projects_client::ChangeProjectsClient<Authed> {
        pb::change_projects_client::ChangeProjectsClient::new(self.authed(Some(token)))
    }
    /// The Mentoring client.
    pub fn mentoring(&self, token: &str) -> pb::mentoring_client::MentoringClient<Authed> {
        pb::mentoring_client::MentoringClient::new(self.authed(Some(token)))
    }
    /// The Seminars client.
    pub fn seminars(&self, token: &str) -> pb::seminars_client::SeminarsClient<Authed> {
        pb::seminars_client::SeminarsClient::new(self.authed(Some(token)))
    }
    /// The Innovations client.
    pub fn innovations(&self, token: &str) -> pb::innovations_client::InnovationsClient<Authed> {
        pb::innovations_client::InnovationsClient::new(self.authed(Some(token)))
    }
    /// The Audit client.
    pub fn audit(&self, token: &str) -> pb::audit_client::AuditClient<Authed> {
        pb::audit_client::AuditClient::new(self.authed(Some(token)))
    }
    /// The Evidence client.
    pub fn evidence(&self, token: &str) -> pb::evidence_client::EvidenceClient<Authed> {
        pb::evidence_client::EvidenceClient::new(self.authed(Some(token)))
    }
    /// The Admin client.
    pub fn admin(&self, token: &str) -> pb::admin_client::AdminClient<Authed> {
        pb::admin_client::AdminClient::new(self.authed(Some(token)))
    }

    /// The Import client.
    pub fn import(&self, token: &str) -> pb::import_client::ImportClient<Authed> {
        pb::import_client::ImportClient::new(self.authed(Some(token)))
    }

    /// The Notifications client.
    pub fn notifications(
        &self,
        token: &str,
    ) -> pb::notifications_client::NotificationsClient<Authed> {
        pb::notifications_client::NotificationsClient::new(self.authed(Some(token)))
    }

    /// The raw channel, for health and reflection.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}
