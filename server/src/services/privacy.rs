//! What is held about a person and who read it (`GetPrivacyReport`), and
//! what has passed its retention period (`ListRetention`); ADR 0022.

use jejak_engine::domain::change_project::ChangeProject;
use jejak_engine::domain::cohort::Cohort;
use jejak_engine::domain::values::{CohortId, PersonId, ProjectId};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::stream_of;
use jejak_engine::privacy::fields;
use jejak_engine::store::{MAX_READ_LIMIT, RecordedEvent};
use jejak_proto::v1 as pb;
use tonic::Status;

use super::{PARTICIPANT_FIELDS, require};
use crate::App;
use crate::convert::timestamp;
use crate::error::{invalid, status};

fn personal_event(e: &RecordedEvent, relation: &str) -> pb::PersonalEvent {
    pb::PersonalEvent {
        position: e.position,
        stream_id: e.stream_id.to_string(),
        event_type: e.event_type.clone(),
        recorded_at: Some(timestamp(e.recorded_at)),
        relation: relation.to_owned(),
    }
}

impl App {
    /// Everything held about `person`, for `actor`: the person themselves,
    /// an operator or an auditor.
    pub(crate) async fn privacy_report(
        &self,
        actor: &Actor,
        person: &str,
    ) -> Result<pb::PrivacyReport, Status> {
        let person = PersonId::parse_field("person_id", person.trim())
            .map_err(|e| invalid("person_id", e))?;
        if actor.id != person.as_str() {
            require(
                actor,
                &[Role::Admin, Role::Auditor],
                "read another person's privacy report",
            )?;
        }
        let engine = self.engine();
        let privacy = engine.privacy();
        let erased = privacy.is_erased(person.as_str()).await.map_err(status)?;
        let mut enrolments = Vec::new();
        let mut events = Vec::new();
        for cohort in self.views().cohorts(None).await.map_err(status)? {
            let Some(loaded) = engine
                .get::<Cohort>(&cohort.cohort_id)
                .await
                .map_err(status)?
            else {
                continue;
            };
            let Some(enrollment) = loaded.state.enrollments.get(&person) else {
                continue;
            };
            let cohort_id =
                CohortId::parse(&cohort.cohort_id).map_err(|e| invalid("cohort_id", e))?;
            let project = ProjectId::for_participant(&cohort_id, &person);
            let row = self
                .views()
                .project(project.as_str(), None)
                .await
                .map_err(status)?;
            // The cohort's events that hold their fields.
            let stream = stream_of::<Cohort>(cohort_id.as_str()).map_err(status)?;
            for e in engine
                .store()
                .read_stream_to_end(&stream)
                .await
                .map_err(status)?
            {
                let names_them = fields::carries_personal(&e.event_type)
                    && serde_json::from_str::<serde_json::Value>(&e.payload).is_ok_and(|p| {
                        fields::sealed_in(&p)
                            .iter()
                            .any(|s| s.person == person.as_str())
                            || fields::opened_in(&p).iter().any(|p| p == person.as_str())
                    });
                if names_them {
                    events.push(personal_event(&e, "names them"));
                }
            }
            // Every event of their project.
            let stream = stream_of::<ChangeProject>(project.as_str()).map_err(status)?;
            for e in engine
                .store()
                .read_stream_to_end(&stream)
                .await
                .map_err(status)?
            {
                events.push(personal_event(&e, "names them"));
            }
            let p = &enrollment.participant;
            enrolments.push(pb::PersonalEnrolment {
                cohort_id: cohort_id.to_string(),
                code: enrollment
                    .code(&cohort_id)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                project_id: if row.is_some() {
                    project.to_string()
                } else {
                    String::new()
                },
                nip: p.nip.to_string(),
                name: p.name.clone(),
                position: p.position.clone(),
                opd: p.opd.to_string(),
                mentor: enrollment.mentor.clone(),
                coach: enrollment.coach.clone(),
                examiners: enrollment.examiners.clone(),
                project_state: row.as_ref().map(|r| r.state.clone()).unwrap_or_default(),
                project_title: row.map(|r| r.title).unwrap_or_default(),
            });
        }
        // What they did themselves.
        let mut after = 0;
        loop {
            let batch = engine
                .store()
                .read_by_actor(person.as_str(), after, MAX_READ_LIMIT)
                .await
                .map_err(status)?;
            let Some(last) = batch.last() else { break };
            after = last.position;
            events.extend(batch.iter().map(|e| personal_event(e, "by them")));
        }
        events.sort_by_key(|e| e.position);
        events.dedup_by_key(|e| e.position);
        privacy.flush_reads().await;
        let reads = privacy
            .reads_of(person.as_str())
            .await
            .map_err(status)?
            .into_iter()
            .map(|r| pb::PersonalReadRecord {
                read_at: Some(timestamp(r.at)),
                reader: r.reader,
                what: r.what,
                why: r.why,
            })
            .collect();
        // The report itself is a read of their data by someone else.
        if !erased && !enrolments.is_empty() {
            self.record_reads(
                actor,
                vec![person.to_string()],
                PARTICIPANT_FIELDS,
                "Admin.GetPrivacyReport",
            )
            .await;
        }
        Ok(pb::PrivacyReport {
            person_id: person.to_string(),
            erased,
            enrolments,
            events,
            reads,
        })
    }

    /// What has passed its retention period.
    pub(crate) async fn retention(
        &self,
        actor: &Actor,
    ) -> Result<pb::ListRetentionResponse, Status> {
        require(
            actor,
            &[Role::Admin, Role::Auditor],
            "list what has passed retention",
        )?;
        let retention = self.inner.config.retention;
        let engine = self.engine();
        let today = engine.today();
        let mut items = Vec::new();
        for cohort in self.views().cohorts(None).await.map_err(status)? {
            let passed = retention.participant_passes(cohort.ends_on);
            if passed > today {
                continue;
            }
            let Some(loaded) = engine
                .get::<Cohort>(&cohort.cohort_id)
                .await
                .map_err(status)?
            else {
                continue;
            };
            for enrollment in loaded.state.enrollments.values() {
                let person = enrollment.participant.person.as_str();
                if engine.privacy().is_erased(person).await.map_err(status)? {
                    continue;
                }
                items.push(pb::RetentionItem {
                    category: "participant".into(),
                    person_id: person.to_owned(),
                    what: format!(
                        "enrolled in {} ({}), training ended {}",
                        cohort.cohort_id,
                        enrollment
                            .code(
                                &loaded
                                    .state
                                    .facts
                                    .as_ref()
                                    .map(|f| f.cohort_id.clone())
                                    .unwrap_or_else(|| CohortId::parse(&cohort.cohort_id)
                                        .expect("a view's cohort id"))
                            )
                            .map(|c| c.to_string())
                            .unwrap_or_default(),
                        cohort.ends_on
                    ),
                    since: cohort.ends_on.to_string(),
                    passed_on: passed.to_string(),
                });
            }
        }
        let cutoff = engine.clock().now() - chrono::Duration::days(i64::from(retention.reads_days));
        engine.privacy().flush_reads().await;
        for old in jejak_engine::privacy::retention::reads_before(engine.store(), cutoff)
            .await
            .map_err(status)?
        {
            let since = old.oldest.date_naive();
            items.push(pb::RetentionItem {
                category: "personal_reads".into(),
                person_id: old.person,
                what: format!("{} recorded reads of their data", old.count),
                since: since.to_string(),
                passed_on: (since + chrono::Days::new(u64::from(retention.reads_days))).to_string(),
            });
        }
        items.sort_by(|a, b| a.passed_on.cmp(&b.passed_on));
        Ok(pb::ListRetentionResponse {
            periods: retention.describe(),
            items,
        })
    }
}
