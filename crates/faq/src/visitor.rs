//! Counting citizens, not requests: a view or a rating counts once per visitor and entry
//! (per day for views, for good for ratings while the service runs), so reloading a page
//! or posting a form in a loop does not move the ranking or the ratings.
//!
//! A visitor is the `faq_visitor` cookie, signed with a key made at start so that made-up
//! values are not visitors; without a valid cookie, the address is the visitor. Because a
//! script can fetch a fresh cookie for every request, each address also has a daily cap
//! per entry (generous: many citizens share one address behind a carrier's NAT).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

pub const COOKIE: &str = "faq_visitor";
const DAY: i64 = 86_400;
/// Counted views or ratings of one entry from one address per day.
pub const PER_ADDRESS_PER_DAY: u32 = 20;
/// Remembered (visitor, entry) pairs before the oldest day is dropped.
const MAX_REMEMBERED: usize = 200_000;

pub struct Visitors {
    key: [u8; 32],
    views: Once,
    ratings: Once,
}

#[derive(Default)]
struct Once {
    /// (visitor, entry) → day first counted.
    seen: Mutex<HashMap<(String, String), i64>>,
    /// (address, entry, day) → counted.
    per_address: Mutex<HashMap<(String, String, i64), u32>>,
}

impl Default for Visitors {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut key[..]);
        Visitors {
            key,
            views: Once::default(),
            ratings: Once::default(),
        }
    }
}

impl Visitors {
    /// A new visitor id with its signature, for the cookie.
    pub fn issue(&self) -> String {
        let id = crate::auth::random_hex(16);
        let sig = self.sign(&id);
        format!("{id}.{sig}")
    }

    /// The visitor id of a cookie value, if we signed it.
    pub fn verify<'a>(&self, cookie: &'a str) -> Option<&'a str> {
        let (id, sig) = cookie.split_once('.')?;
        (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(())
            .filter(|_| crate::web::constant_eq(self.sign(id).as_bytes(), sig.as_bytes()))
            .map(|_| id)
    }

    fn sign(&self, id: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(id.as_bytes());
        hex::encode(&h.finalize()[..16])
    }

    /// Whether this view of `entry` counts (the first today by this visitor). A request
    /// without a valid cookie is the address's, and also the new cookie's (`issued`), so
    /// the same citizen's next request, which carries it, is not counted again.
    pub fn count_view(
        &self,
        visitor: Option<&str>,
        issued: Option<&str>,
        addr: &str,
        entry: &str,
        now: i64,
    ) -> bool {
        self.views.first(
            &keys(visitor, issued, addr),
            addr,
            entry,
            now.div_euclid(DAY),
            true,
        )
    }

    /// Whether this rating of `entry` counts (the visitor's first).
    pub fn count_rating(&self, visitor: Option<&str>, addr: &str, entry: &str, now: i64) -> bool {
        self.ratings.first(
            &keys(visitor, None, addr),
            addr,
            entry,
            now.div_euclid(DAY),
            false,
        )
    }
}

fn keys(visitor: Option<&str>, issued: Option<&str>, addr: &str) -> Vec<String> {
    match visitor {
        Some(v) => vec![format!("v:{v}")],
        None => std::iter::once(format!("a:{addr}"))
            .chain(issued.map(|v| format!("v:{v}")))
            .collect(),
    }
}

impl Once {
    fn first(&self, who: &[String], addr: &str, entry: &str, day: i64, daily: bool) -> bool {
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            for w in who {
                if let Some(&d) = seen.get(&(w.clone(), entry.to_string())) {
                    if !daily || d == day {
                        return false;
                    }
                }
            }
            if seen.len() >= MAX_REMEMBERED {
                // Forget the oldest days first; ratings from then may count again.
                seen.retain(|_, d| *d >= day);
                if seen.len() >= MAX_REMEMBERED {
                    seen.clear();
                }
            }
            for w in who {
                seen.insert((w.clone(), entry.to_string()), day);
            }
        }
        let mut per = self.per_address.lock().unwrap_or_else(|e| e.into_inner());
        per.retain(|k, _| k.2 >= day);
        let n = per
            .entry((addr.to_string(), entry.to_string(), day))
            .or_default();
        if *n >= PER_ADDRESS_PER_DAY {
            return false;
        }
        *n += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_visitor_and_capped_per_address() {
        let v = Visitors::default();
        let c = v.issue();
        let id = v.verify(&c).expect("own cookie verifies");
        assert!(v.verify("0123456789abcdef0123456789abcdef.00").is_none());
        assert!(v.verify(&c.replace('.', "x.")).is_none());
        let t = 1_800_000_000;
        // First visit: no cookie yet; the one issued with the page is remembered too.
        assert!(v.count_view(None, Some(id), "192.0.2.1", "FAQ-1", t));
        assert!(!v.count_view(Some(id), None, "192.0.2.1", "FAQ-1", t + 60));
        assert!(
            !v.count_view(None, None, "192.0.2.1", "FAQ-1", t + 60),
            "no cookie: the address"
        );
        assert!(
            v.count_view(Some(id), None, "192.0.2.1", "FAQ-1", t + DAY),
            "views count again the next day"
        );
        assert!(v.count_rating(Some(id), "192.0.2.1", "FAQ-1", t));
        assert!(
            !v.count_rating(Some(id), "192.0.2.1", "FAQ-1", t + DAY),
            "ratings once"
        );
        assert!(v.count_rating(None, "192.0.2.2", "FAQ-1", t));
        assert!(
            !v.count_rating(None, "192.0.2.2", "FAQ-1", t),
            "no cookie: once per address"
        );
        // Fresh cookies from one address stop counting at the cap.
        let counted = (0..50)
            .filter(|i| v.count_rating(Some(&format!("{i:032x}")), "192.0.2.3", "FAQ-2", t))
            .count();
        assert_eq!(counted, PER_ADDRESS_PER_DAY as usize);
    }
}
