//! What the yearly reports are made of: an innovation's whole detail
//! (`GetInnovationDetail`), for whoever may read it, and the statistics
//! naming their region.

use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(an_innovations_detail_holds_its_whole_profile_evidence_and_awards);

async fn an_innovations_detail_holds_its_whole_profile_evidence_and_awards(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let health = app.officer_token("officer-dinkes", "dinkes");
    let innovations = |token: &str| app.innovations(token);
    innovations(&health)
        .register_innovation(pb::RegisterInnovationRequest {
            budget: 35_000_000,
            legal_basis: "Perwal 12/2026".into(),
            sdgs: vec![3, 16],
            ..super::refusals::register("inv-1")
        })
        .await
        .unwrap();
    innovations(&health)
        .add_evidence(pb::AddEvidenceRequest {
            expected_version: None,
            request_id: "ev".into(),
            innovation_id: "inv-1".into(),
            indicator: "regulasi".into(),
            attachment: Some(file("perwal.pdf")),
        })
        .await
        .unwrap();
    // Feasible, designated and piloted: an award needs a tried innovation.
    let mut own = innovations(&health);
    own.judge_feasibility(pb::JudgeFeasibilityRequest {
        request_id: String::new(),
        innovation_id: "inv-1".into(),
        feasible: true,
        notes: "Layak".into(),
        expected_version: None,
    })
    .await
    .unwrap();
    own.designate(pb::DesignateRequest {
        request_id: String::new(),
        innovation_id: "inv-1".into(),
        decree_number: "SK 1/2026".into(),
        decree_date: "2026-01-10".into(),
        expected_version: None,
    })
    .await
    .unwrap();
    own.start_pilot(pb::DatedRequest {
        request_id: String::new(),
        innovation_id: "inv-1".into(),
        on: "2026-01-15".into(),
        text: String::new(),
        expected_version: None,
    })
    .await
    .unwrap();
    let written = innovations(&p.brida)
        .record_award(pb::RecordAwardRequest {
            expected_version: None,
            request_id: "award".into(),
            innovation_id: "inv-1".into(),
            title: "Top 45 KIPP".into(),
            year: 2026,
            awarded_by: "KemenPAN-RB".into(),
        })
        .await
        .unwrap()
        .into_inner();

    let detail = |token: &str| {
        let mut client = innovations(token);
        async move {
            client
                .get_innovation_detail(pb::GetInnovationRequest {
                    innovation_id: "inv-1".into(),
                    min_position: written.position,
                })
                .await
        }
    };
    let d = detail(&p.brida).await.unwrap().into_inner();
    let entry = d.entry.as_ref().unwrap();
    assert_eq!(entry.name, "Posyandu Remaja");
    assert_eq!(entry.opd, "dinkes");
    assert_eq!(
        (
            d.goal.as_str(),
            d.benefit.as_str(),
            d.initiator_type.as_str()
        ),
        ("Tujuan", "Manfaat", "ASN")
    );
    assert_eq!(
        (d.budget, d.legal_basis.as_str()),
        (35_000_000, "Perwal 12/2026")
    );
    assert_eq!(d.sdgs, [3, 16]);
    assert_eq!(
        (
            d.feasible.as_str(),
            d.decree_date.as_str(),
            entry.pilot_started_on.as_str()
        ),
        ("yes", "2026-01-10", "2026-01-15")
    );
    assert_eq!(d.evidence.len(), 1);
    assert_eq!(d.evidence[0].indicator, "regulasi");
    assert_eq!(
        d.evidence[0].attachment.as_ref().unwrap().name,
        "perwal.pdf"
    );
    assert_eq!(d.awards.len(), 1);
    assert_eq!(
        (d.awards[0].title.as_str(), d.awards[0].year),
        ("Top 45 KIPP", 2026)
    );
    // Its own OPD's officer reads it too; another OPD's is told it does not exist.
    assert!(detail(&health).await.is_ok());
    let refused = detail(&p.officer).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    let unknown = innovations(&p.brida)
        .get_innovation_detail(pb::GetInnovationRequest {
            innovation_id: "inv-none".into(),
            min_position: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let stats = innovations(&p.brida)
        .get_statistics(pb::GetStatisticsRequest {
            min_position: written.position,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stats.region, entry.region,
        "the statistics name their region"
    );
    app.stop().await;
}
