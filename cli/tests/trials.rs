//! Trials: a server under a steady write load, killed with SIGKILL at
//! random moments. After every restart each acknowledged write is in the
//! log, the chain verifies, and the views equal a rebuild from zero.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::Server;
use jejak_proto::v1 as pb;
use jejak_proto::{Authed, Bearer};
use tonic::transport::Endpoint;

const CRASHES: usize = 5;
const CLIENTS: usize = 4;

fn channel(url: &str, token: &str) -> Authed {
    let channel = Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect_lazy();
    tonic::service::interceptor::InterceptedService::new(channel, Bearer::new(Some(token)).unwrap())
}

fn innovation(id: &str) -> pb::RegisterInnovationRequest {
    pb::RegisterInnovationRequest {
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
    }
}

/// Writes until the server stops answering; returns what it acknowledged.
async fn load(url: String, token: String, round: usize, client: usize) -> Vec<(String, u64)> {
    let mut innovations = pb::innovations_client::InnovationsClient::new(channel(&url, &token));
    let mut acked = Vec::new();
    for n in 0.. {
        let id = format!("t{round}-{client}-{n}");
        match innovations.register_innovation(innovation(&id)).await {
            Ok(written) => acked.push((id, written.into_inner().position)),
            Err(_) => return acked,
        }
    }
    acked
}

/// Everything acknowledged is there, the chain verifies, the views equal a rebuild.
async fn check(server: &Server, acked: &[(String, u64)]) {
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
        .read_log(pb::ReadLogRequest { after_position: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut streams = BTreeSet::new();
    while let Some(event) = log.message().await.unwrap() {
        streams.insert(event.stream_id);
    }
    for (id, _) in acked {
        assert!(
            streams.contains(&format!("innovation-{id}")),
            "acknowledged {id} is in the log"
        );
    }

    let newest = acked.iter().map(|(_, p)| *p).max().unwrap_or(0);
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

#[test]
fn acknowledged_writes_survive_sigkill_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut acked: Vec<(String, u64)> = Vec::new();
    for round in 0..CRASHES {
        let server = Server::start_in(dir.path());
        runtime.block_on(check(&server, &acked));
        let brida = server.token("brida_officer", "brida-1");
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| runtime.spawn(load(server.url.clone(), brida.clone(), round, c)))
            .collect();
        // A random moment under load: 150–650 ms into it.
        std::thread::sleep(Duration::from_millis(150 + rand::random::<u64>() % 500));
        server.crash();
        for client in clients {
            acked.extend(runtime.block_on(client).unwrap());
        }
    }
    assert!(
        acked.len() > CRASHES * CLIENTS,
        "the load wrote something each round"
    );
    let server = Server::start_in(dir.path());
    runtime.block_on(check(&server, &acked));
}
