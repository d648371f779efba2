//! hostwatch: a Linux node metrics agent that serves node_exporter-compatible
//! Prometheus metrics from a host's procfs, sysfs and root filesystem.
//!
//! The crate is organised as node_exporter is: one collector per file under
//! [`collectors`], each reading the host through [`host::Host`] and producing
//! metric families ([`metrics`]); [`scrape`] runs the enabled collectors
//! concurrently under deadlines, [`exposition`] encodes the result, and
//! [`server`] serves it over HTTP.

pub mod cli;
pub mod code_pages;
pub mod collector;
pub mod collectors;
pub mod cpuinfo;
pub mod cpulist;
pub mod exposition;
pub mod host;
pub mod in_flight;
pub mod kept_files;
pub mod logging;
pub mod metrics;
pub mod parse;
pub mod process_metrics;
pub mod procstat;
pub mod scrape;
pub mod selfcheck;
pub mod server;
pub mod socket_table;
pub mod textformat;
pub mod unpoisoned;
pub mod version;
pub mod web;
pub mod word_hash;
