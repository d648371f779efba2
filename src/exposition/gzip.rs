//! Gzip for scrape responses, with compressors kept between scrapes.
//!
//! The whole body is in memory before it is compressed, so libdeflate's
//! one-shot compressor fits: at level 1 it costs about as many instructions
//! as zlib's fastest level on a scrape, and its output is some 20% smaller.
//! Making a compressor allocates and clears its hash tables; a few idle ones
//! are kept for the next scrapes instead.

use std::sync::Mutex;

use libdeflater::{CompressionError, CompressionLvl, Compressor};

/// How many idle compressors are kept: one per scraper of a pair of
/// Prometheus servers scraping at the same moment. More concurrent requests
/// still get one each, dropped afterwards.
const KEPT_IDLE: usize = 2;

/// libdeflate's fastest level that compresses (level 0 only stores).
const LEVEL: i32 = 1;

fn new_compressor() -> Compressor {
    Compressor::new(CompressionLvl::new(LEVEL).expect("libdeflate has level 1"))
}

/// Compresses response bodies to gzip at the fastest level, which on
/// metrics text costs a fraction of higher levels' CPU for a few percent
/// larger output.
#[derive(Default)]
pub struct GzipPool {
    idle: Mutex<Vec<Compressor>>,
}

impl GzipPool {
    /// A pool with no compressor yet: the first gzip request makes one.
    pub fn new() -> GzipPool {
        GzipPool::default()
    }

    /// `body` as one gzip member (header, deflate stream, CRC-32 and size).
    pub fn compress(&self, body: &[u8]) -> Result<Vec<u8>, CompressionError> {
        let mut compressor = self.lock().pop().unwrap_or_else(new_compressor);
        let mut out = vec![0; compressor.gzip_compress_bound(body.len())];
        let result = compressor.gzip_compress(body, &mut out);
        let mut idle = self.lock();
        if idle.len() < KEPT_IDLE {
            idle.push(compressor);
        }
        out.truncate(result?);
        Ok(out)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Compressor>> {
        // The vector is valid whatever a panicking holder was doing.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    fn metrics_text(lines: usize) -> Vec<u8> {
        (0..lines)
            .map(|i| {
                format!(
                    "node_cpu_seconds_total{{cpu=\"{i}\",mode=\"idle\"}} {}\n",
                    i * 7919
                )
            })
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn round_trips_through_a_standard_gzip_decoder() {
        let pool = GzipPool::new();
        let body = metrics_text(2000);
        let compressed = pool.compress(&body).unwrap();
        assert_eq!(&compressed[..2], &[0x1f, 0x8b], "gzip magic");
        assert!(compressed.len() < body.len() / 3);
        assert_eq!(gunzip(&compressed), body);
    }

    #[test]
    fn a_reused_compressor_gives_the_same_bytes_as_a_fresh_one() {
        let pool = GzipPool::new();
        let first = metrics_text(500);
        let second = metrics_text(3000);
        let fresh = GzipPool::new().compress(&second).unwrap();
        pool.compress(&first).unwrap();
        assert_eq!(pool.compress(&second).unwrap(), fresh);
        assert_eq!(pool.lock().len(), 1);
    }

    #[test]
    fn text_that_does_not_compress_still_fits() {
        // A xorshift byte stream: deflate stores it, larger than the input.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let body: Vec<u8> = (0..200_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let compressed = GzipPool::new().compress(&body).unwrap();
        assert!(compressed.len() > body.len());
        assert_eq!(gunzip(&compressed), body);
    }

    #[test]
    fn empty_body_is_a_valid_empty_member() {
        assert_eq!(gunzip(&GzipPool::new().compress(b"").unwrap()), b"");
    }

    #[test]
    fn keeps_at_most_a_few_idle_compressors() {
        // As after a burst of concurrent requests, each with its own.
        let pool = GzipPool::new();
        *pool.lock() = (0..=KEPT_IDLE).map(|_| new_compressor()).collect();
        pool.compress(b"x").unwrap();
        assert_eq!(pool.lock().len(), KEPT_IDLE);
    }
}
