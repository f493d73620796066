//! The portal section (`jejak bench --only portal`): how long the web
//! portal takes to answer each page over the demo city, on the server
//! (the router called in process: rendering and the calls behind it, no
//! network), beside the gRPC service calls the page is made of (the
//! participant's project, the mentor's inbox and an item, a cohort's board,
//! the city's innovations), called in
//! the same process in the same run. Target: p99 under 100 ms per page.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Body;
use http::{Request, StatusCode, header};
use jejak_engine::domain::Role;
use jejak_engine::store::{EventStore, RecordedEvent, StoreConfig};
use jejak_proto::v1 as pb;
use jejak_proto::v1::change_projects_server::ChangeProjects as _;
use jejak_proto::v1::cohorts_server::Cohorts as _;
use jejak_proto::v1::innovations_server::Innovations as _;
use jejak_proto::v1::mentoring_server::Mentoring as _;
use jejak_server::auth::Grant;
use jejak_server::{App, AppConfig, Keys};
use tower::ServiceExt as _;

use super::{Run, percentile};

/// Calls of each page and of its baseline, taking turns.
const CALLS: usize = 200;
/// The target: p99 of a page, in ms.
const TARGET_MS: f64 = 100.0;

fn request<T>(keys: &Keys, subject: &str, role: Role, message: T) -> tonic::Request<T> {
    let token = keys.issue(subject, role, None, Duration::from_secs(3600));
    let mut request = tonic::Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn cookie_of(response: &http::Response<Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// Signs `subject` in through the portal's own link and form: the
/// session cookie.
async fn sign_in(
    router: &axum::Router,
    keys: &Keys,
    subject: &str,
    role: Role,
) -> anyhow::Result<String> {
    let code = keys
        .issue_link(&Grant {
            subject,
            nip: None,
            role,
            opd: None,
            provider: None,
            ttl: Duration::from_secs(600),
        })
        .token;
    let page = router
        .clone()
        .oneshot(Request::get(format!("/masuk?kode={code}")).body(Body::empty())?)
        .await?;
    let check = cookie_of(&page, "jejak_masuk").context("the sign-in page's check")?;
    let form = format!("kode={code}&cek={check}");
    let answer = router
        .clone()
        .oneshot(
            Request::post("/masuk")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("jejak_masuk={check}"))
                .body(Body::from(form))?,
        )
        .await?;
    cookie_of(&answer, "jejak_sesi").context("a portal session")
}

/// One page, read whole.
async fn page(router: &axum::Router, path: &str, session: &str) -> anyhow::Result<()> {
    let answer = router
        .clone()
        .oneshot(
            Request::get(path)
                .header(header::COOKIE, format!("jejak_sesi={session}"))
                .body(Body::empty())?,
        )
        .await?;
    let status = answer.status();
    let body = axum::body::to_bytes(answer.into_body(), usize::MAX).await?;
    anyhow::ensure!(
        status == StatusCode::OK,
        "{path} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

/// Measures every page beside its calls over the demo city in `city_dir`.
/// On SQLite the demo city's own log is served; on PostgreSQL, `postgres`
/// (an empty database) gets the city's events and people first.
pub(super) async fn measure(
    run: &mut Run,
    (city_dir, city): (&std::path::Path, &[RecordedEvent]),
    postgres: Option<&str>,
) -> anyhow::Result<()> {
    let store = match postgres {
        None => {
            let url = format!("sqlite://{}", city_dir.join("city.db").display());
            EventStore::open(&url, StoreConfig::default()).await?
        }
        Some(url) => {
            eprintln!("[postgres] the demo city copied for the portal's pages …");
            let store = EventStore::open(url, StoreConfig::default())
                .await
                .with_context(|| format!("cannot open {url}"))?;
            super::city::copy_people(city_dir, &store).await?;
            super::city::copy(&store, city).await?;
            store
        }
    };
    let keys = Keys::new(uuid::Uuid::now_v7().simple().to_string().as_bytes())?;
    let mut config = AppConfig::new(keys.clone());
    config.engine.master_key = Some(jejak_engine::privacy::MasterKey::load_or_create(
        &super::city::master_key_file(city_dir),
    )?);
    let app = App::start(store, config).await?;
    let router = jejak_web::router(app.clone(), jejak_web::WebConfig::default());

    // The mentor with the most waiting, and a project in its workplace
    // phase with the most milestones.
    let projects = app
        .list_projects(request(
            &keys,
            "bench-auditor",
            Role::Auditor,
            pb::ListProjectsRequest {
                page: Some(pb::PageRequest {
                    page_size: 500,
                    page_token: String::new(),
                }),
                ..Default::default()
            },
        ))
        .await?
        .into_inner()
        .projects;
    let mut mentors: Vec<String> = projects.iter().map(|p| p.mentor.clone()).collect();
    mentors.sort();
    mentors.dedup();
    let mut best: (usize, String, Option<pb::InboxItem>) = (0, String::new(), None);
    for mentor in mentors {
        let items = app
            .get_inbox(request(
                &keys,
                &mentor,
                Role::Mentor,
                pb::GetInboxRequest::default(),
            ))
            .await?
            .into_inner()
            .items;
        if items.len() > best.0 || best.1.is_empty() {
            best = (items.len(), mentor, items.into_iter().next());
        }
    }
    let (waiting, mentor, item) = best;
    let project = projects
        .iter()
        .filter(|p| p.state == "piloted")
        .max_by_key(|p| p.milestones.len())
        .or_else(|| projects.first())
        .context("the demo city has no change project")?
        .clone();
    // The largest cohort, and its organizer.
    let cohort = app
        .list_cohorts(request(
            &keys,
            "bench-auditor",
            Role::Auditor,
            pb::ListCohortsRequest::default(),
        ))
        .await?
        .into_inner()
        .cohorts
        .into_iter()
        .max_by_key(|c| c.enrolled)
        .context("the demo city has no cohort")?;
    let organizer_session = sign_in(&router, &keys, &cohort.organizer, Role::Organizer).await?;
    let brida_session = sign_in(&router, &keys, "bench-brida", Role::BridaOfficer).await?;
    let mentor_session = sign_in(&router, &keys, &mentor, Role::Mentor).await?;
    let participant_session =
        sign_in(&router, &keys, &project.participant, Role::Participant).await?;

    // Each page: its path, who opens it, and the calls it is made of.
    let item_path = item.as_ref().map(|i| {
        let kind = match pb::InboxKind::try_from(i.kind) {
            Ok(pb::InboxKind::Proposal) => "proposal",
            Ok(pb::InboxKind::AdoptionEndorsement) => "adoption_endorsement",
            Ok(pb::InboxKind::PlanChange) => "plan_change",
            _ => "milestone_evidence",
        };
        (
            format!(
                "/keputusan?proyek={}&jenis={kind}&tahap={}",
                i.project_id.replace('/', "%2F"),
                i.milestone_id
            ),
            i.project_id.clone(),
        )
    });
    eprintln!(
        "[portal] pages over the demo city: a participant's project ({} milestones), an inbox of {waiting} items, one item, a cohort of {}",
        project.milestones.len(),
        cohort.enrolled
    );
    let mut timings: Vec<(String, Vec<Duration>, Vec<Duration>, String)> = Vec::new();
    for which in 0..5 {
        let (name, path, session, baseline_name) = match which {
            0 => (
                "portal: a participant's project (/proyek)",
                "/proyek".to_owned(),
                &participant_session,
                "ListProjects + GetProjectDetail",
            ),
            1 => (
                "portal: a mentor's inbox (/kotak-masuk)",
                "/kotak-masuk".to_owned(),
                &mentor_session,
                "GetInbox",
            ),
            4 => (
                "portal: the city's innovations (/kota)",
                "/kota".to_owned(),
                &brida_session,
                "GetStatistics",
            ),
            3 => (
                "portal: a cohort's board (/angkatan)",
                format!("/angkatan?id={}", cohort.cohort_id),
                &organizer_session,
                "GetCohortProgress + ListProjects",
            ),
            _ => {
                let Some((path, _)) = &item_path else {
                    continue;
                };
                (
                    "portal: an inbox item (/keputusan)",
                    path.clone(),
                    &mentor_session,
                    "GetProjectDetail",
                )
            }
        };
        let mut pages = Vec::with_capacity(CALLS);
        let mut calls = Vec::with_capacity(CALLS);
        for n in 0..CALLS + 5 {
            let t = Instant::now();
            page(&router, &path, session).await?;
            let page_took = t.elapsed();
            let t = Instant::now();
            match which {
                0 => {
                    let listed = app
                        .list_projects(request(
                            &keys,
                            &project.participant,
                            Role::Participant,
                            pb::ListProjectsRequest::default(),
                        ))
                        .await?
                        .into_inner()
                        .projects;
                    let id = listed
                        .first()
                        .map(|p| p.project_id.clone())
                        .unwrap_or_default();
                    app.get_project_detail(request(
                        &keys,
                        &project.participant,
                        Role::Participant,
                        pb::GetProjectRequest {
                            project_id: id,
                            min_position: 0,
                        },
                    ))
                    .await?;
                }
                4 => {
                    app.get_statistics(request(
                        &keys,
                        "bench-brida",
                        Role::BridaOfficer,
                        pb::GetStatisticsRequest::default(),
                    ))
                    .await?;
                }
                3 => {
                    app.get_cohort_progress(request(
                        &keys,
                        &cohort.organizer,
                        Role::Organizer,
                        pb::GetCohortProgressRequest {
                            cohort_id: cohort.cohort_id.clone(),
                            min_position: 0,
                        },
                    ))
                    .await?;
                    app.list_projects(request(
                        &keys,
                        &cohort.organizer,
                        Role::Organizer,
                        pb::ListProjectsRequest {
                            page: Some(pb::PageRequest {
                                page_size: 500,
                                page_token: String::new(),
                            }),
                            cohort_id: cohort.cohort_id.clone(),
                            ..Default::default()
                        },
                    ))
                    .await?;
                }
                1 => {
                    app.get_inbox(request(
                        &keys,
                        &mentor,
                        Role::Mentor,
                        pb::GetInboxRequest::default(),
                    ))
                    .await?;
                }
                _ => {
                    let id = item_path
                        .as_ref()
                        .map(|(_, id)| id.clone())
                        .unwrap_or_default();
                    app.get_project_detail(request(
                        &keys,
                        &mentor,
                        Role::Mentor,
                        pb::GetProjectRequest {
                            project_id: id,
                            min_position: 0,
                        },
                    ))
                    .await?;
                }
            }
            let call_took = t.elapsed();
            // The first few warm the caches.
            if n >= 5 {
                pages.push(page_took);
                calls.push(call_took);
            }
        }
        pages.sort();
        calls.sort();
        timings.push((name.to_owned(), pages, calls, baseline_name.to_owned()));
    }
    for (name, pages, calls, baseline_name) in &timings {
        let p99 = percentile(pages, 0.99);
        let base = percentile(calls, 0.99);
        run.add(
            &format!("baseline: {baseline_name} in process, for {name}"),
            base,
            "ms p99",
            Some(calls),
            None,
            "reference".into(),
            true,
        );
        run.add(
            name,
            p99,
            "ms p99",
            Some(pages),
            Some(base),
            format!("p99 < {TARGET_MS} ms"),
            p99 < TARGET_MS,
        );
    }
    app.stop_and_wait().await;
    Ok(())
}
