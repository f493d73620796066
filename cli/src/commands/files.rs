//! What people hand the command as files: proposals (TOML), and the media
//! type of an evidence file (uploaded by `evidence.rs`).

use std::path::Path;

use anyhow::Context as _;
use jejak_proto::v1 as pb;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposalFile {
    title: String,
    change_area: String,
    problem: String,
    baseline: String,
    goals: GoalsFile,
    #[serde(default)]
    stakeholders: Vec<StakeholderFile>,
    #[serde(default)]
    team: Vec<TeamFile>,
    milestones: Vec<MilestoneFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GoalsFile {
    short_term: String,
    #[serde(default)]
    medium_term: String,
    #[serde(default)]
    long_term: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StakeholderFile {
    name: String,
    #[serde(default)]
    internal: bool,
    influence: String,
    interest: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamFile {
    name: String,
    role: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MilestoneFile {
    id: String,
    horizon: String,
    title: String,
    due: String,
    expected_output: String,
}

fn level(text: &str) -> i32 {
    (match text.trim().to_ascii_lowercase().as_str() {
        "low" | "rendah" => pb::Level::Low,
        "medium" | "sedang" => pb::Level::Medium,
        "high" | "tinggi" => pb::Level::High,
        _ => pb::Level::Unspecified,
    }) as i32
}

fn horizon(text: &str) -> i32 {
    (match text.trim().to_ascii_lowercase().as_str() {
        "short" | "pendek" => pb::Horizon::Short,
        "medium" | "menengah" => pb::Horizon::Medium,
        "long" | "panjang" => pb::Horizon::Long,
        _ => pb::Horizon::Unspecified,
    }) as i32
}

/// Reads a proposal from a TOML file (see the README for its shape).
pub fn proposal(path: &Path) -> anyhow::Result<pb::Proposal> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the proposal {}", path.display()))?;
    let p: ProposalFile = toml::from_str(&text)
        .with_context(|| format!("{} is not a proposal file", path.display()))?;
    Ok(pb::Proposal {
        title: p.title,
        change_area: p.change_area,
        problem: p.problem,
        baseline: p.baseline,
        goal_short_term: p.goals.short_term,
        goal_medium_term: p.goals.medium_term,
        goal_long_term: p.goals.long_term,
        stakeholders: p
            .stakeholders
            .into_iter()
            .map(|s| pb::Stakeholder {
                influence: level(&s.influence),
                interest: level(&s.interest),
                name: s.name,
                internal: s.internal,
            })
            .collect(),
        team: p
            .team
            .into_iter()
            .map(|t| pb::TeamMember {
                name: t.name,
                role: t.role,
            })
            .collect(),
        milestones: p
            .milestones
            .into_iter()
            .map(|m| pb::MilestonePlan {
                horizon: horizon(&m.horizon),
                id: m.id,
                title: m.title,
                due: m.due,
                expected_output: m.expected_output,
            })
            .collect(),
    })
}

pub fn media_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("zip") => "application/zip",
        Some("xls") => "application/vnd.ms-excel",
        Some("ppt") => "application/vnd.ms-powerpoint",
        Some("pptx") => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        Some("odt") => "application/vnd.oasis.opendocument.text",
        Some("ods") => "application/vnd.oasis.opendocument.spreadsheet",
        Some("odp") => "application/vnd.oasis.opendocument.presentation",
        Some("mp4") => "video/mp4",
        Some("csv") => "text/csv",
        Some("txt") => "text/plain",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// A milestone plan as it is to stand: the `[[milestones]]` of a plan file,
/// or of a whole proposal file (its other fields are not read).
#[derive(Deserialize)]
struct PlanFile {
    milestones: Vec<MilestoneFile>,
}

/// The milestones of a plan or proposal file.
pub fn plan(path: &Path) -> anyhow::Result<Vec<pb::MilestonePlan>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the plan {}", path.display()))?;
    let p: PlanFile = toml::from_str(&text).with_context(|| {
        format!(
            "{} is not a plan file ([[milestones]] with id, horizon, title, due, expected_output)",
            path.display()
        )
    })?;
    Ok(p.milestones
        .into_iter()
        .map(|m| pb::MilestonePlan {
            horizon: horizon(&m.horizon),
            id: m.id,
            title: m.title,
            due: m.due,
            expected_output: m.expected_output,
        })
        .collect())
}
