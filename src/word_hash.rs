//! A hasher taking eight bytes a step, for maps whose keys come from the
//! kernel and are looked up every scrape (kept files' paths, counter names):
//! short keys, where the default DoS-resistant hasher costs more than the
//! lookup, and one taking a byte a step (FNV) still a third of it. The keys
//! are the host's own, not a remote client's.
//!
//! Each step is FxHash's: rotate, xor in the next word, multiply by an odd
//! constant. That multiply carries bits only upwards, so `finish` folds the
//! full 128-bit product of one more multiply, high half onto low, to bring
//! every bit down to where hashbrown picks buckets.
//!
//! May import: the standard library only.

use std::hash::Hasher;

/// An odd constant with bits spread over the whole word (FxHash's).
const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

/// The hasher; see the module documentation.
#[derive(Debug, Default)]
pub struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            // Zero padding is unambiguous: keys hash their length too.
            let mut word = [0; 8];
            word[..tail.len()].copy_from_slice(tail);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        let product = u128::from(self.0) * u128::from(MULTIPLIER);
        (product as u64) ^ ((product >> 64) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::{BuildHasher, BuildHasherDefault};

    fn hash(key: &[u8]) -> u64 {
        BuildHasherDefault::<WordHasher>::default().hash_one(key)
    }

    #[test]
    fn keys_differing_in_one_byte_anywhere_hash_apart() {
        let base = b"/host/sys/devices/system/cpu/cpu0/topology/core_id".to_vec();
        let mut seen = HashSet::new();
        assert!(seen.insert(hash(&base)));
        for at in 0..base.len() {
            let mut key = base.clone();
            key[at] ^= 0x80;
            assert!(seen.insert(hash(&key)), "byte {at}");
        }
        // A shorter key that is a prefix, and one padded with a zero byte.
        assert!(seen.insert(hash(&base[..base.len() - 1])));
        let mut padded = base[..base.len() - 1].to_vec();
        padded.push(0);
        assert!(seen.insert(hash(&padded)));
    }

    #[test]
    fn similar_keys_spread_over_the_low_bits() {
        // hashbrown picks a bucket from the low bits: 1,000 paths differing
        // only in a number must not crowd into a few of 1,024 buckets.
        let buckets: HashSet<u64> = (0..1000)
            .map(|i| hash(format!("/host/proc/1/net/dev_snmp6/eth{i}").as_bytes()) & 1023)
            .collect();
        assert!(buckets.len() > 550, "{} buckets", buckets.len());
    }
}
