//! The reports downloaded from the portal (ADR 0035): the register (also
//! narrowed by the city page's filter), the IID list of a year and a
//! cohort's recap, as `.xlsx` (read back with calamine) and `.csv`
//! (parsed), each sent as a named attachment that is not cached, with the
//! rows the RPCs give; a participant and a visitor without a session are
//! refused.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::Reader as _;
use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::app::{TestApp, spawn_app};
use jejak_tests::{TestDb, on_both_backends};
use jejak_web::reports::{self, Setting};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE};

use super::portal::{link, signed_in, spawn_portal};
use super::*;

on_both_backends!(the_portal_downloads_each_report_with_the_rpcs_rows);

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

struct Download {
    status: StatusCode,
    kind: String,
    disposition: String,
    cache: String,
    bytes: Vec<u8>,
}

async fn download(base: &str, path: &str, session: &str) -> Download {
    let answer = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header(COOKIE, format!("jejak_sesi={session}"))
        .send()
        .await
        .unwrap();
    let header = |name| {
        answer
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    Download {
        status: answer.status(),
        kind: header(CONTENT_TYPE),
        disposition: header(CONTENT_DISPOSITION),
        cache: header(CACHE_CONTROL),
        bytes: answer.bytes().await.unwrap().to_vec(),
    }
}

/// Every sheet of a workbook: name → rows of text.
fn sheets(bytes: &[u8]) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut book = calamine::Xlsx::new(Cursor::new(bytes.to_vec())).expect("a workbook");
    let mut out = BTreeMap::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).unwrap();
        out.insert(
            name,
            range
                .rows()
                .map(|row| row.iter().map(ToString::to_string).collect())
                .collect(),
        );
    }
    out
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The register as the RPCs give it, built as the CLI builds it.
async fn register_by_rpc(
    app: &TestApp,
    token: &str,
    request: pb::GetStatisticsRequest,
    keep: impl Fn(&pb::InnovationEntry) -> bool,
) -> Vec<reports::Sheet> {
    let stats = app
        .innovations(token)
        .get_statistics(request)
        .await
        .unwrap()
        .into_inner();
    let listed = app
        .innovations(token)
        .list_innovations(pb::ListInnovationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .innovations;
    let mut details = Vec::new();
    for e in listed
        .iter()
        .filter(|e| e.region == stats.region && keep(e))
    {
        details.push(
            app.innovations(token)
                .get_innovation_detail(pb::GetInnovationRequest {
                    innovation_id: e.innovation_id.clone(),
                    min_position: 0,
                })
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let names = BTreeMap::new();
    reports::register(
        &details,
        &stats,
        &Setting {
            lang: jejak_web::words::Lang::Id,
            zone: chrono_tz::Asia::Jakarta,
            names: &names,
        },
    )
}

async fn the_portal_downloads_each_report_with_the_rpcs_rows(db: &TestDb) {
    let app = spawn_app(db).await;
    let people = People::of(&app);
    super::proposed(&app, &people).await;
    for (id, source) in [
        ("inv-1", pb::Source::HealthCompetition),
        ("inv-2", pb::Source::Community),
    ] {
        app.innovations(&people.brida)
            .register_innovation(pb::RegisterInnovationRequest {
                name: format!("Inovasi {id}"),
                source: source as i32,
                ..super::refusals::register(id)
            })
            .await
            .unwrap();
    }
    let portal = spawn_portal(&app).await;
    let base = format!("http://{}", portal.addr);
    let brida = signed_in(&base, &link(&app, Role::BridaOfficer, "brida-1").token).await;

    // The register as a workbook: a summary, every innovation, one per OPD.
    let got = download(&base, "/laporan/register", &brida).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.kind, XLSX);
    assert_eq!(
        got.disposition,
        "attachment; filename=\"register-inovasi.xlsx\""
    );
    assert_eq!(got.cache, "no-store");
    let book = sheets(&got.bytes);
    let expected = register_by_rpc(
        &app,
        &people.brida,
        pb::GetStatisticsRequest::default(),
        |_| true,
    )
    .await;
    assert_eq!(
        book.keys().cloned().collect::<Vec<_>>(),
        {
            let mut names: Vec<String> = expected.iter().map(|s| s.name.clone()).collect();
            names.sort();
            names
        },
        "the sheets the RPCs' answers make"
    );
    let all = &book[reports::ALL];
    assert_eq!(all.len(), 3, "a header and two innovations: {all:?}");
    assert_eq!(
        all.iter().skip(1).map(|r| r[0].clone()).collect::<Vec<_>>(),
        ["Inovasi inv-1", "Inovasi inv-2"]
    );
    // As CSV: the same bytes as the rows the RPCs give, built as the CLI builds them.
    let got = download(&base, "/laporan/register?format=csv", &brida).await;
    assert_eq!(
        (got.status, got.kind.as_str(), got.cache.as_str()),
        (StatusCode::OK, "text/csv; charset=utf-8", "no-store")
    );
    assert_eq!(
        got.disposition,
        "attachment; filename=\"register-inovasi.csv\""
    );
    let main = reports::main_table(&expected).unwrap();
    assert_eq!(got.bytes, reports::csv(main).unwrap());
    assert_eq!(
        csv_rows(&got.bytes),
        *all,
        "the CSV holds the workbook's table"
    );

    // Narrowed as the city page is: only the puskesmas' innovation.
    let got = download(
        &base,
        "/laporan/register?format=csv&sumber=health_competition",
        &brida,
    )
    .await;
    let narrowed = register_by_rpc(
        &app,
        &people.brida,
        pb::GetStatisticsRequest {
            source: pb::Source::HealthCompetition as i32,
            ..Default::default()
        },
        |e| e.source == pb::Source::HealthCompetition as i32,
    )
    .await;
    assert_eq!(
        got.bytes,
        reports::csv(reports::main_table(&narrowed).unwrap()).unwrap()
    );
    assert_eq!(csv_rows(&got.bytes).len(), 2, "a header and one innovation");
    let (page_status, page) = {
        let answer = reqwest::Client::new()
            .get(format!("{base}/kota?sumber=health_competition"))
            .header(COOKIE, format!("jejak_sesi={brida}"))
            .send()
            .await
            .unwrap();
        (answer.status(), answer.text().await.unwrap())
    };
    assert_eq!(page_status, StatusCode::OK, "{page}");
    assert!(
        page.contains("href=\"/laporan/register?sumber=health_competition\""),
        "the filtered page offers the register with its filter: {page}"
    );

    // The IID list of 2026: both innovations, registered this year.
    let got = download(&base, "/laporan/iid?tahun=2026", &brida).await;
    assert_eq!((got.status, got.kind.as_str()), (StatusCode::OK, XLSX));
    assert_eq!(got.disposition, "attachment; filename=\"iid-2026.xlsx\"");
    let book = sheets(&got.bytes);
    assert_eq!(book["IID 2026"].len(), 3, "{book:?}");
    let got = download(&base, "/laporan/iid?tahun=2025&format=csv", &brida).await;
    assert_eq!(csv_rows(&got.bytes).len(), 1, "only the header for 2025");
    let got = download(&base, "/laporan/iid?tahun=dua", &brida).await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The cohort's recap for its organizer.
    let organizer = signed_in(&base, &link(&app, Role::Organizer, "organizer-1").token).await;
    let path = format!("/laporan/rekap?angkatan={COHORT}");
    let got = download(&base, &path, &organizer).await;
    assert_eq!((got.status, got.kind.as_str()), (StatusCode::OK, XLSX));
    assert_eq!(
        got.disposition,
        format!("attachment; filename=\"rekap-{COHORT}.xlsx\"")
    );
    assert_eq!(got.cache, "no-store");
    let projects = app
        .projects(&people.organizer)
        .list_projects(pb::ListProjectsRequest {
            cohort_id: COHORT.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .projects;
    let book = sheets(&got.bytes);
    let recap = &book[&format!("Rekap {COHORT}")];
    assert_eq!(recap.len(), projects.len() + 1);
    assert_eq!(
        (
            recap[1][0].as_str(),
            recap[1][1].as_str(),
            recap[1][2].as_str()
        ),
        (
            projects[0].code.as_str(),
            projects[0].participant_name.as_str(),
            projects[0].title.as_str()
        )
    );
    let got = download(&base, &format!("{path}&format=csv"), &organizer).await;
    assert_eq!(csv_rows(&got.bytes), *recap);

    // A participant is refused each report; without a session, nothing.
    let participant = signed_in(&base, &link(&app, Role::Participant, NIP).token).await;
    for path in [
        "/laporan/register".to_owned(),
        "/laporan/iid?tahun=2026".to_owned(),
        path.clone(),
    ] {
        let got = download(&base, &path, &participant).await;
        assert_eq!(got.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!got.kind.contains("spreadsheet"), "{path}");
        let got = download(&base, &path, "no-session").await;
        assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    drop(portal);
    app.stop().await;
}
