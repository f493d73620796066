//! The region's units as data (ADR 0028): its OPDs, the puskesmas under
//! the health office, the kecamatan, each with a code (what systems keep)
//! and a name (what people read). One stream per deployment, kept by an
//! operator; enrolments and innovation registrations name units from it
//! once it holds any (a log without units accepts any code, as before).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::values::{OpdCode, quoted, short};
use super::{Aggregate, Command, DomainError, Role};
use crate::workflow::WorkflowRef;

/// The id of the one units stream of a deployment (`units-region`).
pub const UNITS_ID: &str = "region";

/// What kind of unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// A regional work unit (OPD): a dinas, badan, the secretariat, RSUD.
    Opd,
    /// A puskesmas (community health centre), under the health office.
    Puskesmas,
    /// A kecamatan (district).
    Kecamatan,
}

impl UnitKind {
    /// Its name in files and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opd => "opd",
            Self::Puskesmas => "puskesmas",
            Self::Kecamatan => "kecamatan",
        }
    }

    /// Parses `opd`, `puskesmas` or `kecamatan`.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `kind`.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "opd" => Ok(Self::Opd),
            "puskesmas" => Ok(Self::Puskesmas),
            "kecamatan" => Ok(Self::Kecamatan),
            _ => Err(DomainError::invalid(
                "kind",
                format!(
                    "{} is not a kind of unit; use opd, puskesmas or kecamatan",
                    quoted(value)
                ),
            )),
        }
    }
}

/// One unit of the region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Its code, e.g. `dinkes`, `pkm-cibeber`, `kec-cibeber`.
    pub code: OpdCode,
    /// Its name, e.g. `Dinas Kesehatan`.
    pub name: String,
    /// OPD, puskesmas or kecamatan.
    pub kind: UnitKind,
    /// The OPD it belongs to (a puskesmas: the health office).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<OpdCode>,
}

/// Commands on the region's units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitsCommand {
    /// Adds a unit (a code not used before).
    Add(Unit),
    /// Renames a unit; its code stays.
    Rename {
        /// The unit.
        code: OpdCode,
        /// Its new name.
        name: String,
    },
}

/// What happened to the region's units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum UnitsEvent {
    UnitAdded { unit: Unit },
    UnitRenamed { code: OpdCode, name: String },
}

/// The region's units as folded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitsState {
    /// Every unit by code.
    pub units: BTreeMap<String, Unit>,
}

/// How a name given for a unit compares with the region's units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitMatch {
    /// The region defines no units: anything goes (a log from before units).
    Undefined,
    /// A unit of the region.
    Known,
    /// No unit has this code (or name); the nearest one, if any is near.
    Unknown {
        /// The nearest code, to suggest.
        nearest: Option<String>,
    },
}

impl UnitsState {
    /// Whether `given` is the code of one of the region's units of the
    /// kinds `kinds` (or, with `by_name`, its name, case aside), and
    /// otherwise the nearest code (Jaro–Winkler over codes and names).
    pub fn check(&self, given: &str, kinds: &[UnitKind], by_name: bool) -> UnitMatch {
        if self.units.is_empty() {
            return UnitMatch::Undefined;
        }
        let given = given.trim();
        let candidates = self.units.values().filter(|u| kinds.contains(&u.kind));
        let lower = given.to_lowercase();
        let mut nearest: Option<(f64, &Unit)> = None;
        for unit in candidates {
            if unit.code.as_str() == given || (by_name && unit.name.to_lowercase() == lower) {
                return UnitMatch::Known;
            }
            let score = strsim::jaro_winkler(&lower, unit.code.as_str())
                .max(strsim::jaro_winkler(&lower, &unit.name.to_lowercase()));
            if nearest.is_none_or(|(best, _)| score > best) {
                nearest = Some((score, unit));
            }
        }
        UnitMatch::Unknown {
            nearest: nearest
                .filter(|(score, _)| *score >= 0.7)
                .map(|(_, unit)| unit.code.to_string()),
        }
    }

    /// [`UnitsState::check`] as a refusal naming `field`.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `field`, with the nearest unit
    /// suggested, when the region defines units and none is `given`.
    pub fn require(
        &self,
        field: &str,
        given: &str,
        kinds: &[UnitKind],
        by_name: bool,
    ) -> Result<(), DomainError> {
        match self.check(given, kinds, by_name) {
            UnitMatch::Undefined | UnitMatch::Known => Ok(()),
            UnitMatch::Unknown { nearest } => {
                let what = kinds
                    .iter()
                    .map(|k| match k {
                        UnitKind::Opd => "OPD",
                        UnitKind::Puskesmas => "puskesmas",
                        UnitKind::Kecamatan => "kecamatan",
                    })
                    .collect::<Vec<_>>()
                    .join(" or ");
                let hint = match nearest {
                    Some(code) => {
                        let name = self.units.get(&code).map(|u| u.name.as_str()).unwrap_or("");
                        format!("; did you mean {code} ({name})?")
                    }
                    None => "; ask the operator which units the region has".to_owned(),
                };
                Err(DomainError::invalid(
                    field,
                    format!(
                        "{} is not a unit of this region ({what}){hint}",
                        quoted(given)
                    ),
                ))
            }
        }
    }
}

/// The units decider.
#[derive(Debug)]
pub struct Units;

impl Aggregate for Units {
    const KIND: &'static str = "units";
    const LABEL: &'static str = "units";
    const SNAPSHOT_VERSION: u32 = 1;
    type State = UnitsState;
    type Command = UnitsCommand;
    type Event = UnitsEvent;

    fn decide(
        state: &UnitsState,
        command: &Command<UnitsCommand>,
    ) -> Result<Vec<UnitsEvent>, DomainError> {
        if command.actor.role != Role::Admin {
            return Err(DomainError::forbidden(format!(
                "{} may not keep the region's units; operators do",
                command.actor.role.a()
            )));
        }
        match &command.body {
            UnitsCommand::Add(unit) => {
                let name = short("name", &unit.name)?;
                if let Some(existing) = state.units.get(unit.code.as_str()) {
                    if existing.name == name
                        && existing.kind == unit.kind
                        && existing.parent == unit.parent
                    {
                        return Ok(vec![]);
                    }
                    return Err(DomainError::AlreadyExists {
                        what: "unit",
                        id: unit.code.to_string(),
                    });
                }
                // One unit per code however it is written: `DINKES` is `dinkes`.
                if let Some(existing) = state
                    .units
                    .keys()
                    .find(|code| code.eq_ignore_ascii_case(unit.code.as_str()))
                {
                    return Err(DomainError::AlreadyExists {
                        what: "unit",
                        id: existing.to_string(),
                    });
                }
                match (&unit.parent, unit.kind) {
                    // An OPD and a kecamatan are the region's own units.
                    (Some(_), UnitKind::Opd | UnitKind::Kecamatan) => {
                        return Err(DomainError::invalid(
                            "parent",
                            "an OPD or a kecamatan belongs to no other unit; leave parent empty",
                        ));
                    }
                    (None, UnitKind::Puskesmas) => {
                        return Err(DomainError::invalid(
                            "parent",
                            "a puskesmas belongs to an OPD (the health office): name it",
                        ));
                    }
                    (Some(parent), _) => {
                        if state
                            .units
                            .get(parent.as_str())
                            .is_none_or(|p| p.kind != UnitKind::Opd)
                        {
                            return Err(DomainError::invalid(
                                "parent",
                                format!(
                                    "{} is not an OPD of this region; add it first",
                                    quoted(parent.as_str())
                                ),
                            ));
                        }
                        // The region's puskesmas are under its one health
                        // office: the OPD its first puskesmas named.
                        if let Some(office) = state
                            .units
                            .values()
                            .filter(|u| u.kind == UnitKind::Puskesmas)
                            .find_map(|u| u.parent.as_ref())
                            .filter(|office| *office != parent)
                        {
                            return Err(DomainError::invalid(
                                "parent",
                                format!(
                                    "the region's puskesmas are under its health office {}; \
                                     name {} as the parent",
                                    quoted(office.as_str()),
                                    quoted(office.as_str())
                                ),
                            ));
                        }
                    }
                    (None, _) => {}
                }
                Ok(vec![UnitsEvent::UnitAdded {
                    unit: Unit {
                        name,
                        ..unit.clone()
                    },
                }])
            }
            UnitsCommand::Rename { code, name } => {
                let name = short("name", name)?;
                let unit = state
                    .units
                    .get(code.as_str())
                    .ok_or_else(|| DomainError::NotFound {
                        what: "unit",
                        id: code.to_string(),
                    })?;
                if unit.name == name {
                    return Ok(vec![]);
                }
                Ok(vec![UnitsEvent::UnitRenamed {
                    code: code.clone(),
                    name,
                }])
            }
        }
    }

    fn evolve(mut state: UnitsState, event: &UnitsEvent) -> UnitsState {
        match event {
            UnitsEvent::UnitAdded { unit } => {
                state.units.insert(unit.code.to_string(), unit.clone());
            }
            UnitsEvent::UnitRenamed { code, name } => {
                if let Some(unit) = state.units.get_mut(code.as_str()) {
                    unit.name.clone_from(name);
                }
            }
        }
        state
    }

    fn command_name(command: &UnitsCommand) -> &'static str {
        match command {
            UnitsCommand::Add(_) => "add_unit",
            UnitsCommand::Rename { .. } => "rename_unit",
        }
    }

    fn workflow_of(_state: &UnitsState) -> Option<&WorkflowRef> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, name: &str, kind: UnitKind, parent: Option<&str>) -> Unit {
        Unit {
            code: OpdCode::parse(code).unwrap(),
            name: name.into(),
            kind,
            parent: parent.map(|p| OpdCode::parse(p).unwrap()),
        }
    }

    fn region() -> UnitsState {
        [
            unit("dinkes", "Dinas Kesehatan", UnitKind::Opd, None),
            unit("dpmptsp", "DPMPTSP", UnitKind::Opd, None),
            unit(
                "pkm-cibeber",
                "Puskesmas Cibeber",
                UnitKind::Puskesmas,
                Some("dinkes"),
            ),
        ]
        .into_iter()
        .map(|unit| UnitsEvent::UnitAdded { unit })
        .fold(UnitsState::default(), |s, e| Units::evolve(s, &e))
    }

    #[test]
    fn no_units_accepts_anything_and_a_typo_gets_the_nearest() {
        let none = UnitsState::default();
        assert_eq!(
            none.check("anything", &[UnitKind::Opd], false),
            UnitMatch::Undefined
        );
        let r = region();
        assert_eq!(r.check("dinkes", &[UnitKind::Opd], false), UnitMatch::Known);
        assert_eq!(
            r.check("dinkess", &[UnitKind::Opd], false),
            UnitMatch::Unknown {
                nearest: Some("dinkes".into())
            }
        );
        // A puskesmas is not an OPD; by name it is a unit.
        assert!(matches!(
            r.check("pkm-cibeber", &[UnitKind::Opd], false),
            UnitMatch::Unknown { .. }
        ));
        assert_eq!(
            r.check("puskesmas cibeber", &[UnitKind::Puskesmas], true),
            UnitMatch::Known
        );
        let refused = r
            .require("opd", "dinkess", &[UnitKind::Opd], false)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("did you mean dinkes"), "{refused}");
    }

    #[test]
    fn every_puskesmas_is_under_the_one_health_office() {
        let r = region();
        let add = |parent| {
            Units::decide(
                &r,
                &Command {
                    actor: crate::domain::Actor::new("operator", Role::Admin),
                    at: chrono::Utc::now(),
                    utc_offset: chrono::FixedOffset::east_opt(7 * 3600).expect("WIB"),
                    request_id: "r".into(),
                    workflow: None,
                    body: UnitsCommand::Add(unit(
                        "pkm-jombang",
                        "Puskesmas Jombang",
                        UnitKind::Puskesmas,
                        Some(parent),
                    )),
                },
            )
        };
        let refused = add("dpmptsp").unwrap_err().to_string();
        assert!(refused.contains("health office 'dinkes'"), "{refused}");
        assert!(add("dinkes").is_ok());
    }
}
