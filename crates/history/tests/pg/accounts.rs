//! Accounts and sessions on PostgreSQL and on SQLite: one scenario through the rules of
//! `history::auth` (lockout, disabled accounts, password changes ending sessions, the
//! agent id owned once), the same answers from both stores. Part of tests/postgres.rs.

use history::auth::{self, Accounts, LoginOutcome, NewAccount, Role};

const PW: &str = "Iwaki-kibou-2026";
const PW2: &str = "Natsui-gawa-0707";

fn token(db: &impl Accounts, login: &str, pw: &str) -> Option<String> {
    match auth::login(db, login, pw).unwrap() {
        LoginOutcome::Ok(t) => Some(t),
        _ => None,
    }
}

fn outcome(db: &impl Accounts, login: &str, pw: &str) -> String {
    match auth::login(db, login, pw).unwrap() {
        LoginOutcome::Ok(_) => "ok".into(),
        LoginOutcome::BadCredentials => "bad".into(),
        LoginOutcome::Locked => "locked".into(),
    }
}

fn scenario(db: &impl Accounts) -> Vec<String> {
    let mut seen = Vec::new();
    assert!(auth::bootstrap_admin(db, "admin", PW).unwrap());
    assert!(!auth::bootstrap_admin(db, "admin2", PW).unwrap());
    let op = NewAccount {
        login: "ops1".into(),
        name: "磐城 太郎".into(),
        role: "operator".into(),
        agent_id: "1001".into(),
        password: PW.into(),
    };
    auth::save_account(db, &["1001".into(), "1002".into()], &op).unwrap();
    // The agent id belongs to one account.
    let other = NewAccount {
        login: "ops2".into(),
        ..op.clone()
    };
    let refused = auth::save_account(db, &[], &other).unwrap_err().to_string();
    seen.push(refused.contains("ops1").to_string());

    let t = token(db, "ops1", PW).expect("logs in");
    let u = auth::session_user(db, &t).unwrap().unwrap();
    seen.push(format!(
        "{} {} {:?} {}",
        u.login, u.name, u.role, u.agent_id
    ));
    assert_eq!(u.csrf.len(), 64);
    // Five wrong passwords lock the account, even against the right one.
    for _ in 0..4 {
        seen.push(outcome(db, "ops1", "wrong-password-x"));
    }
    seen.push(outcome(db, "ops1", "wrong-password-x"));
    seen.push(outcome(db, "ops1", PW));
    auth::unlock(db, "ops1").unwrap();
    seen.push(outcome(db, "ops1", PW));
    // An own password change needs the current one and ends the sessions.
    assert!(!auth::change_password(db, "ops1", "not-the-current", PW2).unwrap());
    assert!(auth::change_password(db, "ops1", PW, PW2).unwrap());
    seen.push(format!("{}", auth::session_user(db, &t).unwrap().is_some()));
    let t = token(db, "ops1", PW2).expect("the new password");
    // Disabled: no login, sessions end; the list says so.
    assert!(auth::set_disabled(db, "ops1", true).unwrap());
    seen.push(outcome(db, "ops1", PW2));
    seen.push(format!("{}", auth::session_user(db, &t).unwrap().is_some()));
    for u in auth::users(db).unwrap() {
        seen.push(format!(
            "{} {:?} {} {} {}",
            u.login, u.role, u.agent_id, u.locked, u.disabled
        ));
    }
    assert!(auth::set_disabled(db, "ops1", false).unwrap());
    assert!(auth::set_password(db, "ops1", PW).unwrap());
    assert!(!auth::set_password(db, "nobody", PW).unwrap());
    let t = token(db, "ops1", PW).expect("reset password");
    auth::logout(db, &t).unwrap();
    seen.push(format!("{}", auth::session_user(db, &t).unwrap().is_some()));
    assert_eq!(
        auth::session_user(db, &token(db, "admin", PW).unwrap())
            .unwrap()
            .unwrap()
            .role,
        Role::Admin
    );
    seen
}

#[test]
fn accounts_and_sessions_behave_the_same_on_postgresql_and_sqlite() {
    let on_pg = crate::on_both("pg-accounts", scenario, scenario);
    assert_eq!(
        on_pg,
        vec![
            "true",
            "ops1 磐城 太郎 Operator 1001",
            "bad",
            "bad",
            "bad",
            "bad",
            "locked",
            "locked",
            "ok",
            "false",
            "bad",
            "false",
            "admin Admin  false false",
            "ops1 Operator 1001 false true",
            "false",
        ]
    );
}
