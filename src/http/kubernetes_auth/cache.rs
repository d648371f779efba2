//! What the reviews said, remembered: who a token belongs to (by
//! TokenReview) and whether a user may use a verb on a path (by
//! SubjectAccessReview). Positive answers last minutes (a scrape every few
//! seconds costs no API call), negative ones seconds (a newly granted role
//! takes effect soon); each cache holds at most [`MAX_ENTRIES`] (a flood of
//! forged tokens cannot grow the agent). Tokens are kept only as their
//! SHA-256.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::review::UserInfo;
use crate::unpoisoned::lock;

/// How long an accepted token or an allowed access is remembered.
pub const ALLOWED_TTL: Duration = Duration::from_secs(120);
/// How long a rejected token or a denied access is remembered.
pub const DENIED_TTL: Duration = Duration::from_secs(10);
/// Entries kept at most in each cache.
pub const MAX_ENTRIES: usize = 4096;

/// A cache key: a SHA-256.
pub type Key = [u8; 32];

/// The key of a token.
pub fn token_key(token: &str) -> Key {
    digest(&["token", token])
}

/// The key of `user` asking to `verb` `path`.
pub fn access_key(user: &UserInfo, verb: &str, path: &str) -> Key {
    let mut parts = vec!["access", verb, path, &user.username, &user.uid];
    parts.extend(user.groups.iter().map(String::as_str));
    // Separates the groups from the extra values.
    parts.push("");
    for (name, values) in &user.extra {
        parts.push(name);
        parts.extend(values.iter().map(String::as_str));
        parts.push("");
    }
    digest(&parts)
}

/// Each part with its length first, so that no two lists collide.
fn digest(parts: &[&str]) -> Key {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

/// Values that expire, at most a fixed number of them.
pub struct TtlCache<V> {
    entries: Mutex<HashMap<Key, (V, Instant)>>,
    capacity: usize,
}

impl<V: Clone> Default for TtlCache<V> {
    fn default() -> TtlCache<V> {
        TtlCache::with_capacity(MAX_ENTRIES)
    }
}

impl<V: Clone> TtlCache<V> {
    pub fn with_capacity(capacity: usize) -> TtlCache<V> {
        TtlCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The value remembered for `key`, if still fresh at `now`.
    pub fn get(&self, key: &Key, now: Instant) -> Option<V> {
        let mut entries = lock(&self.entries);
        match entries.get(key) {
            Some((value, expires)) if *expires > now => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers `value` for `key` from `now` for `ttl`. When full, expired
    /// entries go first, then the one closest to expiry.
    pub fn put(&self, key: Key, value: V, ttl: Duration, now: Instant) {
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
        entries.insert(key, (value, now + ttl));
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

    fn user(name: &str) -> UserInfo {
        UserInfo {
            username: name.into(),
            ..UserInfo::default()
        }
    }

    #[test]
    fn keys_separate_what_they_cover() {
        assert_eq!(token_key("t"), token_key("t"));
        assert_ne!(token_key("t"), token_key("u"));
        let alice = user("alice");
        let key = access_key(&alice, "get", "/metrics");
        assert_eq!(key, access_key(&alice, "get", "/metrics"));
        assert_ne!(key, access_key(&user("bob"), "get", "/metrics"));
        assert_ne!(key, access_key(&alice, "get", "/"));
        assert_ne!(key, access_key(&alice, "create", "/metrics"));
        let mut grouped = alice.clone();
        grouped.groups.push("system:masters".into());
        assert_ne!(key, access_key(&grouped, "get", "/metrics"));
        let mut extra = alice.clone();
        extra.extra.insert("system:masters".into(), Vec::new());
        assert_ne!(
            access_key(&grouped, "get", "/metrics"),
            access_key(&extra, "get", "/metrics"),
            "a group is not an extra key"
        );
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
    }

    #[test]
    fn allowed_lasts_minutes_denied_seconds() {
        let cache = TtlCache::default();
        let start = Instant::now();
        cache.put(token_key("good"), true, ALLOWED_TTL, start);
        cache.put(token_key("forged"), false, DENIED_TTL, start);
        let later = start + DENIED_TTL + Duration::from_secs(1);
        assert_eq!(cache.get(&token_key("good"), later), Some(true));
        assert_eq!(cache.get(&token_key("forged"), later), None);
        assert_eq!(cache.get(&token_key("good"), start + ALLOWED_TTL), None);
        assert!(
            cache.is_empty(),
            "expired entries are dropped when looked up"
        );
    }

    #[test]
    fn stays_bounded_and_keeps_the_longest_lived() {
        let cache = TtlCache::with_capacity(8);
        let start = Instant::now();
        cache.put(token_key("good"), true, ALLOWED_TTL, start);
        for i in 0..1000 {
            let at = start + Duration::from_millis(i);
            cache.put(token_key(&format!("forged-{i}")), false, DENIED_TTL, at);
        }
        assert_eq!(cache.len(), 8);
        assert_eq!(cache.get(&token_key("good"), start), Some(true));
    }
}
