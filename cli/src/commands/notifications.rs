//! Notifications (ADR 0032): `jejak me contact` for everyone who receives
//! them, `jejak admin outbox` for operators.

use clap::Subcommand;
use jejak_proto::v1 as pb;

use crate::client::{Connection, Outcome, local_time, print_json, table};

/// What a person keeps of their own.
#[derive(Debug, Subcommand)]
pub enum MeCommand {
    /// Your addresses and preferences for notifications (participants,
    /// mentors, organizers). Personal data: sealed, erased with you.
    #[command(subcommand)]
    Contact(ContactCommand),
}

#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// Sets your addresses and preferences; what you do not give stays as it was.
    /// `--lang id|en` here also sets the language your messages are written in.
    Set {
        /// Your email address ("" removes it).
        #[arg(long)]
        email: Option<String>,
        /// Your WhatsApp number, e.g. +6281234567890 or 081234567890 ("" removes it).
        #[arg(long)]
        whatsapp: Option<String>,
        /// Mentors: what enters your inbox, once a day at 07:00 (the default).
        #[arg(long, conflicts_with = "immediate")]
        digest: bool,
        /// Mentors: what enters your inbox, each at once.
        #[arg(long)]
        immediate: bool,
        /// A kind of message you do not want: inbox, decision, seminar,
        /// due_soon, overdue, weekly_summary (repeat for several).
        #[arg(long = "opt-out")]
        opt_out: Vec<String>,
        /// A kind of message you want again.
        #[arg(long = "opt-in")]
        opt_in: Vec<String>,
        // `--lang id|en` given here (the global flag of human output)
        // also sets the language your messages are written in.
    },
    /// Shows your addresses and preferences.
    Show,
    /// Deletes your addresses and preferences: nothing is sent to you any more.
    Clear,
}

/// The operators' outbox.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// The outbox's messages, newest first: who (an opaque id), what kind,
    /// how delivery went.
    List {
        /// Only messages whose sending failed (retrying or given up).
        #[arg(long, conflicts_with = "pending")]
        failed: bool,
        /// Only messages not yet sent.
        #[arg(long)]
        pending: bool,
        /// How many at most.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Sends one message again now, its failures forgotten.
    Retry {
        /// Its id, from `jejak admin outbox list`.
        id: String,
    },
    /// Gives one failed or waiting message up for good: it is dropped
    /// (failed messages are kept until retried or dismissed; sent ones are
    /// pruned after the server's retention).
    Dismiss {
        /// Its id, from `jejak admin outbox list`.
        id: String,
        /// Why, kept with the message.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

fn client(
    c: &Connection,
) -> Result<
    pb::notifications_client::NotificationsClient<jejak_proto::Authed>,
    crate::client::Failure,
> {
    Ok(pb::notifications_client::NotificationsClient::new(
        c.channel()?,
    ))
}

fn print_contact(c: &Connection, contact: &pb::Contact) {
    if c.json {
        print_json(&serde_json::json!({
            "set": contact.set,
            "email": contact.email,
            "whatsapp": contact.whatsapp,
            "digest": contact.digest,
            "opt_out": contact.opt_out,
            "lang": contact.lang,
            "key_id": contact.key_id,
        }));
        return;
    }
    if !contact.set {
        say!(
            "no contact set: nothing is sent to you (set one with `jejak me contact set --email …`)"
        );
        return;
    }
    let or_none = |s: &str| {
        if s.is_empty() {
            "-".to_owned()
        } else {
            s.to_owned()
        }
    };
    say!("email:     {}", or_none(&contact.email));
    say!("whatsapp:  {}", or_none(&contact.whatsapp));
    say!(
        "inbox:     {}",
        if contact.digest {
            "daily digest at 07:00"
        } else {
            "each item at once"
        }
    );
    say!("opted out: {}", or_none(&contact.opt_out.join(", ")));
    say!(
        "language:  {}",
        if contact.lang == "en" {
            "English"
        } else {
            "Bahasa Indonesia"
        }
    );
    say!("sealed under key {}", contact.key_id);
}

/// `jejak me …`; `lang`: the language `--lang` named on `me contact set`'s
/// command line, which the person's messages are then written in.
pub async fn me(c: &Connection, command: MeCommand, lang: Option<crate::words::Lang>) -> Outcome {
    let MeCommand::Contact(command) = command;
    let mut notifications = client(c)?;
    match command {
        ContactCommand::Show => {
            let contact = notifications
                .get_contact(pb::GetContactRequest {})
                .await?
                .into_inner();
            print_contact(c, &contact);
        }
        ContactCommand::Clear => {
            let done = notifications
                .clear_contact(pb::ClearContactRequest {})
                .await?
                .into_inner();
            if c.json {
                print_json(&serde_json::json!({ "deleted": done.deleted }));
            } else if done.deleted {
                say!("contact deleted: nothing is sent to you any more");
            } else {
                say!("no contact was set");
            }
        }
        ContactCommand::Set {
            email,
            whatsapp,
            digest,
            immediate,
            opt_out,
            opt_in,
        } => {
            let mut contact = notifications
                .get_contact(pb::GetContactRequest {})
                .await?
                .into_inner();
            if let Some(email) = email {
                contact.email = email;
            }
            if let Some(whatsapp) = whatsapp {
                contact.whatsapp = whatsapp;
            }
            if digest {
                contact.digest = true;
            }
            if immediate {
                contact.digest = false;
            }
            if let Some(lang) = lang {
                contact.lang = match lang {
                    crate::words::Lang::Id => "id",
                    crate::words::Lang::En => "en",
                }
                .to_owned();
            }
            let norm = |k: &String| k.trim().to_ascii_lowercase().replace('-', "_");
            let opt_in: Vec<String> = opt_in.iter().map(norm).collect();
            contact.opt_out.extend(opt_out.iter().map(norm));
            contact.opt_out.retain(|k| !opt_in.contains(k));
            contact.opt_out.sort();
            contact.opt_out.dedup();
            let saved = notifications
                .set_contact(pb::SetContactRequest {
                    contact: Some(contact),
                })
                .await?
                .into_inner();
            print_contact(c, &saved);
        }
    }
    Ok(())
}

/// `admin status`'s lines on the outbox.
pub fn print_summary(summary: Option<&pb::OutboxSummary>) {
    let Some(s) = summary else { return };
    let oldest = s
        .oldest_pending
        .as_ref()
        .map(|t| format!(", oldest made {}", local_time(Some(t))))
        .unwrap_or_default();
    say!(
        "outbox: {} pending ({} retrying{oldest}), {} failed, {} sent, {} dropped",
        s.pending,
        s.retrying,
        s.failed,
        s.sent,
        s.dropped
    );
}

/// The outbox summary as JSON.
pub fn summary_json(summary: Option<&pb::OutboxSummary>) -> serde_json::Value {
    summary.map_or(serde_json::Value::Null, |s| {
        serde_json::json!({
            "pending": s.pending,
            "retrying": s.retrying,
            "failed": s.failed,
            "sent": s.sent,
            "dropped": s.dropped,
            "oldest_pending": s.oldest_pending.as_ref().map(|t| local_time(Some(t))),
        })
    })
}

fn message_json(m: &pb::OutboxMessage) -> serde_json::Value {
    serde_json::json!({
        "id": m.id,
        "recipient": m.recipient,
        "recipient_role": m.recipient_role,
        "kind": m.kind,
        "status": m.status,
        "attempts": m.attempts,
        "created_at": m.created_at.as_ref().map(|t| local_time(Some(t))),
        "next_attempt_at": m.next_attempt_at.as_ref().map(|t| local_time(Some(t))),
        "sent_at": m.sent_at.as_ref().map(|t| local_time(Some(t))),
        "delivered": m.delivered,
        "delivery_id": m.delivery_id,
        "last_error": m.last_error,
    })
}

pub async fn outbox(c: &Connection, command: OutboxCommand) -> Outcome {
    let mut notifications = client(c)?;
    match command {
        OutboxCommand::List {
            failed,
            pending,
            limit,
        } => {
            let filter = if failed {
                "failed"
            } else if pending {
                "pending"
            } else {
                "all"
            };
            let list = notifications
                .list_outbox(pb::ListOutboxRequest {
                    filter: filter.into(),
                    limit,
                })
                .await?
                .into_inner();
            if c.json {
                print_json(&serde_json::json!({
                    "messages": list.messages.iter().map(message_json).collect::<Vec<_>>(),
                    "summary": summary_json(list.summary.as_ref()),
                }));
                return Ok(());
            }
            let rows = list.messages.iter().map(|m| {
                vec![
                    m.id.clone(),
                    format!("{} {}", m.recipient_role, m.recipient),
                    m.kind.clone(),
                    m.status.clone(),
                    m.attempts.to_string(),
                    if m.status == "pending" {
                        local_time(m.next_attempt_at.as_ref())
                    } else {
                        local_time(m.sent_at.as_ref())
                    },
                    m.last_error.clone(),
                ]
            });
            say!(
                "{}",
                table(
                    &[
                        "id",
                        "to",
                        "kind",
                        "status",
                        "attempts",
                        "due / sent",
                        "last error"
                    ],
                    rows
                )
            );
            print_summary(list.summary.as_ref());
        }
        OutboxCommand::Retry { id } => {
            let m = notifications
                .retry_outbox_message(pb::RetryOutboxMessageRequest { id })
                .await?
                .into_inner();
            if c.json {
                print_json(&message_json(&m));
            } else if m.status == "pending" {
                say!("message {} is due again now", m.id);
            } else {
                say!("message {} is {}: nothing to retry", m.id, m.status);
            }
        }
        OutboxCommand::Dismiss { id, reason } => {
            let m = notifications
                .dismiss_outbox_message(pb::DismissOutboxMessageRequest { id, reason })
                .await?
                .into_inner();
            if c.json {
                print_json(&message_json(&m));
            } else if m.status == "dropped" {
                say!("message {} is dismissed: it will not be sent", m.id);
            } else {
                say!("message {} is {}: nothing to dismiss", m.id, m.status);
            }
        }
    }
    Ok(())
}
