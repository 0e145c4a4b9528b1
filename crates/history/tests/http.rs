//! The desk over its real HTTPS listener: login, a record created from the form, found
//! by a search of several conditions, exported as CSV (UTF-8 with BOM, Shift_JIS) and
//! xlsx (read back by Python's zipfile, an independent reader), the audit trail shown,
//! and the access log masked after the personal-data period.

mod common;

use common::{admin, between, client};

fn form<'a>(csrf: &'a str, summary: &'a str, started: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("version", "0"),
        ("channel", "phone"),
        ("line", "0246542111"),
        ("started", started),
        ("ended", ""),
        ("operator", "1001"),
        ("caller", "0246999999"),
        ("caller_name", ""),
        ("category", "税金"),
        ("summary", summary),
        ("faq_ids", "FAQ-0001, FAQ-0002"),
        ("outcome", "transferred"),
        ("department", "市民税課"),
        ("call_id", "call-abc"),
    ]
}

#[tokio::test]
async fn desk_records_searches_and_exports() {
    let (h, _dir) = common::start("http").await;
    // Without a session: the login form, and the API refuses.
    let mut anon = client(&h);
    let r = anon.get("/desk").await.unwrap();
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/desk/login"));
    assert_eq!(anon.get("/api/v1/contacts").await.unwrap().status, 401);
    let r = anon
        .post_form(
            "/desk/login",
            &[("login", "admin"), ("password", "wrong-password")],
        )
        .await
        .unwrap();
    assert!(r.text().contains("ログインIDまたはパスワードが違います"));

    let (mut c, csrf) = admin(&h).await;
    // A forged form (wrong token) is refused and stores nothing.
    let bad = form("0000", "偽の記録", "2026-07-01T09:15");
    assert_eq!(
        c.post_form("/desk/contacts", &bad).await.unwrap().status,
        403
    );
    // A form with problems comes back with them, in Japanese.
    let mut missing = form(&csrf, "x", "2026-07-01T09:15");
    missing[13] = ("department", "");
    let r = c.post_form("/desk/contacts", &missing).await.unwrap();
    assert_eq!(r.status, 422);
    assert!(r.text().contains("担当課を選んでください"));

    let r = c
        .post_form(
            "/desk/contacts",
            &form(
                &csrf,
                "市県民税の納付書を再発行したい。=SUM(A1)",
                "2026-07-01T09:15",
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
    let loc = r.header("location").unwrap().to_string();
    let id: i64 = between(&loc, "/desk/contacts/", "?").parse().unwrap();
    c.post_form(
        "/desk/contacts",
        &form(&csrf, "ごみ収集日の問い合わせ", "2026-07-02T10:00"),
    )
    .await
    .unwrap();

    let page = c.get(&loc).await.unwrap().text();
    assert!(page.contains("保存しました") && page.contains("再発行"));
    assert!(page.contains("作成"), "audit trail shown");

    // Search: keyword in katakana-free kanji, line and period together.
    let r = c
        .get("/desk?q=%E7%B4%8D%E4%BB%98%E6%9B%B8&line=0246542111&from=2026-07-01&to=2026-07-01")
        .await
        .unwrap()
        .text();
    assert!(r.contains(r#"<p id="count" role="status">1件</p>"#), "{r}");
    assert!(r.contains(&format!(r#"href="/desk/contacts/{id}""#)));
    let r = c
        .get("/desk?q=%E7%B4%8D%E4%BB%98%E6%9B%B8&to=2026-06-30")
        .await
        .unwrap()
        .text();
    assert!(r.contains(r#"<p id="count" role="status">0件</p>"#));
    let r = c.get("/desk?from=2026-13-01").await.unwrap().text();
    assert!(r.contains("YYYY-MM-DD"));

    // JSON for scripts.
    let j = c
        .get("/api/v1/contacts?category=%E7%A8%8E%E9%87%91")
        .await
        .unwrap()
        .json();
    assert_eq!(j["total"], 2);
    assert_eq!(j["contacts"][0]["faq_ids"][1], "FAQ-0002");

    // CSV, UTF-8 with BOM; the formula-looking cell is defused.
    let r = c
        .get("/desk/export.csv?q=%E7%B4%8D%E4%BB%98")
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(r.body[3..].to_vec()).unwrap();
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][0], id.to_string());
    assert_eq!(&rows[0][9], "市県民税の納付書を再発行したい。=SUM(A1)");
    assert_eq!(&rows[0][11], "担当課へ転送");
    assert_eq!(rd.headers().unwrap().get(1), Some("受付日時"));
    assert_eq!(&rows[0][1], "2026-07-01 09:15:00");

    // Shift_JIS on request: decodes to the same table.
    let r = c.get("/desk/export.csv?enc=sjis").await.unwrap();
    assert!(r.header("content-type").unwrap().contains("Shift_JIS"));
    let (decoded, _, had_errors) = encoding_rs::SHIFT_JIS.decode(&r.body);
    assert!(!had_errors);
    assert!(!r.body.starts_with(b"\xEF\xBB\xBF"));
    assert!(decoded.contains("ごみ収集日の問い合わせ") && decoded.contains("納付書"));
    assert!(
        std::str::from_utf8(&r.body).is_err(),
        "really Shift_JIS, not UTF-8"
    );

    // A selection (checkboxes) exports only the chosen records.
    let r = c
        .get(&format!("/desk/export.csv?ids=&sel={id}"))
        .await
        .unwrap();
    let text = String::from_utf8(r.body[3..].to_vec()).unwrap();
    assert_eq!(
        csv::Reader::from_reader(text.as_bytes()).records().count(),
        1
    );

    // xlsx, read back by Python's zipfile.
    let r = c
        .get("/desk/export.xlsx?category=%E7%A8%8E%E9%87%91")
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let path = _dir.join("out.xlsx");
    std::fs::write(&path, &r.body).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.read('xl/sharedStrings.xml').decode())")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.contains("再発行したい") && xml.contains("ごみ収集日") && xml.contains("受付日時"));

    // Editing with a stale version is refused; the audit shows the real edit.
    let mut edit = form(
        &csrf,
        "市県民税の納付書の再発行（郵送）",
        "2026-07-01T09:15",
    );
    edit[1] = ("version", "1");
    let r = c
        .post_form(&format!("/desk/contacts/{id}"), &edit)
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    let r = c
        .post_form(&format!("/desk/contacts/{id}"), &edit)
        .await
        .unwrap();
    assert_eq!(r.status, 409);
    let page = c.get(&format!("/desk/contacts/{id}")).await.unwrap().text();
    assert!(page.contains("郵送") && page.contains("更新") && page.contains("版2"));

    // The access log holds the searches with the caller's number; after the
    // personal-data period the address and query are masked, the rows kept.
    c.get("/desk?caller=0246999999").await.unwrap();
    // The log is written in the background: look a few times.
    let mut log = String::new();
    for _ in 0..50 {
        log = c.get("/desk/log?path=caller%3D").await.unwrap().text();
        if log.contains("caller=0246999999") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        log.contains("caller=0246999999") && log.contains("127.0.0.1"),
        "{log}"
    );
    let app = h.app.clone();
    let future = faq::clock::unix_now() + 400 * 86_400;
    tokio::task::spawn_blocking(move || {
        // Let the background writer flush first.
        for _ in 0..50 {
            let n = app
                .log
                .search(&history::accesslog::LogQuery {
                    limit: 5000,
                    ..Default::default()
                })
                .unwrap();
            if n.iter().any(|r| r.path.contains("/desk/log")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let (deleted, masked) = app.log.housekeep(future, 800, 365).unwrap();
        assert_eq!(deleted, 0);
        assert!(masked > 5, "{masked}");
    })
    .await
    .unwrap();
    let log = c.get("/desk/log?user=admin").await.unwrap().text();
    assert!(!log.contains("0246999999"), "{log}");
    assert!(log.contains("-masked-"));
    h.shutdown().await;
}
