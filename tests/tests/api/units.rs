//! Time and place: the region's units are data kept by an operator, and
//! once any is defined an enrolment or registration naming an unknown one
//! is refused with the nearest suggested; a log without units takes any
//! code, as before. And "today" is a day in the region's time zone.

use chrono::TimeZone as _;
use jejak_proto::v1 as pb;
use jejak_tests::app::{TestApp, spawn_app, spawn_app_with};
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::refusals::register;
use super::*;

on_both_backends!(
    units_are_kept_by_an_operator_and_unknown_ones_refused_with_the_nearest,
    a_log_without_units_takes_any_code,
    today_is_a_day_where_the_region_is,
    a_wit_region_has_its_own_today
);

fn unit(code: &str, name: &str, kind: &str, parent: &str) -> pb::AddUnitRequest {
    pb::AddUnitRequest {
        request_id: format!("unit-{code}"),
        unit: Some(pb::Unit {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            parent: parent.into(),
        }),
    }
}

async fn add(
    app: &TestApp,
    token: &str,
    r: pb::AddUnitRequest,
) -> Result<pb::WriteResult, tonic::Status> {
    app.admin(token)
        .add_unit(r)
        .await
        .map(tonic::Response::into_inner)
}

async fn units_are_kept_by_an_operator_and_unknown_ones_refused_with_the_nearest(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    // Only operators keep them.
    let refused = add(
        &app,
        &p.organizer,
        unit("dinkes", "Dinas Kesehatan", "opd", ""),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    for r in [
        unit("dinkes", "Dinas Kesehatan", "opd", ""),
        unit("dpmptsp", "Dinas Penanaman Modal dan PTSP", "opd", ""),
        unit("kec-cibeber", "Kecamatan Cibeber", "kecamatan", ""),
        unit("pkm-cibeber", "Puskesmas Cibeber", "puskesmas", "dinkes"),
    ] {
        add(&app, &p.admin, r).await.unwrap();
    }
    // A puskesmas belongs to an OPD the region has; a code is added once.
    let orphan = add(
        &app,
        &p.admin,
        unit("pkm-x", "Puskesmas X", "puskesmas", "dinkez"),
    )
    .await
    .unwrap_err();
    assert_eq!(orphan.code(), Code::InvalidArgument, "{orphan:?}");
    let twice = add(&app, &p.admin, {
        let mut r = unit("dinkes", "Dinas Lain", "opd", "");
        r.request_id = "other".into();
        r
    })
    .await
    .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists, "{twice:?}");
    // One code however it is written; an OPD or kecamatan under no one.
    let shouted = add(&app, &p.admin, unit("DINKES", "Dinas Kesehatan", "opd", ""))
        .await
        .unwrap_err();
    assert_eq!(shouted.code(), Code::AlreadyExists, "{shouted:?}");
    let nested = add(
        &app,
        &p.admin,
        unit("kec-baru", "Kecamatan Baru", "kecamatan", "dinkes"),
    )
    .await
    .unwrap_err();
    assert_eq!(nested.code(), Code::InvalidArgument, "{nested:?}");
    // Renamed, its code stays.
    app.admin(&p.admin)
        .rename_unit(pb::RenameUnitRequest {
            request_id: "rename".into(),
            code: "dpmptsp".into(),
            name: "DPMPTSP".into(),
        })
        .await
        .unwrap();
    let listed = app
        .admin(&p.organizer)
        .list_units(pb::ListUnitsRequest {
            kind: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let units: Vec<(&str, &str, &str, &str)> = listed
        .units
        .iter()
        .map(|u| {
            (
                u.code.as_str(),
                u.name.as_str(),
                u.kind.as_str(),
                u.parent.as_str(),
            )
        })
        .collect();
    assert_eq!(
        units,
        [
            ("dinkes", "Dinas Kesehatan", "opd", ""),
            ("dpmptsp", "DPMPTSP", "opd", ""),
            ("kec-cibeber", "Kecamatan Cibeber", "kecamatan", ""),
            ("pkm-cibeber", "Puskesmas Cibeber", "puskesmas", "dinkes"),
        ]
    );

    // Enrolment in an OPD the region does not have: refused, the nearest named,
    // nothing written.
    app.cohorts(&p.organizer)
        .open_cohort(open_cohort())
        .await
        .unwrap();
    let before = app.app.engine().store().digest().await.unwrap();
    let mut typo = enrol();
    typo.participant.as_mut().unwrap().opd = "dpmtsp".into();
    let refused = app
        .cohorts(&p.organizer)
        .enrol_participant(typo)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("did you mean dpmptsp"),
        "{refused:?}"
    );
    assert_eq!(app.app.engine().store().digest().await.unwrap(), before);
    assert!(
        find(&app, &p.organizer, NIP).await.is_err(),
        "the people index holds no NIP of a refused enrolment"
    );
    app.cohorts(&p.organizer)
        .enrol_participant(enrol())
        .await
        .unwrap();

    // Registration: the OPD by code, the unit by code or name.
    let mut health = register("inv-9");
    health.opd = "dinkes".into();
    health.unit = "Puskesmas Cibeber".into();
    app.innovations(&p.brida)
        .register_innovation(health.clone())
        .await
        .unwrap();
    let mut wrong_unit = register("inv-10");
    wrong_unit.opd = "dinkes".into();
    wrong_unit.unit = "Puskesmas Cibebr".into();
    let refused = app
        .innovations(&p.brida)
        .register_innovation(wrong_unit)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("did you mean pkm-cibeber"),
        "{refused:?}"
    );
    let mut wrong_opd = register("inv-11");
    wrong_opd.opd = "dinkez".into();
    wrong_opd.unit = String::new();
    let refused = app
        .innovations(&p.brida)
        .register_innovation(wrong_opd)
        .await
        .unwrap_err();
    assert!(
        refused.message().contains("did you mean dinkes"),
        "{refused:?}"
    );
}

async fn a_log_without_units_takes_any_code(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let mut anywhere = enrol();
    anywhere.participant.as_mut().unwrap().opd = "dinas-yang-belum-ada".into();
    app.cohorts(&p.organizer)
        .open_cohort(open_cohort())
        .await
        .unwrap();
    app.cohorts(&p.organizer)
        .enrol_participant(anywhere)
        .await
        .unwrap();
    let listed = app
        .admin(&p.admin)
        .list_units(pb::ListUnitsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.units.is_empty());
}

/// Drives the project to the start of its workplace phase at `at`; the
/// day the phase started.
async fn started_on(app: &TestApp, at: chrono::DateTime<chrono::Utc>) -> String {
    app.clock.set(at);
    let p = People::of(app);
    proposed(app, &p).await;
    app.mentoring(&p.mentor)
        .agree_change_area(action("agree"))
        .await
        .unwrap();
    app.mentoring(&p.mentor)
        .approve_action_plan(action("plan"))
        .await
        .unwrap();
    app.seminars(&p.examiner)
        .record_proposal_seminar(pb::ProposalSeminarRequest {
            expected_version: None,
            request_id: "seminar".into(),
            project_id: project_id(),
            accepted: true,
            notes: String::new(),
        })
        .await
        .unwrap();
    let started = app
        .cohorts(&p.organizer)
        .start_workplace_phase(action("start"))
        .await
        .unwrap()
        .into_inner();
    app.projects(&p.participant)
        .get_project_detail(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: started.position,
        })
        .await
        .unwrap()
        .into_inner()
        .workplace_started_on
}

async fn today_is_a_day_where_the_region_is(db: &TestDb) {
    // 1 March 2026, 20:00 UTC is already 2 March 03:00 in Cilegon (WIB,
    // the default zone).
    let app = spawn_app(db).await;
    let at = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 20, 0, 0).unwrap();
    assert_eq!(started_on(&app, at).await, "2026-03-02");
}

async fn a_wit_region_has_its_own_today(db: &TestDb) {
    // 1 March 2026, 15:30 UTC: 22:30 in Jakarta, 00:30 on 2 March in
    // Jayapura (WIT).
    let app = spawn_app_with(db, |config| {
        config.engine.time_zone = chrono_tz::Asia::Jayapura;
    })
    .await;
    let at = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 15, 30, 0).unwrap();
    assert_eq!(started_on(&app, at).await, "2026-03-02");
}
