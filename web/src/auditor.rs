//! The auditor's pages: a stream's history as a timeline with actor and
//! time, its state at a chosen moment, and the log verified against a
//! digest the auditor kept (the service's ReadStream, GetStateAt, Verify).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jejak_proto::v1 as pb;
use jejak_proto::v1::audit_server::Audit as _;
use maud::html;
use serde::Deserialize;

use crate::Portal;
use crate::layout::{self, moment};
use crate::session::{Visitor, refused, signed_in};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    /// The stream (`change_project-…`, `cohort-…`, a project's code).
    aliran: Option<String>,
    /// A moment (RFC 3339, or a day YYYY-MM-DD: its end in UTC) to show
    /// the stream's state at.
    pada: Option<String>,
    /// A digest kept earlier: `POSITION:HASH`.
    digest: Option<String>,
}

fn at_moment(text: &str) -> Option<prost_types::Timestamp> {
    let text = text.trim();
    let parsed = chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(23, 59, 59))
                .map(|t| t.and_utc())
        })?;
    Some(prost_types::Timestamp {
        seconds: parsed.timestamp(),
        nanos: 0,
    })
}

fn kind_of(stream: &str) -> pb::StreamKind {
    if stream.starts_with("innovation-") {
        pb::StreamKind::Innovation
    } else if stream.starts_with("cohort-") {
        pb::StreamKind::Cohort
    } else {
        pb::StreamKind::ChangeProject
    }
}

/// `GET /audit`: the forms; with `aliran`, the stream's timeline (and its
/// state at `pada`); with `digest`, the verification's result.
pub(crate) async fn audit(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(query): Query<AuditQuery>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let app = portal.app();
    let lang = visitor.lang;
    let zone = app.engine().config().time_zone;
    let stream = query.aliran.clone().unwrap_or_default().trim().to_owned();
    let mut events = Vec::new();
    if !stream.is_empty() {
        let read = app
            .read_stream(session.request(
                &portal,
                pb::ReadStreamRequest {
                    stream_id: stream.clone(),
                    from_version: 0,
                    limit: 500,
                },
            ))
            .await;
        match read {
            Ok(r) => events = r.into_inner().events,
            Err(status) => return refused(&portal, &mut visitor, status).await,
        }
    }
    let mut state = None;
    if let Some(at) = query.pada.as_deref().filter(|p| !p.trim().is_empty()) {
        let Some(moment_at) = at_moment(at) else {
            return visitor.finish(crate::refusal::page(
                &visitor,
                &jejak_server::error::invalid(
                    "pada",
                    "write a day (2026-03-01) or a moment (2026-03-01T08:00:00+07:00)",
                ),
            ));
        };
        let stream_id = events
            .first()
            .map(|e| e.stream_id.clone())
            .unwrap_or(stream.clone());
        let id = stream_id
            .split_once('-')
            .map(|(_, id)| id.to_owned())
            .unwrap_or_default();
        let answer = app
            .get_state_at(session.request(
                &portal,
                pb::GetStateAtRequest {
                    kind: kind_of(&stream_id) as i32,
                    id,
                    version: 0,
                    at: Some(moment_at),
                    effective: false,
                },
            ))
            .await;
        match answer {
            Ok(r) => state = Some(r.into_inner()),
            Err(status) => return refused(&portal, &mut visitor, status).await,
        }
    }
    let mut verified = None;
    if let Some(digest) = query.digest.as_deref().filter(|d| !d.trim().is_empty()) {
        let Some((position, hash)) = digest
            .trim()
            .split_once(':')
            .and_then(|(p, h)| Some((p.parse::<u64>().ok()?, h.to_owned())))
        else {
            return visitor.finish(crate::refusal::page(
                &visitor,
                &jejak_server::error::invalid("digest", "write it as POSITION:HASH"),
            ));
        };
        let answer = app
            .verify(session.request(
                &portal,
                pb::VerifyRequest {
                    digest: Some(pb::Digest { position, hash }),
                    ..pb::VerifyRequest::default()
                },
            ))
            .await;
        match answer {
            Ok(r) => verified = Some(r.into_inner()),
            Err(status) => return refused(&portal, &mut visitor, status).await,
        }
    }
    let body = html! {
        h1 { (visitor.t("Audit", "Audit")) }
        form method="get" action="/audit" {
            label for="aliran" { (visitor.t("Aliran (stream) atau kode proyek", "Stream or project code")) }
            input type="text" id="aliran" name="aliran" value=(stream);
            label for="pada" { (visitor.t("Keadaan pada (opsional)", "State at (optional)")) }
            input type="text" id="pada" name="pada" placeholder="2026-03-01" value=(query.pada.clone().unwrap_or_default());
            p { button type="submit" { (visitor.t("Tampilkan", "Show")) } }
        }
        form method="get" action="/audit" {
            label for="digest" { (visitor.t("Periksa terhadap digest (POSISI:HASH)", "Verify against a digest (POSITION:HASH)")) }
            input type="text" id="digest" name="digest" value=(query.digest.clone().unwrap_or_default());
            p { button.secondary type="submit" { (visitor.t("Periksa", "Verify")) } }
        }
        @if let Some(v) = &verified {
            @if v.intact {
                p.notice role="status" #hasil {
                    (visitor.t("Utuh: log sampai posisi ", "Intact: the log up to position "))
                    (v.to_position) (visitor.t(" cocok dengan digest.", " matches the digest."))
                }
            } @else {
                p.refusal role="alert" #hasil {
                    (visitor.t("Tidak utuh pada posisi ", "Not intact at position ")) (v.break_position) ": " (v.message)
                }
            }
        }
        @if let Some(s) = &state {
            h2 { (visitor.t("Keadaan", "State")) " · " (s.lifecycle) " · v" (s.version) }
            pre #keadaan { (s.state_json) }
        }
        @if !events.is_empty() {
            h2 { (visitor.t("Riwayat", "History")) }
            ol.timeline #riwayat {
                @for e in &events {
                    @let meta: serde_json::Value = serde_json::from_str(&e.metadata_json).unwrap_or_default();
                    li {
                        time { (moment(lang, e.recorded_at.as_ref(), zone)) }
                        strong { (e.event_type) }
                        " · v" (e.stream_version) " · #" (e.position)
                        @if let Some(actor) = meta["actor_id"].as_str() {
                            " · " (actor)
                            @if let Some(role) = meta["actor_role"].as_str() { " (" (lang.role(role)) ")" }
                        }
                    }
                }
            }
        }
    };
    visitor.finish(layout::page(&visitor, StatusCode::OK, "Audit", body))
}
