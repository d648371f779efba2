//! FNV-1a, the hasher of maps whose keys come from the kernel and are looked
//! up every scrape (counter names, file paths): short keys, where the
//! default DoS-resistant hasher cost more than the lookup. The keys are the
//! host's own, not a remote client's.

use std::hash::Hasher;

/// A 64-bit FNV-1a hasher.
#[derive(Debug)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
