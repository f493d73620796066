//! `jejak cohort start-phase COHORT --all`: the workplace phase of every
//! ready project of a cohort at once.

use jejak_proto::v1 as pb;

use crate::client::{Connection, Outcome, print_json, table};

/// Starts every ready project of `cohort`; prints each project's outcome.
pub async fn start_all(c: &Connection, cohort: String) -> Outcome {
    let request_id = c.request_id();
    let r = c
        .cohorts()?
        .start_workplace_phase_all(pb::StartWorkplacePhaseAllRequest {
            request_id: request_id.clone(),
            cohort_id: cohort.clone(),
        })
        .await?
        .into_inner();
    if c.json {
        print_json(&serde_json::json!({
            "request_id": request_id,
            "cohort_id": cohort,
            "started": r.started,
            "projects": r.projects.iter().map(|p| serde_json::json!({
                "project_id": p.project_id, "code": p.code, "started": p.started, "already": p.already, "reason": p.reason,
                "position": p.written.as_ref().map(|w| w.position),
            })).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    let en = crate::words::lang() == crate::words::Lang::En;
    let rows = r.projects.iter().map(|p| {
        vec![
            p.code.clone(),
            match (p.started, p.already, en) {
                (true, _, true) => "started".into(),
                (true, _, false) => "dimulai".into(),
                (false, true, true) => "started already".into(),
                (false, true, false) => "sudah dimulai".into(),
                (false, false, true) => "not started".into(),
                (false, false, false) => "belum dimulai".into(),
            },
            p.reason.clone(),
        ]
    });
    say!(
        "{}",
        table(
            &[
                "code",
                if en {
                    "workplace phase"
                } else {
                    "laboratorium kepemimpinan"
                },
                ""
            ],
            rows
        )
    );
    let already = r.projects.iter().filter(|p| p.already).count();
    say!(
        "{} of {} started, {already} started already (request id {request_id}; repeat it to retry safely)",
        r.started,
        r.projects.len()
    );
    Ok(())
}
