use std::pin::Pin;

use futures::Stream;
use jejak_engine::domain::change_project::ChangeProject;
use jejak_engine::domain::cohort::Cohort;
use jejak_engine::domain::innovation::Innovation;
use jejak_engine::domain::{Actor, Aggregate, Role};
use jejak_engine::engine::stream_of;
use jejak_engine::store::{BreakKind, Digest, Direction, RecordedEvent};
use jejak_proto::v1 as pb;
use serde::Serialize;
use tonic::{Request, Response, Status};

use super::require;
use crate::App;
use crate::convert::{from_timestamp, min_position, timestamp};
use crate::error::{invalid, status};
use crate::limits::{Slot, outbox};

/// An event as the wire carries it.
pub fn event_out(e: RecordedEvent) -> pb::Event {
    pb::Event {
        position: e.position,
        event_id: e.event_id.to_string(),
        stream_id: e.stream_id.to_string(),
        stream_type: e.stream_type,
        stream_version: e.stream_version,
        event_type: e.event_type,
        event_version: e.event_version,
        payload_json: e.payload,
        metadata_json: e.metadata,
        recorded_at: Some(timestamp(e.recorded_at)),
        prev_hash: hex::encode(e.prev_hash),
        hash: hex::encode(e.hash),
        opened_json: String::new(),
    }
}

fn digest_out(d: Digest) -> pb::Digest {
    pb::Digest {
        position: d.position,
        hash: hex::encode(d.hash),
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

/// Events a log stream reads at a time.
const LOG_BATCH: usize = 128;

/// Events a follow reads at a time: a follow may wait on a client that
/// does not read, and holds one batch while it waits (hundreds of them
/// would otherwise hold a hundred kilobytes each beside their buffers).
const FOLLOW_BATCH: usize = 16;

const AUDITORS: &[Role] = &[Role::Auditor];

impl App {
    async fn state_at<A: Aggregate>(
        &self,
        id: &str,
        version: u64,
        at: Option<&prost_types::Timestamp>,
        effective: bool,
        lifecycle: impl Fn(&A::State) -> Option<String>,
    ) -> Result<pb::StateAt, Status>
    where
        A::State: Serialize,
    {
        let stream = stream_of::<A>(id).map_err(status)?;
        let (state, version) = match (version, at) {
            (0, Some(at)) if effective => self
                .engine()
                .state_at_effective_time::<A>(&stream, from_timestamp("at", at)?)
                .await
                .map_err(status)?,
            (0, Some(at)) => self
                .engine()
                .state_at_time::<A>(&stream, from_timestamp("at", at)?)
                .await
                .map_err(status)?,
            (0, None) => return Err(invalid("version", "give a stream version or a moment (at)")),
            (_, None) if effective => {
                return Err(invalid(
                    "effective",
                    "is a way of reading a moment: give `at` with it",
                ));
            }
            (v, None) => {
                let current = self
                    .engine()
                    .store()
                    .stream_version(&stream)
                    .await
                    .map_err(status)?
                    .unwrap_or(0);
                if current == 0 {
                    return Err(Status::not_found(format!(
                        "{} {id} does not exist",
                        A::LABEL
                    )));
                }
                if v > current {
                    return Err(invalid(
                        "version",
                        format!("{v} is past the stream's version {current}"),
                    ));
                }
                (
                    self.engine()
                        .state_at_version::<A>(&stream, v)
                        .await
                        .map_err(status)?,
                    v,
                )
            }
            (_, Some(_)) => {
                return Err(invalid("at", "give a stream version or a moment, not both"));
            }
        };
        Ok(pb::StateAt {
            stream_id: stream.to_string(),
            version,
            lifecycle: lifecycle(&state).unwrap_or_default(),
            state_json: serde_json::to_string(&state)
                .map_err(|e| Status::internal(e.to_string()))?,
        })
    }

    /// A full export's `opened_json` of `event`: its payload with each
    /// sealed participant and each proposal's sealed names opened, when it
    /// seals any; each read recorded.
    async fn open_for_export(&self, auditor: &Actor, event: &mut pb::Event) -> Result<(), Status> {
        use jejak_engine::privacy::fields;
        if !fields::carries_personal(&event.event_type) {
            return Ok(());
        }
        let Ok(mut payload) = serde_json::from_str::<serde_json::Value>(&event.payload_json) else {
            return Ok(());
        };
        let names = fields::sealed_names_in(&payload);
        if fields::sealed_in(&payload).is_empty() && names.is_empty() {
            return Ok(());
        }
        let privacy = self.engine().privacy();
        let opened = privacy
            .with_keys(false, |keys| {
                let mut payload = payload.clone();
                fields::open_tree(&mut payload, keys).map(|()| payload)
            })
            .await
            .map_err(status)?
            .map_err(|e| status(jejak_engine::engine::CommandError::from(e)))?;
        payload = opened;
        event.opened_json = payload.to_string();
        let people = fields::opened_in(&payload);
        self.record_reads(
            auditor,
            people,
            super::PARTICIPANT_FIELDS,
            "Audit.ReadLog (full export)",
        )
        .await;
        let mut owners = Vec::new();
        for sealed in names {
            if !privacy.is_erased(&sealed.person).await.map_err(status)? {
                owners.push(sealed.person);
            }
        }
        self.record_reads(
            auditor,
            owners,
            super::PROPOSAL_NAMES,
            "Audit.ReadLog (full export)",
        )
        .await;
        Ok(())
    }

    /// The log after `after` as a stream; a follow (`slot`) goes on with
    /// what is appended. The client's pace sets the producer's, within the
    /// server's limits (`crate::limits::outbox`).
    fn stream_log(&self, after: u64, slot: Option<Slot>, full: Option<Actor>) -> EventStream {
        let store = self.engine().store().clone();
        let app = self.clone();
        let follow = slot.is_some();
        let (out, stream) = outbox(app.limits(), app.watches(), slot);
        tokio::spawn(async move {
            let end = if follow {
                u64::MAX
            } else {
                store
                    .known_head()
                    .max(store.digest().await.map(|d| d.position).unwrap_or(0))
            };
            // Read in small batches: a stream waiting for its client holds
            // one batch, not a thousand events.
            let batch_size = if follow { FOLLOW_BATCH } else { LOG_BATCH };
            let mut subscription = store.subscribe(after);
            let mut head = store.watch_head();
            while subscription.position() < end {
                head.borrow_and_update();
                let batch = tokio::select! {
                    batch = subscription.next_batch(batch_size) => batch,
                    () = out.closed() => return,
                    () = app.closing() => return,
                };
                let events = match batch {
                    Ok(events) => events,
                    Err(err) => {
                        // An error ends the stream (the client sees it last).
                        let _ = out.send(Err(status(err))).await;
                        return;
                    }
                };
                if events.is_empty() {
                    if !follow {
                        return;
                    }
                    // Caught up: wait for an append (other processes'
                    // reach the head by notification, or by this poll).
                    let poll = store.config().poll_interval;
                    tokio::select! {
                        _ = tokio::time::timeout(poll, head.changed()) => {}
                        () = out.closed() => return,
                        () = app.closing() => return,
                    }
                    continue;
                }
                for event in events {
                    if event.position > end {
                        return;
                    }
                    let mut wire = event_out(event);
                    if let Some(auditor) = &full
                        && let Err(err) = app.open_for_export(auditor, &mut wire).await
                    {
                        let _ = out.send(Err(err)).await;
                        return;
                    }
                    let sent = tokio::select! {
                        sent = out.send(Ok(wire)) => sent,
                        () = app.closing() => return,
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            }
        });
        Box::pin(stream)
    }
}

#[tonic::async_trait]
impl pb::audit_server::Audit for App {
    type ReadLogStream = EventStream;
    type FollowLogStream = EventStream;

    async fn read_stream(
        &self,
        request: Request<pb::ReadStreamRequest>,
    ) -> Result<Response<pb::ReadStreamResponse>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, AUDITORS, "read streams")?;
        let r = request.into_inner();
        let stream = self
            .engine()
            .stream_named(&r.stream_id)
            .await
            .map_err(status)?;
        let limit = match r.limit {
            0 => 500,
            n @ 1..=500 => n as usize,
            n => return Err(invalid("limit", format!("{n} is above 500"))),
        };
        let store = self.engine().store();
        let events = store
            .read_stream(
                &stream,
                Direction::Forward,
                Some(r.from_version.max(1)),
                limit,
            )
            .await
            .map_err(status)?;
        let stream_version = store
            .stream_version(&stream)
            .await
            .map_err(status)?
            .unwrap_or(0);
        Ok(Response::new(pb::ReadStreamResponse {
            events: events.into_iter().map(event_out).collect(),
            stream_version,
        }))
    }

    async fn read_log(
        &self,
        request: Request<pb::ReadLogRequest>,
    ) -> Result<Response<Self::ReadLogStream>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, AUDITORS, "read the log")?;
        let r = request.into_inner();
        let full = if r.full_reason.trim().is_empty() {
            None
        } else {
            // Recorded before anything is opened: who, when, why.
            let ctx = jejak_engine::engine::Context::new(
                actor.clone(),
                format!("full-export-{}", uuid::Uuid::now_v7()),
            );
            self.engine()
                .record_full_export(&ctx, &r.full_reason, r.after_position)
                .await
                .map_err(status)?;
            Some(actor)
        };
        Ok(Response::new(self.stream_log(r.after_position, None, full)))
    }

    async fn follow_log(
        &self,
        request: Request<pb::ReadLogRequest>,
    ) -> Result<Response<Self::FollowLogStream>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, AUDITORS, "follow the log")?;
        let slot = self.watches().open(&actor.id)?;
        if !request.get_ref().full_reason.trim().is_empty() {
            return Err(invalid(
                "full_reason",
                "a full export is read with ReadLog, not followed",
            ));
        }
        Ok(Response::new(self.stream_log(
            request.get_ref().after_position,
            Some(slot),
            None,
        )))
    }

    async fn get_state_at(
        &self,
        request: Request<pb::GetStateAtRequest>,
    ) -> Result<Response<pb::StateAt>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, AUDITORS, "read past states")?;
        let r = request.into_inner();
        let at = r.at.as_ref();
        let state = match pb::StreamKind::try_from(r.kind).unwrap_or(pb::StreamKind::Unspecified) {
            pb::StreamKind::ChangeProject => {
                let id = self.project_id(&r.id).await?;
                self.state_at::<ChangeProject>(id.as_str(), r.version, at, r.effective, |s| {
                    s.lifecycle.clone()
                })
                .await?
            }
            pb::StreamKind::Innovation => {
                self.state_at::<Innovation>(&r.id, r.version, at, r.effective, |s| {
                    s.lifecycle.clone()
                })
                .await?
            }
            pb::StreamKind::Cohort => {
                self.state_at::<Cohort>(&r.id, r.version, at, r.effective, |_| None)
                    .await?
            }
            pb::StreamKind::Unspecified => {
                return Err(invalid(
                    "kind",
                    "is required: CHANGE_PROJECT, INNOVATION or COHORT",
                ));
            }
        };
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&state.state_json) {
            let people = jejak_engine::privacy::fields::opened_in(&value);
            // A project's state holds its proposal, whose team and
            // stakeholder names are sealed with the participant's key.
            let what = if r.kind == pb::StreamKind::ChangeProject as i32 {
                super::PROJECT_FIELDS
            } else {
                super::PARTICIPANT_FIELDS
            };
            self.record_reads(&actor, people, what, "Audit.GetStateAt")
                .await;
        }
        Ok(Response::new(state))
    }

    async fn verify(
        &self,
        request: Request<pb::VerifyRequest>,
    ) -> Result<Response<pb::VerifyResponse>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, AUDITORS, "verify the log")?;
        let r = request.into_inner();
        let digest = match &r.digest {
            Some(d) => Some(
                Digest::parse(&format!("{}:{}", d.position, d.hash))
                    .map_err(|_| invalid("digest", "needs a position and a 64-digit hex hash"))?,
            ),
            None => None,
        };
        let to = (r.to_position > 0).then_some(r.to_position);
        let report = self
            .engine()
            .store()
            .verify(r.from_position.max(1), to, digest)
            .await
            .map_err(status)?;
        let bad_snapshots = self
            .engine()
            .store()
            .check_snapshots()
            .await
            .map_err(status)?;
        let (break_position, break_kind, mut message) = match report.first_break {
            None => (0, pb::BreakKind::Unspecified, report.summary()),
            Some(b) => (
                b.position,
                match b.kind {
                    BreakKind::Missing => pb::BreakKind::Missing,
                    BreakKind::ContentChanged => pb::BreakKind::ContentChanged,
                    BreakKind::LinkBroken => pb::BreakKind::LinkBroken,
                    BreakKind::DigestMismatch => pb::BreakKind::DigestMismatch,
                    BreakKind::LogShorterThanDigest => pb::BreakKind::LogShorterThanDigest,
                    BreakKind::TimeWentBack => pb::BreakKind::TimeWentBack,
                    BreakKind::VersionOutOfOrder => pb::BreakKind::VersionOutOfOrder,
                    BreakKind::RequestUnmatched => pb::BreakKind::RequestUnmatched,
                    BreakKind::Unsealed => pb::BreakKind::Unsealed,
                    BreakKind::TreeMismatch => pb::BreakKind::TreeMismatch,
                },
                b.to_string(),
            ),
        };
        if !bad_snapshots.is_empty() {
            message.push_str(&format!(
                "; {} snapshot(s) do not match the log and are ignored",
                bad_snapshots.len()
            ));
        }
        Ok(Response::new(pb::VerifyResponse {
            bad_snapshots: bad_snapshots
                .into_iter()
                .map(|b| pb::BadSnapshot {
                    reason: b.fault.to_string(),
                    stream_id: b.stream_id,
                    stream_version: b.stream_version,
                    position: b.position,
                })
                .collect(),
            intact: report.first_break.is_none(),
            from_position: report.from,
            to_position: report.to,
            checked: report.checked,
            digest: Some(digest_out(report.digest)),
            break_position,
            break_kind: break_kind as i32,
            message,
            sealed_to: report.sealed_to.unwrap_or(0),
            tree_root: report.tree_root.map(hex::encode).unwrap_or_default(),
        }))
    }

    async fn get_digest(
        &self,
        request: Request<pb::GetDigestRequest>,
    ) -> Result<Response<pb::Digest>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, AUDITORS, "read the digest")?;
        Ok(Response::new(digest_out(
            self.engine().store().digest().await.map_err(status)?,
        )))
    }

    async fn get_activity(
        &self,
        request: Request<pb::GetActivityRequest>,
    ) -> Result<Response<pb::GetActivityResponse>, Status> {
        let actor = self.actor(&request)?;
        let mut r = request.into_inner();
        if actor.id != r.actor_id {
            require(&actor, AUDITORS, "read another person's activity")?;
        }
        // A participant is an actor by their person id; an auditor may name
        // them by NIP.
        if let Ok(nip) = jejak_engine::domain::values::Nip::parse(&r.actor_id) {
            r.actor_id = self
                .engine()
                .store()
                .find_person(&nip)
                .await
                .map_err(status)?
                .map(|person| person.to_string())
                .unwrap_or_default();
        }
        let limit = match r.limit {
            0 => 100,
            n @ 1..=500 => n as usize,
            n => return Err(invalid("limit", format!("{n} is above 500"))),
        };
        let rows = self
            .views()
            .activity(
                &r.actor_id,
                r.after_position,
                limit,
                min_position(r.min_position),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetActivityResponse {
            entries: rows
                .into_iter()
                .map(|a| pb::ActivityEntry {
                    position: a.position,
                    recorded_at: Some(timestamp(a.recorded_at)),
                    actor_id: a.actor_id,
                    actor_role: a.actor_role,
                    stream_id: a.stream_id,
                    event_type: a.event_type,
                })
                .collect(),
        }))
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::SignedCheckpoint>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, AUDITORS, "read the checkpoint")?;
        Ok(Response::new(
            super::proofs::checkpoint(self.engine().store()).await?,
        ))
    }

    async fn prove_inclusion(
        &self,
        request: Request<pb::ProveInclusionRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, AUDITORS, "ask for proofs")?;
        Ok(Response::new(
            super::proofs::inclusion(self.engine().store(), request.into_inner()).await?,
        ))
    }

    async fn prove_consistency(
        &self,
        request: Request<pb::ProveConsistencyRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, AUDITORS, "ask for proofs")?;
        Ok(Response::new(
            super::proofs::consistency(self.engine().store(), request.into_inner()).await?,
        ))
    }

    async fn read_seals(
        &self,
        request: Request<pb::ReadSealsRequest>,
    ) -> Result<Response<pb::ReadSealsResponse>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, AUDITORS, "read the seals")?;
        Ok(Response::new(
            super::proofs::seals(self.engine().store(), request.into_inner()).await?,
        ))
    }
}
