//! Dial patterns in Asterisk's notation (one character per dialled digit): `X` any digit,
//! `Z` 1–9, `N` 2–9, a digit itself, `[1-5]` or `[135]` a set. A pattern matches a whole
//! string of exactly its length; no wildcards of variable length, so a pattern can never
//! swallow an outside number.

/// One position of a pattern: the digits it takes.
fn classes(pattern: &str) -> Result<Vec<[bool; 10]>, String> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let mut set = [false; 10];
        match c {
            'X' | 'x' => set = [true; 10],
            'Z' | 'z' => set[1..].fill(true),
            'N' | 'n' => set[2..].fill(true),
            '0'..='9' => set[usize::from(c as u8 - b'0')] = true,
            '[' => {
                let mut body = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(ch) => body.push(ch),
                        None => return Err("a '[' is not closed by ']'".into()),
                    }
                }
                let b: Vec<char> = body.chars().collect();
                let mut i = 0;
                while i < b.len() {
                    let digit = |ch: char| {
                        ch.to_digit(10)
                            .map(|d| d as usize)
                            .ok_or_else(|| format!("'{ch}' in [{body}] is not a digit"))
                    };
                    let lo = digit(b[i])?;
                    if b.get(i + 1) == Some(&'-') && i + 2 < b.len() {
                        let hi = digit(b[i + 2])?;
                        if hi < lo {
                            return Err(format!("range {lo}-{hi} in [{body}] is inverted"));
                        }
                        set[lo..=hi].fill(true);
                        i += 3;
                    } else {
                        set[lo] = true;
                        i += 1;
                    }
                }
                if !set.contains(&true) {
                    return Err("an empty set [] matches nothing".into());
                }
            }
            other => {
                return Err(format!(
                    "'{other}' is not a pattern character; use digits, X (any digit), \
                     Z (1-9), N (2-9) or a set like [1-5]"
                ))
            }
        }
        out.push(set);
    }
    Ok(out)
}

/// Whether `pattern` is well-formed and of a sensible length for an extension.
pub(crate) fn check(pattern: &str) -> Result<(), String> {
    let positions = classes(pattern)?;
    if positions.is_empty() || positions.len() > 8 {
        return Err("an extension pattern has 1 to 8 positions, e.g. \"XXXX\"".into());
    }
    Ok(())
}

/// Whether `digits` (all of it) matches `pattern`. A malformed pattern matches nothing
/// (`check` refuses it at load).
pub(crate) fn matches(pattern: &str, digits: &str) -> bool {
    let Ok(positions) = classes(pattern) else {
        return false;
    };
    positions.len() == digits.len()
        && positions
            .iter()
            .zip(digits.bytes())
            .all(|(set, b)| b.is_ascii_digit() && set[usize::from(b - b'0')])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_take_their_digits() {
        assert!(matches("XXXX", "2101"));
        assert!(matches("XXXX", "0000"));
        assert!(!matches("XXXX", "210"));
        assert!(!matches("XXXX", "21012"));
        assert!(!matches("XXXX", "21a1"));
        assert!(matches("ZXXX", "1000") && !matches("ZXXX", "0999"));
        assert!(matches("NXXX", "2000") && !matches("NXXX", "1999"));
        assert!(matches("2[1-3]0[15]", "2205") && matches("2[1-3]0[15]", "2301"));
        assert!(!matches("2[1-3]0[15]", "2401") && !matches("2[1-3]0[15]", "2102"));
        assert!(matches("29[09]9", "2999") && !matches("29[09]9", "2919"));
    }

    #[test]
    fn malformed_patterns_are_explained_and_match_nothing() {
        for bad in ["", "XX?X", "2[1-", "[]", "[5-1]", "[a]", "XXXXXXXXX"] {
            assert!(check(bad).is_err(), "{bad}");
            assert!(!matches(bad, "2101"), "{bad}");
        }
        assert!(check("XXXX").is_ok());
        assert!(check("2[0-9]XX").is_ok());
    }
}
