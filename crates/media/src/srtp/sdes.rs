//! SDES: the `a=crypto` SDP attribute (RFC 4568 §9.1), one key per line.
//!
//! `a=crypto:<tag> <suite> inline:<base64(key ‖ salt)>[|<lifetime>][|<MKI>:<len>]
//! [<session params>]`. We accept one inline key without MKI and without session
//! parameters that change the packet format (UNENCRYPTED_SRTP and the like, KDR ≠ 0,
//! §6.3); any other line is skipped so that the peer's next offered line can be taken.

use super::{MasterKey, Suite};
use base64::Engine;

/// One parsed `a=crypto` line we can use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CryptoAttr {
    pub tag: u32,
    pub suite: Suite,
    pub key: MasterKey,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdesError {
    #[error("malformed a=crypto attribute")]
    Malformed,
    #[error("unsupported crypto suite")]
    UnsupportedSuite,
    #[error("unsupported key parameters (MKI, several keys, or session parameters)")]
    Unsupported,
}

impl CryptoAttr {
    /// Parses the value of an `a=crypto` attribute (after `crypto:`).
    pub fn parse(value: &str) -> Result<CryptoAttr, SdesError> {
        let mut it = value.split_ascii_whitespace();
        let tag: u32 = it
            .next()
            .and_then(|t| t.parse().ok())
            .filter(|t| *t < 1_000_000_000)
            .ok_or(SdesError::Malformed)?;
        let suite = Suite::from_name(it.next().ok_or(SdesError::Malformed)?)
            .ok_or(SdesError::UnsupportedSuite)?;
        let params = it.next().ok_or(SdesError::Malformed)?;
        if it.next().is_some() {
            // Session parameters (§6.3): none that we implement.
            return Err(SdesError::Unsupported);
        }
        if params.contains(';') {
            return Err(SdesError::Unsupported); // several keys
        }
        let inline = params.strip_prefix("inline:").ok_or(SdesError::Malformed)?;
        let mut parts = inline.split('|');
        let b64 = parts.next().unwrap_or_default();
        for p in parts {
            if p.contains(':') {
                return Err(SdesError::Unsupported); // MKI
            }
            // A lifetime (`2^31` or a number): our calls are far shorter than any.
            let ok = p
                .strip_prefix("2^")
                .map_or_else(|| p.parse::<u64>().is_ok(), |e| e.parse::<u32>().is_ok());
            if !ok {
                return Err(SdesError::Malformed);
            }
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| SdesError::Malformed)?;
        if raw.len() != 30 {
            return Err(SdesError::Malformed);
        }
        let mut key = MasterKey {
            key: [0; 16],
            salt: [0; 14],
        };
        key.key.copy_from_slice(&raw[..16]);
        key.salt.copy_from_slice(&raw[16..]);
        Ok(CryptoAttr { tag, suite, key })
    }

    /// The attribute value (after `crypto:`). It holds the key: it goes into SDP bodies
    /// only, never into a log line.
    pub fn to_value(&self) -> String {
        let mut raw = [0u8; 30];
        raw[..16].copy_from_slice(&self.key.key);
        raw[16..].copy_from_slice(&self.key.salt);
        format!(
            "{} {} inline:{}",
            self.tag,
            self.suite.name(),
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}
