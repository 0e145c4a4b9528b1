//! SDES in offer/answer (RFC 4568 §7): which audio streams may carry `a=crypto`, and
//! the keys an exchange settles.
//!
//! Policy (issue 9): keys travel in the SDP, so SDES is only as secret as the SIP
//! signalling. On a leg that is not SIP over TLS we never offer or answer a key, and an
//! `RTP/SAVP` offer is refused (488): a key sent in clear protects nothing, and
//! answering it would only pretend to. `a=crypto` on a plain `RTP/AVP` offer (baresip's
//! optional "srtp" mode, RFC 4568 §7.1.1 best effort) is then ignored: plain RTP, as
//! the offerer allowed.

use super::MediaDescription;

/// What a leg may do with SDES keys: `Off` on any leg whose SIP is not over TLS, else
/// the configured `[sip] tls_srtp`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sdes {
    #[default]
    Off,
    /// Offer RTP/AVP with `a=crypto` (best effort); answer keys on either profile.
    Optional,
    /// Offer RTP/SAVP with `a=crypto`; refuse offers without a usable key (488).
    Mandatory,
}
use crate::srtp::{CryptoAttr, MasterKey, SrtpKeys, Suite};

/// Whether `proto` is a secure RTP profile (RFC 3711 §12, RFC 5124).
pub(super) fn secure_proto(proto: &str) -> bool {
    proto.eq_ignore_ascii_case("RTP/SAVP") || proto.eq_ignore_ascii_case("RTP/SAVPF")
}

/// The first `a=crypto` line of `m` we can use (§7.1.1: the offerer's preference order).
pub(super) fn first_usable(m: &MediaDescription) -> Option<CryptoAttr> {
    m.attributes
        .iter()
        .filter(|a| a.name == "crypto")
        .filter_map(|a| a.value.as_deref())
        .find_map(|v| CryptoAttr::parse(v).ok())
}

/// Our answer line for the peer's chosen `theirs`: same tag and suite, our own fresh
/// key (§6.1: each direction has its own key). Returns the attribute value and keys.
pub(super) fn answer_line(theirs: &CryptoAttr) -> (String, SrtpKeys) {
    let ours = CryptoAttr {
        tag: theirs.tag,
        suite: theirs.suite,
        key: MasterKey::random(),
    };
    let keys = SrtpKeys {
        suite: theirs.suite,
        ours: ours.key.clone(),
        theirs: theirs.key.clone(),
    };
    (ours.to_value(), keys)
}

/// Our offer line: AES_CM_128_HMAC_SHA1_80 (the mandatory suite, RFC 4568 §6.2.1) with a
/// fresh key.
pub fn offer_line() -> String {
    CryptoAttr {
        tag: 1,
        suite: Suite::AesCm128HmacSha1_80,
        key: MasterKey::random(),
    }
    .to_value()
}

/// The keys settled by the answer to our offer `ours`: the answer's line must carry the
/// tag and suite of one of ours (§7.1.3).
pub(super) fn from_answer(ours: &MediaDescription, theirs: &MediaDescription) -> Option<SrtpKeys> {
    let answered = first_usable(theirs)?;
    let mine = ours
        .attributes
        .iter()
        .filter(|a| a.name == "crypto")
        .filter_map(|a| a.value.as_deref())
        .filter_map(|v| CryptoAttr::parse(v).ok())
        .find(|c| c.tag == answered.tag && c.suite == answered.suite)?;
    Some(SrtpKeys {
        suite: mine.suite,
        ours: mine.key,
        theirs: answered.key,
    })
}
