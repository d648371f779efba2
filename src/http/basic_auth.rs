//! HTTP basic authentication against bcrypt hashes, built so that neither
//! timing nor CPU becomes the weak point: user names are compared in
//! constant time, unknown users cost a bcrypt check like known ones, and
//! outcomes are cached under a SHA-256 of the credentials so that a client
//! repeating them (every scrape) costs one hash lookup, not one bcrypt run.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use crate::unpoisoned::lock;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// Cached outcomes kept at most; when full the cache starts over, which
/// costs a bcrypt run per client and bounds memory whatever clients send.
const CACHE_CAPACITY: usize = 1024;

/// The password the dummy hash is made from. Its value does not matter:
/// a check against it never grants access.
const DUMMY_PASSWORD: &[u8] = b"hostwatch: no such user";

/// The configured users and the verification cache.
pub struct BasicAuth {
    users: Vec<(String, String)>,
    /// The cost of the most expensive configured hash, which the dummy has.
    dummy_cost: u32,
    /// Made at the first check of an unknown name, on a blocking thread:
    /// at a high cost it takes seconds, which start-up and the async worker
    /// must not wait for.
    dummy_hash: OnceLock<String>,
    cache: Mutex<HashMap<[u8; 32], bool>>,
    /// One bcrypt run at a time: each takes a core for tens of
    /// milliseconds, and scrapes must not starve behind a password guesser.
    bcrypt: Semaphore,
}

/// The outcome of a cache lookup.
enum Lookup {
    Cached(bool),
    Verify(Check),
}

/// A bcrypt check still to run.
struct Check {
    key: [u8; 32],
    /// The user's hash; `None` for an unknown user, checked against the
    /// dummy.
    hash: Option<String>,
    password: Vec<u8>,
}

impl BasicAuth {
    /// Authentication for `users` (name to bcrypt hash, already
    /// validated); `None` when there are none.
    pub fn new(users: &BTreeMap<String, String>) -> Option<BasicAuth> {
        if users.is_empty() {
            return None;
        }
        // The dummy costs what the most expensive real hash costs, so an
        // unknown name takes no less time than a known one.
        let dummy_cost = users
            .values()
            .filter_map(|h| h.parse::<bcrypt::HashParts>().ok())
            .map(|p| p.get_cost())
            .max()
            .unwrap_or(bcrypt::DEFAULT_COST);
        Some(BasicAuth {
            users: users.iter().map(|(u, h)| (u.clone(), h.clone())).collect(),
            dummy_cost,
            dummy_hash: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
            bcrypt: Semaphore::new(1),
        })
    }

    /// Whether an `Authorization` header value grants access. A cache miss
    /// runs bcrypt on a blocking thread, one run at a time, so guessers
    /// queue behind each other rather than take every core or thread,
    /// while clients with cached credentials pass straight through.
    pub async fn authorize(self: &Arc<Self>, authorization: Option<&[u8]>) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let check = match self.lookup(&user, &password) {
            Lookup::Cached(granted) => return granted,
            Lookup::Verify(check) => check,
        };
        let Ok(_one_at_a_time) = self.bcrypt.acquire().await else {
            return false;
        };
        let auth = Arc::clone(self);
        tokio::task::spawn_blocking(move || auth.verify(check))
            .await
            .unwrap_or(false)
    }

    /// Whether `user` with `password` is allowed. Blocking: it may run bcrypt.
    pub fn check(&self, user: &[u8], password: &[u8]) -> bool {
        match self.lookup(user, password) {
            Lookup::Cached(granted) => granted,
            Lookup::Verify(check) => self.verify(check),
        }
    }

    /// The cached outcome for these credentials, or what to verify.
    fn lookup(&self, user: &[u8], password: &[u8]) -> Lookup {
        let mut found: Option<&str> = None;
        // Every name is compared, whichever matches, so the position of a
        // match does not show in the timing.
        for (name, hash) in &self.users {
            if bool::from(name.as_bytes().ct_eq(user)) {
                found = Some(hash);
            }
        }
        // An unknown user's outcome is keyed without a hash: the dummy is
        // made only when one is first checked.
        let key = cache_key(user, found.unwrap_or_default(), password);
        match self.lock_cache().get(&key) {
            Some(&granted) => Lookup::Cached(granted),
            None => Lookup::Verify(Check {
                key,
                hash: found.map(str::to_string),
                password: password.to_vec(),
            }),
        }
    }

    /// Runs bcrypt for a cache miss and caches the outcome. An unknown user
    /// is checked against the dummy, so that it costs what a known one
    /// costs, and is never granted.
    fn verify(&self, check: Check) -> bool {
        let granted = match &check.hash {
            Some(hash) => bcrypt::verify(&check.password, hash).unwrap_or(false),
            None => {
                let _ = bcrypt::verify(&check.password, self.dummy_hash());
                false
            }
        };
        let mut cache = self.lock_cache();
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(check.key, granted);
        granted
    }

    /// The dummy hash, made on first use.
    fn dummy_hash(&self) -> &str {
        self.dummy_hash.get_or_init(|| {
            bcrypt::hash_with_salt(DUMMY_PASSWORD, self.dummy_cost, [0x5a; 16])
                .map(|parts| parts.format_for_version(bcrypt::Version::TwoB))
                .unwrap_or_default()
        })
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], bool>> {
        lock(&self.cache)
    }

    #[cfg(test)]
    fn cached(&self) -> usize {
        self.lock_cache().len()
    }
}

/// The cache key: a digest of the user, the hash checked against and the
/// password, each length-prefixed so that no two triples collide by
/// concatenation. Passwords themselves are never stored.
fn cache_key(user: &[u8], hash: &str, password: &[u8]) -> [u8; 32] {
    let mut digest = Sha256::new();
    for part in [user, hash.as_bytes(), password] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    digest.finalize().into()
}

/// The user and password of a `Basic` authorization header value.
fn parse_basic(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> BTreeMap<String, String> {
        let hash = bcrypt::hash("secret", 4).unwrap();
        BTreeMap::from([
            ("alice".to_string(), hash),
            ("bob".to_string(), bcrypt::hash("other", 4).unwrap()),
        ])
    }

    fn header(user: &str, password: &str) -> Vec<u8> {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}").into_bytes()
    }

    #[test]
    fn no_users_means_no_authentication() {
        assert!(BasicAuth::new(&BTreeMap::new()).is_none());
    }

    #[test]
    fn right_and_wrong_credentials() {
        let auth = BasicAuth::new(&users()).unwrap();
        assert!(auth.check(b"alice", b"secret"));
        assert!(auth.check(b"bob", b"other"));
        assert!(!auth.check(b"alice", b"other"));
        assert!(!auth.check(b"bob", b"secret"));
        assert!(!auth.check(b"alice", b""));
        assert!(!auth.check(b"Alice", b"secret"));
        assert!(!auth.check(b"alic", b"secret"));
        assert!(!auth.check(b"mallory", b"secret"));
        assert!(!auth.check(b"", b""));
    }

    #[test]
    fn unknown_users_are_checked_against_a_dummy_made_when_first_needed() {
        let auth = BasicAuth::new(&users()).unwrap();
        assert!(auth.dummy_hash.get().is_none(), "not made at start-up");
        assert!(auth.check(b"alice", b"secret"));
        assert!(auth.dummy_hash.get().is_none(), "nor for a known user");
        // Even the dummy's own password grants nothing.
        assert!(!auth.check(b"nobody", DUMMY_PASSWORD));
        let parts: bcrypt::HashParts = auth.dummy_hash.get().unwrap().parse().unwrap();
        assert_eq!(parts.get_cost(), 4, "the cost of the dearest hash");
    }

    #[test]
    fn an_expensive_hash_costs_nothing_at_start_up() {
        // A well-formed hash of cost 16: making its dummy would take seconds.
        let expensive = format!("$2b$16${}", "a".repeat(53));
        let users = BTreeMap::from([("slow".to_string(), expensive)]);
        let auth = BasicAuth::new(&users).unwrap();
        assert_eq!(auth.dummy_cost, 16);
        assert!(auth.dummy_hash.get().is_none());
    }

    #[test]
    fn outcomes_are_cached_by_digest() {
        let auth = BasicAuth::new(&users()).unwrap();
        assert_eq!(auth.cached(), 0);
        assert!(auth.check(b"alice", b"secret"));
        assert!(auth.check(b"alice", b"secret"));
        assert_eq!(auth.cached(), 1);
        assert!(!auth.check(b"alice", b"wrong"));
        assert!(!auth.check(b"alice", b"wrong"));
        assert_eq!(auth.cached(), 2);
        assert_ne!(
            cache_key(b"a", "h", b"bc"),
            cache_key(b"ab", "h", b"c"),
            "length prefixes keep keys apart"
        );
        let mut i = 0u64;
        while auth.cached() < CACHE_CAPACITY {
            auth.lock_cache()
                .insert(cache_key(b"x", "h", &i.to_be_bytes()), false);
            i += 1;
        }
        assert!(!auth.check(b"alice", b"new"));
        assert_eq!(auth.cached(), 1, "a full cache starts over");
    }

    #[tokio::test]
    async fn authorization_headers() {
        let auth = Arc::new(BasicAuth::new(&users()).unwrap());
        assert!(auth.authorize(Some(&header("alice", "secret"))).await);
        assert!(auth.authorize(Some(b"basic YWxpY2U6c2VjcmV0")).await);
        assert!(!auth.authorize(Some(&header("alice", "nope"))).await);
        assert!(!auth.authorize(None).await);
        assert!(!auth.authorize(Some(b"Bearer YWxpY2U6c2VjcmV0")).await);
        assert!(!auth.authorize(Some(b"Basic !!!")).await);
        assert!(!auth.authorize(Some(b"Basic YWxpY2U=")).await, "no colon");
        assert!(!auth.authorize(Some(b"\xff\xfe")).await);
        assert_eq!(
            parse_basic(b"Basic YTpiOmM="),
            Some((b"a".to_vec(), b"b:c".to_vec())),
            "the password may hold colons"
        );
    }
}
