//! Search latency over 10,000 generated entries (p50/p99 printed, criterion for the mean),
//! and requests per second of the public search page over HTTPS (the running service with
//! the same 10,000 entries, concurrent keep-alive clients on 127.0.0.1).
use criterion::{criterion_group, criterion_main, Criterion};
use faq::search::{lexicon::Lexicon, Index, IndexDoc, Visibility};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const QUERIES: &[&str] = &[
    "住民票",
    "税金",
    "こせき",
    "国保 やめたい",
    "引っ越し 手続き",
    "粗大ごみ いくら",
    "ﾏｲﾅﾝﾊﾞｰ 暗証番号",
    "保育園 申込み",
];

fn generated(n: usize) -> Vec<IndexDoc> {
    // Recombine vocabulary from the sample domain so postings have realistic lengths.
    let subjects = [
        "住民票",
        "戸籍謄本",
        "印鑑登録",
        "国民健康保険",
        "児童手当",
        "粗大ごみ",
        "固定資産税",
        "市県民税",
        "保育所",
        "避難所",
        "水道",
        "介護保険",
        "マイナンバーカード",
        "転入届",
        "道路",
    ];
    let verbs = [
        "を取りたい",
        "の手続きは？",
        "はいくらですか",
        "をなくした",
        "の申請方法",
        "はどこで",
        "を郵送で請求したい",
        "の期限は",
    ];
    (0..n)
        .map(|i| {
            let s = subjects[i % subjects.len()];
            let v = verbs[(i / subjects.len()) % verbs.len()];
            IndexDoc {
                id: format!("GEN-{i:05}"),
                question: format!("{s}{v}（{i}）"),
                answer: format!("{s}については、市役所本庁舎1階の窓口または各支所で受け付けています。受付時間は平日8:30〜17:15です。手数料は{}円です。本人確認書類をお持ちください。詳しくは担当課までお問い合わせください。番号{i}。", 100 + i % 900),
                category: format!("くらし > {s}"),
                department: "市民課".into(),
                public: i % 10 != 0,
                start: "2025-07-01".into(),
                end: String::new(),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let docs = generated(10_000);
    let t = Instant::now();
    let idx = Index::build(Arc::new(Lexicon::builtin()), &docs);
    eprintln!("index build, 10,000 entries: {:?}", t.elapsed());
    let mut lat = Vec::new();
    for q in QUERIES {
        let mut per = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            std::hint::black_box(idx.search(q, Visibility::PublicOn("2026-01-01"), 10));
            per.push(t.elapsed());
        }
        lat.extend_from_slice(&per);
        per.sort();
        eprintln!("  {q:<24} p50 {:?}", per[per.len() / 2]);
    }
    lat.sort();
    eprintln!(
        "search latency over 10,000 entries ({} queries): p50 {:?}  p99 {:?}",
        lat.len(),
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100]
    );
    c.bench_function("search_10k_mixed", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            idx.search(
                QUERIES[i % QUERIES.len()],
                Visibility::PublicOn("2026-01-01"),
                10,
            )
        })
    });
}

fn to_entry(d: &IndexDoc) -> faq::model::Entry {
    faq::model::Entry {
        id: d.id.clone(),
        category: d.category.clone(),
        question: d.question.clone(),
        answer: d.answer.clone(),
        related_faq: String::new(),
        related_url: String::new(),
        department: d.department.clone(),
        public: d.public,
        publish_start: d.start.clone(),
        publish_end: d.end.clone(),
    }
}

const CLIENTS: usize = 8;
const LOAD_SECS: u64 = 10;

fn bench_http(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("faq-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let entries: Vec<_> = generated(10_000).iter().map(to_entry).collect();
    let seed = dir.join("seed.csv");
    std::fs::write(&seed, faq::csv_io::export(&entries)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let running = rt
        .block_on(faq::start(faq::FaqConfig {
            data_dir: dir.join("data"),
            listen: "127.0.0.1:0".parse().unwrap(),
            seed_csv: Some(seed),
            admin_password: Some("bench-admin-pw".into()),
            ..faq::FaqConfig::default()
        }))
        .unwrap();
    let (addr, cert) = (running.addr, running.cert_path.clone());
    let paths: Vec<String> = QUERIES
        .iter()
        .map(|q| format!("/search?q={}", faq::web::html::url_enc(q)))
        .collect();

    // Load loop: CLIENTS keep-alive connections for LOAD_SECS seconds.
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..CLIENTS {
            let (done, failed, stop, paths, cert) = (
                done.clone(),
                failed.clone(),
                stop.clone(),
                paths.clone(),
                cert.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut client = faq::client::Client::new(addr, &cert).unwrap();
                let mut n = i;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    match client.get(&paths[n % paths.len()]).await {
                        Ok(r) if r.status == 200 => done.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(LOAD_SECS)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let ok = done.load(Ordering::Relaxed);
    eprintln!(
        "public search page over HTTPS, 10,000 entries, {CLIENTS} keep-alive clients, {secs:.1} s: {ok} ok, {} failed, {:.0} requests/s",
        failed.load(Ordering::Relaxed),
        ok as f64 / secs
    );

    let mut client = faq::client::Client::new(addr, &cert).unwrap();
    c.bench_function("public_search_page_one_client", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            rt.block_on(client.get(&paths[i % paths.len()])).unwrap()
        })
    });
    rt.block_on(running.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench, bench_http);
criterion_main!(benches);
