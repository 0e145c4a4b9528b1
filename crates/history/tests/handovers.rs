//! Callbacks and opinions passed on are tracked per department until done: made with
//! the record, listed per department with overdue ones highlighted, moved on with who,
//! when and a note, done is final, and the day's counts for the daily report.

mod common;

use common::admin;
use history::model::{Channel, ContactInput, Outcome};

fn rec(at: i64, outcome: Outcome, dep: &str, summary: &str) -> ContactInput {
    ContactInput {
        channel: Channel::Phone,
        line: "0246221111".into(),
        started_at: at,
        ended_at: at + 60,
        operator: "1001".into(),
        caller: "0246000000".into(),
        caller_name: String::new(),
        category: "税金".into(),
        summary: summary.into(),
        faq_ids: vec![],
        outcome,
        department: dep.into(),
        call_id: String::new(),
    }
}

#[tokio::test]
async fn handovers_per_department_until_done() {
    let (h, _dir) = common::start("handovers").await;
    let now = faq::clock::unix_now();
    let db = &h.app.db;
    // A callback asked two days ago (overdue), an opinion passed on an hour ago, and a
    // record answered at the center (nothing to track).
    let old = db
        .create_contact(
            &rec(
                now - 2 * 86_400,
                Outcome::Callback,
                "市民税課",
                "納税証明の件で折り返し希望",
            ),
            "op1",
        )
        .unwrap();
    db.create_contact(
        &rec(
            now - 3600,
            Outcome::PassedOn,
            "道路管理課",
            "歩道の段差への苦情",
        ),
        "op2",
    )
    .unwrap();
    db.create_contact(&rec(now - 60, Outcome::Answered, "", "開庁時間"), "op1")
        .unwrap();
    assert_eq!(db.handovers("", None).unwrap().len(), 2);
    let mine = db.handovers("市民税課", None).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].contact_id, old.id);
    assert!(mine[0].overdue(now));
    assert!(!db.handovers("道路管理課", None).unwrap()[0].overdue(now));

    let (mut c, csrf) = admin(&h).await;
    let page = c
        .get("/desk/handovers?department=%E5%B8%82%E6%B0%91%E7%A8%8E%E8%AA%B2")
        .await
        .unwrap()
        .text();
    assert!(
        page.contains(r#"<tr class="overdue">"#)
            && page.contains("期限超過")
            && page.contains("納税証明"),
        "{page}"
    );
    assert!(!page.contains("歩道"), "another department's row");
    let all = c.get("/desk/handovers").await.unwrap().text();
    assert!(all.contains("期限超過 1件"));
    assert_eq!(all.matches(r#"<tr class="overdue">"#).count(), 1);

    let id = mine[0].id;
    // A forged form changes nothing.
    let r = c
        .post_form(
            &format!("/desk/handovers/{id}"),
            &[("csrf", "x"), ("state", "done"), ("note", "")],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    let r = c
        .post_form(
            &format!("/desk/handovers/{id}"),
            &[
                ("csrf", &csrf),
                ("state", "handed_over"),
                ("note", "市民税課 鈴木さんへ電話で引継ぎ"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    let r = c
        .post_form(
            &format!("/desk/handovers/{id}"),
            &[
                ("csrf", &csrf),
                ("state", "done"),
                ("note", "課から折り返し済みと報告"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    let page = c
        .get(&format!("/desk/handovers/{id}"))
        .await
        .unwrap()
        .text();
    assert!(
        page.contains("鈴木さんへ電話で引継ぎ")
            && page.contains("折り返し済みと報告")
            && page.contains("admin")
    );
    assert!(!page.contains("期限超過"), "done is not overdue");
    // Done is final.
    let r = c
        .post_form(
            &format!("/desk/handovers/{id}"),
            &[("csrf", &csrf), ("state", "open"), ("note", "")],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(db.handover(id).unwrap().unwrap().1.len(), 3);

    // The day's counts (today in Japan): two made (one callback), one done, one open.
    let today = faq::clock::today_jst();
    let j = c
        .get(&format!("/api/v1/handovers/summary?date={today}"))
        .await
        .unwrap()
        .json();
    let s = &j["summary"];
    assert_eq!(
        (
            s["created"].as_i64(),
            s["created_callbacks"].as_i64(),
            s["done"].as_i64(),
            s["open"].as_i64()
        ),
        (Some(2), Some(1), Some(1), Some(1)),
        "{j}"
    );
    assert_eq!(s["overdue"], 0);
    assert_eq!(
        c.get("/api/v1/handovers/summary?date=yesterday")
            .await
            .unwrap()
            .status,
        400
    );
    h.shutdown().await;
}
