//! Signing in through the region's identity provider (ADR 0036): OpenID
//! Connect's authorization code flow with PKCE (S256), by the
//! `openidconnect` crate.
//!
//! - `GET /masuk/daerah` starts it: a random `state`, `nonce` and PKCE
//!   verifier go into a short-lived cookie signed with the server's secret
//!   (`jejak_oidc`: HttpOnly, SameSite=Lax so that the provider's redirect
//!   back carries it, 10 minutes, only for `/masuk/daerah`), and the
//!   visitor is sent to the provider with the state, the nonce and the
//!   PKCE challenge.
//! - `GET /masuk/daerah/kembali` is where the provider sends them back:
//!   the state must equal the cookie's; the code is exchanged with the
//!   verifier; the ID token's signature (the provider's keys, from
//!   discovery), issuer, audience (our client id), expiry and nonce are
//!   checked. HS256 ID tokens are refused: only the provider's published
//!   keys sign for it.
//! - The account (issuer, subject) becomes a session only through a grant
//!   an administrator made (`jejak admin portal grant`); an unknown
//!   account is refused with a page telling whom to ask, quoting its
//!   subject (an opaque id) so the administrator can grant it. Nothing of
//!   the account is logged, and no claim besides `sub` is read.
//! - The provider's metadata and keys are fetched at start and kept for an
//!   hour. When the provider cannot be reached, the server starts anyway
//!   (gRPC and one-time links keep working) and sign-in tries again at
//!   most every 10 seconds, showing a clear page meanwhile; an ID token
//!   signed by a key not in the set reads the set again (same limit), for
//!   the provider's key rotation.

use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jejak_engine::store::SessionRow;
use maud::html;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, SignatureVerificationError, TokenResponse as _,
};
use serde::{Deserialize, Serialize};

use crate::Portal;
use crate::layout;
use crate::session::{self, Visitor};

/// Where the sign-in through the identity provider starts.
pub const START_PATH: &str = "/masuk/daerah";
/// Where the identity provider sends the visitor back.
pub const RETURN_PATH: &str = "/masuk/daerah/kembali";

const PENDING_COOKIE: &str = "jejak_oidc";
/// The purpose of the signed note in [`PENDING_COOKIE`].
const PENDING_NOTE: &str = "oidc";
/// How long a sign-in may stay at the provider.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// How long discovered metadata and keys are kept.
const FRESH_FOR: Duration = Duration::from_secs(3600);
/// The least time between two fetches of the metadata.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// How the portal signs in through the region's identity provider.
#[derive(Clone)]
pub struct OidcSettings {
    /// The provider's issuer URL, exactly as its ID tokens name it
    /// (discovery reads `ISSUER/.well-known/openid-configuration`).
    pub issuer: String,
    /// The portal's client id at the provider (the ID tokens' audience).
    pub client_id: String,
    /// The portal's client secret at the provider.
    pub client_secret: String,
    /// The portal's address as people open it (`https://jejak.example.go.id`):
    /// the provider sends visitors back to `URL/masuk/daerah/kembali`,
    /// which must be registered with it.
    pub public_url: String,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"…")
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl OidcSettings {
    /// Checks the settings without reaching the provider.
    ///
    /// # Errors
    /// What is wrong, in words for whoever configures the server.
    pub fn check(&self) -> Result<(), String> {
        self.urls().map(|_| ())
    }

    fn urls(&self) -> Result<(IssuerUrl, RedirectUrl), String> {
        let issuer = IssuerUrl::new(self.issuer.trim().to_owned())
            .map_err(|e| format!("the identity provider's issuer URL is not a URL ({e})"))?;
        if !matches!(issuer.url().scheme(), "https" | "http") {
            return Err("the identity provider's issuer URL must be https://".into());
        }
        if self.client_id.trim().is_empty() {
            return Err("the portal's client id at the identity provider is empty".into());
        }
        if self.client_secret.trim().is_empty() {
            return Err("the portal's client secret at the identity provider is empty".into());
        }
        let base = self.public_url.trim().trim_end_matches('/');
        let redirect = RedirectUrl::new(format!("{base}{RETURN_PATH}")).map_err(|e| {
            format!("the portal's public URL is not a URL ({e}); give it as https://HOST")
        })?;
        if !matches!(redirect.url().scheme(), "https" | "http") {
            return Err("the portal's public URL must start with https://".into());
        }
        Ok((issuer, redirect))
    }
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Default)]
struct Cached {
    metadata: Option<(CoreProviderMetadata, Instant)>,
    tried: Option<Instant>,
}

/// The identity provider as the portal knows it.
pub(crate) struct Provider {
    settings: OidcSettings,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    http: reqwest::Client,
    cached: tokio::sync::Mutex<Cached>,
}

/// Why the provider could not be used just now.
#[derive(Debug)]
pub(crate) struct Unreachable;

impl Provider {
    pub(crate) fn new(settings: OidcSettings) -> Result<Self, String> {
        let (issuer, redirect) = settings.urls()?;
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer send the
            // server anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Self {
            settings,
            issuer,
            redirect,
            http,
            cached: tokio::sync::Mutex::new(Cached::default()),
        })
    }

    /// The issuer, as grants name it.
    pub(crate) fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// The provider's metadata and keys: as kept, or fetched when older
    /// than an hour (or `again`, for a key the set lacks), at most every
    /// [`RETRY_AFTER`]. A stale copy serves while the provider cannot be
    /// reached.
    pub(crate) async fn metadata(&self, again: bool) -> Result<CoreProviderMetadata, Unreachable> {
        let mut cached = self.cached.lock().await;
        let fresh = cached
            .metadata
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < FRESH_FOR);
        let may_try = cached.tried.is_none_or(|at| at.elapsed() >= RETRY_AFTER);
        if (fresh && !again) || !may_try {
            return cached
                .metadata
                .as_ref()
                .map(|(m, _)| m.clone())
                .ok_or(Unreachable);
        }
        cached.tried = Some(Instant::now());
        match CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http).await {
            Ok(metadata) => {
                tracing::info!(issuer = %self.issuer.as_str(), "read the identity provider's metadata and keys");
                cached.metadata = Some((metadata.clone(), Instant::now()));
                Ok(metadata)
            }
            Err(err) => {
                tracing::warn!(
                    issuer = %self.issuer.as_str(),
                    error = %error_chain(&err),
                    "cannot read the identity provider's metadata; signing in through it waits"
                );
                cached
                    .metadata
                    .as_ref()
                    .map(|(m, _)| m.clone())
                    .ok_or(Unreachable)
            }
        }
    }

    fn client(&self, metadata: CoreProviderMetadata) -> Client {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.trim().to_owned()),
            Some(ClientSecret::new(
                self.settings.client_secret.trim().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect.clone())
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What the browser keeps while the visitor is at the provider.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
}

/// The button on the sign-in pages, when the portal signs in through the
/// region's identity provider.
pub(crate) fn button(visitor: &Visitor) -> maud::Markup {
    html! {
        @if visitor.oidc {
            p {
                a.button href=(START_PATH) id="masuk-daerah" {
                    (visitor.t("Masuk dengan akun daerah", "Sign in with the region's account"))
                }
            }
        }
    }
}

/// `GET /masuk/daerah`: off to the identity provider.
pub(crate) async fn start(State(portal): State<Portal>, mut visitor: Visitor) -> Response {
    let Some(provider) = portal.oidc() else {
        return session::not_found(visitor).await;
    };
    let Ok(metadata) = provider.metadata(false).await else {
        return unreachable(&visitor);
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = provider
        .client(metadata)
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let pending = Pending {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
    };
    let note = portal
        .app()
        .keys()
        .sign_note(PENDING_NOTE, &pending, PENDING_TTL);
    let set = visitor.cookie_lax(
        PENDING_COOKIE,
        &note,
        Some(PENDING_TTL.as_secs()),
        START_PATH,
    );
    visitor.set_cookies.push(set);
    visitor.finish(Redirect::to(url.as_str()).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReturnQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Why an ID token was refused, for the page.
fn why_refused(visitor: &Visitor, err: &ClaimsVerificationError) -> &'static str {
    match err {
        ClaimsVerificationError::Expired(_) => visitor.t(
            "Tanda masuk dari penyedia identitas sudah kedaluwarsa.",
            "The identity provider's sign-in token has expired.",
        ),
        ClaimsVerificationError::InvalidAudience(_) => visitor.t(
            "Tanda masuk dari penyedia identitas bukan untuk jejak (audiensnya lain).",
            "The identity provider's sign-in token is not meant for jejak (another audience).",
        ),
        ClaimsVerificationError::InvalidIssuer(_) => visitor.t(
            "Tanda masuk berasal dari penerbit lain, bukan penyedia identitas daerah.",
            "The sign-in token comes from another issuer, not the region's identity provider.",
        ),
        ClaimsVerificationError::InvalidNonce(_) => visitor.t(
            "Tanda masuk dari penyedia identitas bukan untuk permintaan masuk ini.",
            "The identity provider's sign-in token was not made for this sign-in.",
        ),
        ClaimsVerificationError::SignatureVerification(_) => visitor.t(
            "Tanda tangan pada tanda masuk dari penyedia identitas tidak sah.",
            "The signature on the identity provider's sign-in token is not valid.",
        ),
        _ => visitor.t(
            "Tanda masuk dari penyedia identitas tidak dapat diterima.",
            "The identity provider's sign-in token cannot be accepted.",
        ),
    }
}

/// `GET /masuk/daerah/kembali`: back from the identity provider.
pub(crate) async fn back(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    headers: HeaderMap,
    Query(query): Query<ReturnQuery>,
) -> Response {
    let Some(provider) = portal.oidc() else {
        return session::not_found(visitor).await;
    };
    // The note is spent whatever happens next.
    let clear = visitor.cookie_lax(PENDING_COOKIE, "", Some(0), START_PATH);
    visitor.set_cookies.push(clear);
    let pending: Option<Pending> = session::cookie(&headers, PENDING_COOKIE)
        .and_then(|note| portal.app().keys().open_note(PENDING_NOTE, note));
    if query.error.is_some() {
        tracing::info!("the identity provider refused or cancelled a sign-in");
        return refused(
            &visitor,
            StatusCode::UNAUTHORIZED,
            visitor.t(
                "Penyedia identitas daerah tidak menyelesaikan proses masuk (dibatalkan atau ditolak di sana).",
                "The region's identity provider did not complete the sign-in (cancelled or refused there).",
            ),
        );
    }
    let Some(pending) = pending else {
        return refused(
            &visitor,
            StatusCode::UNAUTHORIZED,
            visitor.t(
                "Permintaan masuk ini tidak dimulai dari peramban ini, atau sudah lebih dari 10 menit. Mulai lagi.",
                "This sign-in was not started in this browser, or took more than 10 minutes. Start again.",
            ),
        );
    };
    let state = query.state.unwrap_or_default();
    if !session::same(state.as_bytes(), pending.state.as_bytes()) {
        tracing::info!("a sign-in came back from the identity provider with another state");
        return refused(
            &visitor,
            StatusCode::UNAUTHORIZED,
            visitor.t(
                "Jawaban penyedia identitas bukan untuk permintaan masuk yang dimulai di peramban ini. Mulai lagi.",
                "The identity provider's answer is not for the sign-in started in this browser. Start again.",
            ),
        );
    }
    let Some(code) = query.code.filter(|c| !c.is_empty()) else {
        return refused(
            &visitor,
            StatusCode::UNAUTHORIZED,
            visitor.t(
                "Jawaban penyedia identitas tidak membawa kode masuk. Mulai lagi.",
                "The identity provider's answer carries no sign-in code. Start again.",
            ),
        );
    };
    let Ok(metadata) = provider.metadata(false).await else {
        return unreachable(&visitor);
    };
    let client = provider.client(metadata);
    let Ok(request) = client.exchange_code(AuthorizationCode::new(code)) else {
        tracing::warn!("the identity provider's metadata names no token endpoint");
        return unreachable(&visitor);
    };
    let response = match request
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&provider.http)
        .await
    {
        Ok(response) => response,
        Err(err) => {
            tracing::warn!(error = %error_chain(&err), "the identity provider did not exchange a sign-in code");
            return refused(
                &visitor,
                StatusCode::UNAUTHORIZED,
                visitor.t(
                    "Penyedia identitas daerah tidak menerima kode masuk ini (mungkin sudah dipakai atau kedaluwarsa). Mulai lagi.",
                    "The region's identity provider did not accept this sign-in code (it may be used or expired). Start again.",
                ),
            );
        }
    };
    let Some(id_token) = response.id_token() else {
        return refused(
            &visitor,
            StatusCode::UNAUTHORIZED,
            visitor.t(
                "Penyedia identitas daerah tidak mengirim tanda masuk (ID token).",
                "The region's identity provider sent no sign-in token (ID token).",
            ),
        );
    };
    let nonce = Nonce::new(pending.nonce);
    let subject = {
        let verify = |client: &Client| {
            let verifier = client.id_token_verifier().set_allowed_algs([
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
                CoreJwsSigningAlgorithm::RsaSsaPssSha256,
                CoreJwsSigningAlgorithm::RsaSsaPssSha384,
                CoreJwsSigningAlgorithm::RsaSsaPssSha512,
                CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                CoreJwsSigningAlgorithm::EcdsaP384Sha384,
                CoreJwsSigningAlgorithm::EdDsa,
            ]);
            id_token
                .claims(&verifier, &nonce)
                .map(|claims| claims.subject().as_str().to_owned())
        };
        let mut checked = verify(&client);
        if matches!(
            checked,
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey
            ))
        ) && let Ok(metadata) = provider.metadata(true).await
        {
            // The provider may have rotated its keys.
            checked = verify(&provider.client(metadata));
        }
        match checked {
            Ok(subject) => subject,
            Err(err) => {
                // Which check failed, not its text: that may quote claims.
                let check = match &err {
                    ClaimsVerificationError::Expired(_) => "expiry",
                    ClaimsVerificationError::InvalidAudience(_) => "audience",
                    ClaimsVerificationError::InvalidIssuer(_) => "issuer",
                    ClaimsVerificationError::InvalidNonce(_) => "nonce",
                    ClaimsVerificationError::SignatureVerification(_) => "signature",
                    _ => "other",
                };
                tracing::info!(check, "an ID token from the identity provider was refused");
                let why = why_refused(&visitor, &err);
                return refused(&visitor, StatusCode::UNAUTHORIZED, why);
            }
        }
    };
    let store = portal.app().engine().store();
    let grant = match store.portal_grant(provider.issuer(), &subject).await {
        Ok(Some(grant)) => grant,
        Ok(None) => {
            tracing::info!("an identity provider's account without a grant was refused");
            return no_grant(&visitor, &subject);
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the portal's grants");
            return visitor.finish(crate::refusal::page(
                &visitor,
                &tonic::Status::unavailable("the sign-in cannot be checked just now; try again"),
            ));
        }
    };
    let now = portal.app().engine().clock().now();
    let ttl = portal.config().session_ttl;
    let secret = session::random_hex();
    let row = SessionRow {
        id_hash: session::hash("session", &secret),
        subject: grant.subject,
        role: grant.role,
        opd: grant.opd,
        provider: grant.provider,
        // The session's own id: the per-request tokens carry it.
        token_id: uuid::Uuid::now_v7().to_string(),
        issued_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
        created_at: now,
        expires_at: now + chrono::Duration::seconds(i64::try_from(ttl.as_secs()).unwrap_or(0)),
        grant_id: Some(grant.grant_id),
    };
    if let Err(err) = store.open_session(&row).await {
        tracing::warn!(error = %err, "cannot open a portal session");
        return visitor.finish(crate::refusal::page(
            &visitor,
            &tonic::Status::unavailable("the session cannot be opened just now; try again"),
        ));
    }
    tracing::info!(role = %row.role, "a portal session was opened through the identity provider");
    let set = visitor.session_cookie(&secret, ttl);
    visitor.set_cookies.push(set);
    // A page, not a redirect: the provider's redirect here is a navigation
    // from another site, on which a SameSite=Strict cookie is not sent; the
    // next one, from this page, is the portal's own.
    let body = html! {
        meta http-equiv="refresh" content="0; url=/";
        h1 { (visitor.t("Anda sudah masuk", "You are signed in")) }
        p { a href="/" id="lanjut" { (visitor.t("Lanjutkan", "Continue")) } }
    };
    visitor.finish(layout::page(
        &visitor,
        StatusCode::OK,
        visitor.t("Masuk", "Sign in"),
        body,
    ))
}

/// The page of a sign-in through the provider that failed.
fn refused(visitor: &Visitor, status: StatusCode, why: &str) -> Response {
    let title = visitor.t(
        "Tidak dapat masuk dengan akun daerah",
        "Cannot sign in with the region's account",
    );
    visitor.finish(layout::page(
        visitor,
        status,
        title,
        html! {
            h1 { (title) }
            p.refusal role="alert" { (why) }
            p { a href=(START_PATH) { (visitor.t("Coba masuk lagi", "Try signing in again")) } }
        },
    ))
}

/// The page while the provider cannot be reached.
fn unreachable(visitor: &Visitor) -> Response {
    refused(
        visitor,
        StatusCode::SERVICE_UNAVAILABLE,
        visitor.t(
            "Penyedia identitas daerah tidak dapat dihubungi saat ini. Coba lagi beberapa saat lagi, atau minta tautan masuk kepada admin.",
            "The region's identity provider cannot be reached just now. Try again in a moment, or ask your administrator for a sign-in link.",
        ),
    )
}

/// The page of an account no grant names.
fn no_grant(visitor: &Visitor, subject: &str) -> Response {
    let title = visitor.t(
        "Akun daerah Anda belum diberi akses",
        "Your region account has no access yet",
    );
    visitor.finish(layout::page(
        visitor,
        StatusCode::FORBIDDEN,
        title,
        html! {
            h1 { (title) }
            p.refusal role="alert" { (visitor.t(
                "Akun Anda dikenal oleh penyedia identitas daerah, tetapi belum diberi akses ke jejak. Minta admin jejak di daerah Anda (atau penyelenggara pelatihan Anda) memberi akses, dengan menyebut kode akun ini:",
                "The region's identity provider knows your account, but it has no access to jejak yet. Ask your region's jejak administrator (or your training's organizer) to grant it, quoting this account code:"
            )) }
            p { code id="kode-akun" { (subject) } }
            p.small { (visitor.t("Untuk admin:", "For the administrator:")) " "
                code { "jejak admin portal grant --issuer-subject " (subject) " --subject … --role …" } }
        },
    ))
}
