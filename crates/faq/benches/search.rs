//! Search latency over 10,000 generated entries (p50/p99 printed, criterion for the mean).
use criterion::{criterion_group, criterion_main, Criterion};
use faq::search::{lexicon::Lexicon, Index, IndexDoc, Visibility};
use std::sync::Arc;
use std::time::Instant;

const QUERIES: &[&str] = &["住民票", "税金", "こせき", "国保 やめたい", "引っ越し 手続き", "粗大ごみ いくら", "ﾏｲﾅﾝﾊﾞｰ 暗証番号", "保育園 申込み"];

fn generated(n: usize) -> Vec<IndexDoc> {
    // Recombine vocabulary from the sample domain so postings have realistic lengths.
    let subjects = ["住民票", "戸籍謄本", "印鑑登録", "国民健康保険", "児童手当", "粗大ごみ", "固定資産税", "市県民税", "保育所", "避難所", "水道", "介護保険", "マイナンバーカード", "転入届", "道路"];
    let verbs = ["を取りたい", "の手続きは？", "はいくらですか", "をなくした", "の申請方法", "はどこで", "を郵送で請求したい", "の期限は"];
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
    for _ in 0..50 {
        for q in QUERIES {
            let t = Instant::now();
            std::hint::black_box(idx.search(q, Visibility::PublicOn("2026-01-01"), 10));
            lat.push(t.elapsed());
        }
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
            idx.search(QUERIES[i % QUERIES.len()], Visibility::PublicOn("2026-01-01"), 10)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
