//! The innovation officer and BRIDA: a profile amended, evidence and an
//! award, the innovation an adoption registers, replication both ways and
//! the register's count of adopters.

use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(an_innovation_office_keeps_the_register);

async fn an_innovation_office_keeps_the_register(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    // An OPD's officer registers, amends, adds evidence and an award.
    app.innovations(&p.officer)
        .register_innovation(pb::RegisterInnovationRequest {
            opd: "dpmptsp".into(),
            ..super::refusals::register("inv-dp")
        })
        .await
        .unwrap();
    app.innovations(&p.officer)
        .amend_profile(pb::AmendProfileRequest {
            request_id: "amend".into(),
            innovation_id: "inv-dp".into(),
            name: "Perizinan kilat".into(),
            unit: String::new(),
            form: pb::Form::PublicService as i32,
            digital: true,
            sector: "penanaman modal".into(),
            sdgs: vec![9],
            goal: "Izin terbit sehari".into(),
            benefit: "Investor tidak menunggu".into(),
            budget: 5_000_000,
            legal_basis: "Perwal 7/2026".into(),
            expected_version: None,
        })
        .await
        .unwrap();
    app.innovations(&p.officer)
        .add_evidence(pb::AddEvidenceRequest {
            request_id: "evidence".into(),
            innovation_id: "inv-dp".into(),
            indicator: "regulasi".into(),
            attachment: Some(file("perwal-7-2026.pdf")),
            expected_version: None,
        })
        .await
        .unwrap();
    // Through the stages to penerapan: feasible, designated, piloted,
    // evaluated, implemented.
    let own = || app.innovations(&p.officer);
    let dated = |on: &str, text: &str| pb::DatedRequest {
        request_id: String::new(),
        innovation_id: "inv-dp".into(),
        on: on.into(),
        text: text.into(),
        expected_version: None,
    };
    own()
        .judge_feasibility(pb::JudgeFeasibilityRequest {
            request_id: String::new(),
            innovation_id: "inv-dp".into(),
            feasible: true,
            notes: "Layak".into(),
            expected_version: None,
        })
        .await
        .unwrap();
    own()
        .designate(pb::DesignateRequest {
            request_id: String::new(),
            innovation_id: "inv-dp".into(),
            decree_number: "SK 1/2026".into(),
            decree_date: "2026-01-10".into(),
            expected_version: None,
        })
        .await
        .unwrap();
    own().start_pilot(dated("2026-01-15", "")).await.unwrap();
    own()
        .evaluate_pilot(dated("2026-02-01", "Berhasil"))
        .await
        .unwrap();
    own()
        .implement(dated("2026-02-10", "APBD 2026"))
        .await
        .unwrap();
    let awarded = app
        .innovations(&p.officer)
        .record_award(pb::RecordAwardRequest {
            request_id: "award".into(),
            innovation_id: "inv-dp".into(),
            title: "Top 45 KIPP".into(),
            year: 2026,
            awarded_by: "KemenPANRB".into(),
            expected_version: None,
        })
        .await
        .unwrap()
        .into_inner();
    let entry = innovation(&app, &p.officer, "inv-dp", awarded.position).await;
    assert_eq!(
        (
            entry.name.as_str(),
            entry.sector.as_str(),
            entry.digital,
            entry.stage.as_str(),
            entry.implemented_on.as_str()
        ),
        (
            "Perizinan kilat",
            "penanaman modal",
            true,
            "adopted",
            "2026-02-10"
        )
    );
    let events = history(&app, &p.auditor, &awarded.stream_id).await;
    let k = kinds(&events);
    for kind in ["ProfileAmended", "EvidenceAdded", "AwardRecorded"] {
        assert!(k.contains(&kind), "{kind} in {k:?}");
    }

    // A change project's adoption registers its innovation with the
    // project's data, at penerapan.
    let endorsed = adopted(&app, &p).await;
    let carried = event_after(&app, &p.auditor, endorsed.position, "ProjectStageCarried").await;
    let project = get(&app, &p.mentor, carried).await;
    let from_project = innovation(&app, &p.brida, &project.innovation_id, carried).await;
    assert_eq!(
        (
            from_project.name.as_str(),
            from_project.opd.as_str(),
            from_project.sector.as_str(),
            from_project.stage.as_str(),
            from_project.source,
            from_project.origin_project.as_str()
        ),
        (
            "Antrian daring perizinan berusaha",
            "dpmptsp",
            "Pelayanan perizinan",
            "adopted",
            pb::Source::ChangeProject as i32,
            project.project_id.as_str()
        )
    );
    let registered = app
        .audit(&p.auditor)
        .get_state_at(pb::GetStateAtRequest {
            effective: false,
            kind: pb::StreamKind::Innovation as i32,
            id: project.innovation_id.clone(),
            version: 1,
            at: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        registered
            .state_json
            .contains("Antrian daring di satu loket")
            && registered.state_json.contains("Semua loket"),
        "goal and benefit from the project: {}",
        registered.state_json
    );

    // Replication both ways, each once; the own OPD is refused on both sides.
    let own = app
        .mentoring(&p.mentor)
        .record_replication(replicate_project("own", "dpmptsp", "Kota Cilegon"))
        .await
        .unwrap_err();
    assert_eq!(own.code(), Code::InvalidArgument, "{own:?}");
    let own = app
        .innovations(&p.brida)
        .record_replication(replicate_innovation(
            "own-inv",
            &project.innovation_id,
            "dpmptsp",
            "Kota Cilegon",
        ))
        .await
        .unwrap_err();
    assert_eq!(own.code(), Code::InvalidArgument, "{own:?}");
    let own = app
        .mentoring(&p.brida)
        .record_replication(replicate_project("own-brida", "dpmptsp", "Kota Cilegon"))
        .await
        .unwrap_err();
    assert_eq!(own.code(), Code::InvalidArgument, "{own:?}");
    // BRIDA records it on the project's side too.
    let from_project_side = app
        .mentoring(&p.brida)
        .record_replication(replicate_project("serang", "dpmptsp", "Kota Serang"))
        .await
        .unwrap()
        .into_inner();
    let at = event_after(
        &app,
        &p.auditor,
        from_project_side.position,
        "InnovationRegistered",
    )
    .await;
    let entry = innovation(&app, &p.brida, &project.innovation_id, at).await;
    assert_eq!(
        (entry.stage.as_str(), entry.replication_count),
        ("replicated", 1)
    );
    let replica = innovation(&app, &p.brida, &entry.replicas[0], at).await;
    assert_eq!(replica.replica_of, project.innovation_id);
    let stats = |position: u64| {
        let mut client = app.innovations(&p.brida);
        async move {
            client
                .get_statistics(pb::GetStatisticsRequest {
                    min_position: position,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .by_adopters
        }
    };
    assert_eq!(stats(at).await.get("1"), Some(&1));
    let mut last = at;
    for (id, opd, region) in [
        ("pandeglang", "dinsos", "Kabupaten Pandeglang"),
        ("lebak", "dinkes", "Kabupaten Lebak"),
    ] {
        let written = app
            .innovations(&p.brida)
            .record_replication(replicate_innovation(
                id,
                &project.innovation_id,
                opd,
                region,
            ))
            .await
            .unwrap()
            .into_inner();
        last = event_after(&app, &p.auditor, written.position, "InnovationRegistered").await;
    }
    // The innovation side marked the project too (once per adopter).
    let replicated = get(&app, &p.participant, last).await;
    assert_eq!(replicated.state, "replicated");
    let on_project = history(&app, &p.auditor, &from_project_side.stream_id).await;
    assert_eq!(
        kinds(&on_project)
            .iter()
            .filter(|k| **k == "ReplicationRecorded")
            .count(),
        3
    );
    let by_adopters = stats(last).await;
    assert_eq!(
        (by_adopters.get("3+"), by_adopters.get("1")),
        (Some(&1), None),
        "{by_adopters:?}"
    );
    app.stop().await;
}
