//! The city's statistics (ADR 0035): the trend by year on a known,
//! backdated log (in the region's zone), the dormant and most replicated
//! named as the register shows them (also after an amended profile),
//! each filter alone and combined equal to a tally of the rows that match,
//! and bad filter values refused with what is allowed.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone as _, Utc};
use jejak_engine::domain::Role;
use jejak_projections::views::{Dormant, RegisterFilter, StatsFilter, statistics};
use jejak_proto::v1 as pb;
use jejak_tests::app::{TestApp, spawn_app};
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::journeys::replicate_innovation;
use super::*;

on_both_backends!(
    the_statistics_have_a_trend_by_year_names_and_filters,
    bad_statistics_filters_are_refused_with_what_is_allowed
);

const REGION: &str = "Kota Cilegon";

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

fn dated(id: &str, on: &str, text: &str) -> pb::DatedRequest {
    pb::DatedRequest {
        request_id: String::new(),
        innovation_id: id.into(),
        on: on.into(),
        text: text.into(),
        expected_version: None,
    }
}

/// Judges `id` feasible at `judged`, then designates it by `decree` at
/// `designated` (the decree dated that day in UTC).
async fn designated(
    app: &TestApp,
    token: &str,
    id: &str,
    decree: &str,
    judged: DateTime<Utc>,
    designated: DateTime<Utc>,
) {
    let inv = || app.innovations(token);
    inv()
        .judge_feasibility(at(
            pb::JudgeFeasibilityRequest {
                request_id: String::new(),
                innovation_id: id.into(),
                feasible: true,
                notes: "Layak".into(),
                expected_version: None,
            },
            judged,
        ))
        .await
        .unwrap();
    inv()
        .designate(at(
            pb::DesignateRequest {
                request_id: String::new(),
                innovation_id: id.into(),
                decree_number: decree.into(),
                decree_date: designated.date_naive().to_string(),
                expected_version: None,
            },
            designated,
        ))
        .await
        .unwrap();
}

/// The known log: A registered in 2023 (dinkes, puskesmas, digital,
/// kesehatan), piloted 2023, implemented and replicated 2024, dormant
/// 2025; B registered at 18:00 UTC on 31 December 2023, which is 2024 in
/// the region (dishub, OPD initiative, perhubungan); C registered 2024
/// and piloted 2025 (dinkes, community, kesehatan, not digital).
async fn known_log(app: &TestApp) -> u64 {
    let token = backdating(app, Role::BridaOfficer, "brida-1", None);
    let inv = || app.innovations(&token);
    let register = |id: &str, opd: &str, source: pb::Source, digital: bool, sector: &str| {
        pb::RegisterInnovationRequest {
            opd: opd.into(),
            source: source as i32,
            digital,
            sector: sector.into(),
            name: format!("Inovasi {id}"),
            unit: String::new(),
            ..super::refusals::register(id)
        }
    };
    inv()
        .register_innovation(at(
            register(
                "inv-a",
                "dinkes",
                pb::Source::HealthCompetition,
                true,
                "kesehatan",
            ),
            utc(2023, 3, 1, 3),
        ))
        .await
        .unwrap();
    designated(
        app,
        &token,
        "inv-a",
        "SK 1/2023",
        utc(2023, 3, 5, 3),
        utc(2023, 3, 10, 3),
    )
    .await;
    inv()
        .start_pilot(at(dated("inv-a", "2023-04-01", ""), utc(2023, 4, 1, 3)))
        .await
        .unwrap();
    inv()
        .evaluate_pilot(at(
            dated("inv-a", "2023-09-01", "Berhasil"),
            utc(2023, 9, 1, 3),
        ))
        .await
        .unwrap();
    inv()
        .implement(at(
            dated("inv-a", "2024-02-01", "APBD 2024"),
            utc(2024, 2, 1, 3),
        ))
        .await
        .unwrap();
    let mut replication = replicate_innovation("rep-a", "inv-a", "dinkes", "Kota Serang");
    if let Some(agreement) = replication.agreement.as_mut() {
        agreement.signed_on = "2024-05-01".into();
    }
    inv()
        .record_replication(at(replication, utc(2024, 6, 1, 3)))
        .await
        .unwrap();
    inv()
        .mark_dormant(at(
            dated("inv-a", "2025-03-01", "Anggaran berhenti"),
            utc(2025, 3, 1, 3),
        ))
        .await
        .unwrap();
    // New Year's Eve in UTC, New Year's Day in Cilegon (UTC+7).
    inv()
        .register_innovation(at(
            register(
                "inv-b",
                "dishub",
                pb::Source::OpdInitiative,
                false,
                "perhubungan",
            ),
            utc(2023, 12, 31, 18),
        ))
        .await
        .unwrap();
    inv()
        .register_innovation(at(
            register("inv-c", "dinkes", pb::Source::Community, false, "kesehatan"),
            utc(2024, 6, 1, 3),
        ))
        .await
        .unwrap();
    designated(
        app,
        &token,
        "inv-c",
        "SK 2/2024",
        utc(2024, 7, 1, 3),
        utc(2024, 7, 2, 3),
    )
    .await;
    inv()
        .start_pilot(at(dated("inv-c", "2025-02-01", ""), utc(2025, 2, 1, 3)))
        .await
        .unwrap()
        .into_inner()
        .position
}

async fn stats(
    app: &TestApp,
    token: &str,
    request: pb::GetStatisticsRequest,
) -> Result<pb::InnovationStatistics, tonic::Status> {
    app.innovations(token)
        .get_statistics(request)
        .await
        .map(tonic::Response::into_inner)
}

fn year(
    year: i32,
    registered: u32,
    piloted: u32,
    adopted: u32,
    replicated: u32,
    dormant: u32,
) -> pb::YearTrend {
    pb::YearTrend {
        year,
        registered,
        piloted,
        adopted,
        replicated,
        dormant,
    }
}

fn ids(s: &pb::InnovationStatistics) -> Vec<String> {
    s.by_opd
        .iter()
        .flat_map(|o| std::iter::repeat_n(o.opd.clone(), o.total as usize))
        .collect()
}

async fn the_statistics_have_a_trend_by_year_names_and_filters(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let head = known_log(&app).await;
    let all = stats(
        &app,
        &p.brida,
        pb::GetStatisticsRequest {
            min_position: head,
            ..pb::GetStatisticsRequest::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(
        all.trend,
        [
            year(2023, 1, 1, 0, 0, 0),
            year(2024, 2, 0, 1, 1, 0),
            year(2025, 0, 1, 0, 0, 1),
        ],
        "registered by when it happened in the region's year; each stage the first time"
    );
    // Named in the answer itself.
    let named = |n: &pb::NamedInnovation| (n.innovation_id.clone(), n.name.clone(), n.opd.clone());
    assert_eq!(all.dormant, ["inv-a"]);
    assert_eq!(all.dormant_total, 1);
    assert_eq!(
        all.dormant_innovations
            .iter()
            .map(named)
            .collect::<Vec<_>>(),
        [("inv-a".into(), "Inovasi inv-a".into(), "dinkes".into())]
    );
    assert_eq!(
        all.most_replicated
            .iter()
            .map(|r| (
                r.innovation_id.as_str(),
                r.name.as_str(),
                r.opd.as_str(),
                r.adopters
            ))
            .collect::<Vec<_>>(),
        [("inv-a", "Inovasi inv-a", "dinkes", 1)]
    );

    // Each filter alone and combined: what the register's rows that match
    // tally to, and the figures expected of the known log.
    let views = app.app.views();
    let rows = views
        .register(&RegisterFilter::default(), None, 500, Some(head))
        .await
        .unwrap()
        .rows;
    let known: BTreeSet<String> = ["dinkes", "dishub"].map(String::from).into();
    let only = |opds: &[&str]| opds.iter().map(|o| (*o).to_owned()).collect::<Vec<_>>();
    let cases: Vec<(pb::GetStatisticsRequest, u32)> = vec![
        (
            pb::GetStatisticsRequest {
                year: 2024,
                ..Default::default()
            },
            2,
        ),
        (
            pb::GetStatisticsRequest {
                year: 2023,
                year_to: 2024,
                ..Default::default()
            },
            3,
        ),
        (
            pb::GetStatisticsRequest {
                year: 2025,
                ..Default::default()
            },
            0,
        ),
        (
            pb::GetStatisticsRequest {
                source: pb::Source::HealthCompetition as i32,
                ..Default::default()
            },
            1,
        ),
        (
            pb::GetStatisticsRequest {
                sector: "perhubungan".into(),
                ..Default::default()
            },
            1,
        ),
        (
            pb::GetStatisticsRequest {
                digital: Some(true),
                ..Default::default()
            },
            1,
        ),
        (
            pb::GetStatisticsRequest {
                digital: Some(false),
                ..Default::default()
            },
            2,
        ),
        (
            pb::GetStatisticsRequest {
                only_opds: only(&["dinkes"]),
                ..Default::default()
            },
            2,
        ),
        (
            pb::GetStatisticsRequest {
                only_opds: only(&["dinkes", "dishub", "bappeda"]),
                ..Default::default()
            },
            3,
        ),
        (
            pb::GetStatisticsRequest {
                year: 2024,
                only_opds: only(&["dinkes"]),
                ..Default::default()
            },
            1,
        ),
        (
            pb::GetStatisticsRequest {
                digital: Some(false),
                sector: "kesehatan".into(),
                source: pb::Source::Community as i32,
                year: 2024,
                year_to: 2025,
                only_opds: only(&["dinkes", "dishub"]),
                ..Default::default()
            },
            1,
        ),
    ];
    for (request, total) in cases {
        let answer = stats(
            &app,
            &p.brida,
            pb::GetStatisticsRequest {
                opds: only(&["dinkes", "dishub"]),
                min_position: head,
                ..request.clone()
            },
        )
        .await
        .unwrap();
        assert_eq!(answer.total, total, "{request:?}: {:?}", ids(&answer));
        let filter = jejak_server_filter(&request);
        let matching: Vec<_> = rows
            .iter()
            .filter(|r| filter.matches(r, REGION))
            .cloned()
            .collect();
        let opds = if filter.opds.is_empty() {
            known.clone()
        } else {
            filter.opds.clone()
        };
        let tally = statistics(&matching, &opds);
        let read = views
            .statistics_filtered(
                &only(&["dinkes", "dishub"]),
                REGION,
                &filter,
                &Dormant::default(),
                Some(head),
            )
            .await
            .unwrap();
        assert_eq!(
            read, tally,
            "{request:?}: the read equals the tally of its rows"
        );
        assert_eq!(answer.total, tally.total);
        assert_eq!(answer.opds_without, tally.opds_without, "{request:?}");
        assert_eq!(
            answer
                .trend
                .iter()
                .map(|t| (
                    t.year,
                    t.registered,
                    t.piloted,
                    t.adopted,
                    t.replicated,
                    t.dormant
                ))
                .collect::<Vec<_>>(),
            tally
                .trend
                .iter()
                .map(|t| (
                    t.year,
                    t.registered,
                    t.piloted,
                    t.adopted,
                    t.replicated,
                    t.dormant
                ))
                .collect::<Vec<_>>(),
            "{request:?}"
        );
        assert_eq!(
            answer.dormant,
            tally
                .dormant
                .iter()
                .map(|d| d.innovation_id.clone())
                .collect::<Vec<_>>()
        );
        assert!((answer.gini - tally.gini).abs() < 1e-12, "{request:?}");
    }
    // The year of New Year's Eve in UTC is the region's next year.
    let b = stats(
        &app,
        &p.brida,
        pb::GetStatisticsRequest {
            year: 2024,
            sector: "perhubungan".into(),
            min_position: head,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (b.total, b.trend.clone()),
        (1, vec![year(2024, 1, 0, 0, 0, 0)])
    );

    // An amended name is the name the statistics give.
    let amended = app
        .innovations(&p.brida)
        .amend_profile(pb::AmendProfileRequest {
            request_id: "amend-a".into(),
            innovation_id: "inv-a".into(),
            name: "Posyandu Remaja Digital".into(),
            unit: String::new(),
            form: pb::Form::PublicService as i32,
            digital: true,
            sector: "kesehatan".into(),
            sdgs: vec![3],
            goal: "Tujuan".into(),
            benefit: "Manfaat".into(),
            budget: 0,
            legal_basis: String::new(),
            expected_version: None,
        })
        .await
        .unwrap()
        .into_inner();
    for request in [
        pb::GetStatisticsRequest::default(),
        pb::GetStatisticsRequest {
            digital: Some(true),
            ..Default::default()
        },
    ] {
        let after = stats(
            &app,
            &p.brida,
            pb::GetStatisticsRequest {
                min_position: amended.position,
                ..request
            },
        )
        .await
        .unwrap();
        assert_eq!(after.dormant_innovations[0].name, "Posyandu Remaja Digital");
        assert_eq!(after.most_replicated[0].name, "Posyandu Remaja Digital");
    }
    // An OPD's officer reads the city's figures, and names only of their own OPD's.
    let officer = app.officer_token("officer-dishub", "dishub");
    let theirs = stats(
        &app,
        &officer,
        pb::GetStatisticsRequest {
            min_position: amended.position,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(theirs.total, 3);
    assert!(theirs.dormant_innovations.is_empty() && theirs.most_replicated.is_empty());
}

/// The filter the service reads from `request` (as its own checks do).
fn jejak_server_filter(request: &pb::GetStatisticsRequest) -> StatsFilter {
    StatsFilter {
        years: match (request.year, request.year_to) {
            (0, _) => None,
            (y, 0) => Some((y, y)),
            (y, to) => Some((y, to)),
        },
        source: match pb::Source::try_from(request.source) {
            Ok(pb::Source::HealthCompetition) => Some("health_competition".into()),
            Ok(pb::Source::Community) => Some("community".into()),
            Ok(pb::Source::OpdInitiative) => Some("opd_initiative".into()),
            _ => None,
        },
        sector: (!request.sector.is_empty()).then(|| request.sector.clone()),
        digital: request.digital,
        opds: request.only_opds.iter().cloned().collect(),
    }
}

async fn bad_statistics_filters_are_refused_with_what_is_allowed(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let refused = |request: pb::GetStatisticsRequest, says: &'static [&'static str]| {
        let app = &app;
        let token = p.brida.clone();
        async move {
            let err = stats(app, &token, request.clone()).await.unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{request:?}: {err:?}");
            for word in says {
                assert!(
                    err.message().contains(word),
                    "{request:?}: «{}» says {word}",
                    err.message()
                );
            }
        }
    };
    refused(
        pb::GetStatisticsRequest {
            year: 1800,
            ..Default::default()
        },
        &["year", "1800", "1945", "2100"],
    )
    .await;
    refused(
        pb::GetStatisticsRequest {
            year: 2024,
            year_to: 3000,
            ..Default::default()
        },
        &["year_to", "3000", "2100"],
    )
    .await;
    refused(
        pb::GetStatisticsRequest {
            year: 2025,
            year_to: 2024,
            ..Default::default()
        },
        &["year_to", "before", "2025"],
    )
    .await;
    refused(
        pb::GetStatisticsRequest {
            year_to: 2024,
            ..Default::default()
        },
        &["year_to", "year"],
    )
    .await;
    refused(
        pb::GetStatisticsRequest {
            dormant_limit: 1_001,
            ..Default::default()
        },
        &[
            "dormant_limit",
            "1001",
            "1000",
            "ListInnovations",
            "dormant_only",
        ],
    )
    .await;
    refused(
        pb::GetStatisticsRequest {
            source: 99,
            ..Default::default()
        },
        &["source", "99", "SOURCE_HEALTH_COMPETITION"],
    )
    .await;
    refused(
        pb::GetStatisticsRequest {
            only_opds: vec!["Dinas Kesehatan!".into()],
            ..Default::default()
        },
        &["only_opds[0]"],
    )
    .await;
    refused(
        pb::GetStatisticsRequest {
            only_opds: (0..101).map(|i| format!("opd-{i}")).collect(),
            ..Default::default()
        },
        &["only_opds", "101", "100"],
    )
    .await;
    refused(
        pb::GetStatisticsRequest {
            sector: "x".repeat(201),
            ..Default::default()
        },
        &["sector", "200"],
    )
    .await;
    // Strangers to the statistics are refused whatever the filter.
    let err = stats(
        &app,
        &p.participant,
        pb::GetStatisticsRequest {
            year: 2024,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}
