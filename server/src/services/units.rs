//! The region's units (ADR 0028): `Admin.AddUnit`, `RenameUnit`,
//! `ListUnits`, and the check that enrolments and innovation
//! registrations name defined units.

use jejak_engine::domain::Role;
use jejak_engine::domain::units::{UNITS_ID, Unit, UnitKind, Units, UnitsCommand, UnitsState};
use jejak_engine::domain::values::OpdCode;
use jejak_engine::engine::Context;
use jejak_proto::v1 as pb;
use tonic::Status;

use super::{Written, require};
use crate::App;
use crate::convert::{domain, written};
use crate::error::{invalid, status};

/// A field's refusal under the request's own name for it.
fn named(field: &'static str) -> impl Fn(jejak_engine::domain::DomainError) -> Status {
    move |err| match err {
        jejak_engine::domain::DomainError::Invalid { reason, .. } => invalid(field, reason),
        other => domain(other),
    }
}

fn unit_out(u: &Unit) -> pb::Unit {
    pb::Unit {
        code: u.code.to_string(),
        name: u.name.clone(),
        kind: u.kind.as_str().to_owned(),
        parent: u
            .parent
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    }
}

impl App {
    /// The region's units as the log holds them now.
    pub(crate) async fn units(&self) -> Result<UnitsState, Status> {
        Ok(self
            .engine()
            .get::<Units>(UNITS_ID)
            .await
            .map_err(status)?
            .map(|l| l.state)
            .unwrap_or_default())
    }

    /// INVALID_ARGUMENT naming `field`, with the nearest unit, when the
    /// region defines units and `given` is none of `kinds` (by code, or
    /// with `by_name` also by name); nothing is checked while it defines
    /// none.
    pub(crate) async fn require_unit(
        &self,
        field: &str,
        given: &str,
        kinds: &[UnitKind],
        by_name: bool,
    ) -> Result<(), Status> {
        self.units()
            .await?
            .require(field, given, kinds, by_name)
            .map_err(domain)
    }

    pub(crate) async fn unit_add(&self, ctx: &Context, r: pb::AddUnitRequest) -> Written {
        require(&ctx.actor, &[Role::Admin], "keep the region's units")?;
        let u = r
            .unit
            .ok_or_else(|| invalid("unit", "is required: code, name and kind"))?;
        let unit = Unit {
            code: OpdCode::parse(&u.code).map_err(named("unit.code"))?,
            name: u.name,
            kind: UnitKind::parse(&u.kind).map_err(named("unit.kind"))?,
            parent: match u.parent.trim() {
                "" => None,
                p => Some(OpdCode::parse(p).map_err(named("unit.parent"))?),
            },
        };
        let outcome = self
            .engine()
            .execute::<Units>(UNITS_ID, ctx, UnitsCommand::Add(unit))
            .await
            .map_err(status)?;
        Ok(tonic::Response::new(written(outcome)))
    }

    pub(crate) async fn unit_rename(&self, ctx: &Context, r: pb::RenameUnitRequest) -> Written {
        require(&ctx.actor, &[Role::Admin], "keep the region's units")?;
        let code = OpdCode::parse(&r.code).map_err(named("code"))?;
        let outcome = self
            .engine()
            .execute::<Units>(UNITS_ID, ctx, UnitsCommand::Rename { code, name: r.name })
            .await
            .map_err(status)?;
        Ok(tonic::Response::new(written(outcome)))
    }

    pub(crate) async fn units_list(
        &self,
        r: &pb::ListUnitsRequest,
    ) -> Result<pb::ListUnitsResponse, Status> {
        let kind = match r.kind.trim() {
            "" => None,
            k => Some(UnitKind::parse(k).map_err(named("kind"))?),
        };
        let units = self.units().await?;
        Ok(pb::ListUnitsResponse {
            units: units
                .units
                .values()
                .filter(|u| kind.is_none_or(|k| u.kind == k))
                .map(unit_out)
                .collect(),
        })
    }
}
