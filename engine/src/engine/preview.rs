//! Deciding without writing: what a dry run of an import answers
//! (ADR 0031). The commands are decided in turn on the stream's state as
//! the log holds it now, each on the state the ones before it left, by
//! the same deciders, workflow and checks as [`Engine::execute`]; nothing
//! is appended, no request id is recorded.

use super::{Engine, stream_of, with_id};
use crate::domain::{Aggregate, Command, DomainError};
use crate::engine::{CommandError, Context};

impl Engine {
    /// What `commands` would do on stream `id` of `A`, in turn: for each,
    /// the events it would write, or the domain's refusal. A refused
    /// command leaves the state as it was for those after it.
    ///
    /// # Errors
    /// Storage, workflow and decode failures (the domain's refusals are
    /// answers, in the list).
    pub async fn preview<A: Aggregate>(
        &self,
        id: &str,
        commands: Vec<(Context, A::Command)>,
    ) -> Result<Vec<Result<Vec<A::Event>, DomainError>>, CommandError> {
        let stream = stream_of::<A>(id)?;
        let loaded = self.load::<A>(&stream).await?;
        let mut state = loaded.state;
        let mut exists = loaded.version > 0;
        let now = self.clock.now();
        let mut answers = Vec::with_capacity(commands.len());
        for (ctx, body) in commands {
            if let Some(at) = ctx.occurred_at
                && at > now
            {
                answers.push(Err(DomainError::invalid(
                    "occurred_at",
                    format!(
                        "{at} is in the future (now is {now}); a command is backdated, never dated ahead"
                    ),
                )));
                continue;
            }
            if exists && !A::concerns(&state, &ctx.actor) {
                answers.push(Err(DomainError::NotFound {
                    what: A::LABEL,
                    id: id.to_owned(),
                }));
                continue;
            }
            let workflow = match A::workflow_of(&state) {
                Some(reference) => Some(self.resolve(reference).await?),
                None => match A::workflow_for_new(&body) {
                    Some(pin) => Some(self.pinned(&pin.name, pin.version).await?),
                    None => None,
                },
            };
            let at = ctx.occurred_at.unwrap_or(now);
            let command = Command {
                actor: ctx.actor.clone(),
                at,
                utc_offset: self.utc_offset(at),
                request_id: ctx.request_id.clone(),
                workflow,
                body,
            };
            match A::decide(&state, &command) {
                Ok(events) => {
                    if !events.is_empty() {
                        exists = true;
                    }
                    state = events.iter().fold(state, A::evolve);
                    answers.push(Ok(events));
                }
                Err(err) => answers.push(Err(with_id(err, id))),
            }
        }
        Ok(answers)
    }
}
