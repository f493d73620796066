//! Notifications (ADR 0032): each person's own contact (`SetContact`,
//! `GetContact`, `ClearContact`) and the operators' outbox
//! (`ListOutbox`, `RetryOutboxMessage`).

use jejak_engine::domain::{Actor, Role};
use jejak_engine::notifications::{Contact, Lang, staff_key};
use jejak_engine::store::{OutboxFilter, OutboxRow, OutboxSummary};
use jejak_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::{not_found, require};
use crate::App;
use crate::convert::timestamp;
use crate::error::{invalid, status};

/// How many messages `ListOutbox` answers at most.
const MAX_LIST: u32 = 1_000;

fn contact_out(actor: &Actor, contact: Option<Contact>) -> pb::Contact {
    let key_id = if actor.role == Role::Participant {
        actor.id.clone()
    } else {
        staff_key(&actor.id)
    };
    let set = contact.is_some();
    let contact = contact.unwrap_or(Contact {
        digest: true,
        ..Contact::default()
    });
    pb::Contact {
        email: contact.email.unwrap_or_default(),
        whatsapp: contact.whatsapp.unwrap_or_default(),
        digest: contact.digest,
        opt_out: contact
            .opt_out
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect(),
        set,
        key_id,
        lang: contact.lang.as_str().to_owned(),
    }
}

fn message_out(row: OutboxRow) -> pb::OutboxMessage {
    pb::OutboxMessage {
        id: row.message.id,
        recipient: row.message.recipient,
        recipient_role: row.message.recipient_role,
        kind: row.message.kind,
        status: row.status.as_str().to_owned(),
        attempts: row.attempts,
        created_at: Some(timestamp(row.message.created_at)),
        next_attempt_at: Some(timestamp(row.next_attempt_at)),
        last_error: row.last_error.unwrap_or_default(),
        sent_at: row.sent_at.map(timestamp),
        delivered: row.delivered,
        delivery_id: row.delivery_id.unwrap_or_default(),
    }
}

/// The outbox in numbers, as `admin status` and `admin outbox` show it.
pub(crate) fn summary_out(s: OutboxSummary) -> pb::OutboxSummary {
    pb::OutboxSummary {
        pending: s.pending,
        retrying: s.retrying,
        failed: s.failed,
        sent: s.sent,
        dropped: s.dropped,
        oldest_pending: s.oldest_pending.map(timestamp),
    }
}

#[tonic::async_trait]
impl pb::notifications_server::Notifications for App {
    async fn set_contact(
        &self,
        request: Request<pb::SetContactRequest>,
    ) -> Result<Response<pb::Contact>, Status> {
        let actor = self.actor(&request)?;
        let c = request
            .into_inner()
            .contact
            .ok_or_else(|| invalid("contact", "is required: email and/or whatsapp"))?;
        let contact = Contact::new(&c.email, &c.whatsapp, c.digest, &c.opt_out)
            .map_err(crate::convert::domain)?
            .in_lang(Lang::parse(&c.lang).map_err(crate::convert::domain)?);
        self.engine()
            .set_contact(&actor, &contact)
            .await
            .map_err(status)?;
        Ok(Response::new(contact_out(&actor, Some(contact))))
    }

    async fn get_contact(
        &self,
        request: Request<pb::GetContactRequest>,
    ) -> Result<Response<pb::Contact>, Status> {
        let actor = self.actor(&request)?;
        let contact = self.engine().own_contact(&actor).await.map_err(status)?;
        Ok(Response::new(contact_out(&actor, contact)))
    }

    async fn clear_contact(
        &self,
        request: Request<pb::ClearContactRequest>,
    ) -> Result<Response<pb::ClearContactResponse>, Status> {
        let actor = self.actor(&request)?;
        let deleted = self.engine().clear_contact(&actor).await.map_err(status)?;
        Ok(Response::new(pb::ClearContactResponse { deleted }))
    }

    async fn list_outbox(
        &self,
        request: Request<pb::ListOutboxRequest>,
    ) -> Result<Response<pb::ListOutboxResponse>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, &[Role::Admin], "read the outbox")?;
        let r = request.into_inner();
        let filter = match r.filter.trim() {
            "" | "all" => OutboxFilter::All,
            "failed" => OutboxFilter::Failed,
            "pending" => OutboxFilter::Pending,
            other => {
                return Err(invalid(
                    "filter",
                    format!("'{other}' is no filter of the outbox; use all, failed or pending"),
                ));
            }
        };
        let limit = match r.limit {
            0 => 100,
            n => n.min(MAX_LIST),
        };
        let store = self.engine().store();
        let rows = store
            .list_outbox(filter, limit as usize)
            .await
            .map_err(status)?;
        let summary = store.outbox_summary().await.map_err(status)?;
        Ok(Response::new(pb::ListOutboxResponse {
            messages: rows.into_iter().map(message_out).collect(),
            summary: Some(summary_out(summary)),
        }))
    }

    async fn retry_outbox_message(
        &self,
        request: Request<pb::RetryOutboxMessageRequest>,
    ) -> Result<Response<pb::OutboxMessage>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, &[Role::Admin], "retry a message of the outbox")?;
        let id = request.into_inner().id;
        let id = message_id(&id)?;
        let now = self.engine().clock().now();
        let row = self
            .engine()
            .store()
            .retry_message(id, now)
            .await
            .map_err(status)?
            .ok_or_else(|| not_found("message", id))?;
        Ok(Response::new(message_out(row)))
    }

    async fn dismiss_outbox_message(
        &self,
        request: Request<pb::DismissOutboxMessageRequest>,
    ) -> Result<Response<pb::OutboxMessage>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, &[Role::Admin], "dismiss a message of the outbox")?;
        let r = request.into_inner();
        let id = message_id(&r.id)?;
        let reason = match r.reason.trim() {
            "" => "dismissed by an operator".to_owned(),
            text if text.chars().count() > 500 => {
                return Err(invalid("reason", "is longer than 500 characters"));
            }
            text => format!("dismissed by an operator: {text}"),
        };
        let row = self
            .engine()
            .store()
            .dismiss_message(id, &reason)
            .await
            .map_err(status)?
            .ok_or_else(|| not_found("message", id))?;
        Ok(Response::new(message_out(row)))
    }
}

/// A message id as an operator gives it, checked.
fn message_id(id: &str) -> Result<&str, Status> {
    let id = id.trim();
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(invalid(
            "id",
            "is not a message id; copy it from `jejak admin outbox list`",
        ));
    }
    Ok(id)
}
