//! A handover's later steps and the daily counts on PostgreSQL and on SQLite: one
//! scenario, the same answers. Part of tests/postgres.rs.

use history::error::HistoryError;
use history::model::{Channel, ContactInput, Outcome};
use history::store::handovers::{State, Summary};
use history::store::pg::PgStore;
use history::store::Db;

const T0: i64 = 1_780_000_000;
const LATER: i64 = 3_000_000_000;

fn input(outcome: Outcome, department: &str) -> ContactInput {
    ContactInput {
        channel: Channel::Phone,
        line: "0246221111".into(),
        started_at: T0,
        ended_at: T0 + 60,
        operator: "1001".into(),
        caller: "0246000009".into(),
        caller_name: String::new(),
        category: "税金".into(),
        summary: "折り返し希望".into(),
        faq_ids: vec![],
        outcome,
        department: department.into(),
        call_id: "c".into(),
    }
}

trait Steps {
    fn record(&self, outcome: Outcome, department: &str);
    fn list(&self) -> Vec<(i64, String, State)>;
    fn step(&self, id: i64, state: State, note: &str) -> Result<(), HistoryError>;
    fn events(&self, id: i64) -> Vec<(State, String, String)>;
    fn counts(&self, from: i64, to: i64) -> Summary;
}

macro_rules! steps_impl {
    ($t:ty) => {
        impl Steps for $t {
            fn record(&self, outcome: Outcome, department: &str) {
                self.create_contact(&input(outcome, department), "op1")
                    .unwrap();
            }
            fn list(&self) -> Vec<(i64, String, State)> {
                self.handovers("", None)
                    .unwrap()
                    .into_iter()
                    .map(|h| (h.id, h.kind, h.state))
                    .collect()
            }
            fn step(&self, id: i64, state: State, note: &str) -> Result<(), HistoryError> {
                self.set_handover_state(id, state, note, "sv1", LATER - 10)
            }
            fn events(&self, id: i64) -> Vec<(State, String, String)> {
                self.handover(id)
                    .unwrap()
                    .unwrap()
                    .1
                    .into_iter()
                    .map(|e| (e.state, e.by, e.note))
                    .collect()
            }
            fn counts(&self, from: i64, to: i64) -> Summary {
                self.handover_summary(from, to).unwrap()
            }
        }
    };
}
steps_impl!(Db);
steps_impl!(PgStore);

fn scenario(s: &dyn Steps) -> Vec<String> {
    s.record(Outcome::Callback, "市民税課");
    s.record(Outcome::PassedOn, "ごみ対策課");
    s.record(Outcome::Answered, "");
    let list = s.list();
    let mut seen = vec![format!("{list:?}")];
    let (cb, po) = (list[0].0, list[1].0);
    s.step(cb, State::HandedOver, "  担当 佐藤さんへ  ")
        .unwrap();
    // The same state without a note changes nothing.
    s.step(cb, State::HandedOver, "").unwrap();
    s.step(cb, State::Done, "折り返し済み").unwrap();
    seen.push(format!(
        "{:?}",
        s.step(cb, State::Open, "").map_err(|e| e.to_string())
    ));
    seen.push(format!(
        "{:?}",
        s.step(9_999, State::Done, "").map_err(|e| e.to_string())
    ));
    seen.push(format!("{:?}", s.events(cb)));
    seen.push(format!("{:?}", s.events(po)));
    seen.push(format!("{:?}", s.list()));
    seen.push(format!("{:?}", s.counts(0, LATER)));
    seen.push(format!("{:?}", s.counts(0, 1_000_000_000)));
    seen
}

#[test]
fn handover_steps_and_counts_behave_the_same_on_postgresql_and_sqlite() {
    let on_pg = crate::on_both("pg-handovers", |s| scenario(s), |s| scenario(s));
    assert_eq!(
        on_pg,
        vec![
            r#"[(1, "callback", Open), (2, "passed_on", Open)]"#.to_string(),
            r#"Err("invalid input: 完了した引継ぎは変更できません")"#.into(),
            r#"Err("not found")"#.into(),
            r#"[(Open, "op1", ""), (HandedOver, "sv1", "担当 佐藤さんへ"), (Done, "sv1", "折り返し済み")]"#.into(),
            r#"[(Open, "op1", "")]"#.into(),
            r#"[(2, "passed_on", Open), (1, "callback", Done)]"#.into(),
            "Summary { created: 2, created_callbacks: 1, done: 1, open: 1, overdue: 1 }".into(),
            "Summary { created: 0, created_callbacks: 0, done: 0, open: 0, overdue: 0 }".into(),
        ]
    );
}
