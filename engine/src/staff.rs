//! Reassignment takes effect (ADR 0027). The organizer reassigns a
//! participant's mentor, coach or examiners on the cohort
//! (`StaffReassigned`); the participant's project, which copied the
//! enrollment when it was proposed, follows with its own `StaffAssigned`,
//! written right after the cohort's by [`Engine::reassign_staff`] and
//! repeated by the process managers after a crash between the two. Each
//! names the cohort version it follows, and a project follows only a newer
//! one, so the two writes and their order never matter.
//!
//! An amendment of the enrolment (the participant's name, position or
//! OPD, `EnrolmentAmended`) reaches the project the same way: the
//! project's `ParticipantAmended`, by [`Engine::amend_enrolment`] and
//! again by the process managers.

use crate::domain::change_project::{ChangeProject, ProjectCommand, Staff};
use crate::domain::cohort::{Cohort, CohortCommand, Enrollment, Participant};
use crate::domain::values::{CohortId, ProjectId};
use crate::engine::{CommandError, Context, Engine, Outcome};

impl Engine {
    /// Reassigns the people of `enrollment`'s participant in cohort
    /// `cohort_id`, then makes the participant's project (if proposed)
    /// follow: from then on the new mentor, coach and examiners decide on
    /// it and the old ones are refused. Repeating the request id changes
    /// nothing.
    ///
    /// # Errors
    /// As [`Cohort`] refuses a reassignment (only the cohort's organizer,
    /// only an enrolled participant), and storage failures.
    pub async fn reassign_staff(
        &self,
        ctx: &Context,
        cohort_id: &CohortId,
        enrollment: Enrollment,
    ) -> Result<Outcome, CommandError> {
        let person = enrollment.participant.person.clone();
        let staff = Staff::of(&enrollment);
        let outcome = self
            .execute::<Cohort>(cohort_id.as_str(), ctx, CohortCommand::Reassign(enrollment))
            .await?;
        if outcome.duplicate || outcome.events.is_empty() {
            // Nothing new on the cohort; a step left undone by a crash is
            // the process managers' to repeat.
            return Ok(outcome);
        }
        let project = ProjectId::for_participant(cohort_id, &person);
        let step = Context {
            request_id: format!("{}/{project}", ctx.request_id),
            correlation_id: Some(ctx.request_id.clone()),
            // The caller's expected version is the cohort's, not the project's.
            expected_version: None,
            ..ctx.clone()
        };
        let followed = self
            .follow_staff(&step, &project, staff, outcome.stream_version)
            .await?;
        Ok(Outcome {
            position: outcome.position.max(followed.map_or(0, |f| f.position)),
            ..outcome
        })
    }

    /// Makes project `project` follow the assignment `staff` its cohort
    /// made at version `cohort_version`: nothing when the project is not
    /// proposed (it copies the cohort's current assignment when it is), or
    /// has followed this reassignment or a later one.
    ///
    /// # Errors
    /// Storage failures; the project's refusal of the actor.
    pub async fn follow_staff(
        &self,
        ctx: &Context,
        project: &ProjectId,
        staff: Staff,
        cohort_version: u64,
    ) -> Result<Option<Outcome>, CommandError> {
        if self.get::<ChangeProject>(project.as_str()).await?.is_none() {
            return Ok(None);
        }
        let outcome = self
            .execute::<ChangeProject>(
                project.as_str(),
                ctx,
                ProjectCommand::AssignStaff {
                    staff,
                    cohort_version,
                },
            )
            .await?;
        Ok(Some(outcome))
    }

    /// Amends what cohort `cohort_id` recorded of an enrolled participant
    /// (name, position, OPD: `participant` as it should read), then makes
    /// the participant's project (if proposed) follow, so that its views
    /// and page show the amended values. Repeating the request id changes
    /// nothing.
    ///
    /// # Errors
    /// As [`Cohort`] refuses an amendment (only the cohort's organizer,
    /// only an enrolled participant, the same NIP), and storage failures.
    pub async fn amend_enrolment(
        &self,
        ctx: &Context,
        cohort_id: &CohortId,
        participant: Participant,
    ) -> Result<Outcome, CommandError> {
        let person = participant.person.clone();
        let outcome = self
            .execute::<Cohort>(
                cohort_id.as_str(),
                ctx,
                CohortCommand::AmendEnrolment(participant),
            )
            .await?;
        if outcome.duplicate || outcome.events.is_empty() {
            return Ok(outcome);
        }
        let project = ProjectId::for_participant(cohort_id, &person);
        let step = Context {
            request_id: format!("{}/{project}", ctx.request_id),
            correlation_id: Some(ctx.request_id.clone()),
            expected_version: None,
            ..ctx.clone()
        };
        let followed = self
            .follow_enrolment(&step, cohort_id, &project, &person)
            .await?;
        Ok(Outcome {
            position: outcome.position.max(followed.map_or(0, |f| f.position)),
            ..outcome
        })
    }

    /// Makes project `project` read its participant as cohort `cohort_id`'s
    /// enrolment of `person` now reads: nothing when the project is not
    /// proposed (it copies the enrolment when it is), or already reads so.
    ///
    /// # Errors
    /// Storage failures; the project's refusal of the actor.
    pub async fn follow_enrolment(
        &self,
        ctx: &Context,
        cohort_id: &CohortId,
        project: &ProjectId,
        person: &crate::domain::values::PersonId,
    ) -> Result<Option<Outcome>, CommandError> {
        if self.get::<ChangeProject>(project.as_str()).await?.is_none() {
            return Ok(None);
        }
        let Some(cohort) = self.get::<Cohort>(cohort_id.as_str()).await? else {
            return Ok(None);
        };
        let Some(enrollment) = cohort.state.enrollments.get(person) else {
            return Ok(None);
        };
        let outcome = self
            .execute::<ChangeProject>(
                project.as_str(),
                ctx,
                ProjectCommand::FollowEnrolment {
                    participant: enrollment.participant.clone(),
                    cohort_version: cohort.version,
                },
            )
            .await?;
        Ok(Some(outcome))
    }
}
