//! Cost of SRTP on the relay's packet path: protecting one 20 ms PCMU packet (172 bytes
//! of RTP) and unprotecting it again, AES_CM_128_HMAC_SHA1_80, in place, no allocation.
//! Run: `cargo bench -p media --bench srtp`.

use criterion::{criterion_group, criterion_main, Criterion};
use media::srtp::{MasterKey, SrtpSession, Suite};
use std::hint::black_box;

fn protect_unprotect(c: &mut Criterion) {
    let key = MasterKey::random();
    let mut tx = SrtpSession::new(Suite::AesCm128HmacSha1_80, &key);
    let mut rx = SrtpSession::new(Suite::AesCm128HmacSha1_80, &key);
    let mut buf = [0u8; 1500];
    let mut seq: u16 = 0;
    c.bench_function("srtp_protect_unprotect_172_bytes", |b| {
        b.iter(|| {
            buf[..12].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 160, 1, 2, 3, 4]);
            buf[2..4].copy_from_slice(&seq.to_be_bytes());
            seq = seq.wrapping_add(1);
            let n = tx.protect_rtp(&mut buf, 172).unwrap();
            black_box(rx.unprotect_rtp(&mut buf, black_box(n)).unwrap());
        })
    });
}

criterion_group!(benches, protect_unprotect);
criterion_main!(benches);
