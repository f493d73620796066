//! The reports for download (ADR 0035): the register and the IID list of
//! a year for the innovation office and BRIDA (`/laporan/register`,
//! `/laporan/iid`), a cohort's recap for its organizer (`/laporan/rekap`),
//! each `.xlsx` or `.csv` (`?format=csv`), built by
//! [`crate::reports`] from the service's answers read as the visitor, as
//! `jejak report` builds them over gRPC. Sent with its file name, type and
//! `Cache-Control: no-store` (it names people).

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use futures::{StreamExt as _, TryStreamExt as _};
use jejak_proto::v1 as pb;
use jejak_proto::v1::admin_server::Admin as _;
use jejak_proto::v1::change_projects_server::ChangeProjects as _;
use jejak_proto::v1::cohorts_server::Cohorts as _;
use jejak_proto::v1::innovations_server::Innovations as _;
use serde::Deserialize;
use tonic::Status;

use crate::Portal;
use crate::city::{BadFilter, CityFilter};
use crate::reports::{self, Setting, Sheet};
use crate::session::{Session, Visitor, refused, signed_in};
use crate::words::Lang;

/// Answers read at once while a report is made.
const AT_ONCE: usize = 16;

/// What a download asks: its format, and per report the year, the
/// cohort, or the city page's filter.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ReportQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    angkatan: String,
    #[serde(flatten)]
    filter: CityFilter,
}

/// The file of `sheets` as `name.xlsx` or `name.csv`.
fn file(visitor: &Visitor, name: &str, csv: bool, sheets: &[Sheet]) -> Response {
    let made = if csv {
        reports::main_table(sheets)
            .ok_or_else(|| reports::ReportError::Csv("no table".into()))
            .and_then(reports::csv)
    } else {
        reports::xlsx(sheets)
    };
    let bytes = match made {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!(error = %err, "cannot write a report");
            return visitor.finish(crate::refusal::page(
                visitor,
                &Status::internal(visitor.t(
                    "Laporan tidak dapat dibuat; coba lagi",
                    "The report cannot be made; try again",
                )),
            ));
        }
    };
    let (extension, kind) = if csv {
        ("csv", "text/csv; charset=utf-8")
    } else {
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    };
    // Names are made of codes (ASCII letters, digits, dashes) only.
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{safe}.{extension}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    visitor.finish(response)
}

/// The units' names by code, as the visitor may read them.
async fn names(portal: &Portal, session: &Session) -> BTreeMap<String, String> {
    portal
        .app()
        .list_units(session.request(portal, pb::ListUnitsRequest::default()))
        .await
        .map(|r| {
            r.into_inner()
                .units
                .into_iter()
                .map(|u| (u.code, u.name))
                .collect()
        })
        .unwrap_or_default()
}

/// The region's own innovations that pass `request`'s filter, with their
/// details, and the statistics `request` asks for.
async fn innovations(
    portal: &Portal,
    session: &Session,
    request: pb::GetStatisticsRequest,
) -> Result<(Vec<pb::InnovationDetail>, pb::InnovationStatistics), Status> {
    let app = portal.app();
    let zone = app.engine().config().time_zone;
    let stats = app
        .get_statistics(session.request(portal, request.clone()))
        .await?
        .into_inner();
    let passes = |e: &pb::InnovationEntry| {
        let year = || {
            e.registered_at
                .as_ref()
                .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
                .map(|t| chrono::Datelike::year(&t.with_timezone(&zone)))
        };
        let years = match (request.year, request.year_to) {
            (0, _) => true,
            (from, 0) => year() == Some(from),
            (from, to) => year().is_some_and(|y| (from..=to).contains(&y)),
        };
        e.region == stats.region
            && years
            && (request.source == 0 || request.source == e.source)
            && (request.sector.is_empty() || request.sector == e.sector)
            && request.digital.is_none_or(|d| d == e.digital)
            && (request.only_opds.is_empty() || request.only_opds.contains(&e.opd))
    };
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .list_innovations(session.request(
                portal,
                pb::ListInnovationsRequest {
                    page: Some(pb::PageRequest {
                        page_size: 500,
                        page_token: token,
                    }),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner();
        ids.extend(
            page.innovations
                .into_iter()
                .filter(|e| passes(e))
                .map(|e| e.innovation_id),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let details = futures::stream::iter(ids)
        .map(|innovation_id| {
            let (portal, session) = (portal.clone(), session.clone());
            async move {
                let request = session.request(
                    &portal,
                    pb::GetInnovationRequest {
                        innovation_id,
                        min_position: 0,
                    },
                );
                portal
                    .app()
                    .get_innovation_detail(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .buffered(AT_ONCE)
        .try_collect()
        .await?;
    Ok((details, stats))
}

fn bad(visitor: &Visitor, BadFilter(id, en): BadFilter) -> Response {
    let why = match visitor.lang {
        Lang::Id => id,
        Lang::En => en,
    };
    visitor.finish(crate::refusal::page(
        visitor,
        &Status::invalid_argument(why),
    ))
}

/// `GET /laporan/register`: the register, narrowed by the city page's
/// filter when the URL carries one.
pub(crate) async fn register(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(query): Query<ReportQuery>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let request = match query.filter.request() {
        Ok(request) => request,
        Err(why) => return bad(&visitor, why),
    };
    let (details, stats) = match innovations(&portal, &session, request).await {
        Ok(found) => found,
        Err(status) => return refused(&portal, &mut visitor, status).await,
    };
    let names = names(&portal, &session).await;
    let setting = Setting {
        lang: visitor.lang,
        zone: portal.app().engine().config().time_zone,
        names: &names,
    };
    let sheets = reports::register(&details, &stats, &setting);
    file(&visitor, "register-inovasi", query.format == "csv", &sheets)
}

/// `GET /laporan/iid?tahun=YEAR`: the IID list of a year.
pub(crate) async fn iid(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(query): Query<ReportQuery>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let year = match query.filter.tahun.trim().parse::<i32>() {
        Ok(year) if pb_year(year) => year,
        _ => {
            return bad(
                &visitor,
                BadFilter(
                    "tahun: tulis tahun laporan dengan angka, 1945–2100, mis. ?tahun=2025".into(),
                    "year: give the report's year in digits, 1945–2100, e.g. ?tahun=2025".into(),
                ),
            );
        }
    };
    let (details, _) =
        match innovations(&portal, &session, pb::GetStatisticsRequest::default()).await {
            Ok(found) => found,
            Err(status) => return refused(&portal, &mut visitor, status).await,
        };
    let names = names(&portal, &session).await;
    let setting = Setting {
        lang: visitor.lang,
        zone: portal.app().engine().config().time_zone,
        names: &names,
    };
    let Some(sheets) = reports::iid(&details, year, &setting) else {
        return bad(
            &visitor,
            BadFilter(format!("tahun: {year}"), format!("year: {year}")),
        );
    };
    file(
        &visitor,
        &format!("iid-{year}"),
        query.format == "csv",
        &sheets,
    )
}

fn pb_year(year: i32) -> bool {
    (1945..=2100).contains(&year)
}

/// `GET /laporan/rekap?angkatan=COHORT`: a cohort's recap, for whoever
/// may read its progress (its organizer, BRIDA, an auditor).
pub(crate) async fn recap(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(query): Query<ReportQuery>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let app = portal.app();
    let cohort = query.angkatan.trim().to_owned();
    // The cohort's progress is the gate: a participant, a mentor or a
    // stranger to it is refused here as the service refuses them.
    if let Err(status) = app
        .get_cohort_progress(session.request(
            &portal,
            pb::GetCohortProgressRequest {
                cohort_id: cohort.clone(),
                min_position: 0,
            },
        ))
        .await
    {
        return refused(&portal, &mut visitor, status).await;
    }
    let mut projects = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .list_projects(session.request(
                &portal,
                pb::ListProjectsRequest {
                    page: Some(pb::PageRequest {
                        page_size: 500,
                        page_token: token,
                    }),
                    cohort_id: cohort.clone(),
                    ..Default::default()
                },
            ))
            .await;
        let page = match page {
            Ok(page) => page.into_inner(),
            Err(status) => return refused(&portal, &mut visitor, status).await,
        };
        projects.extend(page.projects);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    projects.sort_by(|a, b| a.code.cmp(&b.code));
    let details: Result<Vec<pb::ProjectDetail>, Status> = futures::stream::iter(
        projects
            .iter()
            .map(|p| p.project_id.clone())
            .collect::<Vec<_>>(),
    )
    .map(|project_id| {
        let (portal, session) = (portal.clone(), session.clone());
        async move {
            let request = session.request(
                &portal,
                pb::GetProjectRequest {
                    project_id,
                    ..Default::default()
                },
            );
            portal
                .app()
                .get_project_detail(request)
                .await
                .map(tonic::Response::into_inner)
        }
    })
    .buffered(AT_ONCE)
    .try_collect()
    .await;
    let details = match details {
        Ok(details) => details,
        Err(status) => return refused(&portal, &mut visitor, status).await,
    };
    let names = names(&portal, &session).await;
    let setting = Setting {
        lang: visitor.lang,
        zone: app.engine().config().time_zone,
        names: &names,
    };
    let sheets = reports::cohort_recap(&cohort, &projects, &details, &setting);
    file(
        &visitor,
        &format!("rekap-{cohort}"),
        query.format == "csv",
        &sheets,
    )
}
