//! `jejak audit activity`: what one person did, from the log
//! (Audit.GetActivity) — anyone their own, auditors anyone's.

use jejak_proto::v1 as pb;

use crate::client::{Connection, Outcome, local_time, print_json, table, time};

/// Prints the trail of `actor` (a staff user id, a participant's person id
/// or NIP), page by page from `after`, at most `limit` entries (0: all).
pub async fn run(c: &Connection, actor: String, after: u64, limit: u32) -> Outcome {
    let mut entries = Vec::new();
    let mut from = after;
    loop {
        let want = match limit {
            0 => 500,
            n => (n as usize - entries.len()).min(500) as u32,
        };
        let page = c
            .audit()?
            .get_activity(pb::GetActivityRequest {
                actor_id: actor.clone(),
                after_position: from,
                limit: want,
                min_position: 0,
            })
            .await?
            .into_inner()
            .entries;
        let n = page.len();
        if let Some(last) = page.last() {
            from = last.position;
        }
        entries.extend(page);
        if n < want as usize || (limit != 0 && entries.len() >= limit as usize) {
            break;
        }
    }
    if c.json {
        print_json(&serde_json::json!(
            entries
                .iter()
                .map(|e| serde_json::json!({
                    "position": e.position, "recorded_at": time(e.recorded_at.as_ref()),
                    "actor_id": e.actor_id, "actor_role": e.actor_role,
                    "stream_id": e.stream_id, "event_type": e.event_type,
                }))
                .collect::<Vec<_>>()
        ));
        return Ok(());
    }
    let rows = entries.iter().map(|e| {
        vec![
            e.position.to_string(),
            local_time(e.recorded_at.as_ref()),
            e.actor_role.clone(),
            e.stream_id.clone(),
            e.event_type.clone(),
        ]
    });
    say!(
        "{}",
        table(&["position", "recorded at", "as", "stream", "what"], rows)
    );
    Ok(())
}
