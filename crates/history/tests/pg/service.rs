//! The running history service on PostgreSQL (`HistoryConfig::database`, the option
//! `madoguchi history --database` sets): a citizen's inquiry through the JSON API, its
//! acknowledgement queued in the outbox, the bootstrap administrator's login and session,
//! the desk's list, the access log — every row in PostgreSQL and no SQLite file made.
//! Then a restart on the same database finds all of it again.

use crate::common::{self, admin, client, pgcluster::Cluster};
use std::time::Duration;

fn count(pg: &mut postgres::Client, sql: &str) -> i64 {
    pg.query_one(sql, &[]).unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_keeps_everything_in_postgresql_when_selected() {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let params = cluster.params();
    let dir = common::temp_dir("pg-service");
    let config = || {
        let mut cfg = common::config(&dir);
        cfg.database = Some(params.clone());
        // No relay: the acknowledgement waits in the outbox (in PostgreSQL).
        cfg.smtp.port = common::free_port();
        cfg
    };
    let h = history::start(config())
        .await
        .expect("history starts on PostgreSQL");
    let mut c = client(&h);
    let r = c
        .request(
            "POST",
            "/api/v1/inquiries",
            &[("content-type", "application/json")],
            r#"{"name":"いわき 花子","email":"hanako@example.jp","subject":"粗大ごみの収集日","body":"冷蔵庫を出したいです。"}"#.as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let (mut staff, _) = admin(&h).await;
    let list = staff.get("/desk/inquiries").await.unwrap().text();
    assert!(list.contains("粗大ごみの収集日"), "{list}");
    // The access log is written in the background: look a few times.
    let mut log = String::new();
    for _ in 0..50 {
        log = staff
            .get("/desk/log?path=%2Fapi%2Fv1%2Finquiries")
            .await
            .unwrap()
            .text();
        if log.contains("/api/v1/inquiries") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(log.contains("/api/v1/inquiries"), "{log}");

    let p = params.clone();
    tokio::task::spawn_blocking(move || {
        let mut pg = postgres::Client::connect(&p, postgres::NoTls).unwrap();
        assert_eq!(
            count(
                &mut pg,
                "SELECT count(*) FROM inquiries WHERE subject = '粗大ごみの収集日'"
            ),
            1
        );
        assert!(
            count(
                &mut pg,
                "SELECT count(*) FROM outbox WHERE to_addr = 'hanako@example.jp'"
            ) >= 1
        );
        assert_eq!(
            count(&mut pg, "SELECT count(*) FROM users WHERE login = 'admin'"),
            1
        );
        assert!(
            count(
                &mut pg,
                "SELECT count(*) FROM sessions WHERE login = 'admin'"
            ) >= 1
        );
        assert!(
            count(
                &mut pg,
                "SELECT count(*) FROM access_log WHERE path = '/api/v1/inquiries'"
            ) >= 1
        );
        assert_eq!(
            count(&mut pg, "SELECT count(*) FROM meta WHERE k = 'form_secret'"),
            1
        );
    })
    .await
    .unwrap();
    assert!(
        !dir.join("history.sqlite3").exists(),
        "a SQLite file was made beside the PostgreSQL store"
    );
    h.shutdown().await;

    // A restart on the same database: the inquiry and the account are still there.
    let h = history::start(config()).await.expect("history restarts");
    let (mut staff, _) = admin(&h).await;
    let list = staff.get("/desk/inquiries").await.unwrap().text();
    assert!(list.contains("粗大ごみの収集日"), "{list}");
    h.shutdown().await;
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
}
