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

async fn import(c: &mut Client, csrf: &str, bytes: &[u8]) -> Resp {
    import_as(c, csrf, "faq.csv", "text/csv", bytes).await
}

async fn import_as(c: &mut Client, csrf: &str, name: &str, mime: &str, bytes: &[u8]) -> Resp {
    c.post_multipart(
        "/admin/import",
        &[("csrf", csrf)],
        "file",
        name,
        mime,
        bytes,
    )
    .await
    .unwrap()
}

/// The export's records with `edit` applied, written back as CSV (no BOM).
fn rewrite(exported: &[u8], edit: impl Fn(usize, &mut Vec<String>)) -> String {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&exported[3..]);
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for (i, r) in rdr.records().enumerate() {
        let mut f: Vec<String> = r.unwrap().iter().map(String::from).collect();
        edit(i, &mut f);
        w.write_record(&f).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// What Excel gives back (issue 12 item 2): a CSV saved as Shift_JIS (CP932) without BOM,
/// with dates as Excel writes them (2025/7/1), and the exported xlsx itself. Each imports
/// to an unchanged database; a bad row in such a file is still refused with its line.
#[tokio::test]
async fn excel_saved_csv_and_the_xlsx_import_back_unchanged() {
    let mut c = client();
    let csrf = login(&mut c, ADMIN, ADMIN_PW).await;
    let before = server().app.db.entries().unwrap();
    let exported = c.get("/admin/export.csv").await.unwrap().body;
    let excel_date = |d: &str| {
        let p: Vec<u32> = d.split('-').map(|x| x.parse().unwrap()).collect();
        format!("{}/{}/{}", p[0], p[1], p[2])
    };
    let text = rewrite(&exported, |i, f| {
        if i > 0 {
            for col in [8, 9] {
                if !f[col].is_empty() {
                    f[col] = excel_date(&f[col]);
                }
            }
        }
    });
    assert!(text.contains(",2025/7/1,"), "dates rewritten");
    // Windows writes the wave dash of 8:30〜17:15 as CP932's 0x8160 (its best fit).
    assert!(text.contains('〜'));
    let windows = text.replace('〜', "～");
    let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&windows);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&sjis).is_err(),
        "the file really is Shift_JIS"
    );
    let r = import(&mut c, &csrf, &sjis).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("追加・変更 0件"), "{}", r.text());
    assert_eq!(server().app.db.entries().unwrap(), before);

    let xlsx = c.get("/admin/export.xlsx").await.unwrap().body;
    let mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let r = import_as(&mut c, &csrf, "faq.xlsx", mime, &xlsx).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("追加・変更 0件"), "{}", r.text());
    assert_eq!(server().app.db.entries().unwrap(), before);

    // All-or-nothing still holds for a CP932 file: a changed question plus a bad date.
    let text = rewrite(&exported, |i, f| match i {
        3 => f[2] = "反映されてはいけない変更".into(),
        7 => f[8] = "2025/2/30".into(),
        _ => {}
    });
    let windows = text.replace('〜', "～");
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&windows);
    let r = import(&mut c, &csrf, &sjis).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("公開開始日"), "{}", r.text());
    assert_eq!(server().app.db.entries().unwrap(), before);

    // Neither UTF-8 nor CP932: refused, naming the line.
    let mut junk = text.into_bytes();
    junk.extend_from_slice(b"X-1,\x82\xff\x82,q,a,,,d,1,2025-01-01,\r\n");
    let r = import(&mut c, &csrf, &junk).await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("Shift_JIS"), "{}", r.text());
}

#[test]
fn formula_cells_are_exported_as_text_and_imported_back() {
    let csv = "FAQ-ID,カテゴリ,質問,回答,関連FAQ,関連URL,担当課,公開,公開開始日,公開終了日\r\n\
               A-1,c,=HYPERLINK(\"http://evil.example\"),@SUM(A1),,,-d,1,2025-01-01,\r\n\
               A-2,+c,'plain,a,,,d,1,2025-01-01,\r\n";
    let entries = faq::csv_io::parse(csv.as_bytes()).unwrap();
    assert_eq!(entries[0].question, "=HYPERLINK(\"http://evil.example\")");
    let out = String::from_utf8(faq::csv_io::export(&entries)).unwrap();
    assert!(
        out.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""),
        "{out}"
    );
    assert!(
        out.contains(",'@SUM(A1),") && out.contains(",'-d,") && out.contains(",'+c,"),
        "{out}"
    );
    // An apostrophe not guarding a formula is the editor's text and stays.
    assert!(out.contains(",'plain,"), "{out}");
    assert_eq!(faq::csv_io::parse(out.as_bytes()).unwrap(), entries);
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
