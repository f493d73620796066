//! The mentor's inbox: what waits for them, updated live by server-sent
//! events from the same feed `jejak mentor watch` follows (the service's
//! WatchInbox); an item opens the proposal or milestone with its evidence,
//! to approve, or return with a reason, in two taps.

use std::convert::Infallible;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures::StreamExt as _;
use jejak_proto::v1 as pb;
use jejak_proto::v1::change_projects_server::ChangeProjects as _;
use jejak_proto::v1::mentoring_server::Mentoring as _;
use maud::{Markup, html};
use serde::Deserialize;

use crate::Portal;
use crate::layout::{self, moment};
use crate::participant::{milestone_card, urlencode};
use crate::session::{Visitor, csrf_refused, refused, signed_in};
use crate::words::{Lang, Word};

/// `text` with its first letter in capitals, for a heading.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn kind_code(kind: i32) -> &'static str {
    match pb::InboxKind::try_from(kind) {
        Ok(pb::InboxKind::Proposal) => "proposal",
        Ok(pb::InboxKind::MilestoneEvidence) => "milestone_evidence",
        Ok(pb::InboxKind::AdoptionEndorsement) => "adoption_endorsement",
        Ok(pb::InboxKind::PlanChange) => "plan_change",
        _ => "",
    }
}

/// The element id of an item: the same item has the same id, so the live
/// list never shows it twice.
fn item_id(item: &pb::InboxItem) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    };
    format!(
        "item-{}-{}-{}",
        kind_code(item.kind),
        clean(&item.project_id),
        clean(&item.milestone_id)
    )
}

/// One item of the inbox, as a list element.
fn item_markup(lang: Lang, item: &pb::InboxItem, zone: chrono_tz::Tz) -> Markup {
    let kind = kind_code(item.kind);
    let href = format!(
        "/keputusan?proyek={}&jenis={kind}&tahap={}",
        urlencode(&item.project_id),
        urlencode(&item.milestone_id)
    );
    html! {
        li.card id=(item_id(item)) {
            a href=(href) {
                strong { (lang.inbox_kind(kind)) }
                @if !item.milestone_title.is_empty() { ": " (item.milestone_title) }
            }
            p {
                (item.participant_name) " · " (item.title)
            }
            p.hint { (item.code) " · " (lang.pick("sejak", "since")) " " (moment(lang, item.since.as_ref(), zone)) }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct InboxQuery {
    setelah: Option<u64>,
    pesan: Option<String>,
}

/// `GET /kotak-masuk`: what waits for the mentor, oldest first.
pub(crate) async fn inbox(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(query): Query<InboxQuery>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let app = portal.app();
    let answer = app
        .get_inbox(session.request(
            &portal,
            pb::GetInboxRequest {
                min_position: query.setelah.unwrap_or_default(),
            },
        ))
        .await;
    let items = match answer {
        Ok(inbox) => inbox.into_inner().items,
        Err(status) => return refused(&portal, &mut visitor, status).await,
    };
    let zone = app.engine().config().time_zone;
    let lang = visitor.lang;
    let done = match query.pesan.as_deref() {
        Some("disetujui") => Some(visitor.t("Disetujui.", "Approved.")),
        Some("dikembalikan") => Some(visitor.t(
            "Dikembalikan dengan alasan Anda.",
            "Returned with your reason.",
        )),
        _ => None,
    };
    let body = html! {
        h1 { (visitor.t("Kotak masuk", "Inbox")) }
        @if let Some(done) = done { p.notice role="status" { (done) } }
        p #kosong hidden[!items.is_empty()] { (visitor.t(
            "Tidak ada yang menunggu keputusan Anda.",
            "Nothing waits for your decision."
        )) }
        ul.cards #kotak data-langsung="/kotak-masuk/langsung" aria-live="polite" data-jumlah=(items.len()) {
            @for item in &items { (item_markup(lang, item, zone)) }
        }
    };
    visitor.finish(layout::page(
        &visitor,
        StatusCode::OK,
        visitor.t("Kotak masuk", "Inbox"),
        body,
    ))
}

/// `GET /kotak-masuk/langsung`: the inbox's new items as server-sent
/// events (`item`, an HTML list element each), from the service's
/// WatchInbox: the same feed, limits and authorization as gRPC.
pub(crate) async fn live(State(portal): State<Portal>, mut visitor: Visitor) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let app = portal.app();
    let watched = app
        .watch_inbox(session.request(&portal, pb::GetInboxRequest { min_position: 0 }))
        .await;
    let stream = match watched {
        Ok(stream) => stream.into_inner(),
        Err(status) => return refused(&portal, &mut visitor, status).await,
    };
    let zone = app.engine().config().time_zone;
    let lang = visitor.lang;
    let events = stream
        .take_while(|item| futures::future::ready(item.is_ok()))
        .filter_map(move |item| {
            futures::future::ready(item.ok().map(|item| {
                // One line of data: newlines in people's text become
                // character references.
                let html = item_markup(lang, &item, zone)
                    .into_string()
                    .replace('\r', "&#13;")
                    .replace('\n', "&#10;");
                Ok::<_, Infallible>(Event::default().event("item").data(html))
            }))
        });
    visitor.finish(
        Sse::new(events)
            .keep_alive(KeepAlive::default())
            .into_response(),
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct ItemQuery {
    proyek: String,
    jenis: String,
    #[serde(default)]
    tahap: String,
}

/// `GET /keputusan?proyek=…&jenis=…&tahap=…`: an item with what it is
/// about (the proposal, or the milestone and its evidence) and the
/// decision's forms.
pub(crate) async fn item(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(query): Query<ItemQuery>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let app = portal.app();
    let answer = app
        .get_project_detail(session.request(
            &portal,
            pb::GetProjectRequest {
                project_id: query.proyek.clone(),
                min_position: 0,
            },
        ))
        .await;
    let detail = match answer {
        Ok(detail) => detail.into_inner(),
        Err(status) => return refused(&portal, &mut visitor, status).await,
    };
    let zone = app.engine().config().time_zone;
    let lang = visitor.lang;
    let project = detail.project.clone().unwrap_or_default();
    let milestone = detail
        .milestones
        .iter()
        .find(|m| m.plan.as_ref().is_some_and(|p| p.id == query.tahap));
    let agreed = detail
        .notes
        .iter()
        .rev()
        .take_while(|n| n.kind != "proposal_revised" && n.kind != "action_plan_returned")
        .any(|n| n.kind == "change_area_agreed");
    let kind = query.jenis.as_str();
    let (approve, approve_label, can_return) = match kind {
        "milestone_evidence" => ("setujui", visitor.t("Setujui", "Approve"), true),
        "proposal" if !agreed => (
            "setujui-area",
            visitor.t("Setujui area perubahan", "Agree the change area"),
            true,
        ),
        "proposal" => (
            "setujui",
            visitor.t("Setujui rencana aksi", "Approve the action plan"),
            true,
        ),
        "plan_change" => (
            "setujui",
            visitor.t("Setujui perubahan", "Approve the change"),
            true,
        ),
        "adoption_endorsement" => (
            "setujui",
            visitor.t("Kukuhkan penerapan", "Endorse the adoption"),
            false,
        ),
        _ => {
            return visitor.finish(crate::refusal::page(
                &visitor,
                &jejak_server::error::invalid("jenis", "is not a kind of inbox item"),
            ));
        }
    };
    let hidden = html! {
        input type="hidden" name="csrf" value=(session.csrf);
        input type="hidden" name="proyek" value=(query.proyek);
        input type="hidden" name="jenis" value=(kind);
        input type="hidden" name="tahap" value=(query.tahap);
    };
    let body = html! {
        h1 { (capitalised(&lang.inbox_kind(kind))) }
        p { strong { (project.title) } }
        p.hint { (project.participant_name) " · " (project.code) " · " (lang.stage(&project.state)) }
        @if kind == "proposal" {
            @if let Some(proposal) = &detail.proposal {
                dl.facts {
                    dt { (lang.word(Word::ChangeArea)) } dd { (proposal.change_area) }
                    dt { (lang.word(Word::Problem)) } dd { (proposal.problem) }
                    dt { (lang.word(Word::Baseline)) } dd { (proposal.baseline) }
                    dt { (lang.word(Word::Goals)) } dd { (proposal.goal_short_term) }
                }
                h2 { (lang.word(Word::Milestones)) }
                ul {
                    @for m in &proposal.milestones {
                        li { (m.title) " · " (lang.word(Word::Due)) " " (layout::day(lang, &m.due)) }
                    }
                }
            }
        }
        @if let Some(m) = milestone {
            ul.cards { (milestone_card(&visitor, None, &detail, m, zone)) }
        }
        div.decide {
            form method="post" action="/keputusan" {
                (hidden)
                input type="hidden" name="aksi" value=(approve);
                button type="submit" id="setujui" { (approve_label) }
            }
            @if can_return {
                form method="post" action="/keputusan" {
                    (hidden)
                    input type="hidden" name="aksi" value="kembalikan";
                    label for="alasan" { (visitor.t("Alasan dikembalikan", "Reason for returning")) }
                    textarea id="alasan" name="alasan" required {}
                    p { button.danger type="submit" id="kembalikan" { (visitor.t("Kembalikan", "Return")) } }
                }
            }
        }
    };
    visitor.finish(layout::page(
        &visitor,
        StatusCode::OK,
        &lang.inbox_kind(kind),
        body,
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    csrf: String,
    proyek: String,
    jenis: String,
    #[serde(default)]
    tahap: String,
    aksi: String,
    #[serde(default)]
    alasan: String,
}

/// `POST /keputusan`: approve, or return with a reason, through the
/// service's own Mentoring calls.
pub(crate) async fn decide(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Form(form): Form<DecisionForm>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    if !session.csrf_ok(&form.csrf) {
        return csrf_refused(&visitor);
    }
    let app = portal.app();
    let action = |note: String| pb::ProjectAction {
        expected_version: None,
        request_id: String::new(),
        project_id: form.proyek.clone(),
        note,
    };
    let reasoned = || pb::ReasonRequest {
        expected_version: None,
        request_id: String::new(),
        project_id: form.proyek.clone(),
        reason: form.alasan.clone(),
    };
    let milestone = |reason: String| pb::MilestoneDecision {
        request_id: String::new(),
        project_id: form.proyek.clone(),
        milestone_id: form.tahap.clone(),
        reason,
        expected_version: None,
    };
    let returning = form.aksi == "kembalikan";
    let written = match (form.jenis.as_str(), form.aksi.as_str()) {
        ("milestone_evidence", "setujui") => {
            app.approve_milestone(session.request(&portal, milestone(String::new())))
                .await
        }
        ("milestone_evidence", "kembalikan") => {
            app.return_milestone(session.request(&portal, milestone(form.alasan.clone())))
                .await
        }
        ("proposal", "setujui-area") => {
            app.agree_change_area(session.request(&portal, action(String::new())))
                .await
        }
        ("proposal", "setujui") => {
            app.approve_action_plan(session.request(&portal, action(String::new())))
                .await
        }
        ("proposal", "kembalikan") => {
            app.return_action_plan(session.request(&portal, reasoned()))
                .await
        }
        ("plan_change", "setujui") => {
            app.approve_plan_change(session.request(&portal, action(String::new())))
                .await
        }
        ("plan_change", "kembalikan") => {
            app.return_plan_change(session.request(&portal, reasoned()))
                .await
        }
        ("adoption_endorsement", "setujui") => {
            app.endorse_adoption(session.request(&portal, action(String::new())))
                .await
        }
        _ => Err(jejak_server::error::invalid(
            "aksi",
            "is not a decision on this kind of item",
        )),
    };
    match written {
        Ok(w) => {
            let position = w.into_inner().position;
            let target = if form.aksi == "setujui-area" {
                // The plan waits next: back to the same item.
                format!(
                    "/keputusan?proyek={}&jenis=proposal&tahap=",
                    urlencode(&form.proyek)
                )
            } else {
                format!(
                    "/kotak-masuk?setelah={position}&pesan={}",
                    if returning {
                        "dikembalikan"
                    } else {
                        "disetujui"
                    }
                )
            };
            visitor.finish(Redirect::to(&target).into_response())
        }
        Err(status) => refused(&portal, &mut visitor, status).await,
    }
}
