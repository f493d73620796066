//! The portal in a real browser (headless Chromium over WebDriver, one
//! browser session for the file): a mentor signs in by link, opens an item
//! and returns it with a reason; the participant, on a phone-sized screen,
//! sees the reason and uploads evidence; the mentor's open inbox shows the
//! new item live and the mentor approves it. No page logs a console error
//! or scrolls sideways on a phone; screenshots go to
//! `target/portal-screenshots/` for review.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them); without them the test says so, and fails under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use fantoccini::{Client, ClientBuilder, Locator};
use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::TestDb;
use serde_json::json;

use super::portal::{link, spawn_portal};
use super::{People, file, project_id};

/// A chromedriver of our own on a free port, ended with the test.
struct Driver {
    url: String,
    _child: tokio::process::Child,
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

impl Driver {
    /// The driver, or `None` (said loudly; a failure under `CI=true`)
    /// when Chromium's driver is not installed.
    async fn start() -> Option<Self> {
        let Some(program) = find_program(&["chromedriver"]) else {
            let why = "chromium-driver is not installed (apt-get install chromium chromium-driver; .ci/run does): the portal's browser test cannot run";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("SKIPPED: {why}");
            return None;
        };
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let mut child = tokio::process::Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        // Ready when it says so on its standard output.
        let out = child.stdout.take().expect("its output");
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(out));
        loop {
            match lines.next_line().await {
                Ok(Some(line)) if line.contains("started successfully") => break,
                Ok(Some(_)) => {}
                other => panic!("chromedriver did not start on {url}: {other:?}"),
            }
        }
        // Keep reading its output, so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Some(Self { url, _child: child })
    }

    async fn browser(&self) -> Client {
        let mut options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,900"
            ]
        });
        if let Some(chromium) = find_program(&["chromium", "chromium-browser"]) {
            options["binary"] = json!(chromium);
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": { "browser": "ALL" }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object")
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a browser session")
    }

    /// What the pages logged to the console since the last look, as
    /// `level: message`, without the browser's own chatter.
    async fn console_errors(&self, browser: &Client) -> Vec<String> {
        let session = browser.session_id().await.unwrap().unwrap();
        let text = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.url))
            .header("content-type", "application/json")
            .body(json!({ "type": "browser" }).to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        answer["value"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| format!("{}: {}", e["level"], e["message"]))
            .collect()
    }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/portal-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// The page fits the window's width: nothing to scroll sideways.
async fn fits(browser: &Client, what: &str) {
    let wide = browser
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        wide.as_i64().unwrap_or(0) <= 0,
        "{what} scrolls sideways by {wide} px"
    );
}

/// Clicks the element `locator` finds (there must be one).
async fn click(browser: &Client, locator: Locator<'_>) {
    browser.find(locator).await.unwrap().click().await.unwrap();
}

async fn clean_console(driver: &Driver, browser: &Client, step: &str) {
    let errors = driver.console_errors(browser).await;
    assert!(errors.is_empty(), "{step}: the console says {errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_returns_evidence_the_participant_sends_again_and_the_mentor_approves_it_live() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let db = TestDb::sqlite();
    let (app, dir) = super::evidence::app_with_folder(&db).await;
    let people = People::of(&app);
    super::evidence::in_workplace(&app, &people).await;
    app.projects(&people.participant)
        .submit_evidence(pb::SubmitEvidenceRequest {
            request_id: "first-evidence".into(),
            project_id: project_id(),
            milestone_id: "m1".into(),
            attachments: vec![file("notulen-rapat.pdf")],
            note: "Notulen rapat pertama tim efektif".into(),
            expected_version: None,
        })
        .await
        .unwrap();
    let portal = spawn_portal(&app).await;
    let port = portal.addr.port();
    // Two host names, two cookie jars: the mentor and the participant
    // each in a window of the same browser.
    let mentor_site = format!("http://127.0.0.1:{port}");
    let participant_site = format!("http://localhost:{port}");
    let browser = driver.browser().await;

    // The mentor, at a desktop's width, signs in by link.
    browser.set_window_size(1280, 900).await.unwrap();
    let code = link(&app, Role::Mentor, "mentor-1").token;
    browser
        .goto(&format!("{mentor_site}/masuk?kode={code}"))
        .await
        .unwrap();
    click(&browser, Locator::Id("masuk")).await;
    let item = browser
        .wait()
        .for_element(Locator::Css("#kotak li a"))
        .await
        .unwrap();
    assert!(item.text().await.unwrap().contains("Tahap m1"));
    shot(&browser, "mentor-inbox-desktop").await;
    clean_console(&driver, &browser, "the mentor's inbox").await;

    // Opens the item: the milestone with its evidence; returns it with a reason.
    item.click().await.unwrap();
    let reason = browser
        .wait()
        .for_element(Locator::Id("alasan"))
        .await
        .unwrap();
    let evidence = browser.find(Locator::Css(".submission")).await.unwrap();
    assert!(evidence.text().await.unwrap().contains("notulen-rapat.pdf"));
    reason
        .send_keys("Lampirkan juga daftar hadir rapat")
        .await
        .unwrap();
    shot(&browser, "mentor-item-desktop").await;
    click(&browser, Locator::Id("kembalikan")).await;
    let notice = browser
        .wait()
        .for_element(Locator::Css(".notice"))
        .await
        .unwrap();
    assert!(notice.text().await.unwrap().contains("Dikembalikan"));
    // The inbox stays open, following new items.
    let mentor_window = browser.window().await.unwrap();
    clean_console(&driver, &browser, "returning the milestone").await;

    // The participant, on a phone-sized screen, signs in by their link.
    let window = browser.new_window(false).await.unwrap();
    browser.switch_to_window(window.handle).await.unwrap();
    browser.set_window_size(390, 844).await.unwrap();
    let code = link(&app, Role::Participant, super::NIP).token;
    browser
        .goto(&format!("{participant_site}/masuk?kode={code}"))
        .await
        .unwrap();
    click(&browser, Locator::Id("masuk")).await;
    let why = browser
        .wait()
        .for_element(Locator::Css("#tonggak-m1 .alasan"))
        .await
        .unwrap();
    assert!(
        why.text()
            .await
            .unwrap()
            .contains("Lampirkan juga daftar hadir rapat")
    );
    fits(&browser, "the participant's project on a phone").await;
    shot(&browser, "participant-project-phone").await;

    // Uploads the evidence by the form.
    let pdf = dir.path().join("daftar-hadir.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n% daftar hadir rapat tim efektif\n%%EOF\n").unwrap();
    browser
        .find(Locator::Id("berkas-m1"))
        .await
        .unwrap()
        .send_keys(&pdf.display().to_string())
        .await
        .unwrap();
    click(&browser, Locator::Css("#tonggak-m1 form.upload button")).await;
    let sent = browser
        .wait()
        .for_element(Locator::Css(".notice"))
        .await
        .unwrap();
    assert!(sent.text().await.unwrap().contains("Bukti terkirim"));
    let card = browser.find(Locator::Id("tonggak-m1")).await.unwrap();
    assert!(card.text().await.unwrap().contains("daftar-hadir.pdf"));
    fits(&browser, "the project after the upload, on a phone").await;
    shot(&browser, "participant-sent-phone").await;
    clean_console(&driver, &browser, "the participant's upload").await;

    // The mentor's open inbox has the new item, live.
    browser.switch_to_window(mentor_window).await.unwrap();
    let live = browser
        .wait()
        .for_element(Locator::Css(
            "#kotak li[id^='item-milestone_evidence-'][id$='-m1'] a",
        ))
        .await
        .unwrap();
    shot(&browser, "mentor-inbox-live-desktop").await;
    live.click().await.unwrap();
    let files = browser
        .wait()
        .for_element(Locator::Css(".submission:last-of-type"))
        .await
        .unwrap();
    assert!(files.text().await.unwrap().contains("daftar-hadir.pdf"));
    click(&browser, Locator::Id("setujui")).await;
    let done = browser
        .wait()
        .for_element(Locator::Css(".notice"))
        .await
        .unwrap();
    assert!(done.text().await.unwrap().contains("Disetujui"));
    // And on a phone.
    browser.set_window_size(390, 844).await.unwrap();
    fits(&browser, "the mentor's inbox on a phone").await;
    shot(&browser, "mentor-inbox-phone").await;
    clean_console(&driver, &browser, "approving the milestone").await;

    // The innovation office's city, at both widths.
    app.innovations(&people.brida)
        .register_innovation(super::refusals::register("inv-1"))
        .await
        .unwrap();
    let registered = app
        .innovations(&people.brida)
        .register_innovation(pb::RegisterInnovationRequest {
            source: pb::Source::Community as i32,
            ..super::refusals::register("inv-2")
        })
        .await
        .unwrap()
        .into_inner();
    let code = link(&app, Role::BridaOfficer, "brida-1").token;
    browser
        .goto(&format!("{mentor_site}/masuk?kode={code}"))
        .await
        .unwrap();
    click(&browser, Locator::Id("masuk")).await;
    browser
        .wait()
        .for_element(Locator::Id("lorenz"))
        .await
        .unwrap();
    browser
        .find(Locator::Id("tren-grafik"))
        .await
        .expect("the trend by year is drawn");
    // The filter form narrows the figures to the statistics RPC's with the same filter.
    browser
        .find(Locator::Id("f-sumber"))
        .await
        .unwrap()
        .select_by_value("health_competition")
        .await
        .unwrap();
    click(&browser, Locator::Css("#saring button[type='submit']")).await;
    browser
        .wait()
        .for_element(Locator::Id("tersaring"))
        .await
        .unwrap();
    let narrowed = app
        .innovations(&people.brida)
        .get_statistics(pb::GetStatisticsRequest {
            source: pb::Source::HealthCompetition as i32,
            min_position: registered.position,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let total = browser.find(Locator::Id("jumlah")).await.unwrap();
    assert_eq!(total.text().await.unwrap(), narrowed.total.to_string());
    assert_eq!(narrowed.total, 1, "one of the two is the puskesmas'");
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("sumber=health_competition"),
        "the URL carries the filter"
    );
    fits(&browser, "the city's figures on a phone").await;
    shot(&browser, "city-phone").await;
    browser.set_window_size(1280, 900).await.unwrap();
    shot(&browser, "city-desktop").await;
    clean_console(&driver, &browser, "the city's figures").await;

    let approved = app
        .projects(&people.mentor)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let m1 = approved.milestones.iter().find(|m| m.id == "m1").unwrap();
    assert_eq!(m1.status, pb::MilestoneStatus::Approved as i32);

    browser.close().await.unwrap();
    drop(portal);
    app.stop().await;
    db.cleanup().await;
}
