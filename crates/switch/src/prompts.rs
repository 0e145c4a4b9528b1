//! The announcements, loaded once at start, and the sequences calls play (greeting then
//! recording notice, "you are number" + "3" + "in line"). A sequence is joined and
//! G.711-encoded once and then shared: building it per call was the single hottest
//! function of the switch under call load (benches/profile.sh, 200 calls/s).

use media::Prompt;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// More distinct sequences than any configuration plays (queues × prompt lists ×
/// positions); past it the cache starts over rather than grow.
const MAX_SEQUENCES: usize = 512;

pub struct Prompts {
    by_name: HashMap<String, Arc<Prompt>>,
    sequences: Mutex<HashMap<Vec<String>, Arc<Prompt>>>,
}

impl Prompts {
    pub fn load(dir: &Path) -> Prompts {
        Prompts::from_map(load_dir(dir))
    }

    pub fn from_map(by_name: HashMap<String, Arc<Prompt>>) -> Prompts {
        Prompts {
            by_name,
            sequences: Mutex::new(HashMap::new()),
        }
    }

    /// The named prompts one after another (missing names are skipped: the caller hears
    /// the rest); None when none of them exists.
    pub fn sequence(&self, names: &[String]) -> Option<Arc<Prompt>> {
        if let [one] = names {
            return self.by_name.get(one).cloned();
        }
        if let Some(p) = self.sequences.lock().ok()?.get(names) {
            return Some(p.clone());
        }
        let mut pcm: Vec<i16> = Vec::new();
        for n in names {
            match self.by_name.get(n) {
                Some(p) => pcm.extend_from_slice(p.samples()),
                None => tracing::debug!(prompt = %n, "prompt not found"),
            }
        }
        if pcm.is_empty() {
            return None;
        }
        let joined = Arc::new(Prompt::from_samples(pcm));
        if let Ok(mut cache) = self.sequences.lock() {
            if cache.len() >= MAX_SEQUENCES {
                cache.clear();
            }
            cache.insert(names.to_vec(), joined.clone());
        }
        Some(joined)
    }
}

/// Load every `*.wav` under the prompts folder (and its sub-folders such as `num/`),
/// keyed by the path without `.wav`. A prompt that can't be read is logged and skipped:
/// the call goes on without it.
fn load_dir(dir: &Path) -> HashMap<String, Arc<Prompt>> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "wav") {
                let key = p
                    .strip_prefix(dir)
                    .unwrap_or(&p)
                    .with_extension("")
                    .to_string_lossy()
                    .replace('\\', "/");
                match Prompt::from_wav(&p) {
                    Ok(pr) => {
                        out.insert(key, Arc::new(pr));
                    }
                    Err(e) => tracing::warn!(path = %p.display(), error = %e, "prompt not loaded"),
                }
            }
        }
    }
    let missing: Vec<String> = crate::announce::all_prompt_files()
        .into_iter()
        .filter(|f| !out.contains_key(f))
        .collect();
    if !missing.is_empty() {
        tracing::warn!(dir = %dir.display(), count = missing.len(), first = %missing[0], "prompts missing: callers hear silence in their place (run scripts/make-prompts.sh)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts() -> Prompts {
        let mut m = HashMap::new();
        m.insert(
            "a".to_string(),
            Arc::new(Prompt::from_samples(vec![1; 160])),
        );
        m.insert(
            "b".to_string(),
            Arc::new(Prompt::from_samples(vec![2; 320])),
        );
        Prompts::from_map(m)
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_sequence_is_joined_in_order_once_and_then_shared() {
        let p = prompts();
        let ab = p.sequence(&names(&["a", "missing", "b"])).unwrap();
        assert_eq!(ab.samples().len(), 480);
        assert_eq!(ab.samples()[0], 1);
        assert_eq!(ab.samples()[479], 2);
        let again = p.sequence(&names(&["a", "missing", "b"])).unwrap();
        assert!(Arc::ptr_eq(&ab, &again), "the second call joined it again");
        let ba = p.sequence(&names(&["b", "a"])).unwrap();
        assert_eq!(ba.samples()[0], 2, "order is part of the key");
    }

    #[test]
    fn one_name_is_the_loaded_prompt_and_none_is_nothing() {
        let p = prompts();
        let a = p.sequence(&names(&["a"])).unwrap();
        assert!(Arc::ptr_eq(&a, &p.by_name["a"]));
        assert!(p.sequence(&names(&["x", "y"])).is_none());
        assert!(p.sequence(&[]).is_none());
    }
}
