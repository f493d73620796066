//! Bearer tokens: JWTs carrying the subject (a staff user id, or a
//! participant's person id), the role, for innovation officers the OPD, for
//! organizers the training provider they act for. A participant's token may
//! name their NIP instead (claim `nip`; tokens are issued offline, where the
//! person id is not known): the server maps it to their person id through
//! the people index before anything else ([`PersonOfNip`]); a token naming
//! both must name the same person; a NIP nobody was enrolled with names a
//! person of nothing (a fresh person id). Two kinds are accepted:
//! - jejak's own, HS256-signed with a local secret (configured, read from a
//!   file, or generated on first start and kept 0600 in the data folder);
//! - those of external OpenID Connect issuers, checked against the issuer's
//!   JWKS (RS256, ES256, EdDSA), with a configured mapping from their claims
//!   to jejak's ([`oidc`]).
//!
//! Every token must name its issuer and audience (checked), expire (`exp`),
//! and not start (`nbf`) or claim to be issued (`iat`) more than
//! [`LEEWAY_SECONDS`] in the future. A token never carries an internal role
//! (`system`). Tokens revoked in the log ([`Revocations`]) are refused. Every
//! refusal is UNAUTHENTICATED. Only health and reflection are served
//! without a token.

pub mod oidc;
mod revocation;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jejak_engine::domain::values::{Nip, OpdCode, PersonId};
use jejak_engine::domain::{Actor, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::{Request, Status};

pub use oidc::{ClaimNames, JwksSource, OidcConfig, OidcIssuer};
pub use revocation::Revocations;

/// The name of the secret's file in the data folder.
pub const SECRET_FILE: &str = "jwt-secret";
/// The issuer jejak's own tokens name, unless configured otherwise.
pub const DEFAULT_ISSUER: &str = "jejak";
/// The audience jejak's own tokens name, unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "jejak";
/// How far in the future `nbf` and `iat` may be (clock skew), and how long
/// past `exp` a token is still taken.
pub const LEEWAY_SECONDS: u64 = 60;
/// Roles jejak keeps for itself: no token may carry them.
pub const INTERNAL_ROLES: &[Role] = &[Role::System];

/// What one of jejak's own tokens says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Staff user id or person id; may be empty when `nip` names the person.
    #[serde(default)]
    pub sub: String,
    /// A participant's NIP, mapped to their person id by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nip: Option<String>,
    /// Role name.
    pub role: String,
    /// OPD code, for innovation officers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opd: Option<String>,
    /// The training provider an organizer acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Not before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// The token's id, by which it can be revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The bearer may write facts after they happened (the header
    /// [`OCCURRED_AT_HEADER`], ADR 0030). Only `jejak token issue
    /// --backdate` mints it; absent otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backdate: bool,
}

/// The request header carrying when a backdated write's fact happened
/// (RFC 3339), honoured only for a token with the claim `backdate`.
pub const OCCURRED_AT_HEADER: &str = "x-jejak-occurred-at";

/// Why the keys could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The secret file could not be read or written.
    #[error("cannot use the token secret at {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        error: std::io::Error,
    },
    /// The secret is too short.
    #[error("the token secret must be at least 32 bytes; it is {0}")]
    TooShort(usize),
}

/// What a token is to be issued for.
#[derive(Clone, Debug)]
pub struct Grant<'a> {
    /// Staff user id or person id (empty when `nip` is given).
    pub subject: &'a str,
    /// A participant's NIP, for the server to map to their person id.
    pub nip: Option<&'a str>,
    /// The role.
    pub role: Role,
    /// The OPD of an innovation officer.
    pub opd: Option<&'a OpdCode>,
    /// The training provider of an organizer.
    pub provider: Option<&'a str>,
    /// How long it is valid.
    pub ttl: Duration,
}

/// What a portal session acts as, for [`Keys::session_token`].
#[derive(Clone, Debug)]
pub struct SessionClaims<'a> {
    /// Staff user id or person id.
    pub subject: &'a str,
    /// The role's code.
    pub role: &'a str,
    /// The OPD of an innovation officer.
    pub opd: Option<&'a str>,
    /// The training provider of an organizer.
    pub provider: Option<&'a str>,
    /// The id of the link that opened the session.
    pub token_id: &'a str,
    /// When that link was issued (seconds since the epoch).
    pub issued_at: u64,
}

/// A token as issued.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The token.
    pub token: String,
    /// Its id (`jti`), for revocation.
    pub id: String,
    /// When it expires (seconds since the epoch).
    pub expires: u64,
}

/// A token that checked out.
#[derive(Clone, Debug)]
pub struct Verified {
    /// Who it names. When the token names a NIP, the actor's id is the
    /// subject it names (possibly empty) until [`Keys::actor`] maps the NIP.
    pub actor: Actor,
    /// The NIP the token names (claim `nip`), for a participant.
    pub nip: Option<Nip>,
    /// Its id, when it has one.
    pub token_id: Option<String>,
    /// When it was issued (seconds since the epoch), when it says.
    pub issued_at: Option<u64>,
    /// It carries the claim `backdate` (jejak's own tokens only, ADR 0030).
    pub backdate: bool,
}

struct Local {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// Signs jejak's own tokens and checks every token.
#[derive(Clone)]
pub struct Keys {
    local: Arc<Local>,
    issuer: String,
    audience: String,
    oidc: Vec<Arc<OidcIssuer>>,
    revoked: Arc<Revocations>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("oidc", &self.oidc.len())
            .finish_non_exhaustive()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// A provider code: 1–100 letters, digits, `-`, `_`, `.`.
fn provider_code(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()
        && value.len() <= 100
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    .then(|| value.to_owned())
}

/// The actor for a subject, role name, OPD and provider taken from a token
/// (jejak's own or mapped from an external issuer's).
pub(crate) fn actor_from(
    subject: &str,
    role: &str,
    opd: Option<&str>,
    provider: Option<&str>,
) -> Result<Actor, Status> {
    let role = Role::parse(role).map_err(|_| {
        Status::unauthenticated(format!(
            "the token names an unknown role '{}'",
            role.chars().take(40).collect::<String>()
        ))
    })?;
    if INTERNAL_ROLES.contains(&role) {
        return Err(Status::unauthenticated(format!(
            "the role '{role}' is jejak's own; no token may carry it"
        )));
    }
    if subject.trim().is_empty() {
        return Err(Status::unauthenticated("the token names no subject"));
    }
    let opd = match opd {
        Some(opd) => Some(
            OpdCode::parse(opd)
                .map_err(|_| Status::unauthenticated("the token's OPD is malformed"))?,
        ),
        None => None,
    };
    if role == Role::InnovationOfficer && opd.is_none() {
        return Err(Status::unauthenticated(
            "an innovation officer's token must name their OPD",
        ));
    }
    let provider = match provider {
        Some(p) => Some(
            provider_code(p)
                .ok_or_else(|| Status::unauthenticated("the token's provider is malformed"))?,
        ),
        None => None,
    };
    Ok(Actor {
        id: subject.to_owned(),
        role,
        opd,
        provider,
    })
}

/// The status for a token jsonwebtoken refused.
pub(crate) fn refused(e: &jsonwebtoken::errors::Error) -> Status {
    use jsonwebtoken::errors::ErrorKind as K;
    Status::unauthenticated(match e.kind() {
        K::ExpiredSignature => "the token has expired; issue a new one",
        K::ImmatureSignature => "the token is not valid yet (nbf is in the future)",
        K::InvalidSignature => "the token's signature is not valid for this server",
        K::InvalidIssuer => "the token's issuer is not one this server accepts",
        K::InvalidAudience => "the token is meant for another audience",
        K::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => "the token has no expiry (exp); issue one that expires",
            "aud" => "the token names no audience (aud)",
            "iss" => "the token names no issuer (iss)",
            _ => "the token lacks a required claim",
        },
        K::InvalidAlgorithm => "the token's algorithm does not fit its key",
        _ => "the token is malformed; issue a new one",
    })
}

/// Refuses a token issued in the future (beyond the leeway).
pub(crate) fn check_iat(iat: Option<u64>) -> Result<(), Status> {
    match iat {
        Some(iat) if iat > now() + LEEWAY_SECONDS => Err(Status::unauthenticated(
            "the token claims to be issued in the future (iat); check the issuer's clock",
        )),
        _ => Ok(()),
    }
}

impl Keys {
    /// Keys from a secret of at least 32 bytes, with the default issuer and
    /// audience.
    ///
    /// # Errors
    /// [`KeyError::TooShort`].
    pub fn new(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < 32 {
            return Err(KeyError::TooShort(secret.len()));
        }
        Ok(Self {
            local: Arc::new(Local {
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
            }),
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            oidc: Vec::new(),
            revoked: Arc::new(Revocations::default()),
        })
    }

    /// The same keys, issuing and accepting jejak's own tokens for `issuer`
    /// and `audience`.
    #[must_use]
    pub fn with_issuer(mut self, issuer: &str, audience: &str) -> Self {
        self.issuer = issuer.to_owned();
        self.audience = audience.to_owned();
        self
    }

    /// The same keys, also accepting the tokens of an external issuer.
    #[must_use]
    pub fn with_oidc(mut self, issuer: OidcIssuer) -> Self {
        self.oidc.push(Arc::new(issuer));
        self
    }

    /// The issuer of jejak's own tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience of jejak's own tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The revoked tokens and subjects this server knows of.
    pub fn revocations(&self) -> &Arc<Revocations> {
        &self.revoked
    }

    /// The secret kept in `path` (hex, or raw bytes), which must exist.
    ///
    /// # Errors
    /// [`KeyError`] when the file cannot be read or the secret is too short.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let secret = std::fs::read(path).map_err(|error| KeyError::Io {
            path: path.display().to_string(),
            error,
        })?;
        let trimmed = secret.trim_ascii();
        Self::new(hex::decode(trimmed).as_deref().unwrap_or(trimmed))
    }

    /// The secret kept in `data_dir`, created (random, mode 0600) when missing.
    ///
    /// # Errors
    /// [`KeyError`] when the file cannot be read or written.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join(SECRET_FILE);
        let io = |error| KeyError::Io {
            path: path.display().to_string(),
            error,
        };
        match std::fs::read(&path) {
            Ok(_) => {
                crate::files::restrict(&path, false).map_err(io)?;
                Self::from_file(&path)
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                crate::files::private_dir(data_dir).map_err(io)?;
                let secret: [u8; 32] = rand::random();
                crate::files::write_private(&path, hex::encode(secret).as_bytes()).map_err(io)?;
                tracing::info!(path = %path.display(), "generated a new token secret");
                Self::new(&secret)
            }
            Err(err) => Err(io(err)),
        }
    }

    /// Issues a token for `subject` in `role`, valid for `ttl`.
    ///
    /// # Panics
    /// Never: HS256 signing does not fail.
    pub fn issue(&self, subject: &str, role: Role, opd: Option<&OpdCode>, ttl: Duration) -> String {
        self.issue_token(&Grant {
            subject,
            nip: None,
            role,
            opd,
            provider: None,
            ttl,
        })
        .token
    }

    /// Issues a token for `grant`, with a fresh id.
    ///
    /// # Panics
    /// Never: HS256 signing does not fail.
    pub fn issue_token(&self, grant: &Grant<'_>) -> Issued {
        self.issue_claims(grant, false)
    }

    /// Issues a token for `grant` that may also write facts after they
    /// happened (the claim `backdate`, ADR 0030): for loading a history,
    /// never for people's daily work.
    pub fn issue_backdating_token(&self, grant: &Grant<'_>) -> Issued {
        self.issue_claims(grant, true)
    }

    /// The audience of a one-time sign-in link to the web portal (ADR
    /// 0034): the tokens' own with `/portal-link`, so that a link is never
    /// taken for a bearer token, nor a bearer token for a link.
    fn link_audience(&self) -> String {
        format!("{}/portal-link", self.audience)
    }

    /// Issues a one-time sign-in link's code for `grant` (the web portal,
    /// ADR 0034): signed like a token, with its own id, but for another
    /// audience, so that it opens a portal session and nothing else.
    pub fn issue_link(&self, grant: &Grant<'_>) -> Issued {
        self.issue_for(grant, false, self.link_audience())
    }

    /// Checks a sign-in link's code (not whether it was used: the portal
    /// records that in the database).
    ///
    /// # Errors
    /// UNAUTHENTICATED saying what is wrong, as [`Keys::verify`]; a code
    /// without an id is refused (it could not be used only once).
    pub fn verify_link(&self, code: &str) -> Result<Verified, Status> {
        let header = jsonwebtoken::decode_header(code).map_err(|_| {
            Status::unauthenticated("the sign-in link is damaged; ask for a new one")
        })?;
        if header.alg != Algorithm::HS256 {
            return Err(Status::unauthenticated(
                "this is not a sign-in link of this server; ask for a new one",
            ));
        }
        let verified = self.verify_local(code, &self.link_audience())?;
        if verified.token_id.is_none() {
            return Err(Status::unauthenticated(
                "the sign-in link has no id; ask for a new one",
            ));
        }
        Ok(verified)
    }

    /// A bearer token for a portal session's request, valid for `ttl`: it
    /// names the session's subject, role and scope, carries the id of the
    /// link that opened the session and the time that link was issued, so
    /// that revoking the link's id or the subject's tokens (`jejak admin
    /// revoke`) refuses the session's requests as it refuses tokens.
    pub fn session_token(&self, session: &SessionClaims<'_>, ttl: Duration) -> String {
        let now = now();
        let claims = Claims {
            sub: session.subject.to_owned(),
            nip: None,
            role: session.role.to_owned(),
            opd: session.opd.map(ToOwned::to_owned),
            provider: session.provider.map(ToOwned::to_owned),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: session.issued_at,
            nbf: None,
            exp: now + ttl.as_secs(),
            jti: Some(session.token_id.to_owned()),
            backdate: false,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.local.encoding,
        )
        .expect("HS256 signing")
    }

    /// Signs `note` for the web portal to keep in a visitor's browser
    /// (ADR 0036: a sign-in through the region's identity provider under
    /// way), valid for `ttl`, for the audience `AUD/portal-PURPOSE`: it is
    /// never a token nor a link, nor a note of another purpose.
    pub fn sign_note<T: Serialize>(&self, purpose: &str, note: &T, ttl: Duration) -> String {
        #[derive(Serialize)]
        struct Signed<'a, T> {
            iss: &'a str,
            aud: String,
            exp: u64,
            note: &'a T,
        }
        let signed = Signed {
            iss: &self.issuer,
            aud: format!("{}/portal-{purpose}", self.audience),
            exp: now() + ttl.as_secs(),
            note,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &signed,
            &self.local.encoding,
        )
        .expect("HS256 signing")
    }

    /// The note [`Keys::sign_note`] signed for `purpose`, if `signed` is
    /// one, unexpired (no leeway).
    pub fn open_note<T: serde::de::DeserializeOwned>(
        &self,
        purpose: &str,
        signed: &str,
    ) -> Option<T> {
        #[derive(Deserialize)]
        struct Signed<T> {
            note: T,
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[format!("{}/portal-{purpose}", self.audience)]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 0;
        jsonwebtoken::decode::<Signed<T>>(signed, &self.local.decoding, &validation)
            .ok()
            .map(|data| data.claims.note)
    }

    fn issue_claims(&self, grant: &Grant<'_>, backdate: bool) -> Issued {
        self.issue_for(grant, backdate, self.audience.clone())
    }

    fn issue_for(&self, grant: &Grant<'_>, backdate: bool, audience: String) -> Issued {
        let now = now();
        let id = uuid::Uuid::now_v7().to_string();
        let claims = Claims {
            sub: grant.subject.to_owned(),
            nip: grant.nip.map(ToOwned::to_owned),
            role: grant.role.as_str().to_owned(),
            opd: grant.opd.map(ToString::to_string),
            provider: grant.provider.map(ToOwned::to_owned),
            iss: self.issuer.clone(),
            aud: audience,
            iat: now,
            nbf: None,
            exp: now + grant.ttl.as_secs(),
            jti: Some(id.clone()),
            backdate,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.local.encoding,
        )
        .expect("HS256 signing");
        Issued {
            token,
            id,
            expires: claims.exp,
        }
    }

    /// The actor a request's bearer token names.
    ///
    /// # Errors
    /// UNAUTHENTICATED saying what is wrong: missing, malformed, expired,
    /// not yet valid, wrongly signed, of another issuer or audience,
    /// revoked, or naming an unknown or internal role.
    pub fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Status> {
        self.caller(request).map(|verified| verified.actor)
    }

    /// The token of a request, checked in full, with the actor it names
    /// (a participant's NIP mapped to their person id).
    ///
    /// # Errors
    /// As [`Keys::actor`].
    pub fn caller<T>(&self, request: &Request<T>) -> Result<Verified, Status> {
        let token = bearer(request.metadata().get("authorization").map(|v| v.to_str()))?;
        let mut verified = self.verify(token)?;
        if let Some(nip) = &verified.nip {
            let found = request
                .extensions()
                .get::<PersonOfNip>()
                .filter(|found| &found.nip == nip)
                .ok_or_else(|| {
                    Status::unavailable("the token's NIP was not looked up; try again")
                })?;
            let person = match (&found.person, verified.actor.id.as_str()) {
                (Some(person), sub) if !sub.is_empty() && sub != person.as_str() => {
                    return Err(Status::unauthenticated(
                        "the token's subject and its NIP name different people; issue a new token",
                    ));
                }
                (Some(person), _) => person.clone(),
                // A NIP nobody was enrolled with is a participant of
                // nothing: a person id of nobody, so that they are answered
                // as any participant not enrolled where they ask.
                (None, "") => PersonId::generate(),
                (None, sub) => PersonId::parse(sub).map_err(|_| {
                    Status::unauthenticated("the token's subject is not a person id")
                })?,
            };
            verified.actor.id = person.to_string();
        }
        self.revoked.check(&verified)?;
        Ok(verified)
    }

    /// The NIP a request's token names, if it is one of this server's own
    /// tokens and checks out (for [`PersonOfNip`] to be looked up).
    pub fn nip_of(&self, authorization: Option<&str>) -> Option<Nip> {
        let token = bearer::<std::convert::Infallible>(authorization.map(Ok)).ok()?;
        self.verify(token).ok()?.nip
    }

    /// Checks a token (not its revocation).
    ///
    /// # Errors
    /// As [`Keys::actor`].
    pub fn verify(&self, token: &str) -> Result<Verified, Status> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Status::unauthenticated("the token is malformed; issue a new one"))?;
        if header.alg != Algorithm::HS256 {
            return oidc::verify(&self.oidc, token, &header);
        }
        self.verify_local(token, &self.audience)
    }

    fn verify_local(&self, token: &str, audience: &str) -> Result<Verified, Status> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<Claims>(token, &self.local.decoding, &validation)
            .map_err(|e| refused(&e))?;
        let claims = data.claims;
        check_iat(Some(claims.iat))?;
        let nip = claims
            .nip
            .as_deref()
            .map(|nip| {
                Nip::parse(nip).map_err(|_| {
                    Status::unauthenticated("the token's NIP (claim 'nip') is not a valid NIP")
                })
            })
            .transpose()?;
        let sub = claims.sub.trim();
        // A token naming a NIP is checked as if it named a subject; the
        // subject is set when the NIP is mapped.
        let mut actor = actor_from(
            if sub.is_empty() && nip.is_some() {
                "-"
            } else {
                sub
            },
            &claims.role,
            claims.opd.as_deref(),
            claims.provider.as_deref(),
        )?;
        if nip.is_some() {
            if actor.role != Role::Participant {
                return Err(Status::unauthenticated(
                    "only a participant's token may name a NIP (claim 'nip'); staff tokens name their user id",
                ));
            }
            if !sub.is_empty() && PersonId::parse(sub).is_err() {
                return Err(Status::unauthenticated(
                    "the token names a NIP and a subject that is not a person id",
                ));
            }
            sub.clone_into(&mut actor.id);
        }
        Ok(Verified {
            actor,
            nip,
            token_id: claims.jti,
            issued_at: Some(claims.iat),
            backdate: claims.backdate,
        })
    }

    /// Makes sure the key of an external issuer's token is known before
    /// [`Keys::actor`] checks it: fetches the issuer's JWKS again when the
    /// token names a key id it does not hold (at most every few seconds).
    /// Does nothing for jejak's own tokens or malformed ones.
    pub async fn prepare(&self, authorization: Option<&str>) {
        if self.oidc.is_empty() {
            return;
        }
        let Ok(token) = bearer::<std::convert::Infallible>(authorization.map(Ok)) else {
            return;
        };
        oidc::prepare(&self.oidc, token).await;
    }
}

/// The person id the people index holds for the NIP a request's token
/// names (`person` is `None` when it holds none): looked up before the
/// request is served, since the lookup reads the database, and put in the
/// request's extensions for [`Keys::actor`].
#[derive(Clone, Debug)]
pub struct PersonOfNip {
    /// The NIP the token names.
    pub nip: Nip,
    /// Their person id, when the index holds one.
    pub person: Option<PersonId>,
}

/// The token of an `authorization` header value.
fn bearer<E>(header: Option<Result<&str, E>>) -> Result<&str, Status> {
    let header = header
        .ok_or_else(|| Status::unauthenticated("no token: send the header 'authorization: Bearer <token>' (jejak token issue makes one)"))?
        .map_err(|_| Status::unauthenticated("the authorization header is not text"))?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| Status::unauthenticated("the authorization header must be 'Bearer <token>'"))
}
