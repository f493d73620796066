//! The words people read: stages, sources, grades, statuses and the kinds
//! of notes in the domain's own language (Indonesian by default, English
//! on request). The portal's pages and the command line's human output
//! (`--lang en`) share them; codes stay codes in JSON and on the wire.

/// The language of human output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Bahasa Indonesia (the default).
    #[default]
    Id,
    /// English.
    En,
}

impl Lang {
    /// The language of a code: `id` or `en` (case and spaces ignored).
    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "id" => Some(Self::Id),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// Its code, as the `lang` attribute of a page takes it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::En => "en",
        }
    }

    /// The Indonesian or the English of a phrase, as the language is.
    pub fn pick(self, id: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Id => id,
            Self::En => en,
        }
    }

    /// A lifecycle state or stage, of a change project or an innovation
    /// (one vocabulary: the two lifecycles meet). Unknown codes as they are.
    pub fn stage(self, code: &str) -> String {
        let (id, en) = match code {
            "proposed" => ("inisiatif", "initiative"),
            "piloted" => ("uji coba", "pilot"),
            "adopted" => ("penerapan", "implementation"),
            "replicated" => ("replikasi", "replication"),
            "dormant" => ("vakum", "dormant"),
            "deferred" => ("ditunda", "deferred"),
            "withdrawn" => ("mengundurkan diri", "withdrawn"),
            other => return other.to_owned(),
        };
        self.pick(id, en).to_owned()
    }

    /// An innovation's source, from its code.
    pub fn source(self, code: &str) -> String {
        let (id, en) = match code {
            "change_project" => ("proyek perubahan", "change project"),
            "health_competition" => (
                "puskesmas / lomba inovasi kesehatan",
                "puskesmas / health innovation competition",
            ),
            "innovation_lab" => ("laboratorium inovasi", "innovation lab"),
            "opd_initiative" => ("inisiatif OPD", "OPD initiative"),
            "community" => ("masyarakat", "community"),
            "dprd" => ("DPRD", "DPRD"),
            "regional_head" => ("kepala daerah", "regional head"),
            other => return other.to_owned(),
        };
        self.pick(id, en).to_owned()
    }

    /// A grade (predikat), from its code (`sangat_memuaskan`) or as
    /// written (`sangat memuaskan`). The predikat is a name: it stays
    /// Indonesian in English output, with a gloss.
    pub fn grade(self, code: &str) -> String {
        let key = code.trim().replace(['_', '-'], " ").to_lowercase();
        let en = match key.as_str() {
            "sangat memuaskan" => "very satisfactory",
            "memuaskan" => "satisfactory",
            "cukup memuaskan" => "fairly satisfactory",
            "kurang memuaskan" => "unsatisfactory",
            "" => return String::new(),
            _ => return code.to_owned(),
        };
        match self {
            Self::Id => key,
            Self::En => format!("{key} ({en})"),
        }
    }

    /// A milestone's status, from its code (`planned`, `submitted`, …).
    pub fn status(self, code: &str) -> String {
        let (id, en) = match code {
            "planned" => ("direncanakan", "planned"),
            "submitted" => ("menunggu mentor", "waiting for the mentor"),
            "returned" => ("dikembalikan", "returned"),
            "approved" => ("disetujui", "approved"),
            other => return other.to_owned(),
        };
        self.pick(id, en).to_owned()
    }

    /// A milestone's horizon, from its code (`short`, `medium`, `long`).
    pub fn horizon(self, code: &str) -> String {
        let (id, en) = match code {
            "short" => ("jangka pendek", "short term"),
            "medium" => ("jangka menengah", "medium term"),
            "long" => ("jangka panjang", "long term"),
            other => return other.to_owned(),
        };
        self.pick(id, en).to_owned()
    }

    /// A stakeholder's influence or interest (`low`, `medium`, `high`).
    pub fn level(self, code: &str) -> String {
        let (id, en) = match code {
            "low" => ("rendah", "low"),
            "medium" => ("sedang", "medium"),
            "high" => ("tinggi", "high"),
            other => return other.to_owned(),
        };
        self.pick(id, en).to_owned()
    }

    /// A target's rating at the final seminar (`below`, `meets`, `exceeds`).
    pub fn rating(self, code: &str) -> String {
        let (id, en) = match code {
            "below" => ("kurang", "below"),
            "meets" => ("sesuai", "meets"),
            "exceeds" => ("melampaui", "exceeds"),
            other => return other.to_owned(),
        };
        self.pick(id, en).to_owned()
    }

    /// A role (`mentor`, `coach`, …).
    pub fn role(self, code: &str) -> String {
        let (id, en) = match code {
            "participant" => ("peserta", "participant"),
            "mentor" => ("mentor", "mentor"),
            "coach" => ("coach", "coach"),
            "examiner" => ("penguji", "examiner"),
            "organizer" => ("penyelenggara", "organizer"),
            "innovation_officer" => ("admin inovasi", "innovation officer"),
            "brida_officer" => ("BRIDA", "BRIDA officer"),
            "auditor" => ("auditor", "auditor"),
            "system" => ("jejak", "jejak"),
            other => return other.to_owned(),
        };
        self.pick(id, en).to_owned()
    }

    /// What waits in a mentor's inbox, from its code.
    pub fn inbox_kind(self, code: &str) -> String {
        let (id, en) = match code {
            "proposal" => ("rancangan", "proposal"),
            "milestone_evidence" => ("bukti tonggak", "milestone evidence"),
            "adoption_endorsement" => ("pengukuhan penerapan", "adoption endorsement"),
            "plan_change" => ("perubahan rencana", "plan change"),
            other => return other.to_owned(),
        };
        self.pick(id, en).to_owned()
    }

    /// What a note on a project is, from its code.
    pub fn note(self, code: &str) -> String {
        let (id, en) = match code {
            "comment" => ("komentar", "comment"),
            "change_area_agreed" => ("area perubahan disetujui", "change area agreed"),
            "action_plan_approved" => ("rencana aksi disetujui", "action plan approved"),
            "action_plan_returned" => ("rencana aksi dikembalikan", "action plan returned"),
            "proposal_revised" => ("rancangan direvisi", "proposal revised"),
            "proposal_ready" => ("rancangan siap diseminarkan", "proposal ready for seminar"),
            "proposal_seminar" => ("seminar rancangan", "proposal seminar"),
            "workplace_phase_started" => (
                "laboratorium kepemimpinan dimulai",
                "workplace phase started",
            ),
            "evidence_submitted" => ("bukti dikirim", "evidence submitted"),
            "milestone_approved" => ("tonggak disetujui", "milestone approved"),
            "milestone_returned" => ("tonggak dikembalikan", "milestone returned"),
            "milestone_overdue" => ("tonggak terlambat", "milestone overdue"),
            "final_report_submitted" => ("laporan akhir dikirim", "final report submitted"),
            "report_ready" => ("laporan siap diseminarkan", "report ready for seminar"),
            "final_seminar" => ("seminar akhir", "final seminar"),
            "graded" => ("predikat ditetapkan", "grade set"),
            "graduation_deferred" => ("kelulusan ditunda", "graduation deferred"),
            "graduation_resumed" => ("dilanjutkan", "resumed"),
            "adoption_endorsed" => ("penerapan dikukuhkan mentor", "adoption endorsed"),
            "innovation_linked" => ("tercatat sebagai inovasi daerah", "innovation linked"),
            "replication_recorded" => ("replikasi dicatat", "replication recorded"),
            "withdrawn" => ("mengundurkan diri", "withdrawn"),
            "workflow_changed" => ("alur kerja diganti", "workflow changed"),
            "plan_change_requested" => ("perubahan rencana diajukan", "plan change requested"),
            "plan_change_approved" => ("perubahan rencana disetujui", "plan change approved"),
            "plan_change_returned" => ("perubahan rencana dikembalikan", "plan change returned"),
            "proposal_seminar_corrected" => (
                "hasil seminar rancangan dikoreksi",
                "proposal seminar corrected",
            ),
            "final_seminar_corrected" => {
                ("hasil seminar akhir dikoreksi", "final seminar corrected")
            }
            "grade_corrected" => ("predikat dikoreksi", "grade corrected"),
            "staff_assigned" => ("pembimbing diganti", "staff reassigned"),
            "participant_amended" => ("data peserta diubah", "enrolment amended"),
            other => return other.to_owned(),
        };
        self.pick(id, en).to_owned()
    }

    /// The fixed words of the project page.
    pub fn word(self, key: Word) -> &'static str {
        use Word as W;
        match key {
            W::State => self.pick("tahap", "stage"),
            W::Cohort => self.pick("angkatan", "cohort"),
            W::Mentor => self.pick("mentor", "mentor"),
            W::Coach => self.pick("coach", "coach"),
            W::Examiners => self.pick("penguji", "examiners"),
            W::Proposal => self.pick("Rancangan", "Proposal"),
            W::ChangeArea => self.pick("area perubahan", "change area"),
            W::Problem => self.pick("masalah", "problem"),
            W::Baseline => self.pick("kondisi awal", "baseline"),
            W::Goals => self.pick("tujuan", "goals"),
            W::Stakeholders => self.pick("pemangku kepentingan", "stakeholders"),
            W::Team => self.pick("tim efektif", "project team"),
            W::Internal => self.pick("internal", "internal"),
            W::External => self.pick("eksternal", "external"),
            W::Influence => self.pick("pengaruh", "influence"),
            W::Interest => self.pick("kepentingan", "interest"),
            W::Milestones => self.pick("Tonggak", "Milestones"),
            W::Due => self.pick("tenggat", "due"),
            W::Overdue => self.pick("terlambat", "overdue"),
            W::Recorded => self.pick("dicatat", "recorded"),
            W::ExpectedOutput => self.pick("keluaran", "expected output"),
            W::Evidence => self.pick("bukti", "evidence"),
            W::Notes => self.pick("Catatan dan keputusan", "Notes and decisions"),
            W::Seminars => self.pick("Seminar", "Seminars"),
            W::Accepted => self.pick("diterima", "accepted"),
            W::ToRevise => self.pick("perlu revisi", "to revise"),
            W::Passed => self.pick("lulus", "passed"),
            W::Failed => self.pick("tidak lulus", "failed"),
            W::Score => self.pick("nilai", "score"),
            W::Grade => self.pick("predikat", "grade"),
            W::FinalReport => self.pick("laporan akhir", "final report"),
            W::Participant => self.pick("peserta", "participant"),
            W::Status => self.pick("status", "status"),
        }
    }
}

/// The fixed words of human output (see [`Lang::word`]).
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub enum Word {
    State,
    Cohort,
    Mentor,
    Coach,
    Examiners,
    Proposal,
    ChangeArea,
    Problem,
    Baseline,
    Goals,
    Stakeholders,
    Team,
    Internal,
    External,
    Influence,
    Interest,
    Milestones,
    Due,
    Overdue,
    Recorded,
    ExpectedOutput,
    Evidence,
    Notes,
    Seminars,
    Accepted,
    ToRevise,
    Passed,
    Failed,
    Score,
    Grade,
    FinalReport,
    Participant,
    Status,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indonesian_by_default_english_on_request() {
        assert_eq!(Lang::default().stage("piloted"), "uji coba");
        assert_eq!(Lang::En.stage("piloted"), "pilot");
        assert_eq!(Lang::Id.stage("dormant"), "vakum");
        assert_eq!(
            Lang::Id.source("health_competition"),
            "puskesmas / lomba inovasi kesehatan"
        );
        assert_eq!(Lang::Id.grade("sangat_memuaskan"), "sangat memuaskan");
        assert_eq!(Lang::Id.grade("sangat memuaskan"), "sangat memuaskan");
        assert_eq!(
            Lang::En.grade("sangat_memuaskan"),
            "sangat memuaskan (very satisfactory)"
        );
        assert_eq!(Lang::Id.stage("unknown-state"), "unknown-state");
    }
}
