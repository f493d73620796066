//! The innovation office's city at a glance, from the service's
//! GetStatistics alone (so every figure equals the RPC's): innovations per
//! OPD and stage as a heat map, sources, OPDs without innovation, the
//! unevenness (the RPC's Gini, with its Lorenz curve drawn as SVG on the
//! server from the same per-OPD counts), dormant innovations and the most
//! replicated ones, each named by the service's GetInnovation.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jejak_proto::v1 as pb;
use jejak_proto::v1::innovations_server::Innovations as _;
use maud::{Markup, PreEscaped, html};

use crate::Portal;
use crate::layout;
use crate::session::{Session, Visitor, refused, signed_in};

/// How many dormant innovations the page names; the rest are counted.
const DORMANT_LISTED: usize = 50;

/// The names of the innovations `ids`, each read by the service's
/// GetInnovation as the visitor, at once. One they may not read, or that
/// cannot be read now, is left out: the page shows its id.
async fn names(portal: &Portal, session: &Session, ids: &[&str]) -> HashMap<String, String> {
    let reads = ids.iter().map(|id| async move {
        let request = session.request(
            portal,
            pb::GetInnovationRequest {
                innovation_id: (*id).to_owned(),
                min_position: 0,
            },
        );
        let entry = portal
            .app()
            .get_innovation(request)
            .await
            .ok()?
            .into_inner();
        Some(((*id).to_owned(), format!("{} ({})", entry.name, entry.opd)))
    });
    futures::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect()
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

/// `GET /kota`: the city's statistics.
pub(crate) async fn city(State(portal): State<Portal>, mut visitor: Visitor) -> Response {
    let session = match signed_in(&visitor) {
        Ok(session) => session.clone(),
        Err(page) => return *page,
    };
    let answer = portal
        .app()
        .get_statistics(session.request(&portal, pb::GetStatisticsRequest::default()))
        .await;
    let stats = match answer {
        Ok(r) => r.into_inner(),
        Err(status) => return refused(&portal, &mut visitor, status).await,
    };
    let listed: Vec<&str> = stats
        .dormant
        .iter()
        .take(DORMANT_LISTED)
        .chain(stats.most_replicated.iter().map(|r| &r.innovation_id))
        .map(String::as_str)
        .collect();
    let named = names(&portal, &session, &listed).await;
    let name = |id: &str| named.get(id).cloned().unwrap_or_else(|| id.to_owned());
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
    let body = html! {
        h1 { (visitor.t("Inovasi daerah", "Regional innovations")) " · " (stats.region) }
        dl.facts {
            dt { (visitor.t("jumlah inovasi", "innovations")) } dd #jumlah { (stats.total) }
            @for stage in &stages {
                dt { (lang.stage(stage)) } dd { (stats.by_stage.get(stage).copied().unwrap_or(0)) }
            }
            dt { (visitor.t("OPD berinovasi", "OPDs with innovation")) }
            dd #cakupan { (format!("{:.1}", stats.coverage * 100.0)) " %" }
            dt { (visitor.t("ketimpangan (Gini)", "unevenness (Gini)")) } dd #gini { (format!("{:.3}", stats.gini)) }
        }
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
        ul #vakum { @for d in stats.dormant.iter().take(DORMANT_LISTED) { li { (name(d)) } } }
        @if stats.dormant.len() > DORMANT_LISTED {
            p { (visitor.t("dan ", "and ")) (stats.dormant.len() - DORMANT_LISTED) (visitor.t(" lainnya", " more")) }
        }
        h2 { (visitor.t("Paling banyak direplikasi", "Most replicated")) }
        @if stats.most_replicated.is_empty() { p { "—" } }
        ul #replikasi {
            @for r in &stats.most_replicated {
                li { (name(&r.innovation_id)) ": " (r.adopters) " " (visitor.t("pengadopsi", "adopters")) }
            }
        }
        p.hint { (PreEscaped(visitor.t(
            "Laporan (register, IID) dibuat dengan <code>jejak report</code>.",
            "Reports (the register, the IID list) are made with <code>jejak report</code>."
        ))) }
    };
    visitor.finish(layout::page(
        &visitor,
        StatusCode::OK,
        visitor.t("Inovasi daerah", "Regional innovations"),
        body,
    ))
}
