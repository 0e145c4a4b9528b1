//! Cost of mixing for a supervised call: one 20 ms tick of a barge (the heaviest mode:
//! three encoded frames in, three mixed frames out). Run: `cargo bench -p media --bench mix`.

use criterion::{criterion_group, criterion_main, Criterion};
use media::g711::{self, Codec};
use media::mix::{MixMode, Mixer, Party};
use std::hint::black_box;

fn barge_tick(c: &mut Criterion) {
    let mut enc = [[0u8; 160]; 3];
    for (i, f) in [440.0, 1000.0, 1400.0].into_iter().enumerate() {
        g711::encode_frame(Codec::Pcmu, &media::tone::sine(f, 0.02, 12000), &mut enc[i]);
    }
    let parties = [Party::Citizen, Party::Operator, Party::Supervisor];
    let mut m = Mixer::new(MixMode::Barge);
    let mut out = [0u8; 160];
    c.bench_function("mix_barge_tick_3_in_3_out", |b| {
        b.iter(|| {
            for (p, e) in parties.iter().zip(&enc) {
                m.push_encoded(*p, Codec::Pcmu, black_box(e));
            }
            m.tick();
            for p in parties {
                m.output(p, Codec::Pcma, &mut out);
                black_box(&out);
            }
        })
    });
}

criterion_group!(benches, barge_tick);
criterion_main!(benches);
