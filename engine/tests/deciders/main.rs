//! Deciders and workflows: given events, when a command, then events or a
//! refusal, for every transition and every refusal of the default workflows.

mod change_project;
mod cohort;
mod fixtures;
mod innovation;
mod lifecycle_rules;
mod properties;
mod workflows;
