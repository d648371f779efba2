//! What is about the agent itself rather than the host: its build facts and
//! `process_*` metrics, its resource limits, the start-up check that it sees
//! the host it is meant to, what readiness means, and giving memory back
//! (start-up code pages after the first scrape, heap after a burst of
//! scrapes).
//!
//! May import: the lowest layer, [`crate::metrics`], [`crate::host`] and
//! [`crate::kernel`]; never collectors, the scrape or the HTTP layer.

pub mod code_pages;
pub mod in_flight;
pub mod limits;
pub mod metrics;
pub mod readiness;
pub mod selfcheck;
pub mod version;
