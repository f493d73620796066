//! Personal data (ADR 0021, 0022): erasure, the report of what is held
//! about a person, and what has passed retention.

use clap::Subcommand;
use jejak_engine::privacy::Scrubbed;
use jejak_proto::v1 as pb;

use crate::client::{Connection, Failure, Outcome, print_json};

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Erases a person: their data key is destroyed, so every personal field
    /// of theirs in the log becomes unreadable for good; the erasure is
    /// recorded (who, when, --basis) and the chain still verifies. Views show
    /// "[dihapus]" in place of their fields at once.
    Erase {
        /// The person's id (a UUID).
        #[arg(long)]
        subject: String,
        /// The legal basis, in words, kept in the log (e.g. "UU 27/2022 Pasal 8: request of 2026-11-02").
        #[arg(long)]
        basis: String,
    },
    /// Everything held about a person (their fields, enrolments, projects,
    /// the events naming them) and who read their data. The person
    /// themselves, operators and auditors.
    Report {
        /// The person's id (a UUID).
        #[arg(long)]
        subject: String,
    },
    /// What has passed its retention period, per data category (operators,
    /// auditors). Lists only; erase with `privacy erase`.
    Retention,
    /// PostgreSQL, as the tables' owner: rewrites the key table (VACUUM FULL) so
    /// that no old version of an erased key stays in its files. Needed after an
    /// erasure made by a server that logs in as the server role of `admin init-db`.
    Vacuum {
        /// A URL that logs in as the owner of the schema (or a superuser), e.g. postgres://jejak_owner@127.0.0.1/jejak.
        #[arg(long, env = "JEJAK_OWNER_DATABASE_URL", hide_env_values = true)]
        owner_url: String,
    },
}

pub async fn run(c: &Connection, command: PrivacyCommand) -> Outcome {
    match command {
        PrivacyCommand::Erase { subject, basis } => {
            let answer = c
                .admin()?
                .erase_person(pb::ErasePersonRequest {
                    request_id: c.request_id(),
                    person_id: subject,
                    basis,
                })
                .await?
                .into_inner();
            let written = answer.result.unwrap_or_default();
            if c.json {
                print_json(&serde_json::json!({
                    "request_id": c.request_id(),
                    "position": written.position,
                    "events": written.events,
                    "duplicate": written.duplicate,
                    "scrubbed": answer.scrubbed,
                    "views_rebuilding": answer.views_rebuilding,
                }));
                return Ok(());
            }
            c.written("erasure", &written)?;
            say!("the key's bytes: {}", answer.scrubbed);
            if !answer.views_rebuilding.is_empty() {
                say!(
                    "rebuilding {} (see `jejak admin status`)",
                    answer.views_rebuilding.join(", ")
                );
            }
            Ok(())
        }
        PrivacyCommand::Report { subject } => {
            let r = c
                .admin()?
                .get_privacy_report(pb::PrivacyReportRequest { person_id: subject })
                .await?
                .into_inner();
            if c.json {
                print_json(&report_json(&r));
                return Ok(());
            }
            say!(
                "person {}{}",
                r.person_id,
                if r.erased { " (erased)" } else { "" }
            );
            for e in &r.enrolments {
                say!(
                    "enrolled in {} as {}: NIP {}, {} ({}), OPD {}; mentor {}, coach {}, examiners {}",
                    e.cohort_id,
                    e.code,
                    e.nip,
                    e.name,
                    e.position,
                    e.opd,
                    e.mentor,
                    e.coach,
                    e.examiners.join(", ")
                );
                if !e.project_id.is_empty() {
                    say!(
                        "  project {} ({}): {}",
                        e.project_id,
                        e.project_state,
                        e.project_title
                    );
                }
            }
            say!("{} events name them or were theirs:", r.events.len());
            for e in &r.events {
                say!(
                    "  {:>8} {} {} ({})",
                    e.position,
                    e.stream_id,
                    e.event_type,
                    e.relation
                );
            }
            say!("{} reads of their data by others:", r.reads.len());
            for read in &r.reads {
                say!(
                    "  {} {} read {}: {}",
                    crate::client::local_time(read.read_at.as_ref()),
                    read.reader,
                    read.what,
                    read.why
                );
            }
            Ok(())
        }
        PrivacyCommand::Retention => {
            let r = c
                .admin()?
                .list_retention(pb::ListRetentionRequest {})
                .await?
                .into_inner();
            if c.json {
                print_json(&serde_json::json!({
                    "periods": r.periods,
                    "items": r.items.iter().map(|i| serde_json::json!({
                        "category": i.category,
                        "person_id": i.person_id,
                        "what": i.what,
                        "since": i.since,
                        "passed_on": i.passed_on,
                    })).collect::<Vec<_>>(),
                }));
                return Ok(());
            }
            for period in &r.periods {
                say!("kept: {period}");
            }
            if r.items.is_empty() {
                say!("nothing has passed its retention period");
            }
            for i in &r.items {
                say!(
                    "{} {} person {}: {} (since {})",
                    i.passed_on,
                    i.category,
                    i.person_id,
                    i.what,
                    i.since
                );
            }
            Ok(())
        }
        PrivacyCommand::Vacuum { owner_url } => {
            let scrubbed = jejak_engine::privacy::vacuum_erased(&owner_url)
                .await
                .map_err(|e| Failure::Refused(format!("cannot vacuum: {e}")))?;
            match scrubbed {
                Scrubbed::VacuumPending => Err(Failure::Refused(
                    "this login does not own the key table; give the owner's URL \
                     (the --owner of `jejak admin init-db`) or a superuser's"
                        .into(),
                )),
                _ => {
                    say!("the key table is rewritten: no erased key is left in its files");
                    Ok(())
                }
            }
        }
    }
}

fn report_json(r: &pb::PrivacyReport) -> serde_json::Value {
    serde_json::json!({
        "person_id": r.person_id,
        "erased": r.erased,
        "enrolments": r.enrolments.iter().map(|e| serde_json::json!({
            "cohort_id": e.cohort_id,
            "code": e.code,
            "project_id": e.project_id,
            "nip": e.nip,
            "name": e.name,
            "position": e.position,
            "opd": e.opd,
            "mentor": e.mentor,
            "coach": e.coach,
            "examiners": e.examiners,
            "project_state": e.project_state,
            "project_title": e.project_title,
        })).collect::<Vec<_>>(),
        "events": r.events.iter().map(|e| serde_json::json!({
            "position": e.position,
            "stream_id": e.stream_id,
            "event_type": e.event_type,
            "relation": e.relation,
        })).collect::<Vec<_>>(),
        "reads": r.reads.iter().map(|read| serde_json::json!({
            "read_at": crate::client::time(read.read_at.as_ref()),
            "reader": read.reader,
            "what": read.what,
            "why": read.why,
        })).collect::<Vec<_>>(),
    })
}
