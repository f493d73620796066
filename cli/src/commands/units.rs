//! Operators: the region's units (`jejak admin unit add|rename|list`,
//! `jejak admin units load FILE`).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use jejak_proto::v1 as pb;

use crate::client::{Connection, Outcome, print_json, table};

/// The region's units, one at a time.
#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// Adds a unit: an OPD, a puskesmas (with --parent, the health office) or a kecamatan.
    Add {
        /// Its code, e.g. dinkes, pkm-cibeber, kec-cibeber.
        code: String,
        /// Its name, e.g. "Dinas Kesehatan".
        #[arg(long)]
        name: String,
        /// opd, puskesmas or kecamatan.
        #[arg(long, default_value = "opd")]
        kind: String,
        /// The OPD it belongs to (a puskesmas: the health office).
        #[arg(long, default_value = "")]
        parent: String,
        /// Makes the write idempotent (generated and printed with --json when absent).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Renames a unit; its code stays.
    Rename {
        /// Its code.
        code: String,
        /// Its new name.
        #[arg(long)]
        name: String,
        /// Makes the write idempotent (generated and printed with --json when absent).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Lists the region's units.
    List {
        /// Only this kind: opd, puskesmas or kecamatan.
        #[arg(long, default_value = "")]
        kind: String,
    },
}

/// The region's units, many at once.
#[derive(Debug, Subcommand)]
pub enum UnitsCommand {
    /// Adds every unit of a TOML file (`[[unit]]` tables with code, name,
    /// kind, parent); units already there with the same data are left as
    /// they are, so loading a file again changes nothing.
    Load {
        /// The TOML file.
        file: PathBuf,
    },
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitsFile {
    #[serde(default)]
    unit: Vec<UnitEntry>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitEntry {
    code: String,
    name: String,
    #[serde(default = "opd")]
    kind: String,
    #[serde(default)]
    parent: String,
}

fn opd() -> String {
    "opd".into()
}

fn request_id(given: Option<String>) -> String {
    given.unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

fn written_with_id(c: &Connection, what: &str, id: &str, w: &pb::WriteResult) -> Outcome {
    if c.json {
        print_json(&serde_json::json!({
            "request_id": id, "stream_id": w.stream_id, "stream_version": w.stream_version,
            "position": w.position, "events": w.events, "duplicate": w.duplicate,
        }));
        Ok(())
    } else {
        c.written(what, w)
    }
}

/// `jejak admin unit …`.
pub async fn unit(c: &Connection, command: UnitCommand) -> Outcome {
    match command {
        UnitCommand::Add {
            code,
            name,
            kind,
            parent,
            request_id: given,
        } => {
            let id = request_id(given);
            let w = c
                .admin()?
                .add_unit(pb::AddUnitRequest {
                    request_id: id.clone(),
                    unit: Some(pb::Unit {
                        code,
                        name,
                        kind,
                        parent,
                    }),
                })
                .await?
                .into_inner();
            written_with_id(c, "unit added", &id, &w)
        }
        UnitCommand::Rename {
            code,
            name,
            request_id: given,
        } => {
            let id = request_id(given);
            let w = c
                .admin()?
                .rename_unit(pb::RenameUnitRequest {
                    request_id: id.clone(),
                    code,
                    name,
                })
                .await?
                .into_inner();
            written_with_id(c, "unit renamed", &id, &w)
        }
        UnitCommand::List { kind } => {
            let list = c
                .admin()?
                .list_units(pb::ListUnitsRequest { kind })
                .await?
                .into_inner();
            if c.json {
                print_json(&serde_json::json!(
                    list.units
                        .iter()
                        .map(|u| serde_json::json!({"code": u.code, "name": u.name, "kind": u.kind, "parent": u.parent}))
                        .collect::<Vec<_>>()
                ));
            } else {
                let rows = list.units.iter().map(|u| {
                    vec![
                        u.code.clone(),
                        u.name.clone(),
                        u.kind.clone(),
                        u.parent.clone(),
                    ]
                });
                say!("{}", table(&["code", "name", "kind", "under"], rows));
            }
            Ok(())
        }
    }
}

/// `jejak admin units load FILE`: parents first, each with a request id
/// derived from its code, so a second load writes nothing.
pub async fn units(c: &Connection, command: UnitsCommand) -> Outcome {
    let UnitsCommand::Load { file } = command;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let parsed: UnitsFile =
        toml::from_str(&text).with_context(|| format!("{} is not a units file", file.display()))?;
    let mut entries = parsed.unit;
    // OPDs first: a puskesmas names the OPD it belongs to.
    entries.sort_by_key(|u| !u.parent.trim().is_empty());
    let mut admin = c.admin()?;
    let (mut added, mut kept) = (0, 0);
    for u in entries {
        let code = u.code.trim().to_owned();
        let w = admin
            .add_unit(pb::AddUnitRequest {
                request_id: format!("units-load/{code}"),
                unit: Some(pb::Unit {
                    code: u.code,
                    name: u.name,
                    kind: u.kind,
                    parent: u.parent,
                }),
            })
            .await
            // Say what the file left behind: a load stops at the first
            // unit refused, and loading the file again adds only the rest.
            .map_err(|status| match crate::client::Failure::from(status) {
                crate::client::Failure::Refused(why) => crate::client::Failure::Refused(format!(
                    "unit '{code}': {why}; {added} units were added and {kept} already there before it; fix the file and load it again (what is there is not added twice)"
                )),
                unreachable => unreachable,
            })?
            .into_inner();
        if w.events.is_empty() || w.duplicate {
            kept += 1;
        } else {
            added += 1;
        }
    }
    if c.json {
        print_json(&serde_json::json!({"added": added, "unchanged": kept}));
    } else {
        say!("{added} units added, {kept} already there");
    }
    Ok(())
}
