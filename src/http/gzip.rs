//! Gzip for scrape responses, with compressors kept between scrapes.
//!
//! The whole body is in memory before it is compressed, so libdeflate's
//! one-shot compressor fits: at level 1 it costs about as many instructions
//! as zlib's fastest level on a scrape, and its output is some 20% smaller.
//! Making a compressor allocates and clears its hash tables; a few idle ones
//! are kept for the next scrapes instead, each with the buffer it writes to,
//! which would otherwise be allocated and zeroed at its full bound (more
//! than the body) for every response.

use std::sync::Mutex;

use libdeflater::{CompressionError, CompressionLvl, Compressor};

use crate::unpoisoned::lock;

/// How many idle compressors are kept: one per scraper of a pair of
/// Prometheus servers scraping at the same moment. More concurrent requests
/// still get one each, dropped afterwards.
const KEPT_IDLE: usize = 2;

/// libdeflate's fastest level that compresses (level 0 only stores).
const LEVEL: i32 = 1;

/// The largest output buffer kept with an idle compressor: a body of
/// several megabytes (a large textfile) does not stay resident for good.
const KEPT_OUTPUT_BYTES: usize = 1024 * 1024;

fn new_compressor() -> Compressor {
    Compressor::new(CompressionLvl::new(LEVEL).expect("libdeflate has level 1"))
}

/// A compressor and the buffer it writes to.
struct Deflater {
    compressor: Compressor,
    out: Vec<u8>,
}

/// Compresses response bodies to gzip at the fastest level, which on
/// metrics text costs a fraction of higher levels' CPU for a few percent
/// larger output.
#[derive(Default)]
pub struct GzipPool {
    idle: Mutex<Vec<Deflater>>,
}

impl GzipPool {
    /// A pool with no compressor yet: the first gzip request makes one.
    pub fn new() -> GzipPool {
        GzipPool::default()
    }

    /// `body` as one gzip member (header, deflate stream, CRC-32 and size).
    pub fn compress(&self, body: &[u8]) -> Result<Vec<u8>, CompressionError> {
        let mut deflater = self.lock().pop().unwrap_or_else(|| Deflater {
            compressor: new_compressor(),
            out: Vec::new(),
        });
        let Deflater { compressor, out } = &mut deflater;
        let bound = compressor.gzip_compress_bound(body.len());
        if out.len() < bound {
            out.resize(bound, 0);
        }
        let result = compressor.gzip_compress(body, out);
        let compressed = result.map(|length| out[..length].to_vec());
        if out.len() > KEPT_OUTPUT_BYTES {
            *out = Vec::new();
        }
        let mut idle = self.lock();
        if idle.len() < KEPT_IDLE {
            idle.push(deflater);
        }
        compressed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Deflater>> {
        // The vector is valid whatever a panicking holder was doing.
        lock(&self.idle)
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
        for _ in 0..=KEPT_IDLE {
            pool.lock().push(Deflater {
                compressor: new_compressor(),
                out: Vec::new(),
            });
        }
        pool.compress(b"x").unwrap();
        assert_eq!(pool.lock().len(), KEPT_IDLE);
    }

    #[test]
    fn a_large_output_buffer_is_not_kept() {
        let pool = GzipPool::new();
        let small = metrics_text(100);
        pool.compress(&small).unwrap();
        let kept = pool.lock()[0].out.len();
        assert!(kept >= small.len() && kept <= KEPT_OUTPUT_BYTES, "{kept}");
        let large = metrics_text(40_000);
        assert!(large.len() > KEPT_OUTPUT_BYTES);
        assert_eq!(gunzip(&pool.compress(&large).unwrap()), large);
        assert_eq!(pool.lock()[0].out.len(), 0);
        // A smaller body after a larger one reuses the buffer as it is.
        assert_eq!(gunzip(&pool.compress(&small).unwrap()), small);
    }
}
