//! Mail to the center through a real Postfix on loopback: Python's email package (an
//! independent mailer) sends Japanese mail in ISO-2022-JP, Postfix delivers it into the
//! center's Maildir, the history reads it into the desk's inquiries (a repeat of the
//! same Message-ID once, an automatic reply not at all), moves the files to `cur/`; the
//! operator answers by mail from the desk, Postfix delivers the answer to the citizen,
//! and the answer is a contact record of the mail channel.

mod common;

use common::free_port;

use common::postfix::{decode, Postfix};
use common::{admin, between};
use std::process::Command;
use std::time::Duration;

/// Sends through Postfix with Python's smtplib; `auto` marks it Auto-Submitted.
fn send(port: u16, message_id: &str, auto: bool) {
    let script = r#"
import sys, smtplib
from email.mime.text import MIMEText
from email.header import Header
from email.utils import formataddr
port, mid, auto = int(sys.argv[1]), sys.argv[2], sys.argv[3] == '1'
m = MIMEText('粗大ごみのソファーを出したいです。\n収集日と申し込み方法を教えてください。', 'plain', 'iso-2022-jp')
m['From'] = formataddr((str(Header('山田 花子', 'iso-2022-jp')), 'hanako@example.jp'))
m['To'] = 'callcenter@example.jp'
m['Subject'] = Header('粗大ごみの出し方について', 'iso-2022-jp')
m['Message-ID'] = mid
if auto:
    m['Auto-Submitted'] = 'auto-replied'
with smtplib.SMTP('127.0.0.1', port) as s:
    s.send_message(m)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(port.to_string())
        .arg(message_id)
        .arg(if auto { "1" } else { "0" })
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_to_the_center_is_read_from_the_maildir_and_answered_from_the_desk() {
    let dir = common::temp_dir("intake");
    let pf = Postfix::configure(free_port());
    pf.start();
    let mut cfg = common::config(&dir);
    cfg.smtp.port = pf.port;
    cfg.smtp.from = "いわき市総合コールセンター <callcenter@example.jp>".into();
    cfg.maildir = Some(history::intake::MaildirIntake {
        dir: pf.center_maildir(),
        every: Duration::from_millis(200),
    });
    let h = history::start(cfg).await.expect("history starts");

    send(pf.port, "<q1@example.jp>", false);
    send(pf.port, "<q1@example.jp>", false); // the same message again
    send(pf.port, "<ooo@example.jp>", true); // an out-of-office reply

    // All three delivered into the center's Maildir, then read: new/ empties into cur/.
    let center = pf.center_maildir();
    let t0 = std::time::Instant::now();
    while !(files(&center.join("new")).is_empty() && files(&center.join("cur")).len() == 3) {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "new {:?} cur {:?}; postfix log:\n{}",
            files(&center.join("new")),
            files(&center.join("cur")),
            pf.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        files(&center.join("cur"))
            .iter()
            .all(|f| f.ends_with(":2,S")),
        "marked seen"
    );
    assert!(pf.delivered().is_empty(), "nothing answered automatically");

    // The desk shows one mail inquiry, decoded.
    let (mut staff, _) = admin(&h).await;
    let list = staff.get("/desk/inquiries").await.unwrap().text();
    let rows = between(&list, "<tbody>", "</tbody>");
    assert_eq!(rows.matches("<tr>").count(), 1, "{rows}");
    assert!(
        rows.contains("W-000001")
            && rows.contains("<td>メール</td>")
            && rows.contains("山田 花子")
            && rows.contains("hanako@example.jp")
            && rows.contains("粗大ごみの出し方について")
            && rows.contains("収集日と申し込み方法"),
        "{rows}"
    );

    // Answered by mail from the desk.
    common::answer_inquiry(
        &mut staff,
        1,
        "ごみ・環境",
        "粗大ごみは申し込み制です。\r\n粗大ごみ受付センターへお申し込みください。",
    )
    .await;
    let delivered = pf.wait_delivered(1, 30);
    let (to, subject, body) = decode(&delivered[0]);
    assert_eq!(to, "hanako@example.jp");
    assert_eq!(subject, "Re: 粗大ごみの出し方について（W-000001）");
    assert!(
        body.contains("山田 花子 様") && body.contains("粗大ごみ受付センターへお申し込みください"),
        "{body}"
    );
    // The answer did not come back into the center's Maildir (no loop).
    assert_eq!(files(&center.join("cur")).len(), 3);
    assert!(files(&center.join("new")).is_empty());
    // The answer is a contact record of the mail channel.
    let found = staff
        .get("/api/v1/contacts?channel=email&caller=hanako%40example.jp")
        .await
        .unwrap()
        .json();
    let contacts = found["contacts"].as_array().expect("contacts");
    assert_eq!(contacts.len(), 1, "{found}");
    assert_eq!(contacts[0]["channel"], "email");
    assert!(contacts[0]["summary"]
        .as_str()
        .unwrap()
        .contains("粗大ごみ受付センター"));
    h.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
