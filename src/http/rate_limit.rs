//! A token bucket with exporter-toolkit's semantics: `burst` requests at
//! once, refilled at one token per `interval`; a request finding the bucket
//! empty is refused (429), not queued.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::unpoisoned::lock;

/// exporter-toolkit's token bucket: one request per `interval` on average,
/// up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Time for one token to come back.
    pub interval: Duration,
    /// Bucket size.
    pub burst: u32,
}

/// The shared bucket.
pub struct RateLimiter {
    interval: Duration,
    burst: f64,
    state: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// A full bucket for `limit`.
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter::starting_at(limit, Instant::now())
    }

    fn starting_at(limit: RateLimit, now: Instant) -> RateLimiter {
        let burst = f64::from(limit.burst);
        RateLimiter {
            interval: limit.interval,
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                updated: now,
            }),
        }
    }

    /// Takes a token if one is left.
    pub fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut bucket = lock(&self.state);
        let elapsed = now.saturating_duration_since(bucket.updated);
        let refill = elapsed.as_secs_f64() / self.interval.as_secs_f64();
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let start = Instant::now();
        let limiter = RateLimiter::starting_at(
            RateLimit {
                interval: Duration::from_secs(1),
                burst: 3,
            },
            start,
        );
        assert!(limiter.allow_at(start));
        assert!(limiter.allow_at(start));
        assert!(limiter.allow_at(start));
        assert!(!limiter.allow_at(start), "the burst is spent");
        let half = start + Duration::from_millis(500);
        assert!(!limiter.allow_at(half), "half a token is not enough");
        let one = start + Duration::from_millis(1000);
        assert!(limiter.allow_at(one));
        assert!(!limiter.allow_at(one));
        let later = start + Duration::from_secs(100);
        for _ in 0..3 {
            assert!(limiter.allow_at(later));
        }
        assert!(!limiter.allow_at(later), "refill stops at the burst size");
    }
}
