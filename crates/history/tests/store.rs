//! The contact store: several conditions at once, Japanese free text, audit of every
//! change, optimistic locking, masking of personal data after retention.

mod common;

use history::model::{Channel, ContactInput, Outcome};
use history::store::query::Query;
use history::store::Db;

fn rec(
    channel: Channel,
    at: i64,
    cat: &str,
    summary: &str,
    outcome: Outcome,
    dep: &str,
) -> ContactInput {
    ContactInput {
        channel,
        line: "0246221111".into(),
        started_at: at,
        ended_at: at + 120,
        operator: "1001".into(),
        caller: "09011112222".into(),
        caller_name: String::new(),
        category: cat.into(),
        summary: summary.into(),
        faq_ids: vec![],
        outcome,
        department: dep.into(),
        call_id: String::new(),
    }
}

const DAY: i64 = 86_400;
const T0: i64 = 1_780_000_000;

fn fixture() -> Db {
    let dir = common::temp_dir("store");
    let db = Db::open(&dir.join("h.sqlite3")).unwrap();
    let rows = [
        rec(
            Channel::Phone,
            T0,
            "戸籍・住民票・証明",
            "住民票の写しを郵送で取りたい",
            Outcome::Answered,
            "",
        ),
        rec(
            Channel::Phone,
            T0 + DAY,
            "税金",
            "住民税の納付書を紛失した",
            Outcome::Transferred,
            "市民税課",
        ),
        rec(
            Channel::Email,
            T0 + 2 * DAY,
            "ごみ・環境",
            "粗大ゴミの出し方（ソファー）",
            Outcome::Answered,
            "",
        ),
        rec(
            Channel::Web,
            T0 + 3 * DAY,
            "道路・公園・交通",
            "道路の穴について要望。早く直してほしい",
            Outcome::PassedOn,
            "道路管理課",
        ),
        rec(
            Channel::Phone,
            T0 + 4 * DAY,
            "税金",
            "固定資産税の口座振替の申し込み",
            Outcome::Callback,
            "市民税課",
        ),
    ];
    for (i, r) in rows.iter().enumerate() {
        let mut r = r.clone();
        r.operator = if i % 2 == 0 { "1001" } else { "1002" }.into();
        db.create_contact(&r, "op").unwrap();
    }
    db
}

fn ids(db: &Db, q: &Query) -> Vec<i64> {
    let (rows, total) = db.search(q).unwrap();
    assert_eq!(rows.len() as u64, total);
    let mut v: Vec<i64> = rows.iter().map(|c| c.id).collect();
    v.sort();
    v
}

#[test]
fn several_conditions_at_once() {
    let db = fixture();
    let q = Query {
        category: "税金".into(),
        ..Default::default()
    };
    assert_eq!(ids(&db, &q), vec![2, 5]);
    let q = Query {
        category: "税金".into(),
        outcome: Some(Outcome::Callback),
        ..Default::default()
    };
    assert_eq!(ids(&db, &q), vec![5]);
    let q = Query {
        channel: Some(Channel::Phone),
        operator: "1001".into(),
        ..Default::default()
    };
    assert_eq!(ids(&db, &q), vec![1, 5]);
    // Period: from inclusive, to exclusive.
    let q = Query {
        from: Some(T0 + DAY),
        to: Some(T0 + 3 * DAY),
        ..Default::default()
    };
    assert_eq!(ids(&db, &q), vec![2, 3]);
    let q = Query {
        department: "市民税課".into(),
        text: "住民".into(),
        ..Default::default()
    };
    assert_eq!(ids(&db, &q), vec![2]);
    let q = Query {
        ids: vec![1, 4, 99],
        ..Default::default()
    };
    assert_eq!(ids(&db, &q), vec![1, 4]);
}

#[test]
fn japanese_free_text() {
    let db = fixture();
    let text = |t: &str| {
        ids(
            &db,
            &Query {
                text: t.into(),
                ..Default::default()
            },
        )
    };
    // Two characters (a trigram index would miss them).
    assert_eq!(text("住民"), vec![1, 2]);
    assert_eq!(text("税"), vec![2, 5]);
    // Katakana typed, hiragana stored and back; full-width and half-width.
    assert_eq!(text("ごみ"), vec![3]);
    assert_eq!(text("ｿﾌｧｰ"), vec![3]);
    // Okurigana variants meet: 申し込み / 申込み.
    assert_eq!(text("申込み"), vec![5]);
    // Every word is required; full-width space separates words.
    assert_eq!(text("住民票　郵送"), vec![1]);
    assert_eq!(text("住民票 納付"), Vec::<i64>::new());
    // Labels are searchable too (the outcome).
    assert_eq!(text("折り返し"), vec![5]);
}

#[test]
fn paging_and_newest_first() {
    let db = fixture();
    let (rows, total) = db
        .search(&Query {
            limit: 2,
            offset: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(total, 5);
    assert_eq!(rows.iter().map(|c| c.id).collect::<Vec<_>>(), vec![4, 3]);
}

#[test]
fn every_change_is_audited_and_stale_edits_refused() {
    let db = fixture();
    let c = db.contact(1).unwrap().unwrap();
    assert_eq!(c.version, 1);
    let mut changed = c.input.clone();
    changed.summary = "住民票の写しを郵送で請求する方法".into();
    let c2 = db.update_contact(1, 1, &changed, "sv1").unwrap();
    assert_eq!(c2.version, 2);
    assert_eq!(c2.updated_by, "sv1");
    // A second editor who started from version 1 is refused, nothing overwritten.
    let mut other = c.input.clone();
    other.summary = "上書き".into();
    assert!(matches!(
        db.update_contact(1, 1, &other, "op2"),
        Err(history::error::HistoryError::Conflict)
    ));
    // Saving the same thing again changes nothing and audits nothing.
    db.update_contact(1, 2, &changed, "sv1").unwrap();
    let audit = db.audit(1).unwrap();
    assert_eq!(
        audit.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        vec!["更新", "作成"]
    );
    assert_eq!(audit[0].by, "sv1");
    assert!(audit[0].before.contains("郵送で取りたい"));
    assert!(audit[0].after.contains("請求する方法"));
    // The new text is what search finds.
    assert_eq!(
        ids(
            &db,
            &Query {
                text: "請求".into(),
                ..Default::default()
            }
        ),
        vec![1]
    );
}

#[test]
fn personal_data_is_masked_after_retention() {
    let db = fixture();
    let n = db.mask_before(T0 + 2 * DAY, "system").unwrap();
    assert_eq!(n, 2);
    let old = db.contact(1).unwrap().unwrap();
    assert_eq!(old.input.caller, "***");
    assert!(old.masked_at.is_some());
    // The summary stays for the statistics.
    assert!(old.input.summary.contains("住民票"));
    let recent = db.contact(3).unwrap().unwrap();
    assert_eq!(recent.input.caller, "09011112222");
    // Not findable by the number any more, neither in the record nor its audit trail.
    assert_eq!(
        ids(
            &db,
            &Query {
                caller: "09011112222".into(),
                ..Default::default()
            }
        ),
        vec![3, 4, 5]
    );
    for a in db.audit(1).unwrap() {
        assert!(
            !a.before.contains("09011112222") && !a.after.contains("09011112222"),
            "{a:?}"
        );
    }
    assert_eq!(db.audit(1).unwrap()[0].action, "個人情報マスク");
    // Masked records cannot be edited back to hold data; a second run masks nothing.
    assert!(db.update_contact(1, old.version, &old.input, "op").is_err());
    assert_eq!(db.mask_before(T0 + 2 * DAY, "system").unwrap(), 0);
}
