//! Operators: personal data (ADR 0021).

use clap::Subcommand;
use jejak_engine::privacy::Scrubbed;
use jejak_proto::v1 as pb;

use crate::client::{Connection, Failure, Outcome, print_json};

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Erases a person: their data key is destroyed, so every personal field
    /// of theirs in the log becomes unreadable for good; the erasure is
    /// recorded (who, when, --basis) and the chain still verifies. The views
    /// that show people are rebuilt.
    Erase {
        /// The person's id (a UUID).
        #[arg(long)]
        subject: String,
        /// The legal basis, in words, kept in the log (e.g. "UU 27/2022 Pasal 8: request of 2026-11-02").
        #[arg(long)]
        basis: String,
    },
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
                    request_id: String::new(),
                    person_id: subject,
                    basis,
                })
                .await?
                .into_inner();
            let written = answer.result.unwrap_or_default();
            if c.json {
                print_json(&serde_json::json!({
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
