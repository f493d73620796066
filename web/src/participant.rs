//! The participant's "my project": where it stands on the lifecycle, its
//! milestones with due dates and overdue flags, everything the mentor,
//! coach and examiners said, and evidence uploaded by form. Staff who may
//! read a project (its mentor, say) open the same page by its id.

use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures::StreamExt as _;
use jejak_proto::v1 as pb;
use jejak_proto::v1::change_projects_server::ChangeProjects as _;
use jejak_proto::v1::evidence_server::Evidence as _;
use maud::{Markup, html};
use serde::Deserialize;
use tonic::Status;

use crate::Portal;
use crate::layout::{self, day, moment};
use crate::session::{Session, Visitor, csrf_refused, refused, signed_in};
use crate::words::Word;

/// The lifecycle's four stages, in order.
const STAGES: [&str; 4] = ["proposed", "piloted", "adopted", "replicated"];

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ProjectQuery {
    /// The project (its id or code); the visitor's only one when absent.
    id: Option<String>,
    /// Read after this log position (the visitor's own write).
    setelah: Option<u64>,
    /// What was just done, to say so.
    pesan: Option<String>,
}

/// `GET /proyek`: the visitor's project (or the one named by `id`).
pub(crate) async fn my_projects(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(query): Query<ProjectQuery>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let app = portal.app();
    let project_id = match query.id.clone().filter(|id| !id.trim().is_empty()) {
        Some(id) => id,
        None => {
            let listed = app
                .list_projects(session.request(
                    &portal,
                    pb::ListProjectsRequest {
                        min_position: query.setelah.unwrap_or_default(),
                        ..pb::ListProjectsRequest::default()
                    },
                ))
                .await;
            let projects = match listed {
                Ok(r) => r.into_inner().projects,
                Err(status) => return refused(&portal, &mut visitor, status).await,
            };
            match projects.as_slice() {
                [one] => one.project_id.clone(),
                _ => return visitor.finish(project_list(&visitor, &projects)),
            }
        }
    };
    let detail = app
        .get_project_detail(session.request(
            &portal,
            pb::GetProjectRequest {
                project_id,
                min_position: query.setelah.unwrap_or_default(),
            },
        ))
        .await;
    match detail {
        Ok(detail) => {
            let zone = app.engine().config().time_zone;
            let body = project_page(&visitor, &session, &detail.into_inner(), &query, zone);
            visitor.finish(body)
        }
        Err(status) => refused(&portal, &mut visitor, status).await,
    }
}

fn project_list(visitor: &Visitor, projects: &[pb::Project]) -> Response {
    let lang = visitor.lang;
    let body = html! {
        h1 { (visitor.t("Proyek perubahan", "Change projects")) }
        @if projects.is_empty() {
            p #kosong { (visitor.t(
                "Belum ada proyek perubahan atas nama Anda.",
                "There is no change project in your name yet."
            )) }
        }
        ul.cards {
            @for p in projects {
                li.card {
                    a href={ "/proyek?id=" (p.project_id) } { (p.title) }
                    " · " (p.code) " · " (lang.stage(&p.state))
                }
            }
        }
    };
    layout::page(
        visitor,
        StatusCode::OK,
        visitor.t("Proyek perubahan", "Change projects"),
        body,
    )
}

fn status_code(status: i32) -> &'static str {
    match pb::MilestoneStatus::try_from(status) {
        Ok(pb::MilestoneStatus::Planned) => "planned",
        Ok(pb::MilestoneStatus::Submitted) => "submitted",
        Ok(pb::MilestoneStatus::Returned) => "returned",
        Ok(pb::MilestoneStatus::Approved) => "approved",
        _ => "",
    }
}

fn horizon_code(horizon: i32) -> &'static str {
    match pb::Horizon::try_from(horizon) {
        Ok(pb::Horizon::Short) => "short",
        Ok(pb::Horizon::Medium) => "medium",
        Ok(pb::Horizon::Long) => "long",
        _ => "",
    }
}

/// A milestone's card: plan, status, overdue flag, the mentor's reason,
/// what was submitted, and (for its participant, while it may take
/// evidence) the upload form.
pub(crate) fn milestone_card(
    visitor: &Visitor,
    session: Option<&Session>,
    detail: &pb::ProjectDetail,
    milestone: &pb::MilestoneDetail,
    zone: chrono_tz::Tz,
) -> Markup {
    let lang = visitor.lang;
    let Some(plan) = &milestone.plan else {
        return html! {};
    };
    let project = detail.project.clone().unwrap_or_default();
    let status = status_code(milestone.status);
    let returned = project
        .milestones
        .iter()
        .find(|m| m.id == plan.id)
        .map(|m| m.returned_reason.clone())
        .unwrap_or_default();
    let open = matches!(status, "planned" | "returned") && project.state == "piloted";
    let badge = match status {
        "approved" => "badge ok",
        "returned" => "badge late",
        _ => "badge wait",
    };
    html! {
        li.card id={ "tonggak-" (plan.id) } {
            h3 { (plan.title) }
            p {
                span class=(badge) { (lang.status(status)) }
                @if milestone.overdue {
                    " " span.badge.late { (lang.word(Word::Overdue)) }
                }
            }
            dl.facts {
                dt { (lang.word(Word::Due)) } dd { (day(lang, &plan.due)) }
                dt { (visitor.t("jangka", "horizon")) } dd { (lang.horizon(horizon_code(plan.horizon))) }
                dt { (lang.word(Word::ExpectedOutput)) } dd { (plan.expected_output) }
            }
            @if status == "returned" && !returned.is_empty() {
                p.refusal.alasan {
                    strong { (visitor.t("Dikembalikan mentor: ", "Returned by the mentor: ")) }
                    (returned)
                }
            }
            @for submission in &milestone.submissions {
                div.submission {
                    p.hint {
                        (lang.word(Word::Evidence)) " · "
                        (moment(lang, submission.stamp.as_ref().and_then(|s| s.at.as_ref()), zone))
                    }
                    @if !submission.note.is_empty() { p { (submission.note) } }
                    ul {
                        @for a in &submission.attachments {
                            li { (attachment_link(&project.project_id, a)) }
                        }
                    }
                }
            }
            @if let Some(session) = session.filter(|s| s.row.role == "participant" && open) {
                (upload_form(visitor, session, &project.project_id, &plan.id))
            }
        }
    }
}

/// A link to download an attachment stored by jejak, or its name and
/// address when it is kept elsewhere.
pub(crate) fn attachment_link(project_id: &str, a: &pb::Attachment) -> Markup {
    if a.uri.starts_with("jejak:sha256/") {
        html! {
            a href={ "/berkas?proyek=" (project_id) "&berkas=" (a.sha256) } { (a.name) }
            " (" (a.media_type) ")"
        }
    } else {
        html! { (a.name) " — " (a.uri) }
    }
}

fn upload_form(visitor: &Visitor, session: &Session, project_id: &str, milestone: &str) -> Markup {
    let field = |name: &str| format!("{name}-{milestone}");
    html! {
        form.upload method="post" action="/proyek/bukti" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="proyek" value=(project_id);
            input type="hidden" name="tahap" value=(milestone);
            label for=(field("catatan")) { (visitor.t("Catatan (boleh kosong)", "Note (optional)")) }
            textarea id=(field("catatan")) name="catatan" {}
            label for=(field("berkas")) { (visitor.t("Berkas bukti", "Evidence file")) }
            input type="file" id=(field("berkas")) name="berkas" required;
            p { button type="submit" { (visitor.t("Kirim bukti", "Send evidence")) } }
        }
    }
}

fn project_page(
    visitor: &Visitor,
    session: &Session,
    detail: &pb::ProjectDetail,
    query: &ProjectQuery,
    zone: chrono_tz::Tz,
) -> Response {
    let lang = visitor.lang;
    let project = detail.project.clone().unwrap_or_default();
    let exit = !STAGES.contains(&project.state.as_str());
    let body = html! {
        h1 { (project.title) }
        p.hint { (project.code) " · " (lang.word(Word::Cohort)) " " (project.cohort_id) }
        @if query.pesan.as_deref() == Some("bukti") {
            p.notice role="status" { (visitor.t(
                "Bukti terkirim; mentor Anda akan memeriksanya.",
                "Evidence sent; your mentor will review it."
            )) }
        }
        h2 { (visitor.t("Tahap", "Stage")) }
        ol.stages aria-label=(visitor.t("Tahap proyek", "Project lifecycle")) {
            @for stage in STAGES {
                @if stage == project.state {
                    li aria-current="step" { (lang.stage(stage)) }
                } @else {
                    li { (lang.stage(stage)) }
                }
            }
        }
        @if exit {
            p { span.badge.late { (lang.stage(&project.state)) } }
        }
        dl.facts {
            dt { (lang.word(Word::Participant)) } dd { (project.participant_name) }
            dt { (lang.word(Word::Mentor)) } dd { (project.mentor) }
            dt { (lang.word(Word::Coach)) } dd { (project.coach) }
            dt { (lang.word(Word::Examiners)) } dd { (project.examiners.join(", ")) }
            @if !project.next_due.is_empty() {
                dt { (visitor.t("tenggat berikutnya", "next due")) } dd { (day(lang, &project.next_due)) }
            }
            @if project.overdue_count > 0 {
                dt { (lang.word(Word::Overdue)) } dd { span.badge.late { (project.overdue_count) } }
            }
            @if !detail.grade.is_empty() {
                dt { (lang.word(Word::Grade)) } dd { (lang.grade(&detail.grade)) }
            }
        }
        h2 { (lang.word(Word::Milestones)) }
        ul.cards #tonggak {
            @for m in &detail.milestones {
                (milestone_card(visitor, Some(session), detail, m, zone))
            }
        }
        h2 { (lang.word(Word::Notes)) }
        @if detail.notes.is_empty() {
            p { (visitor.t("Belum ada catatan.", "No notes yet.")) }
        }
        ol.timeline #catatan {
            @for note in &detail.notes {
                li {
                    time { (moment(lang, note.stamp.as_ref().and_then(|s| s.at.as_ref()), zone)) }
                    strong { (lang.note(&note.kind)) }
                    @if let Some(stamp) = &note.stamp {
                        " · " (lang.role(&stamp.role))
                    }
                    @if !note.text.is_empty() { p { (note.text) } }
                }
            }
        }
        @if !detail.proposal_seminars.is_empty() || !detail.final_seminars.is_empty() {
            h2 { (lang.word(Word::Seminars)) }
            ul {
                @for s in &detail.proposal_seminars {
                    li { (lang.note("proposal_seminar")) ": "
                        (if s.accepted { lang.word(Word::Accepted) } else { lang.word(Word::ToRevise) }) }
                }
                @for s in &detail.final_seminars {
                    li { (lang.note("final_seminar")) ": "
                        (if s.accepted { lang.word(Word::Passed) } else { lang.word(Word::Failed) })
                        @if let Some(score) = s.score { " · " (lang.word(Word::Score)) " " (score) } }
                }
            }
        }
    };
    layout::page(visitor, StatusCode::OK, &project.title, body)
}

/// `POST /proyek/bukti`: a file and a note for a milestone, uploaded and
/// submitted through the service's own Upload and SubmitEvidence.
pub(crate) async fn upload_evidence(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    mut form: Multipart,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let app = portal.app().clone();
    let mut csrf = String::new();
    let mut project = String::new();
    let mut milestone = String::new();
    let mut note = String::new();
    let mut uploaded = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => {
                return refused(&portal, &mut visitor, form_failed(&portal, &err)).await;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name != "berkas" {
            let text = match field.text().await {
                Ok(text) => text,
                Err(err) => {
                    return refused(&portal, &mut visitor, form_failed(&portal, &err)).await;
                }
            };
            match name.as_str() {
                "csrf" => csrf = text,
                "proyek" => project = text,
                "tahap" => milestone = text,
                "catatan" => note = text,
                _ => {}
            }
            continue;
        }
        // The file comes last: what it is for is known by now.
        if !session.csrf_ok(&csrf) {
            return csrf_refused(&visitor);
        }
        let file_name = field.file_name().unwrap_or_default().trim().to_owned();
        if file_name.is_empty() {
            return refused(
                &portal,
                &mut visitor,
                jejak_server::error::invalid("file", "choose a file to send"),
            )
            .await;
        }
        let media_type = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let metadata = pb::UploadRequest {
            part: Some(pb::upload_request::Part::Metadata(pb::UploadMetadata {
                project_id: project.clone(),
                innovation_id: String::new(),
                name: file_name,
                media_type,
            })),
        };
        let limit = app.evidence().max_bytes;
        let chunks = futures::stream::unfold(Some(field), move |field| async move {
            let mut field = field?;
            match field.chunk().await {
                Ok(Some(bytes)) => Some((
                    Ok(pb::UploadRequest {
                        part: Some(pb::upload_request::Part::Chunk(bytes.to_vec())),
                    }),
                    Some(field),
                )),
                Ok(None) => None,
                Err(err) => Some((Err(too_large(limit, &err)), None)),
            }
        });
        let parts =
            Box::pin(futures::stream::once(async move { Ok::<_, Status>(metadata) }).chain(chunks));
        match app.upload_from(session.request(&portal, parts)).await {
            Ok(r) => uploaded = r.into_inner().attachment,
            Err(status) => return refused(&portal, &mut visitor, status).await,
        }
        break;
    }
    if !session.csrf_ok(&csrf) {
        return csrf_refused(&visitor);
    }
    let Some(attachment) = uploaded else {
        return refused(
            &portal,
            &mut visitor,
            jejak_server::error::invalid("file", "choose a file to send"),
        )
        .await;
    };
    let written = app
        .submit_evidence(session.request(
            &portal,
            pb::SubmitEvidenceRequest {
                request_id: String::new(),
                project_id: project.clone(),
                milestone_id: milestone,
                attachments: vec![attachment],
                note,
                expected_version: None,
            },
        ))
        .await;
    match written {
        Ok(w) => visitor.finish(
            Redirect::to(&format!(
                "/proyek?id={}&setelah={}&pesan=bukti",
                urlencode(&project),
                w.into_inner().position
            ))
            .into_response(),
        ),
        Err(status) => refused(&portal, &mut visitor, status).await,
    }
}

/// A form that could not be read: too large, or broken.
fn form_failed(portal: &Portal, err: &axum::extract::multipart::MultipartError) -> Status {
    too_large(portal.app().evidence().max_bytes, err)
}

fn too_large(limit: u64, err: &axum::extract::multipart::MultipartError) -> Status {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Status::resource_exhausted(format!(
            "the file is larger than this server accepts ({limit} bytes at most); send a smaller file"
        ))
    } else {
        jejak_server::error::invalid("form", err.body_text())
    }
}

/// Percent-encodes what goes in a query (a project code holds `/`).
pub(crate) fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, Deserialize)]
pub(crate) struct FileQuery {
    proyek: String,
    berkas: String,
}

/// `GET /berkas?proyek=…&berkas=SHA`: a stored evidence file, through
/// the service's Download (who may read the project may fetch it).
pub(crate) async fn download(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(query): Query<FileQuery>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let answer = portal
        .app()
        .download(session.request(
            &portal,
            pb::DownloadRequest {
                file: query.berkas,
                project_id: query.proyek,
                innovation_id: String::new(),
            },
        ))
        .await;
    let mut stream = match answer {
        Ok(stream) => stream.into_inner(),
        Err(status) => return refused(&portal, &mut visitor, status).await,
    };
    let first = match stream.next().await {
        Some(Ok(first)) => first,
        Some(Err(status)) => return refused(&portal, &mut visitor, status).await,
        None => {
            return refused(
                &portal,
                &mut visitor,
                Status::not_found("the file is empty"),
            )
            .await;
        }
    };
    let attachment = first.attachment.unwrap_or_default();
    let head = Bytes::from(first.chunk);
    let rest = stream.map(|part| part.map(|p| Bytes::from(p.chunk)));
    let body = Body::from_stream(futures::stream::once(async move { Ok(head) }).chain(rest));
    let safe: String = attachment
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, attachment.media_type),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        body,
    )
        .into_response()
}
