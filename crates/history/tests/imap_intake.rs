//! Mail to the center read from an IMAP mailbox on a real Dovecot (loopback, a test
//! user): each message lands in the desk's inquiries exactly once — a repeated
//! Message-ID once, an automatic reply not at all — and is flagged \Seen on the server.
//! The UIDs taken are remembered across a restart of the service (a message a person
//! marked unread again is not taken twice), and a message that arrives while the service
//! cannot reach the server (Dovecot stopped) is taken once the server is back.

mod common;

use common::free_port;

use common::dovecot::{Dovecot, PASSWORD, USER};
use common::{admin, between};
use std::time::{Duration, Instant};

fn config(dir: &std::path::Path, dv: &Dovecot) -> history::HistoryConfig {
    let mut cfg = common::config(dir);
    cfg.smtp.from = "いわき市総合コールセンター <callcenter@example.jp>".into();
    // No SMTP relay in this test: nothing is to be sent.
    cfg.smtp.port = free_port();
    cfg.imap = Some(history::imap::ImapIntake {
        server: format!("127.0.0.1:{}", dv.port),
        user: USER.into(),
        password: PASSWORD.into(),
        mailbox: "INBOX".into(),
        every: Duration::from_millis(200),
    });
    cfg
}

/// The rows of the desk's inquiry list, once it has `n` (bounded wait).
async fn rows(h: &history::RunningHistory, n: usize, dv: &Dovecot) -> String {
    let (mut staff, _) = admin(h).await;
    let t0 = Instant::now();
    loop {
        let list = staff.get("/desk/inquiries").await.unwrap().text();
        let rows = between(&list, "<tbody>", "</tbody>").to_string();
        if rows.matches("<tr>").count() >= n {
            return rows;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{rows}\ndovecot log:\n{}",
            dv.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_is_read_from_imap_once_across_restarts_and_outages() {
    let dir = common::temp_dir("imap");
    let dv = Dovecot::configure(free_port());
    dv.start();
    dv.append("<q1@example.jp>", "粗大ごみの出し方について", false);
    dv.append("<q1@example.jp>", "粗大ごみの出し方について", false); // again
    dv.append("<ooo@example.jp>", "不在のお知らせ", true); // an out-of-office reply

    let h = history::start(config(&dir, &dv))
        .await
        .expect("history starts");
    let list = rows(&h, 1, &dv).await;
    assert!(
        list.contains("<td>メール</td>")
            && list.contains("山田 花子")
            && list.contains("hanako@example.jp")
            && list.contains("粗大ごみの出し方について")
            && list.contains("収集日を教えてください"),
        "{list}"
    );
    // All three taken (flagged \Seen), one stored.
    let t0 = Instant::now();
    while dv.seen() != vec![(1, true), (2, true), (3, true)] {
        assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", dv.seen());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rows(&h, 1, &dv).await.matches("<tr>").count(), 1);
    h.shutdown().await;

    // While the service is stopped: a person marks the first message unread again, a new
    // one arrives, then the server goes down.
    dv.unsee(1);
    dv.append("<q2@example.jp>", "住民票の郵送請求", false);
    dv.stop();
    let h = history::start(config(&dir, &dv))
        .await
        .expect("history starts without its IMAP server");
    // A few polls fail against the closed port (logged, retried)…
    tokio::time::sleep(Duration::from_millis(800)).await;
    dv.start();
    // …and the new message is taken once the server is back.
    let list = rows(&h, 2, &dv).await;
    assert!(list.contains("住民票の郵送請求"), "{list}");
    let t0 = Instant::now();
    while !dv.seen().contains(&(4, true)) {
        assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", dv.seen());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The first message was not taken again: its UID was below the one remembered, so it
    // stays as the person left it (unread), and the desk still has two inquiries.
    assert_eq!(dv.seen(), vec![(1, false), (2, true), (3, true), (4, true)]);
    assert_eq!(rows(&h, 2, &dv).await.matches("<tr>").count(), 2);
    h.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
