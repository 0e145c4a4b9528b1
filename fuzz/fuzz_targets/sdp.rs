#![no_main]
//! cargo-fuzz target: see crates/fuzzing (the body, also run bounded in CI).
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::sdp(data));
