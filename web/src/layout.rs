//! The page around every page: `lang`, the stylesheet, a skip link, the
//! navigation of the visitor's role, the language switch and signing out.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::words::Lang;

/// What the page around a page needs to know of its visitor.
pub(crate) trait Page {
    fn lang(&self) -> Lang;
    fn path(&self) -> &str;
    fn csrf(&self) -> Option<&str>;
    fn role(&self) -> Option<&str>;
}

/// A whole page with `status`.
pub(crate) fn page(visitor: &impl Page, status: StatusCode, title: &str, body: Markup) -> Response {
    let lang = visitor.lang();
    let t = |id, en| lang.pick(id, en);
    let (other, other_name) = match lang {
        Lang::Id => ("en", "English"),
        Lang::En => ("id", "Bahasa Indonesia"),
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · jejak" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/aset/portal.css";
                script src="/aset/portal.js" defer {}
            }
            body {
                a.skip href="#isi" { (t("Langsung ke isi", "Skip to content")) }
                header.top {
                    a.brand href="/" { "jejak" }
                    nav aria-label=(t("Navigasi utama", "Main navigation")) {
                        ul {
                            @match visitor.role() {
                                Some("participant") => li { a href="/proyek" { (t("Proyek saya", "My project")) } },
                                Some("mentor") => li { a href="/kotak-masuk" { (t("Kotak masuk", "Inbox")) } },
                                Some("organizer") => li { a href="/angkatan" { (t("Angkatan", "Cohorts")) } },
                                Some("auditor") => li { a href="/audit" { "Audit" } },
                                Some("brida_officer" | "innovation_officer") => li { a href="/kota" { (t("Inovasi daerah", "Innovations")) } },
                                _ => {},
                            }
                            li {
                                a href={ (visitor.path()) "?lang=" (other) } lang=(other) hreflang=(other) { (other_name) }
                            }
                            @if let Some(csrf) = visitor.csrf() {
                                li {
                                    form.inline method="post" action="/keluar" {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button.link type="submit" { (t("Keluar", "Sign out")) }
                                    }
                                }
                            }
                        }
                    }
                }
                main #isi tabindex="-1" { (body) }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// A page that only says something: a heading and a paragraph.
pub(crate) fn message(
    visitor: &impl Page,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    let body = html! {
        h1 { (title) }
        p.refusal role="alert" { (text) }
        p { a href="/" { (visitor.lang().pick("Kembali ke awal", "Back to the start")) } }
    };
    page(visitor, status, title, body)
}

/// A day (YYYY-MM-DD) as people read it: `15 April 2026`.
pub(crate) fn day(lang: Lang, ymd: &str) -> String {
    let Ok(date) = chrono::NaiveDate::parse_from_str(ymd, "%Y-%m-%d") else {
        return ymd.to_owned();
    };
    use chrono::Datelike as _;
    const ID: [&str; 12] = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let months = match lang {
        Lang::Id => ID,
        Lang::En => EN,
    };
    let month = months[date.month0() as usize];
    format!("{} {month} {}", date.day(), date.year())
}

/// A moment as people in the region read it (WIB by default).
pub(crate) fn moment(
    lang: Lang,
    at: Option<&prost_types::Timestamp>,
    zone: chrono_tz::Tz,
) -> String {
    let Some(at) = at else {
        return String::new();
    };
    let Some(utc) = chrono::DateTime::from_timestamp(at.seconds, 0) else {
        return String::new();
    };
    let local = utc.with_timezone(&zone);
    let date = local.format("%Y-%m-%d").to_string();
    format!("{} {}", day(lang, &date), local.format("%H:%M"))
}
