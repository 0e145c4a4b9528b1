//! CSV export → import → identical database; and a file with bad rows is refused whole,
//! naming each bad line.

mod common;
use common::*;

fn history_rows() -> i64 {
    server()
        .app
        .db
        .with(|c| c.query_row("SELECT COUNT(*) FROM history", [], |r| r.get(0)))
        .unwrap()
}

async fn import(c: &mut faq::client::Client, csrf: &str, bytes: &[u8]) -> faq::client::Resp {
    c.post_multipart(
        "/admin/import",
        &[("csrf", csrf)],
        "file",
        "faq.csv",
        "text/csv",
        bytes,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn export_import_unchanged_gives_identical_database() {
    let mut c = client();
    let csrf = login(&mut c, ADMIN, ADMIN_PW).await;
    let before = server().app.db.entries().unwrap();
    let history_before = history_rows();
    let exported = c.get("/admin/export.csv").await.unwrap().body;
    // The exported file is the sample corpus's format: the same header, BOM, and every
    // entry; it parses back to exactly the database.
    assert!(exported.starts_with(b"\xEF\xBB\xBFFAQ-ID,\xE3\x82\xAB"));
    assert_eq!(faq::csv_io::parse(&exported).unwrap(), before);

    let r = import(&mut c, &csrf, &exported).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("追加・変更 0件"), "{}", r.text());
    assert_eq!(
        server().app.db.entries().unwrap(),
        before,
        "database changed by an unchanged import"
    );
    assert_eq!(
        history_rows(),
        history_before,
        "an unchanged import records no changes"
    );
    let again = c.get("/admin/export.csv").await.unwrap().body;
    assert_eq!(again, exported, "second export differs");
}

#[tokio::test]
async fn import_with_three_bad_rows_is_refused_whole() {
    let mut c = client();
    let csrf = login(&mut c, ADMIN, ADMIN_PW).await;
    let before = server().app.db.entries().unwrap();
    let exported = c.get("/admin/export.csv").await.unwrap().body;

    // Rewrite the export: one good change, three bad rows.
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&exported[3..]);
    let mut records: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let set = |rec: &mut csv::StringRecord, col: usize, val: &str| {
        let mut f: Vec<String> = rec.iter().map(String::from).collect();
        f[col] = val.into();
        *rec = csv::StringRecord::from(f);
    };
    set(
        &mut records[2],
        2,
        "有効な変更（全体が拒否されるので反映されないはず）",
    );
    set(&mut records[5], 8, "2025-02-30"); // not a date
    set(&mut records[40], 3, ""); // empty answer
    set(&mut records[120], 7, "yes"); // public must be 1 or 0
                                      // Write record by record, noting the line each bad one starts on (counting line
                                      // feeds in what was written so far): answers span several lines, so this is not
                                      // simply the record index.
    let mut out = b"\xEF\xBB\xBF".to_vec();
    let mut expected = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if [5, 40, 120].contains(&i) {
            expected.push(out.iter().filter(|&&b| b == b'\n').count() as u64 + 1);
        }
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(r).unwrap();
        out.extend_from_slice(&w.into_inner().unwrap());
    }
    assert!(
        expected[2] > 121,
        "multi-line answers push line numbers past record numbers"
    );

    let r = import(&mut c, &csrf, &out).await;
    assert_eq!(r.status, 422);
    let page = r.text();
    let lines: Vec<u64> = page
        .split("<td class=\"line\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines, expected, "{page}");
    assert!(
        page.contains("公開開始日") && page.contains("回答が空") && page.contains("公開は 1 か 0"),
        "{page}"
    );
    assert_eq!(
        server().app.db.entries().unwrap(),
        before,
        "nothing may be applied"
    );
}

#[test]
fn parser_reports_structure_errors_with_lines() {
    let csv =
        "\u{feff}FAQ-ID,カテゴリ,質問,回答,関連FAQ,関連URL,担当課,公開,公開開始日,公開終了日\r\n\
               A-1,c,q,a,,,d,1,2025-01-01,\r\n\
               A-2,c,q,a,,,d,1\r\n\
               A-1,c,q,a,,,d,1,2025-01-01,2024-01-01\r\n";
    let errs = faq::csv_io::parse(csv.as_bytes()).unwrap_err();
    assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), vec![3, 4]);
    assert!(errs[0].reasons[0].contains("列の数"));
    assert!(
        errs[1].reasons.iter().any(|r| r.contains("重複"))
            && errs[1].reasons.iter().any(|r| r.contains("公開終了日"))
    );
    let wrong_header = "FAQ,x\r\n";
    assert_eq!(
        faq::csv_io::parse(wrong_header.as_bytes()).unwrap_err()[0].line,
        1
    );
}
