//! What people read: every message's subject and text, in Indonesian, in
//! this one module (plain format strings, ADR 0032).
//!
//! A message names the project by its code and title and the milestone by
//! its title; never a person's name or NIP (the outbox holds nothing
//! personal, and the recipient knows who they are).

use chrono::{Datelike as _, NaiveDate};
use jejak_engine::notifications::{Facts, Kind, Late};

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

fn due(facts: &Facts) -> String {
    facts.due.map(date).unwrap_or_else(|| "-".into())
}

fn horizon(facts: &Facts) -> &'static str {
    match facts.horizon.as_str() {
        "medium" => "jangka menengah",
        "long" => "jangka panjang",
        _ => "jangka pendek",
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

const CLOSING: &str = "\n\n--\nPesan ini dikirim oleh jejak. Atur alamat dan preferensi pemberitahuan Anda dengan `jejak me contact`.";

/// One inbox item, as a line of a mentor's digest.
fn inbox_line(facts: &Facts) -> String {
    match facts.what.as_str() {
        "evidence" => format!(
            "Bukti capaian \"{}\" pada {} menunggu persetujuan",
            facts.milestone_title,
            project(facts)
        ),
        "plan_change" => format!(
            "Perubahan rencana milestone pada {} menunggu persetujuan",
            project(facts)
        ),
        "adoption" => format!(
            "{} menunggu pengesahan keberlanjutan perubahan (adopsi)",
            project(facts)
        ),
        _ => format!(
            "Rancangan proyek perubahan {} menunggu persetujuan area perubahan dan rencana aksi",
            project(facts)
        ),
    }
}

/// The subject and text of one message of `kind`.
pub fn single(kind: Kind, facts: &Facts) -> Text {
    let (subject, body) = match kind {
        Kind::Inbox => (
            match facts.what.as_str() {
                "evidence" => format!(
                    "Bukti capaian menunggu persetujuan Anda ({})",
                    facts.project_code
                ),
                "plan_change" => format!(
                    "Perubahan rencana menunggu persetujuan Anda ({})",
                    facts.project_code
                ),
                "adoption" => format!("Pengesahan adopsi menunggu Anda ({})", facts.project_code),
                _ => format!(
                    "Rancangan proyek perubahan menunggu persetujuan Anda ({})",
                    facts.project_code
                ),
            },
            format!(
                "Yth. Mentor,\n\n{}.{}\n\nLihat kotak masuk Anda: jejak mentor inbox",
                inbox_line(facts),
                note(
                    "Alasan peserta",
                    if facts.what == "plan_change" {
                        &facts.note
                    } else {
                        ""
                    }
                )
            ),
        ),
        Kind::Decision => decision(facts),
        Kind::Seminar => seminar(facts),
        Kind::DueSoon => (
            format!(
                "Pengingat: milestone jatuh tempo {} ({})",
                due(facts),
                facts.project_code
            ),
            format!(
                "Yth. Bapak/Ibu,\n\nMilestone {} \"{}\" pada proyek perubahan {} jatuh tempo pada {} dan belum disetujui mentor.\n\nKirim bukti capaiannya sebelum tanggal tersebut: jejak project evidence {} {} --attach BERKAS",
                horizon(facts),
                facts.milestone_title,
                project(facts),
                due(facts),
                facts.project_code,
                facts.milestone_id,
            ),
        ),
        Kind::Overdue => (
            format!(
                "Milestone terlambat: {} ({})",
                facts.milestone_title, facts.project_code
            ),
            format!(
                "Yth. Bapak/Ibu,\n\nMilestone {} \"{}\" pada proyek perubahan {} telah melewati tenggat {} tanpa persetujuan mentor.\n\nPerubahan yang dirancang hanya bertahan bila ditindaklanjuti: kirim bukti capaiannya, atau ajukan perubahan rencana bila jadwalnya berubah (jejak project change-plan).",
                horizon(facts),
                facts.milestone_title,
                project(facts),
                due(facts),
            ),
        ),
        Kind::WeeklySummary => weekly(facts),
    };
    Text {
        subject,
        body: format!("{body}{CLOSING}"),
    }
}

fn decision(facts: &Facts) -> (String, String) {
    let (subject, what, label) = match facts.what.as_str() {
        "action_plan_approved" => (
            "Rencana aksi Anda disetujui",
            "Mentor menyetujui rencana aksi proyek perubahan",
            "Catatan mentor",
        ),
        "action_plan_returned" => (
            "Rencana aksi Anda dikembalikan",
            "Mentor mengembalikan rencana aksi proyek perubahan",
            "Alasan",
        ),
        "milestone_approved" => (
            "Milestone Anda disetujui",
            "Mentor menyetujui bukti capaian milestone",
            "Catatan mentor",
        ),
        "milestone_returned" => (
            "Milestone Anda dikembalikan",
            "Mentor mengembalikan bukti capaian milestone",
            "Alasan",
        ),
        "plan_change_approved" => (
            "Perubahan rencana Anda disetujui",
            "Mentor menyetujui perubahan rencana milestone",
            "Catatan mentor",
        ),
        _ => (
            "Perubahan rencana Anda dikembalikan",
            "Mentor mengembalikan perubahan rencana milestone",
            "Alasan",
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
            "Yth. Peserta,\n\n{what}{milestone} pada {}.{}\n\nLihat proyek Anda: jejak project show {}",
            project(facts),
            note(label, &facts.note),
            facts.project_code
        ),
    )
}

fn seminar(facts: &Facts) -> (String, String) {
    let corrected = if facts.corrected { " (koreksi)" } else { "" };
    if facts.what == "final_seminar" {
        let result = if facts.accepted == Some(true) {
            "lulus"
        } else {
            "belum lulus"
        };
        (
            format!(
                "Hasil seminar akhir{corrected}: {result} ({})",
                facts.project_code
            ),
            format!(
                "Yth. Peserta,\n\nPenguji mencatat hasil seminar akhir{corrected} proyek perubahan {}: nilai {}, {result}.{}\n\nLihat proyek Anda: jejak project show {}",
                project(facts),
                facts.score.unwrap_or_default(),
                note("Catatan penguji", &facts.note),
                facts.project_code
            ),
        )
    } else {
        let result = if facts.accepted == Some(true) {
            "diterima"
        } else {
            "perlu diperbaiki"
        };
        (
            format!(
                "Hasil seminar rancangan{corrected}: {result} ({})",
                facts.project_code
            ),
            format!(
                "Yth. Peserta,\n\nPenguji mencatat hasil seminar rancangan{corrected} proyek perubahan {}: {result}.{}\n\nLihat proyek Anda: jejak project show {}",
                project(facts),
                note("Catatan penguji", &facts.note),
                facts.project_code
            ),
        )
    }
}

fn state(code: &str) -> &str {
    match code {
        "proposed" => "rancangan",
        "piloted" => "uji coba (laboratorium kepemimpinan)",
        "adopted" => "diadopsi",
        "replicated" => "direplikasi",
        "withdrawn" => "mengundurkan diri",
        "deferred" => "ditunda",
        other => other,
    }
}

fn late_lines(list: &[Late]) -> String {
    list.iter()
        .map(|l| {
            let milestones: Vec<String> = l
                .milestones
                .iter()
                .map(|(title, day)| format!("\"{title}\" ({})", date(*day)))
                .collect();
            format!("- {}: {}", l.code, milestones.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn weekly(facts: &Facts) -> (String, String) {
    let states = facts
        .states
        .iter()
        .map(|(s, n)| format!("- {}: {n}", state(s)))
        .collect::<Vec<_>>()
        .join("\n");
    let late = if facts.late.is_empty() {
        "Tidak ada milestone yang terlambat.".to_owned()
    } else {
        format!("Milestone terlambat:\n{}", late_lines(&facts.late))
    };
    let soon = if facts.due_this_week.is_empty() {
        "Tidak ada milestone yang jatuh tempo tujuh hari ke depan.".to_owned()
    } else {
        format!(
            "Jatuh tempo tujuh hari ke depan:\n{}",
            late_lines(&facts.due_this_week)
        )
    };
    (
        format!(
            "Ringkasan mingguan angkatan {} ({})",
            facts.cohort, facts.week
        ),
        format!(
            "Yth. Penyelenggara,\n\nRingkasan angkatan {} untuk pekan {}.\n\nProyek per tahap:\n{states}\n\n{late}\n\n{soon}\n\nLihat kemajuan angkatan: jejak cohort progress {}",
            facts.cohort, facts.week, facts.cohort
        ),
    )
}

/// A mentor's daily digest of `items` waiting in their inbox.
pub fn digest(items: &[Facts]) -> Text {
    let lines = items
        .iter()
        .map(|f| format!("- {}", inbox_line(f)))
        .collect::<Vec<_>>()
        .join("\n");
    Text {
        subject: format!(
            "Ringkasan harian: {} hal menunggu persetujuan Anda",
            items.len()
        ),
        body: format!(
            "Yth. Mentor,\n\nSejak ringkasan terakhir, hal berikut masuk ke kotak masuk Anda:\n{lines}\n\nLihat kotak masuk Anda: jejak mentor inbox{CLOSING}"
        ),
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
}
