//! Which fields of a payload are personal, and sealing and opening them in
//! a JSON tree (ADR 0022).
//!
//! A participant is written as `{"person", "nip", "name", "position",
//! "opd"}` by the domain; in the log it is `{"person", "opd", "sealed"}`,
//! where `sealed` holds `{"nip", "name", "position"}` under the person's
//! key ([`Sealed`], purpose [`PURPOSE`]). Only the event types of
//! [`PERSONAL_EVENTS`] are walked, so every other event costs nothing.
//! Sealing and opening here are synchronous: they read keys from a
//! [`Keyring`] (the [`super::Privacy`] cache), and say which person's key
//! they lacked, so the caller fetches it (async) and runs again.

use serde_json::{Map, Value};

use super::sealed::{ERASED, Opened, Sealed};

/// The purpose a participant's fields are sealed for.
pub const PURPOSE: &str = "participant";

/// A participant's personal fields, sealed together.
pub const FIELDS: [&str; 3] = ["nip", "name", "position"];

/// The event types whose payloads carry a participant (all of them sealed
/// since ADR 0022; written before, plain, and read as they are).
pub const PERSONAL_EVENTS: [&str; 3] =
    ["ParticipantEnrolled", "StaffReassigned", "ProjectProposed"];

/// Whether events of `event_type` carry personal fields.
pub fn carries_personal(event_type: &str) -> bool {
    PERSONAL_EVENTS.contains(&event_type)
}

/// Why a seal or open could not be done from the keys at hand.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unready {
    /// The person's key is not in the cache: fetch it and run again.
    #[error("the data key of person {0} is not loaded")]
    NoKey(String),
    /// The person was erased: nothing of theirs is sealed again.
    #[error("person {0} was erased; nothing personal is recorded of them again")]
    Erased(String),
    /// A sealed value that does not open with its person's key.
    #[error("a sealed value of person {0} does not open: it was damaged or moved")]
    Damaged(String),
}

/// Seals and opens from keys at hand, without I/O.
pub trait Keyring {
    /// Seals `fields` of `person` for `purpose`.
    ///
    /// # Errors
    /// [`Unready`].
    fn seal(&self, person: &str, purpose: &str, fields: &Value) -> Result<Sealed, Unready>;

    /// Opens `sealed` for `purpose`: the fields or [`Opened::Erased`].
    ///
    /// # Errors
    /// [`Unready`].
    fn open(&self, sealed: &Sealed, purpose: &str) -> Result<Opened, Unready>;
}

/// A keyring without keys, for readers that need no personal field (the
/// views keep the sealed value and open it when it is read): every sealed
/// value opens as [`Opened::Erased`], and nothing is sealed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Withheld;

impl Keyring for Withheld {
    fn seal(&self, person: &str, _: &str, _: &Value) -> Result<Sealed, Unready> {
        Err(Unready::NoKey(person.to_owned()))
    }

    fn open(&self, _: &Sealed, _: &str) -> Result<Opened, Unready> {
        Ok(Opened::Erased)
    }
}

/// Whether `object` is a participant written in plain: a person with
/// personal fields.
fn plain_participant(object: &Map<String, Value>) -> bool {
    object.get("person").is_some_and(Value::is_string)
        && FIELDS.iter().all(|f| object.contains_key(*f))
}

/// Whether `object` holds a sealed participant.
fn sealed_participant(object: &Map<String, Value>) -> bool {
    object.get("person").is_some_and(Value::is_string)
        && object.get("sealed").is_some_and(Value::is_string)
}

/// Seals every participant in `value`: their [`FIELDS`] leave the object
/// and come back as one `sealed` value.
///
/// # Errors
/// [`Unready`] from `keys`.
pub fn seal_tree(value: &mut Value, keys: &dyn Keyring) -> Result<(), Unready> {
    match value {
        Value::Object(object) => {
            if plain_participant(object) {
                let person = object
                    .get("person")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let mut fields = Map::new();
                for field in FIELDS {
                    if let Some(v) = object.remove(field) {
                        fields.insert(field.to_owned(), v);
                    }
                }
                let sealed = keys.seal(&person, PURPOSE, &Value::Object(fields))?;
                object.insert("sealed".to_owned(), Value::String(sealed.sealed));
                return Ok(());
            }
            object.values_mut().try_for_each(|v| seal_tree(v, keys))
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| seal_tree(v, keys)),
        _ => Ok(()),
    }
}

/// Opens every sealed participant in `value`: their fields as sealed, or
/// [`ERASED`] in each for an erased person.
///
/// # Errors
/// [`Unready`] from `keys`.
pub fn open_tree(value: &mut Value, keys: &dyn Keyring) -> Result<(), Unready> {
    match value {
        Value::Object(object) => {
            if sealed_participant(object) {
                let sealed = Sealed {
                    person: object
                        .get("person")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    sealed: match object.remove("sealed") {
                        Some(Value::String(s)) => s,
                        _ => String::new(),
                    },
                };
                let opened = keys.open(&sealed, PURPOSE)?;
                for field in FIELDS {
                    let text = opened.text(field).unwrap_or_else(|| ERASED.to_owned());
                    object.insert(field.to_owned(), Value::String(text));
                }
                return Ok(());
            }
            object.values_mut().try_for_each(|v| open_tree(v, keys))
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| open_tree(v, keys)),
        _ => Ok(()),
    }
}

/// The persons of the participants `value` holds opened (not erased): whose
/// personal data a reader of `value` reads.
pub fn opened_in(value: &Value) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                if plain_participant(object) {
                    if object.get("name").and_then(Value::as_str) != Some(ERASED)
                        && let Some(person) = object.get("person").and_then(Value::as_str)
                    {
                        out.push(person.to_owned());
                    }
                    return;
                }
                object.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut out);
    out.sort();
    out.dedup();
    out
}

/// The sealed participants in `value`, as stored.
pub fn sealed_in(value: &Value) -> Vec<Sealed> {
    fn walk(value: &Value, out: &mut Vec<Sealed>) {
        match value {
            Value::Object(object) => {
                if sealed_participant(object) {
                    out.push(Sealed {
                        person: object
                            .get("person")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        sealed: object
                            .get("sealed")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    });
                    return;
                }
                object.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;

    impl Keyring for Plain {
        fn seal(&self, person: &str, _: &str, fields: &Value) -> Result<Sealed, Unready> {
            Ok(Sealed {
                person: person.to_owned(),
                sealed: fields.to_string(),
            })
        }

        fn open(&self, sealed: &Sealed, _: &str) -> Result<Opened, Unready> {
            serde_json::from_str(&sealed.sealed)
                .map(Opened::Fields)
                .map_err(|_| Unready::Damaged(sealed.person.clone()))
        }
    }

    #[test]
    fn a_participant_seals_and_opens_in_place() {
        let plain = serde_json::json!({"enrollment": {"participant": {
            "person": "p", "nip": "1", "name": "Siti", "position": "Kasi", "opd": "dinkes"
        }, "mentor": "m"}});
        let mut tree = plain.clone();
        seal_tree(&mut tree, &Plain).unwrap();
        let participant = &tree["enrollment"]["participant"];
        assert!(participant.get("name").is_none());
        assert_eq!(participant["opd"], "dinkes");
        assert_eq!(sealed_in(&tree).len(), 1);
        open_tree(&mut tree, &Plain).unwrap();
        assert_eq!(tree, plain);
        let mut withheld = tree.clone();
        seal_tree(&mut withheld, &Plain).unwrap();
        open_tree(&mut withheld, &Withheld).unwrap();
        assert_eq!(withheld["enrollment"]["participant"]["nip"], ERASED);
    }
}
