//! Evidence files kept by jejak (ADR 0026): stored by the SHA-256 of their
//! content, which the server computes while the upload streams in, in an
//! object store (`object_store`): by default a folder under the data
//! folder ([`EvidenceStore::folder`], object_store's `LocalFileSystem`),
//! for several servers an S3-compatible bucket ([`EvidenceStore::url`]).
//!
//! - An upload is written under `incoming/` first and moved to
//!   `sha256/<2 hex>/<64 hex>` only once complete and hashed: a broken or
//!   refused upload leaves nothing under `sha256/`, and is removed.
//! - The folder is 0700 and each stored file 0600.
//! - The log never holds the bytes: an attachment names the file by
//!   `jejak:sha256/<hex>` ([`jejak_engine::domain::values::STORED_SCHEME`]).

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use futures::StreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, WriteMultipart};
use sha2::{Digest as _, Sha256};

/// The default largest file: 50 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 50 * 1024 * 1024;

/// The media types accepted by default: PDF, PNG, JPEG, WebP, plain text,
/// CSV, ZIP, Microsoft Office and OpenDocument files.
pub const DEFAULT_MEDIA_TYPES: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
];

/// How many of a file's first bytes [`content_agrees`] reads.
pub const HEAD_BYTES: usize = 8 * 1024;

/// What a file's first bytes say it is, as far as its declared type can be
/// checked: files of one container (a ZIP holds Office Open XML and
/// OpenDocument files; an OLE compound file the older Office formats)
/// count as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Pdf,
    Png,
    Jpeg,
    Webp,
    Zip,
    Ole,
    Text,
}

fn family(media_type: &str) -> Option<Family> {
    Some(match media_type {
        "application/pdf" => Family::Pdf,
        "image/png" => Family::Png,
        "image/jpeg" => Family::Jpeg,
        "image/webp" => Family::Webp,
        "application/zip"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        | "application/vnd.oasis.opendocument.text"
        | "application/vnd.oasis.opendocument.spreadsheet"
        | "application/vnd.oasis.opendocument.presentation"
        | "application/epub+zip" => Family::Zip,
        "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/x-ole-storage" => Family::Ole,
        "text/plain" | "text/csv" => Family::Text,
        _ => return None,
    })
}

/// Whether a file beginning with `head` (its first [`HEAD_BYTES`]) can be
/// of the declared `media_type` (as [`EvidenceConfig::allowed`] keeps it):
/// its magic bytes must agree, so that an executable or a script is not
/// stored as a PDF for a mentor to open. A text must hold no NUL byte and
/// not begin as a known binary format. A type outside the known families
/// (one an operator added) is taken as declared. The error says what the
/// content looks like.
pub fn content_agrees(media_type: &str, head: &[u8]) -> Result<(), String> {
    let Some(declared) = family(media_type) else {
        return Ok(());
    };
    let seen = infer::get(head).map(|kind| kind.mime_type());
    let found = seen.and_then(family);
    let agrees = match declared {
        Family::Text => seen.is_none() && !head.contains(&0),
        binary => found == Some(binary),
    };
    if agrees {
        return Ok(());
    }
    let looks = match seen {
        Some(mime) => format!("its content is {mime}"),
        None if head.contains(&0) => "its content is binary data of no known type".to_owned(),
        None => "its content is text".to_owned(),
    };
    Err(format!(
        "the file is declared {media_type}, but {looks}; send it with its own type, or a file of the declared one"
    ))
}

/// Why the evidence store failed.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The store holds no file of this hash.
    #[error("no stored file has SHA-256 {0}")]
    NotFound(String),
    /// The store could not be opened, written or read.
    #[error("the evidence store failed: {0}")]
    Store(String),
}

impl From<object_store::Error> for EvidenceError {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { path, .. } => Self::NotFound(path),
            err => Self::Store(err.to_string()),
        }
    }
}

/// Where evidence files live. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EvidenceStore {
    store: Arc<dyn ObjectStore>,
    /// The folder, for the local backend: stored files are made 0600.
    folder: Option<PathBuf>,
    /// What it is, for logs and errors.
    describe: String,
}

/// What an upload stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// True when the same content was stored before.
    pub already: bool,
}

impl EvidenceStore {
    /// The folder `dir` (created 0700), through object_store's local
    /// file system backend.
    ///
    /// # Errors
    /// [`EvidenceError::Store`] when the folder cannot be made or used.
    pub fn folder(dir: &FsPath) -> Result<Self, EvidenceError> {
        std::fs::create_dir_all(dir)
            .and_then(|()| crate::files::restrict(dir, true))
            .map_err(|e| EvidenceError::Store(format!("{}: {e}", dir.display())))?;
        let local = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self {
            store: Arc::new(local),
            folder: Some(dir.to_owned()),
            describe: format!("folder {}", dir.display()),
        })
    }

    /// An S3-compatible bucket, `s3://BUCKET[/PREFIX]`, configured from the
    /// `AWS_*` environment variables (`AWS_ENDPOINT` for a store other
    /// than AWS, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, …); a `file:///…` URL is a folder.
    ///
    /// # Errors
    /// [`EvidenceError::Store`] for a URL that names no store jejak can use.
    pub fn url(url: &str) -> Result<Self, EvidenceError> {
        if let Some(dir) = url.strip_prefix("file://") {
            return Self::folder(FsPath::new(dir));
        }
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(EvidenceError::Store(format!(
                "'{url}' is not an evidence store; write a folder, file:///FOLDER or s3://BUCKET/PREFIX"
            )));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()?;
        let store: Arc<dyn ObjectStore> = if prefix.trim_matches('/').is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix.trim_matches('/')))
        };
        Ok(Self {
            store,
            folder: None,
            describe: format!("bucket {url}"),
        })
    }

    /// A store in memory, lost when the process ends: for a server built
    /// without a data folder (tests, tools).
    pub fn in_memory() -> Self {
        Self {
            store: Arc::new(InMemory::new()),
            folder: None,
            describe: "memory".into(),
        }
    }

    /// What it is (`folder …`, `bucket …`).
    pub fn describe(&self) -> &str {
        &self.describe
    }

    fn path_of(sha256: &str) -> Path {
        Path::from(format!("sha256/{}/{sha256}", &sha256[..2]))
    }

    /// The file of `sha256` in the folder, for the local backend.
    pub fn file_of(&self, sha256: &str) -> Option<PathBuf> {
        self.folder
            .as_ref()
            .map(|dir| dir.join("sha256").join(&sha256[..2]).join(sha256))
    }

    /// Where the record lives that `sha256` was uploaded for `subject`.
    fn grant_of(sha256: &str, subject: &str) -> Path {
        Path::from(format!("grants/{}/{sha256}/{subject}", &sha256[..2]))
    }

    /// Records that the file of `sha256` was uploaded for `subject` (a
    /// project or innovation, `project-ID` / `innovation-ID`): evidence
    /// recorded there may then name it (ADR 0026). A hash alone opens
    /// nothing: knowing one, from a log export or an inbox, does not let
    /// anyone attach someone else's file to their own project and fetch it.
    ///
    /// # Errors
    /// [`EvidenceError::Store`].
    pub async fn grant(&self, sha256: &str, subject: &str) -> Result<(), EvidenceError> {
        self.store
            .put(&Self::grant_of(sha256, subject), Vec::new().into())
            .await?;
        Ok(())
    }

    /// Whether the file of `sha256` was uploaded for `subject`.
    ///
    /// # Errors
    /// [`EvidenceError::Store`].
    pub async fn granted(&self, sha256: &str, subject: &str) -> Result<bool, EvidenceError> {
        match self.store.head(&Self::grant_of(sha256, subject)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Starts an upload.
    ///
    /// # Errors
    /// [`EvidenceError::Store`].
    pub async fn begin(&self) -> Result<Incoming, EvidenceError> {
        let incoming = Path::from(format!("incoming/{}", uuid::Uuid::now_v7()));
        let upload = self.store.put_multipart(&incoming).await?;
        Ok(Incoming {
            store: self.clone(),
            incoming,
            writer: WriteMultipart::new(upload),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// The size of the stored file of `sha256`, `None` when none is stored.
    ///
    /// # Errors
    /// [`EvidenceError::Store`].
    pub async fn size_of(&self, sha256: &str) -> Result<Option<u64>, EvidenceError> {
        match self.store.head(&Self::path_of(sha256)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The content of the stored file of `sha256`, chunk by chunk.
    ///
    /// # Errors
    /// [`EvidenceError::NotFound`] when none is stored; [`EvidenceError::Store`].
    pub async fn read(
        &self,
        sha256: &str,
    ) -> Result<
        impl futures::Stream<Item = Result<bytes::Bytes, EvidenceError>> + Send + 'static,
        EvidenceError,
    > {
        let got = self
            .store
            .get(&Self::path_of(sha256))
            .await
            .map_err(|err| match err {
                object_store::Error::NotFound { .. } => EvidenceError::NotFound(sha256.to_owned()),
                err => err.into(),
            })?;
        Ok(got
            .into_stream()
            .map(|chunk| chunk.map_err(EvidenceError::from)))
    }

    /// Hashes what the store holds for `sha256`: `None` when it holds
    /// nothing.
    ///
    /// # Errors
    /// [`EvidenceError::Store`].
    pub async fn rehash(&self, sha256: &str) -> Result<Option<String>, EvidenceError> {
        let mut content = match self.read(sha256).await {
            Ok(content) => Box::pin(content),
            Err(EvidenceError::NotFound(_)) => return Ok(None),
            Err(err) => return Err(err),
        };
        let mut hasher = Sha256::new();
        while let Some(chunk) = content.next().await {
            hasher.update(&chunk?);
        }
        Ok(Some(hex::encode(hasher.finalize())))
    }
}

/// An upload on its way in: written under `incoming/` and hashed as it
/// comes; [`Incoming::finish`] moves it to its hash's name,
/// [`Incoming::abort`] removes it.
#[derive(Debug)]
pub struct Incoming {
    store: EvidenceStore,
    incoming: Path,
    writer: WriteMultipart,
    hasher: Sha256,
    size: u64,
}

impl Incoming {
    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends `chunk`.
    ///
    /// # Errors
    /// [`EvidenceError::Store`].
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), EvidenceError> {
        // At most a few parts in flight: a fast client waits for the store.
        self.writer.wait_for_capacity(4).await?;
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        self.writer.write(chunk);
        Ok(())
    }

    /// Removes what was written.
    pub async fn abort(self) {
        if let Err(err) = self.writer.abort().await {
            tracing::warn!(error = %err, "an aborted upload could not be removed");
        }
    }

    /// Completes the upload: the file is kept under its hash (once: the
    /// same content stored before is kept as it was).
    ///
    /// # Errors
    /// [`EvidenceError::Store`]; nothing is kept then.
    pub async fn finish(self) -> Result<Stored, EvidenceError> {
        let Self {
            store,
            incoming,
            writer,
            hasher,
            size,
        } = self;
        writer.finish().await?;
        let sha256 = hex::encode(hasher.finalize());
        let target = EvidenceStore::path_of(&sha256);
        let already = store.size_of(&sha256).await?.is_some();
        let moved = if already {
            store.store.delete(&incoming).await
        } else {
            store.store.rename(&incoming, &target).await
        };
        if let Err(err) = moved {
            let _ = store.store.delete(&incoming).await;
            return Err(err.into());
        }
        if !already && let Some(file) = store.file_of(&sha256) {
            crate::files::restrict(&file, false)
                .map_err(|e| EvidenceError::Store(format!("{}: {e}", file.display())))?;
        }
        Ok(Stored {
            sha256,
            size,
            already,
        })
    }
}

/// How a server keeps evidence files.
#[derive(Clone, Debug)]
pub struct EvidenceConfig {
    /// Where the files live.
    pub store: EvidenceStore,
    /// The largest file accepted, in bytes.
    pub max_bytes: u64,
    /// The media types accepted (lower case, no parameters).
    pub media_types: Vec<String>,
}

impl Default for EvidenceConfig {
    /// In memory, 50 MiB, [`DEFAULT_MEDIA_TYPES`].
    fn default() -> Self {
        Self {
            store: EvidenceStore::in_memory(),
            max_bytes: DEFAULT_MAX_BYTES,
            media_types: DEFAULT_MEDIA_TYPES.iter().map(|&t| t.to_owned()).collect(),
        }
    }
}

impl EvidenceConfig {
    /// `media_type` as the list keeps it (lower case, without parameters
    /// such as `; charset=utf-8`), when the list has it.
    pub fn allowed(&self, media_type: &str) -> Option<String> {
        let bare = media_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        self.media_types.contains(&bare).then_some(bare)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_folder_keeps_files_by_hash_0600_and_nothing_of_an_abort() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("evidence");
        let store = EvidenceStore::folder(&root).unwrap();
        let mut up = store.begin().await.unwrap();
        up.write(b"notulen ").await.unwrap();
        up.write(b"rapat").await.unwrap();
        let stored = up.finish().await.unwrap();
        assert_eq!(stored.sha256, hex::encode(Sha256::digest(b"notulen rapat")));
        assert_eq!((stored.size, stored.already), (13, false));
        let file = store.file_of(&stored.sha256).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"notulen rapat");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &FsPath| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&root), 0o700);
        assert_eq!(store.size_of(&stored.sha256).await.unwrap(), Some(13));
        assert_eq!(
            store.rehash(&stored.sha256).await.unwrap(),
            Some(stored.sha256.clone())
        );

        let mut again = store.begin().await.unwrap();
        again.write(b"notulen rapat").await.unwrap();
        assert!(again.finish().await.unwrap().already);

        let mut broken = store.begin().await.unwrap();
        broken.write(b"half a file").await.unwrap();
        broken.abort().await;
        let leftovers: Vec<_> = walk(&root).into_iter().filter(|p| p != &file).collect();
        assert!(leftovers.is_empty(), "left behind: {leftovers:?}");

        std::fs::write(&file, b"notulen palsu").unwrap();
        assert_ne!(
            store.rehash(&stored.sha256).await.unwrap(),
            Some(stored.sha256.clone())
        );
        std::fs::remove_file(&file).unwrap();
        assert_eq!(store.rehash(&stored.sha256).await.unwrap(), None);
        assert_eq!(store.size_of(&stored.sha256).await.unwrap(), None);
    }

    fn walk(dir: &FsPath) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn a_files_content_must_agree_with_its_declared_type() {
        assert!(content_agrees("application/pdf", b"%PDF-1.7\n...").is_ok());
        let refused = content_agrees("application/pdf", b"MZ\x90\x00\x03\x00\x00\x00").unwrap_err();
        assert!(refused.contains("declared application/pdf"), "{refused}");
        assert!(content_agrees("application/pdf", b"just words").is_err());
        assert!(content_agrees("text/plain", b"Notulen rapat, 3 Maret").is_ok());
        assert!(content_agrees("text/csv", b"a,b\n1,2\n").is_ok());
        assert!(content_agrees("text/plain", b"%PDF-1.7\n").is_err());
        assert!(content_agrees("text/plain", b"a\x00b").is_err());
        assert!(content_agrees("image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").is_ok());
        assert!(content_agrees("image/jpeg", b"\x89PNG\r\n\x1a\n").is_err());
        // The older Office formats share one container, as the newer do.
        let ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0\0\0\0\0";
        assert!(content_agrees("application/msword", ole).is_ok());
        assert!(content_agrees("application/vnd.ms-excel", ole).is_ok());
        let zip = b"PK\x03\x04\x14\0\0\0\x08\0";
        assert!(content_agrees("application/zip", zip).is_ok());
        assert!(
            content_agrees(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                zip
            )
            .is_ok()
        );
        // A type an operator added is taken as declared.
        assert!(content_agrees("application/x-custom", b"anything").is_ok());
    }

    #[test]
    fn media_types_are_compared_without_parameters() {
        let config = EvidenceConfig::default();
        assert_eq!(
            config.allowed("Text/CSV; charset=utf-8").as_deref(),
            Some("text/csv")
        );
        assert_eq!(config.allowed("application/x-msdownload"), None);
    }
}
