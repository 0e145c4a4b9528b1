//! Editors (issue 12 item 7): the history shows what each change did, field by field, and
//! an earlier version can be restored (as a change of its own); ratings are a chart.

mod common;
use common::*;

#[tokio::test]
async fn history_shows_each_change_and_restores_an_earlier_version() {
    let mut c = client();
    let csrf = login(&mut c, ADMIN, ADMIN_PW).await;
    let original = server().app.db.entry("FAQ-0030").unwrap().unwrap();
    let mut v2 = original.clone();
    v2.question = "水道料金はどうやって払いますか？（改訂）".into();
    v2.department = "水道局お客さまセンター".into();
    let r = c
        .post_form(
            "/admin/faq/FAQ-0030/edit",
            &with_csrf(&csrf, &entry_fields(&v2)),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
    let page = c.get("/admin/faq/FAQ-0030").await.unwrap().text();
    // The newest change's diff: the two fields edited, nothing else.
    let newest = page
        .split("<dl class=\"diff\">")
        .nth(1)
        .and_then(|s| s.split("</dl>").next())
        .expect("a diff");
    assert_eq!(
        newest,
        format!(
            "<dt>質問</dt><dd><del>{}</del> → <ins>{}</ins></dd><dt>担当課</dt><dd><del>{}</del> → <ins>{}</ins></dd>",
            original.question, v2.question, original.department, v2.department
        )
    );

    // Restore the seeded version: the newest row is the edit; the next is the seed.
    let seq = page
        .split("/admin/faq/FAQ-0030/restore/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a restore button for the earlier version")
        .to_string();
    let r = c
        .post_form(
            &format!("/admin/faq/FAQ-0030/restore/{seq}"),
            &[("csrf", &csrf)],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        server().app.db.entry("FAQ-0030").unwrap().unwrap(),
        original
    );
    let page = c.get("/admin/faq/FAQ-0030").await.unwrap().text();
    assert!(page.contains("<td>復元</td>"), "{page}");
    // The public site and search follow.
    let found = c
        .get(&format!("/search?{}", q("水道料金")))
        .await
        .unwrap()
        .text();
    assert!(!found.contains("（改訂）"), "{found}");

    // Restoring needs an editor's session and its token.
    let r = c
        .post_form(
            &format!("/admin/faq/FAQ-0030/restore/{seq}"),
            &[("csrf", "wrong")],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn ratings_are_a_chart_not_an_array() {
    let mut citizen = client();
    citizen.get("/faq/FAQ-0031").await.unwrap();
    let r = citizen
        .post_form("/faq/FAQ-0031/rate", &[("score", "4"), ("comment", "")])
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    let mut c = client();
    login(&mut c, ADMIN, ADMIN_PW).await;
    let page = c.get("/admin/faq/FAQ-0031").await.unwrap().text();
    assert!(page.contains("<svg role=\"img\""), "{page}");
    assert!(
        page.contains("4点 1件"),
        "the numbers are written out: {page}"
    );
    assert!(!page.contains("[0, 0, 0, 1, 0]"), "no raw array: {page}");
}

#[tokio::test]
async fn categories_come_from_the_managed_list() {
    let mut c = client();
    let csrf = login(&mut c, ADMIN, ADMIN_PW).await;
    // The list starts with the categories the entries use.
    let form = c.get("/admin/faq/FAQ-0032/edit").await.unwrap().text();
    assert!(
        form.contains("<select id=\"category\" name=\"category\" required>"),
        "{form}"
    );
    assert!(
        form.contains("<option value=\"くらし &gt; 上下水道\" selected>"),
        "{form}"
    );
    assert!(
        form.contains(
            "<optgroup label=\"ライフイベント\"><option value=\"ライフイベント &gt; おくやみ\">"
        ),
        "{form}"
    );

    // A category that is not on the list is refused, naming it.
    let mut e = server().app.db.entry("FAQ-0032").unwrap().unwrap();
    e.category = "くらし > 上下水到".into(); // a typo
    let r = c
        .post_form(
            "/admin/faq/FAQ-0032/edit",
            &with_csrf(&csrf, &entry_fields(&e)),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("カテゴリ「くらし &gt; 上下水到」は一覧にありません"),
        "{}",
        r.text()
    );
    assert_eq!(
        server().app.db.entry("FAQ-0032").unwrap().unwrap().category,
        "くらし > 上下水道"
    );

    // Added to the list (by area), it can be used.
    let r = c
        .post_form(
            "/admin/categories",
            &[
                ("csrf", &csrf),
                ("op", "add"),
                ("path", "地域 >小名浜"),
                ("kind", "地域"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    e.category = "地域 > 小名浜".into();
    let r = c
        .post_form(
            "/admin/faq/FAQ-0032/edit",
            &with_csrf(&csrf, &entry_fields(&e)),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
    // A category in use cannot be removed; an unused one can.
    let r = c
        .post_form(
            "/admin/categories",
            &[("csrf", &csrf), ("op", "remove"), ("path", "地域 > 小名浜")],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.text().contains("1件のFAQで使われている"), "{}", r.text());
    let r = c
        .post_form(
            "/admin/categories",
            &[
                ("csrf", &csrf),
                ("op", "add"),
                ("path", "地域 > 勿来"),
                ("kind", "地域"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    let r = c
        .post_form(
            "/admin/categories",
            &[("csrf", &csrf), ("op", "remove"), ("path", "地域 > 勿来")],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    assert!(!c
        .get("/admin/categories")
        .await
        .unwrap()
        .text()
        .contains("地域 > 勿来"));
}
