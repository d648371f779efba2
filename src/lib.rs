//! hostwatch: a Linux node metrics agent that serves node_exporter-compatible
//! Prometheus metrics from a host's procfs, sysfs and root filesystem.
//!
//! The folders are the layers, each using only those below it:
//!
//! - [`unpoisoned`], [`word_hash`], [`parse`], [`logging`]: small pieces with
//!   no knowledge of the agent;
//! - [`host`]: the observed host's roots, the paths under them, and how its
//!   files are read;
//! - [`kernel`]: kernel file formats that several collectors read;
//! - [`metrics`]: the metric families collectors produce;
//! - [`exposition`]: writing them in the Prometheus formats;
//! - [`collectors`]: one collector per file, as node_exporter's, and their
//!   registry;
//! - [`process`]: the agent itself: its own metrics, limits, start-up
//!   check and memory release;
//! - [`scrape`]: running the collectors under a deadline;
//! - [`http`]: serving scrapes;
//! - [`cli`]: the command line, which the binary (`main.rs`) turns into all
//!   of the above.
//!
//! `docs/architecture.md` follows a scrape through them.

pub mod cli;
pub mod collectors;
pub mod exposition;
pub mod host;
pub mod http;
pub mod kernel;
pub mod logging;
pub mod metrics;
pub mod parse;
pub mod process;
pub mod scrape;
pub mod unpoisoned;
pub mod word_hash;
