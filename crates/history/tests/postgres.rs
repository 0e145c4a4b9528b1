//! The contact records on a real PostgreSQL (Debian's, installed by
//! .ci/history-deps.sh): the test starts a private cluster (initdb in a temp folder, as
//! the unprivileged `postgres` user when run as root, unix socket only, no TCP), applies
//! the migrations, and drives the same scenario on PostgreSQL and on the SQLite file:
//! the same search answers (Japanese words of one and two characters, several
//! conditions), optimistic locking, the audit trail, masking. Built with
//! `--features postgres` (scripts/test.sh runs it).
#![cfg(feature = "postgres")]

#[path = "pg/accounts.rs"]
mod accounts_on_pg;
mod common;
#[path = "pg/handovers.rs"]
mod handovers_on_pg;
#[path = "pg/service.rs"]
mod service_on_pg;

use common::pgcluster::Cluster;
use history::error::HistoryError;
use history::model::{Channel, ContactInput, Outcome};
use history::store::pg::PgStore;
use history::store::query::Query;
use history::store::Db;

fn rec(channel: Channel, at: i64, cat: &str, summary: &str, caller: &str) -> ContactInput {
    ContactInput {
        channel,
        line: "0246221111".into(),
        started_at: at,
        ended_at: at + 120,
        operator: "1001".into(),
        caller: caller.into(),
        caller_name: "磐城 花子".into(),
        category: cat.into(),
        summary: summary.into(),
        faq_ids: vec!["FAQ-0001".into()],
        outcome: Outcome::Answered,
        department: String::new(),
        call_id: "call-1".into(),
    }
}

/// Runs a scenario on a fresh PostgreSQL cluster and on a fresh SQLite file; returns
/// what it saw on PostgreSQL after checking SQLite saw the same.
fn on_both<T: PartialEq + std::fmt::Debug>(
    tag: &str,
    on_pg: impl FnOnce(&PgStore) -> T,
    on_sqlite: impl FnOnce(&Db) -> T,
) -> T {
    let cluster = Cluster::start();
    let pg = PgStore::open(&cluster.params()).expect("connects and migrates");
    let dir = common::temp_dir(tag);
    let sqlite = Db::open(&dir.join("h.sqlite3")).unwrap();
    let seen = on_pg(&pg);
    assert_eq!(seen, on_sqlite(&sqlite));
    let _ = std::fs::remove_dir_all(&dir);
    seen
}

const DAY: i64 = 86_400;
const T0: i64 = 1_780_000_000;

/// The operations both stores have, so one scenario drives both.
trait Store {
    fn create(&self, i: &ContactInput) -> history::model::Contact;
    fn update(
        &self,
        id: i64,
        v: i64,
        i: &ContactInput,
    ) -> Result<history::model::Contact, HistoryError>;
    fn find(&self, q: &Query) -> (Vec<i64>, u64);
    fn audit_actions(&self, id: i64) -> Vec<String>;
    fn mask(&self, cutoff: i64) -> usize;
    fn get(&self, id: i64) -> history::model::Contact;
    /// (department, kind, state, due_at) of the handovers.
    fn handover_list(&self) -> Vec<(String, String, String, i64)>;
}

macro_rules! store_impl {
    ($t:ty) => {
        impl Store for $t {
            fn create(&self, i: &ContactInput) -> history::model::Contact {
                self.create_contact(i, "op1").unwrap()
            }
            fn update(
                &self,
                id: i64,
                v: i64,
                i: &ContactInput,
            ) -> Result<history::model::Contact, HistoryError> {
                self.update_contact(id, v, i, "op2")
            }
            fn find(&self, q: &Query) -> (Vec<i64>, u64) {
                let (rows, total) = self.search(q).unwrap();
                (rows.iter().map(|c| c.id).collect(), total)
            }
            fn audit_actions(&self, id: i64) -> Vec<String> {
                self.audit(id)
                    .unwrap()
                    .into_iter()
                    .map(|a| a.action)
                    .collect()
            }
            fn mask(&self, cutoff: i64) -> usize {
                self.mask_before(cutoff, "system").unwrap()
            }
            fn get(&self, id: i64) -> history::model::Contact {
                self.contact(id).unwrap().unwrap()
            }
            fn handover_list(&self) -> Vec<(String, String, String, i64)> {
                self.handovers("", None)
                    .unwrap()
                    .into_iter()
                    .map(|h| (h.department, h.kind, h.state.as_str().to_string(), h.due_at))
                    .collect()
            }
        }
    };
}
store_impl!(Db);
store_impl!(PgStore);

/// Returns what the scenario saw, for the two stores to be compared.
fn scenario(s: &dyn Store) -> Vec<String> {
    let mut seen = Vec::new();
    let a = s.create(&rec(
        Channel::Phone,
        T0,
        "戸籍・住民票・証明",
        "住民票の写しを郵送で取りたい",
        "0246000001",
    ));
    let b = s.create(&rec(
        Channel::Phone,
        T0 + DAY,
        "税金",
        "住民税の納付書を紛失した",
        "0246000002",
    ));
    let c = s.create(&rec(
        Channel::Email,
        T0 + 2 * DAY,
        "税金",
        "固定資産税の口座振替",
        "0246000001",
    ));
    assert_eq!(
        (a.version, a.input.faq_ids.clone()),
        (1, vec!["FAQ-0001".to_string()])
    );
    for q in [
        Query {
            text: "住民".into(),
            ..Default::default()
        },
        Query {
            text: "税".into(),
            ..Default::default()
        },
        // Two words, both required; full-width space between them.
        Query {
            text: "住民　郵送".into(),
            ..Default::default()
        },
        Query {
            caller: "0246000001".into(),
            ..Default::default()
        },
        Query {
            category: "税金".into(),
            channel: Some(Channel::Phone),
            ..Default::default()
        },
        Query {
            from: Some(T0 + DAY),
            to: Some(T0 + 3 * DAY),
            ..Default::default()
        },
        Query {
            ids: vec![a.id, c.id],
            text: "郵送".into(),
            ..Default::default()
        },
    ] {
        let (ids, total) = s.find(&q);
        let rel: Vec<char> = ids
            .iter()
            .map(|i| {
                if *i == a.id {
                    'a'
                } else if *i == b.id {
                    'b'
                } else {
                    'c'
                }
            })
            .collect();
        seen.push(format!("{} {rel:?} {total}", q.text));
    }
    // Optimistic locking: the stale version is refused, the audit names both steps.
    let mut edit = b.input.clone();
    edit.summary = "住民税の納付書を再発行した".into();
    let b2 = s.update(b.id, 1, &edit).unwrap();
    assert_eq!(b2.version, 2);
    assert!(matches!(
        s.update(b.id, 1, &edit),
        Err(HistoryError::Conflict)
    ));
    assert_eq!(s.audit_actions(b.id), vec!["更新", "作成"]);
    // A callback opens its handover with the record (due a day after the call); an
    // answered record none.
    assert!(s.handover_list().is_empty());
    let mut cb = rec(
        Channel::Phone,
        T0 + 3 * DAY,
        "税金",
        "折り返し希望",
        "0246000003",
    );
    cb.outcome = Outcome::Callback;
    cb.department = "市民税課".into();
    s.create(&cb);
    assert_eq!(
        s.handover_list(),
        vec![(
            "市民税課".to_string(),
            "callback".to_string(),
            "open".to_string(),
            T0 + 4 * DAY
        )]
    );
    // Masking after the period: the first two records.
    assert_eq!(s.mask(T0 + DAY + 1), 2);
    let am = s.get(a.id);
    assert_eq!(
        (am.input.caller.as_str(), am.input.caller_name.as_str()),
        ("***", "***")
    );
    assert!(am.masked_at.is_some());
    assert_eq!(
        s.find(&Query {
            caller: "0246000002".into(),
            ..Default::default()
        })
        .1,
        0
    );
    assert_eq!(s.audit_actions(a.id), vec!["個人情報マスク", "作成"]);
    assert!(matches!(
        s.update(a.id, 2, &a.input),
        Err(HistoryError::Invalid(_))
    ));
    seen
}

/// The SQLite code's values (NULL, integer, real, text, blob) go to PostgreSQL as
/// themselves: a NULL stored is read back as NULL (it was once bound as the text "Null"),
/// a real as the same number, a blob as the same bytes — into the contacts table and into
/// columns of each kind.
#[test]
fn null_real_and_blob_values_are_bound_as_themselves() {
    use history::store::pg::bind;
    use rusqlite::types::Value;
    let cluster = Cluster::start();
    PgStore::open(&cluster.params()).expect("connects and migrates");
    let mut c = postgres::Client::connect(&cluster.params(), postgres::NoTls).unwrap();
    // A contact whose nullable column (masked_at) is given NULL explicitly.
    let contact = [Value::Text("phone".into()), Value::Integer(T0), Value::Null];
    let params: Vec<_> = contact.iter().map(bind).collect();
    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
        params.iter().map(|b| b.as_ref()).collect();
    let id: i64 = c
        .query_one(
            "INSERT INTO contacts (channel, line, started_at, ended_at, operator, caller,
               caller_name, category, summary, faq_ids, outcome, department, call_id,
               search_text, created_at, created_by, updated_at, updated_by, version, masked_at)
             VALUES ($1,'',$2,$2,'','','','','','','answered','','','',$2,'',$2,'',1,$3)
             RETURNING id",
            &refs,
        )
        .expect("a NULL is bound as NULL")
        .get(0);
    let masked: Option<i64> = c
        .query_one("SELECT masked_at FROM contacts WHERE id=$1", &[&id])
        .unwrap()
        .get(0);
    assert_eq!(masked, None);
    // Each kind into a column of its own type, read back unchanged.
    c.batch_execute("CREATE TABLE kinds (n BIGINT, t TEXT, r DOUBLE PRECISION, b BYTEA)")
        .unwrap();
    let values = [
        Value::Null,
        Value::Null,
        Value::Real(2.5),
        Value::Blob(vec![0, 0xff, 0x80, b'N']),
    ];
    let params: Vec<_> = values.iter().map(bind).collect();
    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
        params.iter().map(|b| b.as_ref()).collect();
    c.execute(
        "INSERT INTO kinds (n, t, r, b) VALUES ($1, $2, $3, $4)",
        &refs,
    )
    .expect("NULL, real and blob are bound as themselves");
    let row = c.query_one("SELECT n, t, r, b FROM kinds", &[]).unwrap();
    let (n, t, r, b): (Option<i64>, Option<String>, f64, Vec<u8>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!((n, t, r, b), (None, None, 2.5, vec![0, 0xff, 0x80, b'N']));
}

#[test]
fn contacts_behave_the_same_on_postgresql_and_sqlite() {
    let cluster = Cluster::start();
    let pg = PgStore::open(&cluster.params()).expect("connects and migrates");
    assert_eq!(
        pg.schema_version().unwrap(),
        history::store::MIGRATIONS.len() as i64
    );
    // Opening again finds the schema up to date and changes nothing.
    let again = PgStore::open(&cluster.params()).unwrap();
    assert_eq!(
        again.schema_version().unwrap(),
        history::store::MIGRATIONS.len() as i64
    );
    drop(again);

    let dir = common::temp_dir("pg-vs-sqlite");
    let sqlite = Db::open(&dir.join("h.sqlite3")).unwrap();
    let on_pg = scenario(&pg);
    let on_sqlite = scenario(&sqlite);
    assert_eq!(on_pg, on_sqlite);
    // And the answers are the right ones (not merely equal).
    assert_eq!(
        on_pg,
        vec![
            "住民 ['b', 'a'] 2",
            "税 ['c', 'b'] 2",
            "住民　郵送 ['a'] 1",
            " ['c', 'a'] 2",
            " ['b'] 1",
            " ['c', 'b'] 2",
            "郵送 ['a'] 1",
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The outbox operations both stores have.
trait Outbox {
    fn enqueue(&self, now: i64, kind: &str, to: &str) -> i64;
    fn due(&self, now: i64, limit: u32) -> Vec<history::store::outbox::OutMail>;
    fn next_at(&self) -> Option<i64>;
    fn sent(&self, id: i64, now: i64);
    fn failed(&self, id: i64, now: i64, error: &str);
    fn list(&self) -> Vec<history::store::outbox::OutMail>;
}

macro_rules! outbox_impl {
    ($t:ty) => {
        impl Outbox for $t {
            fn enqueue(&self, now: i64, kind: &str, to: &str) -> i64 {
                self.enqueue_mail(now, kind, 7, to, "受付のお知らせ", "本文")
                    .unwrap()
            }
            fn due(&self, now: i64, limit: u32) -> Vec<history::store::outbox::OutMail> {
                self.due_mail(now, limit).unwrap()
            }
            fn next_at(&self) -> Option<i64> {
                self.next_mail_at().unwrap()
            }
            fn sent(&self, id: i64, now: i64) {
                self.mail_sent(id, now).unwrap()
            }
            fn failed(&self, id: i64, now: i64, error: &str) {
                self.mail_failed(id, now, 30, error).unwrap()
            }
            fn list(&self) -> Vec<history::store::outbox::OutMail> {
                self.mail_list(10).unwrap()
            }
        }
    };
}
outbox_impl!(Db);
outbox_impl!(PgStore);

/// Queue, due, sent, failed with its growing delay, the desk's list.
fn outbox_scenario(s: &dyn Outbox) -> Vec<String> {
    let a = s.enqueue(T0, "ack", "a@example.jp");
    let b = s.enqueue(T0, "reply", "b@example.jp");
    let c = s.enqueue(T0, "ack", "c@example.jp");
    let name = |id: i64| {
        if id == a {
            'a'
        } else if id == b {
            'b'
        } else {
            'c'
        }
    };
    let names = |v: &[history::store::outbox::OutMail]| -> String {
        v.iter().map(|m| name(m.id)).collect()
    };
    let mut seen = vec![
        names(&s.due(T0, 10)),
        names(&s.due(T0, 2)),
        names(&s.due(T0 - 1, 10)),
        format!("{:?}", s.next_at().map(|t| t - T0)),
    ];
    s.sent(a, T0 + 1);
    // The relay down twice: 30 s, then 60 s later; the error kept to 500 characters.
    s.failed(b, T0 + 1, &"接続拒否".repeat(200));
    let kept = s.list().into_iter().find(|m| m.id == b).unwrap().last_error;
    seen.push(format!("{} {}", kept.chars().count(), &kept[..12]));
    s.failed(b, T0 + 31, "connection refused");
    seen.push(names(&s.due(T0 + 5, 10)));
    s.sent(c, T0 + 6);
    seen.push(format!("{:?}", s.next_at().map(|t| t - T0)));
    for m in s.list() {
        seen.push(format!(
            "{} {} {} {:?} {}",
            name(m.id),
            m.kind,
            m.attempts,
            m.sent_at.map(|t| t - T0),
            m.last_error
        ));
    }
    let first = s.list().into_iter().find(|m| m.id == b).unwrap();
    assert_eq!(first.next_at, T0 + 31 + 60);
    seen
}

#[test]
fn the_outbox_behaves_the_same_on_postgresql_and_sqlite() {
    let on_pg = on_both("pg-outbox", |s| outbox_scenario(s), |s| outbox_scenario(s));
    assert_eq!(
        on_pg,
        vec![
            "abc",
            "ab",
            "",
            "Some(0)",
            "500 接続拒否",
            "c",
            "Some(91)",
            "b reply 2 None connection refused",
            "c ack 1 Some(6) ",
            "a ack 1 Some(1) ",
        ]
    );
}

/// The inquiry operations both stores have; (id, state, channel, ack_sent, name).
trait Inquiries: Outbox {
    fn web(&self, name: &str, ip: &str, now: i64) -> i64;
    fn mail(&self, mid: &str, now: i64) -> Option<i64>;
    fn listed(&self) -> Vec<(i64, String, String, bool, String)>;
    fn reply(&self, id: i64) -> i64;
    fn mask(&self, cutoff: i64) -> usize;
    fn from_ip(&self, ip: &str, since: i64) -> i64;
}

macro_rules! inquiries_impl {
    ($t:ty) => {
        impl Inquiries for $t {
            fn web(&self, name: &str, ip: &str, now: i64) -> i64 {
                let i = history::store::inquiries::InquiryInput {
                    name: name.into(),
                    email: "hanako@example.jp".into(),
                    subject: "粗大ごみ".into(),
                    body: "収集日を教えてください".into(),
                };
                self.create_inquiry(&i, ip, now).unwrap()
            }
            fn mail(&self, mid: &str, now: i64) -> Option<i64> {
                let i = history::store::inquiries::InquiryInput {
                    name: "山田".into(),
                    email: "yamada@example.jp".into(),
                    subject: "住民票".into(),
                    body: "郵送で".into(),
                };
                self.create_mail_inquiry(&i, mid, now).unwrap()
            }
            fn listed(&self) -> Vec<(i64, String, String, bool, String)> {
                self.inquiries(10)
                    .unwrap()
                    .into_iter()
                    .map(|q| (q.id, q.state, q.channel, q.ack_sent, q.input.name))
                    .collect()
            }
            fn reply(&self, id: i64) -> i64 {
                self.reply_inquiry(id, "申し込み制です。", T0 + 10).unwrap()
            }
            fn mask(&self, cutoff: i64) -> usize {
                self.mask_inquiries_before(cutoff, T0 + 20).unwrap()
            }
            fn from_ip(&self, ip: &str, since: i64) -> i64 {
                self.inquiries_from(ip, since).unwrap()
            }
        }
    };
}
inquiries_impl!(Db);
inquiries_impl!(PgStore);

/// A web inquiry queues its acknowledgement in the same transaction; a mail is stored
/// once per Message-ID and not acknowledged; an answer is queued and marks it answered.
fn inquiry_scenario(s: &dyn Inquiries) -> Vec<String> {
    let w = s.web("磐城 花子", "192.0.2.1", T0);
    let m = s.mail("<m1@example.jp>", T0 + 1).expect("stored");
    let mut seen = vec![
        format!("{:?}", s.mail("<m1@example.jp>", T0 + 2)),
        format!("{}", s.from_ip("192.0.2.1", T0)),
        format!("{}", s.from_ip("192.0.2.1", T0 + 1)),
    ];
    // Only the web inquiry's acknowledgement is queued; once sent, the list says so.
    let due = s.due(T0, 10);
    seen.push(format!("{} {}", due.len(), due[0].ref_id == w));
    s.sent(due[0].id, T0 + 3);
    let out = s.reply(m);
    let reply = s.due(T0 + 10, 10);
    seen.push(format!(
        "{} {} {}",
        reply.len(),
        reply[0].id == out,
        reply[0].subject
    ));
    for (id, state, channel, ack, name) in s.listed() {
        let which = if id == w { "w" } else { "m" };
        seen.push(format!("{which} {state} {channel} {ack} {name}"));
    }
    seen.push(format!("{}", s.mask(T0 + 1)));
    seen.push(s.listed().last().unwrap().4.clone());
    seen
}

#[test]
fn inquiries_behave_the_same_on_postgresql_and_sqlite() {
    let on_pg = on_both(
        "pg-inquiries",
        |s| inquiry_scenario(s),
        |s| inquiry_scenario(s),
    );
    assert_eq!(
        on_pg,
        vec![
            "None",
            "1",
            "0",
            "1 true",
            "1 true Re: 住民票（W-000002）",
            "m answered email false 山田",
            "w new web true 磐城 花子",
            "1",
            "***",
        ]
    );
}
