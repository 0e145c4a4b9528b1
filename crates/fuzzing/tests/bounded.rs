//! The fuzz targets run in CI, bounded: each corpus file of `fuzz/corpus/<target>/` as
//! is, then a fixed number of seeded mutations of them (byte flips, cuts, duplicated
//! ranges, random bytes, CRLF→LF, interesting numbers). A panic names the target, the
//! iteration and the input. cargo-fuzz (`fuzz/`) runs the same functions coverage-guided.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

const CASES: usize = 5_000;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!seeds.is_empty(), "no corpus for {target}");
    seeds
}

const NUMBERS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"4294967296",
    b"18446744073709551616",
    b"65535",
    b"99999999999",
    b"\"",
    b"\\",
    b"%",
    b"=",
    b",",
    b":",
    b";",
    b"\r\n",
    b"\r\n ",
    b"\0",
    b"\xff",
];

fn mutate(rng: &mut StdRng, buf: &mut Vec<u8>) {
    let at = |rng: &mut StdRng, len: usize| {
        if len == 0 {
            0
        } else {
            rng.random_range(0..=len)
        }
    };
    match rng.random_range(0..7) {
        0 if !buf.is_empty() => {
            let i = rng.random_range(0..buf.len());
            buf[i] ^= 1 << rng.random_range(0..8);
        }
        1 => {
            let i = at(rng, buf.len());
            buf.truncate(i);
        }
        2 if !buf.is_empty() => {
            let a = rng.random_range(0..buf.len());
            let b = (a + rng.random_range(1..64)).min(buf.len());
            let part = buf[a..b].to_vec();
            let i = at(rng, buf.len());
            buf.splice(i..i, part);
        }
        3 if !buf.is_empty() => {
            let a = rng.random_range(0..buf.len());
            let b = (a + rng.random_range(1..32)).min(buf.len());
            buf.drain(a..b);
        }
        4 => {
            let n = NUMBERS[rng.random_range(0..NUMBERS.len())];
            let i = at(rng, buf.len());
            buf.splice(i..i, n.iter().copied());
        }
        5 => {
            let s = String::from_utf8_lossy(buf).replace("\r\n", "\n");
            *buf = s.into_bytes();
        }
        _ => {
            let i = at(rng, buf.len());
            let junk: Vec<u8> = (0..rng.random_range(1..9)).map(|_| rng.random()).collect();
            buf.splice(i..i, junk);
        }
    }
}

fn run(target: &str, seed: u64, body: fn(&[u8])) {
    let seeds = corpus(target);
    let mut rng = StdRng::seed_from_u64(seed);
    let cases = seeds.iter().cloned().chain((0..CASES).map(|_| {
        let mut b = seeds[rng.random_range(0..seeds.len())].clone();
        for _ in 0..rng.random_range(1..=4) {
            mutate(&mut rng, &mut b);
        }
        b
    }));
    for (i, input) in cases.enumerate() {
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| body(&input))) {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "{target}, case {i}: {what}\ninput: {:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}

#[test]
fn sip_message() {
    run("sip_message", 1, fuzzing::sip_message);
}

#[test]
fn sdp() {
    run("sdp", 2, fuzzing::sdp);
}

#[test]
fn digest() {
    run("digest", 3, fuzzing::digest);
}

#[test]
fn rtp() {
    run("rtp", 4, fuzzing::rtp);
}
