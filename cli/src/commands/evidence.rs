//! Evidence files over gRPC (ADR 0026): `--attach FILE` uploads the file to
//! the server, which keeps it by the hash it computes; `--link URL --sha256 H`
//! names evidence kept elsewhere, its hash asserted by the submitter;
//! `jejak evidence get` downloads a stored file; `jejak audit evidence`
//! asks the server to re-hash every stored file the log names.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use jejak_proto::v1 as pb;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;

use super::files::media_type;
use crate::client::{Connection, Failure, Outcome, print_json, table};

/// The size of an upload's chunks.
const CHUNK: usize = 256 * 1024;

/// Evidence given on the command line: files to upload, links to record.
#[derive(Debug, Clone, clap::Args)]
pub struct EvidenceArgs {
    /// A file to upload; the server keeps it by the SHA-256 it computes
    /// (repeatable).
    #[arg(long = "attach")]
    pub files: Vec<PathBuf>,
    /// Evidence kept elsewhere: its URL (repeatable, each with a --sha256).
    #[arg(long = "link")]
    pub links: Vec<String>,
    /// The SHA-256 you assert for each --link, in the same order.
    #[arg(long = "sha256")]
    pub hashes: Vec<String>,
    /// The name shown for each --link (default: the URL's last segment).
    #[arg(long = "link-name")]
    pub names: Vec<String>,
    /// The media type of each --link (default: from its extension).
    #[arg(long = "link-type")]
    pub types: Vec<String>,
}

/// Whom an upload is for.
#[derive(Debug, Clone, Copy)]
pub enum For<'a> {
    /// A change project (id or code).
    Project(&'a str),
    /// An innovation.
    Innovation(&'a str),
}

impl EvidenceArgs {
    /// The attachments: each file uploaded, each link as given.
    pub async fn attachments(
        &self,
        c: &Connection,
        to: For<'_>,
    ) -> Result<Vec<pb::Attachment>, Failure> {
        if self.files.is_empty() && self.links.is_empty() {
            return Err(Failure::Usage(
                "give the evidence: --attach FILE (uploaded) or --link URL --sha256 HASH (kept elsewhere)"
                    .into(),
            ));
        }
        if self.links.len() != self.hashes.len() {
            return Err(Failure::Usage(format!(
                "each --link needs its --sha256 (got {} links and {} hashes)",
                self.links.len(),
                self.hashes.len()
            )));
        }
        let mut out = Vec::new();
        for file in &self.files {
            out.push(upload(c, to, file).await?);
        }
        for (i, (link, hash)) in self.links.iter().zip(&self.hashes).enumerate() {
            let last = link
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(link)
                .to_owned();
            let name = self.names.get(i).cloned().unwrap_or(last);
            let media = self
                .types
                .get(i)
                .cloned()
                .unwrap_or_else(|| media_type(Path::new(&name)).to_owned());
            out.push(pb::Attachment {
                sha256: hash.clone(),
                uri: link.clone(),
                name,
                media_type: media,
                size: None,
                asserted: true,
            });
        }
        Ok(out)
    }
}

/// Uploads `path` for `to`; the server's attachment for it.
///
/// # Errors
/// The file cannot be read; the server refuses it.
pub async fn upload(c: &Connection, to: For<'_>, path: &Path) -> Result<pb::Attachment, Failure> {
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot read the evidence file {}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (project_id, innovation_id) = match to {
        For::Project(p) => (p.to_owned(), String::new()),
        For::Innovation(i) => (String::new(), i.to_owned()),
    };
    let metadata = pb::UploadRequest {
        part: Some(pb::upload_request::Part::Metadata(pb::UploadMetadata {
            project_id,
            innovation_id,
            name,
            media_type: media_type(path).to_owned(),
        })),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::UploadRequest>(4);
    let shown = path.display().to_string();
    let reader = tokio::spawn(async move {
        if tx.send(metadata).await.is_err() {
            return Ok(());
        }
        loop {
            let mut chunk = vec![0; CHUNK];
            let n = file.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            chunk.truncate(n);
            let part = pb::UploadRequest {
                part: Some(pb::upload_request::Part::Chunk(chunk)),
            };
            // The server stopped reading (it refused the file): its answer says why.
            if tx.send(part).await.is_err() {
                return Ok::<(), std::io::Error>(());
            }
        }
    });
    let answer = c
        .evidence()?
        .upload(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await;
    if let Ok(Err(err)) = reader.await {
        return Err(Failure::Usage(format!(
            "cannot read the evidence file {shown}: {err}"
        )));
    }
    let answer = answer?.into_inner();
    answer.attachment.ok_or_else(|| {
        Failure::Refused("the server stored the file but named no attachment".into())
    })
}

/// `jejak evidence …`.
#[derive(Debug, clap::Subcommand)]
pub enum EvidenceCommand {
    /// Downloads a stored file (jejak:sha256/HASH or HASH) recorded as the
    /// evidence of a project or an innovation, checking its hash.
    Get {
        /// The file: jejak:sha256/HASH, or the 64 hex digits.
        file: String,
        /// The project whose evidence names it (id or code).
        #[arg(
            long,
            conflicts_with = "innovation",
            required_unless_present = "innovation"
        )]
        project: Option<String>,
        /// The innovation whose evidence names it.
        #[arg(long)]
        innovation: Option<String>,
        /// Where to write it (a new file; `-` for standard output).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `jejak evidence …`.
pub async fn run(c: &Connection, command: EvidenceCommand) -> Outcome {
    let EvidenceCommand::Get {
        file,
        project,
        innovation,
        out,
    } = command;
    let mut stream = c
        .evidence()?
        .download(pb::DownloadRequest {
            file,
            project_id: project.unwrap_or_default(),
            innovation_id: innovation.unwrap_or_default(),
        })
        .await?
        .into_inner();
    let to_stdout = out.as_os_str() == "-";
    let mut sink: Box<dyn std::io::Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?,
        )
    };
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut attachment = None;
    while let Some(message) = stream.message().await? {
        if let Some(a) = message.attachment {
            attachment = Some(a);
        }
        hasher.update(&message.chunk);
        size += message.chunk.len() as u64;
        sink.write_all(&message.chunk)
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    sink.flush().context("cannot write the file")?;
    drop(sink);
    let attachment = attachment.unwrap_or_default();
    let actual = hex::encode(hasher.finalize());
    if actual != attachment.sha256 {
        if !to_stdout {
            let _ = std::fs::remove_file(&out);
        }
        return Err(Failure::Refused(format!(
            "the file received hashes to {actual}, not to the recorded {}; nothing was kept",
            attachment.sha256
        )));
    }
    if to_stdout {
        return Ok(());
    }
    if c.json {
        print_json(&serde_json::json!({
            "out": out.display().to_string(),
            "sha256": actual,
            "size": size,
            "name": attachment.name,
            "media_type": attachment.media_type,
        }));
    } else {
        say!(
            "{} ({}, {size} bytes, sha256 {actual}) written to {}",
            attachment.name,
            attachment.media_type,
            out.display()
        );
    }
    Ok(())
}

/// `jejak audit evidence`: exit 1 when any stored file is missing or altered.
pub async fn audit(c: &Connection) -> Outcome {
    let report = c
        .evidence()?
        .audit_files(pb::AuditFilesRequest {})
        .await?
        .into_inner();
    let problem = |f: &pb::FileFinding| match pb::FileProblem::try_from(f.problem) {
        Ok(pb::FileProblem::Missing) => "missing",
        Ok(pb::FileProblem::Altered) => "altered",
        _ => "unknown",
    };
    if c.json {
        print_json(&serde_json::json!({
            "checked": report.checked,
            "intact": report.intact,
            "position": report.position,
            "findings": report.findings.iter().map(|f| serde_json::json!({
                "problem": problem(f),
                "sha256": f.sha256,
                "actual_sha256": f.actual_sha256,
                "uri": f.uri,
                "name": f.name,
                "stream_id": f.stream_id,
                "position": f.position,
            })).collect::<Vec<_>>(),
        }));
    } else {
        say!(
            "{} stored files named by the log up to position {}: {} intact, {} missing or altered",
            report.checked,
            report.position,
            report.intact,
            report.findings.len()
        );
        if !report.findings.is_empty() {
            say!(
                "{}",
                table(
                    &["problem", "file", "name", "first named at", "holds"],
                    report.findings.iter().map(|f| vec![
                        problem(f).to_owned(),
                        f.uri.clone(),
                        f.name.clone(),
                        format!("{} ({})", f.position, f.stream_id),
                        f.actual_sha256.clone(),
                    ])
                )
            );
        }
    }
    if report.findings.is_empty() {
        Ok(())
    } else {
        Err(Failure::Refused(format!(
            "{} stored evidence file(s) missing or altered",
            report.findings.len()
        )))
    }
}
