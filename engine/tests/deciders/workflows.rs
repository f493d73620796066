use jejak_engine::workflow::{Workflow, WorkflowRegistry};

const MINIMAL: &str = r#"
name = "mini"
version = 1
kind = "innovation"
initial = "proposed"

[[states]]
name = "proposed"

[[states]]
name = "adopted"
final = true

[[transitions]]
command = "register"
to = "proposed"
roles = ["innovation_officer"]

[[transitions]]
command = "implement"
from = ["proposed"]
to = "adopted"
roles = ["innovation_officer"]
guards = ["pilot_evaluated"]
"#;

fn error_of(source: &str) -> String {
    Workflow::parse("custom.toml", source)
        .expect_err("should not load")
        .to_string()
}

#[test]
fn the_shipped_workflows_load() {
    let all = WorkflowRegistry::defaults().unwrap();
    let names: Vec<_> = all.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "change-project-pkn",
            "change-project-pka",
            "change-project-pkp",
            "innovation"
        ]
    );
    assert!(Workflow::parse("mini.toml", MINIMAL).is_ok());
}

#[test]
fn each_mistake_in_a_definition_is_named_with_file_place_and_problem() {
    let cases = [
        (
            MINIMAL.replace("to = \"adopted\"", "to = \"implemented\""),
            "custom.toml: transitions[1] (implement): unknown state 'implemented'",
        ),
        (
            MINIMAL.replace(
                "roles = [\"innovation_officer\"]\nguards",
                "roles = [\"mayor\"]\nguards",
            ),
            "transitions[1] (implement): invalid role: 'mayor' is not a role",
        ),
        (
            MINIMAL.replace("pilot_evaluated", "moon_is_full"),
            "unknown guard 'moon_is_full'",
        ),
        (
            MINIMAL.replace("pilot_evaluated", "final_report_submitted"),
            "guard 'final_report_submitted' applies to change_project workflows",
        ),
        (
            MINIMAL.replace("command = \"implement\"", "command = \"teleport\""),
            "unknown command 'teleport' for a innovation workflow",
        ),
        (
            MINIMAL.replace("initial = \"proposed\"", "initial = \"draft\""),
            "custom.toml: initial: unknown state 'draft'",
        ),
        (
            format!("{MINIMAL}\n[[states]]\nname = \"orphan\"\n"),
            "states (orphan): state 'orphan' cannot be reached from 'proposed'",
        ),
        (
            format!(
                "{MINIMAL}\n[[transitions]]\ncommand = \"resume\"\nfrom = [\"adopted\"]\nto = \"proposed\"\nroles = [\"innovation_officer\"]\n"
            ),
            "leaves the final state 'adopted'",
        ),
        (
            MINIMAL.replace("kind = \"innovation\"", "kind = \"cohort\""),
            "kind: unknown kind 'cohort'",
        ),
        (
            MINIMAL.replace(
                "roles = [\"innovation_officer\"]\nguards",
                "roles = [\"auditor\"]\nguards",
            ),
            "auditors read and operate",
        ),
        (
            MINIMAL.replace(
                "command = \"register\"\nto",
                "command = \"register\"\nfrom = [\"proposed\"]\nto",
            ),
            "no transition creates the stream",
        ),
        (
            MINIMAL.replace("version = 1", "version = 0"),
            "version: versions start at 1",
        ),
        (
            MINIMAL.replace(
                "[[states]]\nname = \"adopted\"",
                "[[states]]\nname = \"proposed\"",
            ),
            "state 'proposed' is defined twice",
        ),
        ("name = \"x\"\nversion = ".to_string(), "custom.toml: line"),
        (
            MINIMAL.replace(
                "roles = [\"innovation_officer\"]\nguards",
                "rolez = [\"x\"]\nguards",
            ),
            "unknown field `rolez`",
        ),
    ];
    for (source, expected) in cases {
        let err = error_of(&source);
        assert!(
            err.contains(expected),
            "'{err}' should contain '{expected}'"
        );
    }
}

#[test]
fn a_registered_version_never_changes() {
    let registry = WorkflowRegistry::new();
    registry
        .insert(Workflow::parse("mini.toml", MINIMAL).unwrap())
        .unwrap();
    registry
        .insert(Workflow::parse("mini.toml", MINIMAL).unwrap())
        .expect("the same content again is fine");
    let changed = MINIMAL.replace("guards = [\"pilot_evaluated\"]", "");
    let err = registry
        .insert(Workflow::parse("mini.toml", &changed).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("register it as version 2"), "{err}");
    registry
        .insert(
            Workflow::parse("mini.toml", &changed.replace("version = 1", "version = 2")).unwrap(),
        )
        .unwrap();
    assert_eq!(registry.latest("mini").unwrap().version, 2);
    assert!(registry.get("mini", 1).unwrap().transitions[1].guards.len() == 1);
}
