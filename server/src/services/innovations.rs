use std::collections::BTreeSet;

use jejak_engine::domain::innovation::{
    Amendment, Innovation, InnovationCommand as I, Profile, Source,
};
use jejak_engine::domain::units::UnitKind;
use jejak_engine::domain::values::{InnovationId, OpdCode};
use jejak_engine::domain::{Aggregate as _, Role};
use jejak_projections::views::{Dormant, InnovationRow, Named, Page, RegisterFilter, StatsFilter};
use jejak_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::{Written, can_see_innovation, not_found, require};
use crate::App;
use crate::convert::{
    agreement, agreement_out, attachment, date, domain, form, form_out, key_token, min_position,
    page_after, source, source_out, text_date, timestamp,
};
use crate::error::{invalid, status};

fn opd(field: &str, value: &str) -> Result<OpdCode, Status> {
    OpdCode::parse(value).map_err(|e| invalid(field, e))
}

fn entry(row: InnovationRow) -> pb::InnovationEntry {
    pb::InnovationEntry {
        innovation_id: row.innovation_id,
        name: row.name,
        opd: row.opd,
        unit: row.unit.unwrap_or_default(),
        region: row.region,
        source: source_out(row.source),
        form: form_out(row.form),
        digital: row.digital,
        sector: row.sector,
        stage: row.stage,
        dormant: row.dormant,
        decree_number: row.decree_number.unwrap_or_default(),
        pilot_started_on: text_date(row.pilot_started_on),
        implemented_on: text_date(row.implemented_on),
        dormant_since: text_date(row.dormant_since),
        origin_project: row.origin_project.unwrap_or_default(),
        replica_of: row.replica_of.unwrap_or_default(),
        replicas: row.replicas,
        replication_count: row.adopters,
        registered_at: Some(timestamp(row.registered_at)),
    }
}

impl App {
    async fn dated(
        &self,
        request: Request<pb::DatedRequest>,
        make: impl FnOnce(chrono::NaiveDate, String) -> I,
    ) -> Written {
        let (ctx, r) = self.command(request)?;
        let on = date("on", &r.on)?;
        self.on_innovation(&ctx, &r.innovation_id, make(on, r.text))
            .await
            // The decider names the evaluation, budget line or reason; on
            // the wire each is the request's `text`.
            .map_err(|status| match status.metadata().get("jejak-field") {
                Some(field)
                    if ["evaluation", "budget_line", "reason"]
                        .iter()
                        .any(|f| field == f) =>
                {
                    let reason = status
                        .message()
                        .split_once(": ")
                        .map_or(status.message(), |(_, reason)| reason);
                    invalid("text", reason)
                }
                _ => status,
            })
    }
}

fn sdgs(given: &[u32]) -> Result<BTreeSet<u8>, Status> {
    given
        .iter()
        .map(|g| {
            u8::try_from(*g)
                .map_err(|_| invalid("sdgs", format!("{g} is not an SDG; they run 1 to 17")))
        })
        .collect()
}

impl App {
    /// The register's row of innovation `id` once the view has applied
    /// `min_position`; one the caller may not see is answered as one that
    /// does not exist.
    async fn visible_innovation(
        &self,
        actor: &jejak_engine::domain::Actor,
        id: &InnovationId,
        min: u64,
    ) -> Result<InnovationRow, Status> {
        self.views()
            .innovation(id.as_str(), min_position(min))
            .await
            .map_err(status)?
            .filter(|row| can_see_innovation(actor, row))
            .ok_or_else(|| not_found(Innovation::LABEL, id.as_str()))
    }
}

#[tonic::async_trait]
impl pb::innovations_server::Innovations for App {
    async fn amend_profile(&self, request: Request<pb::AmendProfileRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let amendment = Amendment {
            name: r.name,
            unit: (!r.unit.trim().is_empty()).then_some(r.unit),
            form: form(r.form)?,
            digital: r.digital,
            sector: r.sector,
            sdgs: sdgs(&r.sdgs)?,
            goal: r.goal,
            benefit: r.benefit,
            budget: (r.budget > 0).then_some(r.budget),
            legal_basis: (!r.legal_basis.trim().is_empty()).then_some(r.legal_basis),
        };
        self.on_innovation(&ctx, &r.innovation_id, I::AmendProfile(amendment))
            .await
    }

    async fn register_innovation(
        &self,
        request: Request<pb::RegisterInnovationRequest>,
    ) -> Written {
        let (ctx, r) = self.command(request)?;
        let innovation_id = InnovationId::parse(&r.innovation_id).map_err(domain)?;
        let sdgs = sdgs(&r.sdgs)?;
        let opd = opd("opd", &r.opd)?;
        self.require_unit(
            "opd",
            opd.as_str(),
            &[UnitKind::Opd, UnitKind::Kecamatan],
            false,
        )
        .await?;
        if !r.unit.trim().is_empty() {
            self.require_unit(
                "unit",
                &r.unit,
                &[UnitKind::Puskesmas, UnitKind::Kecamatan, UnitKind::Opd],
                true,
            )
            .await?;
        }
        let profile = Profile {
            name: r.name,
            opd,
            unit: (!r.unit.trim().is_empty()).then_some(r.unit),
            region: r.region,
            source: source("source", r.source)?,
            initiator_type: r.initiator_type,
            form: form(r.form)?,
            digital: r.digital,
            sector: r.sector,
            sdgs,
            goal: r.goal,
            benefit: r.benefit,
            budget: (r.budget > 0).then_some(r.budget),
            legal_basis: (!r.legal_basis.trim().is_empty()).then_some(r.legal_basis),
        };
        let body = I::Register {
            innovation_id: innovation_id.clone(),
            profile,
            origin: None,
        };
        self.on_innovation(&ctx, innovation_id.as_str(), body).await
    }

    async fn judge_feasibility(&self, request: Request<pb::JudgeFeasibilityRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_innovation(
            &ctx,
            &r.innovation_id,
            I::JudgeFeasibility {
                feasible: r.feasible,
                notes: r.notes,
            },
        )
        .await
    }

    async fn designate(&self, request: Request<pb::DesignateRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let body = I::Designate {
            decree_number: r.decree_number,
            decree_date: date("decree_date", &r.decree_date)?,
        };
        self.on_innovation(&ctx, &r.innovation_id, body).await
    }

    async fn start_pilot(&self, request: Request<pb::DatedRequest>) -> Written {
        self.dated(request, |on, _| I::StartPilot { on }).await
    }

    async fn evaluate_pilot(&self, request: Request<pb::DatedRequest>) -> Written {
        self.dated(request, |on, evaluation| I::EvaluatePilot {
            on,
            evaluation,
        })
        .await
    }

    async fn implement(&self, request: Request<pb::DatedRequest>) -> Written {
        self.dated(request, |on, budget_line| I::Implement { on, budget_line })
            .await
    }

    async fn mark_dormant(&self, request: Request<pb::DatedRequest>) -> Written {
        self.dated(request, |on, reason| I::MarkDormant { on, reason })
            .await
    }

    async fn resume(&self, request: Request<pb::DatedRequest>) -> Written {
        self.dated(request, |on, _| I::Resume { on }).await
    }

    async fn record_replication(
        &self,
        request: Request<pb::InnovationReplicationRequest>,
    ) -> Written {
        let (ctx, r) = self.command(request)?;
        let adopter_opd = opd("adopter_opd", &r.adopter_opd)?;
        let mut agreement = agreement(r.agreement.as_ref())?;
        let key = super::evidence::innovation_key(
            &InnovationId::parse(&r.innovation_id)
                .map_err(domain)?
                .to_string(),
        );
        self.stored_files(
            "agreement.document",
            &key,
            agreement.document.as_mut_slice(),
        )
        .await?;
        let body = I::RecordReplication {
            adopter_opd,
            adopter_region: r.adopter_region,
            agreement,
        };
        self.on_innovation(&ctx, &r.innovation_id, body).await
    }

    async fn add_evidence(&self, request: Request<pb::AddEvidenceRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let evidence = r
            .attachment
            .as_ref()
            .ok_or_else(|| invalid("attachment", "is required"))?;
        let mut files = [attachment("attachment", evidence)?];
        let key = super::evidence::innovation_key(
            &InnovationId::parse(&r.innovation_id)
                .map_err(domain)?
                .to_string(),
        );
        self.stored_files("attachment", &key, &mut files).await?;
        let [attachment] = files;
        let body = I::AddEvidence {
            indicator: r.indicator,
            attachment,
        };
        self.on_innovation(&ctx, &r.innovation_id, body).await
    }

    async fn record_award(&self, request: Request<pb::RecordAwardRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let body = I::RecordAward {
            title: r.title,
            year: r.year,
            awarded_by: r.awarded_by,
        };
        self.on_innovation(&ctx, &r.innovation_id, body).await
    }

    async fn get_innovation(
        &self,
        request: Request<pb::GetInnovationRequest>,
    ) -> Result<Response<pb::InnovationEntry>, Status> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = InnovationId::parse(&r.innovation_id).map_err(domain)?;
        let row = self.visible_innovation(&actor, &id, r.min_position).await?;
        Ok(Response::new(entry(row)))
    }

    async fn get_innovation_detail(
        &self,
        request: Request<pb::GetInnovationRequest>,
    ) -> Result<Response<pb::InnovationDetail>, Status> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = InnovationId::parse(&r.innovation_id).map_err(domain)?;
        // The register's row (after the caller's own write, as GetInnovation),
        // then the stream for what the register does not keep.
        let row = self.visible_innovation(&actor, &id, r.min_position).await?;
        let state = self
            .engine()
            .get::<Innovation>(id.as_str())
            .await
            .map_err(status)?
            .map(|l| l.state)
            .ok_or_else(|| not_found(Innovation::LABEL, id.as_str()))?;
        let profile = state
            .profile
            .clone()
            .ok_or_else(|| not_found(Innovation::LABEL, id.as_str()))?;
        let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        Ok(Response::new(pb::InnovationDetail {
            entry: Some(entry(row)),
            initiator_type: profile.initiator_type,
            goal: profile.goal,
            benefit: profile.benefit,
            sdgs: profile.sdgs.iter().map(|g| u32::from(*g)).collect(),
            budget: profile.budget.unwrap_or(0),
            legal_basis: profile.legal_basis.unwrap_or_default(),
            feasible: match state.feasible {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => String::new(),
            },
            decree_date: day(state.decree.as_ref().map(|d| d.1)),
            pilot_evaluated_on: day(state.pilot_evaluated_on),
            evidence: state
                .evidence
                .iter()
                .map(|(indicator, a)| pb::IndicatorEvidence {
                    indicator: indicator.clone(),
                    attachment: Some(super::evidence::attachment_out(a)),
                })
                .collect(),
            awards: state
                .awards
                .iter()
                .map(|(title, year)| pb::InnovationAward {
                    title: title.clone(),
                    year: *year,
                })
                .collect(),
            adopters: state
                .adopters
                .iter()
                .map(|a| pb::InnovationAdopter {
                    innovation_id: a.innovation_id.to_string(),
                    opd: a.opd.to_string(),
                    region: a.region.clone(),
                    agreement: a.agreement.as_ref().map(agreement_out),
                })
                .collect(),
        }))
    }

    async fn list_innovations(
        &self,
        request: Request<pb::ListInnovationsRequest>,
    ) -> Result<Response<pb::ListInnovationsResponse>, Status> {
        let actor = self.actor(&request)?;
        require(
            &actor,
            &[Role::InnovationOfficer, Role::BridaOfficer, Role::Auditor],
            "read the innovation register",
        )?;
        let r = request.into_inner();
        let (after, size) = page_after(r.page.as_ref())?;
        let source = match pb::Source::try_from(r.source).unwrap_or(pb::Source::Unspecified) {
            pb::Source::Unspecified => None,
            _ => Some(
                crate::convert::source("source", r.source)?
                    .as_str()
                    .to_owned(),
            ),
        };
        let some = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let mut filter = RegisterFilter {
            opd: some(r.opd),
            stage: some(r.stage),
            source,
            dormant_only: r.dormant_only,
        };
        // An OPD's officer reads only their OPD's (`can_see_innovation` as
        // the register's term, ADR 0033): a page costs the page.
        let readable = match (actor.role, actor.opd.as_ref()) {
            (Role::InnovationOfficer, Some(own)) => {
                let mine = filter.opd.as_deref().is_none_or(|o| o == own.as_str());
                filter.opd = Some(own.to_string());
                mine
            }
            (Role::InnovationOfficer, None) => false,
            _ => true,
        };
        let mut page = if readable {
            self.views()
                .register(
                    &filter,
                    after.as_deref(),
                    size,
                    min_position(r.min_position),
                )
                .await
                .map_err(status)?
        } else {
            Page {
                rows: Vec::new(),
                next: None,
            }
        };
        page.rows.retain(|row| can_see_innovation(&actor, row));
        Ok(Response::new(pb::ListInnovationsResponse {
            innovations: page.rows.into_iter().map(entry).collect(),
            next_page_token: key_token(page.next),
        }))
    }

    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::InnovationStatistics>, Status> {
        let actor = self.actor(&request)?;
        require(
            &actor,
            &[Role::InnovationOfficer, Role::BridaOfficer, Role::Auditor],
            "read the innovation statistics",
        )?;
        let r = request.into_inner();
        let mut opds = self.inner.config.opds.clone();
        for (i, o) in r.opds.iter().enumerate() {
            opds.push(opd(&format!("opds[{i}]"), o)?.to_string());
        }
        let filter = stats_filter(&r)?;
        // Counts are the city's; the lists name innovations, and an OPD's
        // officer reads only their own OPD's (dormant ones included).
        let own = (actor.role == Role::InnovationOfficer).then(|| {
            actor
                .opd
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        });
        let dormant = Dormant {
            limit: dormant_limit(r.dormant_limit)?,
            opd: own.clone(),
        };
        let stats = self
            .views()
            .statistics_filtered(
                &opds,
                &self.engine().config().region,
                &filter,
                &dormant,
                min_position(r.min_position),
            )
            .await
            .map_err(status)?;
        let (dormant, mut most_replicated) = (stats.dormant, stats.most_replicated);
        if let Some(own) = &own {
            most_replicated.retain(|(n, _)| &n.opd == own);
        }
        let named = |n: Named| pb::NamedInnovation {
            innovation_id: n.innovation_id,
            name: n.name,
            opd: n.opd,
        };
        Ok(Response::new(pb::InnovationStatistics {
            total: stats.total,
            by_opd: stats
                .by_opd
                .into_iter()
                .map(|o| pb::OpdStages {
                    opd: o.opd,
                    by_stage: o.by_stage.into_iter().collect(),
                    total: o.total,
                })
                .collect(),
            by_stage: stats.by_stage.into_iter().collect(),
            by_source: stats
                .by_source
                .into_iter()
                .map(|s| pb::SourceShare {
                    source: Source::parse(&s.source).map_or(0, source_out),
                    count: s.count,
                    percent: s.percent,
                })
                .collect(),
            opds_without: stats.opds_without,
            coverage: stats.coverage,
            gini: stats.gini,
            dormant: dormant.iter().map(|n| n.innovation_id.clone()).collect(),
            dormant_innovations: dormant.into_iter().map(named).collect(),
            dormant_total: stats.dormant_total,
            by_adopters: stats.by_adopters.into_iter().collect(),
            region: self.engine().config().region.clone(),
            most_replicated: most_replicated
                .into_iter()
                .map(|(n, adopters)| pb::Replicated {
                    innovation_id: n.innovation_id,
                    adopters,
                    name: n.name,
                    opd: n.opd,
                })
                .collect(),
            trend: stats
                .trend
                .into_iter()
                .map(|t| pb::YearTrend {
                    year: t.year,
                    registered: t.registered,
                    piloted: t.piloted,
                    adopted: t.adopted,
                    replicated: t.replicated,
                    dormant: t.dormant,
                })
                .collect(),
        }))
    }
}

/// The dormant innovations a statistics request names: 0 is the default.
fn dormant_limit(asked: u32) -> Result<usize, Status> {
    match usize::try_from(asked).unwrap_or(usize::MAX) {
        0 => Ok(Dormant::DEFAULT_LIMIT),
        n if n <= Dormant::MAX_LIMIT => Ok(n),
        n => Err(Status::invalid_argument(format!(
            "dormant_limit {n} is over {}: ask for fewer and page through ListInnovations with dormant_only for every dormant innovation",
            Dormant::MAX_LIMIT
        ))),
    }
}

/// OPDs a statistics filter may name.
const MAX_FILTER_OPDS: usize = 100;

/// Reads (years × OPDs) a filtered statistics request may take.
const MAX_FILTER_READS: usize = 1_000;

/// The filter of a statistics request, each value checked: what was wrong
/// and what is allowed (ADR 0035).
pub(crate) fn stats_filter(r: &pb::GetStatisticsRequest) -> Result<StatsFilter, Status> {
    let years = StatsFilter::YEARS;
    let (first, last) = (years.start(), years.end());
    let year = |field: &str, y: i32| {
        if years.contains(&y) {
            Ok(y)
        } else {
            Err(invalid(
                field,
                format!("{y} is not a year the register can hold: give one from {first} to {last}"),
            ))
        }
    };
    let years = match (r.year, r.year_to) {
        (0, 0) => None,
        (0, _) => {
            return Err(invalid(
                "year_to",
                "ends a range: give its first year in year too",
            ));
        }
        (y, 0) => {
            let y = year("year", y)?;
            Some((y, y))
        }
        (from, to) => {
            let (from, to) = (year("year", from)?, year("year_to", to)?);
            if to < from {
                return Err(invalid(
                    "year_to",
                    format!("{to} is before the range's first year {from}"),
                ));
            }
            Some((from, to))
        }
    };
    let source = match pb::Source::try_from(r.source) {
        Ok(pb::Source::Unspecified) => None,
        Ok(_) => Some(
            crate::convert::source("source", r.source)?
                .as_str()
                .to_owned(),
        ),
        Err(_) => {
            let known: Vec<&str> = (1..=7)
                .filter_map(|n| pb::Source::try_from(n).ok())
                .map(|s| s.as_str_name())
                .collect();
            return Err(invalid(
                "source",
                format!(
                    "{} is not a source: give one of {}",
                    r.source,
                    known.join(", ")
                ),
            ));
        }
    };
    let sector = r.sector.trim();
    if sector.chars().count() > 200 {
        return Err(invalid("sector", "is longer than 200 characters"));
    }
    let sector = (!sector.is_empty()).then(|| sector.to_owned());
    if r.only_opds.len() > MAX_FILTER_OPDS {
        return Err(invalid(
            "only_opds",
            format!(
                "names {} OPDs: give at most {MAX_FILTER_OPDS}",
                r.only_opds.len()
            ),
        ));
    }
    let mut opds = BTreeSet::new();
    for (i, o) in r.only_opds.iter().enumerate() {
        opds.insert(opd(&format!("only_opds[{i}]"), o)?.to_string());
    }
    let reads = years.map_or(1, |(from, to)| usize::try_from(to - from + 1).unwrap_or(1))
        * opds.len().max(1);
    if reads > MAX_FILTER_READS {
        return Err(invalid(
            "year_to",
            format!(
                "{reads} years × OPDs to read: narrow the range or the OPDs to at most {MAX_FILTER_READS}"
            ),
        ));
    }
    Ok(StatsFilter {
        years,
        source,
        sector,
        digital: r.digital,
        opds,
    })
}
