//! Our crash-safe WAV writing (`wav.rs`: data by positional write, then the two size
//! fields patched) against hound's `WavWriter` with `flush()` after every chunk (hound
//! ≥ 3.4 rewrites the sizes on flush, so it is crash-safe at the same granularity).
//!
//! The recorder's pattern: CALLS files written side by side, each getting half a second
//! of 8 kHz 16-bit stereo (16,000 bytes) per chunk, header valid after every chunk, for
//! SECS seconds of audio. No fsync in either (both need the same fdatasync once a second
//! against power loss; it does not depend on who writes the header). Measured: the
//! process's CPU time and the wall time, best of three runs each.
//!
//! `cargo bench -p recorder --bench wav_header`; RECORDER_BENCH_CALLS (default 200),
//! RECORDER_BENCH_SECS (default 120), RECORDER_BENCH_DIR (default the temp dir).

use recorder::wav;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

const CHUNK_BYTES: usize = 16_000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpu_secs() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// One chunk as the writer has it: interleaved little-endian samples.
fn chunk() -> Vec<u8> {
    (0..CHUNK_BYTES / 2)
        .flat_map(|i| (((i * 97) % 2000) as i16 - 1000).to_le_bytes())
        .collect()
}

fn ours(paths: &[PathBuf], chunks: usize, data: &[u8]) {
    use std::os::unix::fs::FileExt;
    let files: Vec<File> = paths
        .iter()
        .map(|p| {
            let f = File::options()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(p)
                .unwrap();
            f.write_all_at(&wav::header(0), 0).unwrap();
            f
        })
        .collect();
    for c in 0..chunks {
        let offset = (c * CHUNK_BYTES) as u64;
        for f in &files {
            f.write_all_at(data, wav::HEADER_LEN + offset).unwrap();
            wav::patch_sizes(f, offset + CHUNK_BYTES as u64).unwrap();
        }
    }
}

fn hound_flush(paths: &[PathBuf], chunks: usize, data: &[u8]) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writers: Vec<hound::WavWriter<BufWriter<File>>> = paths
        .iter()
        .map(|p| hound::WavWriter::create(p, spec).unwrap())
        .collect();
    let samples: Vec<i16> = data
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    for _ in 0..chunks {
        for w in &mut writers {
            // hound's fastest path: a sample writer for the chunk, then flush().
            let mut sw = w.get_i16_writer(samples.len() as u32);
            for &s in &samples {
                sw.write_sample(s);
            }
            sw.flush().unwrap();
            w.flush().unwrap();
        }
    }
    for w in writers {
        w.finalize().unwrap();
    }
}

fn run(name: &str, dir: &Path, calls: usize, chunks: usize, f: fn(&[PathBuf], usize, &[u8])) {
    let data = chunk();
    let mut best = (f64::MAX, f64::MAX);
    for round in 0..3 {
        let paths: Vec<PathBuf> = (0..calls)
            .map(|i| dir.join(format!("{name}-{round}-{i}.wav")))
            .collect();
        let (c0, t0) = (cpu_secs(), Instant::now());
        f(&paths, chunks, &data);
        let (cpu, wall) = (cpu_secs() - c0, t0.elapsed().as_secs_f64());
        best = (best.0.min(cpu), best.1.min(wall));
        // Both must leave files hound reads back whole.
        let r = hound::WavReader::open(&paths[0]).unwrap();
        assert_eq!(r.len() as usize, chunks * CHUNK_BYTES / 2, "{name}");
        for p in &paths {
            let _ = std::fs::remove_file(p);
        }
    }
    let audio_secs = (calls * chunks) as f64 / 2.0;
    println!(
        "{name:>12}: {calls} files × {} s: CPU {:.3} s, wall {:.3} s \
         ({:.1} µs CPU per second of audio)",
        chunks / 2,
        best.0,
        best.1,
        best.0 / audio_secs * 1e6
    );
}

fn main() {
    let calls = env("RECORDER_BENCH_CALLS", 200) as usize;
    let secs = env("RECORDER_BENCH_SECS", 120) as usize;
    let dir = std::env::var("RECORDER_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir())
        .join(format!("wav-header-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let chunks = secs * 2;
    run("ours", &dir, calls, chunks, ours);
    run("hound+flush", &dir, calls, chunks, hound_flush);
    let _ = std::fs::remove_dir_all(&dir);
}
