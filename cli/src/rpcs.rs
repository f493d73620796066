//! Which `jejak` command calls each RPC of the jejak services.
//!
//! Every RPC is reachable from the command line: the test below reads the
//! services from the proto descriptor, so a new RPC without a row here (or
//! a row naming a command that does not exist) fails it.

/// `(service/method, the jejak command that calls it)`: the words after
/// `jejak`, and the flag that selects the call where one command makes
/// several.
pub const COMMANDS: &[(&str, &str)] = &[
    ("jejak.v1.Admin/GetProjectionStatus", "admin status"),
    ("jejak.v1.Admin/RebuildProjection", "admin rebuild"),
    ("jejak.v1.Admin/ListWorkflows", "admin workflow list"),
    ("jejak.v1.Admin/GetWorkflow", "admin workflow show"),
    ("jejak.v1.Admin/RegisterWorkflow", "admin workflow register"),
    ("jejak.v1.Admin/CheckViews", "admin check-views"),
    ("jejak.v1.Admin/RevokeTokens", "admin revoke"),
    ("jejak.v1.Admin/ErasePerson", "privacy erase"),
    ("jejak.v1.Admin/GetPrivacyReport", "privacy report"),
    ("jejak.v1.Admin/ListRetention", "privacy retention"),
    ("jejak.v1.Admin/AddUnit", "admin unit add"),
    ("jejak.v1.Admin/RenameUnit", "admin unit rename"),
    ("jejak.v1.Admin/ListUnits", "admin unit list"),
    ("jejak.v1.Import/ImportInnovations", "import innovations"),
    ("jejak.v1.Import/ImportRoster", "import roster"),
    ("jejak.v1.Notifications/SetContact", "me contact set"),
    ("jejak.v1.Notifications/GetContact", "me contact show"),
    ("jejak.v1.Notifications/ClearContact", "me contact clear"),
    ("jejak.v1.Notifications/ListOutbox", "admin outbox list"),
    (
        "jejak.v1.Notifications/DismissOutboxMessage",
        "admin outbox dismiss",
    ),
    (
        "jejak.v1.Notifications/RetryOutboxMessage",
        "admin outbox retry",
    ),
    ("jejak.v1.Audit/ReadStream", "audit history"),
    ("jejak.v1.Audit/ReadLog", "audit export"),
    ("jejak.v1.Audit/FollowLog", "audit follow"),
    ("jejak.v1.Audit/GetStateAt", "audit state-at"),
    ("jejak.v1.Audit/Verify", "audit verify"),
    ("jejak.v1.Audit/GetDigest", "audit digest"),
    ("jejak.v1.Audit/GetActivity", "audit activity"),
    ("jejak.v1.Audit/GetCheckpoint", "audit checkpoint"),
    ("jejak.v1.Audit/ProveInclusion", "audit prove"),
    ("jejak.v1.Audit/ProveConsistency", "audit consistency"),
    ("jejak.v1.Audit/ReadSeals", "audit export"),
    ("jejak.v1.ChangeProjects/Propose", "project propose"),
    ("jejak.v1.ChangeProjects/ReviseProposal", "project plan"),
    ("jejak.v1.ChangeProjects/SubmitEvidence", "project evidence"),
    (
        "jejak.v1.ChangeProjects/SubmitFinalReport",
        "project report",
    ),
    ("jejak.v1.ChangeProjects/Withdraw", "project withdraw"),
    ("jejak.v1.ChangeProjects/Comment", "project comment"),
    (
        "jejak.v1.ChangeProjects/MarkReadyForSeminar",
        "project ready",
    ),
    ("jejak.v1.ChangeProjects/GetProject", "project status"),
    ("jejak.v1.ChangeProjects/ListProjects", "project list"),
    (
        "jejak.v1.ChangeProjects/RequestPlanChange",
        "project change-plan",
    ),
    ("jejak.v1.ChangeProjects/GetProjectDetail", "project show"),
    ("jejak.v1.Cohorts/OpenCohort", "cohort open"),
    ("jejak.v1.Cohorts/EnrolParticipant", "cohort enrol"),
    ("jejak.v1.Cohorts/ReassignStaff", "cohort reassign"),
    ("jejak.v1.Cohorts/AmendEnrolment", "cohort amend-enrolment"),
    ("jejak.v1.Cohorts/StartWorkplacePhase", "cohort start-phase"),
    ("jejak.v1.Cohorts/ListCohorts", "cohort list"),
    ("jejak.v1.Cohorts/GetCohortProgress", "cohort progress"),
    (
        "jejak.v1.Cohorts/ChangeCohortWorkflow",
        "cohort change-workflow",
    ),
    ("jejak.v1.Cohorts/FindParticipant", "cohort find"),
    (
        "jejak.v1.Cohorts/StartWorkplacePhaseAll",
        "cohort start-phase --all",
    ),
    ("jejak.v1.Evidence/Upload", "project evidence --attach"),
    ("jejak.v1.Evidence/Download", "evidence get"),
    ("jejak.v1.Evidence/AuditFiles", "audit evidence"),
    (
        "jejak.v1.Innovations/RegisterInnovation",
        "innovation register",
    ),
    (
        "jejak.v1.Innovations/JudgeFeasibility",
        "innovation advance",
    ),
    ("jejak.v1.Innovations/Designate", "innovation advance"),
    ("jejak.v1.Innovations/StartPilot", "innovation advance"),
    ("jejak.v1.Innovations/EvaluatePilot", "innovation advance"),
    ("jejak.v1.Innovations/Implement", "innovation advance"),
    ("jejak.v1.Innovations/MarkDormant", "innovation dormant"),
    ("jejak.v1.Innovations/Resume", "innovation resume"),
    (
        "jejak.v1.Innovations/RecordReplication",
        "innovation replicate",
    ),
    ("jejak.v1.Innovations/AddEvidence", "innovation evidence"),
    ("jejak.v1.Innovations/RecordAward", "innovation award"),
    ("jejak.v1.Innovations/AmendProfile", "innovation amend"),
    ("jejak.v1.Innovations/GetInnovation", "innovation show"),
    ("jejak.v1.Innovations/ListInnovations", "innovation list"),
    ("jejak.v1.Innovations/GetStatistics", "innovation stats"),
    (
        "jejak.v1.Innovations/GetInnovationDetail",
        "report register",
    ),
    ("jejak.v1.Mentoring/GetInbox", "mentor inbox"),
    ("jejak.v1.Mentoring/WatchInbox", "mentor watch"),
    ("jejak.v1.Mentoring/AgreeChangeArea", "mentor agree"),
    (
        "jejak.v1.Mentoring/ApproveActionPlan",
        "mentor approve-plan",
    ),
    ("jejak.v1.Mentoring/ReturnActionPlan", "mentor return-plan"),
    ("jejak.v1.Mentoring/ApproveMilestone", "mentor approve"),
    ("jejak.v1.Mentoring/ReturnMilestone", "mentor return"),
    ("jejak.v1.Mentoring/EndorseAdoption", "mentor endorse"),
    ("jejak.v1.Mentoring/RecordReplication", "project replicate"),
    (
        "jejak.v1.Mentoring/ApprovePlanChange",
        "mentor approve-change",
    ),
    (
        "jejak.v1.Mentoring/ReturnPlanChange",
        "mentor return-change",
    ),
    (
        "jejak.v1.Seminars/RecordProposalSeminar",
        "seminar proposal",
    ),
    ("jejak.v1.Seminars/RecordFinalSeminar", "seminar final"),
    ("jejak.v1.Seminars/SetGrade", "seminar grade"),
    ("jejak.v1.Seminars/DeferGraduation", "seminar defer"),
    ("jejak.v1.Seminars/ResumeParticipant", "seminar resume"),
    (
        "jejak.v1.Seminars/CorrectProposalSeminar",
        "seminar correct-proposal",
    ),
    (
        "jejak.v1.Seminars/CorrectFinalSeminar",
        "seminar correct-final",
    ),
    ("jejak.v1.Seminars/CorrectGrade", "seminar correct-grade"),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use clap::CommandFactory as _;
    use prost::Message as _;

    use super::COMMANDS;

    /// `service/method` of every RPC the proto files declare.
    fn rpcs() -> BTreeSet<String> {
        let set = prost_types::FileDescriptorSet::decode(jejak_proto::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set decodes");
        set.file
            .iter()
            .filter(|f| f.package() == "jejak.v1")
            .flat_map(|f| {
                f.service.iter().flat_map(move |s| {
                    s.method
                        .iter()
                        .map(move |m| format!("{}.{}/{}", f.package(), s.name(), m.name()))
                })
            })
            .collect()
    }

    /// The client's method name for an RPC: `GetActivity` → `get_activity`.
    fn snake(method: &str) -> String {
        let mut out = String::new();
        for (i, c) in method.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    /// The command-line source, without the bench and the demo (they are
    /// not how a person reaches an RPC).
    fn sources(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "bench" {
                    sources(&path, out);
                }
            } else if name.ends_with(".rs") && name != "demo.rs" && name != "rpcs.rs" {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }

    #[test]
    fn every_rpc_has_a_command_and_every_row_an_rpc() {
        let rpcs = rpcs();
        assert!(rpcs.len() > 50, "the services are read: {rpcs:?}");
        let rows: BTreeSet<String> = COMMANDS.iter().map(|(r, _)| (*r).to_owned()).collect();
        assert_eq!(rows.len(), COMMANDS.len(), "an RPC named twice in COMMANDS");
        let without: Vec<&String> = rpcs.difference(&rows).collect();
        assert!(
            without.is_empty(),
            "RPCs no jejak command calls (add the command and its row in cli/src/rpcs.rs): {without:?}"
        );
        let unknown: Vec<&String> = rows.difference(&rpcs).collect();
        assert!(unknown.is_empty(), "rows naming no RPC: {unknown:?}");
    }

    #[test]
    fn every_command_in_the_table_exists_and_calls_its_rpc() {
        let cli = crate::Cli::command();
        let mut source = String::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut source,
        );
        for (rpc, line) in COMMANDS {
            let mut command = &cli;
            let mut words = line.split_whitespace().peekable();
            while let Some(word) = words.next_if(|w| !w.starts_with("--")) {
                command = command
                    .find_subcommand(word)
                    .unwrap_or_else(|| panic!("{rpc}: `jejak {line}`: no subcommand {word}"));
            }
            for flag in words {
                let long = flag.trim_start_matches("--");
                assert!(
                    command.get_arguments().any(|a| a.get_long() == Some(long)),
                    "{rpc}: `jejak {line}`: no flag {flag}"
                );
            }
            let method = snake(rpc.rsplit('/').next().unwrap());
            assert!(
                source.contains(&format!(".{method}(")),
                "{rpc}: no command calls {method}"
            );
        }
    }

    #[test]
    fn every_write_takes_a_request_id() {
        // The flag is global: every command, read or write, accepts it.
        let cli = crate::Cli::command();
        assert!(
            cli.get_arguments()
                .chain(cli.get_subcommands().flat_map(clap::Command::get_arguments))
                .any(|a| a.get_long() == Some("request-id") && a.is_global_set()),
            "--request-id is a global flag"
        );
    }
}
