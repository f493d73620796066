//! Which fields of a payload are personal, and sealing and opening them in
//! a JSON tree (ADR 0022).
//!
//! A participant is written as `{"person", "nip", "name", "position",
//! "opd"}` by the domain; in the log it is `{"person", "opd", "sealed"}`,
//! where `sealed` holds `{"nip", "name", "position"}` under the person's
//! key ([`Sealed`], purpose [`PURPOSE`]).
//!
//! A proposal names other people: its team members and stakeholders. Their
//! names leave `team[i]` and `stakeholders[i]` and are sealed together, with
//! the key of the participant who proposed (the *owner*, purpose
//! [`NAMES_PURPOSE`]), as `"names": {"person", "sealed"}` inside the
//! proposal, so that erasing the participant erases them too (ADR 0024).
//!
//! Only the event types of [`PERSONAL_EVENTS`] are walked, so every other
//! event costs nothing.
//! Sealing and opening here are synchronous: they read keys from a
//! [`Keyring`] (the [`super::Privacy`] cache), and say which person's key
//! they lacked, so the caller fetches it (async) and runs again.

use serde_json::{Map, Value};

use super::sealed::{ERASED, Opened, Sealed};

/// The purpose a participant's fields are sealed for.
pub const PURPOSE: &str = "participant";

/// A participant's personal fields, sealed together.
pub const FIELDS: [&str; 3] = ["nip", "name", "position"];

/// The purpose a proposal's team and stakeholder names are sealed for.
pub const NAMES_PURPOSE: &str = "proposal_names";

/// The lists of a proposal whose members' `name` is sealed.
pub const NAMED_LISTS: [&str; 2] = ["stakeholders", "team"];

/// The event types whose payloads carry a participant or a proposal's names
/// (all of them sealed since ADR 0022 and 0024; written before, plain, and
/// read as they are).
pub const PERSONAL_EVENTS: [&str; 6] = [
    "ParticipantEnrolled",
    "StaffReassigned",
    "EnrolmentAmended",
    "ParticipantAmended",
    "ProjectProposed",
    "ProposalRevised",
];

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
    /// A proposal names people but no participant owns it: there is no key
    /// to seal the names with.
    #[error("a proposal's team and stakeholder names have no participant whose key seals them")]
    NoOwner,
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

/// Whether `object` is a proposal: its lists of stakeholders and team.
fn proposal(object: &Map<String, Value>) -> bool {
    NAMED_LISTS
        .iter()
        .all(|list| object.get(*list).is_some_and(Value::is_array))
}

/// The sealed names of a proposal, when it holds them.
fn sealed_names(object: &Map<String, Value>) -> Option<Sealed> {
    let names = object.get("names")?.as_object()?;
    Some(Sealed {
        person: names.get("person")?.as_str()?.to_owned(),
        sealed: names.get("sealed")?.as_str()?.to_owned(),
    })
}

/// The person of the first participant in `value`: whose key seals the
/// names of a proposal beside it.
fn first_person(value: &Value) -> Option<String> {
    match value {
        Value::Object(object) => {
            if plain_participant(object) || sealed_participant(object) {
                return object
                    .get("person")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            object.values().find_map(first_person)
        }
        Value::Array(items) => items.iter().find_map(first_person),
        _ => None,
    }
}

/// Seals every participant in `value`: their [`FIELDS`] leave the object
/// and come back as one `sealed` value. Seals the names of every proposal
/// in it too ([`NAMED_LISTS`]) with the key of `owner`, or, without one,
/// of the first participant `value` holds.
///
/// # Errors
/// [`Unready`] from `keys`; [`Unready::NoOwner`] for a proposal that names
/// people in a tree without a participant, when no `owner` is given.
pub fn seal_tree(
    value: &mut Value,
    keys: &dyn Keyring,
    owner: Option<&str>,
) -> Result<(), Unready> {
    let owner = match owner {
        Some(owner) => Some(owner.to_owned()),
        None => first_person(value),
    };
    seal_walk(value, keys, owner.as_deref())
}

fn seal_walk(value: &mut Value, keys: &dyn Keyring, owner: Option<&str>) -> Result<(), Unready> {
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
            if proposal(object) && !object.contains_key("names") {
                return seal_names(object, keys, owner);
            }
            object
                .values_mut()
                .try_for_each(|v| seal_walk(v, keys, owner))
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| seal_walk(v, keys, owner)),
        _ => Ok(()),
    }
}

/// Moves the names out of a proposal's lists into one sealed `names`
/// value of `owner`; a proposal that names nobody is left as it is.
fn seal_names(
    object: &mut Map<String, Value>,
    keys: &dyn Keyring,
    owner: Option<&str>,
) -> Result<(), Unready> {
    let named = NAMED_LISTS.iter().any(|list| {
        object
            .get(*list)
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|i| i.get("name").is_some()))
    });
    if !named {
        return Ok(());
    }
    let owner = owner.ok_or(Unready::NoOwner)?;
    let mut names = Map::new();
    for list in NAMED_LISTS {
        let taken: Vec<Value> = object
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .map(|items| {
                items
                    .iter_mut()
                    .map(|item| {
                        item.as_object_mut()
                            .and_then(|i| i.remove("name"))
                            .unwrap_or(Value::Null)
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.insert(list.to_owned(), Value::Array(taken));
    }
    let sealed = keys.seal(owner, NAMES_PURPOSE, &Value::Object(names))?;
    object.insert(
        "names".to_owned(),
        serde_json::json!({"person": sealed.person, "sealed": sealed.sealed}),
    );
    Ok(())
}

/// Puts a proposal's sealed names back in its lists: as sealed, or
/// [`ERASED`] for each once the owner is erased.
fn open_names(object: &mut Map<String, Value>, keys: &dyn Keyring) -> Result<(), Unready> {
    let Some(sealed) = sealed_names(object) else {
        return Ok(());
    };
    object.remove("names");
    let opened = keys.open(&sealed, NAMES_PURPOSE)?;
    for list in NAMED_LISTS {
        let names = match &opened {
            Opened::Fields(fields) => fields.get(list).and_then(Value::as_array).cloned(),
            Opened::Erased => None,
        }
        .unwrap_or_default();
        if let Some(items) = object.get_mut(list).and_then(Value::as_array_mut) {
            for (i, item) in items.iter_mut().enumerate() {
                let name = names
                    .get(i)
                    .and_then(Value::as_str)
                    .unwrap_or(ERASED)
                    .to_owned();
                if let Some(item) = item.as_object_mut() {
                    item.insert("name".to_owned(), Value::String(name));
                }
            }
        }
    }
    Ok(())
}

/// Opens every sealed participant in `value`: their fields as sealed, or
/// [`ERASED`] in each for an erased person; and every proposal's sealed
/// names, [`ERASED`] in each once its owner is erased.
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
            if proposal(object) {
                return open_names(object, keys);
            }
            object.values_mut().try_for_each(|v| open_tree(v, keys))
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| open_tree(v, keys)),
        _ => Ok(()),
    }
}

/// What [`gather`] asks of each object: `None` to walk its insides,
/// `Some` to take it as a whole, with what it holds, if anything.
type Visit<'a, T> = &'a dyn Fn(&Map<String, Value>) -> Option<Option<T>>;

/// What `visit` finds in the objects of `value`, depth first.
fn gather<T>(value: &Value, visit: Visit<'_, T>) -> Vec<T> {
    fn walk<T>(value: &Value, visit: Visit<'_, T>, out: &mut Vec<T>) {
        match value {
            Value::Object(object) => match visit(object) {
                Some(found) => out.extend(found),
                None => object.values().for_each(|v| walk(v, visit, out)),
            },
            Value::Array(items) => items.iter().for_each(|v| walk(v, visit, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, visit, &mut out);
    out
}

/// The text of `object`'s `key`, or nothing.
fn text(object: &Map<String, Value>, key: &str) -> String {
    object
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The persons of the participants `value` holds opened (not erased): whose
/// personal data a reader of `value` reads.
pub fn opened_in(value: &Value) -> Vec<String> {
    let mut out = gather(value, &|object| {
        plain_participant(object).then(|| {
            (object.get("name").and_then(Value::as_str) != Some(ERASED))
                .then(|| object.get("person").and_then(Value::as_str))
                .flatten()
                .map(str::to_owned)
        })
    });
    out.sort();
    out.dedup();
    out
}

/// The sealed names of the proposals in `value`, as stored: each the
/// proposing participant's.
pub fn sealed_names_in(value: &Value) -> Vec<Sealed> {
    gather(value, &|object| {
        proposal(object).then(|| sealed_names(object))
    })
}

/// The sealed participants in `value`, as stored (not a proposal's names:
/// [`sealed_names_in`]).
pub fn sealed_in(value: &Value) -> Vec<Sealed> {
    gather(value, &|object| {
        if sealed_participant(object) {
            Some(Some(Sealed {
                person: text(object, "person"),
                sealed: text(object, "sealed"),
            }))
        } else {
            proposal(object).then_some(None)
        }
    })
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
        seal_tree(&mut tree, &Plain, None).unwrap();
        let participant = &tree["enrollment"]["participant"];
        assert!(participant.get("name").is_none());
        assert_eq!(participant["opd"], "dinkes");
        assert_eq!(sealed_in(&tree).len(), 1);
        open_tree(&mut tree, &Plain).unwrap();
        assert_eq!(tree, plain);
        let mut withheld = tree.clone();
        seal_tree(&mut withheld, &Plain, None).unwrap();
        open_tree(&mut withheld, &Withheld).unwrap();
        assert_eq!(withheld["enrollment"]["participant"]["nip"], ERASED);
    }

    #[test]
    fn a_proposals_names_seal_with_its_participants_key() {
        let plain = serde_json::json!({
            "enrollment": {"participant": {
                "person": "p", "nip": "1", "name": "Siti", "position": "Kasi", "opd": "dinkes"
            }},
            "proposal": {
                "title": "Antrian daring",
                "stakeholders": [{"name": "Budi", "internal": true}],
                "team": [{"name": "Ani", "role": "Ketua"}, {"name": "Dedi", "role": "Anggota"}],
                "milestones": []
            }
        });
        let mut tree = plain.clone();
        seal_tree(&mut tree, &Plain, None).unwrap();
        let text = tree.to_string();
        let names = &tree["proposal"]["names"];
        assert_eq!(names["person"], "p");
        assert!(tree["proposal"]["team"][0].get("name").is_none());
        assert_eq!(tree["proposal"]["team"][1]["role"], "Anggota");
        assert_eq!(sealed_in(&tree).len(), 1, "the participant only");
        assert_eq!(sealed_names_in(&tree).len(), 1);
        assert!(!text.contains("\"name\":\"Ani\""), "{text}");
        open_tree(&mut tree, &Plain).unwrap();
        assert_eq!(tree, plain);

        // A revision carries no participant: its owner is given.
        let mut revised = serde_json::json!({"proposal": plain["proposal"].clone()});
        assert_eq!(
            seal_tree(&mut revised.clone(), &Plain, None),
            Err(Unready::NoOwner)
        );
        seal_tree(&mut revised, &Plain, Some("p")).unwrap();
        assert_eq!(revised["proposal"]["names"]["person"], "p");
        let mut erased = revised.clone();
        open_tree(&mut erased, &Withheld).unwrap();
        assert_eq!(erased["proposal"]["team"][1]["name"], ERASED);
        assert_eq!(erased["proposal"]["stakeholders"][0]["name"], ERASED);
        assert_eq!(erased["proposal"]["team"][1]["role"], "Anggota");

        // A proposal that names nobody needs no owner and stays as it is.
        let mut nobody = serde_json::json!({"proposal": {"stakeholders": [], "team": []}});
        seal_tree(&mut nobody, &Plain, None).unwrap();
        assert!(nobody["proposal"].get("names").is_none());
    }
}
