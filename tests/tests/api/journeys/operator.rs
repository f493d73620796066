//! The operator: the region's units, and views that match the log.

use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(an_operator_keeps_the_regions_units_and_the_views);

async fn an_operator_keeps_the_regions_units_and_the_views(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let add = |code: &str, name: &str, kind: &str, parent: &str| pb::AddUnitRequest {
        request_id: format!("unit-{code}"),
        unit: Some(pb::Unit {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            parent: parent.into(),
        }),
    };
    for r in [
        add("dinkes", "Dinas Kesehatan", "opd", ""),
        add("dpmptsp", "Dinas Penanaman Modal dan PTSP", "opd", ""),
        add("kec-cibeber", "Kecamatan Cibeber", "kecamatan", ""),
        add("pkm-cibeber", "Puskesmas Cibeber", "puskesmas", "dinkes"),
    ] {
        app.admin(&p.admin).add_unit(r).await.unwrap();
    }
    // The same request again changes nothing; others may not keep units.
    let again = app
        .admin(&p.admin)
        .add_unit(add("dinkes", "Dinas Kesehatan", "opd", ""))
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);
    let refused = app
        .admin(&p.brida)
        .add_unit(add("dinsos", "Dinas Sosial", "opd", ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    app.admin(&p.admin)
        .rename_unit(pb::RenameUnitRequest {
            request_id: "rename".into(),
            code: "dpmptsp".into(),
            name: "DPMPTSP".into(),
        })
        .await
        .unwrap();
    let units = app
        .admin(&p.organizer)
        .list_units(pb::ListUnitsRequest {
            kind: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .units;
    let named = |code: &str| {
        units
            .iter()
            .find(|u| u.code == code)
            .map(|u| (u.name.clone(), u.kind.clone(), u.parent.clone()))
    };
    assert_eq!(
        named("pkm-cibeber"),
        Some((
            "Puskesmas Cibeber".into(),
            "puskesmas".into(),
            "dinkes".into()
        ))
    );
    assert_eq!(
        named("dpmptsp"),
        Some(("DPMPTSP".into(), "opd".into(), String::new())),
        "renamed, its code kept"
    );
    // The units decide what an officer may register: a puskesmas by name.
    let registered = app
        .innovations(&p.brida)
        .register_innovation(super::refusals::register("inv-pkm"))
        .await
        .unwrap()
        .into_inner();
    let entry = app
        .innovations(&p.brida)
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: "inv-pkm".into(),
            min_position: registered.position,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (entry.opd.as_str(), entry.unit.as_str()),
        ("dinkes", "Puskesmas Cibeber")
    );
    let typo = app
        .innovations(&p.brida)
        .register_innovation(pb::RegisterInnovationRequest {
            opd: "dpmptp".into(),
            ..super::refusals::register("inv-typo")
        })
        .await
        .unwrap_err();
    assert_eq!(typo.code(), Code::InvalidArgument, "{typo:?}");
    assert!(typo.message().contains("dpmptsp"), "{typo:?}");
    // The operator sees each view's state, and that the views match a
    // rebuild from the log.
    let status = app
        .admin(&p.admin)
        .get_projection_status(pb::GetProjectionStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!status.projections.is_empty());
    assert!(status.projections.iter().all(|v| !v.name.is_empty()));
    let checked = app
        .admin(&p.admin)
        .check_views(pb::CheckViewsRequest {})
        .await
        .unwrap()
        .into_inner();
    for view in &checked.views {
        assert!(
            view.differences.is_empty() && view.failed_position == 0,
            "{view:?}"
        );
    }
    app.stop().await;
}
