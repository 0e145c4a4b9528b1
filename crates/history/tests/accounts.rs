//! Desk accounts over the real HTTPS listener: the administrator creates an operator tied
//! to one of the switch's agent ids and a supervisor; ids the switch does not know, an id
//! already taken and short passwords are refused with the reason; roles decide what each
//! sees; the operator's desk follows their agent; a changed password ends the old one.

mod common;

use common::{admin, between, client, ADMIN_PW};
use faq::client::Client;

async fn login(h: &history::RunningHistory, login: &str, pw: &str) -> (Client, u16) {
    let mut c = client(h);
    let r = c
        .post_form("/desk/login", &[("login", login), ("password", pw)])
        .await
        .unwrap();
    (c, r.status)
}

fn account<'a>(
    csrf: &'a str,
    login: &'a str,
    role: &'a str,
    agent: &'a str,
    pw: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("login", login),
        ("name", "磐城 花子"),
        ("role", role),
        ("agent_id", agent),
        ("password", pw),
    ]
}

#[tokio::test]
async fn operators_and_supervisors_are_created_checked_and_tied_to_agents() {
    let dir = common::temp_dir("accounts");
    let mut cfg = common::config(&dir);
    cfg.agents = vec![
        ("1001".into(), "オペレーター1".into()),
        ("1002".into(), "オペレーター2".into()),
    ];
    let h = history::start(cfg).await.unwrap();
    let (mut adm, csrf) = admin(&h).await;

    let page = adm.get("/desk/users").await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page
        .text()
        .contains(r#"<option value="1002">オペレーター2</option>"#));

    // Refusals, each with its reason, and nothing stored.
    for (form, reason) in [
        (
            account(&csrf, "op9", "operator", "9999", "op9-password-1"),
            "9999 は交換機の設定にありません",
        ),
        (
            account(&csrf, "op0", "operator", "", "op0-password-1"),
            "オペレーターIDが必要です",
        ),
        (
            account(&csrf, "op1", "operator", "1001", "short"),
            "10文字以上",
        ),
        (
            account(&csrf, "bad id", "operator", "1001", "op1-password-1"),
            "ログインIDは英数字",
        ),
        (
            account(&csrf, "op1", "root", "1001", "op1-password-1"),
            "役割を選んでください",
        ),
    ] {
        let r = adm.post_form("/desk/users", &form).await.unwrap();
        assert_eq!(r.status, 422, "{reason}");
        assert!(r.text().contains(reason), "{reason}: {}", r.text());
    }
    let forged = account("0000", "op1", "operator", "1001", "op1-password-1");
    assert_eq!(
        adm.post_form("/desk/users", &forged).await.unwrap().status,
        403
    );
    assert_eq!(
        login(&h, "op1", "op1-password-1").await.1,
        200,
        "not created: the form again"
    );

    let r = adm
        .post_form(
            "/desk/users",
            &account(&csrf, "op1", "operator", "1001", "op1-password-1"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
    // One account per agent: the switch's 1001 is op1's.
    let r = adm
        .post_form(
            "/desk/users",
            &account(&csrf, "op2", "operator", "1001", "op2-password-1"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 422);
    assert!(r.text().contains("1001 は op1 が使っています"));
    let r = adm
        .post_form(
            "/desk/users",
            &account(&csrf, "sv1", "supervisor", "", "sv1-password-1"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    let list = adm.get("/desk/users").await.unwrap().text();
    assert!(
        list.contains("<td>op1</td>")
            && list.contains("<td>1001</td>")
            && list.contains("<td>sv1</td>")
    );

    // The operator: their desk follows agent 1001; no access log, no accounts page.
    let (mut op, status) = login(&h, "op1", "op1-password-1").await;
    assert_eq!(status, 303);
    let form = op.get("/desk/contacts/new").await.unwrap().text();
    assert!(
        form.contains(r#"id="operator" name="operator" type="text" value="1001""#),
        "the record form is prefilled with the operator's agent: {form}"
    );
    assert_eq!(op.get("/desk/log").await.unwrap().status, 403);
    assert_eq!(op.get("/desk/users").await.unwrap().status, 403);
    let op_csrf = between(&form, r#"name="csrf" value=""#, "\"").to_string();
    let r = op
        .post_form(
            "/desk/users",
            &account(&op_csrf, "op3", "admin", "", "op3-password-1"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403, "an operator cannot make accounts");
    // The desk's state buttons: a forged form and an operation other than the three
    // buttons are refused before the switch is asked; without a switch, a sentence.
    let r = op
        .post_form("/desk/state", &[("csrf", "0000"), ("op", "pause")])
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    let r = op
        .post_form("/desk/state", &[("csrf", &op_csrf), ("op", "logout")])
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let r = op
        .post_form(
            "/desk/state",
            &[("csrf", &op_csrf), ("op", "pause"), ("reason", "研修")],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 503);
    assert!(r.text().contains("交換機が設定されていません"));
    assert_eq!(op.get("/desk/faq?q=住民票").await.unwrap().status, 503);
    // The supervisor sees the access log but not the accounts.
    let (mut sv, status) = login(&h, "sv1", "sv1-password-1").await;
    assert_eq!(status, 303);
    assert_eq!(sv.get("/desk/log").await.unwrap().status, 200);
    assert_eq!(sv.get("/desk/users").await.unwrap().status, 403);

    // Own password: the current one is required; afterwards only the new one works and
    // the old session is gone.
    let r = op
        .post_form(
            "/desk/password",
            &[
                ("csrf", &op_csrf),
                ("current", "wrong-password-x"),
                ("new", "op1-password-2"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 422);
    assert!(r.text().contains("今のパスワードが違います"));
    let r = op
        .post_form(
            "/desk/password",
            &[
                ("csrf", &op_csrf),
                ("current", "op1-password-1"),
                ("new", "op1-password-2"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    assert_eq!(op.get("/desk").await.unwrap().status, 303, "signed out");
    assert_eq!(login(&h, "op1", "op1-password-1").await.1, 200);
    assert_eq!(login(&h, "op1", "op1-password-2").await.1, 303);

    // Five failures lock the account; the administrator unlocks it.
    for _ in 0..5 {
        login(&h, "sv1", "not-the-password").await;
    }
    assert_eq!(login(&h, "sv1", "sv1-password-1").await.1, 200, "locked");
    assert!(adm
        .get("/desk/users")
        .await
        .unwrap()
        .text()
        .contains("ロック中"));
    let r = adm
        .post_form("/desk/users/sv1/unlock", &[("csrf", &csrf)])
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    assert_eq!(login(&h, "sv1", "sv1-password-1").await.1, 303);
    assert_eq!(login(&h, "admin", ADMIN_PW).await.1, 303);
    h.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
