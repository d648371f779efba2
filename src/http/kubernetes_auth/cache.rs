//! Decisions remembered per token and path: allowed ones for minutes (a
//! scrape every few seconds costs no API call), refusals for seconds (a
//! newly granted role takes effect soon), at most [`MAX_ENTRIES`] of them
//! (a flood of forged tokens cannot grow the agent). Tokens are kept only
//! as their SHA-256.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::unpoisoned::lock;

/// How long an allowed request's decision is reused.
pub const ALLOWED_TTL: Duration = Duration::from_secs(120);
/// How long a refusal (bad token, or not allowed) is reused.
pub const DENIED_TTL: Duration = Duration::from_secs(10);
/// Decisions kept at most.
pub const MAX_ENTRIES: usize = 4096;

/// The outcome of the reviews for one token and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// The token is not valid: 401.
    Unauthenticated,
    /// The token's user may not get the path: 403.
    Forbidden,
}

type Key = [u8; 32];

/// The cache.
pub struct DecisionCache {
    entries: Mutex<HashMap<Key, (Decision, Instant)>>,
    capacity: usize,
}

impl Default for DecisionCache {
    fn default() -> DecisionCache {
        DecisionCache::with_capacity(MAX_ENTRIES)
    }
}

impl DecisionCache {
    pub fn with_capacity(capacity: usize) -> DecisionCache {
        DecisionCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The key of `token` asking for `path` with `verb`.
    pub fn key(token: &str, verb: &str, path: &str) -> Key {
        let mut hash = Sha256::new();
        for part in [token, verb, path] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
        hash.finalize().into()
    }

    /// The decision remembered for `key`, if still fresh at `now`.
    pub fn get(&self, key: &Key, now: Instant) -> Option<Decision> {
        let mut entries = lock(&self.entries);
        match entries.get(key) {
            Some((decision, expires)) if *expires > now => Some(decision.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers `decision` for `key` from `now`. When full, expired
    /// entries go first, then the one closest to expiry.
    pub fn put(&self, key: Key, decision: Decision, now: Instant) {
        let ttl = match decision {
            Decision::Allowed => ALLOWED_TTL,
            Decision::Unauthenticated | Decision::Forbidden => DENIED_TTL,
        };
        let mut entries = lock(&self.entries);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= self.capacity {
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, (_, expires))| *expires)
                    .map(|(key, _)| *key);
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        entries.insert(key, (decision, now + ttl));
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_token_verb_and_path() {
        let key = DecisionCache::key("t", "get", "/metrics");
        assert_eq!(key, DecisionCache::key("t", "get", "/metrics"));
        assert_ne!(key, DecisionCache::key("u", "get", "/metrics"));
        assert_ne!(key, DecisionCache::key("t", "get", "/"));
        assert_ne!(
            DecisionCache::key("ab", "c", "/"),
            DecisionCache::key("a", "bc", "/")
        );
    }

    #[test]
    fn allowed_lasts_minutes_denied_seconds() {
        let cache = DecisionCache::default();
        let start = Instant::now();
        let allowed = DecisionCache::key("good", "get", "/metrics");
        let forged = DecisionCache::key("forged", "get", "/metrics");
        cache.put(allowed, Decision::Allowed, start);
        cache.put(forged, Decision::Unauthenticated, start);
        let later = start + DENIED_TTL + Duration::from_secs(1);
        assert_eq!(cache.get(&allowed, later), Some(Decision::Allowed));
        assert_eq!(cache.get(&forged, later), None);
        assert_eq!(cache.get(&allowed, start + ALLOWED_TTL), None);
        assert!(
            cache.is_empty(),
            "expired entries are dropped when looked up"
        );
    }

    #[test]
    fn stays_bounded_and_keeps_the_longest_lived() {
        let cache = DecisionCache::with_capacity(8);
        let start = Instant::now();
        let allowed = DecisionCache::key("good", "get", "/metrics");
        cache.put(allowed, Decision::Allowed, start);
        for i in 0..1000 {
            let key = DecisionCache::key(&format!("forged-{i}"), "get", "/metrics");
            cache.put(
                key,
                Decision::Unauthenticated,
                start + Duration::from_millis(i),
            );
        }
        assert_eq!(cache.len(), 8);
        assert_eq!(cache.get(&allowed, start), Some(Decision::Allowed));
    }
}
