//! The supervisors' HTTP side: login required for everything, search finds the row,
//! play and download return the WAV bytes and are audited, bad parameters get a 4xx
//! with a sentence.

mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use base64::Engine;
use media::Leg;
use recorder::auth::{hash_password, Supervisor};
use recorder::http::{router, RecorderState};
use recorder::{CallMeta, Recorder};
use std::time::{Instant, SystemTime};
use support::*;
use tower::ServiceExt;

const USER: &str = "supervisor";
const PASSWORD: &str = "iwaki-kanri-2026";

fn basic(user: &str, pw: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
    )
}

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    auth: Option<&str>,
    json: Option<&str>,
) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(a) = auth {
        b = b.header(header::AUTHORIZATION, a);
    }
    let body = match json {
        Some(j) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(j.to_string())
        }
        None => Body::empty(),
    };
    let resp = app.clone().oneshot(b.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
        .await
        .unwrap()
        .to_vec();
    (status, headers, bytes)
}

fn header_of<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_search_play_and_download_and_every_access_is_audited() {
    let dir = scratch("http");
    let rec = Recorder::new(config(&dir)).unwrap();
    let meta = CallMeta {
        call_id: "web-1@madoguchi".into(),
        number: "0246-22-1111".into(),
        caller: "09011112222".into(),
        started_at: SystemTime::now(),
    };
    let (tap, h) = rec.start_call(meta).await.unwrap();
    h.add_operator("op-7").await.unwrap();
    for k in 0..25 {
        tap.try_send(tone_frame(Leg::A, 440.0, k, 0, Instant::now()))
            .unwrap();
    }
    let info = h.finish().await.unwrap();
    let wav = std::fs::read(rec.file_path(&info.path)).unwrap();

    let state = RecorderState::new(
        rec.clone(),
        vec![Supervisor {
            user: USER.into(),
            password_hash: hash_password(PASSWORD).unwrap(),
        }],
    );
    let app = router(state);
    let ok = basic(USER, PASSWORD);

    // Without credentials, or with wrong ones: 401 and a login prompt, for pages and API.
    for uri in [
        "/recordings",
        "/api/v1/recordings",
        &format!("/recordings/{}/download", info.id),
    ] {
        let (s, hd, _) = send(&app, "GET", uri, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(header_of(&hd, "www-authenticate")
            .unwrap()
            .starts_with("Basic"));
    }
    let (s, _, _) = send(
        &app,
        "GET",
        "/api/v1/recordings",
        Some(&basic(USER, "wrong")),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = send(
        &app,
        "POST",
        &format!("/api/v1/recordings/{}/delete", info.id),
        None,
        Some(r#"{"reason":"x"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(rec.file_path(&info.path).exists());

    // Search by each criterion finds the row; a criterion that does not match, nothing.
    let today = recorder::time::format_local(info.started_at, 9 * 3600)[..10].to_string();
    for q in [
        "number=22-1111".to_string(),
        "operator=op-7".to_string(),
        "caller=1111222".to_string(),
        format!("from={today}&to={today}"),
    ] {
        let (s, _, b) = send(
            &app,
            "GET",
            &format!("/api/v1/recordings?{q}"),
            Some(&ok),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{q}");
        let rows: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 1, "{q}: {rows}");
        assert_eq!(rows[0]["call_id"], "web-1@madoguchi");
    }
    let (_, _, b) = send(
        &app,
        "GET",
        "/api/v1/recordings?operator=op-70",
        Some(&ok),
        None,
    )
    .await;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&b)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (s, _, b) = send(
        &app,
        "GET",
        "/api/v1/recordings?from=25-11-2026",
        Some(&ok),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&b).contains("from must be a date like 2026-11-25"));

    // The Japanese pages.
    let (s, hd, b) = send(&app, "GET", "/recordings?number=0246", Some(&ok), None).await;
    let page = String::from_utf8(b).unwrap();
    assert_eq!(s, StatusCode::OK);
    assert!(header_of(&hd, "content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(
        page.contains("通話録音の検索")
            && page.contains(&format!("href=\"/recordings/{}\"", info.id)),
        "{page}"
    );
    let (s, _, b) = send(
        &app,
        "GET",
        &format!("/recordings/{}", info.id),
        Some(&ok),
        None,
    )
    .await;
    let page = String::from_utf8(b).unwrap();
    assert_eq!(s, StatusCode::OK);
    let src_at = page
        .find(&format!(
            "<audio controls preload=\"none\" src=\"/recordings/{}/play?session=",
            info.id
        ))
        .unwrap_or_else(|| panic!("no player with a session: {page}"));
    let player_src = page[src_at..]
        .split('"')
        .nth(3)
        .expect("the src attribute")
        .to_string();
    // Opening the page is not a play.
    assert!(rec
        .catalogue()
        .audit_log(Some(info.id), 10)
        .unwrap()
        .is_empty());

    // Play and download: the exact file, audio/wav, each audited with who.
    for (uri, action) in [
        (format!("/recordings/{}/play", info.id), "play"),
        (format!("/recordings/{}/download", info.id), "download"),
        (format!("/api/v1/recordings/{}/audio", info.id), "download"),
    ] {
        let before = rec.catalogue().audit_log(Some(info.id), 100).unwrap().len();
        let (s, hd, b) = send(&app, "GET", &uri, Some(&ok), None).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert_eq!(header_of(&hd, "content-type"), Some("audio/wav"));
        assert!(b == wav, "{uri} did not return the recording's bytes");
        let audit = rec.catalogue().audit_log(Some(info.id), 100).unwrap();
        assert_eq!(audit.len(), before + 1, "{uri} was not audited");
        assert_eq!(
            (audit[0].action.as_str(), audit[0].who.as_str()),
            (action, USER)
        );
    }

    // The player seeks: byte ranges (206 + Content-Range, exactly those bytes), and one
    // audit row for the whole listening session however many requests it makes.
    let before = rec.catalogue().audit_log(Some(info.id), 100).unwrap().len();
    for (range, from, to) in [
        ("bytes=0-", 0, wav.len() - 1),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=44-", 44, wav.len() - 1),
    ] {
        let resp = app
            .clone()
            .oneshot(
                Request::builder()
                    .uri(&player_src)
                    .header(header::AUTHORIZATION, &ok)
                    .header(header::RANGE, range)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            resp.headers()[header::CONTENT_RANGE],
            format!("bytes {from}-{to}/{}", wav.len()).as_str()
        );
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "audio/wav");
        let got = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .unwrap();
        assert!(got[..] == wav[from..=to], "{range}: wrong bytes");
    }
    let audit = rec.catalogue().audit_log(Some(info.id), 100).unwrap();
    assert_eq!(audit.len(), before + 1, "one listening, one audit row");
    assert_eq!(audit[0].action, "play");
    // A range past the end is refused as such; the page opened again is a new session.
    let resp = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(&player_src)
                .header(header::AUTHORIZATION, &ok)
                .header(header::RANGE, format!("bytes={}-", wav.len() + 10))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let (_, _, b) = send(
        &app,
        "GET",
        &format!("/recordings/{}", info.id),
        Some(&ok),
        None,
    )
    .await;
    let again = String::from_utf8(b).unwrap();
    assert!(
        !again.contains(&player_src),
        "each page view gets its own session"
    );
    let (s, _, _) = send(
        &app,
        "GET",
        &player_src.replace("session=", "session=0"),
        Some(&ok),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "a malformed token still plays");
    assert_eq!(
        rec.catalogue().audit_log(Some(info.id), 100).unwrap().len(),
        before + 2,
        "…and is audited"
    );

    // Deletion endpoints: JSON only, sentences for bad input, then the real thing.
    let del = format!("/api/v1/recordings/{}/delete", info.id);
    let mut b = Request::builder()
        .method("POST")
        .uri(&del)
        .header(header::AUTHORIZATION, &ok);
    b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let resp = app
        .clone()
        .oneshot(b.body(Body::from("reason=x")).unwrap())
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a cross-site form must not delete"
    );
    let (s, _, b) = send(&app, "POST", &del, Some(&ok), Some(r#"{"why":"x"}"#)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&b).contains("the body must be JSON like"));
    let (s, _, _) = send(
        &app,
        "POST",
        "/api/v1/recordings/abc/delete",
        Some(&ok),
        Some(r#"{"reason":"x"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = send(
        &app,
        "POST",
        "/api/v1/recordings/999/delete",
        Some(&ok),
        Some(r#"{"reason":"x"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(rec.file_path(&info.path).exists());

    let (s, _, b) = send(
        &app,
        "POST",
        &del,
        Some(&ok),
        Some(r#"{"reason":"市民からの削除依頼"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    assert!(!rec.file_path(&info.path).exists());
    let (s, _, b) = send(&app, "POST", &del, Some(&ok), Some(r#"{"reason":"again"}"#)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(String::from_utf8_lossy(&b).contains("already deleted"));
    let (s, _, _) = send(
        &app,
        "GET",
        &format!("/recordings/{}/play", info.id),
        Some(&ok),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::GONE);

    // Nothing is due yet: a deletion request says so; approving an unknown one is 404.
    let (s, _, b) = send(
        &app,
        "POST",
        "/api/v1/recordings/deletion-requests",
        Some(&ok),
        Some("{}"),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(String::from_utf8_lossy(&b).contains("no recording is due"));
    let body = r#"{"approved_by":"課長","reference":"第1号"}"#;
    let (s, _, _) = send(
        &app,
        "POST",
        "/api/v1/recordings/deletion-requests/5/approve",
        Some(&ok),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_request_and_its_approval_over_the_api() {
    let dir = scratch("http-approve");
    let rec = Recorder::new(config(&dir)).unwrap();
    // A call from 100 days ago (past the 92-day retention) and one from today.
    let old = SystemTime::now() - std::time::Duration::from_secs(100 * 86_400);
    let mut ids = Vec::new();
    for (call, at) in [("api-old", old), ("api-new", SystemTime::now())] {
        let meta = CallMeta {
            call_id: call.into(),
            number: "0246-22-1111".into(),
            caller: "".into(),
            started_at: at,
        };
        let (_tap, h) = rec.start_call(meta).await.unwrap();
        ids.push(h.finish().await.unwrap().id);
    }
    let app = router(RecorderState::new(
        rec.clone(),
        vec![Supervisor {
            user: USER.into(),
            password_hash: hash_password(PASSWORD).unwrap(),
        }],
    ));
    let ok = basic(USER, PASSWORD);

    let (s, _, b) = send(
        &app,
        "POST",
        "/api/v1/recordings/deletion-requests",
        Some(&ok),
        Some("{}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let req: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(req["items"].as_array().unwrap().len(), 1);
    assert_eq!(req["items"][0]["id"], ids[0]);
    assert_eq!(req["created_by"], USER);
    let rid = req["id"].as_i64().unwrap();
    let old_path = rec.file_path(req["items"][0]["path"].as_str().unwrap());
    assert!(old_path.exists(), "a request must not delete anything");

    let url = format!("/api/v1/recordings/deletion-requests/{rid}/approve");
    let (s, _, b) = send(
        &app,
        "POST",
        &url,
        Some(&ok),
        Some(r#"{"approved_by":"  ","reference":"第1号"}"#),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&b)
    );
    assert!(old_path.exists());
    let (s, _, b) = send(
        &app,
        "POST",
        &url,
        Some(&ok),
        Some(r#"{"approved_by":"市民協働課長","reference":"いわき市第45号"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let a: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(a["deleted"], serde_json::json!([ids[0]]));
    assert!(!old_path.exists());
    assert_eq!(
        rec.catalogue().get(ids[1]).unwrap().unwrap().state,
        recorder::State::Complete
    );
    let (s, _, _) = send(
        &app,
        "POST",
        &url,
        Some(&ok),
        Some(r#"{"approved_by":"課長","reference":"x"}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);

    let (s, _, b) = send(&app, "GET", "/api/v1/recordings/audit", Some(&ok), None).await;
    assert_eq!(s, StatusCode::OK);
    let audit: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let approval = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "approve_deletion")
        .unwrap();
    assert_eq!(approval["who"], format!("市民協働課長 (entered by {USER})"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_and_shows_the_total() {
    let dir = scratch("http-paging");
    let rec = Recorder::new(config(&dir)).unwrap();
    for i in 0..5 {
        rec.catalogue()
            .insert_recording(
                &format!("page-{i}"),
                "0246221111",
                "0312345678",
                1_764_000_000 + i,
                &format!("2025/11/24/page-{i}.wav"),
            )
            .unwrap();
    }
    let app = router(RecorderState::new(
        rec.clone(),
        vec![Supervisor {
            user: USER.into(),
            password_hash: hash_password(PASSWORD).unwrap(),
        }],
    ));
    let ok = basic(USER, PASSWORD);
    // The API: a page of rows, the total in X-Total-Count; pages do not overlap.
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let (s, hd, b) = send(
            &app,
            "GET",
            &format!("/api/v1/recordings?limit=2&offset={offset}"),
            Some(&ok),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(header_of(&hd, "x-total-count"), Some("5"));
        let rows: serde_json::Value = serde_json::from_slice(&b).unwrap();
        for r in rows.as_array().unwrap() {
            seen.push(r["call_id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen, ["page-4", "page-3", "page-2", "page-1", "page-0"]);
    // The page: the total, which rows these are, and the link to the next page keeping
    // the criteria.
    let (_, _, b) = send(
        &app,
        "GET",
        "/recordings?number=0246&limit=2&offset=2",
        Some(&ok),
        None,
    )
    .await;
    let page = String::from_utf8(b).unwrap();
    assert!(page.contains("全 5 件中 3–4 件目"), "{page}");
    assert!(
        page.contains("href=\"/recordings?number=0246&amp;limit=2&amp;offset=4\""),
        "{page}"
    );
    assert!(
        page.contains("href=\"/recordings?number=0246&amp;limit=2&amp;offset=0\""),
        "{page}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
