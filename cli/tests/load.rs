//! Trial: 64 clients for 60 seconds of mixed writes and reads against a
//! `jejak serve` process. No error other than honest conflicts, and the
//! server's memory stays flat. `JEJAK_LOAD_SECONDS` shortens or lengthens it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::Server;
use common::trial::{channel, check, innovation};
use jejak_proto::v1 as pb;

const CLIENTS: usize = 64;

#[derive(Default)]
struct Tally {
    writes: u64,
    reads: u64,
    conflicts: u64,
    acked: Vec<(String, u64)>,
}

async fn client(url: String, token: String, c: usize, stop: Arc<AtomicBool>) -> Tally {
    let mut innovations = pb::innovations_client::InnovationsClient::new(channel(&url, &token));
    let mut tally = Tally::default();
    let mut last: Option<(String, u64)> = None;
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let answer = match (n % 10, &last) {
            (0..=4, _) | (_, None) => {
                let id = format!("load-{c}-{n}");
                innovations
                    .register_innovation(innovation(&id))
                    .await
                    .map(|w| {
                        let position = w.into_inner().position;
                        tally.acked.push((id.clone(), position));
                        last = Some((id, position));
                        tally.writes += 1;
                    })
            }
            (5, Some((id, _))) => {
                // Evidence on a stream others write to as well.
                let shared = format!("load-{}-1", c % 4);
                let target = if n % 20 == 5 { shared } else { id.clone() };
                innovations
                    .add_evidence(pb::AddEvidenceRequest {
                        expected_version: None,
                        request_id: String::new(),
                        innovation_id: target,
                        indicator: "regulasi".into(),
                        attachment: Some(pb::Attachment {
                            sha256: "ab".repeat(32),
                            uri: format!("https://arsip.cilegon.go.id/{c}/{n}.pdf"),
                            name: "SK Walikota.pdf".into(),
                            media_type: "application/pdf".into(),
                            ..pb::Attachment::default()
                        }),
                    })
                    .await
                    .map(|_| tally.writes += 1)
            }
            (6, Some((id, position))) => innovations
                .get_innovation(pb::GetInnovationRequest {
                    innovation_id: id.clone(),
                    min_position: *position,
                })
                .await
                .map(|_| tally.reads += 1),
            (7 | 8, _) => innovations
                .list_innovations(pb::ListInnovationsRequest {
                    page: Some(pb::PageRequest {
                        page_size: 50,
                        page_token: String::new(),
                    }),
                    ..Default::default()
                })
                .await
                .map(|_| tally.reads += 1),
            _ => innovations
                .get_statistics(pb::GetStatisticsRequest::default())
                .await
                .map(|_| tally.reads += 1),
        };
        match answer {
            Ok(()) => {}
            // The shared innovation may not be registered yet.
            Err(status) if status.code() == tonic::Code::NotFound && n % 20 == 5 => {}
            Err(status) if status.code() == tonic::Code::Aborted => tally.conflicts += 1,
            Err(status) => panic!("client {c}, call {n}: {status:?}"),
        }
    }
    tally
}

#[test]
fn sixty_seconds_of_mixed_load_from_64_clients_without_errors_in_flat_memory() {
    let seconds: u64 = std::env::var("JEJAK_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let server = Server::start();
    let brida = server.token("brida_officer", "brida-1");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| runtime.spawn(client(server.url.clone(), brida.clone(), c, stop.clone())))
        .collect();
    // The server's memory, once a second.
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(1));
        samples.push(server.rss_kib());
    }
    stop.store(true, Ordering::SeqCst);
    let mut total = Tally::default();
    for client in clients {
        let tally = runtime.block_on(client).unwrap();
        total.writes += tally.writes;
        total.reads += tally.reads;
        total.conflicts += tally.conflicts;
        total.acked.extend(tally.acked);
    }
    let third = samples.len() / 3;
    let early = samples[third..2 * third].iter().max().copied().unwrap_or(0);
    let late = samples[2 * third..].iter().max().copied().unwrap_or(0);
    eprintln!(
        "{seconds} s, {CLIENTS} clients: {} writes, {} reads, {} conflicts; server RSS {} → {} KiB (MiB per second: {:?})",
        total.writes,
        total.reads,
        total.conflicts,
        early,
        late,
        samples.iter().map(|k| k / 1024).collect::<Vec<_>>()
    );
    assert!(total.writes > 0 && total.reads > 0);
    assert!(
        late <= early + early / 4 + 16 * 1024,
        "memory stays flat under steady load: {early} KiB in the middle third, {late} KiB in the last"
    );
    runtime.block_on(check(&server, &total.acked));
}
