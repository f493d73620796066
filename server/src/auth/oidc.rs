//! Tokens of external OpenID Connect issuers (a city's Keycloak, a
//! ministry's identity service): checked against the issuer's JSON Web Key
//! Set (RS256, ES256 or EdDSA; never a shared secret), read from a file or
//! fetched from a URL, kept in memory, and read again when a token names a
//! key id the set does not hold (at most every [`REFRESH_EVERY`]). Claims
//! are mapped to jejak's subject, role, OPD and provider by configured
//! claim names (dotted paths such as `realm_access.roles`) and an optional
//! table of role values; a participant's NIP claim is mapped to the person
//! id their enrolment recorded, as for jejak's own tokens.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jejak_engine::domain::Role;
use jejak_engine::domain::values::Nip;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::Value;
use tonic::Status;

use super::{LEEWAY_SECONDS, Verified, actor_from, check_iat, refused};

/// A key set is fetched again on an unknown key id at most this often.
pub const REFRESH_EVERY: Duration = Duration::from_secs(10);
/// The largest key set taken from a URL.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// The algorithms accepted from external issuers.
const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// Where an issuer's key set comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksSource {
    /// A JWKS document on disk.
    File(PathBuf),
    /// A JWKS document at an `http://` or `https://` URL.
    Url(String),
}

impl JwksSource {
    /// A URL when `text` starts with `http://` or `https://`, else a file.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if text.starts_with("https://") || text.starts_with("http://") {
            Self::Url(text.to_owned())
        } else {
            Self::File(PathBuf::from(text))
        }
    }
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Url(url) => f.write_str(url),
        }
    }
}

/// Which claims of the issuer's tokens hold jejak's subject, role, OPD and
/// provider (dotted paths into the claims).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimNames {
    /// The subject (user id or NIP). Default `sub`.
    pub subject: String,
    /// The role: a text, or a list of which the first that maps is taken.
    /// Default `role`.
    pub role: String,
    /// The OPD of an innovation officer. Default `opd`.
    pub opd: String,
    /// The training provider of an organizer. Default `provider`.
    pub provider: String,
    /// A participant's NIP, mapped to the person id their enrolment
    /// recorded (the issuer's subject is its own id, not jejak's). Staff
    /// act by their subject, whatever NIP their token carries. Default `nip`.
    pub nip: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            subject: "sub".into(),
            role: "role".into(),
            opd: "opd".into(),
            provider: "provider".into(),
            nip: "nip".into(),
        }
    }
}

/// One external issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer (`iss`) its tokens name, exactly.
    pub issuer: String,
    /// The audience (`aud`) they must name.
    pub audience: String,
    /// Its key set.
    pub jwks: JwksSource,
    /// Where jejak's claims are.
    pub claims: ClaimNames,
    /// The issuer's role values and the jejak role each stands for
    /// (`"pkp-penyelenggara" = "organizer"`); empty: the values are jejak's
    /// role names.
    pub roles: BTreeMap<String, String>,
}

/// Why an issuer could not be set up or its keys read.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The key set could not be read or fetched.
    #[error("cannot read the key set of issuer {issuer} from {source_}: {reason}")]
    Jwks {
        /// The issuer.
        issuer: String,
        /// Where from.
        source_: String,
        /// What failed.
        reason: String,
    },
}

/// An external issuer with its keys.
#[derive(Debug)]
pub struct OidcIssuer {
    config: OidcConfig,
    keys: RwLock<JwkSet>,
    fetched: tokio::sync::Mutex<Instant>,
    http: reqwest::Client,
}

impl OidcIssuer {
    /// Sets up an issuer and reads its key set once.
    ///
    /// # Errors
    /// [`OidcError`] when the key set cannot be read.
    pub async fn new(config: OidcConfig) -> Result<Self, OidcError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| OidcError::Jwks {
                issuer: config.issuer.clone(),
                source_: config.jwks.to_string(),
                reason: e.to_string(),
            })?;
        let keys = load(&config, &http).await?;
        Ok(Self {
            config,
            keys: RwLock::new(keys),
            // The first unknown key id may read the set again at once.
            fetched: tokio::sync::Mutex::new(
                Instant::now()
                    .checked_sub(REFRESH_EVERY)
                    .unwrap_or_else(Instant::now),
            ),
            http,
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    fn key(&self, kid: &str) -> Option<Jwk> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .find(kid)
            .cloned()
    }

    /// Reads the key set again unless that was done less than
    /// [`REFRESH_EVERY`] ago; keeps the old one when reading fails.
    async fn refresh(&self) {
        let mut fetched = self.fetched.lock().await;
        if fetched.elapsed() < REFRESH_EVERY {
            return;
        }
        *fetched = Instant::now();
        match load(&self.config, &self.http).await {
            Ok(keys) => {
                *self
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
                tracing::info!(issuer = %self.config.issuer, "read the issuer's key set again");
            }
            Err(err) => tracing::warn!(error = %err, "keeping the issuer's old key set"),
        }
    }

    fn verify(&self, token: &str, header: &Header) -> Result<Verified, Status> {
        if !ALGORITHMS.contains(&header.alg) {
            return Err(Status::unauthenticated(
                "the token's algorithm is not accepted; external issuers sign with RS256, ES256 or EdDSA",
            ));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| Status::unauthenticated("the token names no key id (kid)"))?;
        let jwk = self.key(kid).ok_or_else(|| {
            Status::unauthenticated("the token's key id is not in its issuer's key set")
        })?;
        if let Some(alg) = jwk.common.key_algorithm
            && format!("{alg:?}") != format!("{:?}", header.alg)
        {
            return Err(Status::unauthenticated(
                "the token's algorithm does not fit its key",
            ));
        }
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| Status::unauthenticated("the issuer's key for this token is unusable"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| refused(&e))?
            .claims;
        let iat = claims.get("iat").and_then(Value::as_u64);
        check_iat(iat)?;
        let names = &self.config.claims;
        let text = |path: &str| {
            claim(&claims, path)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let subject = text(&names.subject).ok_or_else(|| {
            Status::unauthenticated(format!(
                "the token has no subject in its claim '{}'",
                names.subject
            ))
        })?;
        let role = self.role(claim(&claims, &names.role)).ok_or_else(|| {
            Status::unauthenticated(format!(
                "the token's claim '{}' names no role this server knows",
                names.role
            ))
        })?;
        let mut actor = actor_from(
            &subject,
            &role,
            text(&names.opd).as_deref(),
            text(&names.provider).as_deref(),
        )?;
        let nip = match text(&names.nip) {
            Some(nip) if actor.role == Role::Participant => {
                let nip = Nip::parse(&nip).map_err(|_| {
                    Status::unauthenticated(format!(
                        "the token's NIP (claim '{}') is not a valid NIP",
                        names.nip
                    ))
                })?;
                // The person their enrolment recorded, looked up by NIP.
                actor.id.clear();
                Some(nip)
            }
            _ => None,
        };
        Ok(Verified {
            actor,
            nip,
            token_id: text("jti"),
            issued_at: iat,
            // Only jejak's own tokens may backdate (ADR 0030).
            backdate: false,
        })
    }

    /// The jejak role a role claim stands for: the first value that maps.
    fn role(&self, value: Option<&Value>) -> Option<String> {
        let values: Vec<&str> = match value? {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => return None,
        };
        if self.config.roles.is_empty() {
            return values.first().map(|v| (*v).to_owned());
        }
        values
            .iter()
            .find_map(|v| self.config.roles.get(*v))
            .cloned()
    }
}

/// A claim by dotted path.
fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(claims, |value, key| value.get(key))
}

async fn load(config: &OidcConfig, http: &reqwest::Client) -> Result<JwkSet, OidcError> {
    let error = |reason: String| OidcError::Jwks {
        issuer: config.issuer.clone(),
        source_: config.jwks.to_string(),
        reason,
    };
    let bytes = match &config.jwks {
        JwksSource::File(path) => tokio::fs::read(path)
            .await
            .map_err(|e| error(e.to_string()))?,
        JwksSource::Url(url) => {
            let mut response = http
                .get(url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| error(e.to_string()))?;
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| error(e.to_string()))? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_JWKS_BYTES {
                    return Err(error("the key set is larger than 1 MiB".into()));
                }
            }
            body
        }
    };
    let keys: JwkSet = serde_json::from_slice(&bytes)
        .map_err(|e| error(format!("not a JSON Web Key Set: {e}")))?;
    Ok(keys)
}

/// The issuer a token names, unverified (to pick the keys to check it with).
fn issuer_of<'a>(issuers: &'a [Arc<OidcIssuer>], token: &str) -> Option<&'a Arc<OidcIssuer>> {
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(token).ok()?;
    let iss = claims.claims.get("iss")?.as_str()?;
    issuers.iter().find(|i| i.config.issuer == iss)
}

/// Checks a token of an external issuer.
pub(crate) fn verify(
    issuers: &[Arc<OidcIssuer>],
    token: &str,
    header: &Header,
) -> Result<Verified, Status> {
    if issuers.is_empty() {
        return Err(Status::unauthenticated(
            "the token is not signed with this server's secret (HS256), and no external issuer is configured",
        ));
    }
    issuer_of(issuers, token)
        .ok_or_else(|| {
            Status::unauthenticated("the token's issuer is not one this server accepts")
        })?
        .verify(token, header)
}

/// Reads the key set of the token's issuer again when the token names a key
/// id it does not hold.
pub(crate) async fn prepare(issuers: &[Arc<OidcIssuer>], token: &str) {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return;
    };
    let Some(kid) = header.kid.as_deref() else {
        return;
    };
    if let Some(issuer) = issuer_of(issuers, token)
        && issuer.key(kid).is_none()
    {
        issuer.refresh().await;
    }
}
