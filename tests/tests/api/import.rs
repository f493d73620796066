//! Spreadsheets in over gRPC (ADR 0031): `Import.ImportInnovations` and
//! `Import.ImportRoster`, rows streamed by the client. A dry run reports
//! exactly the bad rows, each with its column and why, and writes
//! nothing; an import that applies writes once (the same file again
//! writes nothing), dates each fact by its row, amends what changed, and
//! is allowed to exactly those the commands it becomes allow.

use chrono::{DateTime, TimeZone as _, Utc};
use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::app::{TestApp, spawn_app, spawn_app_with};
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(
    a_dry_run_reports_exactly_the_bad_rows_and_writes_nothing,
    an_import_writes_once_dated_by_its_rows_and_a_changed_row_amends,
    an_import_is_allowed_to_whom_its_commands_are,
    a_roster_enrols_once_and_reassigns_what_changed,
    an_import_past_its_limit_is_refused_with_what_to_do
);

fn row(n: u32, cells: &[(&str, &str)]) -> pb::ImportRow {
    pb::ImportRow {
        row: n,
        cells: cells
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// The headers the file gave its fields, for the report's columns.
fn headers() -> std::collections::HashMap<String, String> {
    [
        ("opd", "Perangkat Daerah"),
        ("pilot_started_on", "Tanggal Uji Coba"),
        ("sector", "Urusan"),
        ("stage", "Tahapan"),
        ("nip", "NIP"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn import(
    app: &TestApp,
    token: &str,
    cohort: Option<&str>,
    apply: bool,
    rows: Vec<pb::ImportRow>,
) -> Result<pb::ImportReport, tonic::Status> {
    let options = pb::ImportOptions {
        apply,
        cohort_id: cohort.unwrap_or_default().to_owned(),
        headers: headers(),
        file: "register.xlsx".into(),
    };
    let messages: Vec<pb::ImportRequest> =
        std::iter::once(pb::import_request::Part::Options(options))
            .chain(rows.into_iter().map(pb::import_request::Part::Row))
            .map(|part| pb::ImportRequest { part: Some(part) })
            .collect();
    let mut client = app.import(token);
    let answer = match cohort {
        Some(_) => client.import_roster(futures::stream::iter(messages)).await,
        None => {
            client
                .import_innovations(futures::stream::iter(messages))
                .await
        }
    };
    answer.map(tonic::Response::into_inner)
}

/// An innovation's row with every field a row needs.
fn innovation(n: u32, name: &str, opd: &str, stage: &str, more: &[(&str, &str)]) -> pb::ImportRow {
    let mut cells = vec![
        ("name", name),
        ("opd", opd),
        ("stage", stage),
        ("initiator", "ASN"),
        ("form", "pelayanan publik"),
        ("digital", "digital"),
        ("sector", "kesehatan"),
        ("goal", "Layanan lebih dekat"),
        ("benefit", "Warga tidak antre"),
        ("budget", "Rp 15.000.000"),
        ("sdgs", "3"),
    ];
    cells.extend_from_slice(more);
    row(n, &cells)
}

async fn units(app: &TestApp, p: &People) {
    add_opds(
        app,
        &p.admin,
        &[
            ("dinkes", "Dinas Kesehatan"),
            ("dpmptsp", "Dinas Penanaman Modal dan PTSP"),
            ("disdik", "Dinas Pendidikan"),
        ],
    )
    .await;
}

/// The register's statistics once the view has applied `position`.
async fn statistics(app: &TestApp, token: &str, position: u64) -> pb::InnovationStatistics {
    app.innovations(token)
        .get_statistics(pb::GetStatisticsRequest {
            min_position: position,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

fn outcomes(report: &pb::ImportReport, outcome: pb::RowOutcome) -> Vec<u32> {
    report
        .rows
        .iter()
        .filter(|r| r.outcome == outcome as i32)
        .map(|r| r.row)
        .collect()
}

fn line(report: &pb::ImportReport, n: u32) -> &pb::RowReport {
    report
        .rows
        .iter()
        .find(|r| r.row == n)
        .unwrap_or_else(|| panic!("row {n} in {report:?}"))
}

async fn a_dry_run_reports_exactly_the_bad_rows_and_writes_nothing(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    units(&app, &p).await;
    let head = app.app.engine().store().known_head();
    let rows = vec![
        innovation(
            2,
            "Antar Obat",
            "Dinas Kesehatan",
            "uji coba",
            &[("pilot_started_on", "2025-04-01")],
        ),
        innovation(3, "Salah Unit", "dinkess", "inisiatif", &[]),
        innovation(
            4,
            "Tanggal Salah",
            "dinkes",
            "uji coba",
            &[("pilot_started_on", "31/02/2025")],
        ),
        row(
            5,
            &[
                ("name", "Tanpa Urusan"),
                ("opd", "dinkes"),
                ("stage", "inisiatif"),
                ("initiator", "ASN"),
                ("form", "lainnya"),
                ("goal", "x"),
                ("benefit", "y"),
            ],
        ),
        innovation(6, "Tahap Aneh", "dinkes", "selesai", &[]),
        innovation(
            7,
            "Dari Masa Depan",
            "dinkes",
            "uji coba",
            &[("pilot_started_on", "2027-01-01")],
        ),
    ];
    let report = import(&app, &p.brida, None, false, rows.clone())
        .await
        .unwrap();
    assert!(!report.applied);
    assert_eq!(
        outcomes(&report, pb::RowOutcome::Refused),
        vec![3, 4, 5, 6, 7]
    );
    assert_eq!(outcomes(&report, pb::RowOutcome::Written), vec![2]);
    assert_eq!(
        line(&report, 2).changes,
        vec!["registered", "piloted 2025-04-01"]
    );
    let unit = line(&report, 3);
    assert_eq!(unit.column, "Perangkat Daerah");
    assert!(unit.reason.contains("did you mean dinkes"), "{unit:?}");
    let date = line(&report, 4);
    assert_eq!(date.column, "Tanggal Uji Coba");
    assert!(date.reason.contains("not a date"), "{date:?}");
    let missing = line(&report, 5);
    assert_eq!(missing.column, "Urusan");
    assert!(missing.reason.contains("missing field"), "{missing:?}");
    let stage = line(&report, 6);
    assert_eq!(stage.column, "Tahapan");
    assert!(stage.reason.contains("uji coba"), "{stage:?}");
    assert!(line(&report, 7).reason.contains("future"));
    assert_eq!(
        app.app.engine().store().known_head(),
        head,
        "a dry run writes nothing"
    );
    // Applying a file with bad rows writes none of it.
    let report = import(&app, &p.brida, None, true, rows).await.unwrap();
    assert!(!report.applied);
    assert_eq!(report.refused, 5);
    assert_eq!(
        app.app.engine().store().known_head(),
        head,
        "nothing half-written"
    );
    app.stop().await;
}

fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

async fn an_import_writes_once_dated_by_its_rows_and_a_changed_row_amends(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    units(&app, &p).await;
    let register = |name: &str, budget: &str, stage: &str, implemented: &str| {
        let mut more = vec![
            ("id", "antar-obat"),
            ("registered_on", "2024-01-10"),
            ("decree_number", "SK 050/12/2024"),
            ("decree_date", "2024-02-01"),
            ("pilot_started_on", "2024-03-01"),
            ("budget", budget),
        ];
        if !implemented.is_empty() {
            more.push(("implemented_on", implemented));
        }
        vec![
            innovation(2, name, "dinkes", stage, &more),
            innovation(
                3,
                "Izin Kilat",
                "Dinas Penanaman Modal dan PTSP",
                "penerapan",
                &[
                    ("pilot_started_on", "2023-05-01"),
                    ("implemented_on", "2023-09-01"),
                ],
            ),
            innovation(
                4,
                "Sekolah Ramah",
                "disdik",
                "replikasi",
                &[
                    ("implemented_on", "2024-06-01"),
                    (
                        "adopters",
                        "disdik, Kota Serang, PKS 1/PKS/2025, 2025-01-15",
                    ),
                ],
            ),
            innovation(
                5,
                "Posyandu Digital",
                "dinkes",
                "vakum",
                &[
                    ("implemented_on", "2024-01-01"),
                    ("dormant_since", "2025-06-01"),
                ],
            ),
        ]
    };
    let first = register("Antar Obat", "15000000", "uji coba", "");
    let report = import(&app, &p.brida, None, true, first.clone())
        .await
        .unwrap();
    assert!(report.applied, "{report:?}");
    assert_eq!((report.written, report.refused), (4, 0), "{report:?}");
    let stats = statistics(&app, &p.brida, report.position).await;
    for (stage, count) in [
        ("piloted", 1),
        ("adopted", 1),
        ("replicated", 1),
        ("dormant", 1),
    ] {
        assert_eq!(
            stats.by_stage.get(stage),
            Some(&count),
            "{stage}: {stats:?}"
        );
    }
    assert_eq!(stats.by_adopters.get("1"), Some(&1));
    assert_eq!(stats.dormant.len(), 1);

    // The same file again writes nothing.
    let head = app.app.engine().store().known_head();
    let again = import(&app, &p.brida, None, true, first).await.unwrap();
    assert_eq!((again.written, again.unchanged), (0, 4), "{again:?}");
    // Whatever came after is the process managers' own work, following
    // the first import in the background, never the importer's.
    let after = app
        .app
        .engine()
        .store()
        .read_all(head, 1_000)
        .await
        .unwrap();
    assert!(
        after
            .iter()
            .all(|e| e.decoded_metadata().actor_role.as_deref() == Some("system")),
        "{:?}",
        after.iter().map(|e| &e.event_type).collect::<Vec<_>>()
    );

    // Its facts carry the row's dates: registered on its day, and in the
    // pilot by effective time only from the pilot's day.
    let entry = app
        .innovations(&p.brida)
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: "antar-obat".into(),
            min_position: report.position,
        })
        .await
        .unwrap()
        .into_inner();
    let registered = entry.registered_at.unwrap();
    assert_eq!(
        DateTime::from_timestamp(registered.seconds, 0)
            .unwrap()
            .date_naive()
            .to_string(),
        "2024-01-10"
    );
    assert_eq!(entry.pilot_started_on, "2024-03-01");
    let state_at = |at: DateTime<Utc>| {
        let app = &app;
        let auditor = p.auditor.clone();
        async move {
            app.audit(&auditor)
                .get_state_at(pb::GetStateAtRequest {
                    kind: pb::StreamKind::Innovation as i32,
                    id: "antar-obat".into(),
                    version: 0,
                    at: Some(ts(at)),
                    effective: true,
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    assert_eq!(state_at(day(2023, 12, 1)).await.version, 0);
    assert_eq!(state_at(day(2024, 2, 15)).await.lifecycle, "proposed");
    assert_eq!(state_at(day(2024, 3, 5)).await.lifecycle, "piloted");

    // A changed row amends that innovation and moves its stage on; no
    // second innovation.
    let changed = register("Antar Obat Gratis", "20000000", "penerapan", "2025-01-01");
    let report = import(&app, &p.brida, None, true, changed).await.unwrap();
    assert_eq!((report.written, report.unchanged), (1, 3), "{report:?}");
    assert_eq!(
        line(&report, 2).changes,
        vec!["amended: name, budget", "implemented 2025-01-01"]
    );
    let after = statistics(&app, &p.brida, report.position).await;
    assert_eq!(after.total, stats.total, "amended, not added");
    assert_eq!(after.by_stage.get("adopted"), Some(&2));
    assert_eq!(after.by_stage.get("piloted"), None);

    // Never back: the file says uji coba of what jejak has implemented.
    let back = register("Antar Obat Gratis", "20000000", "uji coba", "");
    let report = import(&app, &p.brida, None, false, back).await.unwrap();
    let refused = line(&report, 2);
    assert_eq!(refused.column, "Tahapan");
    assert!(refused.reason.contains("never back"), "{refused:?}");
    app.stop().await;
}

async fn an_import_is_allowed_to_whom_its_commands_are(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    units(&app, &p).await;
    let rows = || {
        vec![
            innovation(2, "Izin Kilat", "dpmptsp", "inisiatif", &[]),
            innovation(3, "Antar Obat", "dinkes", "inisiatif", &[]),
        ]
    };
    for (token, who) in [
        (&p.participant, "a participant"),
        (&p.mentor, "a mentor"),
        (&p.organizer, "an organizer"),
        (&p.auditor, "an auditor"),
    ] {
        let refused = import(&app, token, None, false, rows()).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{who}: {refused:?}");
    }
    // An OPD's officer imports its own OPD's innovations, not another's.
    let officer = import(&app, &p.officer, None, false, rows()).await.unwrap();
    assert_eq!(outcomes(&officer, pb::RowOutcome::Written), vec![2]);
    assert!(line(&officer, 3).reason.contains("own OPD"), "{officer:?}");
    // A roster is the organizer's: not BRIDA's.
    let roster = vec![row(2, &[("nip", NIP)])];
    let refused = import(&app, &p.brida, Some(COHORT), false, roster)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    // An import is dated by its rows, never by the backdating header.
    let mut request = tonic::Request::new(futures::stream::iter(vec![pb::ImportRequest {
        part: Some(pb::import_request::Part::Options(
            pb::ImportOptions::default(),
        )),
    }]));
    request.metadata_mut().insert(
        jejak_server::auth::OCCURRED_AT_HEADER,
        "2024-01-01T00:00:00Z".parse().unwrap(),
    );
    let refused = app
        .import(&p.brida)
        .import_innovations(request)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    // The first message must be the options.
    let refused = app
        .import(&p.brida)
        .import_innovations(futures::stream::iter(vec![pb::ImportRequest {
            part: Some(pb::import_request::Part::Row(innovation(
                2,
                "x",
                "dinkes",
                "inisiatif",
                &[],
            ))),
        }]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("options"));
    app.stop().await;
}

fn participant(n: u32, nip: &str, name: &str, mentor: &str) -> pb::ImportRow {
    row(
        n,
        &[
            ("nip", nip),
            ("name", name),
            ("position", "Kepala Bidang"),
            ("opd", "Dinas Kesehatan"),
            ("mentor", mentor),
            ("coach", "coach-1"),
            ("examiners", "examiner-1, examiner-2"),
        ],
    )
}

async fn a_roster_enrols_once_and_reassigns_what_changed(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    units(&app, &p).await;
    app.cohorts(&p.organizer)
        .open_cohort(open_cohort())
        .await
        .unwrap();
    const OTHER: &str = "199001012015032001";
    let roster = |mentor: &str, name: &str| {
        vec![
            participant(2, NIP, "Siti Rahmawati", "mentor-1"),
            participant(3, OTHER, name, mentor),
        ]
    };
    // A bad NIP is reported with its row and column; nothing written.
    let head = app.app.engine().store().known_head();
    let mut bad = roster("mentor-2", "Budi Santoso");
    bad.push(participant(4, "19870315", "Tanpa NIP", "mentor-1"));
    let report = import(&app, &p.organizer, Some(COHORT), true, bad)
        .await
        .unwrap();
    assert!(!report.applied);
    assert_eq!(outcomes(&report, pb::RowOutcome::Refused), vec![4]);
    assert_eq!(line(&report, 4).column, "NIP");
    assert!(line(&report, 4).reason.contains("18 digits"));
    assert_eq!(app.app.engine().store().known_head(), head);

    let report = import(
        &app,
        &p.organizer,
        Some(COHORT),
        true,
        roster("mentor-2", "Budi Santoso"),
    )
    .await
    .unwrap();
    assert_eq!((report.written, report.refused), (2, 0), "{report:?}");
    assert_eq!(line(&report, 2).id, format!("{COHORT}/001"));
    assert_eq!(line(&report, 3).id, format!("{COHORT}/002"));
    // Again: nothing.
    let head = app.app.engine().store().known_head();
    let again = import(
        &app,
        &p.organizer,
        Some(COHORT),
        true,
        roster("mentor-2", "Budi Santoso"),
    )
    .await
    .unwrap();
    assert_eq!(again.unchanged, 2, "{again:?}");
    assert_eq!(app.app.engine().store().known_head(), head);
    // A new mentor reassigns; no second enrolment.
    let moved = import(
        &app,
        &p.organizer,
        Some(COHORT),
        true,
        roster("mentor-3", "Budi Santoso"),
    )
    .await
    .unwrap();
    assert_eq!(line(&moved, 3).changes, vec!["reassigned: mentor"]);
    let cohort = app
        .cohorts(&p.organizer)
        .get_cohort_progress(pb::GetCohortProgressRequest {
            cohort_id: COHORT.into(),
            min_position: moved.position,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cohort.cohort.unwrap().enrolled, 2);
    // A new name amends the enrolment: the dry run says so and writes
    // nothing; applied, a name and a mentor change together.
    let head = app.app.engine().store().known_head();
    let dry = import(
        &app,
        &p.organizer,
        Some(COHORT),
        false,
        roster("mentor-3", "Budi S."),
    )
    .await
    .unwrap();
    assert_eq!(line(&dry, 3).changes, vec!["amended: name"], "{dry:?}");
    assert_eq!(app.app.engine().store().known_head(), head);
    let renamed = import(
        &app,
        &p.organizer,
        Some(COHORT),
        true,
        roster("mentor-4", "Budi S."),
    )
    .await
    .unwrap();
    assert_eq!(
        line(&renamed, 3).changes,
        vec!["amended: name", "reassigned: mentor"],
        "{renamed:?}"
    );
    assert_eq!(line(&renamed, 3).id, format!("{COHORT}/002"));
    let again = import(
        &app,
        &p.organizer,
        Some(COHORT),
        true,
        roster("mentor-4", "Budi S."),
    )
    .await
    .unwrap();
    // The cohort reads the amended name: the same file is unchanged.
    assert_eq!(again.unchanged, 2, "{again:?}");
    // Another organizer's cohort is not found.
    let other = app.token(Role::Organizer, "organizer-2");
    let refused = import(
        &app,
        &other,
        Some(COHORT),
        false,
        roster("mentor-4", "Budi S."),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    app.stop().await;
}

async fn an_import_past_its_limit_is_refused_with_what_to_do(db: &TestDb) {
    let app = spawn_app_with(db, |config| config.limits.max_import_rows = 3).await;
    let p = People::of(&app);
    let rows = (2..7)
        .map(|n| innovation(n, &format!("Inovasi {n}"), "dinkes", "inisiatif", &[]))
        .collect();
    let refused = import(&app, &p.brida, None, true, rows).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().contains("split the file"), "{refused:?}");
    assert_eq!(statistics(&app, &p.brida, 0).await.total, 0);
    app.stop().await;
}
