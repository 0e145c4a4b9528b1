//! The FAQ as citizens and editors use it (issue 12 items 3–6): paging and the query kept
//! in the box, views and ratings once per visitor, limits per citizen behind the city's
//! proxy, popular keywords only after moderation, the weekly ranking per calendar week,
//! and the searches that found nothing useful, per week, as a page and a CSV.

mod common;
use common::*;

fn views_of(id: &str) -> i64 {
    server()
        .app
        .db
        .with(|c| {
            c.query_row("SELECT COUNT(*) FROM views WHERE faq_id=?1", [id], |r| {
                r.get(0)
            })
        })
        .unwrap()
}

fn ratings_of(id: &str) -> i64 {
    server()
        .app
        .db
        .with(|c| {
            c.query_row("SELECT COUNT(*) FROM ratings WHERE faq_id=?1", [id], |r| {
                r.get(0)
            })
        })
        .unwrap()
}

#[tokio::test]
async fn results_keep_the_query_and_page_past_twenty() {
    let mut c = client();
    let page1 = c
        .get(&format!("/search?{}", q("手続き")))
        .await
        .unwrap()
        .text();
    assert!(page1.contains("value=\"手続き\""), "query kept in the box");
    let total: usize = page1
        .split("<p role=\"status\">")
        .nth(1)
        .and_then(|s| s.split('件').next())
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(total > 20, "need more than one page: {total}");
    assert_eq!(page1.matches("<li><span class=\"cat\">").count(), 20);
    assert!(page1.contains("page=2\">次の20件"), "{page1}");
    let page2 = c
        .get(&format!("/search?{}&page=2", q("手続き")))
        .await
        .unwrap()
        .text();
    assert!(page2.contains("（21〜"), "{page2}");
    assert_eq!(
        page2.matches("<li><span class=\"cat\">").count(),
        (total - 20).min(20)
    );
    let ids = |p: &str| -> Vec<String> {
        p.split("href=\"/faq/")
            .skip(1)
            .map(|s| s.split('?').next().unwrap().to_string())
            .collect()
    };
    assert!(
        ids(&page2).iter().all(|id| !ids(&page1).contains(id)),
        "pages overlap"
    );
}

#[tokio::test]
async fn views_and_ratings_count_once_per_visitor() {
    let mut c = client();
    for _ in 0..3 {
        assert_eq!(c.get("/faq/FAQ-0024").await.unwrap().status, 200);
    }
    // A later view of another entry is written after ours (one FIFO writer).
    c.get("/faq/FAQ-0025").await.unwrap();
    eventually("views written", || views_of("FAQ-0025") >= 1).await;
    assert_eq!(views_of("FAQ-0024"), 1, "reloads are not views");

    let before = ratings_of("FAQ-0024");
    let first = c
        .post_form("/faq/FAQ-0024/rate", &[("score", "5"), ("comment", "")])
        .await
        .unwrap();
    assert_eq!(
        first.header("location"),
        Some("/faq/FAQ-0024?rated=1#rating")
    );
    let again = c
        .post_form("/faq/FAQ-0024/rate", &[("score", "1"), ("comment", "")])
        .await
        .unwrap();
    assert_eq!(
        again.header("location"),
        Some("/faq/FAQ-0024?rated=again#rating")
    );
    assert_eq!(ratings_of("FAQ-0024"), before + 1);
    // A forged visitor cookie is no visitor: the address (the one citizen behind it) has
    // rated already, so it is not counted either.
    let mut forged = client();
    let r = forged
        .request(
            "POST",
            "/faq/FAQ-0024/rate",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                (
                    "cookie",
                    "faq_visitor=0123456789abcdef0123456789abcdef.00ff",
                ),
                ("x-forwarded-for", "198.51.100.77"),
            ],
            b"score=3",
        )
        .await
        .unwrap();
    assert_eq!(r.header("location"), Some("/faq/FAQ-0024?rated=1#rating"));
    let r = forged
        .request(
            "POST",
            "/faq/FAQ-0024/rate",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                (
                    "cookie",
                    "faq_visitor=fedcba9876543210fedcba9876543210.00ff",
                ),
                ("x-forwarded-for", "198.51.100.77"),
            ],
            b"score=3",
        )
        .await
        .unwrap();
    assert_eq!(
        r.header("location"),
        Some("/faq/FAQ-0024?rated=again#rating")
    );
    assert_eq!(ratings_of("FAQ-0024"), before + 2);
}

async fn rate(c: &mut Client, id: String, who: &str) -> u16 {
    c.request(
        "POST",
        &format!("/faq/{id}/rate"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-forwarded-for", who),
        ],
        b"score=4",
    )
    .await
    .unwrap()
    .status
}

/// Behind the proxy, each citizen has their own rating limit: one busy address does not
/// lock everyone out (and the access log names the citizen, not the proxy).
#[tokio::test]
async fn limits_apply_per_citizen_behind_the_trusted_proxy() {
    let mut c = client();
    let mut statuses = Vec::new();
    for i in 0..=faq::web::RATE_PER_MIN {
        statuses.push(rate(&mut c, format!("FAQ-{:04}", 45 + i), "203.0.113.10").await);
    }
    assert!(
        statuses[..faq::web::RATE_PER_MIN as usize]
            .iter()
            .all(|s| *s == 303),
        "{statuses:?}"
    );
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
    assert_eq!(
        rate(&mut c, "FAQ-0045".into(), "203.0.113.11").await,
        303,
        "another citizen"
    );
    eventually("access log names the citizen", || {
        server()
            .app
            .log
            .search(&faq::accesslog::LogQuery {
                from: 0,
                to: i64::MAX,
                user: String::new(),
                ip: "203.0.113.11".into(),
                path_contains: "/rate".into(),
                status: 0,
                limit: 10,
            })
            .is_ok_and(|rows| !rows.is_empty())
    })
    .await;
}

#[tokio::test]
async fn popular_keywords_need_moderation() {
    let mut c = client();
    // 25 searches that find something (住民票) but are not an entry's words.
    let phish = "住民票 https://phish.example/";
    for _ in 0..25 {
        c.get(&format!("/search?{}", q(phish))).await.unwrap();
    }
    for _ in 0..3 {
        c.get(&format!("/search?{}", q("狂犬病"))).await.unwrap();
    }
    let home = || async {
        let mut c = client();
        c.get("/").await.unwrap().text()
    };
    let mut page = String::new();
    for _ in 0..200 {
        page = home().await;
        if page.contains(">狂犬病</a>") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        page.contains(">狂犬病</a>"),
        "a word of a published question shows: {page}"
    );
    assert!(
        !page.contains("phish.example"),
        "searches alone put nothing on the home page"
    );

    // Editors decide: hide a word, approve a phrase.
    let mut ed = client();
    let csrf = login(&mut ed, ADMIN, ADMIN_PW).await;
    let list = ed.get("/admin/keywords").await.unwrap().text();
    assert!(
        list.contains("phish.example") && list.contains("未承認"),
        "{list}"
    );
    for (kw, approve) in [("狂犬病", "0"), (phish, "1")] {
        let r = ed
            .post_form(
                "/admin/keywords",
                &[("csrf", &csrf), ("q", kw), ("approve", approve)],
            )
            .await
            .unwrap();
        assert_eq!(r.status, 303);
    }
    let page = home().await;
    assert!(!page.contains(">狂犬病</a>"), "hidden by an editor");
    assert!(
        page.contains("phish.example"),
        "approved by an editor shows"
    );
    // Without a session, nobody moderates.
    let r = client()
        .post_form(
            "/admin/keywords",
            &[("csrf", "x"), ("q", "x"), ("approve", "1")],
        )
        .await
        .unwrap();
    assert_eq!(r.header("location"), Some("/admin/login"));
}

#[tokio::test]
async fn unfound_searches_per_week_page_and_csv() {
    let mut c = client();
    for _ in 0..2 {
        c.get(&format!("/search?{}", q("としょかん")))
            .await
            .unwrap();
    }
    c.get(&format!("/search?{}", q("ハザードマップ")))
        .await
        .unwrap();
    let found = c
        .get(&format!("/search?{}", q("粗大ごみ 手数料")))
        .await
        .unwrap()
        .text();
    let href = found
        .split("href=\"/faq/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a result");
    assert!(href.contains("?from="), "{href}");
    c.get(&format!("/faq/{}", href.replace("&amp;", "&")))
        .await
        .unwrap();

    let mut ed = client();
    login(&mut ed, ADMIN, ADMIN_PW).await;
    let mut page = String::new();
    for _ in 0..200 {
        page = ed.get("/admin/unfound").await.unwrap().text();
        if page.contains("としょかん") && page.contains("ハザードマップ") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        page.contains("2026-W23"),
        "this week by the service's clock: {page}"
    );
    assert!(
        page.contains(">としょかん</a></td><td class=\"n\">2</td><td>なし</td>"),
        "{page}"
    );
    assert!(
        page.contains(">ハザードマップ</a></td><td class=\"n\">1</td><td>")
            && page.contains("件（開かれず）"),
        "{page}"
    );
    // Settling the writer: the click was sent before these searches were read back.
    assert!(
        !page.contains(">粗大ごみ 手数料<"),
        "a search whose result was opened is not listed: {page}"
    );
    let csv = ed.get("/admin/unfound.csv?week=2026-W23").await.unwrap();
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    assert!(text.contains("2026-W23,としょかん,2,0\r\n"), "{text}");
    let last_week = ed.get("/admin/unfound?week=2026-W22").await.unwrap().text();
    assert!(!last_week.contains("としょかん"), "{last_week}");
}

#[tokio::test]
async fn ranking_is_kept_per_calendar_week() {
    let s = server();
    let monday = faq::clock::parse_date_jst(TODAY).unwrap();
    s.app
        .db
        .with(|c| {
            // Last Sunday evening (previous week) and this Monday morning.
            for (id, at) in [
                ("FAQ-0118", monday - 3600),
                ("FAQ-0118", monday - 7200),
                ("FAQ-0120", monday + 60),
            ] {
                c.execute(
                    "INSERT INTO views (faq_id, at) VALUES (?1, ?2)",
                    rusqlite::params![id, at],
                )?;
            }
            Ok(())
        })
        .unwrap();
    let mut ed = client();
    login(&mut ed, ADMIN, ADMIN_PW).await;
    let w22 = ed.get("/admin/ranking?week=2026-W22").await.unwrap().text();
    assert!(
        w22.contains("FAQ-0118") && !w22.contains("FAQ-0120"),
        "{w22}"
    );
    assert!(w22.contains("2026-05-25 〜 2026-05-31"), "{w22}");
    let w23 = ed.get("/admin/ranking").await.unwrap().text();
    assert!(
        w23.contains("FAQ-0120") && !w23.contains("FAQ-0118"),
        "{w23}"
    );
}
