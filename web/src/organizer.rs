//! The organizer's cohort board: their cohorts, and for one the state of
//! each project, the late participants, the seminars and the grades
//! (the service's ListCohorts, GetCohortProgress and ListProjects).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jejak_proto::v1 as pb;
use jejak_proto::v1::change_projects_server::ChangeProjects as _;
use jejak_proto::v1::cohorts_server::Cohorts as _;
use maud::html;
use serde::Deserialize;

use crate::Portal;
use crate::layout::{self, day};
use crate::participant::urlencode;
use crate::session::{Visitor, refused, signed_in};
use crate::words::Word;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CohortQuery {
    id: Option<String>,
}

/// `GET /angkatan`: the organizer's cohorts; `?id=` one cohort's board.
pub(crate) async fn board(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(query): Query<CohortQuery>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let app = portal.app();
    let lang = visitor.lang;
    let Some(cohort_id) = query.id.filter(|id| !id.trim().is_empty()) else {
        let listed = app
            .list_cohorts(session.request(&portal, pb::ListCohortsRequest::default()))
            .await;
        let cohorts = match listed {
            Ok(r) => r.into_inner().cohorts,
            Err(status) => return refused(&portal, &mut visitor, status).await,
        };
        let body = html! {
            h1 { (visitor.t("Angkatan", "Cohorts")) }
            @if cohorts.is_empty() {
                p { (visitor.t("Belum ada angkatan.", "No cohort yet.")) }
            }
            ul.cards {
                @for c in &cohorts {
                    li.card {
                        a href={ "/angkatan?id=" (urlencode(&c.cohort_id)) } { strong { (c.cohort_id) } }
                        p.hint {
                            (c.provider) " · " (day(lang, &c.starts_on)) " – " (day(lang, &c.ends_on))
                            " · " (c.enrolled) " " (lang.word(Word::Participant))
                        }
                    }
                }
            }
        };
        return visitor.finish(layout::page(
            &visitor,
            StatusCode::OK,
            visitor.t("Angkatan", "Cohorts"),
            body,
        ));
    };
    let progress = app
        .get_cohort_progress(session.request(
            &portal,
            pb::GetCohortProgressRequest {
                cohort_id: cohort_id.clone(),
                min_position: 0,
            },
        ))
        .await;
    let progress = match progress {
        Ok(r) => r.into_inner(),
        Err(status) => return refused(&portal, &mut visitor, status).await,
    };
    let listed = app
        .list_projects(session.request(
            &portal,
            pb::ListProjectsRequest {
                page: Some(pb::PageRequest {
                    page_size: 500,
                    page_token: String::new(),
                }),
                cohort_id: cohort_id.clone(),
                ..pb::ListProjectsRequest::default()
            },
        ))
        .await;
    let projects = match listed {
        Ok(r) => r.into_inner().projects,
        Err(status) => return refused(&portal, &mut visitor, status).await,
    };
    let body = html! {
        h1 { (visitor.t("Angkatan", "Cohort")) " " (cohort_id) }
        dl.facts {
            dt { (visitor.t("proyek", "projects")) } dd { (progress.projects) }
            @for s in &progress.by_state {
                dt { (lang.stage(&s.state)) } dd { (s.count) }
            }
            dt { (visitor.t("tonggak terlambat", "overdue milestones")) }
            dd {
                @if progress.overdue_milestones > 0 {
                    span.badge.late { (progress.overdue_milestones) }
                } @else { "0" }
            }
            dt { (lang.note("proposal_seminar")) }
            dd { (progress.proposal_accepted) " " (lang.word(Word::Accepted)) ", "
                 (progress.proposal_to_revise) " " (lang.word(Word::ToRevise)) }
            dt { (lang.note("final_seminar")) }
            dd { (progress.final_passed) " " (lang.word(Word::Passed)) ", "
                 (progress.final_failed) " " (lang.word(Word::Failed)) }
            @for g in &progress.grades {
                dt { (lang.grade(&g.grade)) } dd { (g.count) }
            }
        }
        @if !progress.late_participants.is_empty() {
            h2 { (visitor.t("Peserta yang terlambat", "Late participants")) }
            ul { @for name in &progress.late_participants { li { (name) } } }
        }
        p #unduh-rekap {
            (visitor.t("Rekap angkatan", "The cohort's recap")) ": "
            a href={ "/laporan/rekap?angkatan=" (urlencode(&cohort_id)) } download { ".xlsx" }
            " · "
            a href={ "/laporan/rekap?format=csv&angkatan=" (urlencode(&cohort_id)) } download { ".csv" }
        }
        h2 { (visitor.t("Proyek", "Projects")) }
        ul.cards #papan {
            @for p in &projects {
                li.card {
                    a href={ "/proyek?id=" (urlencode(&p.project_id)) } { strong { (p.title) } }
                    p { (p.participant_name) " · " (p.code) }
                    p {
                        span.badge.wait { (lang.stage(&p.state)) }
                        @if p.overdue_count > 0 {
                            " " span.badge.late { (lang.word(Word::Overdue)) " " (p.overdue_count) }
                        }
                        @if !p.grade.is_empty() { " · " (lang.grade(&p.grade)) }
                    }
                }
            }
        }
    };
    visitor.finish(layout::page(
        &visitor,
        StatusCode::OK,
        visitor.t("Angkatan", "Cohort"),
        body,
    ))
}
