//! The prompt names are the contract with scripts/make-prompts.sh: every one is in
//! prompts/ja/ and is a WAV file (the format itself is checked by media::Prompt::from_wav).
//! An integration test, since the machine itself reads no file.

use std::path::PathBuf;

#[test]
fn every_prompt_file_is_in_the_repository() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../prompts/ja");
    let missing: Vec<String> = callctl::announce::all_prompt_files()
        .into_iter()
        .filter(|name| {
            let bytes = std::fs::read(dir.join(format!("{name}.wav"))).unwrap_or_default();
            !(bytes.len() > 44 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "missing or not WAV in {} (run scripts/make-prompts.sh): {missing:?}",
        dir.display()
    );
}
