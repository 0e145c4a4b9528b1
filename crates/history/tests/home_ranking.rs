//! The homepage's FAQ access ranking comes from the real FAQ site's API: citizens open
//! entries on the FAQ site (distinct visitors behind the trusted proxy), and the call
//! center's homepage lists the most viewed first, linking to the FAQ site. A FAQ site
//! that is down leaves the homepage without the ranking, not broken.

mod common;

use common::client;
use faq::client::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_homepage_ranks_what_citizens_open_on_the_faq_site() {
    let faq_dir = common::temp_dir("ranking-faq");
    let faq = faq::start(faq::FaqConfig {
        data_dir: faq_dir.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_password: Some("faq-admin-password".into()),
        // The sample entries' publish windows are judged on this day.
        clock: faq::clock::Clock::starting_on_jst("2026-06-01").unwrap(),
        trusted_proxies: vec!["127.0.0.1".into()],
        ..faq::FaqConfig::default()
    })
    .await
    .expect("the FAQ site starts");
    for (id, visitors) in [("FAQ-0003", 3), ("FAQ-0001", 1), ("FAQ-0005", 2)] {
        for v in 0..visitors {
            // Each visitor their own browser (the site's visitor cookie) and address.
            let mut citizen = Client::new(faq.addr, &faq.cert_path).unwrap();
            let ip = format!("192.0.2.{}", v + 1);
            let r = citizen
                .request(
                    "GET",
                    &format!("/faq/{id}"),
                    &[("x-forwarded-for", &ip)],
                    b"",
                )
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{id}");
        }
    }
    // A reload by the same visitor does not count again.
    let mut citizen = Client::new(faq.addr, &faq.cert_path).unwrap();
    for _ in 0..2 {
        citizen
            .request(
                "GET",
                "/faq/FAQ-0005",
                &[("x-forwarded-for", "192.0.2.9")],
                b"",
            )
            .await
            .unwrap();
    }
    // The views are written in the background: wait until the API counts them all.
    let mut api = Client::new(faq.addr, &faq.cert_path).unwrap();
    let mut counted = serde_json::Value::Null;
    for _ in 0..100 {
        counted = api.get("/api/v1/faq/ranking?limit=5").await.unwrap().json();
        if counted["results"].as_array().map(|a| a.len()) == Some(3) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let views: Vec<(String, i64)> = counted["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["views"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        views,
        vec![
            ("FAQ-0003".to_string(), 3),
            ("FAQ-0005".to_string(), 3),
            ("FAQ-0001".to_string(), 1)
        ]
    );

    let dir = common::temp_dir("ranking");
    let mut cfg = common::config(&dir);
    let faq_url = format!("https://{}", faq.addr);
    cfg.faq = Some(history::peers::FaqLink {
        url: faq_url.clone(),
        cert: Some(faq.cert_path.clone()),
        api_key: None,
    });
    let h = history::start(cfg).await.unwrap();
    let page = client(&h).get("/").await.unwrap();
    assert_eq!(page.status, 200);
    let text = page.text();
    let list = common::between(&text, r#"<ol id="faq-ranking">"#, "</ol>");
    let order: Vec<usize> = ["FAQ-0003", "FAQ-0005", "FAQ-0001"]
        .iter()
        .map(|id| {
            list.find(&format!(r#"href="{faq_url}/faq/{id}""#))
                .unwrap_or_else(|| panic!("{id} in the ranking: {list}"))
        })
        .collect();
    assert!(
        order[0] < order[1] && order[1] < order[2],
        "most viewed first: {list}"
    );
    assert!(
        list.contains("住民票は１通いくらですか？"),
        "the question is shown: {list}"
    );
    h.shutdown().await;

    // The FAQ site down: the homepage is served without the ranking.
    faq.shutdown().await;
    let dir2 = common::temp_dir("ranking-down");
    let mut cfg = common::config(&dir2);
    cfg.faq = Some(history::peers::FaqLink {
        url: faq_url,
        cert: Some(faq_dir.join("tls/cert.pem")),
        api_key: None,
    });
    let h = history::start(cfg).await.unwrap();
    let page = client(&h).get("/").await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.text().contains(r#"id="hours""#) && !page.text().contains("faq-ranking"));
    h.shutdown().await;
    for d in [faq_dir, dir, dir2] {
        let _ = std::fs::remove_dir_all(d);
    }
}
