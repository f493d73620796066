use std::collections::BTreeSet;

use jejak_engine::domain::change_project::Agreement;
use jejak_engine::domain::innovation::{
    DORMANT_BY_REGISTER, Form, Innovation, InnovationCommand as C, InnovationEvent as E, Profile,
    RegisterStep, Source,
};
use jejak_engine::domain::values::{InnovationId, OpdCode};
use jejak_engine::domain::{Actor, DomainError, Role};

use crate::fixtures::*;

type Inv = Given<Innovation>;

fn profile(opd: &str) -> Profile {
    Profile {
        name: "Posyandu Remaja Digital".into(),
        opd: OpdCode::parse(opd).unwrap(),
        unit: Some("Puskesmas Cibeber".into()),
        region: "Kota Cilegon".into(),
        source: Source::HealthCompetition,
        initiator_type: "ASN".into(),
        form: Form::PublicService,
        digital: true,
        sector: "kesehatan".into(),
        sdgs: BTreeSet::from([3]),
        goal: "Remaja terpantau kesehatannya".into(),
        benefit: "Deteksi dini anemia".into(),
        budget: Some(25_000_000),
        legal_basis: None,
    }
}

fn register(opd: &str) -> C {
    C::Register {
        innovation_id: InnovationId::parse("inv-1").unwrap(),
        profile: profile(opd),
        origin: None,
    }
}

fn brida() -> Actor {
    Actor::new("brida-1", Role::BridaOfficer)
}

fn registered() -> Inv {
    let mut i = Inv::new(Some(workflow("innovation")));
    i.ok(officer("dinkes"), register("dinkes"));
    i
}

fn adopted() -> Inv {
    let mut i = registered();
    i.ok(
        officer("dinkes"),
        C::JudgeFeasibility {
            feasible: true,
            notes: String::new(),
        },
    );
    i.ok(
        brida(),
        C::Designate {
            decree_number: "SK Wali Kota 050/12/2026".into(),
            decree_date: date(2026, 1, 10),
        },
    );
    i.ok(
        officer("dinkes"),
        C::StartPilot {
            on: date(2026, 2, 1),
        },
    );
    i.ok(
        officer("dinkes"),
        C::EvaluatePilot {
            on: date(2026, 5, 1),
            evaluation: "Layak diterapkan".into(),
        },
    );
    i.ok(
        officer("dinkes"),
        C::Implement {
            on: date(2026, 6, 1),
            budget_line: "5.02.01".into(),
        },
    );
    i
}

fn lifecycle(i: &Inv) -> &str {
    i.state.lifecycle.as_deref().unwrap_or("")
}

#[test]
fn an_officer_registers_only_their_own_opds_innovations() {
    let mut i = Inv::new(Some(workflow("innovation")));
    says(
        &forbidden(i.refused(officer("disdik"), register("dinkes"))),
        "own OPD",
    );
    says(
        &forbidden(i.refused(mentor(), register("dinkes"))),
        "may not change the innovation register",
    );
    let events = i.ok(brida(), register("dinkes"));
    assert!(
        matches!(&events[0], E::InnovationRegistered { workflow, .. } if workflow.name == "innovation")
    );
    assert_eq!(lifecycle(&i), "proposed");
    says(
        &forbidden(i.refused(
            officer("disdik"),
            C::JudgeFeasibility {
                feasible: true,
                notes: String::new(),
            },
        )),
        "belongs to dinkes",
    );
}

#[test]
fn registration_validates_its_profile() {
    let mut i = Inv::new(Some(workflow("innovation")));
    let mut bad = profile("dinkes");
    bad.sdgs.insert(18);
    let body = C::Register {
        innovation_id: InnovationId::parse("inv-1").unwrap(),
        profile: bad,
        origin: None,
    };
    assert_eq!(invalid(i.refused(officer("dinkes"), body)), "sdgs");
    let mut bad = profile("dinkes");
    bad.goal = String::new();
    let body = C::Register {
        innovation_id: InnovationId::parse("inv-1").unwrap(),
        profile: bad,
        origin: None,
    };
    assert_eq!(invalid(i.refused(officer("dinkes"), body)), "goal");
}

#[test]
fn a_pilot_needs_feasibility_and_a_decree() {
    let mut i = registered();
    says(
        &precondition(i.refused(
            officer("dinkes"),
            C::StartPilot {
                on: date(2026, 2, 1),
            },
        )),
        "judged feasible",
    );
    i.ok(
        officer("dinkes"),
        C::JudgeFeasibility {
            feasible: false,
            notes: "Belum ada SOP".into(),
        },
    );
    says(
        &precondition(i.refused(
            brida(),
            C::Designate {
                decree_number: "SK 1".into(),
                decree_date: date(2026, 1, 10),
            },
        )),
        "judged feasible",
    );
    i.ok(
        officer("dinkes"),
        C::JudgeFeasibility {
            feasible: true,
            notes: String::new(),
        },
    );
    says(
        &precondition(i.refused(
            officer("dinkes"),
            C::StartPilot {
                on: date(2026, 2, 1),
            },
        )),
        "designated by decree",
    );
    i.ok(
        brida(),
        C::Designate {
            decree_number: "SK 1".into(),
            decree_date: date(2026, 1, 10),
        },
    );
    assert_eq!(
        invalid(i.refused(
            officer("dinkes"),
            C::StartPilot {
                on: date(2025, 12, 1)
            }
        )),
        "on"
    );
    i.ok(
        officer("dinkes"),
        C::StartPilot {
            on: date(2026, 2, 1),
        },
    );
    assert_eq!(lifecycle(&i), "piloted");
    says(
        &precondition(i.refused(
            officer("dinkes"),
            C::Implement {
                on: date(2026, 6, 1),
                budget_line: "x".into(),
            },
        )),
        "evaluated",
    );
}

#[test]
fn an_implemented_innovation_can_go_dormant_and_resume() {
    let mut i = adopted();
    assert_eq!(lifecycle(&i), "adopted");
    i.ok(
        officer("dinkes"),
        C::MarkDormant {
            on: date(2026, 10, 1),
            reason: "Petugas dimutasi".into(),
        },
    );
    assert_eq!(lifecycle(&i), "dormant");
    wrong_state(i.refused(
        officer("dinkes"),
        C::MarkDormant {
            on: date(2026, 10, 2),
            reason: "x".into(),
        },
    ));
    i.ok(
        officer("dinkes"),
        C::Resume {
            on: date(2027, 1, 5),
        },
    );
    assert_eq!(lifecycle(&i), "adopted");
    assert_eq!(i.state.dormant_since, None);
}

#[test]
fn replication_counts_distinct_adopters_and_names_the_adopters_innovation() {
    let mut i = adopted();
    let agreement = Agreement::new("MoU", "12/MoU/2026", date(2026, 8, 1), None).unwrap();
    // Kinds as written between regions, however spelt; nothing else.
    assert_eq!(
        Agreement::new("pks", "1", date(2026, 8, 1), None)
            .unwrap()
            .kind,
        "PKS"
    );
    assert!(Agreement::new("bogus", "1", date(2026, 8, 1), None).is_err());
    let by = |opd: &str, region: &str| C::RecordReplication {
        adopter_opd: OpdCode::parse(opd).unwrap(),
        adopter_region: region.into(),
        agreement: agreement.clone(),
    };
    // The owner, however its region is written.
    for own in ["Kota Cilegon", "KOTA CILEGON", " kota  cilegon "] {
        assert_eq!(
            invalid(i.refused(officer("dinkes"), by("dinkes", own))),
            "adopter_opd",
            "{own}"
        );
    }
    let events = i.ok(officer("dinkes"), by("dinkes", "Kota Serang"));
    assert!(
        matches!(&events[0], E::ReplicationRecorded { adopter_innovation_id, .. } if *adopter_innovation_id == InnovationId::replica(&InnovationId::parse("inv-1").unwrap(), &OpdCode::parse("dinkes").unwrap(), "Kota Serang"))
    );
    assert_eq!(lifecycle(&i), "replicated");
    for again in ["Kota Serang", "kota serang"] {
        assert!(matches!(
            i.refused(officer("dinkes"), by("dinkes", again)),
            DomainError::AlreadyExists { .. }
        ));
    }
    i.ok(brida(), by("dinkes", "Kabupaten Pandeglang"));
    assert_eq!(i.state.adopters.len(), 2);
}

#[test]
fn evidence_and_awards_are_recorded_and_auditors_change_nothing() {
    let mut i = registered();
    i.ok(
        officer("dinkes"),
        C::AddEvidence {
            indicator: "regulasi".into(),
            attachment: file("sk.pdf"),
        },
    );
    wrong_state(i.refused(
        officer("dinkes"),
        C::RecordAward {
            title: "Top 45".into(),
            year: 2026,
            awarded_by: "KemenPAN-RB".into(),
        },
    ));
    let mut i = adopted();
    assert_eq!(
        invalid(i.refused(
            officer("dinkes"),
            C::RecordAward {
                title: "Top 45".into(),
                year: 1900,
                awarded_by: "x".into()
            }
        )),
        "year"
    );
    i.ok(
        officer("dinkes"),
        C::RecordAward {
            title: "Top 45 KIPP".into(),
            year: 2026,
            awarded_by: "KemenPAN-RB".into(),
        },
    );
    says(
        &forbidden(i.refused(
            Actor::new("insp", Role::Auditor),
            C::Resume {
                on: date(2027, 1, 1),
            },
        )),
        "auditor",
    );
}

fn step(s: RegisterStep) -> C {
    C::RecordRegisterStep(s)
}

#[test]
fn a_registers_steps_move_an_imported_innovation_forward_without_the_guards() {
    // Given a registered innovation, when the register it came from says it
    // was piloted and implemented, then those are its steps, recorded as
    // the lifecycle's own events (no feasibility judgement is asked for:
    // the register does not say it).
    let mut i = registered();
    let events = i.ok(
        brida(),
        step(RegisterStep::Designated {
            decree_number: "SK 050/3/2024".into(),
            decree_date: date(2024, 2, 1),
        }),
    );
    assert!(matches!(&events[..], [E::Designated { .. }]), "{events:?}");
    assert_eq!(lifecycle(&i), "proposed");
    let events = i.ok(
        officer("dinkes"),
        step(RegisterStep::Piloted {
            on: date(2024, 3, 1),
        }),
    );
    assert!(
        matches!(&events[..], [E::PilotStarted { .. }, E::StateChanged { to, command, .. }]
            if to == "piloted" && command == "record_register_step"),
        "{events:?}"
    );
    i.ok(
        brida(),
        step(RegisterStep::Implemented {
            on: date(2024, 9, 1),
        }),
    );
    assert_eq!(lifecycle(&i), "adopted");
    assert_eq!(i.state.implemented_on, Some(date(2024, 9, 1)));
    // Never back, never out of order, a decree once.
    let (state, hint) = wrong_state(i.refused(
        brida(),
        step(RegisterStep::Piloted {
            on: date(2024, 10, 1),
        }),
    ));
    assert_eq!(state, "adopted");
    says(&hint, "never back");
    assert_eq!(
        invalid(i.refused(
            brida(),
            step(RegisterStep::Dormant {
                on: date(2024, 8, 1),
            }),
        )),
        "dormant_since"
    );
    assert_eq!(
        invalid(i.refused(
            brida(),
            step(RegisterStep::Designated {
                decree_number: "SK lain".into(),
                decree_date: date(2024, 12, 1),
            }),
        )),
        "decree_number"
    );
    let events = i.ok(
        brida(),
        step(RegisterStep::Dormant {
            on: date(2025, 1, 10),
        }),
    );
    assert!(matches!(&events[0], E::MarkedDormant { reason, .. } if reason == DORMANT_BY_REGISTER));
    assert_eq!(lifecycle(&i), "dormant");
}

#[test]
fn only_its_officer_or_brida_records_a_registers_steps() {
    let mut i = registered();
    let pilot = || {
        step(RegisterStep::Piloted {
            on: date(2024, 3, 1),
        })
    };
    says(
        &forbidden(i.refused(officer("disdik"), pilot())),
        "belongs to dinkes",
    );
    says(
        &forbidden(i.refused(mentor(), pilot())),
        "may not change the innovation register",
    );
    says(
        &forbidden(i.refused(Actor::new("jejak", Role::System), pilot())),
        "records a register's steps",
    );
}
