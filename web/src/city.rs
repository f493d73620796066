//! The innovation office's city at a glance, from the service's
//! GetStatistics alone (so every figure equals the RPC's): innovations per
//! OPD and stage as a heat map, sources, OPDs without innovation, the
//! unevenness (the RPC's Gini, with its Lorenz curve drawn as SVG on the
//! server from the same per-OPD counts), the trend by year (SVG lines and
//! the same figures as a table), dormant innovations and the most
//! replicated ones, named by the answer itself. A plain GET form narrows
//! the figures (year or range registered, source, sector, digital, OPDs),
//! and the URL carries the filter so it can be shared (ADR 0035).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jejak_proto::v1 as pb;
use jejak_proto::v1::innovations_server::Innovations as _;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use crate::Portal;
use crate::layout;
use crate::session::{Visitor, refused, signed_in};
use crate::words::Lang;

/// How many dormant innovations the page names; the rest are counted.
const DORMANT_LISTED: u32 = 50;

/// The sources a filter may name, by code.
pub(crate) const SOURCES: [&str; 7] = [
    "change_project",
    "health_competition",
    "innovation_lab",
    "opd_initiative",
    "community",
    "dprd",
    "regional_head",
];

/// The city page's filter as the URL carries it: `tahun` (or `tahun` to
/// `sampai`), `sumber` (a source's code), `urusan`, `digital` (`ya`,
/// `tidak`), `opd` (codes, separated by commas or spaces).
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct CityFilter {
    #[serde(default)]
    pub tahun: String,
    #[serde(default)]
    pub sampai: String,
    #[serde(default)]
    pub sumber: String,
    #[serde(default)]
    pub urusan: String,
    #[serde(default)]
    pub digital: String,
    #[serde(default)]
    pub opd: String,
}

/// Why a filter cannot be asked for, in both languages.
pub(crate) struct BadFilter(pub String, pub String);

fn year_of(text: &str, id: &str, en: &str) -> Result<i32, BadFilter> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<i32>().map_err(|_| {
        BadFilter(
            format!("{id}: «{text}» bukan tahun; tulis tahun dengan angka, mis. 2025"),
            format!("{en}: «{text}» is not a year; write it in digits, e.g. 2025"),
        )
    })
}

impl CityFilter {
    /// Whether it narrows nothing.
    pub(crate) fn is_empty(&self) -> bool {
        [
            &self.tahun,
            &self.sampai,
            &self.sumber,
            &self.urusan,
            &self.digital,
            &self.opd,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }

    /// The OPD codes named.
    fn opds(&self) -> Vec<String> {
        self.opd
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The statistics request it asks for; the service checks the values
    /// themselves (a year out of range, an OPD code that is not one).
    pub(crate) fn request(&self) -> Result<pb::GetStatisticsRequest, BadFilter> {
        let source = match self.sumber.trim() {
            "" => pb::Source::Unspecified,
            code if SOURCES.contains(&code) => {
                pb::Source::from_str_name(&format!("SOURCE_{}", code.to_ascii_uppercase()))
                    .unwrap_or(pb::Source::Unspecified)
            }
            other => {
                return Err(BadFilter(
                    format!("sumber: «{other}» tidak dikenal; pilih salah satu dari daftar"),
                    format!("source: «{other}» is not known; pick one from the list"),
                ));
            }
        };
        let digital = match self.digital.trim() {
            "" => None,
            "ya" => Some(true),
            "tidak" => Some(false),
            other => {
                return Err(BadFilter(
                    format!("digital: «{other}» harus «ya» atau «tidak»"),
                    format!("digital: «{other}» must be «ya» (yes) or «tidak» (no)"),
                ));
            }
        };
        Ok(pb::GetStatisticsRequest {
            year: year_of(&self.tahun, "tahun", "year")?,
            year_to: year_of(&self.sampai, "sampai tahun", "to year")?,
            source: source as i32,
            sector: self.urusan.trim().to_owned(),
            digital,
            only_opds: self.opds(),
            dormant_limit: DORMANT_LISTED,
            ..pb::GetStatisticsRequest::default()
        })
    }

    /// The filter as a query string (without `?`), only what is set: the
    /// shared link and the downloads carry it.
    pub(crate) fn query(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("tahun", &self.tahun),
            ("sampai", &self.sampai),
            ("sumber", &self.sumber),
            ("urusan", &self.urusan),
            ("digital", &self.digital),
            ("opd", &self.opd),
        ] {
            if !value.trim().is_empty() {
                out.append_pair(key, value.trim());
            }
        }
        out.finish()
    }
}

/// The stages in lifecycle order; others follow as the RPC names them.
const ORDER: [&str; 5] = ["proposed", "piloted", "adopted", "replicated", "dormant"];

fn source_code(source: i32) -> String {
    pb::Source::try_from(source)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("SOURCE_")
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// The Lorenz curve of `counts` (per OPD, zeros included) as SVG points
/// on a 100 × 100 square, the origin at the bottom left.
fn lorenz(counts: &[u32]) -> String {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let total: u64 = sorted.iter().map(|&c| u64::from(c)).sum();
    let n = sorted.len().max(1) as f64;
    let mut points = vec!["0,100".to_owned()];
    let mut cumulative = 0u64;
    for (i, count) in sorted.iter().enumerate() {
        cumulative += u64::from(*count);
        let x = (i + 1) as f64 / n * 100.0;
        let y = if total == 0 {
            x
        } else {
            cumulative as f64 / total as f64 * 100.0
        };
        points.push(format!("{x:.2},{:.2}", 100.0 - y));
    }
    points.join(" ")
}

fn cell(count: u32, max: u32) -> Markup {
    // Light to dark blue; white text on the dark half (contrast ≥ 4.5:1).
    let share = if max == 0 {
        0.0
    } else {
        f64::from(count) / f64::from(max)
    };
    let lightness = 97.0 - share * 67.0;
    let ink = if lightness < 55.0 {
        "#ffffff"
    } else {
        "#1b1f24"
    };
    html! {
        td style={ "background:hsl(210,70%," (format!("{lightness:.0}")) "%);color:" (ink) } { (count) }
    }
}

/// The series of the trend, in the order drawn: the answer's field, its
/// colour and dash (told apart without colour too).
const SERIES: [(&str, &str, &str); 5] = [
    ("registered", "#0b5cad", ""),
    ("piloted", "#b35900", "6 3"),
    ("adopted", "#1d7a34", "2 2"),
    ("replicated", "#6a3fa0", "8 3 2 3"),
    ("dormant", "#5c6670", "1 3"),
];

fn trend_value(t: &pb::YearTrend, series: &str) -> u32 {
    match series {
        "registered" => t.registered,
        "piloted" => t.piloted,
        "adopted" => t.adopted,
        "replicated" => t.replicated,
        "dormant" => t.dormant,
        _ => 0,
    }
}

/// The trend by year as SVG lines, one per series, on a 600 × 240 chart.
fn trend_chart(visitor: &Visitor, trend: &[pb::YearTrend]) -> Markup {
    let lang = visitor.lang;
    let (left, top, width, height) = (36.0, 10.0, 550.0, 190.0);
    let max = trend
        .iter()
        .flat_map(|t| SERIES.iter().map(|(s, ..)| trend_value(t, s)))
        .max()
        .unwrap_or(0)
        .max(1);
    let n = trend.len();
    let x = |i: usize| {
        if n <= 1 {
            left + width / 2.0
        } else {
            left + width * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: u32| top + height - height * f64::from(v) / f64::from(max);
    let label = |series: &str| -> String {
        if series == "registered" {
            visitor.t("terdaftar", "registered").to_owned()
        } else {
            lang.stage(series)
        }
    };
    html! {
        svg #tren-grafik viewBox="0 0 600 250" width="100%" role="img"
            aria-label=(visitor.t("Tren inovasi per tahun; angkanya ada di tabel berikut", "Innovations by year; the figures are in the table that follows")) {
            line x1=(left) y1=(top + height) x2=(left + width) y2=(top + height) stroke="#4a5561" stroke-width="1" {}
            line x1=(left) y1=(top) x2=(left) y2=(top + height) stroke="#4a5561" stroke-width="1" {}
            text x=(left - 4.0) y=(top + 4.0) text-anchor="end" font-size="10" { (max) }
            text x=(left - 4.0) y=(top + height) text-anchor="end" font-size="10" { "0" }
            @for (i, t) in trend.iter().enumerate() {
                text x=(format!("{:.1}", x(i))) y=(top + height + 16.0) text-anchor="middle" font-size="10" { (t.year) }
            }
            @for (series, colour, dash) in SERIES {
                @let points = trend.iter().enumerate().map(|(i, t)| format!("{:.1},{:.1}", x(i), y(trend_value(t, series)))).collect::<Vec<_>>().join(" ");
                polyline data-series=(series) points=(points) fill="none" stroke=(colour) stroke-width="2" stroke-dasharray=(dash) {}
                @for (i, t) in trend.iter().enumerate() {
                    circle cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(trend_value(t, series)))) r="2.5" fill=(colour) {
                        title { (label(series)) " " (t.year) ": " (trend_value(t, series)) }
                    }
                }
            }
        }
        ul.legend aria-hidden="true" {
            @for (series, colour, dash) in SERIES {
                li {
                    svg width="28" height="8" { line x1="0" y1="4" x2="28" y2="4" stroke=(colour) stroke-width="2" stroke-dasharray=(dash) {} }
                    " " (label(series))
                }
            }
        }
        div.scroll {
            table #tren {
                caption { (visitor.t("Per tahun: inovasi yang terdaftar, dan yang pertama kali mencapai tiap tahap", "By year: innovations registered, and those first reaching each stage")) }
                thead { tr {
                    th scope="col" { (visitor.t("tahun", "year")) }
                    @for (series, ..) in SERIES { th scope="col" { (label(series)) } }
                } }
                tbody {
                    @for t in trend {
                        tr {
                            th scope="row" { (t.year) }
                            @for (series, ..) in SERIES { td data-series=(series) { (trend_value(t, series)) } }
                        }
                    }
                }
            }
        }
    }
}

/// `query` with `format=csv` added.
fn with_format(query: &str) -> String {
    if query.is_empty() {
        "format=csv".to_owned()
    } else {
        format!("{query}&format=csv")
    }
}

/// The year the IID form offers: the trend's last year, or none.
fn default_year(stats: &pb::InnovationStatistics) -> String {
    stats
        .trend
        .last()
        .map(|t| t.year.to_string())
        .unwrap_or_default()
}

/// The filter form: a plain GET form, each field labelled.
fn filter_form(visitor: &Visitor, filter: &CityFilter) -> Markup {
    let lang = visitor.lang;
    html! {
        form #saring method="get" action="/kota" {
            fieldset {
                legend { (visitor.t("Saring angka", "Narrow the figures")) }
                p.hint { (visitor.t(
                    "Tahun terdaftar (atau rentang), sumber, urusan, digital atau bukan, OPD.",
                    "Year registered (or a range), source, sector, digital or not, OPDs."
                )) }
                label for="f-tahun" { (visitor.t("Tahun terdaftar", "Year registered")) }
                input #f-tahun type="number" name="tahun" inputmode="numeric" min="1945" max="2100" value=(filter.tahun);
                label for="f-sampai" { (visitor.t("Sampai tahun (opsional)", "To year (optional)")) }
                input #f-sampai type="number" name="sampai" inputmode="numeric" min="1945" max="2100" value=(filter.sampai);
                label for="f-sumber" { (visitor.t("Sumber", "Source")) }
                select #f-sumber name="sumber" {
                    option value="" selected[filter.sumber.is_empty()] { (visitor.t("semua", "all")) }
                    @for code in SOURCES {
                        option value=(code) selected[filter.sumber == code] { (lang.source(code)) }
                    }
                }
                label for="f-urusan" { (visitor.t("Urusan", "Sector")) }
                input #f-urusan type="text" name="urusan" value=(filter.urusan);
                label for="f-digital" { "Digital" }
                select #f-digital name="digital" {
                    option value="" selected[filter.digital.is_empty()] { (visitor.t("semua", "all")) }
                    option value="ya" selected[filter.digital == "ya"] { (visitor.t("digital", "digital")) }
                    option value="tidak" selected[filter.digital == "tidak"] { (visitor.t("bukan digital", "not digital")) }
                }
                label for="f-opd" { (visitor.t("OPD (kode, pisahkan dengan koma)", "OPDs (codes, separated by commas)")) }
                input #f-opd type="text" name="opd" value=(filter.opd);
                div.actions {
                    button type="submit" { (visitor.t("Terapkan", "Apply")) }
                    " "
                    a href="/kota" { (visitor.t("Hapus saringan", "Clear the filter")) }
                }
            }
        }
    }
}

/// `GET /kota`: the city's statistics, narrowed by the URL's filter.
pub(crate) async fn city(
    State(portal): State<Portal>,
    mut visitor: Visitor,
    Query(filter): Query<CityFilter>,
) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let title = visitor.t("Inovasi daerah", "Regional innovations");
    // A filter the page cannot ask for, or one the service refuses, shows
    // the form again with what was typed and why (nothing is lost).
    let bad = |visitor: &Visitor, why: &str| {
        let body = html! {
            h1 { (title) }
            p.refusal role="alert" { (why) }
            (filter_form(visitor, &filter))
        };
        visitor.finish(layout::page(
            visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            title,
            body,
        ))
    };
    let request = match filter.request() {
        Ok(request) => request,
        Err(BadFilter(id, en)) => {
            let why = match visitor.lang {
                Lang::Id => id,
                Lang::En => en,
            };
            return bad(&visitor, &why);
        }
    };
    let answer = portal
        .app()
        .get_statistics(session.request(&portal, request))
        .await;
    let stats = match answer {
        Ok(r) => r.into_inner(),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            return bad(&visitor, status.message());
        }
        Err(status) => return refused(&portal, &mut visitor, status).await,
    };
    let lang = visitor.lang;
    let mut stages: Vec<String> = ORDER
        .iter()
        .filter(|s| stats.by_stage.contains_key(**s))
        .map(|s| (*s).to_owned())
        .collect();
    let mut others: Vec<String> = stats
        .by_stage
        .keys()
        .filter(|k| !ORDER.contains(&k.as_str()))
        .cloned()
        .collect();
    others.sort();
    stages.extend(others);
    let max = stats
        .by_opd
        .iter()
        .flat_map(|o| o.by_stage.values().copied())
        .max()
        .unwrap_or(0);
    let mut counts: Vec<u32> = stats.by_opd.iter().map(|o| o.total).collect();
    counts.extend(
        stats
            .opds_without
            .iter()
            .filter(|o| !stats.by_opd.iter().any(|b| &b.opd == *o))
            .map(|_| 0),
    );
    let curve = lorenz(&counts);
    let query = filter.query();
    let suffix = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let body = html! {
        h1 { (title) " · " (stats.region) }
        (filter_form(&visitor, &filter))
        @if !filter.is_empty() {
            p #tersaring {
                (visitor.t("Angka di bawah ini tersaring. Tautan halaman ini menyimpan saringannya: ", "The figures below are narrowed. This page's link keeps the filter: "))
                a href={ "/kota" (suffix) } { (visitor.t("tautan untuk dibagikan", "a link to share")) }
            }
        }
        dl.facts {
            dt { (visitor.t("jumlah inovasi", "innovations")) } dd #jumlah { (stats.total) }
            @for stage in &stages {
                dt { (lang.stage(stage)) } dd { (stats.by_stage.get(stage).copied().unwrap_or(0)) }
            }
            dt { (visitor.t("OPD berinovasi", "OPDs with innovation")) }
            dd #cakupan { (format!("{:.1}", stats.coverage * 100.0)) " %" }
            dt { (visitor.t("ketimpangan (Gini)", "unevenness (Gini)")) } dd #gini { (format!("{:.3}", stats.gini)) }
        }
        h2 { (visitor.t("Tren per tahun", "Trend by year")) }
        @if stats.trend.is_empty() { p { "—" } } @else { (trend_chart(&visitor, &stats.trend)) }
        h2 { (visitor.t("Inovasi per OPD dan tahap", "Innovations per OPD and stage")) }
        div.scroll {
            table.heat #peta {
                caption { (visitor.t("Makin gelap, makin banyak inovasi.", "The darker, the more innovations.")) }
                thead { tr { th scope="col" { "OPD" } @for s in &stages { th scope="col" { (lang.stage(s)) } } th scope="col" { (visitor.t("jumlah", "total")) } } }
                tbody {
                    @for o in &stats.by_opd {
                        tr {
                            th scope="row" { (o.opd) }
                            @for s in &stages { (cell(o.by_stage.get(s).copied().unwrap_or(0), max)) }
                            td { strong { (o.total) } }
                        }
                    }
                }
            }
        }
        h2 { (visitor.t("Kurva Lorenz", "Lorenz curve")) }
        figure {
            svg #lorenz viewBox="-8 -4 116 116" width="260" height="260" role="img"
                aria-label=(visitor.t("Kurva Lorenz sebaran inovasi antar-OPD", "Lorenz curve of innovations across OPDs")) {
                rect x="0" y="0" width="100" height="100" fill="#f3f5f7" stroke="#4a5561" stroke-width="0.5" {}
                line x1="0" y1="100" x2="100" y2="0" stroke="#4a5561" stroke-dasharray="2 2" stroke-width="0.6" {}
                polyline points=(curve) fill="none" stroke="#0b5cad" stroke-width="1.6" {}
            }
            figcaption { (visitor.t(
                "Garis putus-putus: semua OPD sama banyak. Makin jauh kurva di bawahnya, makin timpang (Gini ",
                "Dashed: every OPD alike. The further the curve below it, the more uneven (Gini "
            )) (format!("{:.3}", stats.gini)) ")." }
        }
        h2 { (visitor.t("Sumber", "Sources")) }
        ul #sumber {
            @for s in &stats.by_source {
                li { (lang.source(&source_code(s.source))) ": " (s.count) " (" (format!("{:.1}", s.percent)) " %)" }
            }
        }
        h2 { (visitor.t("OPD tanpa inovasi", "OPDs without innovation")) }
        @if stats.opds_without.is_empty() { p { "—" } }
        ul #tanpa { @for o in &stats.opds_without { li { (o) } } }
        h2 { (lang.stage("dormant")) }
        @if stats.dormant.is_empty() { p { "—" } }
        ul #vakum {
            @for d in &stats.dormant_innovations {
                li { (d.name) " (" (d.opd) ")" }
            }
        }
        @let unnamed = (stats.dormant_total as usize).saturating_sub(stats.dormant_innovations.len());
        @if unnamed > 0 {
            p { (visitor.t("dan ", "and ")) (unnamed) (visitor.t(" lainnya", " more")) }
        }
        h2 { (visitor.t("Paling banyak direplikasi", "Most replicated")) }
        @if stats.most_replicated.is_empty() { p { "—" } }
        ul #replikasi {
            @for r in &stats.most_replicated {
                li { (r.name) " (" (r.opd) "): " (r.adopters) " " (visitor.t("pengadopsi", "adopters")) }
            }
        }
        h2 #laporan { (visitor.t("Laporan", "Reports")) }
        ul #unduh {
            li {
                (visitor.t("Register inovasi", "The innovation register"))
                @if !filter.is_empty() { " " (visitor.t("(tersaring seperti di atas)", "(narrowed as above)")) }
                ": "
                a href={ "/laporan/register" (suffix) } download { ".xlsx" }
                " · "
                a href={ "/laporan/register?" (with_format(&query)) } download { ".csv" }
            }
        }
        form #unduh-iid method="get" action="/laporan/iid" {
            label for="iid-tahun" { (visitor.t("Daftar IID tahun", "The IID list of the year")) }
            input #iid-tahun type="number" name="tahun" inputmode="numeric" min="1945" max="2100" required value=(default_year(&stats));
            label for="iid-format" { (visitor.t("Format", "Format")) }
            select #iid-format name="format" {
                option value="xlsx" { ".xlsx" }
                option value="csv" { ".csv" }
            }
            " "
            button type="submit" { (visitor.t("Unduh", "Download")) }
        }
        p.hint { (PreEscaped(visitor.t(
            "Laporan yang sama juga dibuat dengan <code>jejak report</code>.",
            "The same reports are also made with <code>jejak report</code>."
        ))) }
    };
    visitor.finish(layout::page(&visitor, StatusCode::OK, title, body))
}
