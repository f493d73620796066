use jejak_engine::domain::cohort::{
    Cohort, CohortCommand as C, CohortEvent as E, Enrollment, Participant,
};
use jejak_engine::domain::values::{CohortId, Nip, PersonId, TrainingLevel};
use jejak_engine::domain::{Actor, DomainError, Role};

use crate::fixtures::*;

fn open() -> C {
    C::Open {
        cohort_id: CohortId::parse("pka-2026-1").unwrap(),
        level: TrainingLevel::Pka,
        provider: "BPSDM Provinsi Banten".into(),
        year: 2026,
        number: 1,
        starts_on: date(2026, 3, 1),
        ends_on: date(2026, 6, 30),
        workflow: None,
        workflow_version: None,
    }
}

#[test]
fn an_organizer_opens_a_cohort_with_its_levels_default_workflow() {
    let mut c = Given::<Cohort>::new(Some(workflow("change-project-pka")));
    let events = c.ok(organizer(), open());
    assert!(
        matches!(&events[..], [E::CohortOpened { workflow, organizer, .. }] if workflow == "change-project-pka" && organizer == "organizer-1")
    );
    assert!(matches!(
        c.refused(organizer(), open()),
        DomainError::AlreadyExists { .. }
    ));
}

#[test]
fn only_organizers_run_cohorts_and_dates_must_be_in_order() {
    let mut c = Given::<Cohort>::new(Some(workflow("change-project-pka")));
    says(&forbidden(c.refused(mentor(), open())), "organizers do");
    let C::Open {
        cohort_id,
        level,
        provider,
        year,
        number,
        starts_on,
        ..
    } = open()
    else {
        unreachable!()
    };
    let backwards = C::Open {
        cohort_id,
        level,
        provider,
        year,
        number,
        starts_on,
        ends_on: date(2026, 2, 1),
        workflow: None,
        workflow_version: None,
    };
    assert_eq!(invalid(c.refused(organizer(), backwards)), "ends_on");
}

#[test]
fn the_cohorts_organizer_enrols_each_participant_once() {
    let mut c = Given::<Cohort>::new(Some(workflow("change-project-pka")));
    assert!(matches!(
        c.refused(organizer(), C::Enrol(enrollment())),
        DomainError::NotFound { .. }
    ));
    c.ok(organizer(), open());
    says(
        &forbidden(c.refused(
            Actor::new("organizer-2", Role::Organizer),
            C::Enrol(enrollment()),
        )),
        "only the organizer",
    );
    assert!(matches!(
        c.ok(organizer(), C::Enrol(enrollment()))[..],
        [E::ParticipantEnrolled { .. }]
    ));
    assert!(matches!(
        c.refused(organizer(), C::Enrol(enrollment())),
        DomainError::AlreadyExists { .. }
    ));
    let p = someone(NIP, "Siti Rahmawati", "Kepala Bidang Pelayanan", "dpmptsp").unwrap();
    let moved = Enrollment::new(p, "mentor-2", "coach-1", &["examiner-1".into()]).unwrap();
    assert!(matches!(
        c.ok(organizer(), C::Reassign(moved.clone()))[..],
        [E::StaffReassigned { .. }]
    ));
    assert!(c.ok(organizer(), C::Reassign(moved)).is_empty());
}

#[test]
fn each_participant_gets_the_next_code_and_a_nip_is_enrolled_once() {
    let mut c = Given::<Cohort>::new(Some(workflow("change-project-pka")));
    c.ok(organizer(), open());
    c.ok(organizer(), C::Enrol(enrollment()));
    let other = |person: &str, nip: &str| {
        let p = Participant::new(
            PersonId::parse(person).unwrap(),
            &Nip::parse(nip).unwrap(),
            "Budi Santoso",
            "Kepala Seksi",
            "dinkes",
        )
        .unwrap();
        Enrollment::new(p, "mentor-1", "coach-1", &["examiner-1".into()]).unwrap()
    };
    let events = c.ok(organizer(), C::Enrol(other(OTHER_PERSON, OTHER_NIP)));
    let [E::ParticipantEnrolled { enrollment }] = &events[..] else {
        panic!("one enrolment: {events:?}");
    };
    let cohort = CohortId::parse("pka-2026-1").unwrap();
    assert_eq!(enrollment.code(&cohort).unwrap().as_str(), "pka-2026-1/002");
    let first = &c.state.enrollments[&PersonId::parse(PERSON).unwrap()];
    assert_eq!(first.code(&cohort).unwrap().as_str(), "pka-2026-1/001");
    // Another person id with a NIP enrolled already is refused, and the
    // refusal names the code, not the NIP.
    let again = c.refused(
        organizer(),
        C::Enrol(other("0192f5e4-7c1a-7b3e-9d2a-5f0c8e1b2a3f", OTHER_NIP)),
    );
    assert!(matches!(again, DomainError::AlreadyExists { .. }));
    assert!(again.to_string().contains("pka-2026-1/002"), "{again}");
    assert!(!again.to_string().contains(OTHER_NIP), "{again}");
}

#[test]
fn enrollments_validate_people() {
    let p = || someone(NIP, "Siti", "Kabid", "dpmptsp").unwrap();
    assert_eq!(
        invalid(someone("123", "Siti", "Kabid", "dpmptsp").unwrap_err()),
        "participant.nip"
    );
    assert_eq!(
        invalid(someone(NIP, "", "Kabid", "dpmptsp").unwrap_err()),
        "participant.name"
    );
    assert_eq!(
        invalid(someone(NIP, "Siti", "Kabid", "dinas kesehatan").unwrap_err()),
        "participant.opd"
    );
    assert_eq!(
        invalid(Enrollment::new(p(), "m", "c", &[]).unwrap_err()),
        "examiners"
    );
    assert_eq!(
        invalid(Enrollment::new(p(), "m", "c", &["e".into(), "e".into()]).unwrap_err()),
        "examiners"
    );
    assert_eq!(
        invalid(Enrollment::new(p(), NIP, "c", &["e".into()]).unwrap_err()),
        "mentor"
    );
    // Nobody holds two parts: the coach is not the mentor, an examiner
    // neither.
    assert_eq!(
        invalid(Enrollment::new(p(), "m", "m", &["e".into()]).unwrap_err()),
        "coach"
    );
    assert_eq!(
        invalid(Enrollment::new(p(), "m", "c", &["e".into(), "m".into()]).unwrap_err()),
        "examiners"
    );
    assert_eq!(
        invalid(Enrollment::new(p(), "m", "c", &["c".into()]).unwrap_err()),
        "examiners"
    );
}

fn owned_by(provider: &str) -> std::sync::Arc<jejak_engine::workflow::Workflow> {
    std::sync::Arc::new(
        (*workflow("change-project-pka"))
            .clone()
            .owned_by(Some(provider.to_owned())),
    )
}

#[test]
fn a_cohort_pins_a_workflow_its_organizer_may_use() {
    let mut theirs = Given::<Cohort>::new(Some(owned_by("penyelenggara-a")));
    says(
        &forbidden(theirs.refused(
            Actor::organizer_of("organizer-1", "penyelenggara-b"),
            open(),
        )),
        "belongs to provider penyelenggara-a",
    );
    says(
        &forbidden(theirs.refused(organizer(), open())),
        "belongs to provider penyelenggara-a",
    );
    let events = theirs.ok(
        Actor::organizer_of("organizer-1", "penyelenggara-a"),
        open(),
    );
    assert!(
        matches!(
            &events[..],
            [E::CohortOpened {
                workflow_version: Some(1),
                ..
            }]
        ),
        "{events:?}"
    );
    let mut innovation = Given::<Cohort>::new(Some(workflow("innovation")));
    assert_eq!(invalid(innovation.refused(organizer(), open())), "workflow");
}

#[test]
fn a_cohort_moves_to_another_workflow_only_while_its_projects_are_proposed() {
    let mut c = Given::<Cohort>::new(Some(workflow("change-project-pka")));
    c.ok(organizer(), open());
    let change = |states: &[(&str, &str)]| C::ChangeWorkflow {
        workflow: "change-project-pka".into(),
        version: Some(1),
        projects: states
            .iter()
            .map(|(p, s)| ((*p).to_owned(), (*s).to_owned()))
            .collect(),
    };
    says(
        &forbidden(c.refused(Actor::new("organizer-2", Role::Organizer), change(&[]))),
        "only the organizer",
    );
    assert!(matches!(
        c.refused(organizer(), change(&[("p1", "proposed"), ("p2", "piloted")])),
        DomainError::WrongState { ref state, .. } if state == "piloted"
    ));
    assert!(
        c.ok(organizer(), change(&[("p1", "proposed")])).is_empty(),
        "the version pinned already: nothing to record"
    );
    c.workflow = Some(owned_by("penyelenggara-a"));
    says(
        &forbidden(c.refused(organizer(), change(&[]))),
        "belongs to provider",
    );
}

#[test]
fn the_cohorts_organizer_amends_an_enrolment_and_keeps_its_nip() {
    let mut c = Given::<Cohort>::new(Some(workflow("change-project-pka")));
    let amended = someone(NIP, "Siti Rahmawati Putri", "Kepala Bidang", "dinkes").unwrap();
    c.ok(organizer(), open());
    // Nobody enrolled yet: nothing to amend.
    assert!(matches!(
        c.refused(organizer(), C::AmendEnrolment(amended.clone())),
        DomainError::NotFound { .. }
    ));
    c.ok(organizer(), C::Enrol(enrollment()));
    // Only the cohort's organizer.
    says(
        &forbidden(c.refused(
            Actor::new("organizer-2", Role::Organizer),
            C::AmendEnrolment(amended.clone()),
        )),
        "only the organizer",
    );
    says(
        &forbidden(c.refused(mentor(), C::AmendEnrolment(amended.clone()))),
        "organizers do",
    );
    // A NIP is who the participant is: not amended.
    let other_nip = Participant::new(
        PersonId::parse(PERSON).unwrap(),
        &Nip::parse_field("nip", "199001012015032001").unwrap(),
        "Siti Rahmawati",
        "Kepala Bidang Pelayanan",
        "dpmptsp",
    )
    .unwrap();
    assert_eq!(
        invalid(c.refused(organizer(), C::AmendEnrolment(other_nip))),
        "participant.nip"
    );
    let events = c.ok(organizer(), C::AmendEnrolment(amended.clone()));
    assert!(
        matches!(&events[..], [E::EnrolmentAmended { participant }] if *participant == amended)
    );
    let enrolled = c.state.enrollments.values().next().unwrap();
    assert_eq!(enrolled.participant, amended);
    assert_eq!(
        (enrolled.mentor.as_str(), enrolled.ordinal),
        ("mentor-1", 1)
    );
    // The same values again write nothing.
    assert!(
        c.ok(organizer(), C::AmendEnrolment(amended.clone()))
            .is_empty()
    );
    // A reassignment changes the staff, never the participant's fields.
    let moved = Enrollment::new(
        enrollment().participant,
        "mentor-2",
        "coach-1",
        &["examiner-1".into()],
    )
    .unwrap();
    c.ok(organizer(), C::Reassign(moved));
    let enrolled = c.state.enrollments.values().next().unwrap();
    assert_eq!(
        (enrolled.participant.clone(), enrolled.mentor.as_str()),
        (amended, "mentor-2")
    );
}
