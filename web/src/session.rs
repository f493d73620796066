//! Signing in by a one-time link, sessions, the language switch and CSRF
//! (ADR 0034).
//!
//! - `GET /masuk?kode=…` shows a button; only its `POST` uses the link. A
//!   link opened by a chat app's preview is therefore not spent. The form
//!   carries a random check that must equal a cookie set with the page, so
//!   nobody can sign a visitor in as someone else from another site.
//! - Using a link records its id (`portal_links`): a second use, on this
//!   server or another sharing the database, is refused with a clear page.
//! - A session's id is 256 random bits, in the cookie `jejak_sesi`
//!   (HttpOnly, SameSite=Strict, Path=/, Secure when configured); the
//!   database keeps its SHA-256 only. Its CSRF token is derived from the id
//!   (a different hash), so it is per session and never stored.

use std::time::Duration;

use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jejak_engine::store::SessionRow;
use jejak_server::auth::SessionClaims;
use maud::{Markup, html};
use rand::RngCore as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tonic::Status;

use crate::Portal;
use crate::layout::{self, Page};
use crate::words::Lang;

/// Where a sign-in link points.
pub const SIGN_IN_PATH: &str = "/masuk";

const SESSION_COOKIE: &str = "jejak_sesi";
const LANG_COOKIE: &str = "jejak_lang";
const SIGN_IN_COOKIE: &str = "jejak_masuk";

/// How long a request's bearer token lives: one request's worth.
const REQUEST_TOKEN_TTL: Duration = Duration::from_secs(120);

/// An open session: who the visitor acts as.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub row: SessionRow,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

impl Session {
    /// A request to the gRPC service's functions, as this session: a
    /// bearer token naming the session's subject, role and scope, with the
    /// id and issue time of the link that opened it (so that `jejak admin
    /// revoke` refuses it as it refuses tokens).
    pub fn request<T>(&self, portal: &Portal, message: T) -> tonic::Request<T> {
        let token = portal.app().keys().session_token(
            &SessionClaims {
                subject: &self.row.subject,
                role: &self.row.role,
                opd: self.row.opd.as_deref(),
                provider: self.row.provider.as_deref(),
                token_id: &self.row.token_id,
                issued_at: self.row.issued_at,
            },
            REQUEST_TOKEN_TTL,
        );
        let mut request = tonic::Request::new(message);
        // A JWT is ASCII: it always makes a header value.
        if let Ok(value) = format!("Bearer {token}").parse() {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// Whether `given` is this session's CSRF token.
    pub fn csrf_ok(&self, given: &str) -> bool {
        same(given.as_bytes(), self.csrf.as_bytes())
    }
}

/// Compares without stopping at the first difference.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn hash(label: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(label.as_bytes());
    hasher.update([0]);
    hasher.update(secret.as_bytes());
    hex::encode(hasher.finalize())
}

pub(crate) fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The cookies a request carries.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.trim(), value.trim()))
        })
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Who is asking, in which language, and what to set with the answer.
#[derive(Debug)]
pub(crate) struct Visitor {
    pub lang: Lang,
    pub session: Option<Session>,
    /// `Set-Cookie` values to send with the answer.
    pub set_cookies: Vec<String>,
    /// The path asked for, for the language switch.
    pub path: String,
    /// A session cookie came that opens no session (expired, signed out,
    /// revoked).
    pub ended: bool,
    /// The portal signs in through the region's identity provider too.
    pub oidc: bool,
    secure: bool,
}

impl Visitor {
    /// A cookie for the whole site.
    pub(crate) fn cookie(
        &self,
        name: &str,
        value: &str,
        max_age: Option<u64>,
        path: &str,
    ) -> String {
        self.cookie_as(name, value, max_age, path, "Strict")
    }

    /// A cookie also sent on a navigation from another site (the identity
    /// provider's redirect back).
    pub(crate) fn cookie_lax(
        &self,
        name: &str,
        value: &str,
        max_age: Option<u64>,
        path: &str,
    ) -> String {
        self.cookie_as(name, value, max_age, path, "Lax")
    }

    /// The cookie of a session opened with id `secret`, for `ttl`.
    pub(crate) fn session_cookie(&self, secret: &str, ttl: Duration) -> String {
        self.cookie(SESSION_COOKIE, secret, Some(ttl.as_secs()), "/")
    }

    fn cookie_as(
        &self,
        name: &str,
        value: &str,
        max_age: Option<u64>,
        path: &str,
        same_site: &str,
    ) -> String {
        let mut text = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}");
        if let Some(age) = max_age {
            text.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            text.push_str("; Secure");
        }
        text
    }

    /// Adds the visitor's cookies to `response`.
    pub fn finish(&self, mut response: Response) -> Response {
        for value in &self.set_cookies {
            if let Ok(value) = HeaderValue::from_str(value) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        response
    }

    /// The words of this visitor's language.
    pub fn t(&self, id: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(id, en)
    }
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

impl FromRequestParts<Portal> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, Response> {
        let secure = portal.config().secure_cookies;
        let asked = Query::<LangQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.lang)
            .and_then(|l| Lang::parse(&l));
        let kept = cookie(&parts.headers, LANG_COOKIE).and_then(Lang::parse);
        let mut visitor = Self {
            lang: asked.or(kept).unwrap_or_default(),
            session: None,
            set_cookies: Vec::new(),
            path: parts.uri.path().to_owned(),
            ended: false,
            oidc: portal.oidc().is_some(),
            secure,
        };
        if let Some(lang) = asked {
            let set = visitor.cookie(LANG_COOKIE, lang.code(), Some(365 * 86_400), "/");
            visitor.set_cookies.push(set);
        }
        if let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) {
            let now = portal.app().engine().clock().now();
            match portal
                .app()
                .engine()
                .store()
                .session(&hash("session", secret), now)
                .await
            {
                Ok(Some(row)) => {
                    visitor.session = Some(Session {
                        row,
                        csrf: hash("csrf", secret),
                    });
                }
                Ok(None) => {
                    // Ended or expired: forget the cookie.
                    visitor.ended = true;
                    let clear = visitor.cookie(SESSION_COOKIE, "", Some(0), "/");
                    visitor.set_cookies.push(clear);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot read the portal's sessions");
                    return Err(visitor.finish(
                        layout::message(
                            &visitor,
                            StatusCode::SERVICE_UNAVAILABLE,
                            visitor.t("Sedang ada gangguan", "Something is wrong"),
                            visitor.t(
                                "Portal tidak dapat membaca sesi Anda saat ini. Coba lagi sebentar lagi.",
                                "The portal cannot read your session just now. Try again in a moment.",
                            ),
                        ),
                    ));
                }
            }
        }
        Ok(visitor)
    }
}

/// The session of a visitor, or the page asking them to sign in (saying
/// so when their session has ended: expired, signed out or revoked).
pub(crate) fn signed_in(visitor: &Visitor) -> Result<&Session, Box<Response>> {
    visitor.session.as_ref().ok_or_else(|| {
        let (title, text) = if visitor.ended {
            (
                visitor.t("Sesi Anda sudah berakhir", "Your session has ended"),
                visitor.t(
                    "Sesi Anda sudah berakhir (waktunya habis, Anda keluar, atau aksesnya dicabut). Silakan masuk lagi.",
                    "Your session has ended (it ran out, you signed out, or its access was revoked). Please sign in again.",
                ),
            )
        } else {
            (
                visitor.t("Silakan masuk", "Please sign in"),
                visitor.t(
                    "Buka tautan masuk yang Anda terima (jejak token issue … --link membuatnya).",
                    "Open the sign-in link you were given (jejak token issue … --link makes one).",
                ),
            )
        };
        Box::new(visitor.finish(layout::page(
            visitor,
            StatusCode::UNAUTHORIZED,
            title,
            html! {
                h1 { (title) }
                p.refusal role="alert" { (text) }
                @if visitor.ended {
                    p { (visitor.t(
                        "Buka tautan masuk yang Anda terima (jejak token issue … --link membuatnya).",
                        "Open the sign-in link you were given (jejak token issue … --link makes one).",
                    )) }
                }
                (crate::oidc::button(visitor))
            },
        )))
    })
}

/// The answer to a POST whose CSRF token is missing or wrong.
pub(crate) fn csrf_refused(visitor: &Visitor) -> Response {
    visitor.finish(layout::message(
        visitor,
        StatusCode::FORBIDDEN,
        visitor.t("Formulir kedaluwarsa", "The form has expired"),
        visitor.t(
            "Formulir ini tidak berasal dari sesi Anda saat ini. Muat ulang halaman lalu kirim lagi.",
            "This form does not come from your current session. Reload the page and send it again.",
        ),
    ))
}

/// A refusal from the service: its page; an UNAUTHENTICATED one (the
/// session's link or subject was revoked) also ends the session.
pub(crate) async fn refused(portal: &Portal, visitor: &mut Visitor, status: Status) -> Response {
    if status.code() == tonic::Code::Unauthenticated
        && let Some(session) = visitor.session.take()
    {
        let now = portal.app().engine().clock().now();
        if let Err(err) = portal
            .app()
            .engine()
            .store()
            .end_session(&session.row.id_hash, now)
            .await
        {
            tracing::warn!(error = %err, "cannot end a revoked portal session");
        }
        let clear = visitor.cookie(SESSION_COOKIE, "", Some(0), "/");
        visitor.set_cookies.push(clear);
    }
    visitor.finish(crate::refusal::page(visitor, &status))
}

/// `/`: where each person starts.
pub(crate) async fn home(visitor: Visitor) -> Response {
    let Some(session) = &visitor.session else {
        let body = html! {
            h1 { "jejak" }
            p { (visitor.t(
                "Portal proyek perubahan dan inovasi daerah. Untuk masuk, buka tautan masuk yang Anda terima dari penyelenggara atau admin.",
                "The portal of change projects and regional innovations. To sign in, open the sign-in link your organizer or administrator gave you."
            )) }
            (crate::oidc::button(&visitor))
        };
        return visitor.finish(layout::page(&visitor, StatusCode::OK, "jejak", body));
    };
    match session.row.role.as_str() {
        "participant" => visitor.finish(Redirect::to("/proyek").into_response()),
        "mentor" => visitor.finish(Redirect::to("/kotak-masuk").into_response()),
        "organizer" => visitor.finish(Redirect::to("/angkatan").into_response()),
        "auditor" => visitor.finish(Redirect::to("/audit").into_response()),
        "brida_officer" | "innovation_officer" => {
            visitor.finish(Redirect::to("/kota").into_response())
        }
        role => {
            let body = html! {
                h1 { (visitor.t("Selamat datang", "Welcome")) }
                p {
                    (visitor.t("Anda masuk sebagai", "You are signed in as")) " "
                    strong { (visitor.lang.role(role)) } "."
                }
                p { (visitor.t(
                    "Halaman untuk peran ini belum tersedia di portal; gunakan perintah jejak.",
                    "The pages for this role are not in the portal yet; use the jejak command."
                )) }
            };
            visitor.finish(layout::page(&visitor, StatusCode::OK, "jejak", body))
        }
    }
}

/// Any other path.
pub(crate) async fn not_found(visitor: Visitor) -> Response {
    visitor.finish(layout::message(
        &visitor,
        StatusCode::NOT_FOUND,
        visitor.t("Halaman tidak ditemukan", "Page not found"),
        visitor.t(
            "Alamat ini tidak ada di portal.",
            "This address is not in the portal.",
        ),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LinkQuery {
    kode: Option<String>,
}

/// `GET /masuk?kode=…`: a button that uses the link (nothing is spent yet).
pub(crate) async fn sign_in_page(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(query): Query<LinkQuery>,
) -> Response {
    let Some(code) = query.kode.filter(|c| !c.trim().is_empty()) else {
        if visitor.oidc {
            let title = visitor.t("Masuk ke jejak", "Sign in to jejak");
            return visitor.finish(layout::page(
                &visitor,
                StatusCode::OK,
                title,
                html! {
                    h1 { (title) }
                    (crate::oidc::button(&visitor))
                    p { (visitor.t(
                        "Atau buka tautan masuk yang Anda terima dari penyelenggara atau admin.",
                        "Or open the sign-in link your organizer or administrator gave you."
                    )) }
                },
            ));
        }
        return bad_link(
            &visitor,
            visitor.t(
                "Tautan masuk ini tidak lengkap: kodenya hilang. Salin seluruh tautan, atau minta yang baru.",
                "This sign-in link is incomplete: its code is missing. Copy the whole link, or ask for a new one.",
            ),
        );
    };
    if let Err(status) = portal.app().keys().verify_link(code.trim()) {
        return bad_link(&visitor, status.message().to_owned());
    }
    let check = random_hex();
    let set = visitor.cookie(SIGN_IN_COOKIE, &check, Some(900), SIGN_IN_PATH);
    visitor.set_cookies.push(set);
    let body = html! {
        h1 { (visitor.t("Masuk ke jejak", "Sign in to jejak")) }
        p { (visitor.t(
            "Tautan ini hanya dapat dipakai sekali. Tekan tombol di bawah untuk masuk.",
            "This link works once. Press the button below to sign in."
        )) }
        form method="post" action=(SIGN_IN_PATH) {
            input type="hidden" name="kode" value=(code.trim());
            input type="hidden" name="cek" value=(check);
            button type="submit" id="masuk" { (visitor.t("Masuk", "Sign in")) }
        }
    };
    visitor.finish(layout::page(
        &visitor,
        StatusCode::OK,
        visitor.t("Masuk", "Sign in"),
        body,
    ))
}

fn bad_link(visitor: &Visitor, why: impl Into<String>) -> Response {
    let why = why.into();
    visitor.finish(layout::page(
        visitor,
        StatusCode::UNAUTHORIZED,
        visitor.t("Tautan masuk tidak dapat dipakai", "The sign-in link cannot be used"),
        html! {
            h1 { (visitor.t("Tautan masuk tidak dapat dipakai", "The sign-in link cannot be used")) }
            p.refusal role="alert" { (why) }
            p { (visitor.t(
                "Minta tautan masuk yang baru kepada penyelenggara atau admin.",
                "Ask your organizer or administrator for a new sign-in link."
            )) }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    kode: String,
    cek: String,
}

/// `POST /masuk`: uses the link once and opens a session.
pub(crate) async fn sign_in(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let kept = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if kept.is_empty() || !same(kept.as_bytes(), form.cek.as_bytes()) {
        return bad_link(
            &visitor,
            visitor.t(
                "Formulir masuk ini tidak dibuka dari tautan Anda. Buka tautan masuk Anda lagi.",
                "This sign-in form was not opened from your link. Open your sign-in link again.",
            ),
        );
    }
    let verified = match portal.app().keys().verify_link(form.kode.trim()) {
        Ok(verified) => verified,
        Err(status) => return bad_link(&visitor, status.message().to_owned()),
    };
    let store = portal.app().engine().store();
    let now = portal.app().engine().clock().now();
    // A participant's link may name their NIP: their person id, from the
    // people index, as the gRPC service maps a token's NIP.
    let mut subject = verified.actor.id.clone();
    if let Some(nip) = &verified.nip {
        match store.find_person(nip).await {
            Ok(Some(person)) if subject.is_empty() || subject == person.as_str() => {
                subject = person.to_string();
            }
            Ok(Some(_)) => {
                return bad_link(
                    &visitor,
                    "the link's subject and its NIP name different people; ask for a new link",
                );
            }
            Ok(None) if subject.is_empty() => {
                subject = jejak_engine::domain::values::PersonId::generate().to_string();
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the people index");
                return visitor.finish(crate::refusal::page(
                    &visitor,
                    &Status::unavailable("the people index cannot be read; try again"),
                ));
            }
        }
    }
    let token_id = verified.token_id.clone().unwrap_or_default();
    match store.consume_link(&token_id, now).await {
        Ok(true) => {}
        Ok(false) => {
            return bad_link(
                &visitor,
                visitor.t(
                    "Tautan masuk ini sudah pernah dipakai. Setiap tautan hanya berlaku sekali.",
                    "This sign-in link has been used already. Each link works once.",
                ),
            );
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot record a sign-in link's use");
            return visitor.finish(crate::refusal::page(
                &visitor,
                &Status::unavailable("the sign-in cannot be recorded just now; try again"),
            ));
        }
    }
    // A link revoked before it was used opens nothing.
    let mut probe = verified.clone();
    probe.actor.id.clone_from(&subject);
    if let Err(status) = portal.app().keys().revocations().check(&probe) {
        return bad_link(&visitor, status.message().to_owned());
    }
    let secret = random_hex();
    let ttl = portal.config().session_ttl;
    let row = SessionRow {
        id_hash: hash("session", &secret),
        subject,
        role: verified.actor.role.as_str().to_owned(),
        opd: verified.actor.opd.as_ref().map(ToString::to_string),
        provider: verified.actor.provider.clone(),
        token_id,
        issued_at: verified.issued_at.unwrap_or_default(),
        created_at: now,
        expires_at: now + chrono::Duration::seconds(i64::try_from(ttl.as_secs()).unwrap_or(0)),
        grant_id: None,
    };
    if let Err(err) = store.open_session(&row).await {
        tracing::warn!(error = %err, "cannot open a portal session");
        return visitor.finish(crate::refusal::page(
            &visitor,
            &Status::unavailable("the session cannot be opened just now; try again"),
        ));
    }
    tracing::info!(role = %row.role, "a portal session was opened");
    let set = visitor.session_cookie(&secret, ttl);
    visitor.set_cookies.push(set);
    let clear = visitor.cookie(SIGN_IN_COOKIE, "", Some(0), SIGN_IN_PATH);
    visitor.set_cookies.push(clear);
    visitor.finish(Redirect::to("/").into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

/// `POST /keluar`: ends the session.
pub(crate) async fn sign_out(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Form(form): Form<CsrfForm>,
) -> Response {
    let Some(session) = visitor.session.clone() else {
        return visitor.finish(Redirect::to("/").into_response());
    };
    if !session.csrf_ok(&form.csrf) {
        return csrf_refused(&visitor);
    }
    let now = portal.app().engine().clock().now();
    if let Err(err) = portal
        .app()
        .engine()
        .store()
        .end_session(&session.row.id_hash, now)
        .await
    {
        tracing::warn!(error = %err, "cannot end a portal session");
        return visitor.finish(crate::refusal::page(
            &visitor,
            &Status::unavailable("signing out cannot be recorded just now; try again"),
        ));
    }
    visitor.session = None;
    let clear = visitor.cookie(SESSION_COOKIE, "", Some(0), "/");
    visitor.set_cookies.push(clear);
    let body: Markup = html! {
        h1 { (visitor.t("Anda telah keluar", "You have signed out")) }
        p { (visitor.t(
            "Sesi Anda sudah ditutup. Untuk masuk lagi, minta tautan masuk yang baru.",
            "Your session is closed. To sign in again, ask for a new sign-in link."
        )) }
        (crate::oidc::button(&visitor))
    };
    visitor.finish(layout::page(
        &visitor,
        StatusCode::OK,
        visitor.t("Keluar", "Signed out"),
        body,
    ))
}

impl Page for Visitor {
    fn lang(&self) -> Lang {
        self.lang
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn csrf(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.csrf.as_str())
    }
    fn role(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.row.role.as_str())
    }
}
