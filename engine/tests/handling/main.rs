//! Command handling on a real (SQLite) log: idempotency, conflicts,
//! snapshots, time travel, workflow versions, process managers and timers.

use std::sync::Arc;

use chrono::{DateTime, TimeZone as _, Utc};
use jejak_engine::clock::{Clock as _, ManualClock, days};
use jejak_engine::domain::change_project::{
    ChangeProject, Goals, Grade, MilestonePlan, ProjectCommand as P, Proposal, TargetRating,
};
use jejak_engine::domain::cohort::{Cohort, CohortCommand, Enrollment, Participant};
use jejak_engine::domain::innovation::{Innovation, InnovationCommand as I, Origin, Source};
use jejak_engine::domain::values::{
    Attachment, CohortId, Horizon, InnovationId, MilestoneId, Nip, OpdCode, PersonId, Rating,
    TrainingLevel,
};
use jejak_engine::domain::{Actor, DomainError, Role};
use jejak_engine::engine::{CommandError, Context, Engine, EngineConfig, stream_of};
use jejak_engine::process::ProcessManagers;
use jejak_engine::store::{EventStore, StoreConfig};

const NIP: &str = "198703152010011003";
/// The participant's person id.
const PERSON: &str = "0192f5e4-7c1a-7b3e-9d2a-5f0c8e1b2a3d";

struct World {
    _dir: tempfile::TempDir,
    url: String,
    clock: Arc<ManualClock>,
    engine: Engine,
    n: std::cell::Cell<u32>,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("jejak.db").display());
    let clock = Arc::new(ManualClock::new(start()));
    let engine = open(&url, clock.clone()).await;
    World {
        _dir: dir,
        url,
        clock,
        engine,
        n: std::cell::Cell::new(0),
    }
}

async fn open(url: &str, clock: Arc<ManualClock>) -> Engine {
    let store = EventStore::open(url, StoreConfig::default()).await.unwrap();
    // Every engine of a test's log shares its master key, as the servers
    // of one deployment do.
    let config = EngineConfig {
        snapshot_every: 10,
        master_key: Some(jejak_engine::privacy::MasterKey::from_bytes(&[7; 32])),
        ..EngineConfig::default()
    };
    Engine::open_with(store, clock, config).await.unwrap()
}

fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn file() -> Attachment {
    Attachment::new(
        "attachments[0]",
        &"cd".repeat(32),
        "https://arsip.example/bukti.pdf",
        "bukti.pdf",
        "application/pdf",
    )
    .unwrap()
}

fn project_id() -> String {
    jejak_engine::domain::values::ProjectId::for_participant(
        &CohortId::parse("pka-2026-1").unwrap(),
        &PersonId::parse(PERSON).unwrap(),
    )
    .to_string()
}

impl World {
    fn ctx(&self, actor: Actor) -> Context {
        self.n.set(self.n.get() + 1);
        Context::new(actor, format!("req-{}", self.n.get()))
    }

    async fn project(
        &self,
        actor: Actor,
        body: P,
    ) -> Result<jejak_engine::engine::Outcome, CommandError> {
        self.engine
            .execute::<ChangeProject>(&project_id(), &self.ctx(actor), body)
            .await
    }

    async fn ok(&self, actor: Actor, body: P) {
        self.project(actor, body).await.unwrap();
    }

    async fn open_cohort(&self) {
        let open = CohortCommand::Open {
            cohort_id: CohortId::parse("pka-2026-1").unwrap(),
            level: TrainingLevel::Pka,
            provider: "BPSDM Provinsi Banten".into(),
            year: 2026,
            number: 1,
            starts_on: date(2026, 3, 1),
            ends_on: date(2026, 6, 30),
            workflow: None,
            workflow_version: None,
        };
        self.engine
            .execute::<Cohort>("pka-2026-1", &self.ctx(organizer()), open)
            .await
            .unwrap();
        let participant = Participant::new(
            PersonId::parse(PERSON).unwrap(),
            &Nip::parse(NIP).unwrap(),
            "Siti Rahmawati",
            "Kepala Bidang",
            "dpmptsp",
        )
        .unwrap();
        let enrollment =
            Enrollment::new(participant, "mentor-1", "coach-1", &["examiner-1".into()]).unwrap();
        self.engine
            .execute::<Cohort>(
                "pka-2026-1",
                &self.ctx(organizer()),
                CohortCommand::Enrol(enrollment),
            )
            .await
            .unwrap();
    }

    async fn propose(&self) {
        let cohort = self
            .engine
            .get::<Cohort>("pka-2026-1")
            .await
            .unwrap()
            .unwrap()
            .state;
        let enrollment = cohort.enrollments.values().next().unwrap().clone();
        let milestone = |id: &str, due| MilestonePlan {
            id: MilestoneId::parse(id).unwrap(),
            horizon: Horizon::Short,
            title: format!("Tahap {id}"),
            due,
            expected_output: "Notulen".into(),
        };
        let proposal = Proposal {
            title: "Antrian daring perizinan".into(),
            change_area: "Pelayanan perizinan".into(),
            problem: "Antrian panjang".into(),
            baseline: "3 jam".into(),
            goals: Goals {
                short_term: "Antrian daring di satu loket".into(),
                medium_term: String::new(),
                long_term: String::new(),
            },
            stakeholders: vec![],
            team: vec![],
            milestones: vec![
                milestone("m1", date(2026, 4, 15)),
                milestone("m2", date(2026, 5, 15)),
            ],
        };
        self.ok(
            participant(),
            P::Propose {
                cohort: cohort.facts.unwrap(),
                enrollment,
                proposal,
            },
        )
        .await;
    }

    /// Up to the workplace phase, where milestones come due.
    async fn to_workplace_phase(&self) {
        self.open_cohort().await;
        self.propose().await;
        self.ok(mentor(), P::AgreeChangeArea).await;
        self.ok(
            mentor(),
            P::ApproveActionPlan {
                note: String::new(),
            },
        )
        .await;
        self.ok(
            examiner(),
            P::RecordProposalSeminar {
                accepted: true,
                notes: String::new(),
            },
        )
        .await;
        self.ok(organizer(), P::StartWorkplacePhase).await;
    }

    /// Adopted, the process managers run once: the innovation the adoption
    /// registered, by its id.
    async fn adopted_innovation(
        &self,
    ) -> (
        InnovationId,
        jejak_engine::domain::innovation::InnovationState,
    ) {
        self.to_adoption().await;
        ProcessManagers::new(self.engine.clone())
            .run_once()
            .await
            .unwrap();
        let id = InnovationId::from_project(
            &jejak_engine::domain::values::ProjectId::parse(&project_id()).unwrap(),
        );
        let state = self
            .engine
            .get::<Innovation>(id.as_str())
            .await
            .unwrap()
            .expect("registered by the adoption")
            .state;
        (id, state)
    }

    async fn to_adoption(&self) {
        self.to_workplace_phase().await;
        for m in ["m1", "m2"] {
            let milestone_id = MilestoneId::parse(m).unwrap();
            self.ok(
                participant(),
                P::SubmitEvidence {
                    milestone_id: milestone_id.clone(),
                    attachments: vec![file()],
                    note: String::new(),
                },
            )
            .await;
            self.ok(
                mentor(),
                P::ApproveMilestone {
                    milestone_id,
                    note: String::new(),
                },
            )
            .await;
        }
        self.ok(
            participant(),
            P::SubmitFinalReport {
                summary: "Selesai".into(),
                attachments: vec![file()],
            },
        )
        .await;
        let ratings = ["m1", "m2"]
            .map(|m| TargetRating {
                milestone_id: MilestoneId::parse(m).unwrap(),
                rating: Rating::Meets,
            })
            .to_vec();
        self.ok(
            examiner(),
            P::RecordFinalSeminar {
                ratings,
                score: 85,
                notes: String::new(),
            },
        )
        .await;
        self.ok(
            organizer(),
            P::SetGrade {
                grade: Grade::Memuaskan,
            },
        )
        .await;
        self.ok(
            mentor(),
            P::EndorseAdoption {
                note: String::new(),
            },
        )
        .await;
    }
}

fn participant() -> Actor {
    Actor::new(PERSON, Role::Participant)
}
fn mentor() -> Actor {
    Actor::new("mentor-1", Role::Mentor)
}
fn examiner() -> Actor {
    Actor::new("examiner-1", Role::Examiner)
}
fn organizer() -> Actor {
    Actor::new("organizer-1", Role::Organizer)
}
fn operator() -> Actor {
    Actor::new("ops-1", Role::Admin)
}

#[tokio::test]
async fn a_command_returns_its_version_and_position_and_repeating_it_writes_nothing() {
    let w = world().await;
    w.open_cohort().await;
    w.propose().await;
    let ctx = w.ctx(mentor());
    let first = w
        .engine
        .execute::<ChangeProject>(&project_id(), &ctx, P::AgreeChangeArea)
        .await
        .unwrap();
    assert_eq!(first.events, ["ChangeAreaAgreed"]);
    assert_eq!(first.stream_version, 3);
    assert_eq!(
        first.position,
        w.engine.store().digest().await.unwrap().position
    );
    let again = w
        .engine
        .execute::<ChangeProject>(&project_id(), &ctx, P::AgreeChangeArea)
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(
        (again.stream_version, again.position),
        (first.stream_version, first.position)
    );
    let head = w.engine.store().digest().await.unwrap();
    // A repeated request id survives a restart.
    let reopened = open(&w.url, w.clock.clone()).await;
    let after = reopened
        .execute::<ChangeProject>(&project_id(), &ctx, P::AgreeChangeArea)
        .await
        .unwrap();
    assert!(after.duplicate);
    assert_eq!(reopened.store().digest().await.unwrap(), head);
    // Domain refusals name the thing.
    let err = w
        .engine
        .execute::<ChangeProject>("nobody", &w.ctx(mentor()), P::AgreeChangeArea)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Domain(DomainError::NotFound { ref id, .. }) if id == "nobody"),
        "{err}"
    );
}

#[tokio::test]
async fn concurrent_commands_on_one_stream_are_decided_again_on_the_fresh_state() {
    let w = world().await;
    w.open_cohort().await;
    w.propose().await;
    let comments = (0..8).map(|i| {
        let engine = w.engine.clone();
        async move {
            let ctx = Context::new(mentor(), format!("comment-{i}"));
            engine
                .execute::<ChangeProject>(
                    &project_id(),
                    &ctx,
                    P::Comment {
                        text: format!("Catatan {i}"),
                    },
                )
                .await
        }
    });
    let outcomes = futures::future::join_all(comments).await;
    let mut versions: Vec<u64> = outcomes
        .into_iter()
        .map(|o| o.unwrap().stream_version)
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (3..=10).collect::<Vec<_>>(),
        "all eight landed, one after another"
    );
}

#[tokio::test]
async fn a_state_kept_in_memory_is_decided_on_only_while_the_log_agrees() {
    let w = world().await;
    w.open_cohort().await;
    w.propose().await;
    let comment = || P::Comment {
        text: "Perjelas indikatornya".into(),
    };
    let first = w.project(mentor(), comment()).await.unwrap();
    assert!(w.engine.cached_states() > 0, "the project's state is kept");
    // Another process writes the stream: what this one keeps is stale.
    let other = open(&w.url, w.clock.clone()).await;
    let moved = other
        .execute::<ChangeProject>(
            &project_id(),
            &Context::new(mentor(), "elsewhere-1"),
            P::AgreeChangeArea,
        )
        .await
        .unwrap();
    assert_eq!(moved.stream_version, first.stream_version + 1);
    // The append's expected version finds it stale: decided again on the log.
    let next = w.project(mentor(), comment()).await.unwrap();
    assert_eq!(next.stream_version, moved.stream_version + 1);
    // A caller who saw the other process's write is not refused on the
    // stale state either: the log, read again, agrees with them.
    let moved = other
        .execute::<ChangeProject>(
            &project_id(),
            &Context::new(mentor(), "elsewhere-2"),
            comment(),
        )
        .await
        .unwrap();
    let ctx = w.ctx(mentor()).expecting(Some(moved.stream_version));
    let expected = w
        .engine
        .execute::<ChangeProject>(&project_id(), &ctx, comment())
        .await
        .unwrap();
    assert_eq!(expected.stream_version, moved.stream_version + 1);
    // Nothing to do, decided on a state the log confirms; and a repeat is
    // answered by the first result, the stream since moved on or not.
    let agreed = w.project(mentor(), P::AgreeChangeArea).await.unwrap();
    assert!(agreed.events.is_empty() && !agreed.duplicate);
    let again = w
        .engine
        .execute::<ChangeProject>(&project_id(), &ctx, comment())
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.stream_version, expected.stream_version);
    // Every state loaded from the log equals the kept one folded on.
    let stream = stream_of::<ChangeProject>(&project_id()).unwrap();
    let loaded = w.engine.load::<ChangeProject>(&stream).await.unwrap();
    assert_eq!(loaded.version, expected.stream_version);
}

#[tokio::test]
async fn snapshots_and_time_travel_give_the_same_states_as_folding() {
    let w = world().await;
    w.to_adoption().await;
    let stream = stream_of::<ChangeProject>(&project_id()).unwrap();
    let loaded = w.engine.load::<ChangeProject>(&stream).await.unwrap();
    let snapshot = w
        .engine
        .store()
        .read_from_snapshot::<serde_json::Value>(
            &stream,
            <ChangeProject as jejak_engine::domain::Aggregate>::SNAPSHOT_VERSION,
        )
        .await
        .unwrap()
        .0;
    let (_, snapshot) = snapshot.expect("a snapshot was taken after 10 events");
    // The participant's fields are sealed in it as in the log (ADR 0022).
    let participant = &snapshot["enrollment"]["participant"];
    assert!(participant["sealed"].is_string(), "{participant}");
    assert!(participant.get("name").is_none(), "{participant}");
    let folded = w
        .engine
        .state_at_version::<ChangeProject>(&stream, loaded.version)
        .await
        .unwrap();
    assert_eq!(folded, loaded.state);
    assert_eq!(loaded.state.lifecycle.as_deref(), Some("adopted"));

    let before_adoption = w
        .engine
        .state_at_version::<ChangeProject>(&stream, loaded.version - 2)
        .await
        .unwrap();
    assert_eq!(before_adoption.lifecycle.as_deref(), Some("piloted"));
    let (then, version) = w
        .engine
        .state_at_time::<ChangeProject>(&stream, Utc::now() - days(3650))
        .await
        .unwrap();
    assert_eq!(
        (then.lifecycle, version),
        (None, 0),
        "nothing existed ten years ago"
    );
}

#[tokio::test]
async fn a_stream_keeps_deciding_under_its_recorded_workflow_version() {
    let w = world().await;
    w.open_cohort().await;
    w.propose().await;
    let v1 = w.engine.workflows().latest("change-project-pka").unwrap();
    // Version 2 opens the workplace phase without a proposal seminar.
    let v2 = v1.source.replace("version = 1", "version = 2").replace(
        "sign_offs = [\"mentor.action_plan\", \"examiner.proposal_seminar\"]",
        "sign_offs = [\"mentor.action_plan\"]",
    );
    let refused = w
        .engine
        .register_workflow(&w.ctx(mentor()), "v2.toml", &v2)
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        CommandError::Domain(DomainError::Forbidden(_))
    ));
    let (registered, _) = w
        .engine
        .register_workflow(&w.ctx(operator()), "v2.toml", &v2)
        .await
        .unwrap();
    assert_eq!(registered.version, 2);
    let changed_v1 = v1.source.replace("Rancangan", "Draft");
    let err = w
        .engine
        .register_workflow(&w.ctx(operator()), "v1.toml", &changed_v1)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("register it as version 3"),
        "{err}"
    );

    w.ok(mentor(), P::AgreeChangeArea).await;
    w.ok(
        mentor(),
        P::ApproveActionPlan {
            note: String::new(),
        },
    )
    .await;
    let err = w
        .project(organizer(), P::StartWorkplacePhase)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("examiners must accept the proposal"),
        "still v1: {err}"
    );

    // After a restart the registry comes back from the log, v2 included.
    let reopened = open(&w.url, w.clock.clone()).await;
    assert_eq!(
        reopened
            .workflows()
            .latest("change-project-pka")
            .unwrap()
            .version,
        2
    );
}

#[tokio::test]
async fn adoption_registers_the_innovation_exactly_once_linked_both_ways() {
    let w = world().await;
    let (innovation_id, state) = w.adopted_innovation().await;
    let profile = state.profile.clone().unwrap();
    assert_eq!(profile.source, Source::ChangeProject);
    assert_eq!(profile.opd.as_str(), "dpmptsp");
    assert!(
        matches!(state.origin, Some(Origin::ChangeProject(ref p)) if p.as_str() == project_id())
    );
    let project = w
        .engine
        .get::<ChangeProject>(&project_id())
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(project.innovation_id.as_ref(), Some(&innovation_id));
    let head = w.engine.store().digest().await.unwrap();

    // A process that stopped before saving its checkpoint reads the adoption again.
    sqlx::query("DELETE FROM checkpoints WHERE name = ?")
        .bind(jejak_engine::process::CHECKPOINT)
        .execute(w.engine.store().sqlite_pool().unwrap())
        .await
        .unwrap();
    ProcessManagers::new(w.engine.clone())
        .run_once()
        .await
        .unwrap();
    assert_eq!(
        w.engine.store().digest().await.unwrap(),
        head,
        "nothing written twice"
    );
}

#[tokio::test]
async fn a_process_stopped_between_registering_and_linking_finishes_the_link() {
    let w = world().await;
    w.to_adoption().await;
    // Simulate the first half of the reaction, then a crash.
    let adoption = w
        .engine
        .store()
        .read_all(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .rfind(|e| e.event_type == "StateChanged" && e.payload.contains("\"adopted\""))
        .unwrap();
    let innovation_id = InnovationId::from_project(
        &jejak_engine::domain::values::ProjectId::parse(&project_id()).unwrap(),
    );
    let mut ctx = Context::new(
        Actor::system("adoption"),
        format!("adoption-{}", adoption.event_id),
    );
    ctx.causation_id = Some(adoption.event_id.to_string());
    let profile = jejak_engine::domain::innovation::Profile {
        name: "Antrian daring perizinan".into(),
        opd: OpdCode::parse("dpmptsp").unwrap(),
        unit: None,
        region: "Kota Cilegon".into(),
        source: Source::ChangeProject,
        initiator_type: "ASN".into(),
        form: jejak_engine::domain::innovation::Form::Governance,
        digital: false,
        sector: "perizinan".into(),
        sdgs: Default::default(),
        goal: "x".into(),
        benefit: "y".into(),
        budget: None,
        legal_basis: None,
    };
    w.engine
        .execute::<Innovation>(
            innovation_id.as_str(),
            &ctx,
            I::Register {
                innovation_id: innovation_id.clone(),
                profile,
                origin: None,
            },
        )
        .await
        .unwrap();

    ProcessManagers::new(w.engine.clone())
        .run_once()
        .await
        .unwrap();
    let innovation_stream = stream_of::<Innovation>(innovation_id.as_str()).unwrap();
    assert_eq!(
        w.engine
            .store()
            .stream_version(&innovation_stream)
            .await
            .unwrap(),
        Some(2),
        "registered once"
    );
    let project = w
        .engine
        .get::<ChangeProject>(&project_id())
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(project.innovation_id, Some(innovation_id));
}

#[tokio::test]
async fn replication_registers_the_adopters_own_innovation() {
    let w = world().await;
    let (original, innovation) = w.adopted_innovation().await;
    let managers = ProcessManagers::new(w.engine.clone());
    // The adopted project's innovation starts at penerapan (adopted).
    assert_eq!(innovation.lifecycle.as_deref(), Some("adopted"));
    let brida = Actor::new("brida-1", Role::BridaOfficer);
    w.engine
        .execute::<Innovation>(
            original.as_str(),
            &w.ctx(brida.clone()),
            I::RecordReplication {
                adopter_opd: OpdCode::parse("dpmptsp").unwrap(),
                adopter_region: "Kota Serang".into(),
                agreement: jejak_engine::domain::change_project::Agreement::new(
                    "PKS",
                    "7/PKS/2026",
                    date(2026, 9, 1),
                    None,
                )
                .unwrap(),
            },
        )
        .await
        .unwrap();
    managers.run_once().await.unwrap();
    let replica = w
        .engine
        .get::<Innovation>(
            InnovationId::replica(
                &original,
                &OpdCode::parse("dpmptsp").unwrap(),
                "Kota Serang",
            )
            .as_str(),
        )
        .await
        .unwrap()
        .expect("the adopter's innovation");
    assert!(matches!(replica.state.origin, Some(Origin::ReplicaOf(ref o)) if *o == original));
    assert_eq!(replica.state.profile.unwrap().region, "Kota Serang");
    // The change project it came from is replicated too, once.
    let project = w
        .engine
        .get::<ChangeProject>(&project_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(project.state.lifecycle.as_deref(), Some("replicated"));
    assert_eq!(project.state.replications.len(), 1);
    let head = w.engine.store().read_all(0, 10_000).await.unwrap().len();
    managers.run_once().await.unwrap();
    assert_eq!(
        w.engine.store().read_all(0, 10_000).await.unwrap().len(),
        head,
        "each once"
    );
}

#[tokio::test]
async fn a_projects_replication_registers_the_adopters_innovation_once() {
    let w = world().await;
    let (original, innovation) = w.adopted_innovation().await;
    let managers = ProcessManagers::new(w.engine.clone());
    let profile = innovation.profile.unwrap();
    assert_eq!(innovation.lifecycle.as_deref(), Some("adopted"));
    assert_eq!(profile.source, Source::ChangeProject);
    assert_eq!(profile.opd.as_str(), "dpmptsp");
    w.engine
        .execute::<ChangeProject>(
            &project_id(),
            &w.ctx(Actor::new("mentor-1", Role::Mentor)),
            P::RecordReplication(jejak_engine::domain::change_project::Replication {
                adopter_opd: OpdCode::parse("dinsos").unwrap(),
                adopter_region: "Kota Cilegon".into(),
                agreement: jejak_engine::domain::change_project::Agreement::new(
                    "MoU",
                    "3/MoU/2026",
                    date(2026, 9, 1),
                    None,
                )
                .unwrap(),
            }),
        )
        .await
        .unwrap();
    managers.run_once().await.unwrap();
    let innovation = w
        .engine
        .get::<Innovation>(original.as_str())
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(innovation.lifecycle.as_deref(), Some("replicated"));
    assert_eq!(innovation.adopters.len(), 1);
    let replica = InnovationId::replica(
        &original,
        &OpdCode::parse("dinsos").unwrap(),
        "Kota Cilegon",
    );
    let replica = w
        .engine
        .get::<Innovation>(replica.as_str())
        .await
        .unwrap()
        .expect("the adopter's innovation");
    assert!(matches!(replica.state.origin, Some(Origin::ReplicaOf(ref o)) if *o == original));
    let head = w.engine.store().read_all(0, 10_000).await.unwrap().len();
    managers.run_once().await.unwrap();
    assert_eq!(
        w.engine.store().read_all(0, 10_000).await.unwrap().len(),
        head,
        "each once"
    );
    let project = w
        .engine
        .get::<ChangeProject>(&project_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(project.state.replications.len(), 1);
}

#[tokio::test]
async fn a_milestone_past_due_is_flagged_once_as_the_clock_moves() {
    let w = world().await;
    w.to_workplace_phase().await;
    let managers = ProcessManagers::new(w.engine.clone());
    assert_eq!(
        managers.tick_timers().await.unwrap(),
        0,
        "nothing is due on 2 March"
    );
    // "Today" is a day in the region's zone (WIB by default): 16:00 UTC
    // is 23:00 on 15 April in Cilegon, 17:00 UTC midnight of the 16th.
    w.clock
        .set(Utc.with_ymd_and_hms(2026, 4, 15, 16, 0, 0).unwrap());
    assert_eq!(
        managers.tick_timers().await.unwrap(),
        0,
        "due today is not overdue"
    );
    w.clock.advance(chrono::Duration::hours(1));
    assert_eq!(
        managers.tick_timers().await.unwrap(),
        1,
        "m1 is overdue on 16 April, WIB"
    );
    assert_eq!(managers.tick_timers().await.unwrap(), 0, "flagged once");
    w.clock.advance(days(60));
    assert_eq!(managers.tick_timers().await.unwrap(), 1, "then m2");
    let overdue: Vec<_> = w
        .engine
        .store()
        .read_all(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "MilestoneOverdue")
        .collect();
    assert_eq!(overdue.len(), 2);
    assert_eq!(
        overdue[0].decoded_metadata().actor_role.as_deref(),
        Some("system")
    );
}

#[tokio::test]
async fn the_overdue_timer_resumes_from_its_saved_index_not_from_the_first_event() {
    use jejak_engine::process::TIMER_CHECKPOINT;
    let w = world().await;
    w.to_workplace_phase().await;
    let store = w.engine.store();
    let head = store.digest().await.unwrap().position;
    let managers = ProcessManagers::new(w.engine.clone());
    assert_eq!(managers.tick_timers().await.unwrap(), 0);
    // Stopping saves the index where it has read to.
    managers.save_timers().await.unwrap();
    let (position, state) = store
        .checkpoint_state(TIMER_CHECKPOINT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(position, head);
    assert!(state.contains("m1"), "the open milestones: {state}");

    // A start reads the saved index, not the log before it: an index saved
    // at the head with no open milestones flags nothing, though the log
    // holds one past due.
    store
        .save_checkpoint_state(TIMER_CHECKPOINT, head, r#"{"open":[],"closed":[]}"#)
        .await
        .unwrap();
    w.clock
        .set(Utc.with_ymd_and_hms(2026, 4, 20, 9, 0, 0).unwrap());
    let restarted = ProcessManagers::new(w.engine.clone());
    assert_eq!(
        restarted.tick_timers().await.unwrap(),
        0,
        "the index as saved"
    );

    // An index that no longer reads is folded again from the log.
    store
        .save_checkpoint_state(TIMER_CHECKPOINT, head, "not an index")
        .await
        .unwrap();
    let refolded = ProcessManagers::new(w.engine.clone());
    assert_eq!(refolded.tick_timers().await.unwrap(), 1, "m1 from the log");
}

/// The participant's enrollment with `mentor` as their mentor.
async fn enrollment_with(w: &World, mentor: &str) -> Enrollment {
    let cohort = w
        .engine
        .get::<Cohort>("pka-2026-1")
        .await
        .unwrap()
        .unwrap()
        .state;
    let mut enrollment = cohort.enrollments.values().next().unwrap().clone();
    enrollment.mentor = mentor.into();
    enrollment
}

#[tokio::test]
async fn a_reassignment_reaches_the_project_and_a_crash_between_is_repaired() {
    let w = world().await;
    w.open_cohort().await;
    w.propose().await;
    let cohort = CohortId::parse("pka-2026-1").unwrap();
    // Through the engine: the cohort, then the project right after.
    let enrollment = enrollment_with(&w, "mentor-2").await;
    let ctx = w.ctx(organizer());
    w.engine
        .reassign_staff(&ctx, &cohort, enrollment.clone())
        .await
        .unwrap();
    let mentor_of = || async {
        w.engine
            .get::<ChangeProject>(&project_id())
            .await
            .unwrap()
            .unwrap()
            .state
            .enrollment
            .unwrap()
            .mentor
    };
    assert_eq!(mentor_of().await, "mentor-2");
    let refused = w.project(mentor(), P::AgreeChangeArea).await.unwrap_err();
    assert!(matches!(
        refused,
        CommandError::Domain(DomainError::NotFound { .. })
    ));
    w.ok(Actor::new("mentor-2", Role::Mentor), P::AgreeChangeArea)
        .await;
    // Repeating the request changes nothing.
    let again = w
        .engine
        .reassign_staff(&ctx, &cohort, enrollment)
        .await
        .unwrap();
    assert!(again.duplicate);

    // A crash between the cohort's event and the project's: only the
    // cohort's is written; the process managers finish the step, once.
    w.engine
        .execute::<Cohort>(
            cohort.as_str(),
            &w.ctx(organizer()),
            CohortCommand::Reassign(enrollment_with(&w, "mentor-3").await),
        )
        .await
        .unwrap();
    assert_eq!(mentor_of().await, "mentor-2");
    let managers = ProcessManagers::new(w.engine.clone());
    managers.run_once().await.unwrap();
    assert_eq!(mentor_of().await, "mentor-3");
    let events = w
        .engine
        .store()
        .read_stream_to_end(&stream_of::<ChangeProject>(&project_id()).unwrap())
        .await
        .unwrap();
    let assigned = events
        .iter()
        .filter(|e| e.event_type == "StaffAssigned")
        .count();
    assert_eq!(assigned, 2, "once per reassignment");
}

/// A log holding evidence of payload version 1 (before sizes were kept)
/// and of version 2: both fold, the old one upcast (size unknown, hash
/// asserted); a payload version newer than this code knows is refused,
/// never read as an older one.
#[tokio::test]
async fn evidence_of_payload_versions_1_and_2_folds_and_a_newer_version_is_refused() {
    use jejak_engine::store::{AppendRequest, ExpectedVersion, NewEvent};
    let w = world().await;
    let officer = Actor::officer("officer-1", OpdCode::parse("dinkes").unwrap());
    let id = InnovationId::parse("inv-upcast").unwrap();
    let profile = jejak_engine::domain::innovation::Profile {
        name: "Posyandu digital".into(),
        opd: OpdCode::parse("dinkes").unwrap(),
        unit: None,
        region: "Kota Cilegon".into(),
        source: Source::OpdInitiative,
        initiator_type: "ASN".into(),
        form: jejak_engine::domain::innovation::Form::PublicService,
        digital: true,
        sector: "kesehatan".into(),
        sdgs: Default::default(),
        goal: "x".into(),
        benefit: "y".into(),
        budget: None,
        legal_basis: None,
    };
    let run = |n: &str, body: I| {
        let ctx = Context::new(officer.clone(), format!("upcast-{n}"));
        let engine = w.engine.clone();
        let id = id.clone();
        async move { engine.execute::<Innovation>(id.as_str(), &ctx, body).await }
    };
    run(
        "register",
        I::Register {
            innovation_id: id.clone(),
            profile,
            origin: None,
        },
    )
    .await
    .unwrap();
    let stream = stream_of::<Innovation>(id.as_str()).unwrap();
    // As a jejak before version 2 wrote it.
    let v1 = serde_json::json!({
        "indicator": "regulasi",
        "attachment": {
            "sha256": "ab".repeat(32),
            "uri": "https://arsip.example/perwal.pdf",
            "name": "perwal.pdf",
            "media_type": "application/pdf",
        },
    });
    let append = |version: u32, payload: serde_json::Value, at: u64| {
        let store = w.engine.store().clone();
        let stream = stream.clone();
        async move {
            store
                .append(
                    AppendRequest::new(stream, "innovation", ExpectedVersion::Exact(at))
                        .event(NewEvent::new("EvidenceAdded", payload).with_version(version)),
                )
                .await
        }
    };
    let version = w
        .engine
        .store()
        .stream_version(&stream)
        .await
        .unwrap()
        .unwrap();
    append(1, v1, version).await.unwrap();
    let stored = Attachment::stored(
        "attachment",
        &"cd".repeat(32),
        2048,
        "sk-tim.pdf",
        "application/pdf",
    )
    .unwrap();
    let written = run(
        "evidence",
        I::AddEvidence {
            indicator: "sk".into(),
            attachment: stored.clone(),
        },
    )
    .await
    .unwrap();
    let events = w.engine.store().read_stream_to_end(&stream).await.unwrap();
    let versions: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "EvidenceAdded")
        .map(|e| e.event_version)
        .collect();
    assert_eq!(versions, [1, 2], "the log holds both versions");
    assert!(written.position > 0);

    let state = w
        .engine
        .get::<Innovation>(id.as_str())
        .await
        .unwrap()
        .unwrap()
        .state;
    let old = &state.evidence[0].1;
    assert_eq!((old.size, old.asserted), (None, true), "version 1 upcast");
    assert_eq!(old.name, "perwal.pdf");
    assert_eq!(state.evidence[1].1, stored);
    assert_eq!((stored.size, stored.asserted), (Some(2048), false));
    assert_eq!(stored.uri, format!("jejak:sha256/{}", "cd".repeat(32)));

    // A version this code does not know: an error naming it, not a guess.
    let version = w
        .engine
        .store()
        .stream_version(&stream)
        .await
        .unwrap()
        .unwrap();
    append(
        3,
        serde_json::to_value(&stored)
            .map(|a| serde_json::json!({"indicator": "x", "attachment": a}))
            .unwrap(),
        version,
    )
    .await
    .unwrap();
    let err = w
        .engine
        .get::<Innovation>(id.as_str())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("payload version 3") && err.contains("upgrade jejak"),
        "{err}"
    );
}

#[tokio::test]
async fn a_backdated_command_is_decided_on_its_day_and_the_log_keeps_its_own_time() {
    let w = world().await;
    w.open_cohort().await;
    w.propose().await;
    w.ok(mentor(), P::AgreeChangeArea).await;
    w.ok(
        mentor(),
        P::ApproveActionPlan {
            note: String::new(),
        },
    )
    .await;
    w.ok(
        examiner(),
        P::RecordProposalSeminar {
            accepted: true,
            notes: String::new(),
        },
    )
    .await;
    // Written 200 days later, as having happened five days after the start.
    w.clock.advance(days(200));
    let happened = start() + days(5);
    let started = w
        .engine
        .execute::<ChangeProject>(
            &project_id(),
            &w.ctx(organizer()).occurred_at(happened),
            P::StartWorkplacePhase,
        )
        .await
        .unwrap();
    let project = w
        .engine
        .get::<ChangeProject>(&project_id())
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(
        project.workplace_started_on,
        Some(date(2026, 3, 7)),
        "the deciders' today is the day it happened"
    );
    let event = w
        .engine
        .store()
        .read_all(started.position - 1, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(event.occurred_at(), happened);
    // The log's own time is the store's, never the effective one.
    assert_ne!(event.recorded_at, happened, "never backdated");
    let history = w
        .engine
        .history::<ChangeProject>(&project_id())
        .await
        .unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.occurred_at, last.recorded_at),
        (happened, event.recorded_at)
    );
    assert!(history[0].occurred_at == history[0].recorded_at);

    // By effective time, the phase had started a week after the start; by
    // the log's time, not yet.
    let stream = stream_of::<ChangeProject>(&project_id()).unwrap();
    let week = start() + days(7);
    let (then, _) = w
        .engine
        .state_at_effective_time::<ChangeProject>(&stream, week)
        .await
        .unwrap();
    assert!(then.workplace_started_on.is_some());
    let (logged, _) = w
        .engine
        .state_at_time::<ChangeProject>(&stream, week)
        .await
        .unwrap();
    assert!(logged.workplace_started_on.is_none());

    // Never dated ahead of the clock; nothing written.
    let head = w.engine.store().digest().await.unwrap();
    let ahead = w
        .engine
        .execute::<ChangeProject>(
            &project_id(),
            &w.ctx(participant()).occurred_at(w.clock.now() + days(1)),
            P::Withdraw {
                reason: "Mutasi".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&ahead, CommandError::Domain(DomainError::Invalid { field, .. }) if field == "occurred_at"),
        "{ahead}"
    );
    assert_eq!(w.engine.store().digest().await.unwrap(), head);
}
