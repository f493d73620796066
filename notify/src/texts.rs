//! What people read: every message's subject and text, in Indonesian and
//! in English (the recipient's choice, [`Lang`]), in this one module
//! (plain format strings, ADR 0032).
//!
//! A message names the project by its code and title and the milestone by
//! its title; never a person's name or NIP (the outbox holds nothing
//! personal, and the recipient knows who they are).

use chrono::{Datelike as _, NaiveDate};
use jejak_engine::notifications::{Facts, Kind, Lang, Late};

/// A message's subject and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    /// The subject line (an email's subject, a chat message's first line).
    pub subject: String,
    /// The text.
    pub body: String,
}

const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// A date as Indonesians write it: `15 April 2026`.
pub fn date(day: NaiveDate) -> String {
    let month = MONTHS
        .get(day.month0() as usize)
        .copied()
        .unwrap_or_default();
    format!("{} {month} {}", day.day(), day.year())
}

/// A date as `lang` writes it: `15 April 2026`, `15 April 2026` (English
/// month names).
fn date_in(lang: Lang, day: NaiveDate) -> String {
    match lang {
        Lang::Id => date(day),
        Lang::En => day.format("%-d %B %Y").to_string(),
    }
}

/// The Indonesian or the English of a text.
fn tr<'a>(lang: Lang, id: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Id => id,
        Lang::En => en,
    }
}

fn due(lang: Lang, facts: &Facts) -> String {
    facts
        .due
        .map(|d| date_in(lang, d))
        .unwrap_or_else(|| "-".into())
}

fn horizon(lang: Lang, facts: &Facts) -> &'static str {
    match (facts.horizon.as_str(), lang) {
        ("medium", Lang::Id) => "jangka menengah",
        ("long", Lang::Id) => "jangka panjang",
        (_, Lang::Id) => "jangka pendek",
        ("medium", Lang::En) => "medium-term",
        ("long", Lang::En) => "long-term",
        (_, Lang::En) => "short-term",
    }
}

fn note(label: &str, text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("\n\n{label}:\n{}", text.trim())
    }
}

fn project(facts: &Facts) -> String {
    format!("{} \"{}\"", facts.project_code, facts.title)
}

fn closing(lang: Lang) -> &'static str {
    tr(
        lang,
        "\n\n--\nPesan ini dikirim oleh jejak. Atur alamat dan preferensi pemberitahuan Anda dengan `jejak me contact`.",
        "\n\n--\nThis message was sent by jejak. Set your addresses and notification preferences with `jejak me contact`.",
    )
}

/// One inbox item, as a line of a mentor's digest.
fn inbox_line(lang: Lang, facts: &Facts) -> String {
    let p = project(facts);
    match (facts.what.as_str(), lang) {
        ("evidence", Lang::Id) => format!(
            "Bukti capaian \"{}\" pada {p} menunggu persetujuan",
            facts.milestone_title
        ),
        ("evidence", Lang::En) => format!(
            "Evidence for \"{}\" on {p} awaits your approval",
            facts.milestone_title
        ),
        ("plan_change", Lang::Id) => {
            format!("Perubahan rencana milestone pada {p} menunggu persetujuan")
        }
        ("plan_change", Lang::En) => {
            format!("A change of the milestone plan of {p} awaits your approval")
        }
        ("adoption", Lang::Id) => {
            format!("{p} menunggu pengesahan keberlanjutan perubahan (adopsi)")
        }
        ("adoption", Lang::En) => {
            format!("{p} awaits your endorsement that the change is kept (adoption)")
        }
        (_, Lang::Id) => format!(
            "Rancangan proyek perubahan {p} menunggu persetujuan area perubahan dan rencana aksi"
        ),
        (_, Lang::En) => format!(
            "The change project proposal {p} awaits your agreement on its change area and action plan"
        ),
    }
}

/// The subject and text of one message of `kind`, in Indonesian.
pub fn single(kind: Kind, facts: &Facts) -> Text {
    single_in(Lang::Id, kind, facts)
}

/// The subject and text of one message of `kind`, in `lang`.
pub fn single_in(lang: Lang, kind: Kind, facts: &Facts) -> Text {
    let code = &facts.project_code;
    let (subject, body) = match kind {
        Kind::Inbox => (
            match (facts.what.as_str(), lang) {
                ("evidence", Lang::Id) => {
                    format!("Bukti capaian menunggu persetujuan Anda ({code})")
                }
                ("evidence", Lang::En) => format!("Evidence awaits your approval ({code})"),
                ("plan_change", Lang::Id) => {
                    format!("Perubahan rencana menunggu persetujuan Anda ({code})")
                }
                ("plan_change", Lang::En) => format!("A plan change awaits your approval ({code})"),
                ("adoption", Lang::Id) => format!("Pengesahan adopsi menunggu Anda ({code})"),
                ("adoption", Lang::En) => format!("An adoption awaits your endorsement ({code})"),
                (_, Lang::Id) => {
                    format!("Rancangan proyek perubahan menunggu persetujuan Anda ({code})")
                }
                (_, Lang::En) => format!("A change project proposal awaits your approval ({code})"),
            },
            format!(
                "{}\n\n{}.{}\n\n{}: jejak mentor inbox",
                tr(lang, "Yth. Mentor,", "Dear mentor,"),
                inbox_line(lang, facts),
                note(
                    tr(lang, "Alasan peserta", "The participant's reason"),
                    if facts.what == "plan_change" {
                        &facts.note
                    } else {
                        ""
                    }
                ),
                tr(lang, "Lihat kotak masuk Anda", "See your inbox"),
            ),
        ),
        Kind::Decision => decision(lang, facts),
        Kind::Seminar => seminar(lang, facts),
        Kind::DueSoon => {
            let (h, title, p, d) = (
                horizon(lang, facts),
                &facts.milestone_title,
                project(facts),
                due(lang, facts),
            );
            let proposed = facts.what == "due_soon_proposed";
            (
                match lang {
                    Lang::Id => format!("Pengingat: milestone jatuh tempo {d} ({code})"),
                    Lang::En => format!("Reminder: a milestone falls due on {d} ({code})"),
                },
                match (lang, proposed) {
                    (Lang::Id, false) => format!(
                        "Yth. Bapak/Ibu,\n\nMilestone {h} \"{title}\" pada proyek perubahan {p} jatuh tempo pada {d} dan belum disetujui mentor.\n\nKirim bukti capaiannya sebelum tanggal tersebut: jejak project evidence {code} {} --attach BERKAS",
                        facts.milestone_id
                    ),
                    (Lang::En, false) => format!(
                        "Dear Sir or Madam,\n\nThe {h} milestone \"{title}\" of the change project {p} falls due on {d} and is not yet approved by the mentor.\n\nSubmit its evidence before then: jejak project evidence {code} {} --attach FILE",
                        facts.milestone_id
                    ),
                    (Lang::Id, true) => format!(
                        "Yth. Bapak/Ibu,\n\nMilestone {h} \"{title}\" pada rancangan proyek perubahan {p} jatuh tempo pada {d}, sedangkan rencana aksinya belum disetujui.\n\nSelesaikan persetujuan rancangan, atau sesuaikan jadwal milestone pada revisi rancangan (jejak project revise)."
                    ),
                    (Lang::En, true) => format!(
                        "Dear Sir or Madam,\n\nThe {h} milestone \"{title}\" of the change project proposal {p} falls due on {d}, while its action plan is not yet approved.\n\nSee the proposal through its approval, or move the milestone's date in a revised proposal (jejak project revise)."
                    ),
                },
            )
        }
        Kind::Overdue => {
            let (h, title, p, d) = (
                horizon(lang, facts),
                &facts.milestone_title,
                project(facts),
                due(lang, facts),
            );
            let again = facts.what == "overdue_again";
            (
                match (lang, again) {
                    (Lang::Id, false) => format!("Milestone terlambat: {title} ({code})"),
                    (Lang::En, false) => format!("Milestone overdue: {title} ({code})"),
                    (Lang::Id, true) => format!("Masih terlambat: {title} ({code})"),
                    (Lang::En, true) => format!("Still overdue: {title} ({code})"),
                },
                match (lang, again) {
                    (Lang::Id, false) => format!(
                        "Yth. Bapak/Ibu,\n\nMilestone {h} \"{title}\" pada proyek perubahan {p} telah melewati tenggat {d} tanpa persetujuan mentor.\n\nPerubahan yang dirancang hanya bertahan bila ditindaklanjuti: kirim bukti capaiannya, atau ajukan perubahan rencana bila jadwalnya berubah (jejak project change-plan)."
                    ),
                    (Lang::En, false) => format!(
                        "Dear Sir or Madam,\n\nThe {h} milestone \"{title}\" of the change project {p} passed its due date, {d}, without the mentor's approval.\n\nA change lasts only when it is followed up: submit its evidence, or ask for a plan change if its schedule moved (jejak project change-plan)."
                    ),
                    (Lang::Id, true) => format!(
                        "Yth. Bapak/Ibu,\n\nPelatihan telah usai, tetapi milestone {h} \"{title}\" pada proyek perubahan {p} masih belum tercapai sejak tenggat {d}.\n\nPerubahan yang dirancang hanya bertahan bila ditindaklanjuti: kirim bukti capaiannya, atau ajukan perubahan rencana bila jadwalnya berubah (jejak project change-plan)."
                    ),
                    (Lang::En, true) => format!(
                        "Dear Sir or Madam,\n\nThe training is over, but the {h} milestone \"{title}\" of the change project {p} is still not reached since its due date, {d}.\n\nA change lasts only when it is followed up: submit its evidence, or ask for a plan change if its schedule moved (jejak project change-plan)."
                    ),
                },
            )
        }
        Kind::WeeklySummary => weekly(lang, facts),
    };
    Text {
        subject,
        body: format!("{body}{}", closing(lang)),
    }
}

fn decision(lang: Lang, facts: &Facts) -> (String, String) {
    let (subject, what, label) = match (facts.what.as_str(), lang) {
        ("action_plan_approved", Lang::Id) => (
            "Rencana aksi Anda disetujui",
            "Mentor menyetujui rencana aksi proyek perubahan",
            "Catatan mentor",
        ),
        ("action_plan_approved", Lang::En) => (
            "Your action plan is approved",
            "Your mentor approved the action plan of the change project",
            "The mentor's note",
        ),
        ("action_plan_returned", Lang::Id) => (
            "Rencana aksi Anda dikembalikan",
            "Mentor mengembalikan rencana aksi proyek perubahan",
            "Alasan",
        ),
        ("action_plan_returned", Lang::En) => (
            "Your action plan is returned",
            "Your mentor returned the action plan of the change project",
            "Reason",
        ),
        ("milestone_approved", Lang::Id) => (
            "Milestone Anda disetujui",
            "Mentor menyetujui bukti capaian milestone",
            "Catatan mentor",
        ),
        ("milestone_approved", Lang::En) => (
            "Your milestone is approved",
            "Your mentor approved the evidence of the milestone",
            "The mentor's note",
        ),
        ("milestone_returned", Lang::Id) => (
            "Milestone Anda dikembalikan",
            "Mentor mengembalikan bukti capaian milestone",
            "Alasan",
        ),
        ("milestone_returned", Lang::En) => (
            "Your milestone is returned",
            "Your mentor returned the evidence of the milestone",
            "Reason",
        ),
        ("plan_change_approved", Lang::Id) => (
            "Perubahan rencana Anda disetujui",
            "Mentor menyetujui perubahan rencana milestone",
            "Catatan mentor",
        ),
        ("plan_change_approved", Lang::En) => (
            "Your plan change is approved",
            "Your mentor approved the change of the milestone plan",
            "The mentor's note",
        ),
        (_, Lang::Id) => (
            "Perubahan rencana Anda dikembalikan",
            "Mentor mengembalikan perubahan rencana milestone",
            "Alasan",
        ),
        (_, Lang::En) => (
            "Your plan change is returned",
            "Your mentor returned the change of the milestone plan",
            "Reason",
        ),
    };
    let milestone = if facts.milestone_title.is_empty() {
        String::new()
    } else {
        format!(" \"{}\"", facts.milestone_title)
    };
    (
        format!("{subject} ({})", facts.project_code),
        format!(
            "{}\n\n{what}{milestone} {} {}.{}\n\n{}: jejak project show {}",
            tr(lang, "Yth. Peserta,", "Dear participant,"),
            tr(lang, "pada", "of"),
            project(facts),
            note(label, &facts.note),
            tr(lang, "Lihat proyek Anda", "See your project"),
            facts.project_code
        ),
    )
}

fn seminar(lang: Lang, facts: &Facts) -> (String, String) {
    let corrected = if facts.corrected {
        tr(lang, " (koreksi)", " (corrected)")
    } else {
        ""
    };
    let greeting = tr(lang, "Yth. Peserta,", "Dear participant,");
    let see = tr(lang, "Lihat proyek Anda", "See your project");
    let code = &facts.project_code;
    if facts.what == "final_seminar" {
        let passed = facts.accepted == Some(true);
        let result = match (lang, passed) {
            (Lang::Id, true) => "lulus",
            (Lang::Id, false) => "belum lulus",
            (Lang::En, true) => "passed",
            (Lang::En, false) => "not passed",
        };
        let score = facts.score.unwrap_or_default();
        let notes = note(
            tr(lang, "Catatan penguji", "The examiners' notes"),
            &facts.note,
        );
        match lang {
            Lang::Id => (
                format!("Hasil seminar akhir{corrected}: {result} ({code})"),
                format!(
                    "{greeting}\n\nPenguji mencatat hasil seminar akhir{corrected} proyek perubahan {}: nilai {score}, {result}.{notes}\n\n{see}: jejak project show {code}",
                    project(facts),
                ),
            ),
            Lang::En => (
                format!("Final seminar result{corrected}: {result} ({code})"),
                format!(
                    "{greeting}\n\nThe examiners recorded the final seminar's result{corrected} of the change project {}: score {score}, {result}.{notes}\n\n{see}: jejak project show {code}",
                    project(facts),
                ),
            ),
        }
    } else {
        let accepted = facts.accepted == Some(true);
        let result = match (lang, accepted) {
            (Lang::Id, true) => "diterima",
            (Lang::Id, false) => "perlu diperbaiki",
            (Lang::En, true) => "accepted",
            (Lang::En, false) => "to be revised",
        };
        let notes = note(
            tr(lang, "Catatan penguji", "The examiners' notes"),
            &facts.note,
        );
        match lang {
            Lang::Id => (
                format!("Hasil seminar rancangan{corrected}: {result} ({code})"),
                format!(
                    "{greeting}\n\nPenguji mencatat hasil seminar rancangan{corrected} proyek perubahan {}: {result}.{notes}\n\n{see}: jejak project show {code}",
                    project(facts),
                ),
            ),
            Lang::En => (
                format!("Proposal seminar result{corrected}: {result} ({code})"),
                format!(
                    "{greeting}\n\nThe examiners recorded the proposal seminar's result{corrected} of the change project {}: {result}.{notes}\n\n{see}: jejak project show {code}",
                    project(facts),
                ),
            ),
        }
    }
}

fn state(lang: Lang, code: &str) -> &str {
    match (code, lang) {
        ("proposed", Lang::Id) => "rancangan",
        ("piloted", Lang::Id) => "uji coba (laboratorium kepemimpinan)",
        ("adopted", Lang::Id) => "diadopsi",
        ("replicated", Lang::Id) => "direplikasi",
        ("withdrawn", Lang::Id) => "mengundurkan diri",
        ("deferred", Lang::Id) => "ditunda",
        ("proposed", Lang::En) => "proposed",
        ("piloted", Lang::En) => "piloted (workplace phase)",
        ("adopted", Lang::En) => "adopted",
        ("replicated", Lang::En) => "replicated",
        ("withdrawn", Lang::En) => "withdrawn",
        ("deferred", Lang::En) => "deferred",
        (other, _) => other,
    }
}

fn late_lines(lang: Lang, list: &[Late]) -> String {
    list.iter()
        .map(|l| {
            let milestones: Vec<String> = l
                .milestones
                .iter()
                .map(|(title, day)| format!("\"{title}\" ({})", date_in(lang, *day)))
                .collect();
            format!("- {}: {}", l.code, milestones.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn weekly(lang: Lang, facts: &Facts) -> (String, String) {
    let states = facts
        .states
        .iter()
        .map(|(s, n)| format!("- {}: {n}", state(lang, s)))
        .collect::<Vec<_>>()
        .join("\n");
    let late = if facts.late.is_empty() {
        tr(
            lang,
            "Tidak ada milestone yang terlambat.",
            "No milestone is overdue.",
        )
        .to_owned()
    } else {
        format!(
            "{}:\n{}",
            tr(lang, "Milestone terlambat", "Overdue milestones"),
            late_lines(lang, &facts.late)
        )
    };
    let soon = if facts.due_this_week.is_empty() {
        tr(
            lang,
            "Tidak ada milestone yang jatuh tempo tujuh hari ke depan.",
            "No milestone falls due in the coming seven days.",
        )
        .to_owned()
    } else {
        format!(
            "{}:\n{}",
            tr(
                lang,
                "Jatuh tempo tujuh hari ke depan",
                "Due in the coming seven days"
            ),
            late_lines(lang, &facts.due_this_week)
        )
    };
    let (cohort, week) = (&facts.cohort, &facts.week);
    match lang {
        Lang::Id => (
            format!("Ringkasan mingguan angkatan {cohort} ({week})"),
            format!(
                "Yth. Penyelenggara,\n\nRingkasan angkatan {cohort} untuk pekan {week}.\n\nProyek per tahap:\n{states}\n\n{late}\n\n{soon}\n\nLihat kemajuan angkatan: jejak cohort progress {cohort}"
            ),
        ),
        Lang::En => (
            format!("Weekly summary of cohort {cohort} ({week})"),
            format!(
                "Dear organizer,\n\nThe summary of cohort {cohort} for week {week}.\n\nProjects per stage:\n{states}\n\n{late}\n\n{soon}\n\nSee the cohort's progress: jejak cohort progress {cohort}"
            ),
        ),
    }
}

/// A mentor's daily digest of `items` waiting in their inbox, in Indonesian.
pub fn digest(items: &[Facts]) -> Text {
    digest_in(Lang::Id, items)
}

/// A mentor's daily digest of `items` waiting in their inbox, in `lang`.
pub fn digest_in(lang: Lang, items: &[Facts]) -> Text {
    let lines = items
        .iter()
        .map(|f| format!("- {}", inbox_line(lang, f)))
        .collect::<Vec<_>>()
        .join("\n");
    let n = items.len();
    match lang {
        Lang::Id => Text {
            subject: format!("Ringkasan harian: {n} hal menunggu persetujuan Anda"),
            body: format!(
                "Yth. Mentor,\n\nSejak ringkasan terakhir, hal berikut masuk ke kotak masuk Anda:\n{lines}\n\nLihat kotak masuk Anda: jejak mentor inbox{}",
                closing(lang)
            ),
        },
        Lang::En => Text {
            subject: format!(
                "Daily digest: {n} {} your approval",
                if n == 1 { "item awaits" } else { "items await" }
            ),
            body: format!(
                "Dear mentor,\n\nSince the last digest, these entered your inbox:\n{lines}\n\nSee your inbox: jejak mentor inbox{}",
                closing(lang)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_the_indonesian_way() {
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 4, 15).unwrap()),
            "15 April 2026"
        );
    }

    #[test]
    fn a_returned_milestone_says_why() {
        let facts = Facts {
            what: "milestone_returned".into(),
            project_code: "pka-2026-1/001".into(),
            title: "Antrian daring".into(),
            milestone_title: "Tahap m1".into(),
            note: "Daftar hadir belum ditandatangani".into(),
            ..Facts::default()
        };
        let text = single(Kind::Decision, &facts);
        assert_eq!(text.subject, "Milestone Anda dikembalikan (pka-2026-1/001)");
        assert!(text.body.contains("Daftar hadir belum ditandatangani"));
        assert!(text.body.contains("\"Tahap m1\""));
    }

    #[test]
    fn every_kind_reads_in_english_too() {
        let facts = Facts {
            what: "milestone_returned".into(),
            project_code: "pka-2026-1/001".into(),
            title: "Antrian daring".into(),
            milestone_title: "Tahap m1".into(),
            horizon: "medium".into(),
            due: NaiveDate::from_ymd_opt(2026, 12, 1),
            note: "Daftar hadir belum ditandatangani".into(),
            ..Facts::default()
        };
        for kind in Kind::ALL {
            let (id, en) = (single(kind, &facts), single_in(Lang::En, kind, &facts));
            assert_ne!(id.subject, en.subject, "{kind:?}");
            assert!(en.body.starts_with("Dear "), "{kind:?}: {}", en.body);
            assert!(en.body.contains("jejak me contact"), "{kind:?}");
        }
        let en = single_in(Lang::En, Kind::DueSoon, &facts);
        assert_eq!(
            en.subject,
            "Reminder: a milestone falls due on 1 December 2026 (pka-2026-1/001)"
        );
        assert!(en.body.contains("medium-term"));
        let digest = digest_in(Lang::En, &[facts.clone(), facts]);
        assert_eq!(digest.subject, "Daily digest: 2 items await your approval");
    }
}
