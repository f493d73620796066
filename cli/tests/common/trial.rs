//! What the trials share: clients that write innovations under load, and
//! the check that after any trouble every acknowledged write is in the log,
//! the chain verifies and the views equal a rebuild from zero.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jejak_proto::v1 as pb;
use jejak_proto::{Authed, Bearer};
use tokio::sync::mpsc;
use tonic::Code;
use tonic::transport::Endpoint;

use super::Server;

pub fn channel(url: &str, token: &str) -> Authed {
    let channel = Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect_lazy();
    tonic::service::interceptor::InterceptedService::new(channel, Bearer::new(Some(token)).unwrap())
}

pub fn innovation(id: &str) -> pb::RegisterInnovationRequest {
    pb::RegisterInnovationRequest {
        expected_version: None,
        request_id: id.to_owned(),
        innovation_id: id.to_owned(),
        name: format!("Inovasi {id}"),
        opd: "dinkes".into(),
        unit: "Puskesmas Cilegon".into(),
        region: "Kota Cilegon".into(),
        source: pb::Source::HealthCompetition as i32,
        initiator_type: "Tenaga kesehatan".into(),
        form: pb::Form::PublicService as i32,
        digital: false,
        sector: "kesehatan".into(),
        sdgs: vec![3],
        goal: "Tujuan".into(),
        benefit: "Manfaat".into(),
        budget: 0,
        legal_basis: String::new(),
    }
}

/// Everything acknowledged is there, the chain verifies, the views equal a rebuild.
pub async fn check(server: &Server, acked: &[(String, u64)]) {
    let auditor = server.token("auditor", "inspektorat-1");
    let brida = server.token("brida_officer", "brida-1");
    let admin = server.token("admin", "ops-1");
    let mut audit = pb::audit_client::AuditClient::new(channel(&server.url, &auditor));
    let verified = audit
        .verify(pb::VerifyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{}", verified.message);

    let mut log = audit
        .read_log(pb::ReadLogRequest {
            after_position: 0,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut streams = BTreeSet::new();
    let mut head = 0;
    while let Some(event) = log.message().await.unwrap() {
        head = head.max(event.position);
        streams.insert(event.stream_id);
    }
    for (id, _) in acked {
        assert!(
            streams.contains(&format!("innovation-{id}")),
            "acknowledged {id} is in the log"
        );
    }

    // The views must have applied every event read above: writes that
    // committed after the newest acknowledged one (their answers lost to
    // the kill) included.
    let newest = acked.iter().map(|(_, p)| *p).max().unwrap_or(0).max(head);
    let mut innovations =
        pb::innovations_client::InnovationsClient::new(channel(&server.url, &brida));
    let list = |innovations: &mut pb::innovations_client::InnovationsClient<Authed>| {
        let mut innovations = innovations.clone();
        async move {
            let mut all = Vec::new();
            let mut token = String::new();
            loop {
                let page = innovations
                    .list_innovations(pb::ListInnovationsRequest {
                        page: Some(pb::PageRequest {
                            page_size: 500,
                            page_token: token,
                        }),
                        min_position: newest,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                all.extend(page.innovations);
                if page.next_page_token.is_empty() {
                    return all;
                }
                token = page.next_page_token;
            }
        }
    };
    let live = list(&mut innovations).await;
    // A write may commit and then lose its answer to the kill: the register
    // holds exactly the log's innovations, and among them every acknowledged one.
    let registered: BTreeSet<String> = live
        .iter()
        .map(|i| format!("innovation-{}", i.innovation_id))
        .collect();
    let logged: BTreeSet<String> = streams
        .into_iter()
        .filter(|s| s.starts_with("innovation-"))
        .collect();
    assert_eq!(registered, logged, "the register equals the log");
    for (id, _) in acked {
        assert!(
            registered.contains(&format!("innovation-{id}")),
            "acknowledged {id} is in the register"
        );
    }

    let mut ops = pb::admin_client::AdminClient::new(channel(&server.url, &admin));
    let before = ops
        .rebuild_projection(pb::RebuildProjectionRequest {
            name: "innovation_register".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let rebuilt = async {
        loop {
            let status = ops
                .get_projection_status(pb::GetProjectionStatusRequest {})
                .await
                .unwrap()
                .into_inner();
            let view = status
                .projections
                .into_iter()
                .find(|p| p.name == "innovation_register")
                .unwrap();
            if view.generation > before.generation
                && view.state == pb::ProjectionState::Following as i32
            {
                return;
            }
            // No push API for status: poll it, gently.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), rebuilt)
        .await
        .expect("the rebuild finishes");
    assert_eq!(
        list(&mut innovations).await,
        live,
        "the views equal a rebuild from zero"
    );
}

/// What one client of a load saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Innovation ids the server acknowledged, with their log positions.
    pub acked: Vec<(String, u64)>,
    /// The code of every refused or failed call.
    pub errors: Vec<Code>,
}

impl Seen {
    /// Every failure was UNAVAILABLE: the server said the database was away,
    /// never that something broke.
    pub fn assert_only_unavailable(&self) {
        assert!(
            self.errors.iter().all(|c| *c == Code::Unavailable),
            "the only failures were UNAVAILABLE: {:?}",
            self.errors
        );
    }
}

/// `clients` tasks registering innovations until `stop` is set. Every
/// failed call is reported on `failures` as it happens, so that a trial
/// can wait for the trouble to show.
pub struct Load {
    stop: Arc<AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<Seen>>,
    pub failures: mpsc::UnboundedReceiver<Code>,
    pub successes: mpsc::UnboundedReceiver<u64>,
}

impl Load {
    pub fn start(url: &str, token: &str, tag: &str, clients: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (failed, failures) = mpsc::unbounded_channel();
        let (succeeded, successes) = mpsc::unbounded_channel();
        let clients = (0..clients)
            .map(|c| {
                let mut innovations =
                    pb::innovations_client::InnovationsClient::new(channel(url, token));
                let stop = stop.clone();
                let failed = failed.clone();
                let succeeded = succeeded.clone();
                let tag = format!("{tag}-{c}");
                tokio::spawn(async move {
                    let mut seen = Seen::default();
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let id = format!("{tag}-{n}");
                        n += 1;
                        match innovations.register_innovation(innovation(&id)).await {
                            Ok(written) => {
                                let position = written.into_inner().position;
                                let _ = succeeded.send(position);
                                seen.acked.push((id, position));
                            }
                            Err(status) => {
                                let _ = failed.send(status.code());
                                seen.errors.push(status.code());
                                // Back off a little, as a real client would.
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    }
                    seen
                })
            })
            .collect();
        Self {
            stop,
            clients,
            failures,
            successes,
        }
    }

    /// Waits for the next failed call and returns its code.
    pub async fn next_failure(&mut self) -> Code {
        self.failures.recv().await.expect("the clients are running")
    }

    /// Waits for the next acknowledged write after everything seen so far.
    pub async fn next_success(&mut self) -> u64 {
        while self.successes.try_recv().is_ok() {}
        self.successes
            .recv()
            .await
            .expect("the clients are running")
    }

    /// Stops the clients and returns what they saw, together.
    pub async fn stop(self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Seen::default();
        for client in self.clients {
            let seen = client.await.unwrap();
            all.acked.extend(seen.acked);
            all.errors.extend(seen.errors);
        }
        all
    }
}
