//! The Evidence service (ADR 0026): uploads stored by the hash the server
//! computes, downloads for who may read the project or innovation whose
//! evidence names the file, and the auditor's re-hash of every stored
//! file the log names. Also [`App::stored_files`], which gives a submitted
//! attachment naming a stored file its size, or refuses it when the file
//! is not stored.

use std::collections::BTreeMap;
use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use jejak_engine::domain::change_project::{ChangeProject, ProjectState};
use jejak_engine::domain::innovation::{Innovation, InnovationState};
use jejak_engine::domain::values::{Attachment, InnovationId, STORED_SCHEME, short};
use jejak_engine::domain::{Actor, Aggregate as _, Role};
use jejak_proto::v1 as pb;
use tonic::{Request, Response, Status, Streaming};

use super::{not_found, require};
use crate::App;
use crate::convert::domain;
use crate::error::{invalid, status};
use crate::evidence::EvidenceError;
use crate::limits::outbox;

/// The size of a download's chunks.
const CHUNK: usize = 256 * 1024;
/// How many events the audit reads at once.
const AUDIT_BATCH: usize = 1_000;

fn store_failed(err: EvidenceError) -> Status {
    match err {
        EvidenceError::NotFound(hash) => {
            Status::not_found(format!("no stored file has SHA-256 {hash}"))
        }
        EvidenceError::Store(reason) => {
            tracing::error!(%reason, "the evidence store failed");
            Status::unavailable("the evidence store cannot be reached; try again later")
        }
    }
}

/// An attachment for the wire.
pub(crate) fn attachment_out(a: &Attachment) -> pb::Attachment {
    pb::Attachment {
        sha256: a.sha256.clone(),
        uri: a.uri.clone(),
        name: a.name.clone(),
        media_type: a.media_type.clone(),
        size: a.size,
        asserted: a.asserted,
    }
}

/// What a project or innovation lets a caller fetch.
enum Subject {
    Project(Box<ProjectState>),
    Innovation(Box<InnovationState>),
}

/// The key of a project's or innovation's uploads in the store's grants.
pub(crate) fn project_key(project_id: &str) -> String {
    format!("project-{project_id}")
}

/// See [`project_key`].
pub(crate) fn innovation_key(innovation_id: &str) -> String {
    format!("innovation-{innovation_id}")
}

impl Subject {
    /// The key its uploads are granted under.
    fn key(&self) -> String {
        match self {
            Self::Project(state) => project_key(
                &state
                    .project_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            Self::Innovation(state) => innovation_key(
                &state
                    .innovation_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
        }
    }

    /// Every attachment its recorded evidence holds.
    fn attachments(&self) -> Vec<&Attachment> {
        match self {
            Self::Project(state) => state
                .milestones
                .values()
                .flat_map(|m| m.evidence.iter())
                .chain(state.final_report_attachments.iter())
                .chain(
                    state
                        .replications
                        .iter()
                        .filter_map(|r| r.agreement.document.as_ref()),
                )
                .collect(),
            Self::Innovation(state) => state.evidence.iter().map(|(_, a)| a).collect(),
        }
    }
}

impl App {
    /// The project (`project_id`) or innovation (`innovation_id`) named,
    /// as the caller may read it: NOT_FOUND when it does not exist or is
    /// not the caller's business (`Aggregate::concerns`).
    async fn subject(
        &self,
        actor: &Actor,
        project_id: &str,
        innovation_id: &str,
    ) -> Result<Subject, Status> {
        match (project_id.trim(), innovation_id.trim()) {
            (project, "") if !project.is_empty() => {
                let id = self.project_id(project).await?;
                let loaded = self
                    .engine()
                    .get::<ChangeProject>(id.as_str())
                    .await
                    .map_err(status)?;
                // BRIDA may act on a project (its replication) but reads
                // none (`can_see_project`): its files neither.
                match loaded {
                    Some(l)
                        if ChangeProject::concerns(&l.state, actor)
                            && actor.role != Role::BridaOfficer =>
                    {
                        Ok(Subject::Project(Box::new(l.state)))
                    }
                    _ => Err(not_found(ChangeProject::LABEL, project)),
                }
            }
            ("", innovation) if !innovation.is_empty() => {
                let id = InnovationId::parse(innovation).map_err(domain)?;
                let loaded = self
                    .engine()
                    .get::<Innovation>(id.as_str())
                    .await
                    .map_err(status)?;
                match loaded {
                    Some(l) if Innovation::concerns(&l.state, actor) => {
                        Ok(Subject::Innovation(Box::new(l.state)))
                    }
                    _ => Err(not_found(Innovation::LABEL, innovation)),
                }
            }
            _ => Err(invalid(
                "project_id",
                "name either project_id or innovation_id (one of them)",
            )),
        }
    }

    /// Gives each attachment naming a stored file (`jejak:sha256/…`) the
    /// size the store holds and `asserted` false; an attachment kept
    /// elsewhere stays asserted, with the size the caller stated.
    ///
    /// # Errors
    /// FAILED_PRECONDITION naming `field` when a stored file is not stored
    /// (upload it first); UNAVAILABLE when the store fails.
    pub(crate) async fn stored_files(
        &self,
        field: &str,
        subject: &str,
        attachments: &mut [Attachment],
    ) -> Result<(), Status> {
        for (i, a) in attachments.iter_mut().enumerate() {
            if Attachment::stored_hash(&a.uri).is_none() {
                a.asserted = true;
                continue;
            }
            let Some(size) = self
                .evidence()
                .store
                .size_of(&a.sha256)
                .await
                .map_err(store_failed)?
            else {
                return Err(Status::failed_precondition(format!(
                    "{field}[{i}]: no file {} is stored; upload it first (jejak project evidence --attach FILE uploads and submits)",
                    a.uri
                )));
            };
            // Only a file uploaded for this very project or innovation.
            if !self
                .evidence()
                .store
                .granted(&a.sha256, subject)
                .await
                .map_err(store_failed)?
            {
                return Err(Status::failed_precondition(format!(
                    "{field}[{i}]: {} was not uploaded for this project or innovation; upload the file here (--attach FILE)",
                    a.uri
                )));
            }
            a.size = Some(size);
            a.asserted = false;
        }
        Ok(())
    }
}

impl App {
    /// Stores an uploaded file ([`pb::evidence_server::Evidence::upload`]):
    /// the metadata first, then the chunks, from any stream of them (the
    /// gRPC call's, or the web portal's form). One code path: the same
    /// caller checks, size limit and content check for both.
    ///
    /// # Errors
    /// As the RPC: INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED,
    /// RESOURCE_EXHAUSTED past the size limit, UNAVAILABLE.
    pub async fn upload_from<S>(
        &self,
        request: Request<S>,
    ) -> Result<Response<pb::UploadResponse>, Status>
    where
        S: futures::Stream<Item = Result<pb::UploadRequest, Status>> + Unpin + Send,
    {
        use futures::StreamExt as _;
        let actor = self.actor(&request)?;
        let mut parts = request.into_inner();
        let first = parts.next().await.transpose()?;
        let Some(pb::UploadRequest {
            part: Some(pb::upload_request::Part::Metadata(meta)),
        }) = first
        else {
            return Err(invalid(
                "metadata",
                "send the metadata first (project_id or innovation_id, name, media_type), then the chunks",
            ));
        };
        let subject = self
            .subject(&actor, &meta.project_id, &meta.innovation_id)
            .await?;
        let writers: &[Role] = match subject {
            // Participants submit evidence and reports; a mentor records a
            // replication's agreement.
            Subject::Project(_) => &[Role::Participant, Role::Mentor],
            Subject::Innovation(_) => &[Role::InnovationOfficer, Role::BridaOfficer],
        };
        require(&actor, writers, "upload evidence here")?;
        let name = short("name", &meta.name).map_err(domain)?;
        let config = self.evidence();
        let Some(media_type) = config.allowed(&meta.media_type) else {
            return Err(invalid(
                "media_type",
                format!(
                    "'{}' is not accepted here; accepted: {}",
                    meta.media_type,
                    config.media_types.join(", ")
                ),
            ));
        };
        let mut incoming = config.store.begin().await.map_err(store_failed)?;
        // The file's first bytes, to check them against the declared type.
        let mut head = Vec::with_capacity(crate::evidence::HEAD_BYTES);
        loop {
            let part = match parts.next().await.transpose() {
                Ok(Some(part)) => part,
                Ok(None) => break,
                Err(err) => {
                    incoming.abort().await;
                    return Err(err);
                }
            };
            let chunk = match part.part {
                Some(pb::upload_request::Part::Chunk(chunk)) => chunk,
                _ => {
                    incoming.abort().await;
                    return Err(invalid(
                        "chunk",
                        "after the metadata, send only chunks of the file",
                    ));
                }
            };
            if incoming.size() + chunk.len() as u64 > config.max_bytes {
                incoming.abort().await;
                return Err(Status::resource_exhausted(format!(
                    "the file is larger than this server accepts ({} bytes at most); send a smaller file or keep it elsewhere and record it with --link",
                    config.max_bytes
                )));
            }
            let room = crate::evidence::HEAD_BYTES - head.len();
            head.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if let Err(err) = incoming.write(&chunk).await {
                incoming.abort().await;
                return Err(store_failed(err));
            }
        }
        if incoming.size() == 0 {
            incoming.abort().await;
            return Err(invalid("chunk", "the file is empty"));
        }
        if let Err(why) = crate::evidence::content_agrees(&media_type, &head) {
            incoming.abort().await;
            return Err(invalid("media_type", why));
        }
        let stored = incoming.finish().await.map_err(store_failed)?;
        config
            .store
            .grant(&stored.sha256, &subject.key())
            .await
            .map_err(store_failed)?;
        tracing::info!(
            sha256 = %stored.sha256,
            size = stored.size,
            already = stored.already,
            "evidence file stored"
        );
        let attachment = Attachment::stored(
            "attachment",
            &stored.sha256,
            stored.size,
            &name,
            &media_type,
        )
        .map_err(domain)?;
        Ok(Response::new(pb::UploadResponse {
            attachment: Some(attachment_out(&attachment)),
            already_stored: stored.already,
        }))
    }
}

type DownloadStream = Pin<Box<dyn Stream<Item = Result<pb::DownloadResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::evidence_server::Evidence for App {
    type DownloadStream = DownloadStream;

    async fn upload(
        &self,
        request: Request<Streaming<pb::UploadRequest>>,
    ) -> Result<Response<pb::UploadResponse>, Status> {
        self.upload_from(request).await
    }

    async fn download(
        &self,
        request: Request<pb::DownloadRequest>,
    ) -> Result<Response<DownloadStream>, Status> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let file = r.file.trim();
        let sha256 = Attachment::stored_hash(file)
            .or_else(|| Attachment::stored_hash(&format!("{STORED_SCHEME}{file}")))
            .ok_or_else(|| {
                invalid(
                    "file",
                    "name a stored file as jejak:sha256/<64 hex digits> or its 64 hex digits",
                )
            })?;
        let subject = self
            .subject(&actor, &r.project_id, &r.innovation_id)
            .await?;
        let Some(attachment) = subject
            .attachments()
            .into_iter()
            .find(|a| !a.asserted && a.sha256 == sha256)
            .cloned()
        else {
            return Err(Status::not_found(format!(
                "no evidence recorded there names the stored file {STORED_SCHEME}{sha256}"
            )));
        };
        // A participant's files are theirs: a download by anyone else is
        // on the record of reads their privacy report shows (ADR 0022).
        if let Subject::Project(state) = &subject
            && let Some(participant) = state.participant()
        {
            self.record_reads(
                &actor,
                vec![participant.person.to_string()],
                "evidence",
                "Evidence.Download",
            )
            .await;
        }
        let content = self
            .evidence()
            .store
            .read(&sha256)
            .await
            .map_err(store_failed)?;
        let (out, stream) = outbox(self.limits(), self.watches(), None);
        tokio::spawn(async move {
            let first = pb::DownloadResponse {
                attachment: Some(attachment_out(&attachment)),
                chunk: Vec::new(),
            };
            if out.send(Ok(first)).await.is_err() {
                return;
            }
            let mut content = Box::pin(content);
            while let Some(bytes) = content.next().await {
                let bytes = match bytes {
                    Ok(bytes) => bytes,
                    Err(err) => {
                        let _ = out.send(Err(store_failed(err))).await;
                        return;
                    }
                };
                for piece in bytes.chunks(CHUNK) {
                    let message = pb::DownloadResponse {
                        attachment: None,
                        chunk: piece.to_vec(),
                    };
                    if out.send(Ok(message)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn audit_files(
        &self,
        request: Request<pb::AuditFilesRequest>,
    ) -> Result<Response<pb::AuditFilesResponse>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, &[Role::Auditor], "audit the stored files")?;
        let store = self.engine().store();
        // Every stored file the log names, with where it is first named.
        let mut named: BTreeMap<String, pb::FileFinding> = BTreeMap::new();
        let mut after = 0;
        loop {
            let batch = store.read_all(after, AUDIT_BATCH).await.map_err(status)?;
            let Some(last) = batch.last() else { break };
            after = last.position;
            for event in &batch {
                let Ok(payload) = serde_json::from_str::<serde_json::Value>(&event.payload) else {
                    continue;
                };
                stored_in(&payload, &mut |sha256, uri, name| {
                    named
                        .entry(sha256.to_owned())
                        .or_insert_with(|| pb::FileFinding {
                            sha256: sha256.to_owned(),
                            uri: uri.to_owned(),
                            name: name.to_owned(),
                            problem: 0,
                            actual_sha256: String::new(),
                            stream_id: event.stream_id.to_string(),
                            position: event.position,
                        });
                });
            }
        }
        let checked = named.len() as u64;
        let mut findings = Vec::new();
        for (sha256, mut finding) in named {
            match self
                .evidence()
                .store
                .rehash(&sha256)
                .await
                .map_err(store_failed)?
            {
                Some(actual) if actual == sha256 => continue,
                Some(actual) => {
                    finding.problem = pb::FileProblem::Altered as i32;
                    finding.actual_sha256 = actual;
                }
                None => finding.problem = pb::FileProblem::Missing as i32,
            }
            findings.push(finding);
        }
        Ok(Response::new(pb::AuditFilesResponse {
            checked,
            intact: checked - findings.len() as u64,
            findings,
            position: after,
        }))
    }
}

/// Calls `found(sha256, uri, name)` for every attachment in `value` that
/// names a stored file.
fn stored_in(value: &serde_json::Value, found: &mut impl FnMut(&str, &str, &str)) {
    match value {
        serde_json::Value::Object(map) => {
            if let (Some(uri), Some(name)) = (
                map.get("uri").and_then(|u| u.as_str()),
                map.get("name").and_then(|n| n.as_str()),
            ) && let Some(sha256) = Attachment::stored_hash(uri)
            {
                found(&sha256, uri, name);
                return;
            }
            map.values().for_each(|v| stored_in(v, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| stored_in(v, found)),
        _ => {}
    }
}
