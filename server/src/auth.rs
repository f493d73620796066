//! Bearer tokens: HS256-signed JWTs carrying the subject (user id or NIP),
//! the role and, for innovation officers, the OPD. The secret comes from
//! configuration or is generated on first start and kept (mode 0600) in the
//! server's data folder. Only health and reflection are served without one.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jejak_engine::domain::values::OpdCode;
use jejak_engine::domain::{Actor, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::{Request, Status};

/// The name of the secret's file in the data folder.
pub const SECRET_FILE: &str = "jwt-secret";
const ISSUER: &str = "jejak";

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id or NIP.
    pub sub: String,
    /// Role name.
    pub role: String,
    /// OPD code, for innovation officers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opd: Option<String>,
    /// Issuer: always "jejak".
    pub iss: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
}

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

/// Signs and checks tokens.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// Keys from a secret of at least 32 bytes.
    ///
    /// # Errors
    /// [`KeyError::TooShort`].
    pub fn new(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < 32 {
            return Err(KeyError::TooShort(secret.len()));
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        })
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
            Ok(secret) => Self::new(
                hex::decode(secret.trim_ascii())
                    .as_deref()
                    .unwrap_or(&secret),
            ),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(io)?;
                let secret: [u8; 32] = rand::random();
                write_private(&path, hex::encode(secret).as_bytes()).map_err(io)?;
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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            sub: subject.to_owned(),
            role: role.as_str().to_owned(),
            opd: opd.map(ToString::to_string),
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now + ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing")
    }

    /// The actor a request's bearer token names.
    ///
    /// # Errors
    /// UNAUTHENTICATED saying what is wrong: missing, malformed, expired,
    /// wrongly signed, or naming an unknown role.
    pub fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("no token: send the header 'authorization: Bearer <token>' (jejak token issue makes one)"))?;
        let header = header
            .to_str()
            .map_err(|_| Status::unauthenticated("the authorization header is not text"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| {
                Status::unauthenticated("the authorization header must be 'Bearer <token>'")
            })?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token.trim(), &self.decoding, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                Status::unauthenticated(match e.kind() {
                    K::ExpiredSignature => "the token has expired; issue a new one",
                    K::InvalidSignature => "the token's signature is not valid for this server",
                    K::InvalidIssuer => "the token was not issued by jejak",
                    _ => "the token is malformed; issue a new one",
                })
            })?;
        let claims = data.claims;
        let role = Role::parse(&claims.role).map_err(|_| {
            Status::unauthenticated(format!("the token names an unknown role '{}'", claims.role))
        })?;
        if claims.sub.trim().is_empty() {
            return Err(Status::unauthenticated("the token names no subject"));
        }
        let opd = match claims.opd.as_deref() {
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
        Ok(Actor {
            id: claims.sub,
            role,
            opd,
        })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
