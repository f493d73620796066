//! `jejak demo` through a running server (ADR 0030): each of the demo's
//! commands is sent as its RPC, in the name of the role that would do it
//! (the organizer opens and enrols, the participant proposes, the mentor
//! approves…), with a short-lived token of that role minted with the
//! server's token secret and the claim `backdate`, and the header
//! `x-jejak-occurred-at` saying when it happened. The server decides each
//! as it would any other write: the same authorization, the same deciders,
//! its own process managers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jejak_engine::domain::change_project::{
    Agreement, ChangeProject, MilestonePlan, ProjectCommand as P, Proposal,
};
use jejak_engine::domain::cohort::{Cohort, CohortCommand};
use jejak_engine::domain::innovation::{Form, Innovation, InnovationCommand as I, Source};
use jejak_engine::domain::units::{Units, UnitsCommand};
use jejak_engine::domain::values::{
    Attachment, Horizon, Level3, Nip, PersonId, Rating, TrainingLevel,
};
use jejak_engine::domain::{Actor, Aggregate};
use jejak_proto::v1 as pb;
use jejak_proto::{Authed, Bearer};
use jejak_server::Keys;
use jejak_server::auth::{Grant, OCCURRED_AT_HEADER};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::client::Failure;

/// How long a token minted for one role of the demo lives: the whole run
/// takes a minute or two.
const TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// A running server the demo writes through.
pub struct Remote {
    /// Its address, as given.
    pub server: String,
    channel: Channel,
    keys: Keys,
    /// One token per actor, minted on first use.
    bearers: Mutex<HashMap<(String, &'static str), Bearer>>,
}

/// What the server answered a command.
pub enum Sent {
    /// Written, or already written by an earlier run (`true`).
    Written { duplicate: bool },
    /// Refused by the domain or the rules: the reason.
    Refused(String),
}

impl Remote {
    /// The server at `server`, with the token secret it checks tokens with.
    pub fn new(server: &str, keys: Keys) -> Result<Self, Failure> {
        Ok(Self {
            server: server.to_owned(),
            channel: crate::client::channel(server)?,
            keys,
            bearers: Mutex::new(HashMap::new()),
        })
    }

    /// A client channel speaking as `actor`: a backdating token of their
    /// role and subject (ADR 0030), made once.
    fn authed(&self, actor: &Actor) -> Authed {
        let mut bearers = self
            .bearers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bearer = bearers
            .entry((actor.id.clone(), actor.role.as_str()))
            .or_insert_with(|| {
                let issued = self.keys.issue_backdating_token(&Grant {
                    subject: &actor.id,
                    nip: None,
                    role: actor.role,
                    opd: actor.opd.as_ref(),
                    provider: actor.provider.as_deref(),
                    ttl: TOKEN_TTL,
                });
                Bearer::new(Some(&issued.token)).expect("a token is plain text")
            })
            .clone();
        InterceptedService::new(self.channel.clone(), bearer)
    }

    /// A request that happened at `at` (`None`: now).
    fn request<T>(at: Option<DateTime<Utc>>, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(at) = at {
            let value = at
                .to_rfc3339()
                .parse()
                .expect("an RFC 3339 time is a header value");
            request.metadata_mut().insert(OCCURRED_AT_HEADER, value);
        }
        request
    }

    /// Sends `command` on stream `id` of aggregate `A` as `actor`, with
    /// request id `request_id`, happening at `at`.
    pub async fn send<A: Wire>(
        &self,
        id: &str,
        actor: &Actor,
        request_id: String,
        at: Option<DateTime<Utc>>,
        command: A::Command,
    ) -> anyhow::Result<Sent> {
        let call = Call {
            remote: self,
            actor,
            at,
        };
        match A::send(call, id, request_id, command).await {
            Ok(written) => Ok(Sent::Written {
                duplicate: written.duplicate,
            }),
            Err(status) => refused(status).map(Sent::Refused),
        }
    }

    /// The person id the server gave the participant with `nip` when they
    /// were enrolled in `cohort`.
    pub async fn person(
        &self,
        organizer: &Actor,
        nip: &Nip,
        cohort: &str,
    ) -> anyhow::Result<PersonId> {
        let mut client = pb::cohorts_client::CohortsClient::new(self.authed(organizer));
        let found = client
            .find_participant(pb::FindParticipantRequest {
                nip: nip.as_str().to_owned(),
                cohort_id: cohort.to_owned(),
            })
            .await
            .map_err(|status| anyhow::anyhow!("{}", Failure::from(status)))?
            .into_inner();
        Ok(PersonId::parse(&found.person_id)?)
    }

    /// Waits until the register shows each of `ids`: the server's process
    /// managers register an adopted project's innovation after the
    /// adoption is written, and the demo moves those innovations along.
    pub async fn await_innovations(&self, reader: &Actor, ids: &[String]) -> anyhow::Result<()> {
        let mut client = pb::innovations_client::InnovationsClient::new(self.authed(reader));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        for id in ids {
            loop {
                let asked = client
                    .get_innovation(pb::GetInnovationRequest {
                        innovation_id: id.clone(),
                        ..Default::default()
                    })
                    .await;
                match asked {
                    Ok(_) => break,
                    Err(status) if status.code() == Code::NotFound => {
                        anyhow::ensure!(
                            tokio::time::Instant::now() < deadline,
                            "the server at {} has not registered the adopted projects' \
                             innovations within a minute; check that it runs its process \
                             managers (jejak admin status)",
                            self.server
                        );
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(status) => anyhow::bail!("{}", Failure::from(status)),
                }
            }
        }
        Ok(())
    }

    /// The log's head as the server's auditor reads it.
    pub async fn digest(&self, auditor: &Actor) -> anyhow::Result<String> {
        let mut client = pb::audit_client::AuditClient::new(self.authed(auditor));
        let digest = client
            .get_digest(pb::GetDigestRequest::default())
            .await
            .map_err(|status| anyhow::anyhow!("{}", Failure::from(status)))?
            .into_inner();
        Ok(format!("{}:{}", digest.position, digest.hash))
    }
}

/// A status that means "refused" (the demo counts it and goes on), or the
/// error that stops the demo: the server cannot be reached, did not accept
/// the demo's tokens, or failed.
fn refused(status: Status) -> anyhow::Result<String> {
    match status.code() {
        Code::FailedPrecondition
        | Code::InvalidArgument
        | Code::AlreadyExists
        | Code::NotFound
        | Code::PermissionDenied
        | Code::Aborted => Ok(status.message().to_owned()),
        Code::Unauthenticated => anyhow::bail!(
            "the server did not accept the demo's tokens ({}): run the demo with the server's \
             data folder (--data-dir) or its token secret (--token-secret-file), which it mints \
             them with",
            status.message()
        ),
        _ => Err(anyhow::anyhow!("{}", Failure::from(status))),
    }
}

/// One command's call: who sends it and when it happened.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    remote: &'a Remote,
    actor: &'a Actor,
    at: Option<DateTime<Utc>>,
}

impl Call<'_> {
    fn channel(&self) -> Authed {
        self.remote.authed(self.actor)
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        Remote::request(self.at, message)
    }
}

/// The result of one RPC.
type Answer = Result<pb::WriteResult, Status>;

/// An aggregate whose commands the demo sends as RPCs.
pub trait Wire: Aggregate {
    /// Sends `command` as its RPC.
    fn send(
        call: Call<'_>,
        id: &str,
        request_id: String,
        command: Self::Command,
    ) -> impl Future<Output = Answer> + Send;
}

/// A command the demo never sends.
fn unsent(what: &str) -> Answer {
    Err(Status::unimplemented(format!(
        "the demo does not send {what} through a server"
    )))
}

impl Wire for Units {
    async fn send(call: Call<'_>, _id: &str, request_id: String, command: UnitsCommand) -> Answer {
        let UnitsCommand::Add(unit) = command else {
            return unsent("a unit's change");
        };
        let request = call.request(pb::AddUnitRequest {
            request_id,
            unit: Some(pb::Unit {
                code: unit.code.to_string(),
                name: unit.name,
                kind: unit.kind.as_str().to_owned(),
                parent: unit.parent.map(|p| p.to_string()).unwrap_or_default(),
            }),
        });
        let mut client = pb::admin_client::AdminClient::new(call.channel());
        Ok(client.add_unit(request).await?.into_inner())
    }
}

impl Wire for Cohort {
    async fn send(call: Call<'_>, id: &str, request_id: String, command: CohortCommand) -> Answer {
        let mut client = pb::cohorts_client::CohortsClient::new(call.channel());
        match command {
            CohortCommand::Open {
                level,
                provider,
                year,
                number,
                starts_on,
                ends_on,
                workflow,
                workflow_version,
                ..
            } => {
                let request = call.request(pb::OpenCohortRequest {
                    request_id,
                    cohort_id: id.to_owned(),
                    level: training_level_out(level),
                    provider,
                    year,
                    number,
                    starts_on: starts_on.to_string(),
                    ends_on: ends_on.to_string(),
                    workflow: workflow.unwrap_or_default(),
                    expected_version: None,
                    workflow_version: workflow_version.unwrap_or_default(),
                });
                Ok(client.open_cohort(request).await?.into_inner())
            }
            CohortCommand::Enrol(enrollment) => {
                let p = enrollment.participant;
                let request = call.request(pb::EnrolParticipantRequest {
                    request_id,
                    cohort_id: id.to_owned(),
                    participant: Some(pb::ParticipantInfo {
                        nip: p.nip.as_str().to_owned(),
                        name: p.name,
                        position: p.position,
                        opd: p.opd.to_string(),
                    }),
                    mentor: enrollment.mentor,
                    coach: enrollment.coach,
                    examiners: enrollment.examiners,
                    expected_version: None,
                });
                Ok(client.enrol_participant(request).await?.into_inner())
            }
            _ => unsent("this cohort command"),
        }
    }
}

impl Wire for ChangeProject {
    async fn send(call: Call<'_>, id: &str, request_id: String, command: P) -> Answer {
        let project_id = id.to_owned();
        let action = |note: String| pb::ProjectAction {
            request_id: request_id.clone(),
            project_id: project_id.clone(),
            note,
            expected_version: None,
        };
        let reason = |reason: String| pb::ReasonRequest {
            request_id: request_id.clone(),
            project_id: project_id.clone(),
            reason,
            expected_version: None,
        };
        let decision = |milestone: String, reason: String| pb::MilestoneDecision {
            request_id: request_id.clone(),
            project_id: project_id.clone(),
            milestone_id: milestone,
            reason,
            expected_version: None,
        };
        let projects = || pb::change_projects_client::ChangeProjectsClient::new(call.channel());
        let mentoring = || pb::mentoring_client::MentoringClient::new(call.channel());
        let seminars = || pb::seminars_client::SeminarsClient::new(call.channel());
        let written = match command {
            P::Propose {
                cohort, proposal, ..
            } => {
                projects()
                    .propose(call.request(pb::ProposeRequest {
                        request_id: request_id.clone(),
                        cohort_id: cohort.cohort_id.to_string(),
                        proposal: Some(proposal_out(proposal)),
                        expected_version: None,
                    }))
                    .await?
            }
            P::AgreeChangeArea => {
                mentoring()
                    .agree_change_area(call.request(action(String::new())))
                    .await?
            }
            P::ApproveActionPlan { note } => {
                mentoring()
                    .approve_action_plan(call.request(action(note)))
                    .await?
            }
            P::Comment { text } => projects().comment(call.request(action(text))).await?,
            P::RecordProposalSeminar { accepted, notes } => {
                seminars()
                    .record_proposal_seminar(call.request(pb::ProposalSeminarRequest {
                        request_id: request_id.clone(),
                        project_id: project_id.clone(),
                        accepted,
                        notes,
                        expected_version: None,
                    }))
                    .await?
            }
            P::Withdraw { reason: why } => projects().withdraw(call.request(reason(why))).await?,
            P::StartWorkplacePhase => {
                pb::cohorts_client::CohortsClient::new(call.channel())
                    .start_workplace_phase(call.request(action(String::new())))
                    .await?
            }
            P::SubmitEvidence {
                milestone_id,
                attachments,
                note,
            } => {
                projects()
                    .submit_evidence(call.request(pb::SubmitEvidenceRequest {
                        request_id: request_id.clone(),
                        project_id: project_id.clone(),
                        milestone_id: milestone_id.to_string(),
                        attachments: attachments.into_iter().map(attachment_out).collect(),
                        note,
                        expected_version: None,
                    }))
                    .await?
            }
            P::ReturnMilestone {
                milestone_id,
                reason,
            } => {
                mentoring()
                    .return_milestone(call.request(decision(milestone_id.to_string(), reason)))
                    .await?
            }
            P::ApproveMilestone { milestone_id, note } => {
                mentoring()
                    .approve_milestone(call.request(decision(milestone_id.to_string(), note)))
                    .await?
            }
            P::SubmitFinalReport {
                summary,
                attachments,
            } => {
                projects()
                    .submit_final_report(call.request(pb::SubmitFinalReportRequest {
                        request_id: request_id.clone(),
                        project_id: project_id.clone(),
                        summary,
                        attachments: attachments.into_iter().map(attachment_out).collect(),
                        expected_version: None,
                    }))
                    .await?
            }
            P::DeferGraduation { reason: why } => {
                seminars()
                    .defer_graduation(call.request(reason(why)))
                    .await?
            }
            P::RecordFinalSeminar {
                ratings,
                score,
                notes,
            } => {
                seminars()
                    .record_final_seminar(
                        call.request(pb::FinalSeminarRequest {
                            request_id: request_id.clone(),
                            project_id: project_id.clone(),
                            ratings: ratings
                                .into_iter()
                                .map(|r| pb::TargetRating {
                                    milestone_id: r.milestone_id.to_string(),
                                    rating: rating_out(r.rating),
                                })
                                .collect(),
                            score: u32::from(score),
                            notes,
                            expected_version: None,
                        }),
                    )
                    .await?
            }
            P::SetGrade { grade } => {
                seminars()
                    .set_grade(call.request(pb::SetGradeRequest {
                        request_id: request_id.clone(),
                        project_id: project_id.clone(),
                        grade: grade.label().to_owned(),
                        expected_version: None,
                    }))
                    .await?
            }
            P::EndorseAdoption { note } => {
                mentoring()
                    .endorse_adoption(call.request(action(note)))
                    .await?
            }
            P::RecordReplication(replication) => {
                mentoring()
                    .record_replication(call.request(pb::ProjectReplicationRequest {
                        request_id: request_id.clone(),
                        project_id: project_id.clone(),
                        adopter_opd: replication.adopter_opd.to_string(),
                        adopter_region: replication.adopter_region,
                        agreement: Some(agreement_out(replication.agreement)),
                        expected_version: None,
                    }))
                    .await?
            }
            _ => return unsent("this project command"),
        };
        Ok(written.into_inner())
    }
}

impl Wire for Innovation {
    async fn send(call: Call<'_>, id: &str, request_id: String, command: I) -> Answer {
        let innovation_id = id.to_owned();
        let dated = |on: chrono::NaiveDate, text: String| pb::DatedRequest {
            request_id: request_id.clone(),
            innovation_id: innovation_id.clone(),
            on: on.to_string(),
            text,
            expected_version: None,
        };
        let mut client = pb::innovations_client::InnovationsClient::new(call.channel());
        let written = match command {
            I::Register { profile, .. } => {
                client
                    .register_innovation(call.request(pb::RegisterInnovationRequest {
                        request_id: request_id.clone(),
                        innovation_id: innovation_id.clone(),
                        name: profile.name,
                        opd: profile.opd.to_string(),
                        unit: profile.unit.unwrap_or_default(),
                        region: profile.region,
                        source: source_out(profile.source),
                        initiator_type: profile.initiator_type,
                        form: form_out(profile.form),
                        digital: profile.digital,
                        sector: profile.sector,
                        sdgs: profile.sdgs.into_iter().map(u32::from).collect(),
                        goal: profile.goal,
                        benefit: profile.benefit,
                        budget: profile.budget.unwrap_or_default(),
                        expected_version: None,
                        legal_basis: profile.legal_basis.unwrap_or_default(),
                    }))
                    .await?
            }
            I::JudgeFeasibility { feasible, notes } => {
                client
                    .judge_feasibility(call.request(pb::JudgeFeasibilityRequest {
                        request_id: request_id.clone(),
                        innovation_id: innovation_id.clone(),
                        feasible,
                        notes,
                        expected_version: None,
                    }))
                    .await?
            }
            I::Designate {
                decree_number,
                decree_date,
            } => {
                client
                    .designate(call.request(pb::DesignateRequest {
                        request_id: request_id.clone(),
                        innovation_id: innovation_id.clone(),
                        decree_number,
                        decree_date: decree_date.to_string(),
                        expected_version: None,
                    }))
                    .await?
            }
            I::StartPilot { on } => {
                client
                    .start_pilot(call.request(dated(on, String::new())))
                    .await?
            }
            I::EvaluatePilot { on, evaluation } => {
                client
                    .evaluate_pilot(call.request(dated(on, evaluation)))
                    .await?
            }
            I::Implement { on, budget_line } => {
                client
                    .implement(call.request(dated(on, budget_line)))
                    .await?
            }
            I::MarkDormant { on, reason } => {
                client.mark_dormant(call.request(dated(on, reason))).await?
            }
            I::RecordReplication {
                adopter_opd,
                adopter_region,
                agreement,
            } => {
                client
                    .record_replication(call.request(pb::InnovationReplicationRequest {
                        request_id: request_id.clone(),
                        innovation_id: innovation_id.clone(),
                        adopter_opd: adopter_opd.to_string(),
                        adopter_region,
                        agreement: Some(agreement_out(agreement)),
                        expected_version: None,
                    }))
                    .await?
            }
            _ => return unsent("this innovation command"),
        };
        Ok(written.into_inner())
    }
}

fn proposal_out(p: Proposal) -> pb::Proposal {
    pb::Proposal {
        title: p.title,
        change_area: p.change_area,
        problem: p.problem,
        baseline: p.baseline,
        goal_short_term: p.goals.short_term,
        goal_medium_term: p.goals.medium_term,
        goal_long_term: p.goals.long_term,
        stakeholders: p
            .stakeholders
            .into_iter()
            .map(|s| pb::Stakeholder {
                name: s.name,
                internal: s.internal,
                influence: level_out(s.influence),
                interest: level_out(s.interest),
            })
            .collect(),
        team: p
            .team
            .into_iter()
            .map(|t| pb::TeamMember {
                name: t.name,
                role: t.role,
            })
            .collect(),
        milestones: p.milestones.into_iter().map(milestone_out).collect(),
    }
}

fn milestone_out(m: MilestonePlan) -> pb::MilestonePlan {
    pb::MilestonePlan {
        id: m.id.to_string(),
        horizon: (match m.horizon {
            Horizon::Short => pb::Horizon::Short,
            Horizon::Medium => pb::Horizon::Medium,
            Horizon::Long => pb::Horizon::Long,
        }) as i32,
        title: m.title,
        due: m.due.to_string(),
        expected_output: m.expected_output,
    }
}

fn training_level_out(level: TrainingLevel) -> i32 {
    use pb::TrainingLevel as L;
    (match level {
        TrainingLevel::PknI => L::PknI,
        TrainingLevel::PknII => L::PknIi,
        TrainingLevel::Pka => L::Pka,
        TrainingLevel::Pkp => L::Pkp,
        TrainingLevel::DiklatpimI => L::DiklatpimI,
        TrainingLevel::DiklatpimII => L::DiklatpimIi,
        TrainingLevel::DiklatpimIII => L::DiklatpimIii,
        TrainingLevel::DiklatpimIV => L::DiklatpimIv,
    }) as i32
}

fn level_out(level: Level3) -> i32 {
    (match level {
        Level3::Low => pb::Level::Low,
        Level3::Medium => pb::Level::Medium,
        Level3::High => pb::Level::High,
    }) as i32
}

fn rating_out(rating: Rating) -> i32 {
    (match rating {
        Rating::Below => pb::Rating::Below,
        Rating::Meets => pb::Rating::Meets,
        Rating::Exceeds => pb::Rating::Exceeds,
    }) as i32
}

fn source_out(source: Source) -> i32 {
    (match source {
        Source::ChangeProject => pb::Source::ChangeProject,
        Source::HealthCompetition => pb::Source::HealthCompetition,
        Source::InnovationLab => pb::Source::InnovationLab,
        Source::OpdInitiative => pb::Source::OpdInitiative,
        Source::Community => pb::Source::Community,
        Source::Dprd => pb::Source::Dprd,
        Source::RegionalHead => pb::Source::RegionalHead,
    }) as i32
}

fn form_out(form: Form) -> i32 {
    (match form {
        Form::Governance => pb::Form::Governance,
        Form::PublicService => pb::Form::PublicService,
        Form::Other => pb::Form::Other,
    }) as i32
}

fn attachment_out(a: Attachment) -> pb::Attachment {
    pb::Attachment {
        sha256: a.sha256,
        uri: a.uri,
        name: a.name,
        media_type: a.media_type,
        size: a.size,
        asserted: a.asserted,
    }
}

fn agreement_out(a: Agreement) -> pb::Agreement {
    pb::Agreement {
        kind: a.kind,
        number: a.number,
        signed_on: a.signed_on.to_string(),
        document: a.document.map(attachment_out),
    }
}
