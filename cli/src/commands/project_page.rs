//! `jejak project show`: a project's whole page (ChangeProjects.GetProjectDetail)
//! as people read it, or everything as JSON with stable codes.

use jejak_proto::v1 as pb;

use crate::client::{Connection, Outcome, local_time, print_json, table};
use crate::words::{Lang, Word as W, lang};

fn status_code(value: i32) -> String {
    pb::MilestoneStatus::try_from(value)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("MILESTONE_STATUS_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

fn horizon_code(value: i32) -> String {
    pb::Horizon::try_from(value)
        .map(|h| {
            h.as_str_name()
                .trim_start_matches("HORIZON_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

fn level_code(value: i32) -> String {
    pb::Level::try_from(value)
        .map(|h| h.as_str_name().trim_start_matches("LEVEL_").to_lowercase())
        .unwrap_or_default()
}

fn stamp_json(s: Option<&pb::Stamp>) -> serde_json::Value {
    let s = s.cloned().unwrap_or_default();
    let mut json =
        serde_json::json!({"by": s.by, "role": s.role, "at": crate::client::time(s.at.as_ref())});
    if s.recorded_at.is_some() {
        json["recorded_at"] = crate::client::time(s.recorded_at.as_ref()).into();
    }
    json
}

fn attachments_json(list: &[pb::Attachment]) -> serde_json::Value {
    serde_json::json!(
        list.iter()
            .map(|a| serde_json::json!({"name": a.name, "media_type": a.media_type, "sha256": a.sha256, "uri": a.uri}))
            .collect::<Vec<_>>()
    )
}

fn seminar_json(s: &pb::SeminarResult) -> serde_json::Value {
    serde_json::json!({
        "accepted": s.accepted, "score": s.score, "notes": s.notes,
        "ratings": s.ratings.iter().map(|r| serde_json::json!({"milestone_id": r.milestone_id, "rating": r.rating})).collect::<Vec<_>>(),
        "stamp": stamp_json(s.stamp.as_ref()),
    })
}

/// Everything the page holds, as JSON: codes, not labels (labels beside
/// the codes of state and grade).
fn detail_json(d: &pb::ProjectDetail, words: Lang) -> serde_json::Value {
    let project = d.project.clone().unwrap_or_default();
    let mut out = super::people::project_json(&project);
    let p = d.proposal.clone().unwrap_or_default();
    let extra = serde_json::json!({
        "state_label": words.stage(&project.state),
        "grade_label": words.grade(&d.grade),
        "grade": d.grade,
        "graded": d.graded.as_ref().map(|s| stamp_json(Some(s))),
        "workplace_started_on": d.workplace_started_on,
        "proposal": {
            "title": p.title, "change_area": p.change_area, "problem": p.problem, "baseline": p.baseline,
            "goals": {"short_term": p.goal_short_term, "medium_term": p.goal_medium_term, "long_term": p.goal_long_term},
            "stakeholders": p.stakeholders.iter().map(|s| serde_json::json!({
                "name": s.name, "internal": s.internal, "influence": level_code(s.influence), "interest": level_code(s.interest),
            })).collect::<Vec<_>>(),
            "team": p.team.iter().map(|t| serde_json::json!({"name": t.name, "role": t.role})).collect::<Vec<_>>(),
            "written_at": crate::client::time(d.proposal_at.as_ref()),
        },
        "milestones": d.milestones.iter().map(|m| {
            let plan = m.plan.clone().unwrap_or_default();
            serde_json::json!({
                "id": plan.id, "horizon": horizon_code(plan.horizon), "title": plan.title, "due": plan.due,
                "expected_output": plan.expected_output, "status": status_code(m.status), "overdue": m.overdue,
                "submissions": m.submissions.iter().map(|s| serde_json::json!({
                    "attachments": attachments_json(&s.attachments), "note": s.note, "stamp": stamp_json(s.stamp.as_ref()),
                })).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
        "notes": d.notes.iter().map(|n| serde_json::json!({
            "kind": n.kind, "milestone_id": n.milestone_id, "text": n.text, "stamp": stamp_json(n.stamp.as_ref()),
        })).collect::<Vec<_>>(),
        "proposal_seminars": d.proposal_seminars.iter().map(seminar_json).collect::<Vec<_>>(),
        "final_seminars": d.final_seminars.iter().map(seminar_json).collect::<Vec<_>>(),
        "final_report": d.final_report.as_ref().map(|r| serde_json::json!({
            "summary": r.summary, "attachments": attachments_json(&r.attachments), "stamp": stamp_json(r.stamp.as_ref()),
        })),
    });
    if let (Some(out), serde_json::Value::Object(extra)) = (out.as_object_mut(), extra) {
        out.extend(extra);
    }
    out
}

/// Who did something and when, as people read it: the participant by
/// name (whoever reads the page may see it), staff by their user id.
struct Who<'a> {
    words: Lang,
    participant: &'a str,
    name: &'a str,
}

impl Who<'_> {
    fn said(&self, s: Option<&pb::Stamp>) -> String {
        let s = s.cloned().unwrap_or_default();
        let by = match s.by.as_str() {
            "" => "jejak".to_owned(),
            by if by == self.participant && !self.name.is_empty() => {
                format!("{} ({})", self.name, self.words.role(&s.role))
            }
            by => format!("{by} ({})", self.words.role(&s.role)),
        };
        match s.recorded_at.as_ref() {
            // Written after the fact (ADR 0030): when it happened, and when recorded.
            Some(recorded) => format!(
                "{} ({} {}) · {}",
                local_time(s.at.as_ref()),
                self.words.word(W::Recorded),
                local_time(Some(recorded)),
                by
            ),
            None => format!("{} · {}", local_time(s.at.as_ref()), by),
        }
    }
}

fn print_page(d: &pb::ProjectDetail, words: Lang, opd: &str) {
    let w = |key| words.word(key);
    let p = d.project.clone().unwrap_or_default();
    let who = Who {
        words,
        participant: &p.participant,
        name: &p.participant_name,
    };
    say!("{} — {}", p.code, p.title);
    say!(
        "{}: {} ({}), {} · {}: {} · {}: {}",
        w(W::Participant),
        p.participant_name,
        p.participant_nip,
        opd,
        w(W::Cohort),
        p.cohort_id,
        w(W::State),
        words.stage(&p.state)
    );
    say!(
        "{}: {} · {}: {} · {}: {}",
        w(W::Mentor),
        p.mentor,
        w(W::Coach),
        p.coach,
        w(W::Examiners),
        p.examiners.join(", ")
    );
    if let Some(proposal) = &d.proposal {
        say!("\n{}", w(W::Proposal));
        say!("  {}: {}", w(W::ChangeArea), proposal.change_area);
        say!("  {}: {}", w(W::Problem), proposal.problem);
        say!("  {}: {}", w(W::Baseline), proposal.baseline);
        for (horizon, goal) in [
            ("short", &proposal.goal_short_term),
            ("medium", &proposal.goal_medium_term),
            ("long", &proposal.goal_long_term),
        ] {
            if !goal.is_empty() {
                say!("  {} ({}): {}", w(W::Goals), words.horizon(horizon), goal);
            }
        }
        if !proposal.stakeholders.is_empty() {
            let rows = proposal.stakeholders.iter().map(|s| {
                vec![
                    s.name.clone(),
                    w(if s.internal { W::Internal } else { W::External }).to_owned(),
                    words.level(&level_code(s.influence)),
                    words.level(&level_code(s.interest)),
                ]
            });
            say!(
                "{}",
                table(
                    &[w(W::Stakeholders), "", w(W::Influence), w(W::Interest)],
                    rows
                )
            );
        }
        if !proposal.team.is_empty() {
            let rows = proposal
                .team
                .iter()
                .map(|t| vec![t.name.clone(), t.role.clone()]);
            say!("{}", table(&[w(W::Team), ""], rows));
        }
    }
    if !d.milestones.is_empty() {
        say!("\n{}", w(W::Milestones));
        for m in &d.milestones {
            let plan = m.plan.clone().unwrap_or_default();
            say!(
                "  {} · {} · {} · {} {}{}",
                plan.id,
                plan.title,
                words.horizon(&horizon_code(plan.horizon)),
                w(W::Due),
                plan.due,
                if m.overdue {
                    format!(" · {}", w(W::Overdue))
                } else {
                    String::new()
                }
            );
            say!(
                "    {}: {}",
                w(W::Status),
                words.status(&status_code(m.status))
            );
            say!("    {}: {}", w(W::ExpectedOutput), plan.expected_output);
            for s in &m.submissions {
                let files: Vec<String> = s
                    .attachments
                    .iter()
                    .map(|a| {
                        format!(
                            "{} ({}, sha256 {}…)",
                            a.name,
                            a.media_type,
                            &a.sha256[..a.sha256.len().min(12)]
                        )
                    })
                    .collect();
                say!(
                    "    {}: {} — {}{}",
                    w(W::Evidence),
                    who.said(s.stamp.as_ref()),
                    files.join(", "),
                    if s.note.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", s.note)
                    }
                );
            }
        }
    }
    if !d.proposal_seminars.is_empty() || !d.final_seminars.is_empty() {
        say!("\n{}", w(W::Seminars));
        for s in &d.proposal_seminars {
            say!(
                "  {}: {} — {}{}",
                words.note("proposal_seminar"),
                w(if s.accepted { W::Accepted } else { W::ToRevise }),
                who.said(s.stamp.as_ref()),
                if s.notes.is_empty() {
                    String::new()
                } else {
                    format!("\n    {}", s.notes)
                }
            );
        }
        for s in &d.final_seminars {
            say!(
                "  {}: {}, {} {} — {}{}",
                words.note("final_seminar"),
                w(if s.accepted { W::Passed } else { W::Failed }),
                w(W::Score),
                s.score.unwrap_or_default(),
                who.said(s.stamp.as_ref()),
                if s.notes.is_empty() {
                    String::new()
                } else {
                    format!("\n    {}", s.notes)
                }
            );
            for r in &s.ratings {
                say!("    {}: {}", r.milestone_id, words.rating(&r.rating));
            }
        }
    }
    if let Some(r) = &d.final_report {
        say!(
            "\n{}: {} — {}",
            w(W::FinalReport),
            r.summary,
            who.said(r.stamp.as_ref())
        );
    }
    if !d.grade.is_empty() {
        say!(
            "\n{}: {} — {}",
            w(W::Grade),
            words.grade(&d.grade),
            who.said(d.graded.as_ref())
        );
    }
    if !d.notes.is_empty() {
        say!("\n{}", w(W::Notes));
        for n in &d.notes {
            let about = if n.milestone_id.is_empty() {
                String::new()
            } else {
                format!(" [{}]", n.milestone_id)
            };
            say!(
                "  {} · {}{}{}",
                who.said(n.stamp.as_ref()),
                words.note(&n.kind),
                about,
                if n.text.is_empty() {
                    String::new()
                } else {
                    format!(": {}", n.text)
                }
            );
        }
    }
}

/// `jejak project show PROJECT`.
pub async fn show(c: &Connection, project: String) -> Outcome {
    let d = c
        .projects()?
        .get_project_detail(pb::GetProjectRequest {
            project_id: project,
            min_position: 0,
        })
        .await?
        .into_inner();
    let words = lang();
    if c.json {
        print_json(&detail_json(&d, words));
    } else {
        let units = crate::client::unit_names(c).await;
        let opd = d
            .project
            .as_ref()
            .map(|p| crate::client::unit_name(&units, &p.opd))
            .unwrap_or_default();
        print_page(&d, words, &opd);
    }
    Ok(())
}
