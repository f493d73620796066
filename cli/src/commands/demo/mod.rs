//! `jejak demo`: a realistic city, loaded through the engine's own
//! commands (never raw SQL). Every command has a fixed request id, so
//! running it twice adds nothing.
//!
//! The city is a history: each command is backdated (ADR 0030) to a day
//! of the [`HISTORY_MONTHS`] months before today, so that time travel,
//! inbox ages, overdue milestones and cohort timelines show something
//! real. The log records each event now; its metadata says when it
//! happened.
//!
//! It writes into the data folder's log through an engine of its own, or,
//! given a running server (`--server`, `JEJAK_SERVER`), through that
//! server's RPCs in the name of each role ([`remote`]).

mod remote;

use std::collections::BTreeSet;

use anyhow::Context as _;
use chrono::{DateTime, Datelike as _, Days, Months, NaiveDate, Utc};
use jejak_engine::domain::change_project::{
    Agreement, ChangeProject, Goals, Grade, MilestonePlan, ProjectCommand as P, Proposal,
    Replication, Stakeholder, TargetRating, TeamMember,
};
use jejak_engine::domain::cohort::{Cohort, CohortCommand, CohortFacts, Enrollment, Participant};
use jejak_engine::domain::innovation::{Form, Innovation, InnovationCommand as I, Profile, Source};
use jejak_engine::domain::values::{
    Attachment, CohortId, Horizon, InnovationId, Level3, MilestoneId, Nip, OpdCode, PersonId,
    ProjectId, Rating, TrainingLevel,
};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::{CommandError, Context, Engine};
use jejak_engine::process::ProcessManagers;
use jejak_engine::store::{EventStore, StoreConfig};

use crate::serve::DataArgs;

/// The city's OPDs: code and name.
pub const OPDS: &[(&str, &str)] = &[
    ("setda", "Sekretariat Daerah"),
    ("setwan", "Sekretariat DPRD"),
    ("inspektorat", "Inspektorat"),
    ("bappeda", "Bappeda (Penelitian dan Inovasi Daerah)"),
    ("bpkad", "Badan Pengelolaan Keuangan dan Aset Daerah"),
    ("bapenda", "Badan Pendapatan Daerah"),
    ("bkpsdm", "Badan Kepegawaian dan Pengembangan SDM"),
    ("dinkes", "Dinas Kesehatan"),
    ("disdik", "Dinas Pendidikan dan Kebudayaan"),
    ("dinsos", "Dinas Sosial"),
    ("disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil"),
    ("dpmptsp", "Dinas Penanaman Modal dan PTSP"),
    ("dpupr", "Dinas Pekerjaan Umum dan Penataan Ruang"),
    ("disperkim", "Dinas Perumahan dan Kawasan Permukiman"),
    ("dishub", "Dinas Perhubungan"),
    ("dlh", "Dinas Lingkungan Hidup"),
    ("disperindag", "Dinas Perindustrian dan Perdagangan"),
    ("disnaker", "Dinas Tenaga Kerja"),
    (
        "diskominfo",
        "Dinas Komunikasi, Informatika, Sandi dan Statistik",
    ),
    ("dispora", "Dinas Pemuda dan Olahraga"),
    ("dp3a", "Dinas Pemberdayaan Perempuan dan Perlindungan Anak"),
    ("dkpp", "Dinas Ketahanan Pangan dan Pertanian"),
    ("satpolpp", "Satuan Polisi Pamong Praja"),
    ("bpbd", "Badan Penanggulangan Bencana Daerah"),
    ("rsud", "RSUD"),
    ("kec-cilegon", "Kecamatan Cilegon"),
    ("kec-jombang", "Kecamatan Jombang"),
    ("kec-pulomerak", "Kecamatan Pulomerak"),
    ("kec-grogol", "Kecamatan Grogol"),
    ("kec-purwakarta", "Kecamatan Purwakarta"),
    ("kec-citangkil", "Kecamatan Citangkil"),
    ("kec-ciwandan", "Kecamatan Ciwandan"),
    ("kec-cibeber", "Kecamatan Cibeber"),
];

const PUSKESMAS: &[&str] = &[
    "Puskesmas Cilegon",
    "Puskesmas Jombang",
    "Puskesmas Pulomerak",
    "Puskesmas Grogol",
    "Puskesmas Purwakarta",
    "Puskesmas Citangkil",
    "Puskesmas Ciwandan",
    "Puskesmas Cibeber",
    "Puskesmas Kotabumi",
    "Puskesmas Kedaleman",
];

const FIRST: &[&str] = &[
    "Siti", "Budi", "Dewi", "Agus", "Rina", "Hendra", "Nur", "Eko", "Sri", "Yusuf", "Lina", "Dedi",
    "Ratna", "Fajar", "Wulan",
];
const LAST: &[&str] = &[
    "Rahmawati",
    "Santoso",
    "Lestari",
    "Hidayat",
    "Susanti",
    "Gunawan",
    "Aini",
    "Prasetyo",
    "Wahyuni",
    "Maulana",
];

const HEALTH: &[&str] = &[
    "Posyandu Remaja",
    "Kelas Ibu Hamil Daring",
    "Skrining Anemia Sekolah",
    "Antar Obat Lansia",
    "Rujukan Cepat Ibu Bersalin",
    "Kader TB Keliling",
    "Gizi Balita Terpantau",
    "Pos Bindu PTM",
    "Imunisasi Kejar",
    "Sanitasi Total Berbasis Masyarakat",
    "Konseling Jiwa Remaja",
    "Dapur Sehat Atasi Stunting",
    "Puskesmas Ramah Disabilitas",
];

const OPD_INITIATIVES: &[(&str, &str)] = &[
    ("disdukcapil", "Akta Lahir Langsung di Rumah Sakit"),
    ("disdukcapil", "KTP-el Jemput Bola"),
    ("disdukcapil", "Dukcapil Kelurahan"),
    ("dpmptsp", "Izin Usaha Mikro Sehari Jadi"),
    ("dpmptsp", "Mal Pelayanan Publik"),
    ("diskominfo", "Satu Data Kota"),
    ("diskominfo", "Aduan Warga Terpadu"),
    ("diskominfo", "Wifi Taman Kota"),
    ("dishub", "Parkir Non Tunai"),
    ("bapenda", "Pajak Daerah Daring"),
    ("bapenda", "PBB Lewat Warung"),
    ("dlh", "Bank Sampah Digital"),
    ("dlh", "Adopsi Pohon"),
    ("bpbd", "Peringatan Dini Banjir"),
];

fn nip(i: usize) -> String {
    format!(
        "{:04}{:02}{:02}{:04}{:02}{}{:03}",
        1975 + i % 15,
        1 + i % 12,
        1 + i % 28,
        2001 + i % 15,
        1 + (i * 5) % 12,
        1 + i % 2,
        1 + i
    )
}

fn file(name: &str, i: usize) -> Attachment {
    let hash = format!("{:064x}", i * 7919 + name.len());
    Attachment::new(
        "attachments[0]",
        &hash,
        &format!("https://arsip.cilegon.example/{i}/{name}"),
        name,
        "application/pdf",
    )
    .expect("a valid attachment")
}

/// How far back the demo's history reaches.
pub const HISTORY_MONTHS: u32 = 18;

/// The first day of the demo's history: [`HISTORY_MONTHS`] before `today`.
pub fn history_starts(today: NaiveDate) -> NaiveDate {
    today
        .checked_sub_months(Months::new(HISTORY_MONTHS))
        .expect("a date")
}

/// Where the demo writes: an engine on the data folder's log, or a running
/// server.
enum Target {
    Local(Engine),
    Remote(remote::Remote),
}

impl Target {
    /// The time now, as the engine's clock or this machine's.
    fn now(&self) -> DateTime<Utc> {
        match self {
            Self::Local(engine) => engine.clock().now(),
            Self::Remote(_) => Utc::now(),
        }
    }

    /// The region's day today (ADR 0028; a server's region is taken to be
    /// in the default zone, as the demo's city is).
    fn today(&self) -> NaiveDate {
        match self {
            Self::Local(engine) => engine.today(),
            Self::Remote(_) => Utc::now().with_timezone(&ZONE).date_naive(),
        }
    }

    /// The region's offset from UTC at `at`.
    fn utc_offset(&self, at: DateTime<Utc>) -> chrono::FixedOffset {
        use chrono::Offset as _;
        match self {
            Self::Local(engine) => engine.utc_offset(at),
            Self::Remote(_) => at.with_timezone(&ZONE).offset().fix(),
        }
    }
}

/// The region's zone of a city the demo writes through a server.
const ZONE: chrono_tz::Tz = chrono_tz::Asia::Jakarta;

struct Loader<'a> {
    target: &'a Target,
    bar: indicatif::ProgressBar,
    /// When the next command happened (`None`: now, not backdated).
    at: Option<DateTime<Utc>>,
    /// The latest a backdated command may happen: a minute before the
    /// demo started.
    latest: DateTime<Utc>,
    /// Commands that wrote something.
    done: u64,
    /// Commands already done by an earlier run.
    repeated: u64,
    /// Commands the domain refused.
    refused: u64,
    /// The projects whose adoption was written (now or by an earlier run),
    /// in the order they were adopted.
    adopted: Vec<ProjectId>,
}

impl<'a> Loader<'a> {
    fn new(target: &'a Target, bar: indicatif::ProgressBar) -> Self {
        Self {
            target,
            bar,
            at: None,
            latest: target.now() - chrono::Duration::minutes(1),
            done: 0,
            repeated: 0,
            refused: 0,
            adopted: Vec::new(),
        }
    }

    /// The commands that follow happened on `day`, from 09:00 in the
    /// region (ADR 0028), a minute apart, and never later than
    /// [`Loader::latest`].
    fn on(&mut self, day: NaiveDate) {
        let nine = day
            .and_hms_opt(9, 0, 0)
            .expect("a time")
            .and_local_timezone(self.target.utc_offset(self.latest))
            .single()
            .map_or(self.latest, |t| t.with_timezone(&Utc));
        self.at = Some(nine.min(self.latest));
    }

    /// When the next command happened ([`Loader::at`], which moves on a
    /// minute).
    fn next_at(&mut self) -> Option<DateTime<Utc>> {
        let at = self.at?;
        self.at = Some((at + chrono::Duration::minutes(1)).min(self.latest));
        Some(at)
    }

    /// Runs one command; a refusal is counted and the demo goes on.
    async fn run<A: remote::Wire>(
        &mut self,
        id: &str,
        actor: &Actor,
        request: String,
        body: A::Command,
    ) -> anyhow::Result<Step>
    where
        A::Command: Clone,
    {
        let at = self.next_at();
        let request_id = format!("demo:{request}");
        let step = match self.target {
            Target::Local(engine) => {
                let ctx = Context::new(actor.clone(), request_id);
                let ctx = match at {
                    Some(at) => ctx.occurred_at(at),
                    None => ctx,
                };
                match engine.execute::<A>(id, &ctx, body).await {
                    Ok(outcome) if outcome.duplicate => Step::Repeated,
                    Ok(_) => Step::Done,
                    Err(CommandError::Domain(err)) => Step::Refused(err.to_string()),
                    Err(err) => {
                        return Err(err).with_context(|| format!("the demo could not write {id}"));
                    }
                }
            }
            Target::Remote(server) => match server
                .send::<A>(id, actor, request_id, at, body)
                .await
                .with_context(|| format!("the demo could not write {id}"))?
            {
                remote::Sent::Written { duplicate: true } => Step::Repeated,
                remote::Sent::Written { duplicate: false } => Step::Done,
                remote::Sent::Refused(reason) => Step::Refused(reason),
            },
        };
        match &step {
            Step::Done => self.done += 1,
            Step::Repeated => self.repeated += 1,
            Step::Refused(reason) => {
                self.refused += 1;
                tracing::debug!(%id, %reason, "the demo's step was refused");
            }
        }
        self.bar.inc(1);
        Ok(step)
    }
}

/// What one command of the demo did.
enum Step {
    Done,
    Repeated,
    Refused(String),
}

impl Step {
    fn written(&self) -> bool {
        !matches!(self, Self::Refused(_))
    }
}

/// How far a demo project goes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    Proposed,
    PlanApproved,
    Piloted(usize),
    Graded,
    Adopted,
    Replicated,
    Deferred,
    Withdrawn,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Write through this running server (its RPCs, in the name of each
    /// role, with tokens minted from the token secret of --data-dir)
    /// instead of into the data folder's log.
    #[arg(long, env = "JEJAK_SERVER")]
    server: Option<String>,
    #[command(flatten)]
    data: DataArgs,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let server = args
        .server
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    // Where it writes, said first (ADR 0030).
    let target = match server {
        Some(server) => {
            say!("writing through the server at {server}, in the name of each role");
            Target::Remote(
                remote::Remote::new(server, args.data.keys()?)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            )
        }
        None => {
            let url = args.data.database_url()?;
            say!(
                "writing into the data folder {} (log {})",
                args.data.data_dir()?.display(),
                redacted(&url)
            );
            Target::Local(local_engine(&args.data, &url).await?)
        }
    };
    let bar = indicatif::ProgressBar::new(1_400);
    bar.set_style(
        indicatif::ProgressStyle::with_template("loading the demo city [{bar:40}] {pos} commands")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let units = load_units(&target, history_starts(target.today())).await?;
    let l = load_into(&target, bar).await?;
    say!("the city's units: {units} (jejak admin unit list)");
    let head = match &target {
        Target::Local(engine) => engine.store().digest().await?.to_string(),
        Target::Remote(server) => server.digest(&Actor::new("demo", Role::Auditor)).await?,
    };
    say!(
        "demo city loaded: {} commands written, {} already done by an earlier run, {} refused; the log is at {head}",
        l.done,
        l.repeated,
        l.refused
    );
    if matches!(target, Target::Remote(_)) {
        say!(
            "the server's process managers register the replicas and flag overdue milestones as they follow the log"
        );
    }
    Ok(())
}

/// An engine on the data folder's log. Every writer seals: the demo city
/// is sealed with the data folder's key, as the server would seal it.
async fn local_engine(data: &DataArgs, url: &str) -> anyhow::Result<Engine> {
    let config = StoreConfig {
        seal_key: Some(data.seal_key()?),
        ..StoreConfig::default()
    };
    let store = EventStore::open(url, config)
        .await
        .with_context(|| format!("cannot open the log at {url}"))?;
    Engine::open_with(
        store,
        std::sync::Arc::new(jejak_engine::clock::SystemClock),
        jejak_engine::engine::EngineConfig {
            master_key: Some(data.master_key()?),
            ..jejak_engine::engine::EngineConfig::default()
        },
    )
    .await
    .context("cannot start the engine")
}

/// A database URL without its password.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The code of a demo puskesmas: `Puskesmas Cibeber` → `pkm-cibeber`.
fn puskesmas_code(name: &str) -> String {
    format!(
        "pkm-{}",
        name.trim_start_matches("Puskesmas ").to_lowercase()
    )
}

/// Loads the city's units as an operator would (ADR 0028): every OPD and
/// kecamatan of [`OPDS`], every puskesmas under the health office; each
/// with a fixed request id, so a second run writes nothing. Says how many
/// the region holds.
async fn load_units(target: &Target, on: NaiveDate) -> anyhow::Result<usize> {
    use jejak_engine::domain::units::{UNITS_ID, Unit, UnitKind, Units, UnitsCommand};
    use jejak_engine::domain::values::OpdCode;
    let operator = Actor::new("operator", Role::Admin);
    let mut units: Vec<Unit> = OPDS
        .iter()
        .map(|(code, name)| {
            Ok(Unit {
                code: OpdCode::parse(code)?,
                name: (*name).to_owned(),
                kind: if code.starts_with("kec-") {
                    UnitKind::Kecamatan
                } else {
                    UnitKind::Opd
                },
                parent: None,
            })
        })
        .collect::<Result<_, jejak_engine::domain::DomainError>>()?;
    for name in PUSKESMAS {
        units.push(Unit {
            code: OpdCode::parse(&puskesmas_code(name))?,
            name: (*name).to_owned(),
            kind: UnitKind::Puskesmas,
            parent: Some(OpdCode::parse("dinkes")?),
        });
    }
    let count = units.len();
    // A unit an operator defined otherwise is theirs to keep: a refusal is
    // counted and passed over.
    let mut l = Loader::new(target, indicatif::ProgressBar::hidden());
    l.on(on);
    for unit in units {
        let request = format!("unit-{}", unit.code);
        l.run::<Units>(UNITS_ID, &operator, request, UnitsCommand::Add(unit))
            .await
            .context("the demo could not write the city's units")?;
    }
    Ok(count)
}

/// The cohort opened by `open` and the enrolments of `enrolled` as the log
/// holds them: read back from the engine, or, through a server, as sent,
/// each with the person id the server gave them.
async fn cohort(
    target: &Target,
    organizer: &Actor,
    open: CohortCommand,
    enrolled: Vec<Enrollment>,
) -> anyhow::Result<(CohortFacts, Vec<Enrollment>)> {
    let CohortCommand::Open {
        cohort_id,
        level,
        starts_on,
        ends_on,
        workflow,
        workflow_version,
        ..
    } = open
    else {
        anyhow::bail!("a cohort is opened by CohortCommand::Open");
    };
    match target {
        Target::Local(engine) => {
            let state = engine
                .get::<Cohort>(cohort_id.as_str())
                .await?
                .context("the cohort was just opened")?
                .state;
            let facts = state.facts.clone().context("the cohort's facts")?;
            let enrolled = enrolled
                .iter()
                .map(|sent| {
                    state
                        .enrollments
                        .values()
                        .find(|e| e.participant.nip == sent.participant.nip)
                        .cloned()
                        .context("an enrolment the demo wrote")
                })
                .collect::<anyhow::Result<_>>()?;
            Ok((facts, enrolled))
        }
        Target::Remote(server) => {
            let mut kept = Vec::with_capacity(enrolled.len());
            for mut enrollment in enrolled {
                enrollment.participant.person = server
                    .person(organizer, &enrollment.participant.nip, cohort_id.as_str())
                    .await?;
                kept.push(enrollment);
            }
            let facts = CohortFacts {
                cohort_id,
                level,
                organizer: organizer.id.clone(),
                starts_on,
                ends_on,
                workflow: workflow.unwrap_or_default(),
                workflow_version,
            };
            Ok((facts, kept))
        }
    }
}

/// What loading the demo city did.
pub struct Loaded {
    /// Commands that wrote something.
    pub done: u64,
    /// Commands already done by an earlier run.
    pub repeated: u64,
    /// Commands the domain refused.
    pub refused: u64,
}

/// Loads the demo city through `engine`'s commands, showing progress on `bar`.
pub async fn load(engine: &Engine, bar: indicatif::ProgressBar) -> anyhow::Result<Loaded> {
    load_into(&Target::Local(engine.clone()), bar).await
}

/// Loads the demo city into `target`.
async fn load_into(target: &Target, bar: indicatif::ProgressBar) -> anyhow::Result<Loaded> {
    let mut l = Loader::new(target, bar);
    let today = target.today();
    let origin = history_starts(today);
    let after = |d: u64| origin.checked_add_days(Days::new(d)).expect("a date");
    let organizer = Actor::new("bkpsdm-admin", Role::Organizer);
    let brida = Actor::new("brida-admin", Role::BridaOfficer);

    // Two cohorts: the first, done, starting a month into the history;
    // the second under way, started 140 days ago. Their ids name the year
    // they start in.
    let first = after(30);
    let second = today.checked_sub_days(Days::new(140)).expect("a date");
    let cohorts = [
        (
            format!("pka-{}-1", first.year()),
            true,
            first.year(),
            1,
            first,
            first.checked_add_days(Days::new(150)).expect("a date"),
            24usize,
        ),
        (
            format!("pka-{}-2", second.year()),
            false,
            second.year(),
            2,
            second,
            today.checked_add_days(Days::new(5)).expect("a date"),
            30usize,
        ),
    ];
    let mut person = 0usize;
    for (cohort_id, done, year, number, starts, ends, size) in cohorts {
        let cohort_id = cohort_id.as_str();
        l.on(starts.checked_sub_days(Days::new(30)).expect("a date"));
        let open = CohortCommand::Open {
            cohort_id: CohortId::parse(cohort_id)?,
            level: TrainingLevel::Pka,
            provider: "BPSDM Provinsi Banten".into(),
            year,
            number,
            starts_on: starts,
            ends_on: ends,
            workflow: None,
            workflow_version: None,
        };
        l.run::<Cohort>(
            cohort_id,
            &organizer,
            format!("open-{cohort_id}"),
            open.clone(),
        )
        .await?;
        l.on(starts.checked_sub_days(Days::new(20)).expect("a date"));
        let mut enrolled = Vec::with_capacity(size);
        for k in 0..size {
            let i = person + k;
            let opd = OPDS[(i * 7) % OPDS.len()].0;
            let name = format!(
                "{} {}",
                FIRST[i % FIRST.len()],
                LAST[(i / FIRST.len() + i) % LAST.len()]
            );
            let number = Nip::parse(&nip(i))?;
            let person = match target {
                Target::Local(engine) => engine.store().person_for_nip(&number).await?,
                // The server gives the person id when it enrols them; the
                // command sent names them by NIP.
                Target::Remote(_) => PersonId::generate(),
            };
            let participant = Participant::new(person, &number, &name, "Kepala Bidang", opd)?;
            let enrollment = Enrollment::new(
                participant,
                &format!("kepala-{opd}"),
                &format!("wi-{}", 1 + i % 3),
                &[format!("penguji-{}", 1 + i % 4)],
            )?;
            l.run::<Cohort>(
                cohort_id,
                &organizer,
                format!("enrol-{cohort_id}-{i}"),
                CohortCommand::Enrol(enrollment.clone()),
            )
            .await?;
            enrolled.push(enrollment);
        }
        let (facts, enrolled) = cohort(target, &organizer, open, enrolled).await?;
        for (k, enrollment) in enrolled.into_iter().enumerate() {
            let i = person + k;
            let reach = if done {
                match k % 8 {
                    0..=4 => Reach::Adopted,
                    5 => Reach::Replicated,
                    6 => Reach::Deferred,
                    _ => {
                        if k % 16 == 7 {
                            Reach::Withdrawn
                        } else {
                            Reach::Adopted
                        }
                    }
                }
            } else {
                match k % 10 {
                    0 | 1 => Reach::Proposed,
                    2 => Reach::PlanApproved,
                    3..=5 => Reach::Piloted(k % 4),
                    6 | 7 => Reach::Piloted(1),
                    8 => Reach::Graded,
                    _ => Reach::Piloted(2),
                }
            };
            project(&mut l, facts.clone(), enrollment, i, reach, starts, ends).await?;
        }
        person += size;
    }

    // The adoption of each change project registers its innovation: the
    // process managers' work, which a server does as it follows the log.
    let adopted: Vec<String> = {
        let mut ids: Vec<String> = l
            .adopted
            .iter()
            .map(|p| InnovationId::from_project(p).to_string())
            .collect();
        // In a stable order.
        ids.sort();
        ids
    };
    match target {
        Target::Local(engine) => {
            ProcessManagers::new(engine.clone())
                .run_once()
                .await
                .context("registering the adopted projects' innovations")?;
        }
        Target::Remote(server) => server.await_innovations(&brida, &adopted).await?,
    }

    // The puskesmas (after the health-worker competition) and the OPDs' own.
    let mut count = 0usize;
    // 50 of them: with the three the kecamatan adopt from change projects
    // (each adopter has an innovation of its own), the city counts 86.
    for k in 0..50 {
        let unit = PUSKESMAS[k % PUSKESMAS.len()];
        let name = format!(
            "{} {}",
            HEALTH[k % HEALTH.len()],
            unit.trim_start_matches("Puskesmas ")
        );
        l.on(after(60 + (k as u64 * 7) % 150));
        innovation(
            &mut l,
            &brida,
            &format!("pkm-{k:02}"),
            &name,
            "dinkes",
            Some(unit),
            Source::HealthCompetition,
            "kesehatan",
            count,
        )
        .await?;
        count += 1;
    }
    for (k, (opd, name)) in OPD_INITIATIVES.iter().enumerate() {
        l.on(after(90 + k as u64 * 9));
        innovation(
            &mut l,
            &brida,
            &format!("opd-{k:02}"),
            name,
            opd,
            None,
            Source::OpdInitiative,
            "pelayanan publik",
            count,
        )
        .await?;
        count += 1;
    }
    // Move the change projects' innovations along too.
    for id in adopted {
        // Adopted a month after their cohort ended.
        advance(&mut l, &brida, &id, count, after(210), true).await?;
        count += 1;
    }
    if let Target::Local(engine) = target {
        let managers = ProcessManagers::new(engine.clone());
        managers
            .run_once()
            .await
            .context("registering the replicas")?;
        managers
            .tick_timers()
            .await
            .context("flagging overdue milestones")?;
    }
    l.bar.finish_and_clear();
    Ok(Loaded {
        done: l.done,
        repeated: l.repeated,
        refused: l.refused,
    })
}

#[allow(clippy::too_many_arguments)]
async fn innovation(
    l: &mut Loader<'_>,
    brida: &Actor,
    id: &str,
    name: &str,
    opd: &str,
    unit: Option<&str>,
    source: Source,
    sector: &str,
    n: usize,
) -> anyhow::Result<()> {
    let profile = Profile {
        name: name.to_owned(),
        opd: OpdCode::parse(opd)?,
        unit: unit.map(str::to_owned),
        region: "Kota Cilegon".into(),
        source,
        initiator_type: if source == Source::HealthCompetition {
            "Tenaga kesehatan".into()
        } else {
            "ASN".into()
        },
        form: Form::PublicService,
        digital: n.is_multiple_of(3),
        sector: sector.to_owned(),
        sdgs: BTreeSet::from([if sector == "kesehatan" { 3 } else { 16 }]),
        goal: format!("{name}: layanan lebih cepat dan dekat"),
        benefit: "Warga terlayani tanpa antre".into(),
        budget: Some(15_000_000 + (n as u64 % 7) * 5_000_000),
        legal_basis: None,
    };
    let register = I::Register {
        innovation_id: InnovationId::parse(id)?,
        profile,
        origin: None,
    };
    let registered = l.at.map_or_else(|| l.target.today(), |at| at.date_naive());
    l.run::<Innovation>(id, brida, format!("register-{id}"), register)
        .await?;
    advance(l, brida, id, n, registered, false).await
}

/// Moves an innovation to a stage that depends on `n`: every stage occurs,
/// about one in six ends dormant, a few are replicated. Each step
/// happens some days after `base` (its registration or adoption), never
/// after today. An adopted change project's innovation (`adopted`)
/// starts implemented (penerapan): it has no steps before that to take,
/// and only what follows implementation from the day it was adopted.
async fn advance(
    l: &mut Loader<'_>,
    brida: &Actor,
    id: &str,
    n: usize,
    base: NaiveDate,
    adopted: bool,
) -> anyhow::Result<()> {
    let stage = n % 12;
    let today = l.target.today();
    let day = |d: u64| {
        base.checked_add_days(Days::new(d + (n as u64 % 20)))
            .expect("a date")
            .min(today)
    };
    let steps: Vec<(&str, I)> = vec![
        (
            "feasible",
            I::JudgeFeasibility {
                feasible: true,
                notes: "Layak".into(),
            },
        ),
        (
            "decree",
            I::Designate {
                decree_number: format!("SK Wali Kota 050/{n}/2024"),
                decree_date: day(20),
            },
        ),
        ("pilot", I::StartPilot { on: day(45) }),
        (
            "evaluate",
            I::EvaluatePilot {
                on: day(120),
                evaluation: "Uji coba berhasil".into(),
            },
        ),
        (
            "implement",
            I::Implement {
                on: day(150),
                budget_line: format!("5.02.{n:02}"),
            },
        ),
    ];
    let reach = match stage {
        0 | 1 => 0,
        2 => 2,
        3 | 4 => 3,
        _ => 5,
    };
    if adopted {
        if matches!(stage, 7 | 8) {
            replicate(l, brida, id, n, day(300)).await?;
        }
        return Ok(());
    }
    let days = [20, 45, 120, 150, 150];
    for ((name, body), after) in steps.into_iter().zip(days).take(reach) {
        l.on(day(after));
        l.run::<Innovation>(id, brida, format!("{name}-{id}"), body)
            .await?;
    }
    if reach == 5 && matches!(stage, 5 | 6) {
        l.on(day(250));
        l.run::<Innovation>(
            id,
            brida,
            format!("dormant-{id}"),
            I::MarkDormant {
                on: day(250),
                reason: "Pengelola dimutasi".into(),
            },
        )
        .await?;
    }
    if reach == 5 && matches!(stage, 7 | 8) {
        replicate(l, brida, id, n, day(300)).await?;
    }
    Ok(())
}

/// One to three other regions take innovation `id` over.
async fn replicate(
    l: &mut Loader<'_>,
    brida: &Actor,
    id: &str,
    n: usize,
    signed: NaiveDate,
) -> anyhow::Result<()> {
    l.on(signed);
    for (k, region) in ["Kota Serang", "Kabupaten Serang", "Kabupaten Pandeglang"]
        .iter()
        .enumerate()
        .take(1 + n % 3)
    {
        let opd = OpdCode::parse("dinkes").expect("an OPD");
        let body = I::RecordReplication {
            adopter_opd: opd,
            adopter_region: (*region).to_owned(),
            agreement: Agreement::new("PKS", &format!("{k}/PKS/{n}"), signed, None)?,
        };
        l.run::<Innovation>(id, brida, format!("replicate-{id}-{k}"), body)
            .await?;
    }
    Ok(())
}

async fn project(
    l: &mut Loader<'_>,
    cohort: jejak_engine::domain::cohort::CohortFacts,
    enrollment: Enrollment,
    i: usize,
    reach: Reach,
    starts: NaiveDate,
    ends: NaiveDate,
) -> anyhow::Result<()> {
    let project_id = ProjectId::for_participant(&cohort.cohort_id, &enrollment.participant.person);
    let id = project_id.to_string();
    let participant = Actor::new(enrollment.participant.person.as_str(), Role::Participant);
    let mentor = Actor::new(enrollment.mentor.clone(), Role::Mentor);
    let coach = Actor::new(enrollment.coach.clone(), Role::Coach);
    let examiner = Actor::new(enrollment.examiners[0].clone(), Role::Examiner);
    let organizer = Actor::new(cohort.organizer.clone(), Role::Organizer);
    let span = (ends - starts).num_days().max(40) as u64;
    let due = |part: u64| {
        starts
            .checked_add_days(Days::new(span * part / 4))
            .expect("a date")
    };
    let short = |n: u64, title: &str| MilestonePlan {
        id: MilestoneId::parse(&format!("m{n}")).expect("an id"),
        horizon: Horizon::Short,
        title: title.to_owned(),
        due: due(n),
        expected_output: "SK tim efektif, notulen, daftar hadir, dokumentasi".into(),
    };
    let areas = [
        "Pelayanan perizinan",
        "Tata kelola arsip",
        "Pelayanan kesehatan",
        "Pengelolaan aduan",
        "Pendapatan daerah",
        "Data kependudukan",
    ];
    let area = areas[i % areas.len()];
    let proposal = Proposal {
        title: format!("{area}: layanan daring terpadu {}", i + 1),
        change_area: area.into(),
        problem: "Layanan lambat dan tidak terpantau".into(),
        baseline: "Rata-rata penyelesaian 7 hari kerja".into(),
        goals: Goals {
            short_term: "Aplikasi berjalan di unit kerja".into(),
            medium_term: "Seluruh layanan unit daring".into(),
            long_term: "Terintegrasi dengan layanan kota".into(),
        },
        stakeholders: vec![Stakeholder {
            name: "Kepala OPD".into(),
            internal: true,
            influence: Level3::High,
            interest: Level3::High,
        }],
        team: vec![TeamMember {
            name: "Tim efektif".into(),
            role: "Pelaksana".into(),
        }],
        milestones: vec![
            short(1, "Membentuk tim efektif"),
            short(2, "Menyusun SOP dan aplikasi"),
            short(3, "Uji coba dan sosialisasi"),
            MilestonePlan {
                id: MilestoneId::parse("m4").expect("an id"),
                horizon: Horizon::Medium,
                title: "Perluasan ke seluruh layanan".into(),
                due: ends.checked_add_days(Days::new(180)).expect("a date"),
                expected_output: "Laporan perluasan".into(),
            },
        ],
    };
    let step = |name: &str| format!("{id}-{name}");
    // When each step happens: `d` days after the cohort starts, or before
    // it ends.
    let from_start = |d: u64| starts.checked_add_days(Days::new(d)).expect("a date");
    let before_end = |d: u64| ends.checked_sub_days(Days::new(d)).expect("a date");
    l.on(from_start(3 + i as u64 % 5));
    l.run::<ChangeProject>(
        &id,
        &participant,
        step("propose"),
        P::Propose {
            cohort,
            enrollment,
            proposal,
        },
    )
    .await?;
    if reach == Reach::Proposed {
        return Ok(());
    }
    l.on(from_start(12 + i as u64 % 3));
    l.run::<ChangeProject>(&id, &mentor, step("agree"), P::AgreeChangeArea)
        .await?;
    l.run::<ChangeProject>(
        &id,
        &mentor,
        step("approve-plan"),
        P::ApproveActionPlan {
            note: "Lanjutkan".into(),
        },
    )
    .await?;
    l.run::<ChangeProject>(
        &id,
        &coach,
        step("comment"),
        P::Comment {
            text: "Perjelas indikator keberhasilan".into(),
        },
    )
    .await?;
    if reach == Reach::PlanApproved {
        return Ok(());
    }
    l.on(from_start(21));
    l.run::<ChangeProject>(
        &id,
        &examiner,
        step("seminar"),
        P::RecordProposalSeminar {
            accepted: true,
            notes: String::new(),
        },
    )
    .await?;
    if reach == Reach::Withdrawn {
        l.on(from_start(30));
        l.run::<ChangeProject>(
            &id,
            &participant,
            step("withdraw"),
            P::Withdraw {
                reason: "Mutasi jabatan".into(),
            },
        )
        .await?;
        return Ok(());
    }
    l.on(from_start(24));
    l.run::<ChangeProject>(&id, &organizer, step("start"), P::StartWorkplacePhase)
        .await?;
    let approved = match reach {
        Reach::Piloted(n) => n,
        _ => 3,
    };
    for n in 1..=3usize {
        let milestone_id = MilestoneId::parse(&format!("m{n}"))?;
        if n > approved + 1 {
            break;
        }
        // Evidence a few days before the milestone is due; the mentor's
        // answer a few days after.
        let milestone_due = due(n as u64);
        let around = |d: i64| {
            milestone_due
                .checked_add_signed(chrono::Duration::days(d))
                .expect("a date")
        };
        l.on(around(-3 - (i % 4) as i64));
        l.run::<ChangeProject>(
            &id,
            &participant,
            step(&format!("evidence-m{n}")),
            P::SubmitEvidence {
                milestone_id: milestone_id.clone(),
                attachments: vec![file("notulen.pdf", i * 10 + n)],
                note: String::new(),
            },
        )
        .await?;
        if n <= approved {
            if (i + n).is_multiple_of(5) {
                l.on(around(-1));
                l.run::<ChangeProject>(
                    &id,
                    &mentor,
                    step(&format!("return-m{n}")),
                    P::ReturnMilestone {
                        milestone_id: milestone_id.clone(),
                        reason: "Daftar hadir belum dilampirkan".into(),
                    },
                )
                .await?;
                l.run::<ChangeProject>(
                    &id,
                    &participant,
                    step(&format!("resubmit-m{n}")),
                    P::SubmitEvidence {
                        milestone_id: milestone_id.clone(),
                        attachments: vec![file("daftar-hadir.pdf", i * 10 + n)],
                        note: String::new(),
                    },
                )
                .await?;
            }
            l.on(around(2 + (i % 3) as i64));
            l.run::<ChangeProject>(
                &id,
                &mentor,
                step(&format!("approve-m{n}")),
                P::ApproveMilestone {
                    milestone_id,
                    note: String::new(),
                },
            )
            .await?;
        }
    }
    if matches!(reach, Reach::Piloted(_)) {
        return Ok(());
    }
    l.on(before_end(20));
    l.run::<ChangeProject>(
        &id,
        &participant,
        step("report"),
        P::SubmitFinalReport {
            summary: "Perubahan berjalan sesuai rencana".into(),
            attachments: vec![file("laporan-akhir.pdf", i)],
        },
    )
    .await?;
    if reach == Reach::Deferred {
        l.on(before_end(5));
        l.run::<ChangeProject>(
            &id,
            &organizer,
            step("defer"),
            P::DeferGraduation {
                reason: "Belum memenuhi kehadiran".into(),
            },
        )
        .await?;
        return Ok(());
    }
    let ratings = (1..=3)
        .map(|n| TargetRating {
            milestone_id: MilestoneId::parse(&format!("m{n}")).expect("an id"),
            rating: if (i + n).is_multiple_of(3) {
                Rating::Exceeds
            } else {
                Rating::Meets
            },
        })
        .collect();
    l.on(before_end(12));
    l.run::<ChangeProject>(
        &id,
        &examiner,
        step("final"),
        P::RecordFinalSeminar {
            ratings,
            score: 70 + (i % 30) as u8,
            notes: String::new(),
        },
    )
    .await?;
    let grade = match i % 3 {
        0 => Grade::SangatMemuaskan,
        1 => Grade::Memuaskan,
        _ => Grade::CukupMemuaskan,
    };
    l.on(before_end(10));
    l.run::<ChangeProject>(&id, &organizer, step("grade"), P::SetGrade { grade })
        .await?;
    if reach == Reach::Graded {
        return Ok(());
    }
    // Adopted a month after the cohort ends.
    let adopted = ends.checked_add_days(Days::new(30)).expect("a date");
    l.on(adopted);
    if l.run::<ChangeProject>(
        &id,
        &mentor,
        step("endorse"),
        P::EndorseAdoption {
            note: "Unit melanjutkan perubahan".into(),
        },
    )
    .await?
    .written()
    {
        l.adopted.push(project_id.clone());
    }
    if reach == Reach::Replicated {
        let signed = adopted.checked_add_days(Days::new(60)).expect("a date");
        let replication = Replication {
            adopter_opd: OpdCode::parse("kec-jombang")?,
            adopter_region: "Kota Cilegon".into(),
            agreement: Agreement::new("Surat", &format!("{i}/{}", signed.year()), signed, None)?,
        };
        l.on(signed);
        l.run::<ChangeProject>(
            &id,
            &mentor,
            step("replicate"),
            P::RecordReplication(replication),
        )
        .await?;
    }
    Ok(())
}
