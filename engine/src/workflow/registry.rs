//! The registry of workflow definitions: every version ever registered, by
//! name. A registered version never changes; new versions come at run time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use super::{Workflow, WorkflowError};

/// The definitions that ship with jejak (file name, source).
pub const DEFAULT_WORKFLOWS: &[(&str, &str)] = &[
    (
        "workflows/change-project-pkn.toml",
        include_str!("../../../workflows/change-project-pkn.toml"),
    ),
    (
        "workflows/change-project-pka.toml",
        include_str!("../../../workflows/change-project-pka.toml"),
    ),
    (
        "workflows/change-project-pkp.toml",
        include_str!("../../../workflows/change-project-pkp.toml"),
    ),
    (
        "workflows/innovation.toml",
        include_str!("../../../workflows/innovation.toml"),
    ),
];

/// All registered workflow versions, shared by every command.
#[derive(Debug, Default)]
pub struct WorkflowRegistry {
    by_name: RwLock<HashMap<String, BTreeMap<u32, Arc<Workflow>>>>,
}

impl WorkflowRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The defaults of [`DEFAULT_WORKFLOWS`], parsed.
    ///
    /// # Errors
    /// A [`WorkflowError`] if a shipped definition does not validate.
    pub fn defaults() -> Result<Vec<Workflow>, WorkflowError> {
        DEFAULT_WORKFLOWS
            .iter()
            .map(|(file, source)| Workflow::parse(file, source))
            .collect()
    }

    /// Adds a version. Registering the same content again is a no-op.
    ///
    /// # Errors
    /// A [`WorkflowError`] when that name and version exist with other content.
    pub fn insert(&self, workflow: Workflow) -> Result<Arc<Workflow>, WorkflowError> {
        let mut by_name = self
            .by_name
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let versions = by_name.entry(workflow.name.clone()).or_default();
        if let Some(existing) = versions.get(&workflow.version) {
            if existing.hash == workflow.hash {
                return Ok(existing.clone());
            }
            return Err(WorkflowError {
                file: workflow.name.clone(),
                place: "version".into(),
                problem: format!(
                    "version {} is registered already with other content; a registered version never changes, so register it as version {}",
                    workflow.version,
                    versions.keys().last().copied().unwrap_or(0) + 1
                ),
            });
        }
        let workflow = Arc::new(workflow);
        versions.insert(workflow.version, workflow.clone());
        Ok(workflow)
    }

    /// One version.
    pub fn get(&self, name: &str, version: u32) -> Option<Arc<Workflow>> {
        self.read().get(name).and_then(|v| v.get(&version)).cloned()
    }

    /// The newest version of `name`.
    pub fn latest(&self, name: &str) -> Option<Arc<Workflow>> {
        self.read()
            .get(name)
            .and_then(|v| v.values().last())
            .cloned()
    }

    /// Who owns `name` (the owner of its first version): `None` when no
    /// version of it is registered, `Some(None)` when it is global.
    pub fn owner_of(&self, name: &str) -> Option<Option<String>> {
        self.read()
            .get(name)
            .and_then(|v| v.values().next())
            .map(|w| w.owner.clone())
    }

    /// Every version of every workflow, by name then version.
    pub fn list(&self) -> Vec<Arc<Workflow>> {
        let by_name = self.read();
        let mut all: Vec<_> = by_name.values().flat_map(|v| v.values().cloned()).collect();
        all.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));
        all
    }

    fn read(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<String, BTreeMap<u32, Arc<Workflow>>>> {
        self.by_name
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
