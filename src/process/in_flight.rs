//! Counts the metric requests in flight, and gives the kernel back the heap
//! memory a burst of concurrent scrapes, or one large scrape, freed once it
//! is over.
//!
//! glibc's malloc returns freed memory to the kernel only from the top of
//! its heap. Concurrent scrapes interleave their allocations, so after a
//! burst (16 scrapers at once, say) megabytes of free heap stay resident
//! for good; so do the hundreds of megabytes one scrape of a huge textfile
//! took. `malloc_trim` releases free pages from anywhere in the heap. It
//! runs when the last of a set of overlapping requests ends, and after any
//! request that left much of the heap free; after an ordinary lone scrape
//! it would find little to release.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The number of metric requests being served, and whether two overlapped
/// since the count was last zero.
#[derive(Debug, Default)]
pub struct InFlight {
    count: AtomicUsize,
    overlapped: AtomicBool,
}

/// Free heap beyond which a request's end gives it back to the kernel: an
/// ordinary scrape leaves well under a megabyte free.
const MAX_FREE_HEAP_BYTES: usize = 8 << 20;

/// One request in flight; leaving it ends the request.
#[derive(Debug)]
pub struct Request<'a> {
    in_flight: &'a InFlight,
}

impl InFlight {
    /// No request in flight.
    pub fn new() -> InFlight {
        InFlight::default()
    }

    /// Counts a request until the returned value is dropped.
    pub fn enter(&self) -> Request<'_> {
        if self.count.fetch_add(1, Ordering::AcqRel) > 0 {
            self.overlapped.store(true, Ordering::Release);
        }
        Request { in_flight: self }
    }

    /// Uncounts a request; true when it was the last of a set that
    /// overlapped.
    fn leave(&self) -> bool {
        self.count.fetch_sub(1, Ordering::AcqRel) == 1
            && self.overlapped.swap(false, Ordering::AcqRel)
    }
}

impl Drop for Request<'_> {
    fn drop(&mut self) {
        if self.in_flight.leave() || free_heap_bytes() > MAX_FREE_HEAP_BYTES {
            release_free_heap();
        }
    }
}

/// The bytes malloc holds free, which `malloc_trim` could release.
fn free_heap_bytes() -> usize {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallinfo2 only reads malloc's own statistics; it is
        // thread-safe.
        unsafe { libc::mallinfo2() }.fordblks
    }
    #[cfg(not(target_env = "gnu"))]
    0
}

fn release_free_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free pages of malloc's own heap to
    // the kernel; it is thread-safe and leaves allocated memory untouched.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_requests_end_no_burst() {
        let in_flight = InFlight::new();
        for _ in 0..3 {
            let request = in_flight.enter();
            std::mem::forget(request);
            assert!(!in_flight.leave());
        }
    }

    #[test]
    fn the_last_of_overlapping_requests_ends_the_burst_once() {
        let in_flight = InFlight::new();
        let (a, b, c) = (in_flight.enter(), in_flight.enter(), in_flight.enter());
        std::mem::forget((a, b, c));
        assert!(!in_flight.leave());
        assert!(!in_flight.leave());
        assert!(in_flight.leave());
        // The next lone request is not a burst.
        std::mem::forget(in_flight.enter());
        assert!(!in_flight.leave());
    }

    #[test]
    fn a_request_that_overlaps_the_tail_of_a_burst_extends_it() {
        let in_flight = InFlight::new();
        std::mem::forget((in_flight.enter(), in_flight.enter()));
        assert!(!in_flight.leave());
        std::mem::forget(in_flight.enter());
        assert!(!in_flight.leave());
        assert!(in_flight.leave());
    }

    #[test]
    fn dropping_requests_keeps_the_count() {
        let in_flight = InFlight::new();
        drop((in_flight.enter(), in_flight.enter()));
        assert_eq!(in_flight.count.load(Ordering::Acquire), 0);
        assert!(!in_flight.overlapped.load(Ordering::Acquire));
    }
}
