//! Reading a configuration file: TOML syntax, types, then `validate`; every error
//! carries the file, line and column of the value to fix.

use std::fmt;
use std::path::Path;

use crate::config::Config;
use crate::spans::{line_col, SpanIndex};
use crate::validate::validate;

/// The configuration the program starts with when given none: everything on loopback.
pub const DEFAULT_TOML: &str = include_str!("../../../dialplans/default.toml");

/// The name `DEFAULT_TOML` is reported under.
pub const DEFAULT_FILE_NAME: &str = "dialplans/default.toml";

/// What is wrong, and where. `line` is 0 when the file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// The embedded default configuration.
///
/// # Panics
/// Never in a released build: a test parses `DEFAULT_TOML`, so a broken default
/// fails the build's tests, not a start.
pub fn default_config() -> Config {
    match parse(DEFAULT_TOML, DEFAULT_FILE_NAME) {
        Ok(cfg) => cfg,
        Err(e) => panic!("the embedded default configuration is invalid: {e}"),
    }
}

/// Reads and checks the file at `path`; the first error found.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read the configuration file: {e}"),
    })?;
    parse(&text, &file)
}

/// Parses and checks `text` (named `file_name` in errors); the first error found.
pub fn parse(text: &str, file_name: &str) -> Result<Config, ConfigError> {
    check(text, file_name).map_err(|mut errors| errors.swap_remove(0))
}

/// Parses and checks `text`, reporting every semantic error at once (for
/// `madoguchi check`). A syntax or type error stops parsing, so it comes alone.
/// The error list is never empty.
pub fn check(text: &str, file_name: &str) -> Result<Config, Vec<ConfigError>> {
    let index = SpanIndex::parse(text);
    let at = |offset: usize, message: String| {
        let (line, column) = line_col(text, offset);
        ConfigError {
            file: file_name.to_string(),
            line,
            column,
            message,
        }
    };
    let cfg: Config = toml::from_str(text).map_err(|e| {
        let message = explain(e.message());
        let span = e.span().map(|s| index.refine(s, &message)).unwrap_or(0..0);
        vec![at(span.start, message)]
    })?;
    let problems = validate(&cfg);
    if problems.is_empty() {
        return Ok(cfg);
    }
    let mut errors: Vec<ConfigError> = problems
        .into_iter()
        .map(|p| at(index.span(&p.path).start, p.message))
        .collect();
    errors.sort_by_key(|e| (e.line, e.column));
    Err(errors)
}

/// serde's messages name Rust fields; say it in the file's terms, with the fix.
fn explain(message: &str) -> String {
    const TABLES: [&str; 5] = ["switch", "sip", "http", "media", "hours"];
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.trim_end_matches('`');
        if TABLES.contains(&key) {
            return format!(
                "the [{key}] table is missing; add it (dialplans/default.toml has an example)"
            );
        }
        return format!("missing key `{key}`; add `{key} = …` here");
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((key, expected)) = rest.split_once("`, ") {
            return format!("unknown key `{key}` (a typo?); {expected}");
        }
    }
    message.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_loads() {
        let cfg = default_config();
        assert_eq!(cfg.numbers.len(), 6);
        assert_eq!(cfg.hours.timezone_offset_minutes, 540);
        assert_eq!(cfg.trunk("pbx").map(|t| t.channels), Some(48));
    }

    #[test]
    fn a_configuration_written_back_reads_the_same() {
        // Serialize must mirror Deserialize, so the effective configuration can be shown
        // (e.g. by the HTTP API) and read back.
        let cfg = default_config();
        let text = toml::to_string(&cfg).unwrap();
        assert_eq!(parse(&text, "written.toml"), Ok(cfg));
    }

    #[test]
    fn display_has_file_line_column() {
        let e = ConfigError {
            file: "a.toml".into(),
            line: 3,
            column: 7,
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "a.toml:3:7: bad");
    }

    #[test]
    fn unreadable_file_names_the_file() {
        let e = load(Path::new("/nonexistent/madoguchi.toml")).unwrap_err();
        assert_eq!(e.line, 0);
        assert!(
            e.to_string()
                .starts_with("/nonexistent/madoguchi.toml: cannot read"),
            "{e}"
        );
    }
}
