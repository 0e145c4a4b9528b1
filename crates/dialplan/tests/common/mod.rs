//! Helpers of the configuration-error tests: break the default file in one place.

use dialplan::DEFAULT_TOML;

/// The default file with `from` (which must occur exactly once) replaced by `to`.
pub fn edit(from: &str, to: &str) -> String {
    assert_eq!(
        DEFAULT_TOML.matches(from).count(),
        1,
        "'{from}' must occur once"
    );
    DEFAULT_TOML.replacen(from, to, 1)
}

/// 1-based line of the first occurrence of `needle` in `text`.
pub fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("'{needle}' not in text"));
    text[..at].matches('\n').count() + 1
}
